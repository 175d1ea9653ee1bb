// The package's browser entry (js/browser.mjs: the "browser" and "default" conditions) in
// headless Chromium: it loads the wasm over HTTP before the module finishes loading, a Store
// answers at once, and open() joins the region through the browser's own WebSocket.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { open } from "castamere";
import { startRelay } from "castamere/relay";
import { mintToken } from "castamere/token";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("../..", import.meta.url));
const types = { ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
const secret = "browser-secret";
const token = mintToken(secret, { tenant: "wiki", region: "eu" });
let relay;
let files;
let browser;
const served = [];

before(async () => {
  relay = await startRelay({ port: 0, secret });
  // The package's files, as a static host (or a bundler's dev server) serves them.
  files = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (path === "/index.html") {
      res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>castamere</title>");
      return;
    }
    const file = join(root, path);
    if (!/^\/(js|pkg\/web)\//.test(path) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    served.push(path);
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise((r) => files.listen(0, "127.0.0.1", r));
  assert.ok(
    existsSync("/usr/bin/chromium"),
    "chromium is missing: `apt-get install chromium` (npm test's setup tries)",
  );
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
});
after(async () => {
  await browser?.close();
  files?.close();
  await relay?.close();
});

test("the browser entry in Chromium: a Store at once after import, and a replica of the region over WebSocket", async (t) => {
  const node = await open({ relay: relay.url, token, config: { bootstrapBudgetMs: 200 } });
  t.after(() => node.close());
  node.set("page:ned", "Winter is coming");
  await node.flush({ to: "region" });

  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const base = `http://127.0.0.1:${files.address().port}`;
  // A page of the host that serves the files, on loopback: Chromium lets a page of a local
  // address, not one of unknown address, open a WebSocket to a local relay.
  await page.goto(`${base}/index.html`);
  const result = await page.evaluate(
    async ({ base, relay, token }) => {
      const { Store, open, CastamereError } = await import(`${base}/js/browser.mjs`);
      const s = new Store();
      const local = [s.incr("views"), s.incr("views"), s.exec(["PING"])];
      let wrongType = null;
      try {
        s.sadd("views", "arya");
      } catch (e) {
        wrongType = { isCastamereError: e instanceof CastamereError, code: e.code };
      }
      s.free();
      const db = await open({ relay, token, config: { bootstrapBudgetMs: 2000 } });
      const synced = db.synced;
      const read = db.get("page:ned");
      db.incrBy("page:ned:views", 5);
      const flushed = await db.flush({ to: "region", budgetMs: 2000 });
      const connected = db.connection.connected;
      await db.close();
      return { local, wrongType, synced, read, acked: flushed.acked, connected };
    },
    { base, relay: relay.url, token },
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(result.local, [1, 2, "PONG"]);
  assert.deepEqual(result.wrongType, { isCastamereError: true, code: "WRONGTYPE" });
  // The page's replica caught up with the region on open, and its write reached the Node one.
  assert.equal(result.synced.complete, true);
  assert.equal(result.read, "Winter is coming");
  assert.equal(result.acked, true);
  assert.equal(result.connected, true);
  assert.equal(node.get("page:ned:views"), 5);
  assert.ok(served.includes("/pkg/web/castamere_bg.wasm"), `served: ${served.join(", ")}`);
  await page.close();
});
