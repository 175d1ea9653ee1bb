// Cloudflare Workers adapter. Workers forbid I/O objects (a WebSocket) from outliving the
// request that created them, so each request opens its own connection to the relay while the
// store's state stays in the isolate. A request authenticates first (a 401/403 touches
// nothing), catches up with the region within a budget, answers at once, and pushes its
// writes after the response with `ctx.waitUntil`. Requests of one isolate take turns.
import "../workerd.mjs";
import { responseBody } from "../app.mjs";
import { open } from "../db.mjs";

/** The AppRequest of a Fetch API Request. */
export async function requestFromFetch(request) {
  const url = new URL(request.url);
  const headers = {};
  for (const [k, v] of request.headers) headers[k.toLowerCase()] = v;
  const body = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
  return { method: request.method, path: url.pathname, query: url.searchParams, headers, body };
}

/** A Fetch API Response from an AppResponse. */
export function fetchResponse(res) {
  const { text, bytes, headers } = responseBody(res);
  return new Response(bytes ?? text, { status: res.status, headers: { "cache-control": "no-store", ...headers } });
}

/**
 * A Worker `{ fetch }` for `app`. `options(env, request)` returns what `open()` takes (relay,
 * token, origin, region, config), plus optional `syncBudgetMs` (default 60) and
 * `handoffBudgetMs` (default 250). The isolate's store opens with the options of its first
 * request; `request.cf` (its `continent`, `colo`) can choose the region and the relay.
 */
export function workerHandler(app, options) {
  let db = null;
  let turn = Promise.resolve();
  return {
    async fetch(request, env, ctx) {
      const appRequest = await requestFromFetch(request);
      const prepared = await app.prepare(appRequest);
      if (prepared.response) return fetchResponse(prepared.response);
      const { syncBudgetMs = 60, handoffBudgetMs = 250, ...dbOptions } = options(env, request);
      let release;
      const mine = new Promise((r) => {
        release = r;
      });
      const previous = turn;
      turn = previous.then(() => mine);
      await previous;
      let res;
      try {
        if (!db) {
          // A refused token fails this request and the next ones, each saying why (open()
          // closes what it opened): no write goes into a store that could never ship it.
          db = await open({ ...dbOptions, config: { ...dbOptions.config, bootstrapBudgetMs: syncBudgetMs } });
        } else {
          db.resume();
          await db.sync({ budgetMs: syncBudgetMs });
        }
        res = await app.run(prepared, appRequest, db);
      } catch (e) {
        db?.suspend();
        release();
        throw e;
      }
      const after = (async () => {
        try {
          await db.flush({ to: "region", budgetMs: handoffBudgetMs });
          await db.idle();
        } finally {
          db.suspend();
          release();
        }
      })();
      if (ctx?.waitUntil) ctx.waitUntil(after);
      else await after;
      return fetchResponse(res);
    },
  };
}
