// Types of `castamere/token` (Node): the relay's and origin's tokens.

/** Mints a token for `tenant` and `region` ("*" for any region), valid `ttl` seconds (3600). */
export declare function mintToken(
  secret: string,
  claims: { tenant: string; region?: string; ttl?: number; now?: number },
): string;

/** Checks a token; throws an Error whose message says why it is refused. */
export declare function verifyToken(
  secret: string,
  token: string,
  now?: number,
): { tenant: string; region: string; expires: number };

/**
 * What a token says, read without checking it: `expires` in ms since the epoch; null for
 * something that is not a castamere token. For reporting only: `verifyToken` checks.
 */
export declare function tokenClaims(token: string): { tenant: string; region: string; expires: number } | null;

/** Calls `fn` once `expires` (ms since the epoch) has come; returns what cancels it. */
export declare function atExpiry(expires: number, fn: () => void): () => void;
