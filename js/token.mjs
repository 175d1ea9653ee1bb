// Relay and origin tokens: HMAC-SHA256 over (tenant, region, expiry), as
// "v1.<base64url(json)>.<base64url(signature)>". Node only (servers and the CLI mint and check them).
import { createHmac, timingSafeEqual } from "node:crypto";

const b64 = (buf) => Buffer.from(buf).toString("base64url");

/** Mints a token for `tenant` and `region` ("*" for any region), valid `ttl` seconds. */
export function mintToken(secret, { tenant, region = "*", ttl = 3600, now = Date.now() }) {
  if (!secret) throw new Error("a secret is required to mint a token (--secret or CASTAMERE_SECRET)");
  if (!tenant || !/^[\w.-]{1,64}$/.test(tenant)) throw new Error("tenant must be 1-64 of [A-Za-z0-9_.-]");
  if (!/^(\*|[\w.-]{1,64})$/.test(region)) throw new Error("region must be '*' or 1-64 of [A-Za-z0-9_.-]");
  const expires = Math.floor(now / 1000) + Number(ttl);
  // NaN or Infinity would be signed as an expiry of null, which every check refuses.
  if (!Number.isFinite(expires)) throw new Error(`ttl must be a number of seconds, not ${JSON.stringify(ttl)}`);
  const body = b64(JSON.stringify({ t: tenant, r: region, e: expires }));
  const sig = b64(createHmac("sha256", secret).update(`v1.${body}`).digest());
  return `v1.${body}.${sig}`;
}

/** Checks a token; returns `{ tenant, region, expires }` or throws an Error whose message says why. */
export function verifyToken(secret, token, now = Date.now()) {
  if (typeof token !== "string" || token.length === 0) {
    throw new Error("no token: pass ?token=... or an Authorization: Bearer header (mint one with `castamere token`)");
  }
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== "v1") throw new Error("malformed token: expected v1.<claims>.<signature>");
  const want = createHmac("sha256", secret).update(`v1.${parts[1]}`).digest();
  const got = Buffer.from(parts[2], "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new Error("bad token signature: it was minted with another secret");
  }
  const claims = tokenClaims(token);
  if (claims === null) throw new Error("malformed token claims");
  if (claims.expires <= now) {
    throw new Error(
      `token expired at ${new Date(claims.expires).toISOString()}; mint a new one with \`castamere token\``,
    );
  }
  return claims;
}

/**
 * What a token says, read without checking it (no secret needed): `{ tenant, region, expires }`
 * (expires in ms since the epoch), or null for something that is not a castamere token. For
 * reporting, such as when a deployment's token runs out; only `verifyToken` may trust it.
 */
export function tokenClaims(token) {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3 || parts[0] !== "v1") return null;
  try {
    const c = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (typeof c.t !== "string" || typeof c.r !== "string" || !Number.isFinite(c.e)) return null;
    return { tenant: c.t, region: c.r, expires: c.e * 1000 };
  } catch {
    return null;
  }
}

/**
 * Calls `fn` once the time `expires` (ms since the epoch, as `verifyToken` gives it) has come,
 * for a connection or a feed that ends with its token; returns what cancels it. The process
 * is not kept alive for it, and an expiry beyond setTimeout's longest wait is reached in steps.
 */
export function atExpiry(expires, fn) {
  let timer = null;
  const check = () => {
    const left = expires - Date.now();
    if (left <= 0) return fn();
    timer = setTimeout(check, Math.min(left, 2 ** 31 - 1));
    timer.unref();
  };
  check();
  return () => clearTimeout(timer);
}

/** The token of an HTTP request: `Authorization: Bearer`, else the `token` query parameter. */
export function requestToken(req, url) {
  const auth = req.headers.authorization;
  if (typeof auth === "string" && auth.startsWith("Bearer ")) return auth.slice(7).trim();
  return url.searchParams.get("token") ?? "";
}
