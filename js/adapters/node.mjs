// Node http adapter: a plain server for long-running processes and local development. The
// store is opened once and stays connected; timers run, so no per-request session is needed.
import "../node.mjs";
import { createServer as httpServer } from "node:http";
import { responseBody } from "../app.mjs";
import { open } from "../db.mjs";

async function readBody(req, max) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > max) throw Object.assign(new Error(`body over ${max} bytes`), { status: 413 });
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * An http.Server serving `app`. `options`: what `open()` takes (relay, token, origin, region,
 * config), or `db` (an already open store), plus `maxBodyBytes` (default 1 MiB) and
 * `closeBudgetMs` (default 5000). Call `server.ready` to wait for the store. `server.close()`
 * stops serving, hands the store's writes on (to the origin, everything it lacks, when the
 * store has one; else to a live peer of the region) within `closeBudgetMs`, and closes the
 * store: call it on SIGTERM, or writes not yet handed on are lost with the process.
 */
export function createServer(app, options = {}) {
  const { db: given, maxBodyBytes = 1 << 20, closeBudgetMs = 5000, ...dbOptions } = options;
  let db = given ?? null;
  const ready = given ? Promise.resolve(given) : open(dbOptions).then((d) => (db = d));
  const server = httpServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://local");
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      const body = req.method === "GET" || req.method === "HEAD" ? "" : await readBody(req, maxBodyBytes);
      const request = { method: req.method, path: url.pathname, query: url.searchParams, headers, body };
      const prepared = await app.prepare(request);
      const out = prepared.response ?? (await app.run(prepared, request, db ?? (await ready)));
      const { text, bytes, headers: h } = responseBody(out);
      res.writeHead(out.status, { "cache-control": "no-store", ...h });
      res.end(bytes ?? text);
    } catch (e) {
      res.writeHead(e.status ?? 500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: e.message }));
    }
  });
  server.ready = ready;
  const close = server.close.bind(server);
  server.close = (cb) => {
    close(cb);
    server.closeAllConnections?.();
    return ready.then(async (d) => {
      await d.retire({ budgetMs: closeBudgetMs });
      await d.close();
    });
  };
  return server;
}
