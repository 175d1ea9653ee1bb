// Types of the main entry, `import { ... } from "castamere"` (Node, workerd, browsers).

/** An error from castamere; `code` is the Redis-style code (`ERR`, `WRONGTYPE`, `EPROTO`, `ETIMEDOUT`, ...). */
export declare class CastamereError extends Error {
  constructor(message: string, code?: string);
  readonly code: string;
}

/** A replica id: a non-negative 64-bit integer. Every process start must use a new one. */
export type ReplicaIdInput = number | bigint | string;

/**
 * A command reply: integers as numbers (bigint beyond ±2^53), strings as strings (Uint8Array
 * when the bytes are not UTF-8), nil as null, arrays as arrays, HGETALL as a plain object.
 */
export type Reply = null | number | bigint | string | Uint8Array | Reply[] | { [field: string]: Reply };

/** A command word. Numbers are sent as their decimal text. */
export type Word = string | number | bigint | Uint8Array;

/** The Redis-like commands shared by `Store` and the networked `Db`. */
declare abstract class Commands {
  /** Runs one command given as its words, e.g. `exec(["INCRBY", "views", 5])`. */
  exec(args: Word[]): Reply;
  ping(message?: string): string;
  /** A string's value, or a counter's value (`GET` on a counter). */
  get(key: string): string | number | bigint | Uint8Array | null;
  /** Every concurrent value of a string (the multi-value view). */
  getall(key: string): (string | Uint8Array)[];
  set(key: string, value: string): "OK";
  mget(...keys: string[] | [string[]]): (string | number | bigint | Uint8Array | null)[];
  /** `mset({ a: "1", b: "2" })` or `mset("a", "1", "b", "2")`. */
  mset(...pairs: string[] | [Record<string, string>]): "OK";
  incr(key: string): number | bigint;
  decr(key: string): number | bigint;
  incrBy(key: string, n: number | bigint): number | bigint;
  decrBy(key: string, n: number): number | bigint;
  sadd(key: string, ...members: string[] | [string[]]): number;
  srem(key: string, ...members: string[] | [string[]]): number;
  smembers(key: string): string[];
  sismember(key: string, member: string): boolean;
  scard(key: string): number;
  /** `hset(key, field, value)` or `hset(key, { field: value })`; returns the number of new fields. */
  hset(key: string, field: string, value: string): number;
  hset(key: string, fields: Record<string, string>): number;
  hget(key: string, field: string): string | number | bigint | null;
  hmget(key: string, ...fields: string[] | [string[]]): (string | number | bigint | null)[];
  hgetall(key: string): Record<string, string | number | bigint>;
  hlen(key: string): number;
  hdel(key: string, ...fields: string[] | [string[]]): number;
  hincrby(key: string, field: string, n: number): number | bigint;
  /** Enables a flag; `rule` applies when the flag is created (default: enable wins). */
  flagEnable(key: string, rule?: "ENABLEWINS" | "DISABLEWINS"): "OK";
  flagDisable(key: string, rule?: "ENABLEWINS" | "DISABLEWINS"): "OK";
  flagGet(key: string): boolean;
  /** Observed-remove: a concurrent write elsewhere survives it. */
  del(...keys: string[] | [string[]]): number;
  exists(...keys: string[] | [string[]]): number;
  type(key: string): "none" | "string" | "counter" | "set" | "hash" | "flag";
  dbsize(): number;
  /** One SCAN step; start with cursor "0", stop when it is "0" again. */
  scan(cursor?: string, options?: { match?: string; count?: number }): { cursor: string; keys: string[] };
  /** Every key (matching a glob pattern), by SCAN. */
  keys(match?: string): Generator<string, void, void>;
}

/** A replica's keyspace in this process, implemented in Rust; no network. */
export declare class Store extends Commands {
  constructor(options?: { replicaId?: ReplicaIdInput; maxKeyBytes?: number; maxValueBytes?: number });
  /** The replica id, as a decimal string. */
  readonly replicaId: string;
  /** The sequence number of this replica's latest write. */
  readonly lastWrite: number;
  /** Number of keys. */
  readonly size: number;
  /** The outgoing deltas (every local write since the last call), encoded; undefined if none. */
  takeDeltas(): Uint8Array | undefined;
  /** Joins remote deltas or a snapshot; invalid bytes throw EPROTO and change nothing. */
  applyDeltas(bytes: Uint8Array): void;
  /** The whole state, encoded. */
  snapshot(): Uint8Array;
  /**
   * Gives the store's wasm memory back now, rather than at garbage collection. Every later
   * call throws ECLOSED; a second `free()` does nothing. Where the runtime has
   * `Symbol.dispose`, it is also the store's dispose method (for `using`).
   */
  free(): void;
}

/** Tuning of a replica (milliseconds of the caller's clock). Every field is optional. */
export interface ReplicaConfig {
  /** Local writes are joined for this long, then sealed into one delta-group and broadcast (5). */
  deltaIntervalMs?: number;
  /** How long acknowledgements may wait to share one message (25); a waiting writer is answered at once. */
  ackDelayMs?: number;
  /** Period of membership heartbeats (1000). */
  heartbeatMs?: number;
  /** A replica not heard of for this long is gone (5000). */
  leaseMs?: number;
  /** An unacknowledged delta-group is sent again after this long (250). */
  retransmitMs?: number;
  /** A peer seen ahead for this long is asked for what it has (2500). */
  repairGraceMs?: number;
  /** Period of origin batches (1000). */
  originIntervalMs?: number;
  /** A batch is cut early at this many bytes (262144). */
  originMaxBatchBytes?: number;
  /** First retry delay of an unacknowledged batch (250). */
  originRetryMs?: number;
  /** Budget of the compulsory anti-entropy session at start (300). */
  bootstrapBudgetMs?: number;
  /** A handoff no peer acknowledged within this long also goes to the origin (50). */
  handoffOriginAfterMs?: number;
  /** Period of the origin marks check (30000). */
  originCheckMs?: number;
  /** Bytes of own delta-groups kept for retransmission (4 MiB). */
  outboxMaxBytes?: number;
  /**
   * Bytes of peers' delta-groups held until the origin has them, to ship a departed writer's
   * writes and to serve peers' catch-up (16 MiB); past it, the largest writer's oldest groups
   * go and those writes travel inside a full state instead.
   */
  heldMaxBytes?: number;
  /** Seed of retry jitter. */
  seed?: number;
  maxKeyBytes?: number;
  maxValueBytes?: number;
}

/** What a custom transport is given (see `RelayTransport` for the interface it implements). */
export interface TransportHandlers {
  replicaId: string;
  onMessage(frame: { from: string; payload: Uint8Array }): void;
  onStatus(status: "open" | "closed" | "refused", detail?: string): void;
  /** The relay's control messages: `{ type: "welcome", peers }`, `{ type: "join" | "leave", peer }`. */
  onControl(message: { type: string; peer?: string; peers?: string[] }): void;
}

/** The interface between a replica and its region (the relay, or another broker). */
export interface Transport {
  connect(): void | Promise<void>;
  publish(topic: "sync" | "membership", payload: Uint8Array): void;
  direct(peer: string, payload: Uint8Array): void;
  close(): void;
  readonly open: boolean;
}

export interface OpenOptions {
  /** The regional relay, `ws://host:port` or `wss://...`. */
  relay?: string;
  /** A relay token for this tenant and region (`castamere token`); also the origin's unless `originToken`. */
  token?: string;
  /** Region name, for tokens valid in every region (`--region '*'`). */
  region?: string;
  /** The origin's base URL; without it, writes stay in the region. */
  origin?: string;
  originToken?: string;
  /** A fixed replica id (default: a random one; never reuse one across process starts). */
  replicaId?: ReplicaIdInput;
  config?: ReplicaConfig;
  /**
   * A WebSocket constructor (default: on Node, the `ws` package, bundled in `dist/esm/ws.mjs`,
   * which shows why the relay refused a connection; in workerd, an upgrade through `fetch()`,
   * for the same reason; elsewhere the global one).
   */
  WebSocket?: unknown;
  /**
   * A fetch implementation for the origin (default: on Node, one over `node:http` and
   * `node:https`, since a process's first `fetch()` sets up undici; elsewhere the global one).
   * It is called as `(url, { method, headers, body })` and must give `ok`, `status`, `text()`
   * and `arrayBuffer()`.
   */
  fetch?: typeof fetch;
  /** A custom transport in place of the relay client. */
  transport?: (handlers: TransportHandlers) => Transport;
}

export interface SyncResult {
  /** Peers that answered. */
  peers: number;
  /** Whether an origin snapshot was loaded. */
  fromOrigin: boolean;
  /** `false` when the budget ran out first. */
  complete: boolean;
}

export interface FlushResult {
  /** Whether every write so far reached the level asked for. */
  acked: boolean;
  /** How far they all got. */
  level: "local" | "region" | "origin";
  /** The last write covered (see `lastWrite`). */
  upto: number;
}

export type WriteConcern = "local" | "region" | "origin";

/** A replica connected to its region through the relay, and to the origin if given. */
export declare class Db extends Commands {
  constructor(options: OpenOptions);
  /** The result of the session run by `open()`. */
  synced: SyncResult;
  /** Runs a command; with `{ ack: "region" | "origin" }` resolves once the write reached that level. */
  exec(args: Word[]): Reply;
  exec(args: Word[], options: { ack?: "local" }): Reply;
  exec(args: Word[], options: { ack: "region" | "origin"; timeoutMs?: number }): Promise<Reply>;
  readonly replicaId: string;
  readonly lastWrite: number;
  /** The highest own write held by a live peer. */
  readonly regionAcked: number;
  /** The highest own write durable at the origin. */
  readonly originAcked: number;
  /** Live peers (replica ids). */
  readonly peers: string[];
  readonly size: number;
  readonly stats: {
    peerMessages: number;
    peerBytes: number;
    originMessages: number;
    originBytes: number;
    groups: number;
    /** Bytes of peers' delta-groups held until the origin has them. */
    heldBytes: number;
    /** Peers' delta-groups dropped from those held, over `heldMaxBytes`. */
    heldDropped: number;
  };
  /** The compulsory anti-entropy session: catches up with the region within `budgetMs` (300). */
  sync(options?: { budgetMs?: number }): Promise<SyncResult>;
  /** Handoff: resolves once every write so far is held by a peer (`region`) or durable (`origin`). */
  flush(options?: { to?: "region" | "origin"; budgetMs?: number }): Promise<FlushResult>;
  /** Seals pending writes and sends them to the region now (peers acknowledge them within `ackDelayMs`, as any others). */
  push(): void;
  /** Before a long-lived replica stops: ships everything the origin lacks (its own and departed writers' writes); with no origin, hands its writes to a live peer. */
  retire(options?: { budgetMs?: number }): Promise<{ done: boolean }>;
  /** Resolves when no request to the origin is in flight (for `waitUntil`). */
  idle(): Promise<void>;
  /** Stops timers and closes the connection, keeping the state (between Worker requests). */
  suspend(): void;
  /** Reconnects after `suspend()`; the next `sync()` asks a connected peer for what was missed. */
  resume(): void;
  /** Leaves the region and closes the connection, waiting for its close handshake (at most 1 s). */
  close(): Promise<void>;
  on(event: "peer", listener: (e: { peer: string; joined: boolean }) => void): this;
  on(event: "converged", listener: (e: SyncResult) => void): this;
  on(event: "acked", listener: (e: { level: "region" | "origin"; upto: number }) => void): this;
  /**
   * Errors the store meets on its own (a bad message, an unreachable origin). Those from before
   * the first listener, the last 8, go to it just after `on()` returns: `open()` can meet one
   * before it returns the store.
   */
  on(event: "error", listener: (e: Error) => void): this;
  /**
   * The relay connection came up or went down (once per change, not per retry; the store
   * keeps reconnecting, and writes stay local meanwhile). Not for `close()` or `suspend()`.
   */
  on(event: "connection", listener: (e: { connected: boolean; reason?: string }) => void): this;
  /** Whether the relay connection is up now, and if not, why it last went down. */
  readonly connection: { connected: boolean; reason?: string };
  off(event: string, listener: (...args: never[]) => void): this;
}

/**
 * Opens a replica of the region: connects to the relay, runs the compulsory anti-entropy
 * session (an origin snapshot when no peer answers within half the bootstrap budget, or at
 * once when the relay reports no other replica connected; without an origin, a replica alone
 * in its region ends the session at once), and resolves to the networked store. It rejects
 * at once with ECONNREFUSED or EORIGIN and the reason when the relay or the origin refuses it
 * with a 4xx (a malformed or expired token, or one for another tenant than the origin
 * serves); if it fails, it closes what it opened.
 */
export declare function open(options: OpenOptions): Promise<Db>;

/** A reconnecting WebSocket client of the castamere relay (jittered backoff, bounded backlog). */
export declare class RelayTransport implements Transport {
  constructor(options: {
    url: string;
    token: string;
    replicaId: string;
    region?: string;
    WebSocket?: unknown;
    minBackoffMs?: number;
    maxBackoffMs?: number;
    onMessage?: TransportHandlers["onMessage"];
    onStatus?: TransportHandlers["onStatus"];
    onControl?: TransportHandlers["onControl"];
  });
  readonly open: boolean;
  /** Frames dropped from the backlog while disconnected (the sync protocol resends them). */
  readonly dropped: number;
  connect(): Promise<void>;
  publish(topic: "sync" | "membership", payload: Uint8Array): void;
  direct(peer: string, payload: Uint8Array): void;
  /**
   * Stops for good; resolves once the socket is closed (at most `waitMs`, 1000, for the relay's
   * answer). A second call returns the same promise and does not touch the socket.
   */
  close(waitMs?: number): Promise<void>;
}

/** The HTTP client of the origin used by `Db`. */
export declare class OriginClient {
  constructor(base: string, token: string, fetchImpl?: typeof fetch);
  send(payload: Uint8Array): Promise<Uint8Array>;
}

/**
 * A random 64-bit replica id (never 0): on Node read from `/dev/urandom` where it can be,
 * elsewhere (and as the fallback) from `crypto.getRandomValues`.
 */
export declare function randomReplicaId(): bigint;

// ---------------------------------------------------------------- application logic

/** A request as the adapters hand it to the application. */
export interface AppRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
  clientIp?: string;
}

/** What a handler returns; an object body is sent as JSON. */
export interface AppResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array | object;
}

/** The verified claims of a bearer JWT, with `roles` from the `roles` or `role` claim. */
export interface Principal {
  roles: string[];
  sub?: string;
  [claim: string]: unknown;
}

export interface HandlerContext {
  request: AppRequest;
  params: Record<string, string>;
  principal: Principal | null;
  /** The parsed JSON body when the content type is JSON, else the text. */
  body: unknown;
  db: Db;
}

export interface Route {
  /** No authentication needed (a token, if sent, must still be valid). */
  public?: boolean;
  /** A role the principal must hold (403 without it). */
  role?: string;
  handler(ctx: HandlerContext): AppResponse | undefined | Promise<AppResponse | undefined>;
}

export interface App {
  /** Matches and authenticates without touching the store. */
  prepare(
    request: AppRequest,
  ): Promise<
    | { response: AppResponse }
    | { response?: undefined; route: Route; params: Record<string, string>; principal: Principal | null }
  >;
  run(prepared: object, request: AppRequest, db: Db): Promise<AppResponse>;
  handle(request: AppRequest, db: Db): Promise<AppResponse>;
}

/** Routes ("METHOD /path/:param") and authentication; a 401 or 403 never touches the store. */
export declare function defineApp(app: {
  authenticate?: (request: AppRequest) => Promise<Principal>;
  routes: Record<string, Route | Route["handler"]>;
}): App;

/** Bearer JWT verification with WebCrypto: HS256 with `secret`, ES256 with `publicKey`. */
export declare function jwtAuth(options: {
  secret?: string;
  publicKey?: JsonWebKey | CryptoKey;
  issuer?: string;
  audience?: string;
  leewaySeconds?: number;
}): (request: AppRequest) => Promise<Principal>;

/** Why a request was not authenticated (answered 401). */
export declare class AuthError extends Error {}

/** Signs an HS256 JWT (tests, tools, examples). */
export declare function signJwt(claims: object, secret: string): Promise<string>;
/** Signs an ES256 JWT with a private CryptoKey. */
export declare function signJwtEs256(claims: object, privateKey: CryptoKey): Promise<string>;

/** Bytes of wasm linear memory in use (Node entry only). */
export declare function wasmMemoryBytes(): number;
