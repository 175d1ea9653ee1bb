// Types of `castamere/origin` (Node): the origin, durable home of every edge write.

export interface OriginChange {
  /** The batch id. */
  id: string;
  /** The replica that took the writes. */
  source: string;
  /** The merged value of every key the batch touched. */
  changes: { key: string; type: string; value: unknown }[];
}

export interface OriginOptions {
  /** Port to listen on (7401; 0 picks a free one). */
  port?: number;
  host?: string;
  /** SQLite database path (required). */
  db: string;
  /** The secret tokens are checked with (required). */
  secret: string;
  /** Whose tokens it accepts ("default"). */
  tenant?: string;
  /** Largest request body (32 MiB). */
  maxBodyBytes?: number;
  /** Called after each batch commits, with the merged values it changed. */
  onBatch?: (change: OriginChange) => void;
  /** A simulated network round trip added to every request (0). */
  delayMs?: number;
  shutdownGraceMs?: number;
  log?: (line: string) => void;
}

export interface OriginServer {
  url: string;
  port: number;
  path: string;
  stats: Record<string, unknown>;
  close(): Promise<void>;
}

/**
 * Starts an origin: `POST /v1/batches`, `GET /v1/snapshot`, `GET /v1/keys/:key`,
 * `GET /v1/changes` (server-sent events), `GET /v1/marks`, `/healthz`, `/metrics`.
 */
export declare function startOrigin(options: OriginOptions): Promise<OriginServer>;
