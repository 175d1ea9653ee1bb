#!/usr/bin/env node
// What a wasm function's first call costs: V8 compiles each function lazily, on its first
// call. Times, in fresh processes (median of 9):
// - the first calls of three exports of the module in pkg/web (the stack-pointer helper, 11
//   bytes of code, and its second call; malloc, which compiles dlmalloc's malloc, 4.8 KB;
//   free);
// - the first calls of six tiny functions (7 bytes of code each) of a module made here, one
//   after the other: the first lazy compilation of a process pays a one-time cost that the
//   next ones do not.
//
//   node bench/first-calls.mjs
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, probeFile, runProbe } from "./common.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const probe = probeFile(
  "first-calls.mjs",
  `const { readFileSync } = await import("node:fs");
const g = await import(${JSON.stringify(join(root, "pkg/web/castamere.mjs"))});
const w = g.initSync({ module: new WebAssembly.Module(readFileSync(${JSON.stringify(join(root, "pkg/web/castamere_bg.wasm"))})) });
const t = [];
let t0 = performance.now();
const lap = () => { const t1 = performance.now(); t.push((t1 - t0) * 1000); t0 = t1; };
w.__wbindgen_add_to_stack_pointer(0); lap();
w.__wbindgen_add_to_stack_pointer(0); lap();
const p = w.__wbindgen_malloc(16, 1); lap();
w.__wbindgen_free(p, 16, 1); lap();
console.log(JSON.stringify(t));
`,
);
// The module of six exported functions (i32) -> i32, each `local.get 0; i32.const k; i32.add`.
const FUNCS = 6;
const section = (id, bytes) => [id, bytes.length, ...bytes];
const tiny = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]),
  ...section(3, [FUNCS, ...Array(FUNCS).fill(0)]),
  ...section(7, [FUNCS, ...Array.from({ length: FUNCS }, (_, i) => [2, 0x66, 0x30 + i, 0, i]).flat()]),
  ...section(10, [FUNCS, ...Array.from({ length: FUNCS }, (_, i) => [7, 0, 0x20, 0, 0x41, i + 1, 0x6a, 0x0b]).flat()]),
]);
const tinyProbe = probeFile(
  "first-calls-tiny.mjs",
  `const m = new WebAssembly.Module(new Uint8Array(${JSON.stringify([...tiny])}));
const e = new WebAssembly.Instance(m, {}).exports;
const t = [];
let t0 = performance.now();
for (let i = 0; i < ${FUNCS}; i++) { if (e["f" + i](1) !== i + 2) throw new Error("wrong sum"); const t1 = performance.now(); t.push((t1 - t0) * 1000); t0 = t1; }
console.log(JSON.stringify(t));
`,
);
/** The k-th lap of `file`'s probe, median over 9 fresh processes, in whole µs. */
function medians(file) {
  const runs = [];
  for (let i = 0; i < 9; i++) runs.push(runProbe(file));
  return (k) => median(runs.map((r) => r[k])).toFixed(0);
}
const at = medians(probe);
console.log(`first call of the stack-pointer helper: ${at(0)} µs (its second call: ${at(1)} µs)`);
console.log(`first call of malloc: ${at(2)} µs; first call of free: ${at(3)} µs`);
const tinyAt = medians(tinyProbe);
console.log(
  `first calls of ${FUNCS} tiny functions, one after the other: ${Array.from({ length: FUNCS }, (_, k) => `${tinyAt(k)} µs`).join(", ")}`,
);
