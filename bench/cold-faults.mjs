#!/usr/bin/env node
// The module's cold start by phase, in time and in pages of memory first touched (minor page
// faults), in fresh processes; beside it, what a first touch of a page costs on this machine:
// filling a fresh buffer the size of the wasm file. On a virtual machine that backs its guest's
// memory lazily (Firecracker, as under AWS Lambda) a first touch is far dearer than on bare
// metal, and every page the cold start touches (the file's bytes, V8's copy of them, its
// metadata) counts. Medians of 15 processes.
//
//   node bench/cold-faults.mjs
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, probeFile, runProbe } from "./common.mjs";

const RUNS = 15;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const glue = join(root, "pkg/web/castamere.mjs");
const wasm = join(root, "pkg/web/castamere_bg.wasm");
const size = statSync(wasm).size;
// resourceUsage() is called once before the first mark: its own first call costs a little.
const probe = probeFile(
  "cold-faults-probe.mjs",
  `const { readFileSync } = await import("node:fs");
const pf = () => process.resourceUsage().minorPageFault;
pf();
const marks = [[performance.now(), pf()]];
const mark = () => marks.push([performance.now(), pf()]);
const g = await import(${JSON.stringify(glue)}); mark();
const bytes = readFileSync(${JSON.stringify(wasm)}); mark();
const m = new WebAssembly.Module(bytes); mark();
g.initSync({ module: m }); mark();
new g.Store(0, 1).incrBy("views", 1); mark();
const fresh = Buffer.allocUnsafeSlow(${size}); mark();
fresh.fill(1); mark();
console.log(JSON.stringify(marks.slice(1).map(([t, p], i) => [t - marks[i][0], p - marks[i][1]])));
`,
);
const phases = ["glue", "read", "compile", "instantiate", "first command", "(allocate)", "touch a fresh buffer"];
const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(runProbe(probe));
const ms = (k) => median(runs.map((r) => r[k][0]));
const pages = (k) => median(runs.map((r) => r[k][1]));
console.log(`module cold start by phase, median of ${RUNS} fresh processes (pages: minor page faults)`);
for (let k = 0; k < 5; k++) {
  console.log(`  ${phases[k].padEnd(14)} ${ms(k).toFixed(2).padStart(6)} ms  ${String(pages(k)).padStart(4)} pages`);
}
const total = [0, 1, 2, 3, 4].reduce((s, k) => s + ms(k), 0);
const touched = [0, 1, 2, 3, 4].reduce((s, k) => s + pages(k), 0);
const perPage = (ms(6) * 1000) / pages(6);
console.log(`  total          ${total.toFixed(2).padStart(6)} ms  ${String(touched).padStart(4)} pages`);
console.log(
  `first touch of a page here: ${perPage.toFixed(1)} µs (a fresh ${(size / 1024).toFixed(0)} KB buffer filled: ${ms(6).toFixed(2)} ms, ${pages(6)} pages); ` +
    `the pages above at that cost: ${((touched * perPage) / 1000).toFixed(2)} ms`,
);
