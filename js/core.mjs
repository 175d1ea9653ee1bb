// The public API shared by every runtime: the Store class and the CastamereError.
// Runtime entries (node.mjs, workerd.mjs, browser.mjs) initialise the wasm module first.
import { Store as WasmStore } from "../pkg/web/castamere.js";

/** An error thrown by a command; `.code` is the Redis-style code (`ERR`, `WRONGTYPE`, ...). */
export class CastamereError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "CastamereError";
    this.code = code ?? String(message).split(" ", 1)[0];
  }
}

function rethrow(e) {
  if (e instanceof Error) throw new CastamereError(e.message);
  throw e;
}

/** A replica's keyspace, implemented in Rust. */
export class Store {
  constructor() {
    this._w = new WasmStore();
  }

  /** Runs one Redis-like command, e.g. `exec(["PING"])`. */
  exec(args) {
    try {
      return this._w.exec(args);
    } catch (e) {
      rethrow(e);
    }
  }
}
