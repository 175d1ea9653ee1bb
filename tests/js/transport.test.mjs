// Contract: another broker can stand in for the relay through open({ transport }), and what
// the interface promises (an echo to oneself after earlier messages, a welcome listing who is
// connected) is enough for sync sessions, write concerns and catching up after a suspension.
import assert from "node:assert/strict";
import { test } from "node:test";
import { open } from "castamere";
import { lambdaHandler } from "castamere/lambda";
import { createWikiApp } from "../../examples/wiki/app.mjs";
import { cfEvent } from "./support/containers.mjs";

/** An in-memory broker: every delivery is a microtask, so messages keep their order. */
class Hub {
  constructor() {
    this.members = new Map();
    this.delivered = 0;
  }
  transport(h) {
    const hub = this;
    const deliver = (to, payload) =>
      queueMicrotask(() => {
        hub.delivered++;
        to.onMessage({ from: h.replicaId, payload: payload.slice() });
      });
    return {
      open: false,
      connect() {
        hub.members.set(h.replicaId, h);
        this.open = true;
        queueMicrotask(() => {
          h.onStatus("open");
          h.onControl({ type: "welcome", peers: [...hub.members.keys()].filter((p) => p !== h.replicaId) });
          for (const [id, o] of hub.members) if (id !== h.replicaId) o.onControl({ type: "join", peer: h.replicaId });
        });
      },
      publish(_topic, payload) {
        for (const [id, o] of hub.members) if (id !== h.replicaId) deliver(o, payload);
      },
      direct(peer, payload) {
        const o = hub.members.get(peer);
        if (o) deliver(o, payload);
      },
      close() {
        hub.members.delete(h.replicaId);
        this.open = false;
        for (const o of hub.members.values()) o.onControl({ type: "leave", peer: h.replicaId });
      },
    };
  }
}

const eventually = async (f, ms, what) => {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test("two replicas over a custom transport: sessions settle, write concerns resolve, a suspended replica catches up", async () => {
  const hub = new Hub();
  const config = { bootstrapBudgetMs: 50 };
  const a = await open({ transport: (h) => hub.transport(h), config });
  const b = await open({ transport: (h) => hub.transport(h), config });
  try {
    await a.exec(["INCRBY", "views", 2], { ack: "region", timeoutMs: 2000 });
    await eventually(() => b.get("views") === 2, 2000, "b sees a's write");
    // A warm session ends on its echo, well inside its budget.
    const t0 = performance.now();
    const r = await b.sync({ budgetMs: 1000 });
    assert.equal(r.complete, true);
    assert.ok(performance.now() - t0 < 500, `the session took ${performance.now() - t0} ms`);
    // b goes away; a writes; b comes back and asks a connected peer for what it missed.
    b.suspend();
    a.incrBy("views", 40);
    a.push();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(b.get("views"), 2, "a suspended replica hears nothing");
    b.resume();
    const caught = await b.sync({ budgetMs: 1000 });
    assert.equal(caught.complete, true);
    assert.equal(b.get("views"), 42);
    assert.ok(hub.delivered > 0);
  } finally {
    await a.close();
    await b.close();
  }
});

test("a welcome listing nobody ends a cold start without an origin at once; one listing a silent peer does not", async (t) => {
  const hub = new Hub();
  let t0 = Date.now();
  const a = await open({ transport: (h) => hub.transport(h), config: { bootstrapBudgetMs: 4_000 } });
  t.after(() => a.close());
  assert.ok(Date.now() - t0 < 2_000, `a cold start alone in the region took ${Date.now() - t0} ms`);
  assert.deepEqual(a.synced, { peers: 0, fromOrigin: false, complete: true });
  await a.close();
  // A connected replica that never answers (a frozen container's socket): the session waits
  // for it up to its budget, and, with no origin to ask, no longer (it had waited 1.5×).
  hub.members.set("99", { onMessage() {}, onControl() {} });
  t0 = Date.now();
  const b = await open({ transport: (h) => hub.transport(h), config: { bootstrapBudgetMs: 400 } });
  t.after(() => b.close());
  const took = Date.now() - t0;
  assert.ok(took >= 380 && took < 540, `the session ended after ${took} ms`);
  assert.deepEqual(b.synced, { peers: 0, fromOrigin: false, complete: false });
});

/** A transport whose connect() throws; `closed` counts its close() calls. */
function failingTransport() {
  const t = {
    closed: 0,
    open: false,
    connect() {
      throw new Error("the broker is unreachable");
    },
    publish() {},
    direct() {},
    close() {
      t.closed++;
    },
  };
  return t;
}

test("an open() that fails closes what it opened: the caller has no store to close", async () => {
  const failing = failingTransport();
  await assert.rejects(
    open({ transport: () => failing, config: { bootstrapBudgetMs: 50 } }),
    /the broker is unreachable/,
  );
  assert.equal(failing.closed, 1);
});

test("a Lambda container whose first open() failed opens again at its next invocation", async () => {
  const hub = new Hub();
  let attempts = 0;
  const handler = lambdaHandler(createWikiApp({ jwtSecret: "j" }), {
    transport: (h) => (++attempts === 1 ? failingTransport() : hub.transport(h)),
    config: { bootstrapBudgetMs: 50 },
  });
  await assert.rejects(handler(cfEvent("GET", "/pages/bran"), {}), /the broker is unreachable/);
  const r = await handler(cfEvent("GET", "/pages/bran"), {});
  assert.equal(r.status, "200");
  assert.equal(JSON.parse(r.body).views, 1);
  assert.equal(attempts, 2);
  await handler.store().close();
});

test("a refusal while opening fails open() when retrying cannot help (4xx), not otherwise", async () => {
  const refusing = (code) => (h) => {
    const t = new Hub().transport(h);
    const connect = t.connect.bind(t);
    t.connect = () => {
      h.onStatus("refused", `refused with ${code}`, code);
      connect();
    };
    return t;
  };
  const config = { bootstrapBudgetMs: 50 };
  await assert.rejects(open({ transport: refusing(401), config }), {
    code: "ECONNREFUSED",
    message: "ECONNREFUSED the relay refused the connection: refused with 401",
  });
  const db = await open({ transport: refusing(503), config });
  assert.equal(db.synced.complete, true);
  await db.close();
});

test("open({ transport }) must be a function, and says so", async () => {
  await assert.rejects(open({ transport: {} }), { code: "ERR", message: /takes a function/ });
});

test("a malformed relay or origin address fails open() at once, naming the option and what it takes", async () => {
  const token = "v1.any.token";
  const cases = [
    [
      { relay: "127.0.0.1:7400", token },
      /^ERR open\(\{ relay \}\) must be a ws:\/\/ or wss:\/\/ URL .* not "127\.0\.0\.1:7400"$/,
    ],
    [{ relay: "ftp://relay.example.com", token }, /open\(\{ relay \}\) must be/],
    [{ relay: 7400, token }, /open\(\{ relay \}\) must be .* not 7400$/],
    [
      { relay: "ws://127.0.0.1:1", token, origin: "origin.example.com" },
      /^ERR open\(\{ origin \}\) must be an http:\/\/ or https:\/\/ URL .* not "origin\.example\.com"$/,
    ],
    [{ relay: "ws://127.0.0.1:1", token, origin: "ws://origin.example.com" }, /open\(\{ origin \}\) must be/],
  ];
  for (const [options, message] of cases) {
    const t0 = Date.now();
    await assert.rejects(open(options), { code: "ERR", message });
    assert.ok(Date.now() - t0 < 100, "it failed without trying to connect");
  }
});

test("lambdaHandler() refuses options open() could not use when it is made, not at each invocation", () => {
  const app = createWikiApp({ jwtSecret: "j" });
  assert.throws(() => lambdaHandler(app, {}), { code: "ERR", message: /needs \{ relay/ });
  assert.throws(() => lambdaHandler(app, { relay: "ws://127.0.0.1:1" }), { code: "ERR", message: /needs a token/ });
  assert.throws(() => lambdaHandler(app, { relay: "relay.example.com", token: "t" }), {
    code: "ERR",
    message: /open\(\{ relay \}\) must be a ws:\/\/ or wss:\/\/ URL/,
  });
  assert.throws(() => lambdaHandler(app, { relay: "wss://r.example.com", token: "t", origin: "o.example.com" }), {
    code: "ERR",
    message: /open\(\{ origin \}\) must be an http:\/\/ or https:\/\/ URL/,
  });
  assert.equal(typeof lambdaHandler(app, { relay: "wss://r.example.com", token: "t" }), "function");
});

test("'connection' reports each change of the relay connection once, with why it went down", async (t0) => {
  let h;
  let t;
  const config = { bootstrapBudgetMs: 50 };
  const db = await open({
    transport: (handlers) => {
      h = handlers;
      t = new Hub().transport(handlers);
      // The first attempt fails; the store opens without a connection.
      t.connect = () => queueMicrotask(() => h.onStatus("closed", "connect ECONNREFUSED 127.0.0.1:7400"));
      return t;
    },
    config,
  });
  t0.after(() => db.close());
  assert.deepEqual(db.connection, { connected: false, reason: "connect ECONNREFUSED 127.0.0.1:7400" });
  const seen = [];
  db.on("connection", (c) => seen.push(c));
  h.onStatus("closed", "connect ECONNREFUSED 127.0.0.1:7400"); // another failed retry: no news
  t.open = true;
  h.onStatus("open");
  assert.deepEqual(db.connection, { connected: true });
  t.open = false;
  h.onStatus("closed", "relay restarting");
  h.onStatus("closed", "connect ECONNREFUSED 127.0.0.1:7400");
  t.open = true;
  h.onStatus("open");
  db.suspend(); // ours: not news either
  t.open = false;
  h.onStatus("closed", "closing");
  assert.deepEqual(seen, [{ connected: true }, { connected: false, reason: "relay restarting" }, { connected: true }]);
});

test("errors from before anyone listened reach the first 'error' listener: the last 8", async (t) => {
  let h;
  const db = await open({
    transport: (handlers) => {
      h = handlers;
      return new Hub().transport(handlers);
    },
    origin: "http://origin.invalid",
    // What fetch() throws for a host that does not resolve: the reason is in its cause.
    fetch: async () => {
      throw new TypeError("fetch failed", { cause: new Error("getaddrinfo ENOTFOUND origin.invalid") });
    },
    config: { bootstrapBudgetMs: 50 },
  });
  t.after(() => db.close());
  // Alone in its region, the cold start asked the origin, before open() returned the store.
  const first = [];
  const onFirst = (e) => first.push(e.message);
  db.on("error", onFirst);
  assert.deepEqual(first, [], "delivered after on() returns, not inside it");
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(
    first.includes("EORIGIN cannot reach the origin at http://origin.invalid: getaddrinfo ENOTFOUND origin.invalid"),
    first.join("; "),
  );
  // Heard errors are not kept; unheard ones are, the last 8.
  db.off("error", onFirst);
  for (let i = 0; i < 20; i++) h.onMessage({ from: `peer-${i}`, payload: new Uint8Array([0xff, i]) });
  const second = [];
  db.on("error", (e) => second.push(e.message));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(second.length, 8);
  assert.match(second[0], /^EPROTO bad message from replica peer-12:/);
  assert.match(second[7], /^EPROTO bad message from replica peer-19:/);
});
