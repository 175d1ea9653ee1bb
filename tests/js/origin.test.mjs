// The origin as a real process with a real SQLite file.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { open } from "castamere";
import { startOrigin } from "castamere/origin";
import { startRelay } from "castamere/relay";
import { mintToken } from "castamere/token";
// The wasm module's own bindings (the package bundles its own copy), for batches cut by hand.
import { Origin, Replica, transmits } from "../../bench/glue.mjs";
import { eventually, startProcess, stop } from "./support/processes.mjs";

const secret = "origin-test-secret";
const token = mintToken(secret, { tenant: "wiki", region: "eu" });
const dir = mkdtempSync(join(tmpdir(), "castamere-origin-"));
const children = [];
let relay;

before(async () => {
  relay = await startRelay({ port: 0, secret });
});
after(async () => {
  for (const c of children) await stop(c, "SIGKILL");
  await relay.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startOriginProcess(db, port = 0) {
  const child = await startProcess([
    "origin",
    "--port",
    String(port),
    "--db",
    db,
    "--secret",
    secret,
    "--tenant",
    "wiki",
  ]);
  children.push(child);
  return { child, port: child.port, url: child.url };
}

const auth = { authorization: `Bearer ${token}` };
async function value(url, key) {
  const r = await fetch(`${url}/v1/keys/${encodeURIComponent(key)}`, { headers: auth });
  return r.status === 404 ? null : (await r.json()).value;
}
/** Several keys as of one moment: read from one snapshot, where one GET per key could see a
 * batch land between two of them. */
async function valuesAtOnce(url, keys) {
  const r = await fetch(`${url}/v1/snapshot`, { headers: auth });
  assert.equal(r.status, 200);
  const reader = new Replica(0, 999, { originIntervalMs: 3_600_000 });
  reader.start(1);
  transmits(reader);
  reader.handleMessage(2, new Uint8Array(await r.arrayBuffer()));
  const values = keys.map((k) => reader.exec(["GET", k], 3));
  reader.free();
  return values;
}
const post = (url, body, headers = {}) =>
  fetch(`${url}/v1/batches`, {
    method: "POST",
    body,
    headers: { ...auth, "content-type": "application/x-castamere", ...headers },
  });

/** Batches of a replica that never talks to peers: one per call of `round(commands)`. A
 * scratch in-process origin acknowledges each, so the next one can be cut. */
function batcher(id) {
  const r = new Replica(0, id, { originIntervalMs: 3_600_000 });
  const scratch = new Origin();
  let now = 1_000;
  r.start(now);
  transmits(r);
  return (commands) => {
    now += 10;
    for (const c of commands) r.exec(c, now);
    r.flushOrigin(now);
    const batch = transmits(r).find((t) => t.to === "origin").payload;
    r.handleMessage(now, scratch.handle(batch).response);
    return batch;
  };
}

/** Two batches of writer `id`, in order: n += 10; then n += 5 and s gets "x". */
function twoBatches(id) {
  const round = batcher(id);
  const b1 = round([["INCRBY", "n", "10"]]);
  const b2 = round([
    ["INCRBY", "n", "5"],
    ["SADD", "s", "x"],
  ]);
  return [b1, b2];
}

test("SIGKILL in the middle of a stream of batches: acknowledged batches survive whole, the rest are resent", async (t) => {
  const db = join(dir, "kill.sqlite");
  let origin = await startOriginProcess(db);
  const writer = await open({
    relay: relay.url,
    token,
    origin: origin.url,
    config: { bootstrapBudgetMs: 50, originIntervalMs: 3_600_000, originRetryMs: 50 },
  });
  // Closed even when an assertion fails: an open store keeps this file's process alive.
  t.after(() => writer.close());
  const rounds = 40;
  let acked = 0;
  let killedAt = -1;
  for (let i = 1; i <= rounds; i++) {
    for (let k = 0; k < 100; k++) writer.incr("views");
    writer.set("last-round", String(i));
    if (i === 15) {
      // Kill while this round's batch is on its way.
      const flushing = writer.flush({ to: "origin", budgetMs: 200 });
      await new Promise((r) => setTimeout(r, 1));
      await stop(origin.child, "SIGKILL");
      killedAt = i;
      const f = await flushing;
      if (f.acked) acked = i;
      // Restarted on the same file: everything acknowledged is there, nothing is half-applied.
      // The writer resends the unacknowledged batch meanwhile, so both keys come from one read.
      origin = await startOriginProcess(db, origin.port);
      const [views, last] = (await valuesAtOnce(origin.url, ["views", "last-round"])).map((v) => Number(v ?? 0));
      assert.ok(views >= acked * 100, `acknowledged rounds missing: ${views} < ${acked * 100}`);
      assert.equal(views % 100, 0, "a batch was half-applied");
      assert.equal(last, views / 100, "the two keys of one batch disagree");
      continue;
    }
    const f = await writer.flush({ to: "origin", budgetMs: 5_000 });
    assert.ok(f.acked, `round ${i} not acknowledged`);
    acked = i;
  }
  assert.equal(killedAt, 15);
  await writer.flush({ to: "origin", budgetMs: 5_000 });
  assert.equal(await value(origin.url, "views"), rounds * 100);
  assert.equal(await value(origin.url, "last-round"), String(rounds));
  await writer.close();
  await stop(origin.child);
});

test("the same batch twice, out of order, or after a restart counts once", async () => {
  const db = join(dir, "dup.sqlite");
  let origin = await startOriginProcess(db);
  const [b1, b2] = twoBatches(77);
  // Out of order: the second batch waits for the first (it is not applied, and says so).
  assert.equal((await post(origin.url, b2)).status, 200);
  assert.equal(await value(origin.url, "n"), null);
  for (const b of [b1, b1, b2, b2, b1]) assert.equal((await post(origin.url, b)).status, 200);
  assert.equal(await value(origin.url, "n"), 15);
  await stop(origin.child);
  assert.match(origin.child.output(), /\[origin\] SIGTERM: finishing requests\n\[origin\] closed\n/);
  origin = await startOriginProcess(db, origin.port);
  for (const b of [b2, b1]) assert.equal((await post(origin.url, b)).status, 200);
  assert.equal(await value(origin.url, "n"), 15);
  assert.deepEqual(await value(origin.url, "s"), ["x"]);
  const metrics = await (await fetch(`${origin.url}/metrics`)).text();
  assert.match(metrics, /castamere_origin_batches_total 0/); // this process applied nothing new
  await stop(origin.child);
});

test("a batch the origin cannot make durable gets a 503, is not taken as applied, and counts once when resent", async () => {
  const db = join(dir, "persist-fails.sqlite");
  let origin = await startOriginProcess(db);
  const [b1, b2] = twoBatches(79);
  assert.equal((await post(origin.url, b1)).status, 200);
  // Another connection to the same file makes the origin's next commit fail, as a full disk or
  // an I/O error would: every batch the origin records aborts its transaction.
  const other = new Database(db);
  other.exec(
    "CREATE TRIGGER fail_batches BEFORE INSERT ON batches BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END",
  );
  const failed = await post(origin.url, b2);
  assert.equal(failed.status, 503);
  assert.match(await failed.text(), /could not make the batch durable; retry/);
  // Memory went back to what is on disk: the batch's writes are not served, and the batch is
  // not remembered as applied (a resend answered as a duplicate would lose it).
  assert.equal(await value(origin.url, "n"), 10);
  assert.equal(await value(origin.url, "s"), null);
  assert.equal((await post(origin.url, b2)).status, 503);
  const metrics = await (await fetch(`${origin.url}/metrics`)).text();
  assert.match(metrics, /castamere_origin_persist_failures_total 2/);
  assert.match(metrics, /castamere_origin_batches_total 1/);
  // The disk is back: the resent batch applies once, and survives a restart.
  other.exec("DROP TRIGGER fail_batches");
  other.close();
  for (const b of [b2, b2, b1]) assert.equal((await post(origin.url, b)).status, 200);
  assert.equal(await value(origin.url, "n"), 15);
  await stop(origin.child);
  origin = await startOriginProcess(db, origin.port);
  assert.equal(await value(origin.url, "n"), 15);
  assert.deepEqual(await value(origin.url, "s"), ["x"]);
  await stop(origin.child);
});

test("a database the origin cannot open fails its start, naming the file and why", async () => {
  const notADatabase = join(dir, "not-a-database");
  writeFileSync(notADatabase, "these are not the pages of a SQLite file\n".repeat(100));
  const cases = [
    [join(dir, "no-such-dir", "origin.sqlite"), /directory does not exist/],
    [notADatabase, /file is not a database/],
  ];
  for (const [db, why] of cases) {
    await assert.rejects(startOrigin({ port: 0, secret, tenant: "wiki", db }), (e) => {
      assert.ok(e.message.startsWith(`cannot open the origin's database ${db}: `), e.message);
      assert.match(e.message, why);
      return true;
    });
  }
});

test("the change feed ends when its token expires, saying so", async () => {
  const origin = await startOriginProcess(join(dir, "feed-expiry.sqlite"));
  // Expiring 0.5-1.5 s from now (see the relay's test of token expiry).
  const short = mintToken(secret, { tenant: "wiki", region: "eu", ttl: 1, now: Date.now() + 500 });
  const t0 = Date.now();
  const feed = await fetch(`${origin.url}/v1/changes`, { headers: { authorization: `Bearer ${short}` } });
  assert.equal(feed.status, 200);
  const text = await feed.text(); // resolves when the origin ends the stream
  assert.match(text, /event: expired\ndata: \{"error":"token expired at [^"]+"\}\n\n$/);
  assert.ok(Date.now() - t0 < 2_500, `ended after ${Date.now() - t0} ms`);
  await stop(origin.child);
});

test("malformed, truncated, wrong-tenant and oversized bodies get a 4xx and change nothing", async () => {
  const db = join(dir, "bad.sqlite");
  const origin = await startOriginProcess(db);
  const round = batcher(78);
  const good = round([["INCRBY", "n", "1"]]);
  assert.equal((await post(origin.url, good)).status, 200);
  const other = mintToken(secret, { tenant: "someone-else", region: "eu" });
  const cases = [
    [
      post(origin.url, JSON.stringify({ incr: "n" }), { "content-type": "application/json" }),
      400,
      /not a castamere batch/,
    ],
    [post(origin.url, good.subarray(0, good.length - 3)), 400, /truncated|invalid/],
    [post(origin.url, new Uint8Array([0xc7, 7, 1, 2, 0, 1, 5, 0xc1, 9, 9, 9])), 400, /invalid|truncated/],
    [post(origin.url, good, { authorization: `Bearer ${other}` }), 403, /tenant 'someone-else'/],
    [post(origin.url, good, { authorization: "Bearer nope" }), 401, /malformed token/],
    [post(origin.url, new Uint8Array(40 << 20)), 413, /over the limit/],
  ];
  for (const [req, status, why] of cases) {
    const r = await req;
    assert.equal(r.status, status);
    assert.match(await r.text(), why);
  }
  assert.equal(await value(origin.url, "n"), 1);
  const health = await (await fetch(`${origin.url}/healthz`)).json();
  assert.deepEqual(health, { status: "ok", keys: 1 });
  await stop(origin.child);
});

test("an open() whose token the origin refuses fails at once with the origin's reason", async () => {
  const origin = await startOriginProcess(join(dir, "refused.sqlite"));
  // The relay serves every tenant; this origin serves "wiki" only.
  const other = mintToken(secret, { tenant: "someone-else", region: "eu" });
  const t0 = Date.now();
  await assert.rejects(
    open({ relay: relay.url, token: other, origin: origin.url, config: { bootstrapBudgetMs: 4_000 } }),
    {
      code: "EORIGIN",
      message:
        /^EORIGIN origin answered 403: castamere origin: token is for tenant 'someone-else'; this origin serves 'wiki'$/,
    },
  );
  assert.ok(Date.now() - t0 < 2_000, `open() took ${Date.now() - t0} ms to fail`);
  await stop(origin.child);
});

test("on Node the origin's requests go over node:http, and an unreachable origin is named", async (t) => {
  const origin = await startOriginProcess(join(dir, "node-http.sqlite"));
  // Not the global fetch(): its first use sets up undici, most of a cold open's time.
  const fetchCalls = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (...args) => {
    fetchCalls.push(String(args[0]));
    return realFetch(...args);
  };
  t.after(() => {
    globalThis.fetch = realFetch;
  });
  const db = await open({ relay: relay.url, token, origin: origin.url, config: { bootstrapBudgetMs: 4_000 } });
  t.after(() => db.close());
  db.set("page:bran", "the three-eyed raven");
  assert.equal((await db.flush({ to: "origin" })).level, "origin");
  globalThis.fetch = realFetch;
  assert.equal(db.synced.fromOrigin, true);
  assert.deepEqual(fetchCalls, []);
  assert.equal(await value(origin.url, "page:bran"), "the three-eyed raven");
  // The origin gone: the error says which origin could not be reached, and why.
  await stop(origin.child);
  const errors = [];
  db.on("error", (e) => errors.push(e));
  db.set("page:bran", "a raven that cannot fly");
  assert.equal((await db.flush({ to: "origin", budgetMs: 1_000 })).acked, false);
  const expected = new RegExp(`^EORIGIN cannot reach the origin at ${origin.url}: \\S`);
  assert.ok(
    errors.some((e) => e.code === "EORIGIN" && expected.test(e.message)),
    errors.map((e) => e.message).join("; "),
  );
});

test("a cold replica with no live peer loads the origin's snapshot; the change feed reports batches", async (t) => {
  const db = join(dir, "feed.sqlite");
  const origin = await startOriginProcess(db);
  const events = [];
  const feed = await fetch(`${origin.url}/v1/changes`, { headers: auth });
  const reader = feed.body.getReader();
  t.after(() => reader.cancel());
  const reading = (async () => {
    let text = "";
    while (!text.includes("event: batch")) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(chunk);
    }
    events.push(text);
  })();
  // Alone in the region (the relay's welcome lists nobody), a cold start asks the origin at
  // once and ends with its snapshot, well within half its budget (where it would otherwise
  // start asking the origin).
  const config = { bootstrapBudgetMs: 4_000 };
  const timedOpen = async () => {
    const t0 = Date.now();
    const db = await open({ relay: relay.url, token, origin: origin.url, config });
    t.after(() => db.close());
    const ms = Date.now() - t0;
    assert.ok(ms < config.bootstrapBudgetMs / 2, `a cold start alone in the region took ${ms} ms`);
    return db;
  };
  const a = await timedOpen();
  a.hset("page:ned", { body: "Winter is coming", editor: "arya" });
  a.incrBy("page:ned:views", 42);
  assert.equal((await a.flush({ to: "origin" })).acked, true);
  await a.close();
  await reading;
  assert.match(events[0], /"key":"page:ned:views","type":"counter","value":42/);
  await eventually(() => [...relay.rooms.values()].every((r) => r.size === 0), 5_000, "a left the relay");
  const b = await timedOpen();
  assert.deepEqual(b.synced, { peers: 0, fromOrigin: true, complete: true });
  assert.equal(b.get("page:ned:views"), 42);
  assert.equal(b.hget("page:ned", "editor"), "arya");
  await b.close();
  await reader.cancel();
  await stop(origin.child);
});
