// The wiki under each adapter: Lambda@Edge (recorded CloudFront events, and containers in
// separate processes frozen between invocations), Cloudflare Workers (workerd via miniflare,
// real outbound WebSockets and fetches on loopback), and Node http.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { defineApp, jwtAuth, open, signJwt, signJwtEs256 } from "castamere";
import { lambdaHandler, regionalOptions } from "castamere/lambda";
import { createServer } from "castamere/node-http";
import { startOrigin } from "castamere/origin";
import { startRelay } from "castamere/relay";
import { mintToken } from "castamere/token";
import { Miniflare } from "miniflare";
import { createWikiApp } from "../../examples/wiki/app.mjs";
import { startProcess as startScript } from "../../js/scenario/processes.mjs";
import { cfEvent, startContainer } from "./support/containers.mjs";
import { eventually, stop } from "./support/processes.mjs";

const secret = "adapters-secret";
const jwtSecret = "wiki-jwt-secret";
const token = mintToken(secret, { tenant: "wiki", region: "eu" });
const dir = mkdtempSync(join(tmpdir(), "castamere-adapters-"));
const fixture = (name) =>
  JSON.parse(readFileSync(new URL(`../fixtures/cloudfront/${name}.json`, import.meta.url), "utf8"));
const config = { bootstrapBudgetMs: 50, heartbeatMs: 300, leaseMs: 1500, repairGraceMs: 500 };
let relay;
let origin;
let editor;
let reader;

before(async () => {
  relay = await startRelay({ port: 0, secret });
  origin = await startOrigin({ port: 0, secret, tenant: "wiki", db: join(dir, "origin.sqlite") });
  editor = await signJwt({ sub: "arya", roles: ["editor"], exp: Math.floor(Date.now() / 1000) + 600 }, jwtSecret);
  reader = await signJwt({ sub: "sansa", exp: Math.floor(Date.now() / 1000) + 600 }, jwtSecret);
});
after(async () => {
  await origin.close();
  await relay.close();
  rmSync(dir, { recursive: true, force: true });
});

test("Lambda@Edge: recorded CloudFront events get generated responses in CloudFront's shape", async (t) => {
  const handler = lambdaHandler(createWikiApp({ jwtSecret }), { relay: relay.url, token, origin: origin.url, config });
  // Closed even when an assertion fails: an open store keeps this file's process alive.
  t.after(() => handler.store()?.close());
  const get = await handler(fixture("viewer-request-get"), {});
  assert.equal(get.status, "200");
  assert.equal(get.statusDescription, "OK");
  assert.equal(get.bodyEncoding, "text");
  assert.deepEqual(get.headers["content-type"], [{ key: "Content-Type", value: "application/json" }]);
  assert.equal(JSON.parse(get.body).views, 1);
  const stats = await handler(fixture("origin-request-get"), {});
  assert.equal(JSON.parse(stats.body).views, 1, "stats do not count a view");
  const post = fixture("viewer-request-post");
  post.Records[0].cf.request.headers.authorization[0].value = `Bearer ${editor}`;
  const edited = await handler(post, {});
  assert.equal(edited.status, "200", edited.body);
  const page = JSON.parse((await handler(fixture("viewer-request-get"), {})).body);
  assert.equal(page.body, "Winter is coming");
  assert.deepEqual(page.edits, { arya: 1 });
  assert.equal(page.views, 2);
  const warm = await handler({ castamere: "keep-warm" }, {});
  assert.equal(warm.warm, true);
  assert.equal(handler.stats.coldStarts, 1);
  await assert.rejects(handler({ hello: "world" }, {}), /not a CloudFront request event/);
  await handler.store().close();
});

test("Lambda@Edge: a response over what the event may generate is a 500 that says why; a 204 has no body field; a cut body is refused", async (t) => {
  const app = defineApp({
    routes: {
      "GET /big": { public: true, handler: ({ db }) => ({ body: "x".repeat(50 * 1024 + db.incr("big")) }) },
      "POST /quiet": {
        public: true,
        handler: ({ db }) => {
          db.incr("quiet");
          return { status: 204 };
        },
      },
    },
  });
  const handler = lambdaHandler(app, { relay: relay.url, token, config });
  t.after(() => handler.store()?.close());
  const logged = [];
  const error = console.error;
  console.error = (m) => logged.push(m);
  let viewer;
  try {
    viewer = await handler(cfEvent("GET", "/big"), {});
  } finally {
    console.error = error;
  }
  assert.equal(viewer.status, "500");
  assert.match(viewer.body, /is 5\d{4} bytes, over the 40 KB that a viewer-request function may generate/);
  assert.match(viewer.body, /serve it from an origin-request trigger/);
  assert.deepEqual(logged, [viewer.body]);
  // From an origin-request trigger, the same response fits.
  const event = cfEvent("GET", "/big");
  event.Records[0].cf.config.eventType = "origin-request";
  const origin = await handler(event, {});
  assert.equal(origin.status, "200");
  assert.equal(origin.body.length, 50 * 1024 + 2);
  const quiet = await handler(cfEvent("POST", "/quiet"), {});
  assert.equal(quiet.status, "204");
  assert.equal("body" in quiet || "bodyEncoding" in quiet, false);
  assert.equal(handler.store().get("quiet"), 1);
  // A body CloudFront cut is not written as if whole.
  const cut = cfEvent("POST", "/quiet", { body: { body: "the first 40 KB of a long edit" } });
  cut.Records[0].cf.request.body.inputTruncated = true;
  const refused = await handler(cut, {});
  assert.equal(refused.status, "413");
  assert.match(
    refused.body,
    /over what CloudFront passes to a viewer-request function, which cut it; nothing was written/,
  );
  assert.equal(handler.store().get("quiet"), 1);
});

test("Node: server.close() hands the store's writes to the origin before it closes", async () => {
  const server = createServer(createWikiApp({ jwtSecret }), {
    relay: relay.url,
    token,
    origin: origin.url,
    // Batches leave for the origin every hour on their own: only the close can have sent this one.
    config: { ...config, originIntervalMs: 3_600_000 },
  });
  await server.ready;
  await new Promise((r) => server.listen(0, r));
  const r = await fetch(`http://127.0.0.1:${server.address().port}/pages/catelyn`);
  assert.equal((await r.json()).views, 1);
  await server.close();
  const v = await fetch(`${origin.url}/v1/keys/page:catelyn:views`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(v.status, 200);
  assert.equal((await v.json()).value, 1);
});

test("Node: the wiki's server hands its writes on and exits 0 on SIGTERM", async () => {
  const child = await startScript("examples/wiki/server.mjs", [], {
    ready: /wiki on http:\/\/127\.0\.0\.1:\d+/,
    env: { CASTAMERE_RELAY: relay.url, CASTAMERE_TOKEN: token, CASTAMERE_ORIGIN: origin.url, PORT: "0" },
  });
  const out = () => child.output();
  const base = child.url;
  assert.equal((await (await fetch(`${base}/pages/brienne`)).json()).views, 1);
  const exited = new Promise((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGTERM");
  assert.equal(await exited, 0, out());
  assert.match(out(), /\[wiki\] SIGTERM: handing writes on\n\[wiki\] closed\n/);
  const v = await fetch(`${origin.url}/v1/keys/page:brienne:views`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await v.json()).value, 1);
});

test("Lambda@Edge: a function takes the options of the AWS region it runs in", async (t) => {
  const app = createWikiApp({ jwtSecret });
  const regions = {
    "eu-west-1": { relay: relay.url, token },
    "ap-northeast-1": { relay: "ws://127.0.0.1:1", token: "v1.tokyo.token" },
  };
  assert.deepEqual(regionalOptions({ origin: "https://o", regions }, "eu-west-1"), {
    origin: "https://o",
    relay: relay.url,
    token,
    config: {},
  });
  assert.equal(
    regionalOptions({ regions: { ...regions, default: { relay: "wss://d" } } }, "sa-east-1").relay,
    "wss://d",
  );
  assert.throws(() => regionalOptions({ regions }, "us-east-1"), {
    code: "ERR",
    message:
      /runs in us-east-1, which regions does not name \(it names eu-west-1, ap-northeast-1; add it, or a "default"\)/,
  });
  // Every region's entry is checked when the handler is made.
  assert.throws(
    () => lambdaHandler(app, { regions: { ...regions, "us-west-2": { relay: "relay.example.com", token } } }),
    {
      message: /open\(\{ relay \}\) must be a ws:\/\/ or wss:\/\/ URL/,
    },
  );
  const was = process.env.AWS_REGION;
  process.env.AWS_REGION = "eu-west-1";
  t.after(() => {
    if (was === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = was;
  });
  const handler = lambdaHandler(app, { regions, config });
  t.after(() => handler.store()?.close());
  const r = await handler(cfEvent("GET", "/pages/jaime"), {});
  assert.equal(r.status, "200");
  assert.equal(handler.store().connection.connected, true, "it joined the relay of eu-west-1");
  process.env.AWS_REGION = "us-east-1";
  assert.throws(() => lambdaHandler(app, { regions, config }), { message: /runs in us-east-1/ });
  // With a token for every region, the function's region is the AWS region it runs in.
  const everywhere = mintToken(secret, { tenant: "wiki", region: "*" });
  const peer = await open({ relay: relay.url, token: everywhere, region: "us-east-1", config });
  t.after(() => peer.close());
  const us = lambdaHandler(app, { relay: relay.url, token: everywhere, config });
  t.after(() => us.store()?.close());
  assert.equal((await us(cfEvent("GET", "/pages/tywin"), {})).status, "200");
  await eventually(() => peer.get("page:tywin:views") === 1, 5_000, "the us-east-1 peer sees the view");
});

test("authentication failures answer 401 or 403 and change nothing, under every adapter", async (t) => {
  const handler = lambdaHandler(createWikiApp({ jwtSecret }), { relay: relay.url, token, config });
  const forged = await signJwt({ sub: "joffrey", roles: ["editor"] }, "not-the-secret");
  const expired = await signJwt({ sub: "arya", roles: ["editor"], exp: 1000 }, jwtSecret);
  const cases = [
    [cfEvent("POST", "/pages/ned/edit", { body: { body: "x" } }), "401"],
    [cfEvent("POST", "/pages/ned/edit", { body: { body: "x" }, jwt: forged }), "401"],
    [cfEvent("POST", "/pages/ned/edit", { body: { body: "x" }, jwt: expired }), "401"],
    [cfEvent("POST", "/pages/ned/edit", { body: { body: "x" }, jwt: reader }), "403"],
    [cfEvent("POST", "/pages/ned/watch"), "401"],
    [cfEvent("GET", "/pages/ned", { jwt: "garbage" }), "401"],
  ];
  for (const [event, status] of cases) {
    const r = await handler(event, {});
    assert.equal(r.status, status, r.body);
  }
  // Nothing touched the store: it was never even opened.
  assert.equal(handler.store(), null);

  const server = createServer(createWikiApp({ jwtSecret }), { relay: relay.url, token, config });
  t.after(() => server.listening && server.close());
  await server.ready;
  await new Promise((r) => server.listen(0, r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const db = await server.ready;
  const before = db.lastWrite;
  for (const [headers, status] of [
    [{}, 401],
    [{ authorization: `Bearer ${forged}` }, 401],
    [{ authorization: `Bearer ${reader}` }, 403],
  ]) {
    const r = await fetch(`${base}/pages/ned/edit`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(r.status, status);
  }
  assert.equal(db.lastWrite, before);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  await server.close();
});

test("ES256 tokens verify with a public JWK; a route can require a role", async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const app = defineApp({
    authenticate: jwtAuth({ publicKey: jwk, issuer: "castamere-tests" }),
    routes: { "GET /admin": { role: "admin", handler: ({ principal }) => ({ body: { hello: principal.sub } }) } },
  });
  const good = await signJwtEs256({ sub: "cersei", roles: ["admin"], iss: "castamere-tests" }, pair.privateKey);
  const wrongIss = await signJwtEs256({ sub: "cersei", roles: ["admin"], iss: "other" }, pair.privateKey);
  const req = (jwt) => ({
    method: "GET",
    path: "/admin",
    query: new URLSearchParams(),
    headers: { authorization: `Bearer ${jwt}` },
    body: "",
  });
  assert.deepEqual((await app.handle(req(good), null)).body, { hello: "cersei" });
  assert.equal((await app.handle(req(wrongIss), null)).status, 401);
});

test("two Lambda containers in separate processes, frozen between invocations, converge", async () => {
  // A cold start serves once its budget runs out, with what it has by then (by design). The
  // budgets here leave room for a loaded machine: with 80 ms, the second container's first
  // invocation sometimes served before the origin's snapshot arrived (about one run in eight
  // with the suite's two files at once, every run with two busy processes beside it).
  const cfg = {
    jwtSecret,
    castamere: { relay: relay.url, token, origin: origin.url, config, syncBudgetMs: 1000, handoffBudgetMs: 1000 },
  };
  const a = startContainer(cfg);
  const b = startContainer(cfg);
  await Promise.all([a.ready, b.ready]);
  try {
    let views = 0;
    for (let round = 0; round < 6; round++) {
      for (const c of [a, b]) {
        c.thaw();
        const r = await c.invoke(cfEvent("GET", "/pages/tyrion"));
        assert.equal(r.response.status, "200");
        views++;
        // Each invocation sees every earlier view: the handoff put them in a peer before the
        // previous response, and the next invocation's sync fetched them.
        assert.equal(r.opened?.complete, true, `a cold start ran out of its budget: ${JSON.stringify(r.opened)}`);
        assert.equal(JSON.parse(r.response.body).views, views);
        c.freeze();
      }
    }
    a.thaw();
    b.thaw();
    const edit = await a.invoke(
      cfEvent("POST", "/pages/tyrion/edit", { body: { body: "A Lannister always pays his debts" }, jwt: editor }),
    );
    assert.equal(edit.response.status, "200");
    await eventually(async () => (await b.call("snapshot")) === (await a.call("snapshot")), 10_000, "equal states");
    const page = JSON.parse((await b.invoke(cfEvent("GET", "/pages/tyrion/stats"))).response.body);
    assert.deepEqual(page.edits, { arya: 1 });
    assert.equal(page.views, 12);
  } finally {
    await stop(a.child, "SIGKILL");
    await stop(b.child, "SIGKILL");
  }
});

// The wiki's Worker, built once, in workerd with these bindings.
let workerBuilt = false;
function wikiWorker(bindings) {
  const out = join(dir, "worker");
  if (!workerBuilt) {
    execFileSync(process.execPath, ["scripts/build-worker.mjs", "examples/wiki/worker.mjs", out], { stdio: "ignore" });
    workerBuilt = true;
  }
  return new Miniflare({
    modulesRoot: out,
    modules: [
      { type: "ESModule", path: join(out, "worker.js") },
      { type: "CompiledWasm", path: join(out, "castamere_bg.wasm") },
    ],
    // The date wrangler.toml deploys it at.
    compatibilityDate: readFileSync("wrangler.toml", "utf8").match(/^compatibility_date = "([\d-]+)"$/m)[1],
    bindings: { JWT_SECRET: jwtSecret, ...bindings },
  });
}

test("Cloudflare Workers: the wiki in workerd, with real WebSockets to the relay and fetches to the origin", async () => {
  // A request answers once it has caught up with the region or its sync budget ran out; the
  // budget is generous here, where the suite's other tests load the machine, because the
  // test reads, at the next request, a write made elsewhere.
  const mf = wikiWorker({ RELAY_URL: relay.url, RELAY_TOKEN: token, ORIGIN_URL: origin.url, SYNC_BUDGET_MS: "2000" });
  const node = await open({ relay: relay.url, token, config });
  try {
    for (let i = 1; i <= 5; i++) {
      const r = await mf.dispatchFetch("http://wiki.example/pages/daenerys");
      assert.equal(r.status, 200);
      assert.equal((await r.json()).views, i);
    }
    const denied = await mf.dispatchFetch("http://wiki.example/pages/daenerys/edit", { method: "POST", body: "{}" });
    assert.equal(denied.status, 401);
    const edited = await mf.dispatchFetch("http://wiki.example/pages/daenerys/edit", {
      method: "POST",
      headers: { authorization: `Bearer ${editor}`, "content-type": "application/json" },
      body: JSON.stringify({ body: "Mother of dragons" }),
    });
    assert.equal(edited.status, 200);
    // A Node replica of the region saw the Worker's writes through the relay...
    await eventually(
      () => node.get("page:daenerys:views") === 5 && node.get("page:daenerys:body") === "Mother of dragons",
      5_000,
      "node sees the worker",
    );
    // ...and writes from Node reach the Worker at its next request.
    node.incrBy("page:daenerys:views", 10);
    await node.flush({ to: "region" });
    const r = await mf.dispatchFetch("http://wiki.example/pages/daenerys");
    assert.equal((await r.json()).views, 16);
    // After the origin interval, a request carries the Worker's batch to the origin.
    await new Promise((res) => setTimeout(res, 1100));
    await mf.dispatchFetch("http://wiki.example/pages/daenerys/stats");
    await eventually(
      async () => {
        const v = await fetch(`${origin.url}/v1/keys/page:daenerys:body`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return v.status === 200 && (await v.json()).value === "Mother of dragons";
      },
      5_000,
      "the origin has the worker's edit",
    );
  } finally {
    await node.close();
    await mf.dispose();
  }
});

test("Cloudflare Workers: with REGION auto and a token for every region, an isolate joins its continent's region", async () => {
  const everywhere = mintToken(secret, { tenant: "wiki", region: "*" });
  const mf = wikiWorker({ RELAY_URL: relay.url, RELAY_TOKEN: everywhere, REGION: "auto", SYNC_BUDGET_MS: "2000" });
  const eu = await open({ relay: relay.url, token: everywhere, region: "EU", config });
  const na = await open({ relay: relay.url, token: everywhere, region: "NA", config });
  try {
    const r = await mf.dispatchFetch("http://wiki.example/pages/olenna", { cf: { continent: "EU" } });
    assert.equal(r.status, 200);
    await eventually(() => eu.get("page:olenna:views") === 1, 5_000, "the EU replica sees the EU isolate's view");
    assert.equal(na.get("page:olenna:views"), null, "the NA replica is in another region");
  } finally {
    await eu.close();
    await na.close();
    await mf.dispose();
  }
});

test("Cloudflare Workers: a token the relay refuses fails the request with the relay's reason, every time", async (t) => {
  const mf = wikiWorker({ RELAY_URL: relay.url, RELAY_TOKEN: "v1.forged" });
  t.after(() => mf.dispose());
  const seen = [];
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    const r = await mf.dispatchFetch("http://wiki.example/pages/tyrion").catch((e) => e);
    seen.push({ ms: performance.now() - t0, status: r.status, text: r instanceof Error ? r.message : await r.text() });
  }
  for (const r of seen) {
    // Not an answer served from a store that can never sync: the request fails, and says why.
    assert.notEqual(r.status, 200, JSON.stringify(r));
    assert.match(r.text, /ECONNREFUSED the relay refused the connection: malformed token/, JSON.stringify(r));
  }
});
