// The origin: the data-center home of every edge write. It receives the compacted batches
// that replicas ship, makes each durable in one SQLite transaction (WAL mode) before it
// acknowledges it, serves snapshots to replicas that start with no live peer, and hands
// merged values to the application's own backend (GET /v1/keys/:key, onBatch, SSE feed).
//
// Storage: one row per key (its type and merged CRDT state), one row for the causal
// context, one row per writer with how far the origin holds it, and the applied batch ids.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import Database from "better-sqlite3";
import { initSync, Origin } from "../../pkg/web/castamere.mjs";
import { exposition } from "../prometheus.mjs";
import { atExpiry, requestToken, verifyToken } from "../token.mjs";

initSync({ module: readFileSync(new URL("../../pkg/web/castamere_bg.wasm", import.meta.url)) });

const DEFAULTS = { port: 7401, host: "127.0.0.1", tenant: "default", maxBodyBytes: 32 << 20, shutdownGraceMs: 5000 };
const CASTAMERE = "application/x-castamere";
const utf8 = new TextDecoder();

const SCHEMA = `
CREATE TABLE IF NOT EXISTS keys (key BLOB PRIMARY KEY, type TEXT NOT NULL, state BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS context (id INTEGER PRIMARY KEY CHECK (id = 1), state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS marks (source TEXT PRIMARY KEY, mark INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, source TEXT NOT NULL, shipper TEXT, deltas INTEGER NOT NULL,
  applied_at INTEGER NOT NULL) WITHOUT ROWID;
`;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function readBody(req, max) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > max) {
      req.resume();
      return reject(new HttpError(413, `body of ${declared} bytes is over the limit of ${max} bytes`));
    }
    const chunks = [];
    let n = 0;
    req.on("data", (c) => {
      n += c.length;
      if (n > max) {
        reject(new HttpError(413, `body is over the limit of ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Reads a key's merged value as JSON-friendly data: `{ key, type, value }`, or null. */
export function readValue(core, key) {
  const type = core.read(["TYPE", key]);
  if (type === "none") return null;
  let value;
  switch (type) {
    case "counter":
    case "string":
      value = core.read(["GET", key]);
      break;
    case "set":
      value = core.read(["SMEMBERS", key]);
      break;
    case "hash":
      value = core.read(["HGETALL", key]);
      break;
    case "flag":
      value = core.read(["FLAG.GET", key]) === 1;
      break;
    default:
      value = null;
  }
  if (typeof value === "bigint") value = value.toString();
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (typeof v === "bigint") value[k] = v.toString();
  }
  return { key, type, value };
}

/**
 * Starts an origin. Options: port (0 picks one), host, db (SQLite path), secret (required),
 * tenant (whose tokens it accepts; default "default"), maxBodyBytes, onBatch(change), log, and
 * delayMs (a simulated network round trip added to every request; 0).
 * Resolves to `{ url, port, path, core, close() }`.
 */
export async function startOrigin(options = {}) {
  const o = { ...DEFAULTS, ...options };
  if (!o.secret) throw new Error("the origin needs a secret (--secret or CASTAMERE_SECRET) to check tokens");
  if (!o.db) throw new Error("the origin needs a database path (--db ./origin.sqlite)");
  const log = o.log ?? (() => {});
  let db;
  try {
    db = new Database(o.db);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec(SCHEMA);
  } catch (e) {
    db?.close();
    throw new Error(`cannot open the origin's database ${o.db}: ${e.message}`);
  }

  const stats = {
    requests: 0,
    requestBytes: 0,
    batches: 0,
    duplicates: 0,
    deltas: 0,
    rejected: new Map(),
    snapshots: 0,
    keyReads: 0,
    persistFailures: 0,
  };
  const reject = (reason) => stats.rejected.set(reason, (stats.rejected.get(reason) ?? 0) + 1);

  let core;
  const load = () => {
    core = new Origin();
    for (const row of db.prepare("SELECT state FROM keys").iterate()) core.restore(row.state);
    const ctx = db.prepare("SELECT state FROM context WHERE id = 1").get();
    if (ctx) core.restore(ctx.state);
    for (const m of db.prepare("SELECT source, mark FROM marks").iterate()) core.restoreMark(m.source, m.mark);
    for (const b of db.prepare("SELECT id FROM batches").iterate()) core.markApplied(b.id);
  };
  load();
  log(`loaded ${core.size} keys from ${o.db}`);

  const upsertKey = db.prepare(
    "INSERT INTO keys (key, type, state) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET type = excluded.type, state = excluded.state",
  );
  const deleteKey = db.prepare("DELETE FROM keys WHERE key = ?");
  const putContext = db.prepare(
    "INSERT INTO context (id, state) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state",
  );
  const putMark = db.prepare(
    "INSERT INTO marks (source, mark) VALUES (?, ?) ON CONFLICT(source) DO UPDATE SET mark = max(mark, excluded.mark)",
  );
  const putBatch = db.prepare(
    "INSERT OR IGNORE INTO batches (id, source, shipper, deltas, applied_at) VALUES (?, ?, ?, ?, ?)",
  );
  const persist = db.transaction((applied) => {
    for (const key of applied.keys) {
      const row = core.row(key);
      if (row) upsertKey.run(Buffer.from(key), core.read(["TYPE", key]), Buffer.from(row));
      else deleteKey.run(Buffer.from(key));
    }
    putContext.run(Buffer.from(core.contextRow()));
    putMark.run(applied.source, applied.mark);
    putBatch.run(applied.id, applied.source, null, applied.deltas, Date.now());
  });

  const feeds = new Set();
  const announce = (applied) => {
    if (!o.onBatch && feeds.size === 0) return;
    const change = {
      id: applied.id,
      source: applied.source,
      changes: applied.keys.map(
        (k) => readValue(core, utf8.decode(k)) ?? { key: utf8.decode(k), type: "none", value: null },
      ),
    };
    try {
      o.onBatch?.(change);
    } catch (e) {
      log(`onBatch threw: ${e.message}`);
    }
    const data = `event: batch\ndata: ${JSON.stringify(change)}\n\n`;
    for (const res of feeds) res.write(data);
  };

  const auth = (req, url) => {
    let claims;
    try {
      claims = verifyToken(o.secret, requestToken(req, url));
    } catch (e) {
      reject("unauthorized");
      throw new HttpError(401, e.message);
    }
    if (claims.tenant !== o.tenant) {
      reject("wrong tenant");
      throw new HttpError(403, `token is for tenant '${claims.tenant}'; this origin serves '${o.tenant}'`);
    }
    return claims;
  };

  let inflight = 0;
  let closing = false;
  const server = createServer(async (req, res) => {
    inflight++;
    const url = new URL(req.url, "http://origin");
    try {
      if (url.pathname.startsWith("/v1/")) {
        stats.requests++;
        // Request line, headers and body, as they crossed the network.
        stats.requestBytes +=
          req.method.length +
          req.url.length +
          12 +
          req.rawHeaders.reduce((n, h) => n + h.length + 2, 0) +
          Number(req.headers["content-length"] ?? 0);
        // A simulated wide-area round trip (the scenario's --wan-ms) for what replicas ask;
        // the application's backend (keys, change feed) sits next to the origin.
        const fromEdge = /^\/v1\/(batches|snapshot|marks)$/.test(url.pathname);
        if (o.delayMs > 0 && fromEdge) await new Promise((r) => setTimeout(r, o.delayMs));
      }
      await route(req, res, url);
    } catch (e) {
      const status = e.status ?? 500;
      if (status === 500) log(`error: ${e.stack ?? e.message}`);
      if (!res.headersSent) {
        res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
        res.end(`castamere origin: ${e.message}\n`);
      } else {
        res.end();
      }
    } finally {
      inflight--;
    }
  });

  async function route(req, res, url) {
    const path = url.pathname;
    if (path === "/healthz") {
      res.writeHead(closing ? 503 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: closing ? "closing" : "ok", keys: core.size }));
      return;
    }
    if (path === "/metrics") {
      const reasons = [...stats.rejected].map(([r, v]) => [`{reason=${JSON.stringify(r)}}`, v]);
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(
        exposition([
          ["castamere_origin_requests_total", "counter", stats.requests],
          ["castamere_origin_request_bytes_total", "counter", stats.requestBytes],
          ["castamere_origin_batches_total", "counter", stats.batches],
          ["castamere_origin_duplicate_batches_total", "counter", stats.duplicates],
          ["castamere_origin_deltas_total", "counter", stats.deltas],
          ["castamere_origin_rejected_total", "counter", reasons],
          ["castamere_origin_snapshots_total", "counter", stats.snapshots],
          ["castamere_origin_keys", "gauge", core.size],
          ["castamere_origin_persist_failures_total", "counter", stats.persistFailures],
        ]),
      );
      return;
    }
    if (closing) throw new HttpError(503, "origin shutting down; retry");
    if (path === "/v1/batches" && req.method === "POST") {
      auth(req, url);
      const body = await readBody(req, o.maxBodyBytes);
      if (body.length < 2 || body[0] !== 0xc7) {
        reject("malformed body");
        throw new HttpError(400, `body is not a castamere batch (send the replica's bytes as ${CASTAMERE})`);
      }
      let r;
      try {
        r = core.handle(body);
      } catch (e) {
        reject("malformed body");
        throw new HttpError(400, e.message);
      }
      if (r.applied) {
        try {
          persist(r.applied);
        } catch (e) {
          // Memory is ahead of disk: reload what is durable and let the replica retry.
          stats.persistFailures++;
          log(`persisting batch ${r.applied.id} failed: ${e.message}; reloading from disk`);
          load();
          throw new HttpError(503, "could not make the batch durable; retry");
        }
        stats.batches++;
        stats.deltas += r.applied.deltas;
        announce(r.applied);
      } else {
        stats.duplicates++;
      }
      res.writeHead(200, { "content-type": CASTAMERE });
      res.end(Buffer.from(r.response));
      return;
    }
    if (path === "/v1/snapshot" && req.method === "GET") {
      auth(req, url);
      stats.snapshots++;
      const prefix = url.searchParams.get("prefix");
      const bytes =
        prefix === null ? core.snapshotMessage() : core.prefixSnapshotMessage(new TextEncoder().encode(prefix));
      res.writeHead(200, { "content-type": CASTAMERE });
      // Large snapshots go out in chunks as the socket drains.
      for (let i = 0; i < bytes.length; i += 1 << 16) {
        if (!res.write(Buffer.from(bytes.subarray(i, i + (1 << 16))))) await new Promise((r) => res.once("drain", r));
      }
      res.end();
      return;
    }
    if (path === "/v1/marks" && req.method === "GET") {
      auth(req, url);
      const r = core.handle(new Uint8Array([0xc7, 11, 0]));
      res.writeHead(200, { "content-type": CASTAMERE });
      res.end(Buffer.from(r.response));
      return;
    }
    if (path.startsWith("/v1/keys/") && req.method === "GET") {
      auth(req, url);
      stats.keyReads++;
      const key = decodeURIComponent(path.slice("/v1/keys/".length));
      const v = readValue(core, key);
      if (!v) throw new HttpError(404, `no key '${key}'`);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(v));
      return;
    }
    if (path === "/v1/changes" && req.method === "GET") {
      const { expires } = auth(req, url);
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      res.write(": castamere origin change feed\n\n");
      feeds.add(res);
      // The feed ends when its token expires, as the relay's connections do.
      const cancelExpiry = atExpiry(expires, () => {
        feeds.delete(res);
        res.end(
          `event: expired\ndata: ${JSON.stringify({ error: `token expired at ${new Date(expires).toISOString()}` })}\n\n`,
        );
      });
      req.on("close", () => {
        cancelExpiry();
        feeds.delete(res);
      });
      return;
    }
    throw new HttpError(404, `no route ${req.method} ${path}`);
  }

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, resolve);
  });
  const port = server.address().port;
  const close = async () => {
    if (closing) return;
    closing = true;
    for (const res of feeds) res.end();
    server.close();
    const end = Date.now() + o.shutdownGraceMs;
    while (inflight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    server.closeAllConnections?.();
    db.close();
  };
  return { url: `http://${o.host}:${port}`, port, path: o.db, core: () => core, stats, close };
}
