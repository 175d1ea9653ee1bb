#!/usr/bin/env node
// The wiki on a plain Node server: node examples/wiki/server.mjs (reads CASTAMERE_* variables).
import { createServer } from "castamere/node-http";
import { createWikiApp } from "./app.mjs";

const env = process.env;
const server = createServer(createWikiApp({ jwtSecret: env.JWT_SECRET ?? "dev-secret" }), {
  relay: env.CASTAMERE_RELAY ?? "ws://127.0.0.1:7400",
  token: env.CASTAMERE_TOKEN,
  origin: env.CASTAMERE_ORIGIN,
});
const db = await server.ready;
// What the store reports: errors (from the start, as open() may report one before it returns),
// and the relay connection going down and coming back.
db.on("error", (e) => console.error(`[wiki] ${e.message}`));
db.on("connection", (c) => console.error(`[wiki] relay ${c.connected ? "connected" : `down (${c.reason})`}`));
server.listen(Number(env.PORT ?? 8080), () => console.log(`wiki on http://127.0.0.1:${server.address().port}`));
// On SIGTERM (a deploy, a scale-down) or Ctrl-C: stop serving, hand the writes on, then exit.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, async () => {
    console.error(`[wiki] ${signal}: handing writes on`);
    await server.close();
    console.error("[wiki] closed");
    process.exit(0);
  });
}
