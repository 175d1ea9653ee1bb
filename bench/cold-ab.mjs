#!/usr/bin/env node
// The wasm module's cold start, as section 4 of `npm run bench` times it ("castamere module":
// import the glue, compile the module, instantiate it, one INCRBY), in fresh processes that
// alternate between builds so that all see the same machine. Median of 31 processes each.
//
//   node bench/cold-ab.mjs                  the build in pkg/web
//   node bench/cold-ab.mjs DIR_A DIR_B ...  builds copied from pkg/web (A/B in one run)
import { join, resolve } from "node:path";
import { median, probeFile, runProbe } from "./common.mjs";

const RUNS = 31;
const dirs = process.argv.length > 2 ? process.argv.slice(2) : ["pkg/web"];
const probes = dirs.map((d, i) => {
  const glue = JSON.stringify(join(resolve(d), "castamere.mjs"));
  const wasm = JSON.stringify(join(resolve(d), "castamere_bg.wasm"));
  return probeFile(
    `cold-ab-${i}.mjs`,
    `const { readFileSync } = await import("node:fs"); const t0 = performance.now();
const g = await import(${glue}); g.initSync({ module: new WebAssembly.Module(readFileSync(${wasm})) });
new g.Store(0, 1).incrBy("views", 1); console.log(performance.now() - t0);\n`,
  );
});
const ms = dirs.map(() => []);
for (let r = 0; r < RUNS; r++) {
  for (let i = 0; i < probes.length; i++) {
    ms[i].push(runProbe(probes[i]));
  }
}
for (let i = 0; i < dirs.length; i++) {
  console.log(`${dirs[i]}: module cold start, median of ${RUNS}: ${median(ms[i]).toFixed(2)} ms`);
}
