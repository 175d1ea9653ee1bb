// Node entry (ESM; dist/node.cjs is built from it for require()): loads the wasm from pkg/.
import { existsSync, readFileSync } from "node:fs";
import { initSync } from "../pkg/web/castamere.js";

// Next to this file when bundled (a Lambda zip), else in pkg/.
const bundled = new URL("./castamere_bg.wasm", import.meta.url);
const wasmUrl = existsSync(bundled) ? bundled : new URL("../pkg/web/castamere_bg.wasm", import.meta.url);
const wasm = initSync({ module: readFileSync(wasmUrl) });

/** Bytes of wasm linear memory in use by castamere (a diagnostic; it only grows). */
export function wasmMemoryBytes() {
  return wasm.memory.buffer.byteLength;
}

export { AuthError, defineApp, jwtAuth, signJwt, signJwtEs256 } from "./app.mjs";
export { CastamereError, randomReplicaId, Store } from "./core.mjs";
export { Db, OriginClient, open } from "./db.mjs";
export { RelayTransport } from "./transport.mjs";
