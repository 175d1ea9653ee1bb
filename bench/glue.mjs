// The wasm module's own bindings, initialised (the package bundles its own copy): for the
// benchmarks that drive a Replica or an Origin directly.
import { readFileSync } from "node:fs";
import { initSync } from "../pkg/web/castamere.mjs";

initSync({ module: readFileSync(new URL("../pkg/web/castamere_bg.wasm", import.meta.url)) });

export { Origin, Replica } from "../pkg/web/castamere.mjs";

const TO = ["region", "membership", "peer", "origin"];

/** Every message `replica` has to send now: `[{ to, peer?, payload }]`, `to` one of TO. */
export function transmits(replica) {
  const out = [];
  for (let p = replica.pollTransmit(); p !== undefined; p = replica.pollTransmit()) {
    const to = TO[replica.transmitTo];
    out.push(to === "peer" ? { to, peer: replica.transmitPeer, payload: p } : { to, payload: p });
  }
  return out;
}
