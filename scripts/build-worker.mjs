#!/usr/bin/env node
// Bundles a Worker entry (default: examples/wiki/worker.mjs) for workerd: ESM, the wasm kept
// as a separate module (Workers refuse to compile wasm from bytes), `ws` left out (workerd has
// a global WebSocket). Prints the bundle's sizes.
//   node scripts/build-worker.mjs [entry] [outdir]
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = process.argv[2] ?? join(root, "examples/wiki/worker.mjs");
const outdir = process.argv[3] ?? join(root, "dist/worker");
mkdirSync(outdir, { recursive: true });
const result = await build({
  entryPoints: [entry],
  outdir,
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["module", "main"],
  loader: { ".wasm": "copy" },
  assetNames: "[name]",
  minify: true,
  // Short lines: a log that shows an error's source line shows one line, not the bundle.
  lineLimit: 160,
  metafile: true,
  logLevel: "warning",
});
let total = 0;
let gz = 0;
for (const file of Object.keys(result.metafile.outputs)) {
  const bytes = readFileSync(join(root, file));
  total += statSync(join(root, file)).size;
  gz += gzipSync(bytes, { level: 9 }).length;
  console.log(
    `  ${basename(file).padEnd(24)} ${String(bytes.length).padStart(9)} bytes  ${String(gzipSync(bytes, { level: 9 }).length).padStart(8)} gzipped`,
  );
}
console.log(`worker bundle: ${total} bytes, ${gz} gzipped (${outdir})`);
