#!/usr/bin/env node
// The origin under load, as a real process with a real SQLite file (WAL, synchronous=FULL).
//  1. Batch ingest throughput: batches/s and key deltas/s, 4 concurrent clients.
//  2. 1,000,000 edge writes over 1,000 Zipf-skewed keys from 16 replicas (virtual clock, 20,000
//     writes/s): origin requests and bytes per edge write, next to one request per write.
//   node bench/origin.mjs [--json FILE] [--quick]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken } from "castamere/token";
import { startCli } from "./common.mjs";
import { Origin, Replica, transmits } from "./glue.mjs";

const quick = process.argv.includes("--quick");
const jsonAt = process.argv.indexOf("--json");
const secret = "bench-secret";
const token = mintToken(secret, { tenant: "bench", region: "local" });
const dir = mkdtempSync(join(tmpdir(), "castamere-origin-bench-"));

const { port, proc } = await startCli("origin", [
  "--db",
  join(dir, "o.sqlite"),
  "--secret",
  secret,
  "--tenant",
  "bench",
]);
const url = `http://127.0.0.1:${port}`;
const headers = { authorization: `Bearer ${token}`, "content-type": "application/x-castamere" };
const send = async (payload) => {
  const path = payload[1] === 7 ? "/v1/batches" : payload[1] === 9 ? "/v1/snapshot" : "/v1/marks";
  const res = await fetch(url + path, payload[1] === 7 ? { method: "POST", headers, body: payload } : { headers });
  if (!res.ok) throw new Error(`origin ${res.status}: ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
};

// --- 1. ingest throughput
const KEYS_PER_BATCH = 50;
const NB = quick ? 400 : 4000;
const batches = [];
{
  const writers = Array.from({ length: 8 }, (_, i) => ({
    r: new Replica(0, 1000 + i, { originIntervalMs: 3_600_000 }),
    o: new Origin(),
  }));
  let now = 1000;
  for (const w of writers) {
    w.r.start(now);
    transmits(w.r);
  }
  for (let b = 0; b < NB; b++) {
    const w = writers[b % writers.length];
    now += 1;
    for (let k = 0; k < KEYS_PER_BATCH; k++) w.r.incrBy(`key:${(b * 7 + k * 13) % 5000}`, 1, now);
    w.r.flushOrigin(now);
    const p = transmits(w.r).find((t) => t.to === "origin").payload;
    w.r.handleMessage(now, w.o.handle(p).response);
    batches.push(p);
  }
}
// Batches of one writer must arrive in order: one client per writer, four writers at a time.
const byWriter = new Map();
batches.forEach((p, i) => {
  const w = i % 8;
  if (!byWriter.has(w)) byWriter.set(w, []);
  byWriter.get(w).push(p);
});
const t0 = performance.now();
const queues = [...byWriter.values()];
await Promise.all(
  [0, 1, 2, 3].map(async (c) => {
    for (const q of queues.filter((_, i) => i % 4 === c)) for (const p of q) await send(p);
  }),
);
const ingestSeconds = (performance.now() - t0) / 1000;

// --- 2. a million edge writes
const WRITES = quick ? 100_000 : 1_000_000;
const REPLICAS = 16;
const RATE = 20_000; // writes per virtual second
const KEYS = 1000;
const cdf = [];
{
  let acc = 0;
  const total = Array.from({ length: KEYS }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b);
  for (let i = 0; i < KEYS; i++) {
    acc += 1 / (i + 1) / total;
    cdf.push(acc);
  }
}
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = () => {
  const x = rand();
  let lo = 0;
  let hi = KEYS - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};
const keyNames = Array.from({ length: KEYS }, (_, i) => `page:${i}:views`);
let now = 10_000_000;
const reps = Array.from(
  { length: REPLICAS },
  (_, i) => new Replica(0, 5000 + i, { originIntervalMs: 1000, leaseMs: 3_600_000 }),
);
let originRequests = 0;
let originBytes = 0;
let responseBytes = 0;
async function pump(r) {
  r.handleTimeout(now);
  for (const t of transmits(r)) {
    if (t.to !== "origin") continue;
    originRequests++;
    originBytes += t.payload.length;
    const res = await send(t.payload);
    responseBytes += res.length;
    r.handleMessage(now, res);
  }
  r.pollEvents();
}
for (const r of reps) {
  r.start(now);
  await pump(r);
}
const handles = reps.map((r) => keyNames.map((k) => r.intern(k)));
const t1 = performance.now();
const perMs = RATE / 1000;
let written = 0;
while (written < WRITES) {
  now += 1;
  for (let k = 0; k < perMs && written < WRITES; k++, written++) {
    const i = Math.floor(rand() * REPLICAS);
    reps[i].incrByHandle(handles[i][pick()], 1, now);
  }
  for (const r of reps) {
    const due = r.pollTimeout();
    if (due !== undefined && due <= now) await pump(r);
  }
}
for (const r of reps) {
  r.flushOrigin(now);
  await pump(r);
}
const editSeconds = (performance.now() - t1) / 1000;
const total = await (await fetch(`${url}/v1/keys/page:0:views`, { headers })).json();
proc.kill("SIGTERM");
rmSync(dir, { recursive: true, force: true });

const results = {
  machine: `${process.platform} ${process.arch}, node ${process.version}`,
  ingest: {
    batches: NB,
    deltasPerBatch: KEYS_PER_BATCH,
    batchesPerSec: Math.round(NB / ingestSeconds),
    deltasPerSec: Math.round((NB * KEYS_PER_BATCH) / ingestSeconds),
  },
  edge: {
    writes: WRITES,
    replicas: REPLICAS,
    keys: KEYS,
    originRequests,
    writesPerOriginRequest: WRITES / originRequests,
    requestBytesPerWrite: originBytes / WRITES,
    responseBytesPerWrite: responseBytes / WRITES,
    baselineRequestsOneWritePerRequest: WRITES,
    hottestKeyAtOrigin: total.value,
    wallSeconds: editSeconds,
  },
};
console.log(`castamere origin benchmark (${results.machine})`);
console.log(
  `  ingest: ${results.ingest.batchesPerSec.toLocaleString("en-US")} batches/s, ${results.ingest.deltasPerSec.toLocaleString("en-US")} key deltas/s (${KEYS_PER_BATCH} keys per batch, each batch one durable SQLite transaction)`,
);
console.log(
  `  ${WRITES.toLocaleString("en-US")} edge writes, ${KEYS} Zipf keys, ${REPLICAS} replicas: ${originRequests} origin requests ` +
    `(${results.edge.writesPerOriginRequest.toFixed(0)} writes per request; one request per write would be ${WRITES.toLocaleString("en-US")}), ` +
    `${results.edge.requestBytesPerWrite.toFixed(3)} request bytes per write`,
);
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], `${JSON.stringify(results, null, 2)}\n`);
