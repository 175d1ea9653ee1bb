#!/usr/bin/env node
// The traditional architecture, for comparison: edge functions forward every request to one
// application server at the origin, across a wide-area round trip (simulated: the response
// waits --wan-ms), and every write is a durable transaction in the origin's database.
//   node js/scenario/origin-app.mjs --port P --db FILE --jwt-secret S --wan-ms 80
import { createServer } from "node:http";
import Database from "better-sqlite3";
import { Store } from "castamere";
import { createWikiApp } from "../../examples/wiki/app.mjs";
import { readValue } from "../origin/server.mjs";

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(" ")
    .split("--")
    .filter(Boolean)
    .map((a) => a.trim().split(/\s+/)),
);
const wanMs = Number(args["wan-ms"] ?? 80);
const app = createWikiApp({ jwtSecret: args["jwt-secret"] });
const store = new Store({ replicaId: 1 });
const db = new Database(args.db);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec("CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, delta BLOB NOT NULL, at INTEGER NOT NULL)");
const append = db.prepare("INSERT INTO journal (delta, at) VALUES (?, ?)");
const stats = { requests: 0, writes: 0, bytes: 0 };
const reader = { read: (words) => store.exec(words) };

const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks).toString("utf8");
  const url = new URL(req.url, "http://origin-app");
  if (url.pathname === "/stats") {
    res.end(JSON.stringify(stats));
    return;
  }
  if (url.pathname.startsWith("/v1/keys/")) {
    const v = readValue(reader, decodeURIComponent(url.pathname.slice(9)));
    res.writeHead(v ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(v ?? {}));
    return;
  }
  stats.requests++;
  // Request line, headers and body, as they crossed the network.
  stats.bytes +=
    req.method.length +
    req.url.length +
    12 +
    req.rawHeaders.reduce((n, h) => n + h.length + 2, 0) +
    Buffer.byteLength(body);
  await new Promise((r) => setTimeout(r, wanMs / 2));
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  const request = { method: req.method, path: url.pathname, query: url.searchParams, headers, body };
  const out = await app.handle(request, store);
  const delta = store.takeDeltas();
  if (delta) {
    append.run(Buffer.from(delta), Date.now());
    stats.writes++;
  }
  await new Promise((r) => setTimeout(r, wanMs / 2));
  res.writeHead(out.status, { "content-type": "application/json" });
  res.end(typeof out.body === "string" ? out.body : JSON.stringify(out.body));
});
server.listen(Number(args.port ?? 0), "127.0.0.1", () => {
  console.log(`origin app listening on http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => {
  server.close();
  db.close();
  process.exit(0);
});
