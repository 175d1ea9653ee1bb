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
await server.ready;
server.listen(Number(env.PORT ?? 8080), () => console.log(`wiki on http://127.0.0.1:${server.address().port}`));
