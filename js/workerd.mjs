// Cloudflare Workers entry: the wasm is imported as a module (Workers refuse to compile
// wasm from bytes), then instantiated synchronously.

import { initSync } from "../pkg/web/castamere.mjs";
import wasmModule from "../pkg/web/castamere_bg.wasm";

initSync({ module: wasmModule });

export { AuthError, defineApp, jwtAuth, signJwt, signJwtEs256 } from "./app.mjs";
export { CastamereError, randomReplicaId, Store } from "./core.mjs";
export { Db, OriginClient, open } from "./db.mjs";
export { RelayTransport } from "./transport.mjs";
