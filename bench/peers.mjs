#!/usr/bin/env node
// One library's run of a side-by-side scenario, in a process of its own so that no library
// pays for what another (or an earlier scenario) left in memory: `npm run bench` runs it per
// library and scenario. Prints `{ ms, bytes }`: the median of five runs (three with --quick).
//   node bench/peers.mjs manyWriters|bootstrap castamere|loro|yjs|automerge [--quick]
import { median } from "./common.mjs";

const [section, lib] = process.argv.slice(2);
const quick = process.argv.includes("--quick");
const REPEATS = quick ? 3 : 5;

/** The median time of `REPEATS` runs of `fn` (which returns a byte count), and those bytes. */
function time(fn) {
  const runs = [];
  let bytes;
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    bytes = fn();
    runs.push(performance.now() - t0);
  }
  return { ms: median(runs), bytes };
}
const sum = (updates) => updates.reduce((n, u) => n + u.length, 0);
const check = (ok, what) => {
  if (!ok) throw new Error(`${lib}: ${what}`);
};

// 3. Many writers (the shape of crdt-benchmarks B3.1): N replicas each set one field of one
// map, then everything is merged into one replica.
const W = quick ? 300 : 1540;
/** Times `W` writers' updates (`write(i)` makes writer i's) merged by `merge` (which returns
 * how many fields the merged map holds). */
function writers(write, merge) {
  return time(() => {
    const updates = Array.from({ length: W }, (_, i) => write(i));
    check(merge(updates) === W, "merge lost fields");
    return sum(updates);
  });
}
const manyWriters = {
  async castamere() {
    const { Store } = await import("castamere");
    return writers(
      (i) => {
        const s = new Store({ replicaId: i + 1 });
        s.hset("map", `k${i}`, `v${i}`);
        return s.takeDeltas();
      },
      (updates) => {
        const t = new Store({ replicaId: W + 1 });
        for (const u of updates) t.applyDeltas(u);
        return t.exec(["HLEN", "map"]);
      },
    );
  },
  async loro() {
    const { LoroDoc } = await import("loro-crdt");
    return writers(
      (i) => {
        const d = new LoroDoc();
        d.getMap("map").set(`k${i}`, `v${i}`);
        return d.export({ mode: "update" });
      },
      (updates) => {
        const t = new LoroDoc();
        t.importBatch(updates);
        return t.getMap("map").size;
      },
    );
  },
  async yjs() {
    const Y = await import("yjs");
    return writers(
      (i) => {
        const d = new Y.Doc();
        d.getMap("map").set(`k${i}`, `v${i}`);
        return Y.encodeStateAsUpdate(d);
      },
      (updates) => {
        const t = new Y.Doc();
        for (const u of updates) Y.applyUpdate(t, u);
        return t.getMap("map").size;
      },
    );
  },
  async automerge() {
    const A = await import("@automerge/automerge");
    const base = A.from({ map: {} });
    return writers(
      (i) => {
        const d = A.change(A.clone(base), (x) => {
          x.map[`k${i}`] = `v${i}`;
        });
        return A.getLastLocalChange(d);
      },
      (changes) => Object.keys(A.applyChanges(A.clone(base), changes)[0].map).length,
    );
  },
};

// 5. Bootstrap: a fresh replica loads a snapshot of N counters and answers a first read.
const N = quick ? 20_000 : 100_000;
/** The median time to load `snap` with `load` (which returns the first read), and its size. */
function loads(snap, load) {
  return time(() => {
    check(load(snap) === 1, "first read");
    return snap.length;
  });
}
const bootstrap = {
  async castamere() {
    const { Store } = await import("castamere");
    const s = new Store({ replicaId: 1 });
    for (let i = 0; i < N; i++) s.incr(`k${i}`);
    return loads(s.snapshot(), (snap) => {
      const t = new Store({ replicaId: 2 });
      t.applyDeltas(snap);
      return t.get("k77");
    });
  },
  async loro() {
    const { LoroDoc } = await import("loro-crdt");
    const d = new LoroDoc();
    const m = d.getMap("m");
    for (let i = 0; i < N; i++) m.set(`k${i}`, 1);
    return loads(d.export({ mode: "snapshot" }), (snap) => {
      const t = new LoroDoc();
      t.import(snap);
      return t.getMap("m").get("k77");
    });
  },
  async yjs() {
    const Y = await import("yjs");
    const d = new Y.Doc();
    const m = d.getMap("m");
    d.transact(() => {
      for (let i = 0; i < N; i++) m.set(`k${i}`, 1);
    });
    return loads(Y.encodeStateAsUpdate(d), (snap) => {
      const t = new Y.Doc();
      Y.applyUpdate(t, snap);
      return t.getMap("m").get("k77");
    });
  },
  async automerge() {
    const A = await import("@automerge/automerge");
    const d = A.change(A.init(), (x) => {
      x.m = {};
      for (let i = 0; i < N; i++) x.m[`k${i}`] = 1;
    });
    return loads(A.save(d), (snap) => A.load(snap).m.k77);
  },
};

const run = { manyWriters, bootstrap }[section]?.[lib];
if (!run) {
  console.error("usage: node bench/peers.mjs manyWriters|bootstrap castamere|loro|yjs|automerge [--quick]");
  process.exit(2);
}
console.log(JSON.stringify({ ...(await run()), writers: W, keys: N, repeats: REPEATS }));
