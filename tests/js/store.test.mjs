// The Store from JavaScript: replies, errors, typed methods, deltas between replicas.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { CastamereError, Store, wasmMemoryBytes } from "castamere";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

test("numbers and bigints in a command are written as JavaScript writes them", () => {
  const s = new Store({ replicaId: 1 });
  const cases = [5, -0, 1.5, -2.25, 1e21, 1e-7, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, 2n ** 64n, -7n];
  for (const v of cases) {
    assert.equal(s.exec(["SET", "k", v]), "OK");
    assert.equal(s.exec(["GET", "k"]), String(v), `${String(v)}`);
  }
  // A field name too, and an error's code is set on the error.
  s.exec(["HSET", "h", 0.5, 1n]);
  assert.deepEqual(s.exec(["HGETALL", "h"]), { 0.5: "1" });
  assert.throws(
    () => s.exec(["SET", "k", {}]),
    (e) => e instanceof CastamereError && e.code === "ERR",
  );
});

test("exec returns Redis-shaped replies as JavaScript values", () => {
  const s = new Store({ replicaId: 1 });
  assert.equal(s.exec(["INCRBY", "views", "5"]), 5);
  assert.equal(s.exec(["INCRBY", "views", 5]), 10);
  assert.equal(s.exec(["GET", "nope"]), null);
  assert.equal(s.exec(["SET", "title", "Rains"]), "OK");
  assert.equal(s.get("title"), "Rains");
  assert.deepEqual(s.exec(["MGET", "title", "views", "nope"]), ["Rains", 10, null]);
  assert.equal(s.exec(["INCRBY", "big", "9007199254740993"]), 9007199254740993n);
  s.hset("page", { body: "hello", editor: "ned" });
  s.hincrby("page", "edits", 2);
  assert.deepEqual(s.hgetall("page"), { body: "hello", editor: "ned", edits: 2 });
  assert.equal(s.type("page"), "hash");
});

test("typed methods map onto the same commands", () => {
  const s = new Store();
  assert.equal(s.incr("n"), 1);
  assert.equal(s.incrBy("n", 41), 42);
  assert.equal(s.decr("n"), 41);
  assert.equal(s.sadd("starks", "ned", "robb"), 2);
  assert.equal(s.srem("starks", "ned"), 1);
  assert.deepEqual(s.smembers("starks"), ["robb"]);
  assert.equal(s.sismember("starks", "robb"), true);
  s.flagEnable("live");
  assert.equal(s.flagGet("live"), true);
  assert.equal(s.del("starks", "nope"), 1);
  assert.equal(s.exists("n", "starks"), 1);
  assert.deepEqual([...s.keys()].sort(), ["live", "n"]);
  assert.equal(s.ping(), "PONG");
});

test("errors throw CastamereError with the Redis code and message", () => {
  const s = new Store();
  s.set("k", "v");
  assert.throws(
    () => s.incr("k"),
    (e) =>
      e instanceof CastamereError &&
      e.code === "WRONGTYPE" &&
      e.message === "WRONGTYPE Operation against a key holding the wrong kind of value",
  );
  // The interned hot path reports the same errors, and a failure leaves nothing behind.
  assert.throws(() => s.incr("k"), { code: "WRONGTYPE" });
  assert.throws(() => s.incrBy("n", 1.5), { code: "ERR" });
  assert.equal(s.incr("n"), 1);
  assert.throws(() => s.incrBy("n", 2 ** 60), { code: "ERR" });
  s.incrBy("big", 2 ** 53 - 1);
  assert.equal(s.incrBy("big", 2), 2n ** 53n + 1n, "beyond 2^53 the value comes back exact, as a bigint");
  assert.equal(s.get("k"), "v");
  assert.throws(() => s.exec(["GET"]), { code: "ERR", message: "ERR wrong number of arguments for 'get' command" });
  assert.throws(() => s.exec(["INCRBY", "n", "x"]), { code: "ERR" });
  assert.throws(() => s.exec([{}]), { code: "ERR" });
  assert.throws(() => s.applyDeltas(new Uint8Array([0xc1, 0xff])), { code: "EPROTO" });
  assert.throws(() => new Store({ replicaId: -1 }), CastamereError);
  // A command as one string, or deltas as anything but bytes, say what they take (a string had
  // been read letter by letter: "unknown command 'G'"; deltas as "format 0x00, upgrade").
  assert.throws(() => s.exec("GET k"), {
    code: "ERR",
    message: 'ERR exec() takes the command as an array of words, e.g. ["GET", "key"], not the string "GET k"',
  });
  assert.throws(() => s.hset("h", "field"), { code: "ERR", message: /hset\(\) takes a key, a field and its value/ });
  assert.throws(() => s.applyDeltas("abc"), {
    code: "ERR",
    message: /takes the Uint8Array that takeDeltas\(\) returned/,
  });
  assert.equal(s.get("k"), "v");
});

test("replica ids are the integers from 0 to 2^64 - 1, in every form", () => {
  const top = 2n ** 64n - 1n;
  assert.equal(new Store({ replicaId: top }).replicaId, top.toString());
  assert.equal(new Store({ replicaId: top.toString() }).replicaId, top.toString());
  assert.equal(new Store({ replicaId: 0x1234_5678_9abc_def0n }).replicaId, "1311768467463790320");
  assert.equal(new Store({ replicaId: 42 }).replicaId, "42");
  for (const bad of [2n ** 64n, -1n, -(2n ** 63n), 2n ** 100n, "18446744073709551616", 1.5, "x"]) {
    assert.throws(() => new Store({ replicaId: bad }), { name: "CastamereError", code: "ERR" }, String(bad));
  }
  const ids = new Set(Array.from({ length: 200 }, () => new Store().replicaId));
  assert.equal(ids.size, 200, "random replica ids repeat");
});

// A fresh Node process that counts reads of globalThis.crypto, makes stores with random ids
// and prints what it saw; `noDevice` makes opening /dev/urandom fail, as where there is none.
function randomIdsInFreshProcess(noDevice) {
  const code = `
    import fs from "node:fs";
    let reads = 0;
    const webCrypto = globalThis.crypto;
    Object.defineProperty(globalThis, "crypto", { get: () => (reads++, webCrypto) });
    const open = fs.openSync;
    fs.openSync = (path, ...rest) => {
      if (${noDevice} && String(path) === "/dev/urandom") throw new Error("ENOENT: no /dev/urandom here");
      return open(path, ...rest);
    };
    const { Store } = await import("castamere");
    const ids = Array.from({ length: 50 }, () => new Store().replicaId);
    console.log(JSON.stringify({ reads, ids }));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8" });
  return JSON.parse(out);
}

test("random replica ids in Node come from /dev/urandom, and from web crypto where it cannot be read", () => {
  const device = randomIdsInFreshProcess(false);
  const other = randomIdsInFreshProcess(false);
  const fallback = randomIdsInFreshProcess(true);
  assert.equal(device.reads, 0, "web crypto was loaded for a replica id");
  assert.ok(fallback.reads >= 50, `web crypto read ${fallback.reads} times for 50 ids without the device`);
  const all = [...device.ids, ...other.ids, ...fallback.ids];
  assert.equal(new Set(all).size, 150, "random replica ids repeat across processes");
  for (const id of all) assert.notEqual(BigInt(id), 0n);
});

test("deltas carry writes between replicas, which converge", () => {
  const a = new Store({ replicaId: 1 });
  const b = new Store({ replicaId: 2 });
  a.incrBy("views", 3);
  b.incrBy("views", 4);
  a.sadd("watchers", "arya");
  b.sadd("watchers", "sansa");
  const da = a.takeDeltas();
  const db = b.takeDeltas();
  assert.ok(da instanceof Uint8Array);
  assert.equal(a.takeDeltas(), undefined);
  a.applyDeltas(db);
  b.applyDeltas(da);
  b.applyDeltas(da); // duplicates are harmless
  for (const s of [a, b]) {
    assert.equal(s.get("views"), 7);
    assert.deepEqual(s.smembers("watchers"), ["arya", "sansa"]);
  }
  const c = new Store();
  c.applyDeltas(a.snapshot());
  assert.equal(c.get("views"), 7);
});

test("typed writes agree with exec for any words: non-ASCII, long, failing, while memory grows", () => {
  const typed = new Store({ replicaId: 5 });
  const plain = new Store({ replicaId: 5 });
  const long = "x".repeat(5000);
  const words = ["page", "Daenerys Stormborn", "Ünïcødé 🐉", long, "", "42"];
  let n = 0;
  for (let round = 0; round < 300; round++) {
    for (const a of words) {
      for (const b of words) {
        // Keys of up to 64 characters are interned; longer ones pass as bytes.
        const key = `${a.slice(0, round % 2 ? 40 : 80)}:${round % 7}`;
        const ops = [
          [() => typed.set(`s:${key}`, b), () => plain.exec(["SET", `s:${key}`, b])],
          [() => typed.sadd(`t:${key}`, b), () => plain.exec(["SADD", `t:${key}`, b])],
          [() => typed.srem(`t:${key}`, a), () => plain.exec(["SREM", `t:${key}`, a])],
          [() => typed.hset(`h:${key}`, a, b), () => plain.exec(["HSET", `h:${key}`, a, b])],
          [() => typed.hincrby(`c:${key}`, a, 3), () => plain.exec(["HINCRBY", `c:${key}`, a, "3"])],
          // Wrong types fail the same way on both, and change nothing.
          [() => typed.sadd(`s:${key}`, b), () => plain.exec(["SADD", `s:${key}`, b])],
          [() => typed.hset(`t:${key}`, a, b), () => plain.exec(["HSET", `t:${key}`, a, b])],
        ];
        const [t, p] = ops[n++ % ops.length];
        let rt;
        let rp;
        try {
          rt = t();
        } catch (e) {
          rt = `${e.code}`;
        }
        try {
          rp = p();
        } catch (e) {
          rp = `${e.code}`;
        }
        assert.deepEqual(rt, rp);
      }
    }
  }
  // Same contents (timestamps differ by the clock between the two calls, so not the bytes).
  const read = (s) =>
    [...s.keys()].sort().map((k) => {
      const t = s.type(k);
      const v = t === "set" ? s.smembers(k) : t === "hash" ? s.hgetall(k) : s.get(k);
      return [k, t, v];
    });
  assert.deepEqual(read(typed), read(plain));
  assert.ok(typed.size > 100);
  assert.equal(typed.hincrby("big", "f", 2 ** 53 - 1), 2 ** 53 - 1);
  assert.equal(typed.hincrby("big", "f", 2), 2n ** 53n + 1n, "beyond 2^53 the value comes back exact");
});

test("keys are interned on their second write, up to a bound; the others pass as bytes", () => {
  const MAX_HANDLES = 16384; // MAX_INTERNED in src/store/mod.rs
  const s = new Store({ replicaId: 8 });
  const write = (i) => {
    if (i % 3 === 0) s.set(`k${i}`, `v${i}`);
    else if (i % 3 === 1) s.sadd(`k${i}`, `m${i}`);
    else s.hset(`k${i}`, "f", `v${i}`);
  };
  for (let i = 0; i < 1000; i++) write(i);
  assert.equal(s._handles.size, 0, "a key written once takes no handle");
  const n = MAX_HANDLES + 500;
  for (let i = 0; i < n; i++) {
    write(i);
    write(i);
  }
  assert.equal(s._handles.size, MAX_HANDLES, "no more handles than the module interns");
  assert.equal(s.size, n);
  for (const i of [0, 1, 2, MAX_HANDLES - 1, MAX_HANDLES, MAX_HANDLES + 1, n - 1]) {
    const k = `k${i}`;
    const want = i % 3 === 0 ? `v${i}` : i % 3 === 1 ? [`m${i}`] : { f: `v${i}` };
    const got = i % 3 === 0 ? s.get(k) : i % 3 === 1 ? s.smembers(k) : s.hgetall(k);
    assert.deepEqual(got, want, k);
  }
  // Counters share the table: a new key past the bound still counts.
  assert.equal(s.incr("views"), 1);
  assert.equal(s.incr("views"), 2);
  assert.equal(s.incr("views"), 3);
});

test("typed writes share a clock reading only within one synchronous run, and for at most 16 writes", async () => {
  const realNow = Date.now;
  // Another replica wrote at 3,000 ms: whether the last write of `s` beats it shows the
  // clock reading that write used (1,000 ms loses, 5,000 ms wins).
  const beats = (s) => {
    const other = new Store({ replicaId: 9 });
    Date.now = () => 3000;
    other.set("k", "other");
    const probe = new Store({ replicaId: 5 });
    probe.applyDeltas(other.takeDeltas());
    probe.applyDeltas(s.takeDeltas());
    return probe.get("k") !== "other";
  };
  try {
    for (const [via, write] of [
      ["handle or scratch path", (s, v) => s.set("k", v)],
      ["exec3 path", (s, v) => s.set("k", `${v}${"x".repeat(5000)}`)],
    ]) {
      let s = new Store({ replicaId: 1 });
      Date.now = () => 1000;
      write(s, "a");
      Date.now = () => 5000;
      write(s, "b");
      assert.equal(beats(s), false, `${via}: the second write of a run reuses the first reading`);

      s = new Store({ replicaId: 1 });
      Date.now = () => 1000;
      write(s, "a");
      await null; // the run ends
      Date.now = () => 5000;
      write(s, "b");
      assert.equal(beats(s), true, `${via}: a write in the next run reads the clock`);

      s = new Store({ replicaId: 1 });
      Date.now = () => 1000;
      write(s, "a");
      Date.now = () => 5000;
      for (let i = 0; i < 15; i++) write(s, "b");
      assert.equal(beats(s), false, `${via}: 16 writes share a reading`);
      Date.now = () => 5000;
      write(s, "c");
      assert.equal(beats(s), true, `${via}: the 17th write reads the clock`);
      await null;
    }
  } finally {
    Date.now = realNow;
  }
});

test("free() gives a store's wasm memory back for the next store; a freed store throws ECLOSED", () => {
  // Wasm memory only grows.
  const wasmBytes = wasmMemoryBytes;
  const fill = () => {
    const s = new Store({ replicaId: 1 });
    for (let i = 0; i < 50_000; i++) s.sadd(`k${i % 100}`, `m${i}`);
    return s;
  };
  const start = wasmBytes();
  fill().free();
  const one = wasmBytes() - start;
  for (let round = 0; round < 6; round++) fill().free();
  const grown = wasmBytes() - start;
  assert.ok(grown < 2 * Math.max(one, 4 << 20), `six more stores grew memory by ${grown} B (one store: ${one} B)`);

  const s = new Store();
  s.incr("views");
  s.free();
  s.free(); // a second free does nothing
  for (const call of [
    () => s.incr("views"),
    () => s.get("views"),
    () => s.sadd("watchers", "arya"),
    () => s.hset("page", "title", "x"),
    () => s.exec(["PING"]),
    () => s.size,
    () => s.takeDeltas(),
    () => s.snapshot(),
  ]) {
    assert.throws(call, (e) => e instanceof CastamereError && e.code === "ECLOSED");
  }
  if (Symbol.dispose) assert.equal(Store.prototype[Symbol.dispose], Store.prototype.free);
});
