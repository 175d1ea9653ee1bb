// The package imports by its own name (self-reference through `exports`), from ESM and CJS.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { CastamereError, Store } from "castamere";

test("Store from the package's main export answers PING with PONG", () => {
  assert.equal(new Store().exec(["PING"]), "PONG");
});

test("require('castamere') gives the same API from CommonJS", () => {
  const require = createRequire(import.meta.url);
  const cjs = require("castamere");
  assert.equal(new cjs.Store().exec(["PING"]), "PONG");
});

test("an unknown command throws a CastamereError with a Redis-style code", () => {
  assert.throws(
    () => new Store().exec(["NOSUCHCOMMAND"]),
    (e) => e instanceof CastamereError && e.code === "ERR" && /unknown command/.test(e.message),
  );
});
