/** An error thrown by a command; `code` is the Redis-style code (`ERR`, `WRONGTYPE`, ...). */
export declare class CastamereError extends Error {
  readonly code: string;
}

/** A replica's keyspace, implemented in Rust. */
export declare class Store {
  constructor();
  /** Runs one Redis-like command, e.g. `exec(["PING"])` → `"PONG"`. */
  exec(args: string[]): unknown;
}
