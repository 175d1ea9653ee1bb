#!/usr/bin/env node
// A replica's cold open on an idle machine: open() against a relay and an awake regional
// replica (both in this process, on loopback), then one write and its handoff, six times.
// Then the first replica of an empty region: open() with only the origin to load from, beside
// the origin's snapshot fetched directly (the baseline), six times each, in alternation; and
// open() there with no origin configured. Last, a cold start in a fresh process each time
// (import, open() alone in the region with the origin's snapshot, one write handed off to the
// origin), nine processes each of three ways in alternation: the default on Node (the relay
// client is the ws bundled in dist/, the origin's requests go over node:http), the origin's
// requests over the global fetch() (undici), and the relay client imported from the ws
// package in node_modules.
// The scenario's cold starts (npm start) add a new process and the contention of many
// starting at once; this is castamere's own part.
//   node bench/open.mjs [--budget MS]
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { open } from "castamere";
import { startOrigin } from "castamere/origin";
import { startRelay } from "castamere/relay";
import { startReplica } from "castamere/replica";
import { mintToken } from "castamere/token";
import { median } from "./common.mjs";

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

// A fresh process each: what a Lambda container or a starting server pays at its cold start.
// Inside the package (bench/out/), where the probe imports it by name, as an app would.
const outDir = join(dirname(fileURLToPath(import.meta.url)), "out");
mkdirSync(outDir, { recursive: true });
const probe = join(outDir, "cold-open.mjs");
writeFileSync(
  probe,
  `const t0 = performance.now();
const { open } = await import("castamere");
const way = process.argv[2];
const t1 = performance.now();
const fetch = way === "fetch" ? globalThis.fetch : undefined;
// The ws package from node_modules, imported when open() connects, as the package used to.
const WebSocket = way === "ws package" ? (await import("ws")).WebSocket : undefined;
const db = await open({ relay: ${JSON.stringify(url)}, token: ${JSON.stringify(token)}, origin: ${JSON.stringify(origin.url)}, fetch, WebSocket, config: { bootstrapBudgetMs: ${budget} } });
const t2 = performance.now();
db.incr("cold");
const f = await db.flush({ to: "origin" });
const t3 = performance.now();
await db.close();
console.log(JSON.stringify({ ok: db.synced.fromOrigin && f.level === "origin", importMs: t1 - t0, openMs: t2 - t1, handoffMs: t3 - t2 }));
`,
);
const runs = { default: [], fetch: [], "ws package": [] };
for (let i = 0; i < 9; i++) {
  for (const way of Object.keys(runs)) {
    await empty();
    const out = await new Promise((res, rej) =>
      execFile(process.execPath, [probe, way], { cwd: outDir }, (e, o) => (e ? rej(e) : res(o))),
    );
    const r = JSON.parse(out);
    if (!r.ok) throw new Error(`cold open over ${way} did not load the snapshot and hand off to the origin`);
    runs[way].push(r);
  }
}
console.log(
  `\na cold start in a fresh process (import, open() with the origin's snapshot, one write handed off to the origin); medians of 9`,
);
const total = (r) => r.openMs + r.handoffMs;
for (const [way, rs] of Object.entries(runs)) {
  const m = (k) => median(rs.map(k)).toFixed(1);
  console.log(
    `  ${way.padEnd(10)} import ${m((r) => r.importMs)} ms, open ${m((r) => r.openMs)} ms, ` +
      `handoff ${m((r) => r.handoffMs)} ms; open + handoff ${m(total)} ms`,
  );
}
const ratio = (way) => (median(runs[way].map(total)) / median(runs.default.map(total))).toFixed(2);
console.log(`  open + handoff against the default (ws bundled in dist/, origin over node:http):`);
console.log(
  `    origin over fetch() ${ratio("fetch")}×; relay client imported from the ws package ${ratio("ws package")}×`,
);
await origin.close();
rmSync(dir, { recursive: true, force: true });
await relay.close();
