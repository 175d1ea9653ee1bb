// Node entry (ESM; dist/node.cjs is built from it for require()): loads the wasm from pkg/.
import { readFileSync } from "node:fs";
import { initSync } from "../pkg/web/castamere.js";

const wasm = initSync({ module: readFileSync(new URL("../pkg/web/castamere_bg.wasm", import.meta.url)) });

/** Bytes of wasm linear memory in use by castamere (a diagnostic; it only grows). */
export function wasmMemoryBytes() {
  return wasm.memory.buffer.byteLength;
}

export * from "./core.mjs";
export { Db, OriginClient, open } from "./db.mjs";
export { RelayTransport } from "./transport.mjs";
