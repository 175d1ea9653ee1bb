// The wiki as a Cloudflare Worker (the entry of the top-level wrangler.toml). Configuration
// comes from bindings: JWT_SECRET, RELAY_URL, RELAY_TOKEN, ORIGIN_URL (optional), REGION, and
// SYNC_BUDGET_MS (optional: how long a request waits to catch up with the region, 60 ms).
// REGION "auto", with a token for every region (`castamere token --region '*'`), makes the
// region the continent the isolate runs on (request.cf.continent: "EU", "NA", ...), so that
// the isolates of a continent sync with each other; a token for one region names it instead.
import { workerHandler } from "castamere/worker";
import { createWikiApp } from "./app.mjs";

let app;
const worker = workerHandler(
  {
    prepare: (request) => app.prepare(request),
    run: (prepared, request, db) => app.run(prepared, request, db),
  },
  (env, request) => ({
    relay: env.RELAY_URL,
    token: env.RELAY_TOKEN,
    origin: env.ORIGIN_URL || undefined,
    region: env.REGION === "auto" ? (request.cf?.continent ?? "auto") : env.REGION || undefined,
    syncBudgetMs: env.SYNC_BUDGET_MS ? Number(env.SYNC_BUDGET_MS) : undefined,
  }),
);

export default {
  fetch(request, env, ctx) {
    app ??= createWikiApp({ jwtSecret: env.JWT_SECRET });
    return worker.fetch(request, env, ctx);
  },
};
