// Lambda@Edge adapter: a handler for CloudFront viewer-request and origin-request events that
// answers with a generated response. The store lives in the container across warm
// invocations. Each invocation authenticates first (a 401/403 touches nothing), runs the
// compulsory anti-entropy session within a budget, serves, and hands off before it returns:
// a frozen container runs no timers, so nothing may be left to do after the response.
import "../node.mjs";
import { responseBody } from "../app.mjs";
import { fromBase64, toBase64 } from "../bytes.mjs";
import { CastamereError } from "../core.mjs";
import { checkOpenOptions, open } from "../db.mjs";

const STATUS_TEXT = {
  200: "OK",
  201: "Created",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Payload Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The AppRequest of a CloudFront request event record. */
export function requestFromCloudFront(cf) {
  const r = cf.request;
  const headers = {};
  for (const [name, list] of Object.entries(r.headers ?? {}))
    headers[name.toLowerCase()] = list.map((h) => h.value).join(", ");
  let body = "";
  if (r.body?.data)
    body = r.body.encoding === "base64" ? new TextDecoder().decode(fromBase64(r.body.data)) : r.body.data;
  return {
    method: r.method,
    path: r.uri,
    query: new URLSearchParams(r.querystring ?? ""),
    headers,
    body,
    clientIp: r.clientIp,
    truncated: r.body?.inputTruncated === true,
  };
}

/**
 * The largest response a function may generate, headers and body, by the event that ran it:
 * CloudFront answers a larger one with 502 Bad Gateway, and the function's log shows nothing.
 */
export const GENERATED_RESPONSE_LIMITS = { "viewer-request": 40 * 1024, "origin-request": 1024 * 1024 };

/** A CloudFront generated response from an AppResponse. */
export function cloudFrontResponse(res) {
  const { text, bytes, headers } = responseBody(res);
  const cfHeaders = {};
  for (const [k, v] of Object.entries({ "cache-control": "no-store", ...headers })) {
    cfHeaders[k] = [{ key: k.replace(/(^|-)([a-z])/g, (_m, d, c) => d + c.toUpperCase()), value: v }];
  }
  const out = { status: String(res.status), statusDescription: STATUS_TEXT[res.status] ?? "", headers: cfHeaders };
  // A 204 or 304 with a body field, even an empty one, is answered 502 by CloudFront.
  if (res.status === 204 || res.status === 304) return out;
  if (bytes) {
    out.body = toBase64(bytes);
    out.bodyEncoding = "base64";
  } else {
    out.body = text;
    out.bodyEncoding = "text";
  }
  return out;
}

/** The bytes of a generated response as CloudFront counts them: its headers and its body. */
function generatedSize(out) {
  let n = Buffer.byteLength(out.body ?? "");
  for (const list of Object.values(out.headers)) {
    for (const h of list) n += Buffer.byteLength(h.key ?? "") + Buffer.byteLength(h.value) + 4;
  }
  return n;
}

/** `out`, or a 500 that says why when it is over what `eventType` may generate. */
function withinLimit(out, eventType) {
  const limit = GENERATED_RESPONSE_LIMITS[eventType];
  const size = generatedSize(out);
  if (limit === undefined || size <= limit) return out;
  const why =
    `castamere: this ${out.status} response is ${size} bytes, over the ${limit / 1024} KB that a ` +
    `${eventType} function may generate (CloudFront would answer 502 Bad Gateway): make it smaller` +
    (eventType === "viewer-request" ? ", or serve it from an origin-request trigger (1 MB)" : "");
  console.error(why);
  return cloudFrontResponse({ status: 500, headers: { "content-type": "text/plain; charset=utf-8" }, body: why });
}

/**
 * The open() options of a function running in AWS region `awsRegion` (Lambda@Edge runs a
 * function in the region nearest each viewer and sets AWS_REGION there): the entry of
 * `regions` for it, else `regions.default`, over the options outside `regions`.
 */
export function regionalOptions(options, awsRegion) {
  const { regions, ...base } = options;
  if (regions === undefined) return base;
  const pick = regions[awsRegion] ?? regions.default;
  if (!pick) {
    const named = Object.keys(regions).join(", ");
    throw new CastamereError(
      `ERR lambdaHandler: this function runs in ${awsRegion ?? "an unknown region (no AWS_REGION)"}, which regions does not name (it names ${named}; add it, or a "default")`,
    );
  }
  return { ...base, ...pick, config: { ...base.config, ...pick.config } };
}

/**
 * A Lambda@Edge handler for `app`. Options: everything `open()` takes (relay, token, origin,
 * region, config) — Lambda@Edge has no environment variables, so bundle them in — plus
 * `syncBudgetMs` (default 60) and `handoffBudgetMs` (default 250), and `reconnectAfterMs`
 * (default 5000: after a longer freeze the old socket is presumed dead). `regions` maps AWS
 * regions to options of their own (each region's relay and token, say), over the rest; the
 * function takes the entry of the region it runs in (AWS_REGION), or `regions.default`.
 * `region` (for a token of every region) defaults to AWS_REGION.
 *
 * Keep-warm: an event `{ "castamere": "keep-warm" }` (e.g. an EventBridge rule every minute
 * per region) only syncs and hands off, renewing this replica's lease so the region keeps a
 * live replica that holds its peers' writes.
 */
export function lambdaHandler(app, options) {
  const { syncBudgetMs = 60, handoffBudgetMs = 250, reconnectAfterMs = 5000, ...given } = options ?? {};
  // Options it cannot use fail the function's initialisation, not each invocation: those of
  // the region it runs in, and those of every region it names.
  for (const name of Object.keys(given.regions ?? {})) checkOpenOptions(regionalOptions(given, name));
  const dbOptions = regionalOptions(given, process.env.AWS_REGION);
  // With a token for every region, the region is the AWS region the function runs in.
  dbOptions.region ??= process.env.AWS_REGION;
  checkOpenOptions(dbOptions);
  let db = null;
  let opening = null;
  let lastEnd = 0;
  const stats = { coldStarts: 0, invocations: 0, syncMs: 0, handoffMs: 0 };

  async function store() {
    if (db) {
      // Thawed after a long freeze: reconnect, then catch up.
      if (Date.now() - lastEnd > reconnectAfterMs) db.resume();
      await db.sync({ budgetMs: syncBudgetMs });
      return db;
    }
    opening ??= open({ ...dbOptions, config: { ...dbOptions.config, bootstrapBudgetMs: syncBudgetMs } });
    try {
      db = await opening;
    } catch (e) {
      opening = null; // the next invocation tries again
      throw e;
    }
    stats.coldStarts++;
    return db;
  }

  async function handoff() {
    await db.flush({ to: "region", budgetMs: handoffBudgetMs });
    lastEnd = Date.now();
  }

  const handler = async (event, context) => {
    if (context) context.callbackWaitsForEmptyEventLoop = false;
    stats.invocations++;
    if (event?.castamere === "keep-warm") {
      await store();
      await handoff();
      return { warm: true, replica: db.replicaId, peers: db.peers.length };
    }
    const cf = event?.Records?.[0]?.cf;
    if (!cf?.request) throw new Error("not a CloudFront request event (expected Records[0].cf.request)");
    const request = requestFromCloudFront(cf);
    const eventType = cf.config?.eventType;
    const prepared = await app.prepare(request);
    if (prepared.response) return withinLimit(cloudFrontResponse(prepared.response), eventType);
    // CloudFront passes a function at most 40 KB of a viewer request's body (1 MB of an origin
    // request's) and cuts the rest: a handler must not write the part as if it were the whole.
    if (request.truncated) {
      return cloudFrontResponse({
        status: 413,
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: `castamere: the request body is over what CloudFront passes to a ${eventType ?? "request"} function, which cut it; nothing was written`,
      });
    }
    const t0 = performance.now();
    const s = await store();
    const t1 = performance.now();
    const res = await app.run(prepared, request, s);
    const t2 = performance.now();
    await handoff();
    stats.syncMs += t1 - t0;
    stats.handoffMs += performance.now() - t2;
    return withinLimit(cloudFrontResponse(res), eventType);
  };
  handler.stats = stats;
  handler.store = () => db;
  return handler;
}
