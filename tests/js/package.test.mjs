// The package: self-reference by name from ESM and CJS, and the deployable bundles.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CastamereError, Store } from "castamere";
import { startRelay } from "castamere/relay";
import { mintToken } from "castamere/token";
import { reader, sections } from "../../scripts/wasm-sections.mjs";

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
  const out = execFileSync(process.execPath, ["scripts/package-lambda.mjs", "--example"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
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

test("npm run package:lambda refuses a missing configuration and one that still holds the example's placeholders", () => {
  const dir = mkdtempSync(join(tmpdir(), "castamere-lambda-config-"));
  try {
    const example = JSON.parse(readFileSync(join(root, "examples/wiki/config.example.json"), "utf8"));
    const unfilled = join(dir, "unfilled.json");
    writeFileSync(unfilled, JSON.stringify({ ...example, castamere: { ...example.castamere, relay: "wss://r" } }));
    const cases = [
      [
        ["--config", join(dir, "missing.json")],
        /missing\.json is missing: copy examples\/wiki\/config\.example\.json to/,
      ],
      [["--config", unfilled], /still holds the example's placeholders \(jwtSecret, castamere\.token\)/],
    ];
    for (const [args, why] of cases) {
      const r = spawnSync(process.execPath, ["scripts/package-lambda.mjs", ...args], { cwd: root, encoding: "utf8" });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, why);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
    (name) => !new RegExp(`declare (class|function|const) ${name}\\b`).test(declared),
  );
  assert.deepEqual(missing, [], "exports without a declaration");
});

/** The signature of every exported function of a wasm module, as "params->results" letters. */
function exportSignatures(bytes) {
  // Value types by their byte: 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64, 0x7b v128, 0x70
  // funcref, 0x6f externref.
  const letter = new Map([
    [0x7f, "i"],
    [0x7e, "I"],
    [0x7d, "f"],
    [0x7c, "d"],
    [0x7b, "v"],
    [0x70, "r"],
    [0x6f, "x"],
  ]);
  const types = [];
  const funcs = [];
  const sigs = {};
  for (const section of sections(bytes)) {
    const r = reader(bytes, section.body);
    const limits = () => {
      const flags = r.u32();
      r.u32();
      if (flags & 1) r.u32();
    };
    const valueTypes = () => r.vec(() => letter.get(r.byte())).join("");
    if (section.id === 1) {
      r.vec(() => {
        r.byte(); // 0x60: a function type
        const params = valueTypes();
        types.push(`${params}->${valueTypes()}`);
      });
    } else if (section.id === 2) {
      r.vec(() => {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0) funcs.push(types[r.u32()]);
        else if (kind === 1) {
          r.byte();
          limits();
        } else if (kind === 2) limits();
        else r.at += 2;
      });
    } else if (section.id === 3) {
      r.vec(() => funcs.push(types[r.u32()]));
    } else if (section.id === 7) {
      r.vec(() => {
        const exported = r.name();
        const kind = r.byte();
        const index = r.u32();
        if (kind === 0) sigs[exported] = funcs[index];
      });
    }
  }
  return sigs;
}

test("every wasm export takes and returns plain numbers, so V8 compiles no wrapper per signature", () => {
  // Multi-value results, externref and i64 each make V8 compile a JS-to-wasm wrapper per
  // signature when the module is compiled: about half the compile time of a cold start.
  const sigs = exportSignatures(readFileSync(join(root, "pkg/web/castamere_bg.wasm")));
  assert.ok(Object.keys(sigs).length > 30, "the export section was not read");
  const odd = Object.entries(sigs).filter(([, s]) => !/^[id]*->[id]?$/.test(s));
  assert.deepEqual(odd, [], "exports with a signature other than numbers in, at most one number out");
});

test("the bundled Node entries share one chunk: one wasm instance and one CastamereError", () => {
  const dir = join(root, "dist/esm");
  const chunks = (entry) => [...readFileSync(join(dir, entry), "utf8").matchAll(/from\s*"\.\/(shared-[\w-]+\.mjs)"/g)];
  const shared = new Set(
    ["index.mjs", "lambda.mjs", "node-http.mjs", "replica.mjs"].flatMap((e) => chunks(e).map((m) => m[1])),
  );
  assert.equal(shared.size, 1, `entries import ${[...shared].join(", ") || "no chunk"}`);
  const chunk = readFileSync(join(dir, [...shared][0]), "utf8");
  assert.equal(chunk.match(/CastamereError\s*=\s*class|class CastamereError/g)?.length, 1);
  assert.equal(chunk.match(/initSync\(\{\s*module:\s*readFileSync/g)?.length, 1);
});

test("the Node entries connect through the ws bundled in dist/, from ESM and CommonJS, with no node_modules", async (t) => {
  const relay = await startRelay({ port: 0, secret: "package-secret" });
  const dir = mkdtempSync(join(tmpdir(), "castamere-package-"));
  t.after(async () => {
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // The layout of the published package, without its dependencies.
  cpSync(join(root, "dist"), join(dir, "dist"), { recursive: true });
  cpSync(join(root, "pkg/web/castamere_bg.wasm"), join(dir, "pkg/web/castamere_bg.wasm"));
  const token = mintToken("package-secret", { tenant: "t", region: "r" });
  const body = `const db = await open({ relay: ${JSON.stringify(relay.url)}, token: ${JSON.stringify(token)},
    config: { bootstrapBudgetMs: 2000 } });
  console.log(JSON.stringify({ complete: db.synced.complete, connected: db.transport.open }));
  await db.close();`;
  writeFileSync(join(dir, "esm.mjs"), `import { open } from "./dist/esm/index.mjs";\n${body}`);
  writeFileSync(join(dir, "cjs.cjs"), `const { open } = require("./dist/node.cjs");\n(async () => {\n${body}\n})();`);
  for (const script of ["esm.mjs", "cjs.cjs"]) {
    const out = await new Promise((res, rej) =>
      execFile(process.execPath, [join(dir, script)], { cwd: dir }, (e, o, err) => (e ? rej(new Error(err)) : res(o))),
    );
    assert.deepEqual(JSON.parse(out), { complete: true, connected: true }, script);
  }
});

test("the command line: --help prints the usage and exits 0, for every command; an unknown one exits 2", () => {
  const cli = join(root, "js/cli.mjs");
  for (const args of [["--help"], ["help"], ["-h"], ["relay", "--help"], ["origin", "-h"], ["token", "--help"]]) {
    const out = execFileSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    assert.match(out, /^usage:\n {2}castamere relay /, args.join(" "));
  }
  const r = spawnSync(process.execPath, [cli, "relya"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^castamere: unknown command 'relya'\nusage:/);
});

test("the command line: a number flag that is not one, or an unknown flag, exits 1 naming the flag", () => {
  const cli = join(root, "js/cli.mjs");
  const cases = [
    [
      ["relay", "--port", "abc", "--secret", "s"],
      /^castamere relay: --port takes a whole number from 0 to 65535, not 'abc'\n$/,
    ],
    [["origin", "--port", "70000", "--secret", "s", "--db", ":memory:"], /--port takes .* not '70000'/],
    [["replica", "--relay", "ws://127.0.0.1:1", "--token", "t", "--port", "-1"], /--port takes .* not '-1'/],
    [["relay", "--secret", "s", "--max-frame-bytes", "1e6"], /--max-frame-bytes takes .* not '1e6'/],
    [["token", "--secret", "s", "--tenant", "t", "--ttl", "0"], /--ttl takes a whole number from 1 to/],
    [["relay", "--port", "--secret", "s"], /--port needs a value/],
    // A flag of no command, a typo say, is not silently ignored.
    [
      ["relay", "--secret", "s", "--max-frame-byte", "5"],
      /unknown flag --max-frame-byte; relay takes --port, .*--max-frame-bytes/,
    ],
    [
      ["replica", "--relay-url", "ws://127.0.0.1:1", "--token", "t"],
      /unknown flag --relay-url; replica takes --relay,/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 10_000 });
    assert.equal(r.status, 1, args.join(" "));
    assert.match(r.stderr, message);
  }
});

test("an uncaught error from the bundles shows its message after one short source line, not the bundle", () => {
  // Node prints the source line of an uncaught exception: bundles are minified in short lines.
  for (const [entry, code] of [
    ["castamere", `import { Store } from "castamere"; new Store().exec(["NOSUCHCOMMAND"]);`],
    ["castamere (CommonJS)", `require("castamere").open({});`],
  ]) {
    const cjs = entry.includes("CommonJS");
    const r = spawnSync(process.execPath, [cjs ? "-e" : "--input-type=module", ...(cjs ? [code] : ["-e", code])], {
      cwd: root,
      encoding: "utf8",
    });
    assert.notEqual(r.status, 0, entry);
    assert.match(r.stderr, /CastamereError: ERR /, entry);
    const before = r.stderr.slice(0, r.stderr.indexOf("CastamereError"));
    assert.ok(before.length < 1_000, `${entry}: ${before.length} characters before the error`);
  }
});
