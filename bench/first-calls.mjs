#!/usr/bin/env node
// What a wasm function's first call costs: V8 compiles each function lazily, on its first
// call. Times the first calls of three exports of the module in pkg/web in fresh processes
// (the stack-pointer helper, 11 bytes of code, and its second call; malloc, which compiles
// dlmalloc's malloc, 4.8 KB; free), median of 9 processes.
//
//   node bench/first-calls.mjs
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./common.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "bench", "out");
mkdirSync(out, { recursive: true });
const probe = join(out, "first-calls.mjs");
writeFileSync(
  probe,
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
const runs = [];
for (let i = 0; i < 9; i++) runs.push(JSON.parse(execFileSync(process.execPath, [probe], { encoding: "utf8" })));
const at = (k) => median(runs.map((r) => r[k])).toFixed(0);
console.log(`first call of the stack-pointer helper: ${at(0)} µs (its second call: ${at(1)} µs)`);
console.log(`first call of malloc: ${at(2)} µs; first call of free: ${at(3)} µs`);
