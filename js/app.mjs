// Application logic beside the store: routes, bearer-JWT authentication with WebCrypto (the
// same code on Node, Lambda@Edge and Workers), and roles. Adapters turn their platform's
// request into `AppRequest` and the `AppResponse` back.
//
//   const app = defineApp({
//     authenticate: jwtAuth({ secret: "..." }),          // HS256; or { publicKey: jwk } for ES256
//     routes: {
//       "GET /pages/:slug": { public: true, handler: ({ params, db }) => ({ body: { views: db.incr(`v:${params.slug}`) } }) },
//       "POST /pages/:slug/edit": { role: "editor", handler: async ({ params, principal, body, db }) => ... },
//     },
//   });
//
// An AppRequest is `{ method, path, query: URLSearchParams, headers: { lowercase: value }, body: string }`;
// a handler returns `{ status?, headers?, body? }` (an object body is sent as JSON).
import { fromBase64, toBase64 } from "./bytes.mjs";
import { CastamereError } from "./core.mjs";

const enc = new TextEncoder();
const dec = new TextDecoder();

function b64urlBytes(s) {
  return fromBase64(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
}

function b64url(bytes) {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Why a request was not authenticated (answered 401). */
export class AuthError extends Error {}

/**
 * Bearer JWT authentication, verified with WebCrypto. `secret` (string) verifies HS256;
 * `publicKey` (a JWK, or a CryptoKey) verifies ES256. Optional `issuer`, `audience`, and
 * `leewaySeconds` (default 30). The principal is the token's claims, with `roles` from the
 * `roles` (array) or `role` (string) claim.
 */
export function jwtAuth({ secret, publicKey, issuer, audience, leewaySeconds = 30 }) {
  if (!secret && !publicKey) throw new CastamereError("ERR jwtAuth needs a secret (HS256) or a publicKey (ES256)");
  let hsKey;
  let esKey;
  const keys = async () => {
    if (secret && !hsKey) {
      hsKey = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
        "verify",
      ]);
    }
    if (publicKey && !esKey) {
      esKey =
        publicKey instanceof CryptoKey
          ? publicKey
          : await crypto.subtle.importKey("jwk", publicKey, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    }
  };
  return async (request) => {
    const header = request.headers.authorization ?? "";
    if (!header.startsWith("Bearer ")) throw new AuthError("missing bearer token (Authorization: Bearer <jwt>)");
    const parts = header.slice(7).trim().split(".");
    if (parts.length !== 3) throw new AuthError("malformed token: a JWT has three parts");
    let head;
    let claims;
    try {
      head = JSON.parse(dec.decode(b64urlBytes(parts[0])));
      claims = JSON.parse(dec.decode(b64urlBytes(parts[1])));
    } catch {
      throw new AuthError("malformed token: header or claims are not base64url JSON");
    }
    await keys();
    const data = enc.encode(`${parts[0]}.${parts[1]}`);
    const sig = b64urlBytes(parts[2]);
    let ok = false;
    if (head.alg === "HS256" && hsKey) ok = await crypto.subtle.verify("HMAC", hsKey, sig, data);
    else if (head.alg === "ES256" && esKey)
      ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, esKey, sig, data);
    else throw new AuthError(`token algorithm ${JSON.stringify(head.alg)} is not accepted here`);
    if (!ok) throw new AuthError("bad token signature");
    const now = Date.now() / 1000;
    if (typeof claims.exp === "number" && claims.exp + leewaySeconds < now) throw new AuthError("token expired");
    if (typeof claims.nbf === "number" && claims.nbf - leewaySeconds > now) throw new AuthError("token not yet valid");
    if (issuer && claims.iss !== issuer) throw new AuthError("token issuer not accepted");
    if (audience && ![claims.aud].flat().includes(audience)) throw new AuthError("token audience not accepted");
    const roles = Array.isArray(claims.roles) ? claims.roles : typeof claims.role === "string" ? [claims.role] : [];
    return { ...claims, roles };
  };
}

/** Signs an HS256 JWT (for tests, tools and examples). */
export async function signJwt(claims, secret) {
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const head = b64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = b64url(enc.encode(JSON.stringify(claims)));
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${head}.${body}`)));
  return `${head}.${body}.${b64url(sig)}`;
}

/** Signs an ES256 JWT with a private CryptoKey (for tests and tools). */
export async function signJwtEs256(claims, privateKey) {
  const head = b64url(enc.encode(JSON.stringify({ alg: "ES256", typ: "JWT" })));
  const body = b64url(enc.encode(JSON.stringify(claims)));
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, enc.encode(`${head}.${body}`)),
  );
  return `${head}.${body}.${b64url(sig)}`;
}

function compile(pattern) {
  const space = pattern.indexOf(" ");
  if (space < 0) throw new CastamereError(`ERR route '${pattern}' must be "METHOD /path"`);
  const method = pattern.slice(0, space).toUpperCase();
  const names = [];
  const re = pattern
    .slice(space + 1)
    .split("/")
    .map((seg) => {
      if (seg.startsWith(":")) {
        names.push(seg.slice(1));
        return "([^/]+)";
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { method, regex: new RegExp(`^${re}/?$`), names };
}

const json = (status, body) => ({ status, headers: { "content-type": "application/json" }, body });

/**
 * An application: `{ authenticate, routes }`. `authenticate(request)` returns the principal
 * or throws (`AuthError` → 401); a route may be `public` (no authentication needed) and may
 * require a `role` (403 without it). Neither a 401 nor a 403 touches the store.
 */
export function defineApp({ authenticate, routes }) {
  const table = Object.entries(routes).map(([pattern, r]) => {
    const route = typeof r === "function" ? { handler: r } : r;
    return { ...compile(pattern), ...route, pattern };
  });
  return {
    routes: table,

    /**
     * Matches and authenticates a request without touching the store: `{ response }` for an
     * answer that needs no store (404, 405, 401, 403), else `{ route, params, principal }`.
     */
    async prepare(request) {
      const path = request.path;
      const matches = table.filter((r) => r.regex.test(path));
      const route = matches.find((r) => r.method === request.method);
      if (!route) {
        if (matches.length > 0)
          return { response: json(405, { error: `method ${request.method} not allowed on ${path}` }) };
        return { response: json(404, { error: `no route for ${request.method} ${path}` }) };
      }
      const m = route.regex.exec(path);
      const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
      let principal = null;
      const hasToken = (request.headers.authorization ?? "").length > 0;
      if (authenticate && (!route.public || hasToken)) {
        try {
          principal = await authenticate(request);
        } catch (e) {
          if (e instanceof AuthError || route.public) {
            return { response: json(401, { error: `unauthenticated: ${e.message}` }) };
          }
          throw e;
        }
      }
      if (route.role && !principal?.roles?.includes(route.role)) {
        return {
          response: json(principal ? 403 : 401, {
            error: principal ? `forbidden: this route needs the role '${route.role}'` : "unauthenticated",
          }),
        };
      }
      return { route, params, principal };
    },

    /** Runs a prepared request's handler with the store. */
    async run(prepared, request, db) {
      let body = request.body;
      const ct = request.headers["content-type"] ?? "";
      if (typeof body === "string" && body.length > 0 && ct.includes("application/json")) {
        try {
          body = JSON.parse(body);
        } catch {
          return json(400, { error: "body is not valid JSON" });
        }
      }
      try {
        const res =
          (await prepared.route.handler({
            request,
            params: prepared.params,
            principal: prepared.principal,
            body,
            db,
          })) ?? {};
        return { status: res.status ?? 200, headers: res.headers ?? {}, body: res.body ?? "" };
      } catch (e) {
        if (e instanceof CastamereError)
          return json(e.code === "WRONGTYPE" || e.code === "ERR" ? 400 : 503, { error: e.message });
        throw e;
      }
    },

    /** prepare + run, for adapters whose store needs no per-request session. */
    async handle(request, db) {
      const p = await this.prepare(request);
      return p.response ?? (await this.run(p, request, db));
    },
  };
}

/** Serializes an AppResponse body: `{ text, contentType }`. */
export function responseBody(res) {
  const headers = Object.fromEntries(Object.entries(res.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  if (typeof res.body === "string") return { text: res.body, headers };
  if (res.body instanceof Uint8Array) return { bytes: res.body, headers };
  headers["content-type"] ??= "application/json";
  return { text: JSON.stringify(res.body, (_k, v) => (typeof v === "bigint" ? v.toString() : v)), headers };
}
