// Types of `castamere/node-http`: a plain Node http server for long-running processes.
import type { Server } from "node:http";
import type { App, Db, OpenOptions } from "../index.js";

export interface NodeServerOptions extends OpenOptions {
  /** An already open store instead of the `open()` options. */
  db?: Db;
  /** Largest request body (1 MiB); a larger one is answered 413. */
  maxBodyBytes?: number;
}

export interface CastamereServer extends Omit<Server, "close"> {
  /** Resolves to the store once it is open. */
  ready: Promise<Db>;
  /** Stops the server and closes the store. */
  close(callback?: (err?: Error) => void): Promise<void>;
}

export declare function createServer(app: App, options?: NodeServerOptions): CastamereServer;
