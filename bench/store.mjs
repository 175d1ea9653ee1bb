#!/usr/bin/env node
// Store hot paths from JavaScript through wasm, each next to a plain JS Map doing the same
// bookkeeping (the value, plus the pending delta a replica must ship) in the same run.
// Prints ops/s, the ratio to the Map, delta sizes and memory per key.
//   node bench/store.mjs [--json out.json] [--quick]
import { writeFileSync } from "node:fs";
import { Store, wasmMemoryBytes } from "castamere";
import { mapBaseline, rate } from "./common.mjs";
import { shippedBytes } from "./shipped.mjs";

const quick = process.argv.includes("--quick");
const jsonAt = process.argv.indexOf("--json");
const KEYS = 1000;
const keys = Array.from({ length: KEYS }, (_, i) => `page:${i}:views`);
const members = Array.from({ length: 50 }, (_, i) => `user${i}`);
const results = { machine: machine(), ops: [], deltaBytes: {}, memory: {} };

function machine() {
  return `${process.platform} ${process.arch}, node ${process.version}`;
}

const MS = quick ? 150 : 600;

function row(name, castamere, baseline, target) {
  const r = {
    name,
    castamereOps: Math.round(castamere),
    mapOps: Math.round(baseline),
    ratioToMap: baseline / castamere,
  };
  if (target) r.target = target;
  results.ops.push(r);
}

// --- INCR
{
  const s = new Store({ replicaId: 1 });
  const typed = rate((i) => {
    s.incrBy(keys[i % KEYS], 1);
    if (i % 4096 === 0) s.takeDeltas();
  }, MS);
  const s2 = new Store({ replicaId: 2 });
  const viaExec = rate((i) => {
    s2.exec(["INCR", keys[i % KEYS]]);
    if (i % 4096 === 0) s2.takeDeltas();
  }, MS);
  const base = rate(mapBaseline.counter(keys), MS);
  row("INCR (store.incr)", typed, base, ">= 2,000,000 ops/s and within 5x of Map");
  row("INCR (exec)", viaExec, base);
}

// --- SET
{
  const s = new Store({ replicaId: 3 });
  const c = rate((i) => {
    s.set(keys[i % KEYS], "value");
    if (i % 4096 === 0) s.takeDeltas();
  }, MS);
  const base = rate(mapBaseline.register(keys), MS);
  row("SET (store.set)", c, base);
}

// --- SADD
{
  const s = new Store({ replicaId: 4 });
  const c = rate((i) => {
    s.sadd(keys[i % KEYS], members[i % members.length]);
    if (i % 4096 === 0) s.takeDeltas();
  }, MS);
  const base = rate(mapBaseline.set(keys, members), MS);
  row("SADD (store.sadd)", c, base);
}

// --- HSET
{
  const s = new Store({ replicaId: 5 });
  const c = rate((i) => {
    s.hset(keys[i % KEYS], members[i % 8], "v");
    if (i % 4096 === 0) s.takeDeltas();
  }, MS);
  const base = rate(mapBaseline.hash(keys, members.slice(0, 8)), MS);
  row("HSET (store.hset)", c, base);
}

// --- Delta sizes: one operation on an existing key, as the sync engine ships it to the
// region (the delta inside a delta-group message; the message adds the envelope).
{
  const shipped = (words) => shippedBytes((r, now) => r.exec(words(), now));
  let u = 0;
  results.deltaBytes = {
    INCR: shipped(() => ["INCR", "views"]),
    SADD: shipped(() => ["SADD", "watchers", `u${u++}`]),
    HSET: shipped(() => ["HSET", "page", "body", `v${u++}`]),
    note: "delta and whole message as shipped by a replica with a random 64-bit id; keys 'views', 'watchers', 'page'; target INCR delta <= 16 bytes",
  };
  // Marginal bytes per INCR when many keys' increments ship in one delta-group.
  const many = shippedBytes((r, now) => {
    for (const k of keys) r.exec(["INCR", k], now);
  });
  results.deltaBytes.INCR_in_group_of_1000 = many.delta / KEYS;
}

// --- Memory: bytes per key for 1,000,000 counters.
{
  const N = quick ? 100_000 : 1_000_000;
  global.gc?.();
  const w0 = wasmMemoryBytes();
  const s = new Store({ replicaId: 6 });
  // The sync engine drains the outgoing buffer every few milliseconds; do the same.
  for (let i = 0; i < N; i++) {
    s.exec(["INCR", `counter:${i}`]);
    if (i % 1000 === 999) s.takeDeltas();
  }
  s.takeDeltas();
  const w1 = wasmMemoryBytes();
  const h0 = process.memoryUsage().heapUsed;
  const m = new Map();
  for (let i = 0; i < N; i++) m.set(`counter:${i}`, 1);
  const h1 = process.memoryUsage().heapUsed;
  results.memory = {
    keys: N,
    castamereBytesPerKey: Math.round((w1 - w0) / N),
    mapBytesPerKey: Math.round((h1 - h0) / N),
    note: "wasm linear memory growth (64 KiB pages) vs V8 heap growth for a Map of the same keys",
  };
  if (m.size !== N || s.size !== N) throw new Error("memory benchmark lost keys");
}

const fmt = (n) => n.toLocaleString("en-US");
console.log(`castamere store benchmark (${results.machine})`);
console.log("operation            castamere ops/s     Map ops/s   Map/castamere");
for (const r of results.ops) {
  console.log(
    `${r.name.padEnd(20)} ${fmt(r.castamereOps).padStart(15)} ${fmt(r.mapOps).padStart(13)} ${r.ratioToMap.toFixed(1).padStart(12)}x`,
  );
}
console.log("delta bytes:", JSON.stringify(results.deltaBytes));
console.log("memory:", JSON.stringify(results.memory));
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], `${JSON.stringify(results, null, 2)}\n`);
