#!/usr/bin/env node
// Builds dist/ from the ESM shim, for Node:
// - dist/esm/: the Node entries ("castamere", "castamere/lambda", "castamere/node-http",
//   "castamere/replica") bundled with one shared chunk, so a cold start loads two ES modules
//   instead of seven, and the entries still share one wasm instance and one CastamereError;
// - dist/node.cjs: the CommonJS entry for require("castamere");
// - dist/esm/ws.mjs: the ws package, bundled (see below).
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
mkdirSync(join(root, "dist"), { recursive: true });
rmSync(join(root, "dist/esm"), { recursive: true, force: true });
// The entries import "ws" from the bundle made last (dist/esm/ws.mjs).
const wsBundled = (path) => ({
  name: "ws-bundled",
  setup(b) {
    b.onResolve({ filter: /^ws$/ }, () => ({ path, external: true }));
  },
});
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  // Keep npm dependencies and node built-ins as imports.
  packages: "external",
  // Minified but for names (stack traces keep them): 0.4 ms less parsing at a cold start. In
  // lines of at most 160 characters: Node prints the source line of an uncaught exception,
  // which was the whole bundle (55 KB before the error's message).
  minifyWhitespace: true,
  minifySyntax: true,
  lineLimit: 160,
  logLevel: "warning",
};
await build({
  ...common,
  entryPoints: {
    index: join(root, "js/node.mjs"),
    lambda: join(root, "js/adapters/lambda.mjs"),
    "node-http": join(root, "js/adapters/node.mjs"),
    replica: join(root, "js/replica/server.mjs"),
  },
  outdir: join(root, "dist/esm"),
  outExtension: { ".js": ".mjs" },
  chunkNames: "shared-[hash]",
  format: "esm",
  splitting: true,
  plugins: [wsBundled("./ws.mjs")],
});
// ws, the relay client on Node 20 (which has no WebSocket), bundled on its own and imported
// at the first connection: imported from node_modules, its CommonJS files took about 25 ms
// to load, bundled about 6. Its require()s of Node built-ins need a require.
await build({
  ...common,
  packages: undefined,
  stdin: {
    contents: 'import ws from "ws"; export default ws; export const { WebSocket } = ws;',
    resolveDir: root,
  },
  outfile: join(root, "dist/esm/ws.mjs"),
  format: "esm",
  banner: { js: 'const require = process.getBuiltinModule("node:module").createRequire(import.meta.url);' },
});
await build({
  ...common,
  entryPoints: [join(root, "js/node.mjs")],
  outfile: join(root, "dist/node.cjs"),
  format: "cjs",
  plugins: [wsBundled("./esm/ws.mjs")],
  define: { "import.meta.url": "__castamereModuleUrl" },
  banner: { js: "const __castamereModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
