// Node entry (ESM; scripts/build-dist.mjs bundles it into dist/esm/ and dist/node.cjs): loads
// the wasm from pkg/.
import { initSync } from "../pkg/web/castamere.mjs";
import { setRandomSource } from "./core.mjs";
import { setOriginFetch } from "./db.mjs";
import { nodeFetch } from "./node-fetch.mjs";
import { setWebSocketLoader } from "./transport.mjs";

// fs through process.getBuiltinModule (Node 20.16 and later): importing "node:fs" as an ES
// module builds a namespace of all its exports first, about a millisecond of a cold start.
if (typeof process.getBuiltinModule !== "function") {
  throw new Error(`castamere needs Node 20.16 or later; this is Node ${process.version}`);
}
const { closeSync, existsSync, openSync, readFileSync, readSync } = process.getBuiltinModule("node:fs");

// Next to this file when bundled into an app (a Lambda zip), else in the package's pkg/: one
// level up from js/ and dist/node.cjs, two from dist/esm/.
const wasmUrl = ["./castamere_bg.wasm", "../pkg/web/castamere_bg.wasm", "../../pkg/web/castamere_bg.wasm"]
  .map((path) => new URL(path, import.meta.url))
  .find((url) => existsSync(url));
if (wasmUrl === undefined) {
  throw new Error(`castamere: castamere_bg.wasm is missing beside ${import.meta.url} and in the package's pkg/web/`);
}
const wasm = initSync({ module: readFileSync(wasmUrl) });

// Random replica ids from /dev/urandom where there is one: the first use of Node's
// crypto.getRandomValues loads its web crypto module, about 2 ms of a cold start, where
// reading the device takes about 0.15 ms. Anywhere else (Windows), or if the read falls short,
// the ids come from crypto.getRandomValues.
setRandomSource((words) => {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  try {
    const fd = openSync("/dev/urandom", "r");
    try {
      if (readSync(fd, bytes, 0, bytes.length, null) === bytes.length) return;
    } finally {
      closeSync(fd);
    }
  } catch {
    // no such device here: the web crypto source below
  }
  crypto.getRandomValues(words);
});

// The origin's requests over node:http: a process's first fetch() sets up undici, most of
// the time a cold replica alone in its region takes to open (see js/node-fetch.mjs).
setOriginFetch(nodeFetch);

// The relay client: the ws package (bundled in dist/esm/ws.mjs), loaded at the first
// connection, even where Node has a global WebSocket (22 and later), which does not show why
// the relay refused a connection.
setWebSocketLoader(async () => {
  const ws = await import("ws");
  return ws.WebSocket ?? ws.default;
});

/** Bytes of wasm linear memory in use by castamere (a diagnostic; it only grows). */
export function wasmMemoryBytes() {
  return wasm.memory.buffer.byteLength;
}

export { AuthError, defineApp, jwtAuth, signJwt, signJwtEs256 } from "./app.mjs";
export { CastamereError, randomReplicaId, Store } from "./core.mjs";
export { Db, OriginClient, open } from "./db.mjs";
export { RelayTransport } from "./transport.mjs";
