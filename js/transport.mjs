// The transport between a replica and its region: an outbound WebSocket to the relay.
//
// Any broker can replace the relay by implementing the same small interface (a NATS cluster
// over WebSocket, with gateways between regions, maps it onto subjects
// `castamere.<tenant>.<region>.sync`, `...membership` and `...peer.<replica>`), passed to
// `open({ transport: (handlers) => transport })`:
//
//   transport.connect()                 start connecting (and keep reconnecting)
//   transport.publish(topic, payload)   topic "sync" or "membership"; payload a Uint8Array
//   transport.direct(peer, payload)     to one replica of the region, this one included: a
//                                       sync session settles when its echo comes back, so
//                                       a direct message must not overtake earlier ones
//   transport.close()                   stop for good (may return a promise: close() awaits it)
//   onMessage({ from, payload })        every payload from another replica (or itself)
//   onStatus(status, detail, code)      "open", "closed" (with the reason), "refused" (with
//                                       the reason and the HTTP status: a 4xx while opening
//                                       fails open(), since retrying cannot help)
//   onControl({ type, peers | peer })   "welcome" with the replicas connected now, then
//                                       "join" / "leave"; after a reconnection the replica
//                                       asks one of them for what it missed, and a welcome
//                                       listing nobody sends a cold start to the origin at
//                                       once, or ends it without one (so list every replica
//                                       that may answer)
//
// Payloads are opaque castamere bytes; the transport never looks inside.
import { directFrame, parseIncoming, publishFrame, TOPICS } from "./relay/frames.mjs";

const MAX_QUEUE_FRAMES = 4096;
const MAX_QUEUE_BYTES = 8 << 20;

let loadDefault = null;

/**
 * Where the WebSocket class comes from when open() is given none. The Node entry sets the ws
 * package: it shows why the relay refused a connection, where Node 22's global WebSocket, as
 * browsers', reports only that it failed. Elsewhere it is the global one (workerd upgrades
 * through fetch() instead, see connectByFetch).
 */
export function setWebSocketLoader(load) {
  loadDefault = load;
}

async function webSocketClass(given) {
  if (given) return given;
  if (loadDefault) return loadDefault();
  if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
  throw new Error("castamere: this runtime has no WebSocket; pass one as open({ WebSocket })");
}

/** A reconnecting WebSocket client of the castamere relay. */
export class RelayTransport {
  /**
   * @param {object} o url (ws://host:port), token, replicaId, region (for region-wide
   *   tokens), WebSocket (a constructor; default: see setWebSocketLoader),
   *   onMessage, onStatus, minBackoffMs (100), maxBackoffMs (5000).
   */
  constructor(o) {
    this.o = { minBackoffMs: 100, maxBackoffMs: 5000, ...o };
    this.queue = [];
    this.queuedBytes = 0;
    this.ws = null;
    this.open = false;
    this.attempt = 0;
    this.timer = null;
    this.dropped = 0;
    // Frames of the current tick, written together after it (one write under load).
    this.outbox = [];
    this.flushing = false;
    // close()'s promise, once it was called: the transport is stopped for good.
    this.closing = null;
  }

  get closed() {
    return this.closing !== null;
  }

  url() {
    const u = new URL("/v1/connect", this.o.url);
    u.searchParams.set("replica", this.o.replicaId);
    u.searchParams.set("token", this.o.token);
    if (this.o.region) u.searchParams.set("region", this.o.region);
    return u.toString();
  }

  async connect() {
    if (this.closed) return;
    // In workerd, `new WebSocket` reports only "received 401" when the relay refuses; an
    // upgrade by fetch() shows the relay's answer, reason included.
    if (!this.o.WebSocket && typeof globalThis.WebSocketPair === "function") return this.connectByFetch();
    const WS = await webSocketClass(this.o.WebSocket);
    let ws;
    try {
      ws = new WS(this.url());
    } catch (e) {
      return this.lost(e.message, true);
    }
    this.ws = ws;
    // The `ws` package shows why an upgrade was refused; browsers do not.
    ws.on?.("unexpected-response", (_req, res) => {
      this.refusedWith(res.headers["x-castamere-reason"], res.statusCode);
    });
    ws.addEventListener("open", () => this.opened(ws));
    this.listen(ws);
  }

  /** workerd: the upgrade as a fetch, whose response is the socket or the relay's refusal. */
  async connectByFetch() {
    let res;
    try {
      res = await fetch(this.url().replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } });
    } catch (e) {
      return this.lost(e.message, true);
    }
    const ws = res.webSocket;
    if (!ws) {
      await res.body?.cancel();
      return this.lost(this.refusedWith(res.headers.get("x-castamere-reason"), res.status), false);
    }
    ws.accept();
    if (this.closed) {
      ws.close(1000, "closing");
      return;
    }
    this.ws = ws;
    this.listen(ws);
    this.opened(ws);
  }

  /** Reports a refused upgrade; a 401 (the token) also silences the close that follows. */
  refusedWith(reason, status) {
    const why = reason ?? `HTTP ${status}`;
    this.o.onStatus?.("refused", why, status);
    if (status === 401) this.refused = why;
    return why;
  }

  opened(ws) {
    this.open = true;
    this.attempt = 0;
    const q = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const f of q) ws.send(f);
    this.o.onStatus?.("open");
  }

  listen(ws) {
    const control = (text) => {
      let msg;
      try {
        msg = JSON.parse(text);
      } catch {
        return;
      }
      this.o.onControl?.(msg);
    };
    const binary = (bytes) => {
      const f = parseIncoming(bytes);
      if (f) this.o.onMessage?.(f);
    };
    if (typeof ws.on === "function") {
      // The `ws` package: its own event, with the frame as a Buffer (a Uint8Array), saves the
      // copy into an ArrayBuffer and the event object of the standard interface per message.
      ws.binaryType = "nodebuffer";
      ws.on("message", (data, isBinary) => (isBinary ? binary(data) : control(data.toString())));
    } else {
      // Binary frames as ArrayBuffers. The standard's default is Blobs, as browsers have, and
      // Workers from compatibility date 2026-03-17 (the flag websocket_standard_binary_type).
      ws.binaryType = "arraybuffer";
      ws.addEventListener("message", (ev) =>
        typeof ev.data === "string" ? control(ev.data) : binary(new Uint8Array(ev.data)),
      );
    }
    // A connection that failed closes with code 1006 and no reason: its error says why.
    let failure = null;
    ws.addEventListener("error", (ev) => {
      failure = ev?.message || ev?.error?.message || null;
    });
    ws.addEventListener("close", (ev) => {
      const was = this.open;
      this.open = false;
      if (this.ws === ws) this.ws = null;
      this.lost(ev.reason || failure || `code ${ev.code}`, was, ev.code);
    });
  }

  /** A connection that failed or ended: says why (unless a 401 already did, for one that was
   * never open), and tries again after a backoff. */
  lost(why, wasOpen, code) {
    if (wasOpen || !this.refused) this.o.onStatus?.("closed", why, code);
    this.retry();
  }

  retry() {
    if (this.closed || this.timer) return;
    const cap = Math.min(this.o.maxBackoffMs, this.o.minBackoffMs * 2 ** Math.min(this.attempt, 10));
    const delay = cap / 2 + Math.random() * (cap / 2);
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  send(frame) {
    // Stopped for good: nothing will send a backlog, and the socket may be another request's.
    if (this.closed) return;
    if (this.open && this.ws?.readyState === 1) {
      // Written after the current task (a microtask): the caller finishes what it was doing
      // (joining a delta, answering a request) before the socket write, and the frames of one
      // task go out in one write where the socket allows it.
      this.outbox.push(frame);
      if (!this.flushing) {
        this.flushing = true;
        queueMicrotask(() => this.flush());
      }
      return;
    }
    this.backlog(frame);
  }

  flush() {
    this.flushing = false;
    const frames = this.outbox;
    this.outbox = [];
    const ws = this.ws;
    if (!this.open || ws?.readyState !== 1) {
      for (const f of frames) this.backlog(f);
      return;
    }
    const socket = ws._socket; // the `ws` package's net.Socket, where there is one
    socket?.cork?.();
    try {
      for (const f of frames) ws.send(f);
    } finally {
      socket?.uncork?.();
    }
  }

  backlog(frame) {
    // Disconnected: keep a bounded backlog; the sync protocol resends whatever is dropped.
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    while (this.queue.length > MAX_QUEUE_FRAMES || this.queuedBytes > MAX_QUEUE_BYTES) {
      this.queuedBytes -= this.queue.shift().length;
      this.dropped++;
    }
  }

  publish(topic, payload) {
    this.send(publishFrame(TOPICS.indexOf(topic), payload));
  }

  direct(peer, payload) {
    this.send(directFrame(peer, payload));
  }

  /**
   * Stops for good: the connection closes with the close handshake. Resolves once the socket
   * is closed, or after `waitMs` if the relay does not answer. Calling it again returns the
   * same promise and does not touch the socket: in workerd a socket belongs to the request
   * that opened it, and any call on it from a later request throws (a Db closed after
   * `suspend()` closes its transport again, while the old socket may still be closing).
   */
  close(waitMs = 1000) {
    if (this.closing) return this.closing;
    if (this.outbox.length > 0) this.flush();
    clearTimeout(this.timer);
    this.timer = null;
    let done;
    // Set before the socket is touched: whatever its close fires must find the transport stopped.
    this.closing = new Promise((resolve) => {
      done = resolve;
    });
    const ws = this.ws;
    if (!ws || ws.readyState === 3) {
      done();
      return this.closing;
    }
    const timer = setTimeout(done, waitMs);
    timer.unref?.();
    try {
      ws.addEventListener("close", () => {
        clearTimeout(timer);
        done();
      });
      ws.close(1000, "closing");
    } catch {
      clearTimeout(timer);
      done();
    }
    return this.closing;
  }
}
