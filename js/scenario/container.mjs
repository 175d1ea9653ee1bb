#!/usr/bin/env node
// A Lambda-style container: one process running the wiki's Lambda@Edge handler, invoked over
// IPC one event at a time. Its parent (the scenario's pool, or a test) freezes it with
// SIGSTOP between invocations, thaws it with SIGCONT and kills it with SIGKILL, as Lambda does.
import { lambdaHandler } from "castamere/lambda";
import { createWikiApp } from "../../examples/wiki/app.mjs";

const config = JSON.parse(process.argv[2]);
const handler = lambdaHandler(createWikiApp({ jwtSecret: config.jwtSecret }), config.castamere);

const ops = {
  async invoke(event) {
    const t0 = performance.now();
    const { syncMs, handoffMs } = handler.stats;
    const response = await handler(event, { functionName: "wiki", awsRequestId: String(Math.random()) });
    // The handler's time, and its parts: opening or catching up, and the handoff.
    return {
      response,
      ms: performance.now() - t0,
      syncMs: handler.stats.syncMs - syncMs,
      handoffMs: handler.stats.handoffMs - handoffMs,
      // How the replica's first session ended (complete, or its budget ran out).
      opened: handler.store()?.synced,
    };
  },
  info() {
    const db = handler.store();
    return db
      ? {
          synced: db.synced,
          replica: db.replicaId,
          peers: db.peers,
          lastWrite: db.lastWrite,
          regionAcked: db.regionAcked,
          originAcked: db.originAcked,
          ...handler.stats,
        }
      : { replica: null, ...handler.stats };
  },
  snapshot() {
    const db = handler.store();
    return db ? Buffer.from(db._w.snapshot()).toString("base64") : null;
  },
  read(args) {
    return handler.store()?.exec(args) ?? null;
  },
  async flushOrigin(budgetMs) {
    return handler.store()?.flush({ to: "origin", budgetMs }) ?? null;
  },
};

process.on("message", async (m) => {
  try {
    const result = await ops[m.op](...(m.args ?? []));
    process.send({
      id: m.id,
      result: JSON.parse(JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
    });
  } catch (e) {
    process.send({ id: m.id, error: e.stack ?? e.message });
  }
});
process.send({ id: 0, result: "ready" });
