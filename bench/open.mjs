#!/usr/bin/env node
// A replica's cold open on an idle machine: open() against a relay and an awake regional
// replica (both in this process, on loopback), then one write and its handoff, six times.
// The scenario's cold starts (npm start) add a new process and the contention of many
// starting at once; this is castamere's own part.
//   node bench/open.mjs [--budget MS]
import { open } from "castamere";
import { startRelay } from "castamere/relay";
import { startReplica } from "castamere/replica";
import { mintToken } from "castamere/token";

const at = process.argv.indexOf("--budget");
const budget = at > 0 ? Number(process.argv[at + 1]) : 60;
const secret = "open-bench";
const token = mintToken(secret, { tenant: "bench", region: "local" });
const relay = await startRelay({ port: 0, secret });
const url = `ws://127.0.0.1:${relay.port}`;
const anchor = await startReplica({ relay: url, token, port: null, log: () => {} });
for (let i = 0; i < 2000; i++) anchor.db.incr(`page:${i}`);
console.log(`castamere cold open (node ${process.version}), bootstrap budget ${budget} ms, a region of 2,000 keys`);
for (let i = 0; i < 6; i++) {
  const t0 = performance.now();
  const db = await open({ relay: url, token, config: { bootstrapBudgetMs: budget } });
  const t1 = performance.now();
  db.incr("views");
  const f = await db.flush({ to: "region", budgetMs: 250 });
  const t2 = performance.now();
  const s = db.synced;
  console.log(
    `  open ${(t1 - t0).toFixed(1)} ms (peers ${s.peers}, ${s.complete ? "complete" : "budget ran out"}), ` +
      `one write handed off to the ${f.level} in ${(t2 - t1).toFixed(1)} ms`,
  );
  await db.close();
}
await anchor.close();
await relay.close();
