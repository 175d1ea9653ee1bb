// The wasm module's own bindings, initialised (the package bundles its own copy): for the
// benchmarks that drive a Replica or an Origin directly.
import { readFileSync } from "node:fs";
import { initSync } from "../pkg/web/castamere.mjs";

initSync({ module: readFileSync(new URL("../pkg/web/castamere_bg.wasm", import.meta.url)) });

export { Origin, Replica } from "../pkg/web/castamere.mjs";
