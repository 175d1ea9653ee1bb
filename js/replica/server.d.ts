// Types of `castamere/replica` (Node): a long-lived regional replica.
import type { Db, OpenOptions } from "../index.js";

export interface ReplicaOptions extends OpenOptions {
  relay: string;
  token: string;
  /** Port of its HTTP report (/healthz, /metrics, /v1/snapshot): 7402; 0 picks one; null serves none. */
  port?: number | null;
  host?: string;
  log?: (line: string) => void;
}

export interface RegionalReplica {
  db: Db;
  url: string | null;
  port: number | null;
  /** Hands everything the origin lacks to the origin (when there is one), then leaves the region. */
  close(): Promise<void>;
}

/** Starts a replica of the region that never sleeps (see `castamere replica`). */
export declare function startReplica(options: ReplicaOptions): Promise<RegionalReplica>;
