#!/usr/bin/env node
// What a cold start costs a container by the size of the keyspace it loads: a snapshot of N
// counter keys is made, then loaded by a fresh Node process (as a cold container loads one from
// a peer or the origin), which reports the load's time, its resident memory (RSS) and the wasm
// memory after it. Lambda@Edge viewer-request functions have at most 128 MB.
//
//   node bench/footprint.mjs [N ...]      (default 0 100000 300000 500000)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "castamere";

const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [0, 100_000, 300_000, 500_000];
const dir = mkdtempSync(join(tmpdir(), "castamere-footprint-"));
const load = `
import { readFileSync } from "node:fs";
import { Store, wasmMemoryBytes } from "castamere";
const bytes = readFileSync(process.argv[2]);
const t0 = performance.now();
new Store().applyDeltas(bytes);
const ms = performance.now() - t0;
globalThis.gc();
console.log(JSON.stringify({ ms, rss: process.memoryUsage().rss, wasm: wasmMemoryBytes() }));
`;
const loader = join(import.meta.dirname, ".footprint-load.mjs");
writeFileSync(loader, load);
try {
  console.log("counter keys   snapshot      load      RSS   wasm memory");
  for (const n of sizes) {
    const s = new Store();
    for (let i = 0; i < n; i++) s.incr(`page:${i}:views`);
    const file = join(dir, `${n}.bin`);
    const snap = s.snapshot();
    writeFileSync(file, snap);
    s.free();
    const r = JSON.parse(execFileSync(process.execPath, ["--expose-gc", loader, file], { encoding: "utf8" }));
    const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
    console.log(
      `${n.toLocaleString("en-US").padStart(12)} ${mb(snap.length).padStart(10)} ${`${r.ms.toFixed(0)} ms`.padStart(9)} ${mb(r.rss).padStart(9)} ${mb(r.wasm).padStart(12)}`,
    );
  }
} finally {
  rmSync(loader, { force: true });
  rmSync(dir, { recursive: true, force: true });
}
