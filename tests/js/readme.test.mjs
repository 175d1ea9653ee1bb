// The README's JavaScript examples, run as a newcomer would paste them: each block is taken
// from README.md itself, so an example that drifts from the API fails here. Its imports come
// from the package's own entries; the addresses it names (relay, origin, port) are replaced by
// those of a relay and an origin started here on loopback. A line `expr; // N` asserts that
// expr is N.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as castamere from "castamere";
import * as lambda from "castamere/lambda";
import * as nodeHttp from "castamere/node-http";
import { startOrigin } from "castamere/origin";
import { startRelay } from "castamere/relay";
import { mintToken } from "castamere/token";
import { cfEvent } from "./support/containers.mjs";
import { startProcess, stop } from "./support/processes.mjs";

const entries = { castamere, "castamere/lambda": lambda, "castamere/node-http": nodeHttp };
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
/** The README's ```js (or ```sh) block that starts with `first` (its first line). */
function block(first, lang = "js") {
  const fence = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g");
  const found = [...readme.matchAll(fence)].map((m) => m[1]).filter((b) => b.startsWith(first));
  assert.equal(found.length, 1, `one README block starts with ${first}`);
  return found[0];
}
const AsyncFunction = (async () => {}).constructor;
/**
 * Runs README code with `scope`'s names defined: its imports become reads of the package's
 * entries, `export const` a plain const, and `expr; // N` an assertion. Returns the values of
 * the names in `keep`, and in `checked` how many such assertions held.
 */
async function run(code, scope = {}, keep = []) {
  const body = code
    .replace(/^import \{([^}]*)\} from "([^"]+)";$/gm, (_, names, from) => {
      assert.ok(entries[from], `the README imports ${from}`);
      return `const {${names}} = __entries[${JSON.stringify(from)}];`;
    })
    .replace(/^export const /gm, "const ")
    .replace(/^(\S.*?);(\s*)\/\/ (\d+)\b/gm, "__is($1, $3);$2//");
  let checked = 0;
  const is = (actual, expected) => {
    assert.equal(actual, expected);
    checked++;
  };
  const names = Object.keys(scope);
  const fn = new AsyncFunction("__entries", "__is", ...names, `${body}\nreturn { ${keep.join(", ")} };`);
  return { ...(await fn(entries, is, ...names.map((n) => scope[n]))), checked };
}

const secret = "readme-secret";
const token = mintToken(secret, { tenant: "wiki", region: "eu" });
const dir = mkdtempSync(join(tmpdir(), "castamere-readme-"));
let relay;
let origin;
before(async () => {
  relay = await startRelay({ port: 0, secret });
  origin = await startOrigin({ port: 0, secret, tenant: "wiki", db: join(dir, "origin.sqlite") });
});
after(async () => {
  await origin.close();
  await relay.close();
  rmSync(dir, { recursive: true, force: true });
});
const here = (code) =>
  code.replaceAll("ws://127.0.0.1:7400", relay.url).replaceAll("http://127.0.0.1:7401", origin.url);

test("README, A local store: the example runs and answers what its comments say", async () => {
  const { s, checked } = await run(block('import { Store } from "castamere";'), {}, ["s"]);
  assert.equal(checked, 2, "the block's two answers, 1 and 42, were checked");
  assert.equal(s.get("page:tyrion:views"), 42);
  assert.deepEqual(s.smembers("page:tyrion:watchers"), ["arya"]);
  assert.equal(s.hget("page:tyrion:edits", "arya"), 1);
  s.free();
});

test("README, A replica of the region: the example runs against a relay and an origin", async (t) => {
  // A live peer in the region, so that the example's `ack: "region"` has someone to hold it.
  const peer = await castamere.open({ relay: relay.url, token });
  t.after(() => peer.close());
  const { db } = await run(here(block('import { open } from "castamere";')), { token, console }, ["db"]);
  // The example closed its replica; its three increments are at the origin and the peer.
  assert.equal(db.connection.connected, false);
  const r = await fetch(`${origin.url}/v1/keys/views`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await r.json()).value, 3);
  assert.equal(peer.get("views"), 3);
});

test("README, Applications: the app, under the Node server and the Lambda handler of the README", async (t) => {
  const JWT_SECRET = "readme-jwt-secret";
  const { app } = await run(block('import { defineApp, jwtAuth } from "castamere";'), { JWT_SECRET }, ["app"]);
  const config = { relay: relay.url, token, origin: origin.url };
  const { handler } = await run(block('import { lambdaHandler } from "castamere/lambda";'), { app, ...config }, [
    "handler",
  ]);
  t.after(() => handler.store()?.close());
  const viewed = await handler(cfEvent("GET", "/pages/tyrion"), {});
  assert.equal(viewed.status, "200", viewed.body);
  assert.deepEqual(JSON.parse(viewed.body), { views: 1 });
  const denied = await handler(cfEvent("POST", "/pages/tyrion/edit", { body: {} }), {});
  assert.equal(denied.status, "401");

  // The Node server, on a free port rather than the README's 8080.
  const code = block('import { createServer } from "castamere/node-http";').replace(".listen(8080)", ".listen(0)");
  const { server } = await run(code.replace(/^createServer/m, "const server = createServer"), { app, ...config }, [
    "server",
  ]);
  t.after(() => server.listening && server.close());
  await server.ready;
  const served = await fetch(`http://127.0.0.1:${server.address().port}/pages/tyrion`);
  assert.equal(served.status, 200);
  // Its own replica counts from what the Lambda handler's replica handed to the region.
  assert.ok((await served.json()).views >= 1);
});

test("README, Lambda@Edge regions: the example makes a handler", async () => {
  const code = block("lambdaHandler(app, {").replace(/^lambdaHandler\(/m, "const handler = lambdaHandler(");
  const app = castamere.defineApp({ routes: {} });
  const token = mintToken(secret, { tenant: "wiki", region: "*" });
  const { handler } = await run(code, { app, lambdaHandler: lambda.lambdaHandler, EU_TOKEN: token, US_TOKEN: token }, [
    "handler",
  ]);
  assert.equal(typeof handler, "function");
});

/** A free port on loopback (closed again, for a process to take). */
function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const cli = new URL("../../js/cli.mjs", import.meta.url).pathname;

test("README, Deploying: its commands start a relay, an origin and a regional replica that a replica joins", async (t) => {
  const ports = { 7400: await freePort(), 7401: await freePort(), 7402: await freePort() };
  const local = (word) =>
    word
      .replace(/^(7400|7401|7402)$/, (p) => String(ports[p]))
      .replace(/^ws:\/\/127\.0\.0\.1:7400$/, `ws://127.0.0.1:${ports[7400]}`)
      .replace(/^https:\/\/origin\.example\.com$/, `http://127.0.0.1:${ports[7401]}`)
      .replace(/^\/var\/lib\/castamere\/origin\.sqlite$/, join(dir, "deploy.sqlite"));
  const env = {};
  const children = [];
  t.after(async () => {
    for (const c of children) await stop(c, "SIGKILL");
  });
  let token = null;
  const ready = { relay: /listening on/, origin: /listening on/, replica: /running/ };
  for (const line of block("export CASTAMERE_SECRET=", "sh").split("\n")) {
    const words = line
      .replace(/\s+#.*$/, "")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    if (words.length === 0) continue;
    if (words[0] === "export") {
      assert.equal(words[1], "CASTAMERE_SECRET=...");
      env.CASTAMERE_SECRET = "readme-deploy-secret";
      continue;
    }
    const own = {};
    if (words[0] === "CASTAMERE_TOKEN=...") {
      own.CASTAMERE_TOKEN = token;
      words.shift();
    }
    assert.deepEqual(words.slice(0, 2), ["npx", "castamere"], line);
    const args = words.slice(2).map(local);
    if (args[0] === "token") {
      token = execFileSync(process.execPath, [cli, ...args], {
        env: { ...process.env, ...env },
        encoding: "utf8",
      }).trim();
      assert.match(token, /^v1\./);
      continue;
    }
    children.push(await startProcess(args, ready[args[0]], { ...env, ...own }));
  }
  assert.equal(children.length, 3, "the block starts a relay, an origin and a replica");
  for (const port of Object.values(ports)) {
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    assert.equal(health.status, "ok", JSON.stringify(health));
  }
  // A replica of the region, with the block's token: the regional replica holds its write.
  const db = await castamere.open({
    relay: `ws://127.0.0.1:${ports[7400]}`,
    origin: `http://127.0.0.1:${ports[7401]}`,
    token,
  });
  t.after(() => db.close());
  await db.exec(["INCR", "views"], { ack: "region", timeoutMs: 5_000 });
  await db.exec(["INCR", "views"], { ack: "origin", timeoutMs: 10_000 });
  const replica = await (await fetch(`http://127.0.0.1:${ports[7402]}/healthz`)).json();
  assert.equal(replica.keys, 1);
  assert.equal(replica.peers, 1);
});
