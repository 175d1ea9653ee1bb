#!/usr/bin/env node
// HSET through a key handle, straight into the wasm module (no shim): 8 fields per key over
// 1,000 keys, each field's value changing every 8,000 writes, plain and with the outgoing
// buffer taken every 4,096 writes (as a replica's sync engine drains it). Median (and
// fastest) ns per write over alternating rounds.
//
//   node bench/hset-ab.mjs                  the build in pkg/web
//   node bench/hset-ab.mjs DIR_A DIR_B ...  builds copied from pkg/web (A/B in one run)
import { alternate, handleStore, loadBuilds } from "./common.mjs";

const builds = await loadBuilds(process.argv.slice(2));
const KEYS = 1000;
const N = 400_000;
const HSET = 3; // the op number of js/core.mjs's typed writes
const keys = Array.from({ length: KEYS }, (_, i) => `page:${i}:views`);
const enc = new TextEncoder();
const fields = Array.from({ length: 8 }, (_, i) => enc.encode(`u${i}`));
const values = [enc.encode("Rains of Castamere"), enc.encode("The Lannister debts")];
function one(g, mode) {
  const { store: s, handles: hs, scratch } = handleStore(g, keys, 64);
  const drain = mode === "drained";
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const f = fields[i % 8];
    const v = values[Math.floor(i / 8000) % 2];
    const view = scratch();
    view.set(f);
    view.set(v, f.length);
    if (Number.isNaN(s.execHandle(1000, HSET, hs[i % KEYS], f.length, v.length))) throw s.takeError();
    if (drain && i % 4096 === 0) s.takeDeltas();
  }
  const t = performance.now() - t0;
  s.free();
  return (t * 1e6) / N;
}
alternate(builds, ["plain", "drained"], one);
