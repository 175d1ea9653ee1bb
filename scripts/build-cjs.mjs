#!/usr/bin/env node
// Builds dist/node.cjs, the CommonJS entry for Node, from the ESM shim (js/node.mjs).
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
mkdirSync(join(root, "dist"), { recursive: true });
await build({
  entryPoints: [join(root, "js/node.mjs")],
  outfile: join(root, "dist/node.cjs"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // Keep npm dependencies and node built-ins as require() calls.
  packages: "external",
  define: { "import.meta.url": "__castamereModuleUrl" },
  banner: { js: "const __castamereModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: "warning",
});
