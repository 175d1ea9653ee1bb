// Compiled (never run) by tests/js/types.test.mjs: the public API as a TypeScript user writes
// it, through the package's own `exports`. Lines marked @ts-expect-error must stay errors.
import { CastamereError, type Db, defineApp, jwtAuth, open, Store } from "castamere";
import { lambdaHandler } from "castamere/lambda";
import { createServer } from "castamere/node-http";
import { startOrigin } from "castamere/origin";
import { startRelay } from "castamere/relay";
import { startReplica } from "castamere/replica";
import { mintToken } from "castamere/token";
import { workerHandler } from "castamere/worker";

const store = new Store({ replicaId: 7 });
const views: number | bigint = store.incr("views");
store.hset("page", { title: "The Rains of Castamere" });
const members: string[] = store.smembers("watchers");
const delta: Uint8Array | undefined = store.takeDeltas();
if (delta) new Store().applyDeltas(delta);
new Store().free();
// @ts-expect-error a key is a string
store.incr(42);

async function main(): Promise<void> {
  const relay = await startRelay({ port: 0, secret: "s" });
  const origin = await startOrigin({ port: 0, secret: "s", db: ":memory:", onBatch: (c) => c.changes.length });
  const token = mintToken("s", { tenant: "default", region: "eu" });
  const anchor = await startReplica({ relay: relay.url, token, origin: origin.url, port: null });
  const retired: boolean = (await anchor.db.retire({ budgetMs: 100 })).done;
  await anchor.close();
  const db: Db = await open({ relay: relay.url, token, region: "eu", origin: origin.url, config: { leaseMs: 5000 } });
  const synced: boolean = (await db.sync({ budgetMs: 50 })).complete;
  const reply = await db.exec(["INCR", "views"], { ack: "region", timeoutMs: 1000 });
  const level: "local" | "region" | "origin" = (await db.flush({ to: "origin" })).level;
  db.on("peer", (e) => e.joined).on("error", (e) => e.message);
  // @ts-expect-error the write concerns are local, region and origin
  db.exec(["INCR", "views"], { ack: "everywhere" });
  // @ts-expect-error config fields are numbers of milliseconds
  await open({ relay: relay.url, token, config: { leaseMs: "5s" } });
  await db.close();
  await relay.close();
  await origin.close();
  void [views, members, synced, reply, level, retired];
}

const app = defineApp({
  authenticate: jwtAuth({ secret: "jwt" }),
  routes: {
    "GET /pages/:slug": { public: true, handler: ({ params, db }) => ({ body: { views: db.incr(params.slug) } }) },
    "POST /pages/:slug/edit": {
      role: "editor",
      handler: async ({ principal }) => ({ status: 204, body: principal?.sub }),
    },
  },
});
export const handler = lambdaHandler(app, { relay: "wss://relay.example", token: "t", syncBudgetMs: 40 });
export const worker = workerHandler(app, (env: { RELAY_URL: string; RELAY_TOKEN: string }) => ({
  relay: env.RELAY_URL,
  token: env.RELAY_TOKEN,
}));
export const server = createServer(app, { relay: "ws://127.0.0.1:7400", token: "t", maxBodyBytes: 1 << 16 });
try {
  main();
} catch (e) {
  if (e instanceof CastamereError) console.error(e.code);
}
