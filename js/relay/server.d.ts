// Types of `castamere/relay` (Node): the regional relay.

export interface RelayOptions {
  /** Port to listen on (7400; 0 picks a free one). */
  port?: number;
  /** Interface to listen on (127.0.0.1). */
  host?: string;
  /** The secret tokens are checked with (required). */
  secret: string;
  /** Largest frame accepted (1 MiB); a larger one closes the connection with a reason. */
  maxFrameBytes?: number;
  /** Sustained messages per second per connection (5000), with one second of burst. */
  maxMessagesPerSecond?: number;
  /** A consumer this far behind is disconnected (8 MiB). */
  maxBufferedBytes?: number;
  shutdownGraceMs?: number;
  pingMs?: number;
  log?: (line: string) => void;
}

export interface Relay {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts a relay: `ws://host:port/v1/connect?replica=ID&token=T`, `/healthz`, `/metrics`. */
export declare function startRelay(options: RelayOptions): Promise<Relay>;
