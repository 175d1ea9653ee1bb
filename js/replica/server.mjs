// A long-lived regional replica (`castamere replica`): a replica of the region that never
// sleeps. Edge containers are frozen between invocations, so at quiet times none may be awake
// to acknowledge a handoff (it then goes to the origin, across the wide-area round trip) or to
// answer a cold start (which then loads an origin snapshot). A replica running beside the
// relay is always there to do both. It is an ordinary replica: it holds what it is sent, ships
// the batches of writers that died before the origin had them, and takes part in membership.
//
// An HTTP port reports on it: GET /healthz (JSON), GET /metrics (Prometheus text), and
// GET /v1/snapshot (its state, for checks; it needs the replica's own token as a bearer).
import "../node.mjs";
import { timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { open } from "../db.mjs";
import { exposition } from "../prometheus.mjs";
import { tokenClaims } from "../token.mjs";

const HOUR = 3_600_000;

/**
 * Starts a regional replica. Options: what `open()` takes (relay, token, origin, region,
 * config), plus `port` (0 picks one; `null` serves no HTTP), `host` (127.0.0.1), `log`.
 * Resolves to `{ db, url, port, close() }`; `close()` hands what it holds to the origin (when
 * there is one: its own writes and those of departed writers) and leaves the region.
 */
export async function startReplica(options = {}) {
  const { port = 7402, host = "127.0.0.1", log = () => {}, ...dbOptions } = options;
  if (!dbOptions.relay) throw new Error("the replica needs a relay (--relay ws://host:7400)");
  if (!dbOptions.token)
    throw new Error("the replica needs a token (--token, or CASTAMERE_TOKEN; see `castamere token`)");
  const db = await open(dbOptions);
  // Its token stops working at its expiry: the relay then refuses every reconnection and the
  // origin every request. Say when, at start and (from a day before) every hour.
  const expires = tokenClaims(dbOptions.token)?.expires ?? null;
  const when = expires === null ? null : new Date(expires).toISOString();
  const sayExpiry = () => {
    if (expires === null) return;
    const left = expires - Date.now();
    if (left <= 0) log(`its token expired at ${when}: the relay and the origin refuse it; mint a new one`);
    else if (left < 24 * HOUR)
      log(`its token expires at ${when}, in ${(left / HOUR).toFixed(1)} h: mint a new one and restart`);
  };
  if (expires !== null) log(`its token expires at ${when}`);
  sayExpiry();
  const expiryTimer = setInterval(sayExpiry, HOUR);
  expiryTimer.unref();
  const { connected, reason } = db.connection;
  log(
    connected
      ? `replica ${db.replicaId} joined: ${db.peers.length} peer(s), ${db.size} keys`
      : `replica ${db.replicaId} is not connected to the relay at ${dbOptions.relay} (${reason}); retrying`,
  );
  db.on("connection", (c) =>
    log(c.connected ? "connected to the relay" : `lost the relay connection (${c.reason}); reconnecting`),
  );
  db.on("peer", ({ peer, joined }) => log(`${joined ? "peer joined" : "peer left"}: ${peer}`));
  db.on("error", (e) => log(`error: ${e.message}`));

  const authorized = (req) => {
    const got = Buffer.from(String(req.headers.authorization ?? ""));
    const want = Buffer.from(`Bearer ${dbOptions.token}`);
    return got.length === want.length && timingSafeEqual(got, want);
  };
  let http = null;
  let boundPort = null;
  if (port !== null) {
    http = createServer((req, res) => {
      const path = new URL(req.url, "http://replica").pathname;
      if (path === "/healthz") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            status: "ok",
            replica: db.replicaId,
            peers: db.peers.length,
            keys: db.size,
            lastWrite: db.lastWrite,
            regionAcked: db.regionAcked,
            originAcked: db.originAcked,
            tokenExpires: when,
          }),
        );
      } else if (path === "/metrics") {
        const s = db.stats;
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(
          exposition([
            ["castamere_replica_keys", "gauge", db.size],
            ["castamere_replica_peers", "gauge", db.peers.length],
            ["castamere_replica_peer_messages_total", "counter", s.peerMessages],
            ["castamere_replica_peer_bytes_total", "counter", s.peerBytes],
            ["castamere_replica_origin_requests_total", "counter", s.originMessages],
            ["castamere_replica_held_bytes", "gauge", s.heldBytes],
            ["castamere_replica_held_dropped_total", "counter", s.heldDropped],
            ...(expires === null
              ? []
              : [["castamere_replica_token_expiry_timestamp_seconds", "gauge", Math.floor(expires / 1000)]]),
          ]),
        );
      } else if (path === "/v1/snapshot" && req.method === "GET") {
        if (!authorized(req)) {
          res.writeHead(401, { "content-type": "text/plain" });
          res.end("castamere replica: send the replica's token as Authorization: Bearer <token>\n");
          return;
        }
        res.writeHead(200, { "content-type": "application/x-castamere" });
        res.end(Buffer.from(db._w.snapshot()));
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("castamere replica: GET /healthz, /metrics or /v1/snapshot\n");
      }
    });
    await new Promise((resolve, reject) => {
      http.once("error", reject);
      http.listen(port, host, resolve);
    });
    boundPort = http.address().port;
  }

  let closing = null;
  const close = () => {
    clearInterval(expiryTimer);
    closing ??= (async () => {
      const { done } = await db.retire({ budgetMs: 10_000 });
      if (!done && dbOptions.origin) {
        log("some writes did not reach the origin before the budget ran out; peers still hold them");
      } else if (!done) log("its own writes did not reach a live peer before the budget ran out");
      await db.close();
      if (http) {
        http.closeAllConnections?.();
        await new Promise((r) => http.close(r));
      }
    })();
    return closing;
  };
  return { db, url: boundPort === null ? null : `http://${host}:${boundPort}`, port: boundPort, close };
}
