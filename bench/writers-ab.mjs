#!/usr/bin/env node
// A counter's increment through its key's handle, straight into the wasm module (no shim), in
// two workloads: 1,000 counters of one writer each (the hot-path row of `npm run bench`), and
// one counter that 2,000 past writers incremented (a replica of a fleet whose containers each
// wrote under their own replica id). The buffer is taken every 4,096 increments, as a
// replica's sync engine drains it. Median (and fastest) ns per increment over alternating
// rounds.
//
//   node bench/writers-ab.mjs                  the build in pkg/web
//   node bench/writers-ab.mjs DIR_A DIR_B ...  builds copied from pkg/web (A/B in one run)
import { alternate, loadBuilds } from "./common.mjs";

const builds = await loadBuilds(process.argv.slice(2));
const keys = Array.from({ length: 1000 }, (_, i) => `page:${i}`);
const N = 400_000;
// Each build's store for the many-writers mode is made once (2,000 writers of "views").
const many = new Map();
function manyStore(g) {
  if (!many.has(g)) {
    const s = new g.Store(0, 1);
    for (let i = 0; i < 2000; i++) {
      const w = new g.Store(0, 1000 + i);
      w.incrBy("views", 1);
      s.applyDeltas(w.takeDeltas());
      w.free();
    }
    many.set(g, { s, h: s.intern("views") });
  }
  return many.get(g);
}
function one(g, mode) {
  if (mode === "1000 keys, one writer") {
    const s = new g.Store(0, 1);
    const hs = keys.map((k) => s.intern(k));
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      s.incrByHandle(hs[i % 1000], 1);
      if (i % 4096 === 0) s.takeDeltas();
    }
    const t = performance.now() - t0;
    s.free();
    return (t * 1e6) / N;
  }
  const { s, h } = manyStore(g);
  const n = N / 4;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    s.incrByHandle(h, 1);
    if (i % 4096 === 0) s.takeDeltas();
  }
  return ((performance.now() - t0) * 1e6) / n;
}
alternate(builds, ["1000 keys, one writer", "one key, 2,000 writers"], one, 9);
