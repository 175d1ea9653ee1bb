// The wiki as a Cloudflare Worker (the entry of the top-level wrangler.toml). Configuration
// comes from bindings: JWT_SECRET, RELAY_URL, RELAY_TOKEN, ORIGIN_URL (optional), REGION, and
// SYNC_BUDGET_MS (optional: how long a request waits to catch up with the region, 60 ms).
import { workerHandler } from "castamere/worker";
import { createWikiApp } from "./app.mjs";

let app;
const worker = workerHandler(
  {
    prepare: (request) => app.prepare(request),
    run: (prepared, request, db) => app.run(prepared, request, db),
  },
  (env) => ({
    relay: env.RELAY_URL,
    token: env.RELAY_TOKEN,
    origin: env.ORIGIN_URL || undefined,
    region: env.REGION || undefined,
    syncBudgetMs: env.SYNC_BUDGET_MS ? Number(env.SYNC_BUDGET_MS) : undefined,
  }),
);

export default {
  fetch(request, env, ctx) {
    app ??= createWikiApp({ jwtSecret: env.JWT_SECRET });
    return worker.fetch(request, env, ctx);
  },
};
