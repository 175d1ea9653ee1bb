#!/usr/bin/env node
// Idempotent setup for `npm start` and `npm test`: installs only what is missing (the wasm32
// target, wasm-bindgen-cli at the version in Cargo.lock, wasm-pack, npm packages), then builds
// pkg/ and dist/ when their sources changed. Uses only node built-ins: it runs before
// node_modules exists.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withoutCustomSection } from "./wasm-sections.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cargoBin = join(process.env.CARGO_HOME || join(homedir(), ".cargo"), "bin");
process.env.PATH = `${cargoBin}:${process.env.PATH}`;
const quiet = process.argv.includes("--quiet");
const t0 = Date.now();
const log = (msg) => {
  if (!quiet) console.error(`[setup] ${msg}`);
};

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (r.status !== 0) {
    console.error(`[setup] '${cmd} ${args.join(" ")}' failed (exit ${r.status ?? r.signal}).`);
    process.exit(1);
  }
}

function output(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function lockedVersion(crate) {
  const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
  const m = lock.match(new RegExp(`name = "${crate}"\\nversion = "([^"]+)"`));
  if (!m) throw new Error(`Cargo.lock has no ${crate}; run 'cargo generate-lockfile'.`);
  return m[1];
}

/** A hash of the files under `paths`, and of `extra` (what else the build depends on). */
function hashTree(paths, extra = "") {
  const h = createHash("sha256");
  h.update(extra);
  const walk = (p) => {
    const full = join(root, p);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) {
      for (const e of readdirSync(full).sort()) walk(join(p, e));
    } else {
      h.update(p);
      h.update(readFileSync(full));
    }
  };
  for (const p of paths) walk(p);
  return h.digest("hex");
}

function stamped(file, hash) {
  return existsSync(file) && readFileSync(file, "utf8") === hash;
}

// 1. The wasm32 target.
const targets = output("rustup", ["target", "list", "--installed"]) ?? "";
if (!targets.split("\n").includes("wasm32-unknown-unknown")) {
  run("rustup", ["target", "add", "wasm32-unknown-unknown"]);
}

// 2. wasm-bindgen-cli at exactly the version of wasm-bindgen in Cargo.lock.
const wbg = lockedVersion("wasm-bindgen");
const haveWbg = output("wasm-bindgen", ["--version"]);
if (haveWbg !== `wasm-bindgen ${wbg}`) {
  log(`wasm-bindgen-cli ${wbg} is missing (found: ${haveWbg ?? "none"}); installing (about 3 minutes).`);
  run("cargo", ["install", "wasm-bindgen-cli", "--version", wbg, "--force"]);
}

// 3. wasm-pack.
if (output("wasm-pack", ["--version"]) === null) {
  log("wasm-pack is missing; installing (about 3 minutes).");
  run("cargo", ["install", "wasm-pack"]);
}

// 3b. Chromium, for the test that opens the scenario's HTML report (Debian's package; the
// browsers test tools download themselves are out of reach here).
if (!existsSync("/usr/bin/chromium") && !process.argv.includes("--no-browser")) {
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const apt = (args) =>
    spawnSync(sudo[0] ?? "apt-get", [...sudo.slice(1), ...(sudo.length ? ["apt-get"] : []), ...args], {
      stdio: "inherit",
    });
  log("chromium is missing; installing Debian's package (for the report test).");
  let r = apt(["install", "-y", "--no-install-recommends", "chromium"]);
  if (r.status !== 0) {
    apt(["update"]);
    r = apt(["install", "-y", "--no-install-recommends", "chromium"]);
  }
  if (r.status !== 0)
    log("could not install chromium (apt-get install chromium); the report test will fail until it is there.");
}

// 4. npm packages, when package.json or the lockfile changed since the last install.
const npmHash = hashTree(["package.json", "package-lock.json"]);
const npmStamp = join(root, "node_modules", ".castamere-installed");
if (!stamped(npmStamp, npmHash)) {
  const lock = existsSync(join(root, "package-lock.json"));
  run("npm", [lock ? "ci" : "install", "--no-audit", "--no-fund"]);
  writeFileSync(npmStamp, npmHash);
}

// 5. pkg/ when the Rust sources changed: cargo, then wasm-bindgen, then binaryen's wasm-opt.
//
// The module is built without the multivalue and reference-types wasm features. With them,
// wasm-bindgen returns results as several values and passes JS values as externref, and V8
// then compiles a JS-to-wasm wrapper for each distinct export signature when the module is
// compiled: about half of its compile time, paid at every cold start. Without them every
// export takes and returns plain numbers, and V8's one generic wrapper serves them all.
// The prebuilt std still declares reference-types in its target_features section, which
// would turn wasm-bindgen's externref mode back on, so that section is dropped first.
//
// Cargo.toml's release profile is opt-level 2, and LLVM's inlining threshold is lowered here
// to the one of opt-level "s": loops are optimised for speed, but calls are inlined only
// about as much as for size (at the default threshold the module is 20 KB larger gzipped).
const wasmRustFlags = "-C target-feature=-multivalue,-reference-types -C llvm-args=-inline-threshold=75";
const wasmOptFlags = [
  "-O3",
  "--strip-debug",
  "--strip-producers",
  ...["bulk-memory", "nontrapping-float-to-int", "sign-ext", "mutable-globals"].map((f) => `--enable-${f}`),
];
// The glue is minified but for its names (stack traces keep them): a cold start parses it.
// It is written as `.mjs`, as the bundled entries are: for a `.js` file Node first looks up
// the nearest package.json to learn the module type (0.3 ms of a cold start, measured).
// Lines of at most 160 characters, as the bundles' (see scripts/build-dist.mjs).
const glueMinify = { minifyWhitespace: true, minifySyntax: true, lineLimit: 160 };
const glueFile = "castamere.mjs";
const rustHash = hashTree(
  ["Cargo.toml", "Cargo.lock", "src", "scripts/wasm-sections.mjs"],
  JSON.stringify([wasmRustFlags, wasmOptFlags, glueMinify, glueFile]),
);
const pkgStamp = join(root, "pkg", ".castamere-built");
if (!stamped(pkgStamp, rustHash)) {
  const target = "wasm32-unknown-unknown";
  // RUSTFLAGS, not the per-target variable, which any RUSTFLAGS of the caller's would replace
  // (with --target, RUSTFLAGS reaches only the wasm artifacts, not build scripts).
  const { CARGO_ENCODED_RUSTFLAGS: _, ...env } = process.env;
  env.RUSTFLAGS = env.RUSTFLAGS ? `${env.RUSTFLAGS} ${wasmRustFlags}` : wasmRustFlags;
  run("cargo", ["build", "--lib", "--release", "--target", target], { env });
  const built = join(root, "target", target, "release", "castamere.wasm");
  const input = join(root, "target", target, "release", "castamere-bindgen-input.wasm");
  writeFileSync(input, withoutCustomSection(readFileSync(built), "target_features"));
  run("wasm-bindgen", ["--target", "web", "--out-dir", "pkg/web", "--out-name", "castamere", input]);
  const glue = join(root, "pkg/web/castamere.js");
  const { transformSync } = await import("esbuild");
  writeFileSync(
    join(root, "pkg/web", glueFile),
    transformSync(readFileSync(glue, "utf8"), { ...glueMinify, format: "esm" }).code,
  );
  unlinkSync(glue);
  renameSync(join(root, "pkg/web/castamere.d.ts"), join(root, "pkg/web/castamere.d.mts"));
  // binaryen from npm (Debian's is too old): optimize for speed, drop names and debug info.
  const wasmOpt = join(root, "node_modules/binaryen/bin/wasm-opt");
  const wasmFile = join(root, "pkg/web/castamere_bg.wasm");
  run(process.execPath, [wasmOpt, ...wasmOptFlags, wasmFile, "-o", wasmFile]);
  writeFileSync(pkgStamp, rustHash);
}

// 6. dist/ (the bundled Node entries and the CommonJS build) when the shim or pkg/ changed.
// package-lock.json: dist/esm/ws.mjs bundles the ws package.
const distHash = hashTree(["js", `pkg/web/${glueFile}`, "scripts/build-dist.mjs", "package-lock.json"]);
const distStamp = join(root, "dist", ".castamere-built");
if (!stamped(distStamp, distHash)) {
  run(process.execPath, ["scripts/build-dist.mjs"]);
  writeFileSync(distStamp, distHash);
}

log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
