// The regional relay: a stateless pub/sub over WebSocket. Each connection presents a token
// for (tenant, region) and a replica id; it joins the room of its tenant and region, may
// publish to the room's topics (sync, membership) or send to one replica of the room, and
// hears who joins and leaves. The relay never decodes castamere payloads.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";
import { exposition } from "../prometheus.mjs";
import { atExpiry, requestToken, verifyToken } from "../token.mjs";
import { DIRECT, FROM_DIRECT, FROM_PUBLISH, PUBLISH, TOPICS, validReplicaId } from "./frames.mjs";

const DEFAULTS = {
  port: 7400,
  host: "127.0.0.1",
  maxFrameBytes: 1 << 20,
  maxMessagesPerSecond: 5000,
  maxBufferedBytes: 8 << 20,
  shutdownGraceMs: 2000,
  pingMs: 15_000,
};

class Metrics {
  constructor() {
    this.tenants = new Map();
    this.refusals = new Map();
    this.drops = new Map();
  }
  tenant(t) {
    let m = this.tenants.get(t);
    if (!m) {
      m = { connections: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
      this.tenants.set(t, m);
    }
    return m;
  }
  count(map, reason) {
    map.set(reason, (map.get(reason) ?? 0) + 1);
  }
  text() {
    const per = (f) => [...this.tenants].map(([t, m]) => [`{tenant=${JSON.stringify(t)}}`, f(m)]);
    const reasons = (map) => [...map].map(([r, v]) => [`{reason=${JSON.stringify(r)}}`, v]);
    const mem = process.memoryUsage();
    return exposition([
      ["castamere_relay_connections", "gauge", per((m) => m.connections), "Open connections."],
      ["castamere_relay_messages_in_total", "counter", per((m) => m.messagesIn), "Frames received."],
      ["castamere_relay_messages_out_total", "counter", per((m) => m.messagesOut), "Frames sent."],
      ["castamere_relay_bytes_in_total", "counter", per((m) => m.bytesIn), "Bytes received."],
      ["castamere_relay_bytes_out_total", "counter", per((m) => m.bytesOut), "Bytes sent."],
      ["castamere_relay_drops_total", "counter", reasons(this.drops), "Frames or connections dropped."],
      ["castamere_relay_refusals_total", "counter", reasons(this.refusals), "Connections refused at the upgrade."],
      ["process_resident_memory_bytes", "gauge", mem.rss, "Resident memory of the relay process."],
      ["nodejs_heap_used_bytes", "gauge", mem.heapUsed, "V8 heap in use."],
    ]);
  }
}

const STATUS_TEXT = { 400: "Bad Request", 401: "Unauthorized", 503: "Service Unavailable" };

/** Refuses an upgrade: 4xx when the request is at fault (retrying it cannot help), 503 when
 * the relay is (retrying elsewhere or later can). */
function refuse(socket, status, reason) {
  const body = `castamere relay: ${reason}\n`;
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Bad Request"}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Castamere-Reason: ${reason.replace(/[\r\n]/g, " ").slice(0, 200)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroy();
}

/**
 * Starts a relay. Options: port (0 picks one), host, secret (required), maxFrameBytes,
 * maxMessagesPerSecond, maxBufferedBytes, log. Resolves to `{ url, port, metrics, close() }`.
 */
export async function startRelay(options = {}) {
  const o = { ...DEFAULTS, ...options };
  if (!o.secret) throw new Error("the relay needs a secret (--secret or CASTAMERE_SECRET) to check tokens");
  const log = o.log ?? (() => {});
  const metrics = new Metrics();
  const rooms = new Map();
  const http = createServer((req, res) => {
    if (req.url === "/healthz") {
      let n = 0;
      for (const r of rooms.values()) n += r.size;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: closing ? "closing" : "ok", connections: n }));
    } else if (req.url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(metrics.text());
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("castamere relay: connect a WebSocket to /v1/connect?replica=ID&token=TOKEN\n");
    }
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxFrameBytes, perMessageDeflate: false });
  let closing = false;

  http.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url, "http://relay");
    if (closing) return refuse(socket, 503, "relay shutting down");
    if (url.pathname !== "/v1/connect") return refuse(socket, 400, `unknown path ${url.pathname}; use /v1/connect`);
    const replica = url.searchParams.get("replica");
    if (!validReplicaId(replica)) {
      metrics.count(metrics.refusals, "bad replica id");
      return refuse(socket, 400, "replica must be a decimal replica id");
    }
    let claims;
    try {
      claims = verifyToken(o.secret, requestToken(req, url));
    } catch (e) {
      metrics.count(metrics.refusals, e.message.split(":")[0]);
      return refuse(socket, 401, e.message);
    }
    if (claims.region === "*") {
      const region = url.searchParams.get("region");
      if (!region || !/^[\w.-]{1,64}$/.test(region)) return refuse(socket, 400, "a region-wide token needs ?region=");
      claims.region = region;
    }
    wss.handleUpgrade(req, socket, head, (ws) => join(ws, claims.tenant, claims.region, replica, claims.expires));
  });

  // The frames sent to one connection in one turn of the event loop after its first (the
  // fan-out of a burst read from one chunk of the network) leave in one write: the socket is
  // corked at the second and uncorked once the turn's code is done, where each `ws.send`
  // would otherwise be a write, a system call, of its own. The first goes at once, so a lone
  // frame waits for nothing. Order is kept, and `bufferedAmount` counts what waits. The
  // socket is `ws`'s own (`_socket`, outside its typed API; the relay's tests hold the
  // version in use to it); without one, frames leave one by one.
  const sentThisTurn = [];
  const endTurn = () => {
    for (const conn of sentThisTurn.splice(0)) {
      const socket = conn.corked;
      conn.corked = null;
      conn.sentThisTurn = false;
      socket?.uncork();
    }
  };
  function beforeSend(conn) {
    if (!conn.sentThisTurn) {
      conn.sentThisTurn = true;
      sentThisTurn.push(conn);
      if (sentThisTurn.length === 1) process.nextTick(endTurn);
      return;
    }
    const socket = conn.ws._socket;
    if (conn.corked || typeof socket?.cork !== "function") return;
    socket.cork();
    conn.corked = socket;
  }

  function send(conn, data, tm) {
    if (conn.ws.readyState !== 1) return;
    if (conn.ws.bufferedAmount > o.maxBufferedBytes) {
      metrics.count(metrics.drops, "slow consumer");
      conn.ws.close(1013, `slow consumer: ${conn.ws.bufferedAmount} bytes buffered`);
      return;
    }
    beforeSend(conn);
    conn.ws.send(data);
    tm.messagesOut++;
    tm.bytesOut += typeof data === "string" ? data.length : data.length;
  }

  function join(ws, tenant, region, replica, expires) {
    const key = `${tenant}\u0000${region}`;
    let room = rooms.get(key);
    if (!room) {
      room = new Map();
      rooms.set(key, room);
    }
    const old = room.get(replica);
    if (old) old.ws.close(4000, "replaced by a newer connection of the same replica");
    const tm = metrics.tenant(tenant);
    const conn = {
      ws,
      replica,
      tokens: o.maxMessagesPerSecond,
      refilled: Date.now(),
      idBytes: Buffer.from(replica),
      alive: true,
      sentThisTurn: false, // and `corked`, its socket while corked: see `beforeSend`
      corked: null,
    };
    ws.on("pong", () => {
      conn.alive = true;
    });
    // A token works until its expiry, on a connection made before it too: the connection is
    // closed then, and its reconnection refused, as every other use of the token is.
    const cancelExpiry = atExpiry(expires, () => {
      metrics.count(metrics.drops, "token expired");
      ws.close(4001, `token expired at ${new Date(expires).toISOString()}; mint a new one with \`castamere token\``);
    });
    room.set(replica, conn);
    tm.connections++;
    log(`join ${tenant}/${region} ${replica} (${room.size} in room)`);
    send(
      conn,
      JSON.stringify({
        type: "welcome",
        replica,
        tenant,
        region,
        peers: [...room.keys()].filter((r) => r !== replica),
      }),
      tm,
    );
    const announce = (type) => {
      const msg = JSON.stringify({ type, peer: replica });
      for (const c of room.values()) if (c !== conn) send(c, msg, tm);
    };
    announce("join");

    ws.on("message", (data, isBinary) => {
      tm.messagesIn++;
      tm.bytesIn += data.length;
      // Token bucket: maxMessagesPerSecond sustained, one second of burst.
      const now = Date.now();
      conn.tokens = Math.min(
        o.maxMessagesPerSecond,
        conn.tokens + ((now - conn.refilled) * o.maxMessagesPerSecond) / 1000,
      );
      conn.refilled = now;
      if (conn.tokens < 1) {
        metrics.count(metrics.drops, "rate limit");
        ws.close(1008, `rate limit: over ${o.maxMessagesPerSecond} messages per second`);
        return;
      }
      conn.tokens -= 1;
      if (!isBinary || data.length < 2) {
        metrics.count(metrics.drops, "malformed frame");
        send(
          conn,
          JSON.stringify({
            type: "error",
            message: "frames must be binary: 0x01 topic payload or 0x02 idlen id payload",
          }),
          tm,
        );
        return;
      }
      if (data[0] === PUBLISH && data[1] < TOPICS.length) {
        const out = Buffer.allocUnsafe(3 + conn.idBytes.length + data.length - 2);
        out[0] = FROM_PUBLISH;
        out[1] = data[1];
        out[2] = conn.idBytes.length;
        conn.idBytes.copy(out, 3);
        data.copy(out, 3 + conn.idBytes.length, 2);
        for (const c of room.values()) if (c !== conn) send(c, out, tm);
        return;
      }
      if (data[0] === DIRECT && data.length >= 2 + data[1]) {
        const to = data.subarray(2, 2 + data[1]).toString("latin1");
        const target = room.get(to);
        if (!target) {
          metrics.count(metrics.drops, "no such peer");
          return;
        }
        const out = Buffer.allocUnsafe(2 + conn.idBytes.length + data.length - 2 - data[1]);
        out[0] = FROM_DIRECT;
        out[1] = conn.idBytes.length;
        conn.idBytes.copy(out, 2);
        data.copy(out, 2 + conn.idBytes.length, 2 + data[1]);
        send(target, out, tm);
        return;
      }
      metrics.count(metrics.drops, "malformed frame");
      send(conn, JSON.stringify({ type: "error", message: `unknown frame type 0x${data[0].toString(16)}` }), tm);
    });
    ws.on("close", () => {
      cancelExpiry();
      tm.connections--;
      if (room.get(replica) === conn) {
        room.delete(replica);
        announce("leave");
      }
      if (room.size === 0) rooms.delete(key);
      log(`leave ${tenant}/${region} ${replica}`);
    });
    ws.on("error", (e) => {
      metrics.count(metrics.drops, e.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? "frame too large" : "socket error");
    });
  }

  // A connection that misses a ping (a frozen or vanished client) is dropped.
  const pinger = setInterval(() => {
    for (const room of rooms.values()) {
      for (const c of room.values()) {
        if (!c.alive) {
          metrics.count(metrics.drops, "no pong");
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }
  }, o.pingMs);
  pinger.unref?.();

  await new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(o.port, o.host, resolve);
  });
  const port = http.address().port;
  const close = async () => {
    if (closing) return;
    closing = true;
    clearInterval(pinger);
    for (const room of rooms.values()) for (const c of room.values()) c.ws.close(1001, "relay shutting down");
    await new Promise((r) => {
      const t = setTimeout(() => {
        for (const ws of wss.clients) ws.terminate();
        r();
      }, o.shutdownGraceMs);
      t.unref?.();
      http.close(() => {
        clearTimeout(t);
        r();
      });
      http.closeAllConnections?.();
    });
  };
  return { url: `ws://${o.host}:${port}`, port, metrics, rooms, close };
}
