// What the benchmark scripts share: the rate loop, a plain JS Map doing the bookkeeping a
// replica does for each write (the value, plus the pending delta it must ship; the pending
// map is cleared every 4,096 operations, as a sync engine takes its buffer), and the harness
// of the module A/B scripts (loadBuilds, alternate).

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeFetch } from "../js/node-fetch.mjs";

const probes = join(dirname(fileURLToPath(import.meta.url)), "out");

/** Writes `code` as the module file bench/out/`name` (a probe run in fresh processes) and
 * returns its path. */
export function probeFile(name, code) {
  mkdirSync(probes, { recursive: true });
  const file = join(probes, name);
  writeFileSync(file, code);
  return file;
}

/** Runs the probe `file` in a fresh Node process: what it printed, parsed as JSON. */
export function runProbe(file, cwd) {
  return JSON.parse(execFileSync(process.execPath, [file], { cwd, encoding: "utf8" }));
}

/** Operations per second of fn(i) over about `ms` milliseconds, best of 3 rounds. */
export function rate(fn, ms, batch = 1000) {
  let best = 0;
  for (let round = 0; round < 3; round++) best = Math.max(best, rateRound(fn, ms, batch).perSec);
  return best;
}

/**
 * One timed round: fn(start), fn(start + 1), ... in batches for about `ms` milliseconds.
 * `{ perSec, calls }`, where `calls` is how many calls it made (the next round's `start`).
 */
export function rateRound(fn, ms, batch = 1000, start = 0) {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < batch; i++) fn(start + n + i);
    n += batch;
    t = performance.now();
  }
  return { perSec: (n / (t - t0)) * 1000, calls: n };
}

/** Operations per second of fn(0), ..., fn(n - 1) on a fresh fn = make(), one round. */
export function rateFreshRound(make, n) {
  const fn = make();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const perSec = (n / (performance.now() - t0)) * 1000;
  fn.free?.();
  return perSec;
}

/** The Map baselines of the four hot operations over `keys`, `members` and `fields`. */
export const mapBaseline = {
  counter(keys) {
    const m = new Map();
    const pending = new Map();
    return (i) => {
      const k = keys[i % keys.length];
      const v = (m.get(k) ?? 0) + 1;
      m.set(k, v);
      pending.set(k, v);
      if (i % 4096 === 0) pending.clear();
    };
  },
  register(keys, value = () => "value") {
    const m = new Map();
    const pending = new Map();
    return (i) => {
      const k = keys[i % keys.length];
      const v = { ts: i, value: value(i) };
      m.set(k, v);
      pending.set(k, v);
      if (i % 4096 === 0) pending.clear();
    };
  },
  set(keys, members) {
    const m = new Map();
    const pending = new Map();
    return (i) => {
      const k = keys[i % keys.length];
      let s = m.get(k);
      if (!s) {
        s = new Set();
        m.set(k, s);
      }
      s.add(members[i % members.length]);
      pending.set(k, s);
      if (i % 4096 === 0) pending.clear();
    };
  },
  hash(keys, fields, value = () => "v") {
    const m = new Map();
    const pending = new Map();
    return (i) => {
      const k = keys[i % keys.length];
      let h = m.get(k);
      if (!h) {
        h = new Map();
        m.set(k, h);
      }
      h.set(fields[i % fields.length], value(i));
      pending.set(k, h);
      if (i % 4096 === 0) pending.clear();
    };
  },
};

/**
 * `castamere <command> --port 0 --quiet ...args` in its own process, once it says where it
 * listens (the tests' startProcess, which reads the address from that line): `{ port, proc }`.
 */
export async function startCli(command, args) {
  const { startProcess } = await import("../tests/js/support/processes.mjs");
  const proc = await startProcess([command, "--port", "0", ...args]);
  return { port: proc.port, proc };
}

/**
 * A relay in its own process on a free loopback port (as an operator runs it), started with
 * `js/cli.mjs relay` and `args`. Resolves to `{ url, port, metric(name, labels),
 * metrics([[name, labels], ...]), stop() }`; `metric` reads one value from its Prometheus
 * endpoint, `metrics` several from one scrape.
 */
export async function startRelayProcess(secret, args = []) {
  const { port, proc } = await startCli("relay", ["--secret", secret, ...args]);
  // node:http with a retry (the origin client's fetch): after a flood the relay can take
  // seconds to read a request, and a kept-alive connection then meets the server's idle
  // timeout, which closes it under the request (ECONNRESET from fetch()).
  const scrape = async () => (await nodeFetch(`http://127.0.0.1:${port}/metrics`)).text();
  // One scrape, read for each of `wanted` ([name, labels] pairs): values from one moment.
  const metrics = async (wanted) => {
    const lines = (await scrape()).split("\n");
    return wanted.map(([name, labels = ""]) => {
      const line = lines.find((l) => l.startsWith(`${name}${labels} `));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
    });
  };
  const metric = async (name, labels) => (await metrics([[name, labels]]))[0];
  const { stop } = await import("../tests/js/support/processes.mjs");
  return { url: proc.url, port, metric, metrics, stop: () => stop(proc) };
}

/** The p-th percentile of `xs`. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** The median of `xs` (the upper one of an even count). */
export const median = (xs) => percentile(xs, 50);

/**
 * The wasm module builds named by `dirs` (copies of pkg/web; pkg/web when none), each loaded
 * and initialised, for an A/B of the module alone: [{ dir, glue }].
 */
export async function loadBuilds(dirs) {
  const { readFileSync } = await import("node:fs");
  const { resolve } = await import("node:path");
  const { pathToFileURL } = await import("node:url");
  const builds = [];
  for (const dir of dirs.length > 0 ? dirs : ["pkg/web"]) {
    const glue = await import(pathToFileURL(resolve(dir, "castamere.mjs")).href);
    glue.initSync({ module: readFileSync(resolve(dir, "castamere_bg.wasm")) });
    builds.push({ dir, glue });
  }
  return builds;
}

/**
 * Prints, per build, the median and the fastest of `one(glue, mode)` (ns per call) for each
 * mode, over `rounds` rounds in which builds and modes alternate, so that all see the same
 * machine (on a shared machine the fastest round is the steadier figure of the two).
 */
export function alternate(builds, modes, one, rounds = 15) {
  const res = builds.map(() => Object.fromEntries(modes.map((m) => [m, []])));
  for (let r = 0; r < rounds; r++) {
    for (const [k, { glue }] of builds.entries()) for (const m of modes) res[k][m].push(one(glue, m));
  }
  for (const [k, { dir }] of builds.entries()) {
    const figures = modes.map((m) => `${m} ${median(res[k][m]).toFixed(0)} (${Math.min(...res[k][m]).toFixed(0)}) ns`);
    console.log(`${dir}: ${figures.join(", ")}`);
  }
}

/**
 * A module Store (replica 1) of `glue` with `keys` interned, for driving `execHandle` straight:
 * `{ store, handles, scratch() }`, where `scratch()` is a view of the first `bytes` bytes of
 * the store's scratch buffer, made again when wasm memory grew (which detaches the old one).
 */
export function handleStore(glue, keys, bytes) {
  const store = new glue.Store(0, 1);
  const handles = keys.map((k) => store.intern(k));
  const ptr = store.scratchPtr();
  const memory = glue.wasmMemory();
  let view = new Uint8Array(memory.buffer, ptr, bytes);
  const scratch = () => {
    if (view.byteLength === 0) view = new Uint8Array(memory.buffer, ptr, bytes);
    return view;
  };
  return { store, handles, scratch };
}
