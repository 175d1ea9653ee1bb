// Types of `castamere/node-http`: a plain Node http server for long-running processes.
import type { Server } from "node:http";
import type { App, Db, OpenOptions } from "../index.js";

export interface NodeServerOptions extends OpenOptions {
  /** An already open store instead of the `open()` options. */
  db?: Db;
  /** Largest request body (1 MiB); a larger one is answered 413. */
  maxBodyBytes?: number;
  /** How long `close()` waits for the store's writes to be handed on (5000 ms). */
  closeBudgetMs?: number;
}

export interface CastamereServer extends Omit<Server, "close"> {
  /** Resolves to the store once it is open. */
  ready: Promise<Db>;
  /**
   * Stops the server, hands the store's writes on (to the origin when the store has one, else
   * to a live peer) within `closeBudgetMs`, and closes the store. Call it on SIGTERM.
   */
  close(callback?: (err?: Error) => void): Promise<void>;
}

export declare function createServer(app: App, options?: NodeServerOptions): CastamereServer;
