// Entry for bundlers and browsers: fetches and instantiates the wasm before the module
// finishes loading (top-level await), so `new Store()` works at once after import.
import init from "../pkg/web/castamere.mjs";

await init({ module_or_path: new URL("../pkg/web/castamere_bg.wasm", import.meta.url) });

export { AuthError, defineApp, jwtAuth, signJwt, signJwtEs256 } from "./app.mjs";
export { CastamereError, randomReplicaId, Store } from "./core.mjs";
export { Db, OriginClient, open } from "./db.mjs";
export { RelayTransport } from "./transport.mjs";
