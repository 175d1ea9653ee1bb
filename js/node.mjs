// Node entry (ESM; dist/node.cjs is built from it for require()): loads the wasm from pkg/.
import { readFileSync } from "node:fs";
import { initSync } from "../pkg/web/castamere.js";

initSync({ module: readFileSync(new URL("../pkg/web/castamere_bg.wasm", import.meta.url)) });

export * from "./core.mjs";
