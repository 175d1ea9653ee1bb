#!/usr/bin/env node
// A replica's cold open on an idle machine: open() against a relay and an awake regional
// replica (both in this process, on loopback), then one write and its handoff, six times.
// Then the first replica of an empty region: open() with only the origin to load from, beside
// the origin's snapshot fetched directly (the baseline), six times each, in alternation; and
// open() there with no origin configured.
// The scenario's cold starts (npm start) add a new process and the contention of many
// starting at once; this is castamere's own part.
//   node bench/open.mjs [--budget MS]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "castamere";
import { startOrigin } from "castamere/origin";
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

// The first replica of an empty region: nobody to ask but the origin.
const dir = mkdtempSync(join(tmpdir(), "castamere-open-bench-"));
const origin = await startOrigin({ port: 0, secret, tenant: "bench", db: join(dir, "origin.sqlite") });
const writer = await open({ relay: url, token, origin: origin.url, config: { bootstrapBudgetMs: budget } });
for (let i = 0; i < 2000; i++) writer.incr(`page:${i}`);
await writer.flush({ to: "origin" });
await writer.close();
const empty = async () => {
  for (let i = 0; i < 200 && [...relay.rooms.values()].some((r) => r.size > 0); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
};
const rawSnapshot = async () => {
  const r = await fetch(`${origin.url}/v1/snapshot`, { headers: { authorization: `Bearer ${token}` } });
  return (await r.arrayBuffer()).byteLength;
};
console.log(`\nthe first replica of an empty region, bootstrap budget ${budget} ms, an origin of 2,000 keys`);
const opens = [];
const raws = [];
for (let i = 0; i < 6; i++) {
  await empty();
  let t0 = performance.now();
  const bytes = await rawSnapshot();
  raws.push(performance.now() - t0);
  t0 = performance.now();
  const db = await open({ relay: url, token, origin: origin.url, config: { bootstrapBudgetMs: budget } });
  opens.push(performance.now() - t0);
  const s = db.synced;
  console.log(
    `  open ${opens.at(-1).toFixed(1)} ms (${s.fromOrigin ? "origin snapshot" : "no snapshot"}, ` +
      `${s.complete ? "complete" : "budget ran out"}, ${db.get("page:1999")} in page:1999); ` +
      `the snapshot fetched directly (${bytes} bytes): ${raws.at(-1).toFixed(1)} ms`,
  );
  await db.close();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `  median open ${median(opens).toFixed(1)} ms = ${(median(opens) / median(raws)).toFixed(1)}× ` +
    `the direct snapshot fetch (${median(raws).toFixed(1)} ms)`,
);

// The same, with no origin configured: nobody at all to ask.
console.log(`\nthe first replica of an empty region with no origin, bootstrap budget ${budget} ms`);
const lone = [];
for (let i = 0; i < 6; i++) {
  await empty();
  const t0 = performance.now();
  const db = await open({ relay: url, token, config: { bootstrapBudgetMs: budget } });
  lone.push(performance.now() - t0);
  console.log(`  open ${lone.at(-1).toFixed(1)} ms (${db.synced.complete ? "complete" : "budget ran out"})`);
  await db.close();
}
console.log(`  median open ${median(lone).toFixed(1)} ms`);
await origin.close();
rmSync(dir, { recursive: true, force: true });
await relay.close();
