#!/usr/bin/env node
// SADD through a key handle, straight into the wasm module (no shim), in four workloads: a
// present member (64 per key), a new member (200 per key), a present member with the outgoing
// buffer taken every 4,096 adds (as a replica's sync engine drains it), and a new member so.
// Median (and fastest) ns per add over alternating rounds, after the wasm memory that 200,000
// new members take in each build.
//
//   node bench/sadd-ab.mjs                  the build in pkg/web
//   node bench/sadd-ab.mjs DIR_A DIR_B ...  builds copied from pkg/web (A/B in one run)
import { alternate, handleStore, loadBuilds } from "./common.mjs";

const builds = await loadBuilds(process.argv.slice(2));
const KEYS = 1000;
const N = 200_000;
const SADD = 1; // the op number of js/core.mjs's typed writes
const NONE = 0xffffffff;
const keys = Array.from({ length: KEYS }, (_, i) => `page:${i}:views`);
const enc = new TextEncoder();
const fresh = Array.from({ length: N }, (_, i) => enc.encode(`u${i}`));
const users = Array.from({ length: 50 }, (_, i) => enc.encode(`user${i}`));
const modes = {
  present: (i) => fresh[i % 64],
  new: (i) => fresh[i],
  "present, drained": (i) => users[i % 50],
  "new, drained": (i) => fresh[i],
};
function one(g, mode) {
  const { store: s, handles: hs, scratch } = handleStore(g, keys, 16);
  const pick = modes[mode];
  const drain = mode.endsWith("drained");
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const b = pick(i);
    scratch().set(b);
    if (Number.isNaN(s.execHandle(1000, SADD, hs[i % KEYS], b.length, NONE))) throw s.takeError();
    if (drain && i % 4096 === 0) s.takeDeltas();
  }
  const t = performance.now() - t0;
  s.free();
  return (t * 1e6) / N;
}
// First, in each build's fresh wasm memory (which never shrinks): its size after the adds of
// 200,000 new members with the buffer untaken (state and buffer both hold every member).
for (const { dir, glue } of builds) {
  const { store: s, handles: hs, scratch } = handleStore(glue, keys, 16);
  for (let i = 0; i < N; i++) {
    scratch().set(fresh[i]);
    s.execHandle(1000, SADD, hs[i % KEYS], fresh[i].length, NONE);
  }
  const mb = glue.wasmMemory().buffer.byteLength / 1e6;
  console.log(`${dir}: wasm memory after ${N.toLocaleString("en-US")} new members: ${mb.toFixed(1)} MB`);
  s.free();
}
alternate(builds, Object.keys(modes), one);
