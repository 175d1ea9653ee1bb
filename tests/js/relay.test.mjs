// The relay refuses what it must and keeps serving everyone else.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { open } from "castamere";
import { startRelay } from "castamere/relay";
import { mintToken, verifyToken } from "castamere/token";
import WebSocket from "ws";

const secret = "relay-test-secret";
let relay;

before(async () => {
  relay = await startRelay({ port: 0, secret, maxFrameBytes: 64 * 1024, maxMessagesPerSecond: 200 });
});
after(async () => {
  await relay.close();
});

function connect(query) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${relay.url}/v1/connect?${query}`);
    const msgs = [];
    ws.on("message", (d, bin) => msgs.push(bin ? new Uint8Array(d) : JSON.parse(d.toString())));
    ws.on("open", () => resolve({ ws, msgs, status: 101 }));
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    ws.on("error", () => {});
  });
}

const closed = (ws) => new Promise((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

test("bad, expired and missing tokens are refused at the upgrade with a reason", async () => {
  const good = mintToken(secret, { tenant: "wiki", region: "eu" });
  const cases = [
    ["replica=1", /no token/],
    ["replica=1&token=garbage", /malformed token/],
    [`replica=1&token=${mintToken("other-secret", { tenant: "wiki", region: "eu" })}`, /another secret/],
    [`replica=1&token=${mintToken(secret, { tenant: "wiki", region: "eu", ttl: -10 })}`, /expired/],
    [`replica=abc&token=${good}`, /replica must be a decimal/],
  ];
  for (const [q, why] of cases) {
    const r = await connect(q);
    assert.notEqual(r.status, 101, q);
    assert.match(r.body, why, q);
  }
  const metrics = await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text();
  assert.match(metrics, /castamere_relay_refusals_total\{reason="token expired at .*"\} 1/);
  assert.ok(Number(metrics.match(/^process_resident_memory_bytes (\d+)$/m)?.[1]) > 1 << 20, "no resident memory gauge");
});

test("a token is minted only with a finite ttl: none signs an expiry the relay would refuse", () => {
  for (const ttl of [Number.NaN, Number.POSITIVE_INFINITY, "abc", "1h"]) {
    assert.throws(() => mintToken(secret, { tenant: "wiki", region: "eu", ttl }), /ttl must be a number of seconds/);
  }
  const claims = verifyToken(
    secret,
    mintToken(secret, { tenant: "wiki", region: "eu", ttl: "60", now: 1_000_000 }),
    1_000_000,
  );
  assert.equal(claims.expires, 1_060_000);
});

test("a connection is closed when its token expires, saying so", async () => {
  // Expiry is in whole seconds (the minting second plus ttl): minted as of half a second
  // ahead, the token expires 0.5-1.5 s from now, not at once when minted late in a second.
  const token = mintToken(secret, { tenant: "wiki", region: "eu", ttl: 1, now: Date.now() + 500 });
  const c = await connect(`replica=5&token=${token}`);
  assert.equal(c.status, 101);
  const t0 = Date.now();
  const { code, reason } = await closed(c.ws);
  assert.equal(code, 4001);
  assert.match(reason, /^token expired at \S+; mint a new one with `castamere token`$/);
  // The token's expiry is in whole seconds: within a second and a bit of the upgrade.
  assert.ok(Date.now() - t0 < 2_500, `closed after ${Date.now() - t0} ms`);
  assert.match(relay.metrics.text(), /castamere_relay_drops_total\{reason="token expired"\} 1/);
});

test("two live replicas with one replica id are told so, each time the relay replaces one with the other", async (t) => {
  const token = mintToken(secret, { tenant: "twins", region: "eu" });
  const config = { bootstrapBudgetMs: 100 };
  const a = await open({ relay: relay.url, token, replicaId: 42, config });
  t.after(() => a.close());
  const errors = { a: [], b: [] };
  a.on("error", (e) => errors.a.push(e));
  const b = await open({ relay: relay.url, token, replicaId: 42, config });
  t.after(() => b.close());
  b.on("error", (e) => errors.b.push(e));
  const deadline = Date.now() + 5_000;
  while ((errors.a.length === 0 || errors.b.length === 0) && Date.now() < deadline) await tick(50);
  await a.close();
  await b.close();
  for (const [who, list] of Object.entries(errors)) {
    assert.ok(list.length > 0, `${who} was not told`);
    assert.equal(list[0].code, "EREPLICAID");
    assert.match(
      list[0].message,
      /another connection with this replica's id \(42\) replaced it at the relay: two live replicas must never share an id/,
    );
  }
});

test("retire() with no origin hands the replica's writes to a live peer", async (t) => {
  const token = mintToken(secret, { tenant: "retiring", region: "eu" });
  // Writes wait an hour to be sent on their own: only retire() can hand them on in time.
  const config = { bootstrapBudgetMs: 100, deltaIntervalMs: 3_600_000 };
  const a = await open({ relay: relay.url, token, config });
  t.after(() => a.close());
  const b = await open({ relay: relay.url, token, config });
  t.after(() => b.close());
  const deadline = Date.now() + 5_000;
  while (a.peers.length === 0 && Date.now() < deadline) await tick(20);
  assert.equal(a.peers.length, 1, "a sees b");
  for (let i = 0; i < 5; i++) a.incr("views");
  assert.ok(a.regionAcked < a.lastWrite, "nothing is held by a peer yet");
  const { done } = await a.retire({ budgetMs: 2_000 });
  assert.equal(done, true);
  assert.ok(a.regionAcked >= a.lastWrite, "a peer holds every write");
  assert.equal(b.get("views"), 5);
});

test("a token for one tenant never sees another tenant's traffic", async () => {
  const a = await connect(`replica=1&token=${mintToken(secret, { tenant: "alpha", region: "eu" })}`);
  const b = await connect(`replica=2&token=${mintToken(secret, { tenant: "beta", region: "eu" })}`);
  const a2 = await connect(`replica=3&token=${mintToken(secret, { tenant: "alpha", region: "eu" })}`);
  a.ws.send(new Uint8Array([0x01, 0x00, 42]));
  // Direct to a replica id of the other tenant goes nowhere.
  const id = new TextEncoder().encode("2");
  a.ws.send(new Uint8Array([0x02, id.length, ...id, 43]));
  await tick(100);
  assert.ok(a2.msgs.some((m) => m instanceof Uint8Array && m[0] === 0x11 && m.at(-1) === 42));
  assert.ok(!b.msgs.some((m) => m instanceof Uint8Array));
  for (const c of [a, b, a2]) c.ws.close();
});

test("oversized, malformed and flooding connections are cut; the relay keeps serving", async (t) => {
  const token = mintToken(secret, { tenant: "wiki", region: "eu" });
  const big = await connect(`replica=10&token=${token}`);
  const bigClosed = closed(big.ws);
  big.ws.send(new Uint8Array(70 * 1024).fill(1));
  assert.equal((await bigClosed).code, 1009);

  const bad = await connect(`replica=11&token=${token}`);
  bad.ws.send("not binary");
  bad.ws.send(new Uint8Array([0x7f, 1, 2]));
  await tick();
  const errors = bad.msgs.filter((m) => m.type === "error");
  assert.equal(errors.length, 2);
  assert.equal(bad.ws.readyState, WebSocket.OPEN);

  const flood = await connect(`replica=12&token=${token}`);
  const floodClosed = closed(flood.ws);
  for (let i = 0; i < 1000; i++) flood.ws.send(new Uint8Array([0x01, 0x00, i & 255]));
  const c = await floodClosed;
  assert.equal(c.code, 1008);
  assert.match(c.reason, /rate limit/);

  // Everyone else is still served: two replicas converge through the relay.
  const a = await open({ relay: relay.url, token, config: { bootstrapBudgetMs: 100 } });
  const b = await open({ relay: relay.url, token, config: { bootstrapBudgetMs: 100 } });
  // Closed even when an assertion fails: an open store keeps this file's process alive.
  t.after(() => Promise.all([a.close(), b.close()]));
  await a.exec(["INCRBY", "k", "3"], { ack: "region" });
  assert.equal(b.get("k"), 3);
  await a.close();
  await b.close();
  bad.ws.close();
  const health = await (await fetch(`http://127.0.0.1:${relay.port}/healthz`)).json();
  assert.equal(health.status, "ok");
});

test("the frames fanned out to a connection in one turn leave in one write, in order and whole", async (t) => {
  const token = mintToken(secret, { tenant: "cork", region: "eu" });
  const from = await connect(`replica=30&token=${token}`);
  const to = await connect(`replica=31&token=${token}`);
  t.after(() => {
    from.ws.close();
    to.ws.close();
  });
  await tick();
  // The relay's end of `to`. Its socket is the ws package's own, which the relay corks: this
  // fails when a version of ws no longer keeps it there.
  const socket = relay.rooms.get("cork\u0000eu")?.get("31")?.ws._socket;
  assert.equal(typeof socket?.cork, "function", "the ws package in use keeps no socket at _socket");
  let writes = 0;
  for (const m of ["_write", "_writev"]) {
    const f = socket[m];
    socket[m] = function (...args) {
      writes++;
      return f.apply(this, args);
    };
  }
  // 100 frames in one write from here, which the relay reads in one chunk (or a few).
  const n = 100;
  from.ws._socket.cork();
  for (let i = 0; i < n; i++) from.ws.send(new Uint8Array([0x01, 0x00, i, ...new Uint8Array(200).fill(i)]));
  from.ws._socket.uncork();
  const got = () => to.msgs.filter((m) => m instanceof Uint8Array && m[0] === 0x11);
  for (let i = 0; i < 100 && got().length < n; i++) await tick(20);
  const frames = got();
  assert.equal(frames.length, n);
  // 0x11 topic idlen "30" payload: each payload whole, in the order sent.
  frames.forEach((f, i) => {
    assert.equal(f.length, 5 + 201);
    assert.ok(
      f.subarray(5).every((b) => b === i),
      `frame ${i} out of order or torn`,
    );
  });
  // One write each had made 100.
  assert.ok(writes <= 5, `${writes} writes for ${n} frames`);
});

test("an open() with a refused token reports why", async () => {
  const errors = [];
  const db = new (await import("castamere")).Db({
    relay: relay.url,
    token: mintToken(secret, { tenant: "wiki", region: "eu", ttl: -1 }),
    config: { bootstrapBudgetMs: 50 },
  });
  db.on("error", (e) => errors.push(e));
  await assert.rejects(db._open(), { code: "ECONNREFUSED", message: /token expired/ });
  await tick(100);
  await db.close();
  assert.ok(
    errors.some((e) => e.code === "ECONNREFUSED" && /token expired/.test(e.message)),
    errors.map(String).join(),
  );
  // open() itself fails with the reason, at once rather than after its budget, and leaves
  // nothing running.
  const t0 = Date.now();
  await assert.rejects(open({ relay: relay.url, token: "not-a-token", config: { bootstrapBudgetMs: 4_000 } }), {
    code: "ECONNREFUSED",
    message: /the relay refused the connection: .*token/,
  });
  assert.ok(Date.now() - t0 < 2_000, `open() took ${Date.now() - t0} ms to fail`);
});

test("close() resolves once the close handshake is done; a relay that never answers holds it only up to a bound", async () => {
  const token = mintToken(secret, { tenant: "closing", region: "eu" });
  const db = await open({ relay: relay.url, token, config: { bootstrapBudgetMs: 50 } });
  const ws = db.transport.ws;
  assert.equal(ws.readyState, 1);
  await db.close();
  assert.equal(ws.readyState, 3, "the socket is closed, not closing, when close() resolves");
  // A relay that takes the connection and never answers a close frame.
  const { WebSocketServer } = await import("ws");
  const mute = new WebSocketServer({ port: 0 });
  await new Promise((r) => mute.once("listening", r));
  mute.on("connection", (sock) => {
    sock._socket.pause();
  });
  const { RelayTransport } = await import("../../js/transport.mjs");
  const transport = new RelayTransport({
    WebSocket,
    url: `ws://127.0.0.1:${mute.address().port}`,
    token,
    replicaId: "7",
    onStatus() {},
    onMessage() {},
  });
  const opened = new Promise((r) => {
    transport.o.onStatus = (s) => s === "open" && r();
  });
  await transport.connect();
  await opened;
  const t0 = Date.now();
  await transport.close(300);
  assert.ok(Date.now() - t0 >= 250 && Date.now() - t0 < 1_000, `close took ${Date.now() - t0} ms`);
  for (const c of mute.clients) c.terminate();
  mute.close();
});

test("a store resumed while its old socket is still closing does not touch that socket (workerd's rule)", async () => {
  // In workerd a socket belongs to the request that opened it: any call on it from a later
  // request throws. A Worker's store suspends at the end of one request and resumes in the
  // next, which must not reach the old socket while its close handshake is still going on.
  // Calls of the ws package on itself go to the socket inside, unchecked.
  class RequestBound {
    constructor(url) {
      this.socket = new WebSocket(url);
      this.foreign = false;
    }
    check() {
      if (this.foreign) throw new Error("Cannot perform I/O on behalf of a different request.");
      return this.socket;
    }
    get readyState() {
      return this.check().readyState;
    }
    set binaryType(t) {
      this.check().binaryType = t;
    }
    on(...a) {
      this.check().on(...a);
      return this;
    }
    addEventListener(...a) {
      this.check().addEventListener(...a);
    }
    send(...a) {
      this.check().send(...a);
    }
    close(...a) {
      this.check().close(...a);
    }
  }
  const token = mintToken(secret, { tenant: "resumed", region: "eu" });
  const db = await open({ relay: relay.url, token, WebSocket: RequestBound, config: { bootstrapBudgetMs: 50 } });
  try {
    for (let request = 0; request < 3; request++) {
      const old = db.transport.ws;
      assert.ok(old instanceof RequestBound);
      db.suspend();
      assert.equal(old.readyState, WebSocket.CLOSING, "the handshake is still going on");
      old.foreign = true; // the next request
      db.resume();
      await db.exec(["INCR", "views"], { ack: "local" });
      assert.equal(await db.exec(["GET", "views"]), request + 1);
    }
  } finally {
    await db.close();
  }
  // Nor does a suspended store that is closed (its goodbye frames go nowhere).
  const suspended = await open({ relay: relay.url, token, WebSocket: RequestBound, config: { bootstrapBudgetMs: 50 } });
  const old = suspended.transport.ws;
  suspended.suspend();
  old.foreign = true;
  await suspended.close();
});

test("on Node the relay client is the ws package even beside a global WebSocket, which hides the reason", async (t) => {
  // Node 22's global WebSocket, as browsers', reports a refused upgrade only as a failure.
  const had = Object.getOwnPropertyDescriptor(globalThis, "WebSocket");
  const built = [];
  globalThis.WebSocket = class {
    constructor(url) {
      built.push(url);
      throw new Error("the global WebSocket was used");
    }
  };
  t.after(() => {
    if (had) Object.defineProperty(globalThis, "WebSocket", had);
    else delete globalThis.WebSocket;
  });
  // (A store that opened anyway is closed, so that a failure here leaves nothing running.)
  const opening = open({ relay: relay.url, token: "not-a-token", config: { bootstrapBudgetMs: 4_000 } });
  await assert.rejects(
    opening.then(async (db) => {
      await db.close();
      return db;
    }),
    { code: "ECONNREFUSED", message: /the relay refused the connection: .*token/ },
  );
  assert.deepEqual(built, []);
});
