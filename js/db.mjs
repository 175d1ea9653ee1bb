// The networked store: a Rust replica driven by this shim. The shim owns the socket, the
// timer and the clock; after every input it drains every output of the replica.
import { Replica as WasmReplica } from "../pkg/web/castamere.mjs";
import { CastamereError, Commands, checkWords, idHalves, rethrow } from "./core.mjs";
import { RelayTransport } from "./transport.mjs";

const BATCH = 7;
const SNAPSHOT_REQUEST = 9;
const MARKS_REQUEST = 11;
/** Errors a store keeps while nobody listens for them (for its first listener). */
const UNHEARD_ERRORS = 8;
// Where a message from `pollTransmit` goes (the wasm module's `transmitTo`).
const TO_REGION = 0;
const TO_MEMBERSHIP = 1;
const TO_PEER = 2;
const TO_ORIGIN = 3;
/** The relay's close code for a connection replaced by a newer one of the same replica id. */
const RELAY_REPLACED = 4000;
/** What a drain with no pending event reads (most have none). */
const NO_EVENTS = Object.freeze([]);

let defaultFetch = null;

/** The fetch() of origin clients given none (the Node entry sets one on node:http). */
export function setOriginFetch(f) {
  defaultFetch = f;
}

/** Throws, naming the option, unless `value` is an absolute URL of one of `protocols`; `what`
 * says what it takes. */
function checkUrl(option, value, protocols, what, example) {
  let u = null;
  try {
    u = typeof value === "string" ? new URL(value) : null;
  } catch {}
  if (u === null || !protocols.includes(u.protocol)) {
    throw new CastamereError(
      `ERR open({ ${option} }) must be ${what} URL such as '${example}', not ${JSON.stringify(value)}`,
    );
  }
}

/** HTTP client of the origin: replica messages out, response messages back. */
export class OriginClient {
  constructor(base, token, fetchImpl) {
    this.base = base.replace(/\/$/, "");
    this.token = token;
    this.fetch = fetchImpl ?? defaultFetch ?? globalThis.fetch.bind(globalThis);
  }

  async send(payload) {
    const type = payload[1];
    const headers = { authorization: `Bearer ${this.token}`, accept: "application/x-castamere" };
    let req;
    if (type === BATCH) {
      req = [
        `${this.base}/v1/batches`,
        { method: "POST", headers: { ...headers, "content-type": "application/x-castamere" }, body: payload },
      ];
    } else if (type === SNAPSHOT_REQUEST) {
      req = [`${this.base}/v1/snapshot`, { headers }];
    } else if (type === MARKS_REQUEST) {
      req = [`${this.base}/v1/marks`, { headers }];
    } else {
      throw new CastamereError(`ERR no origin route for message type ${type}`);
    }
    let res;
    try {
      res = await this.fetch(...req);
    } catch (e) {
      // fetch() says only "fetch failed"; what failed is in its cause.
      const why = e?.cause?.message ?? e?.message ?? String(e);
      throw new CastamereError(`EORIGIN cannot reach the origin at ${this.base}: ${why}`, "EORIGIN");
    }
    if (!res.ok) {
      const text = (await res.text()).slice(0, 300).trim();
      const e = new CastamereError(`EORIGIN origin answered ${res.status}: ${text}`, "EORIGIN");
      e.status = res.status;
      throw e;
    }
    return new Uint8Array(await res.arrayBuffer());
  }
}

/** Throws what `open(o)` would throw for options it cannot use, before any connection. */
export function checkOpenOptions(o) {
  if (!o || (!o.relay && !o.transport)) {
    throw new CastamereError(
      "ERR open() needs { relay: 'ws://host:port', token } (or transport: a function of handlers returning a transport)",
    );
  }
  if (o.transport !== undefined && typeof o.transport !== "function")
    throw new CastamereError(
      "ERR open({ transport }) takes a function: (handlers) => transport (see js/transport.mjs)",
    );
  if (!o.transport && !o.token)
    throw new CastamereError("ERR open() needs a token for the relay (see `castamere token`)");
  // A malformed address is the caller's to fix, not a network fault to retry for ever.
  if (!o.transport) {
    checkUrl("relay", o.relay, ["ws:", "wss:", "http:", "https:"], "a ws:// or wss://", "ws://127.0.0.1:7400");
  }
  if (o.origin)
    checkUrl("origin", o.origin, ["http:", "https:"], "an http:// or https://", "https://origin.example.com");
}

/**
 * A replica of the keyspace connected to its region through the relay (and to the origin,
 * if given). Same commands as `Store`; plus `sync`, `flush`, `close`, write concern and
 * events (`peer`, `converged`, `error`). Create it with `open()`.
 */
export class Db extends Commands {
  constructor(o) {
    super();
    checkOpenOptions(o);
    try {
      // A plain copy: the module reads it without guarding against getters that throw.
      const config = o.config == null ? {} : typeof o.config === "object" ? { ...o.config } : o.config;
      this._w = new WasmReplica(...idHalves(o.replicaId), config);
    } catch (e) {
      rethrow(e);
    }
    this.options = o;
    this._listeners = new Map();
    this._waiters = [];
    this._timer = null;
    this._armedAt = Infinity;
    this._onTimer = () => {
      this._timer = null;
      this._armedAt = Infinity;
      if (this._closed) return;
      this._w.handleTimeout(Date.now());
      this._drain();
    };
    this._inflight = new Set();
    this._closed = false;
    this._opened = false;
    this.origin = o.origin ? new OriginClient(o.origin, o.originToken ?? o.token, o.fetch) : null;
    this._w.setHasOrigin(this.origin !== null);
    // Callbacks of a replaced transport (after `suspend`/`resume`) are ignored.
    this._newTransport = () => {
      const handlers = {
        replicaId: this._w.replicaId,
        onMessage: (f) => t === this.transport && this._onMessage(f),
        onStatus: (s, why, code) => t === this.transport && this._onStatus(s, why, code),
        onControl: (m) => t === this.transport && this._onControl(m),
      };
      const t = o.transport
        ? o.transport(handlers)
        : new RelayTransport({ url: o.relay, token: o.token, region: o.region, WebSocket: o.WebSocket, ...handlers });
      return t;
    };
    // Peers the relay reports connected (its welcome, then join/leave), and whether this
    // replica missed what the region said while its connection was down.
    this._connected = new Set();
    this._welcomed = false;
    this._welcomeWaiters = [];
    this._needResync = false;
    this.transport = this._newTransport();
  }

  /**
   * Stops the timer and closes the connection, keeping the state: for runtimes that forbid
   * I/O outside a request (Workers) or freeze the process between invocations.
   */
  suspend() {
    clearTimeout(this._timer);
    this._timer = null;
    this._armedAt = Infinity;
    this._suspended = true;
    this.transport.close();
  }

  /** Reconnects after `suspend()` (with a new connection) and catches up on overdue timers. */
  resume() {
    if (!this._suspended && this.transport.open) return;
    // suspend() closed the transport already (in workerd, its socket is an earlier request's).
    if (!this._suspended) this.transport.close();
    this.transport = this._newTransport();
    this._suspended = false;
    this._welcomed = false;
    this._connected.clear();
    this._needResync = true;
    this._opened = false;
    this.transport.connect();
    this._opened = true;
    this._w.handleTimeout(Date.now());
    this._drain();
  }

  // -------------------------------------------------------------------- events

  /** Listens to `peer` ({ peer, joined }), `converged` ({ peers }), `error` (Error), `acked`. */
  on(event, f) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(f);
    // Errors from before anyone listened (open() reports the origin unreachable before it
    // returns the store) go to the first listener, after this call.
    if (event === "error" && this._unheard?.length > 0) {
      const unheard = this._unheard;
      this._unheard = [];
      queueMicrotask(() => {
        for (const e of unheard) this._emit("error", e);
      });
    }
    return this;
  }
  off(event, f) {
    this._listeners.get(event)?.delete(f);
    return this;
  }
  _emit(event, value) {
    if (event === "error" && !(this._listeners.get("error")?.size > 0)) {
      // Kept for the first listener: the last few, not an unbounded log.
      this._unheard = [...(this._unheard ?? []).slice(-(UNHEARD_ERRORS - 1)), value];
      return;
    }
    for (const f of this._listeners.get(event) ?? []) {
      try {
        f(value);
      } catch (e) {
        if (event !== "error") this._emit("error", e);
      }
    }
  }

  // -------------------------------------------------------------------- getters

  /** This replica's id (decimal string; a new one on every start). */
  get replicaId() {
    return this._w.replicaId;
  }
  /** The sequence number of this replica's latest write. */
  get lastWrite() {
    return this._w.lastWrite;
  }
  /** The highest own write held by a live peer. */
  get regionAcked() {
    return this._w.regionAcked;
  }
  /** The highest own write durable at the origin. */
  get originAcked() {
    return this._w.originAcked;
  }
  /** Live peers (replica ids). */
  get peers() {
    return this._w.peers;
  }
  /** Number of keys. */
  get size() {
    return this._w.size;
  }
  /** What this replica sent. */
  get stats() {
    return this._w.stats;
  }

  // -------------------------------------------------------------------- commands

  /**
   * Runs a command. With `{ ack: "region" }` or `{ ack: "origin" }` it returns a promise of
   * the reply that resolves once the write is held by a live peer, or durable at the origin
   * (rejecting with ETIMEDOUT after `timeoutMs`, default 5000).
   */
  exec(args, opts) {
    checkWords(args);
    let r;
    try {
      r = this._w.exec(args, Date.now());
    } catch (e) {
      rethrow(e);
    }
    this._written();
    const ack = opts?.ack ?? "local";
    if (ack === "local") return r;
    return this._awaitAck(ack, this._w.lastWrite, opts.timeoutMs).then(() => r);
  }

  _incrByHandle(h, n) {
    return this._w.incrByHandle(h, n, this._now());
  }
  _incrByKey(key, n) {
    return this._w.incrBy(key, n, this._now());
  }

  /** After a local write: only the timer may need to move earlier (writes send nothing). */
  _written() {
    const t = this._w.pollTimeout();
    if (t !== undefined && t < this._armedAt) this._arm(t);
  }

  /**
   * Seals pending local writes and sends them to the region now, instead of within
   * `deltaIntervalMs`. Peers acknowledge them as any others, within `ackDelayMs`; a write
   * with `{ ack: "region" }` asks for its acknowledgement at once.
   */
  push() {
    this._w.push(Date.now());
    this._drain();
  }

  // -------------------------------------------------------------------- lifecycle

  /**
   * The compulsory anti-entropy session: asks the region for what this replica misses.
   * Resolves to `{ peers, fromOrigin, complete }` when every live peer answered and nothing is
   * missing, or when `budgetMs` ran out (`complete: false`).
   */
  sync({ budgetMs = 300 } = {}) {
    if (this._needResync) return this._resync(budgetMs);
    const p = this._wait((e) => e.type === "synced", budgetMs + 1000, "sync");
    this._w.sync(Date.now(), budgetMs);
    this._drain();
    return p;
  }

  /**
   * Handoff: resolves to `{ acked, level, upto }` once every write so far is held by a live
   * peer (`to: "region"`) or is durable at the origin (`to: "origin"`), or when `budgetMs`
   * ran out (`acked: false`). With no live peer, `region` is reached through the origin.
   */
  async flush({ to = "region", budgetMs = 2000 } = {}) {
    const upto = this._w.lastWrite;
    const done = () => this._w.originAcked >= upto || (to === "region" && this._w.regionAcked >= upto);
    if (!done()) {
      const p = this._wait(() => done(), budgetMs, null).catch(() => null);
      if (to === "region") this._w.beginHandoff(Date.now());
      else this._w.flushOrigin(Date.now());
      this._drain();
      await p;
    }
    const acked = done();
    const level = this._w.originAcked >= upto ? "origin" : this._w.regionAcked >= upto ? "region" : "local";
    return { acked, level, upto };
  }

  /**
   * Before a long-lived replica stops for good: ships to the origin everything it holds that
   * the origin lacks (its own writes, and those of departed writers), within `budgetMs`; with
   * no origin, hands its writes to a live peer of the region (as `flush({ to: "region" })`).
   * Resolves to `{ done }`; then call `close()`.
   */
  async retire({ budgetMs = 5000 } = {}) {
    if (!this.origin) return { done: (await this.flush({ to: "region", budgetMs })).acked };
    const done = () => !this._w.owesOrigin;
    // Retiring first: only then does the replica count departed writers' writes as owed.
    this._w.retire(Date.now());
    this._drain();
    if (!done()) await this._wait(done, budgetMs, null).catch(() => null);
    return { done: done() };
  }

  /** Resolves when every request to the origin in flight has finished (for `waitUntil`). */
  async idle() {
    while (this._inflight.size > 0) await Promise.allSettled([...this._inflight]);
  }

  /**
   * Leaves the region (the lease ends at once everywhere) and closes the connection; resolves
   * once its close handshake is done (or after a second, if the relay does not answer).
   */
  async close() {
    if (this._closed) return;
    this._w.close(Date.now());
    this._drain();
    this._closed = true;
    clearTimeout(this._timer);
    this._timer = null;
    await this.idle();
    await this.transport.close();
    for (const w of this._waiters) w.reject(new CastamereError("ECLOSED the store was closed", "ECLOSED"));
    this._waiters = [];
  }

  /**
   * The session after the connection was down: this replica cannot know what it missed, so
   * once the relay's welcome says who is connected it asks one of them for everything.
   */
  async _resync(budgetMs) {
    const t0 = Date.now();
    if (!this._welcomed) {
      let timer;
      const welcomed = await Promise.race([
        new Promise((r) => this._welcomeWaiters.push(() => r(true))),
        new Promise((r) => {
          timer = setTimeout(() => r(false), budgetMs);
        }),
      ]);
      clearTimeout(timer);
      if (!welcomed) return { peers: 0, fromOrigin: false, complete: false };
    }
    this._needResync = false;
    const left = Math.max(1, budgetMs - (Date.now() - t0));
    const p = this._wait((e) => e.type === "synced", left + 1000, "sync");
    this._w.resync(Date.now(), left, [...this._connected]);
    this._drain();
    return p;
  }

  async _open() {
    const budget = this.options.config?.bootstrapBudgetMs ?? 300;
    // A safety net: the session itself ends within twice its budget (half of it for the
    // region, then one more budget for the origin's answer).
    const p = this._wait((e) => e.type === "synced", 2 * budget + 2000, "start");
    p.catch(() => {}); // when the relay refuses first, the session's end no longer matters
    const refused = new Promise((_, reject) => {
      this._refuseOpen = reject;
    });
    try {
      this.transport.connect();
      this._w.start(Date.now());
      this._drain();
      const r = await Promise.race([p, refused]);
      this._opened = true;
      return r;
    } finally {
      this._refuseOpen = null;
    }
  }

  // -------------------------------------------------------------------- the pump

  _wait(match, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const w = { match, resolve, reject };
      w.timer = setTimeout(() => {
        this._waiters = this._waiters.filter((x) => x !== w);
        reject(new CastamereError(`ETIMEDOUT ${what ?? "wait"} did not finish within ${timeoutMs} ms`, "ETIMEDOUT"));
      }, timeoutMs);
      this._waiters.push(w);
    });
  }

  _awaitAck(level, upto, timeoutMs = 5000) {
    const reached = () =>
      level === "region" ? this._w.regionAcked >= upto || this._w.originAcked >= upto : this._w.originAcked >= upto;
    if (level !== "region" && level !== "origin") {
      return Promise.reject(
        new CastamereError(`ERR ack must be "local", "region" or "origin", not ${JSON.stringify(level)}`),
      );
    }
    if (reached()) return Promise.resolve();
    const p = this._wait(reached, timeoutMs, `write ${upto} reaching ${level}`).catch((e) => {
      const peers = this._w.peers.length;
      throw new CastamereError(
        `${e.message}; ${peers} live peer(s) in the region${this.origin ? "" : ", no origin configured"}. The write is applied locally and keeps travelling.`,
        "ETIMEDOUT",
      );
    });
    if (level === "region") this._w.pushAwaitingAck(Date.now());
    else this._w.flushOrigin(Date.now());
    this._drain();
    return p;
  }

  /**
   * Sets the timer for the replica's deadline `t`, which is earlier than the one armed. A later
   * deadline keeps the armed timer: it fires early, which `handleTimeout` allows, and the drain
   * after it arms the next deadline. (Moving the timer later at every write and push cost a
   * clearTimeout and a setTimeout each, a few microseconds per request.)
   */
  _arm(t) {
    if (this._suspended) return;
    clearTimeout(this._timer);
    this._armedAt = t;
    this._timer = setTimeout(this._onTimer, Math.max(0, t - Date.now()));
  }

  _drain() {
    const w = this._w;
    for (let p = w.pollTransmit(); p !== undefined; p = w.pollTransmit()) {
      switch (w.transmitTo) {
        case TO_REGION:
          this.transport.publish("sync", p);
          break;
        case TO_MEMBERSHIP:
          this.transport.publish("membership", p);
          break;
        case TO_PEER:
          this.transport.direct(w.transmitPeer, p);
          break;
        case TO_ORIGIN:
          this._toOrigin(p);
          break;
      }
    }
    const events = this._w.hasEvents ? this._w.pollEvents() : NO_EVENTS;
    for (const e of events) {
      if (e.type === "peerJoined" || e.type === "peerLeft")
        this._emit("peer", { peer: e.peer, joined: e.type === "peerJoined" });
      else if (e.type === "synced" && e.complete) this._emit("converged", e);
      else if (e.type === "acked") this._emit("acked", e);
    }
    if (this._waiters.length > 0) {
      for (const w of [...this._waiters]) {
        const hit = events.find((e) => w.match(e)) ?? (w.match({ type: "check" }) ? {} : undefined);
        if (hit !== undefined) {
          clearTimeout(w.timer);
          this._waiters = this._waiters.filter((x) => x !== w);
          w.resolve(
            hit.type === "synced" ? { peers: hit.peers, fromOrigin: hit.fromOrigin, complete: hit.complete } : hit,
          );
        }
      }
    }
    if (this._closed) return;
    const t = this._w.pollTimeout();
    if (t === undefined) {
      clearTimeout(this._timer);
      this._timer = null;
      this._armedAt = Infinity;
    } else if (t < this._armedAt) {
      this._arm(t);
    }
  }

  _toOrigin(payload) {
    if (!this.origin) return;
    const p = this.origin
      .send(payload)
      .then((res) => {
        if (this._closed) return;
        try {
          this._w.handleMessage(Date.now(), res);
        } catch (e) {
          this._emit("error", new CastamereError(`EPROTO bad response from the origin: ${e.message}`, "EPROTO"));
        }
        this._drain();
      })
      .catch((e) => this._failed(e, e.status))
      .finally(() => this._inflight.delete(p));
    this._inflight.add(p);
  }

  _onMessage(f) {
    if (this._closed) return;
    try {
      this._w.handleMessage(Date.now(), f.payload);
    } catch (e) {
      this._emit("error", new CastamereError(`EPROTO bad message from replica ${f.from}: ${e.message}`, "EPROTO"));
    }
    this._drain();
  }

  _onStatus(status, why, code) {
    if (status === "refused") {
      this._failed(new CastamereError(`ECONNREFUSED the relay refused the connection: ${why}`, "ECONNREFUSED"), code);
    } else if (status === "closed") {
      this._welcomed = false;
      this._connected.clear();
      if (this._opened && !this._suspended) this._needResync = true;
      // The relay keeps one connection per replica id: this one was replaced by another
      // connection under the same id (a replica's own reconnection uses a new transport, whose
      // old socket's close is not reported here), so two live replicas share an id.
      if (code === RELAY_REPLACED && !this._closed) {
        this._emit(
          "error",
          new CastamereError(
            `EREPLICAID another connection with this replica's id (${this.replicaId}) replaced it at the relay: two live replicas must never share an id (leave replicaId unset for a random one), or writes of one can be lost`,
            "EREPLICAID",
          ),
        );
      }
    }
    // "connection" on each change, not on each retry; not for a close or suspend of ours.
    if (status !== "open" && status !== "closed") return;
    const up = status === "open";
    if (!up) this._downReason = why;
    if (up !== this._up && !this._closed && !this._suspended) {
      this._up = up;
      this._emit("connection", up ? { connected: true } : { connected: false, reason: why });
    }
  }

  /** Reports `e`. While opening, a refusal that retrying cannot mend (an HTTP 4xx `status`: the
   * token, the request) also fails open(), whose caller has no listener yet. */
  _failed(e, status) {
    this._emit("error", e);
    if (status >= 400 && status < 500) this._refuseOpen?.(e);
  }

  /** Whether the relay connection is up, and if not, why it last went down. */
  get connection() {
    // A custom transport need not say whether it is open: then the last status it reported.
    const up = this.transport.open ?? this._up === true;
    return up ? { connected: true } : { connected: false, reason: this._downReason ?? "connecting" };
  }

  _onControl(m) {
    if (m?.type === "welcome") {
      this._connected = new Set(Array.isArray(m.peers) ? m.peers.map(String) : []);
      this._welcomed = true;
      const waiters = this._welcomeWaiters;
      this._welcomeWaiters = [];
      for (const w of waiters) w();
      // Opening with no other replica connected: no peer can answer, so the cold start asks
      // the origin now rather than after half its budget, or ends now without one.
      if (!this._opened && this._connected.size === 0 && !this._closed) {
        this._w.alone(Date.now());
        this._drain();
      }
      // Back after a disconnection with no session waiting: catch up with the region at once.
      if (waiters.length === 0 && this._needResync && this._opened && !this._closed && !this._suspended) {
        this._resync(this.options.config?.bootstrapBudgetMs ?? 300).catch(() => {});
      }
    } else if (m?.type === "join" && typeof m.peer === "string") {
      this._connected.add(m.peer);
    } else if (m?.type === "leave" && typeof m.peer === "string") {
      this._connected.delete(m.peer);
    }
  }
}

/**
 * Opens a replica of the region: connects to the relay, runs the compulsory anti-entropy
 * session (falling back to an origin snapshot when no peer answers within half the bootstrap
 * budget, or at once when the relay reports no other replica connected; without an origin, a
 * replica alone in its region ends the session at once), and resolves to the networked store.
 * It rejects at once with ECONNREFUSED or EORIGIN and the reason when the relay or the origin
 * refuses it with a 4xx (a malformed or expired token, or one for another tenant than the
 * origin serves); if it fails, it closes what it opened.
 *
 *   const db = await open({ relay: "ws://127.0.0.1:7400", token, region, origin })
 */
export async function open(options) {
  const db = new Db(options);
  try {
    db.synced = await db._open();
  } catch (e) {
    // The caller gets no store to close: do not leave its connection and timers behind.
    await db.close();
    throw e;
  }
  return db;
}
