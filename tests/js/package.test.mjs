// The package: self-reference by name from ESM and CJS, and the deployable bundles.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import { CastamereError, Store } from "castamere";

const root = join(import.meta.dirname, "../..");

test("Store from the package's main export answers PING with PONG", () => {
  assert.equal(new Store().exec(["PING"]), "PONG");
});

test("require('castamere') gives the same API from CommonJS", () => {
  const require = createRequire(import.meta.url);
  const cjs = require("castamere");
  assert.equal(new cjs.Store().exec(["PING"]), "PONG");
  assert.equal(typeof cjs.open, "function");
  assert.equal(typeof cjs.defineApp, "function");
});

test("an unknown command throws a CastamereError with a Redis-style code", () => {
  assert.throws(
    () => new Store().exec(["NOSUCHCOMMAND"]),
    (e) => e instanceof CastamereError && e.code === "ERR" && /unknown command/.test(e.message),
  );
});

test("npm run package:lambda builds a zip under the 1 MB viewer-request limit that loads", async () => {
  const out = execFileSync(process.execPath, ["scripts/package-lambda.mjs"], { cwd: root, encoding: "utf8" });
  const m = out.match(/function\.zip (\d+) bytes compressed/);
  assert.ok(m, out);
  assert.ok(Number(m[1]) < 1024 * 1024, out);
  const zip = readFileSync(join(root, "dist/lambda/function.zip"));
  assert.equal(zip.readUInt32LE(0), 0x04034b50);
  const names = [...zip.toString("latin1").matchAll(/(index\.mjs|castamere_bg\.wasm|config\.json)/g)].map((x) => x[1]);
  for (const f of ["index.mjs", "castamere_bg.wasm", "config.json"]) assert.ok(names.includes(f), f);
  const { handler } = await import(join(root, "dist/lambda/index.mjs"));
  assert.equal(typeof handler, "function");
});

test("the Worker bundle keeps the wasm as a separate module and reports its size", () => {
  const out = execFileSync(process.execPath, ["scripts/build-worker.mjs"], { cwd: root, encoding: "utf8" });
  assert.match(out, /worker bundle: \d+ bytes, \d+ gzipped/);
  const js = readFileSync(join(root, "dist/worker/worker.js"), "utf8");
  assert.match(js, /from\s*"\.\/castamere_bg\.wasm"/);
  assert.doesNotMatch(js, /WebAssembly\.instantiate\(/);
});

test("the TypeScript declarations cover the public API of every entry", async () => {
  // tests/types/usage.ts uses the API through the package's exports; tsc fails on a missing or
  // wrong declaration, and on an @ts-expect-error line that became valid.
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", join(root, "tests/types")], { cwd: root, encoding: "utf8" });
  } catch (e) {
    assert.fail(`tsc found errors:\n${e.stdout}${e.stderr}`);
  }
  // Every runtime export of the main entry is declared.
  const declared = readFileSync(join(root, "js/index.d.ts"), "utf8");
  const api = await import("castamere");
  const missing = Object.keys(api).filter(
    (name) =>
      !["rethrow", "toBigId", "Commands"].includes(name) &&
      !new RegExp(`declare (class|function|const) ${name}\\b`).test(declared),
  );
  assert.deepEqual(missing, [], "exports without a declaration");
});
