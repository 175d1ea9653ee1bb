// The public API shared by every runtime: Store, CastamereError, replica ids. Runtime
// entries (node.mjs, workerd.mjs, browser.mjs) initialise the wasm module before importing it.
import { Store as WasmStore, wasmMemory } from "../pkg/web/castamere.mjs";

/** An error from castamere; `.code` is the Redis-style code (`ERR`, `WRONGTYPE`, `EPROTO`, ...). */
export class CastamereError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "CastamereError";
    this.code = code ?? String(message).split(" ", 1)[0];
  }
}

/** Throws unless `args` is an array of command words (a string would be read letter by letter). */
export function checkWords(args) {
  if (!Array.isArray(args)) {
    throw new CastamereError(
      `ERR exec() takes the command as an array of words, e.g. ["GET", "key"], not ${typeof args === "string" ? `the string ${JSON.stringify(args.slice(0, 40))}` : typeof args}`,
    );
  }
}

/** Rethrows an error from the wasm module as a CastamereError (same message and code). */
export function rethrow(e) {
  if (e instanceof Error && e.name === "CastamereError" && !(e instanceof CastamereError)) {
    throw new CastamereError(e.message, e.code);
  }
  throw e;
}

// Where random replica ids come from: the runtime's crypto.getRandomValues, unless the runtime
// entry installs a source that is cheaper at a cold start (js/node.mjs does).
let fillRandom = (words) => crypto.getRandomValues(words);

/** Replaces the source of random replica ids: `fill(words)` fills a Uint32Array. */
export function setRandomSource(fill) {
  fillRandom = fill;
}

/** A random 64-bit replica id (never 0). Every process start must use a new one. */
export function randomReplicaId() {
  const w = new Uint32Array(2);
  fillRandom(w);
  const id = (BigInt(w[0]) << 32n) | BigInt(w[1]);
  return id === 0n ? 1n : id;
}

function toBigId(id) {
  if (id === undefined || id === null) return randomReplicaId();
  let big;
  if (typeof id === "bigint") big = id;
  else if (typeof id === "number" && Number.isSafeInteger(id) && id >= 0) big = BigInt(id);
  else if (typeof id === "string" && /^\d+$/.test(id)) big = BigInt(id);
  if (big !== undefined && big >= 0n && big < 2n ** 64n) return big;
  throw new CastamereError("ERR replicaId must be an integer from 0 to 2^64 - 1 (number, bigint or decimal string)");
}

/** A replica id as the wasm constructors take it: its high and low 32 bits. */
export function idHalves(id) {
  const big = toBigId(id);
  return [Number(big >> 32n), Number(big & 0xffffffffn)];
}

const flat = (xs) => (xs.length === 1 && Array.isArray(xs[0]) ? xs[0] : xs);

// The scratch path of typed writes: the words go straight into a buffer in wasm memory (no
// allocation, no string conversion) and the reply comes back as a number.
const SCRATCH_BYTES = 4096;
const NONE = 0xffffffff;
const OP = { SET: 0, SADD: 1, SREM: 2, HSET: 3, HINCRBY: 4 };
// Typed writes that may share one reading of the wall clock after the one that read it.
const NOW_REUSE = 15;
// Keys interned per store, and the longest (as the wasm module's MAX_INTERNED and
// MAX_INTERNED_KEY): the handles stay for the store's life, so their number is bounded.
const MAX_HANDLES = 16384;
const MAX_HANDLE_KEY = 64;
let memory;

/** Writes the ASCII string `s` into `view` at `at`: the end, or -1 (not ASCII, or no room). */
function put(view, at, s) {
  const end = at + s.length;
  if (end > view.length) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    view[at + i] = c;
  }
  return end;
}

/**
 * The Redis-like command methods, shared by `Store` (local) and the networked store from
 * `open()`; each maps onto `exec([...])`.
 */
export class Commands {
  constructor() {
    // Hot keys are interned in the wasm module: a handle crosses the boundary, not a string.
    this._handles = new Map();
    this._seen = new Set(); // keys written once, not interned yet
    this._nowAt = 0;
    this._nowLeft = 0;
    this._nowQueued = false;
    this._nowExpire = () => {
      this._nowLeft = 0;
      this._nowQueued = false;
    };
  }
  /**
   * The wall clock for a typed write. Reading it costs more than the rest of a hot write's
   * JavaScript, so one reading serves up to NOW_REUSE writes made in the same synchronous run
   * (a microtask ends the run); the hybrid logical clock orders writes that share a reading.
   */
  _now() {
    if (this._nowLeft > 0) {
      this._nowLeft--;
      return this._nowAt;
    }
    this._nowAt = Date.now();
    this._nowLeft = NOW_REUSE;
    if (!this._nowQueued) {
      this._nowQueued = true;
      queueMicrotask(this._nowExpire);
    }
    return this._nowAt;
  }
  ping(message) {
    return this.exec(message === undefined ? ["PING"] : ["PING", message]);
  }
  /** The scratch buffer's view, made again when wasm memory grew (the old one is detached). */
  _view() {
    let v = this._sv;
    if (v === undefined || v.byteLength === 0) {
      memory ??= wasmMemory();
      v = this._sv = new Uint8Array(memory.buffer, this._w.scratchPtr(), SCRATCH_BYTES);
    }
    return v;
  }

  /**
   * Typed write `op` of two or three string words through the scratch buffer: its reply as a
   * number, or undefined when the words do not fit (the caller takes the general path).
   */
  _scratch(op, a, b, c) {
    const v = this._view();
    const e1 = put(v, 0, a);
    const e2 = e1 < 0 ? -1 : put(v, e1, b);
    const e3 = c === undefined || e2 < 0 ? e2 : put(v, e2, c);
    if (e3 < 0) return undefined;
    const r = this._checked(this._w.execScratch(this._now(), op, e1, e2 - e1, c === undefined ? NONE : e3 - e2));
    this._written?.();
    return r;
  }

  /**
   * The handle of `key` in the wasm module, interning it on its second write: -1 when it is not
   * interned (written once so far, too long, or the store interned as many keys as it may;
   * those keys pass as bytes). A key written once (a session, an id) takes no handle, so the
   * handles go to the keys that are written again: the hot ones.
   */
  _handle(key) {
    const h = this._handles.get(key);
    if (h !== undefined) return h;
    if (key.length > MAX_HANDLE_KEY || this._handles.size >= MAX_HANDLES) return -1;
    const seen = this._seen;
    if (!seen.has(key)) {
      if (seen.size >= MAX_HANDLES) seen.clear();
      seen.add(key);
      return -1;
    }
    seen.delete(key);
    const made = this._w.intern(key);
    if (made >= 0) this._handles.set(key, made);
    return made;
  }

  /**
   * Typed write `op` (SET, SADD or HSET) on the key of handle `h`, its one or two string words
   * through the scratch buffer: its reply as a number, or undefined when the words do not fit.
   */
  _byHandle(op, h, a, b) {
    const v = this._view();
    const e1 = put(v, 0, a);
    const e2 = b === undefined || e1 < 0 ? e1 : put(v, e1, b);
    if (e2 < 0) return undefined;
    const r = this._checked(this._w.execHandle(this._now(), op, h, e1, b === undefined ? NONE : e2 - e1));
    this._written?.();
    return r;
  }

  /**
   * A number from a hot path of the wasm module, which answers NaN for a failure (thrown here,
   * nothing changed) or for a value beyond ±2^53 (returned: the caller reads it exactly).
   */
  _checked(v) {
    if (Number.isNaN(v)) {
      const e = this._w.takeError();
      if (e !== undefined) rethrow(e);
    }
    return v;
  }

  /** A command of 2-4 string words, without building an array in wasm (the typed methods). */
  _exec3(a, b, c, d) {
    if (
      typeof b !== "string" ||
      (c !== undefined && typeof c !== "string") ||
      (d !== undefined && typeof d !== "string")
    ) {
      return this.exec(d !== undefined ? [a, b, c, d] : c !== undefined ? [a, b, c] : [a, b]);
    }
    let r;
    try {
      r = this._w.exec3(this._now(), a, b, c, d);
    } catch (e) {
      rethrow(e);
    }
    this._written?.();
    return r;
  }
  get(key) {
    return this._exec3("GET", key);
  }
  getall(key) {
    return this.exec(["GETALL", key]);
  }
  set(key, value) {
    if (typeof key === "string" && typeof value === "string") {
      const h = this._handle(key);
      const r = h >= 0 ? this._byHandle(OP.SET, h, value) : this._scratch(OP.SET, key, value);
      if (r !== undefined) return "OK";
    }
    return this._exec3("SET", key, value);
  }
  mget(...keys) {
    return this.exec(["MGET", ...flat(keys)]);
  }
  /** `mset({ a: "1", b: "2" })` or `mset("a", "1", "b", "2")`. */
  mset(...pairs) {
    const words = pairs.length === 1 && typeof pairs[0] === "object" ? Object.entries(pairs[0]).flat() : pairs;
    return this.exec(["MSET", ...words]);
  }
  incr(key) {
    return this.incrBy(key, 1);
  }
  decr(key) {
    return this.incrBy(key, -1);
  }
  decrBy(key, n) {
    return this.incrBy(key, -n);
  }
  incrBy(key, n) {
    if (typeof key === "string" && typeof n === "number") {
      const h = this._handle(key);
      if (h >= 0) {
        const v = this._checked(this._incrByHandle(h, n));
        this._written?.();
        return Number.isNaN(v) ? this.get(key) : v;
      }
      let v;
      try {
        v = this._incrByKey(key, n);
      } catch (e) {
        rethrow(e);
      }
      this._written?.();
      return Number.isNaN(v) ? this.get(key) : v;
    }
    return this.exec(["INCRBY", key, n]);
  }
  sadd(key, ...members) {
    if (members.length === 1 && typeof members[0] === "string" && typeof key === "string") {
      const h = this._handle(key);
      const r = h >= 0 ? this._byHandle(OP.SADD, h, members[0]) : this._scratch(OP.SADD, key, members[0]);
      return r ?? this._exec3("SADD", key, members[0]);
    }
    return this.exec(["SADD", key, ...flat(members)]);
  }
  srem(key, ...members) {
    if (members.length === 1 && typeof members[0] === "string" && typeof key === "string") {
      return this._scratch(OP.SREM, key, members[0]) ?? this._exec3("SREM", key, members[0]);
    }
    return this.exec(["SREM", key, ...flat(members)]);
  }
  smembers(key) {
    return this._exec3("SMEMBERS", key);
  }
  sismember(key, member) {
    return this.exec(["SISMEMBER", key, member]) === 1;
  }
  scard(key) {
    return this.exec(["SCARD", key]);
  }
  /** `hset(key, field, value)` or `hset(key, { field: value, ... })`; returns new fields. */
  hset(key, field, value) {
    if (typeof key === "string" && typeof field === "string" && typeof value === "string") {
      const h = this._handle(key);
      const r = h >= 0 ? this._byHandle(OP.HSET, h, field, value) : this._scratch(OP.HSET, key, field, value);
      return r ?? this._exec3("HSET", key, field, value);
    }
    if (value === undefined && (typeof field !== "object" || field === null)) {
      throw new CastamereError("ERR hset() takes a key, a field and its value, or a key and { field: value, ... }");
    }
    const words = typeof field === "object" && field !== null ? Object.entries(field).flat() : [field, value];
    return this.exec(["HSET", key, ...words]);
  }
  hget(key, field) {
    return this._exec3("HGET", key, field);
  }
  hmget(key, ...fields) {
    return this.exec(["HMGET", key, ...flat(fields)]);
  }
  hgetall(key) {
    return this._exec3("HGETALL", key);
  }
  hlen(key) {
    return this.exec(["HLEN", key]);
  }
  hdel(key, ...fields) {
    return this.exec(["HDEL", key, ...flat(fields)]);
  }
  hincrby(key, field, n) {
    if (typeof key === "string" && typeof field === "string" && Number.isSafeInteger(n)) {
      const r = this._scratch(OP.HINCRBY, key, field, String(n));
      // NaN: the value is beyond ±2^53; read it exactly.
      if (r !== undefined) return Number.isNaN(r) ? this.hget(key, field) : r;
    }
    return this._exec3("HINCRBY", key, field, String(n));
  }
  /** Enables a flag; `rule` ("ENABLEWINS" or "DISABLEWINS") applies when the flag is created. */
  flagEnable(key, rule) {
    return this.exec(rule ? ["FLAG.ENABLE", key, rule] : ["FLAG.ENABLE", key]);
  }
  flagDisable(key, rule) {
    return this.exec(rule ? ["FLAG.DISABLE", key, rule] : ["FLAG.DISABLE", key]);
  }
  flagGet(key) {
    return this.exec(["FLAG.GET", key]) === 1;
  }
  del(...keys) {
    return this.exec(["DEL", ...flat(keys)]);
  }
  exists(...keys) {
    return this.exec(["EXISTS", ...flat(keys)]);
  }
  type(key) {
    return this.exec(["TYPE", key]);
  }
  dbsize() {
    return this.exec(["DBSIZE"]);
  }
  /** One SCAN step: `{ cursor, keys }`; start with cursor "0", stop when it is "0" again. */
  scan(cursor = "0", { match, count } = {}) {
    const words = ["SCAN", cursor];
    if (match !== undefined) words.push("MATCH", match);
    if (count !== undefined) words.push("COUNT", count);
    const [next, keys] = this.exec(words);
    return { cursor: next, keys };
  }
  /** Every key (matching `match`), by SCAN. */
  *keys(match) {
    let cursor = "0";
    do {
      const r = this.scan(cursor, { match, count: 100 });
      yield* r.keys;
      cursor = r.cursor;
    } while (cursor !== "0");
  }
}

/**
 * A replica's keyspace, implemented in Rust. Commands follow Redis: `exec(["INCRBY", "views", 5])`.
 * Replies: integers as numbers (BigInt beyond ±2^53), strings as strings (Uint8Array if the
 * bytes are not UTF-8), nil as null, arrays as arrays, HGETALL as a plain object.
 */
export class Store extends Commands {
  constructor(options = {}) {
    super();
    this._w = new WasmStore(...idHalves(options.replicaId), options.maxKeyBytes, options.maxValueBytes);
  }

  /** Runs one Redis-like command given as its words. */
  exec(args) {
    checkWords(args);
    try {
      return this._w.exec(args, Date.now());
    } catch (e) {
      rethrow(e);
    }
  }

  _incrByHandle(h, n) {
    return this._w.incrByHandle(h, n);
  }

  _incrByKey(key, n) {
    return this._w.incrBy(key, n);
  }

  /** The replica id, as a decimal string. */
  get replicaId() {
    return this._w.replicaId;
  }
  /** The sequence number of this replica's latest write. */
  get lastWrite() {
    return this._w.lastWrite;
  }
  /** Number of keys. */
  get size() {
    return this._w.size;
  }

  /** The outgoing deltas (every local write since the last call), encoded; undefined if none. */
  takeDeltas() {
    return this._w.takeDeltas();
  }
  /** Joins remote deltas or a snapshot; invalid bytes throw EPROTO and change nothing. */
  applyDeltas(bytes) {
    if (!(bytes instanceof Uint8Array)) {
      throw new CastamereError("ERR applyDeltas() takes the Uint8Array that takeDeltas() returned");
    }
    try {
      this._w.applyDeltas(bytes);
    } catch (e) {
      rethrow(e);
    }
  }
  /** The whole state, encoded. */
  snapshot() {
    return this._w.snapshot();
  }

  /**
   * Gives the store's wasm memory back now, rather than whenever the garbage collector gets to
   * it (wasm memory never shrinks, but freed memory is reused by the next store). Every later
   * call throws ECLOSED; a second free() does nothing.
   */
  free() {
    if (this._w === FREED) return;
    const w = this._w;
    this._w = FREED;
    this._sv = undefined;
    this._handles.clear();
    this._seen.clear();
    w.free();
  }
}
if (Symbol.dispose) Store.prototype[Symbol.dispose] = Store.prototype.free;

/** What a freed Store calls into: every use throws. */
const FREED = new Proxy(
  {},
  {
    get() {
      throw new CastamereError("ECLOSED this Store was freed; make a new one", "ECLOSED");
    },
  },
);
