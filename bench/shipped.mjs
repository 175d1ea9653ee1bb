// What one operation costs on the wire as the sync engine ships it to the region: the
// delta-group message (envelope: sender, range, acknowledgements) and the delta inside it.
// Measured on a real replica with a random 64-bit id, as every process start picks.
import { Replica, transmits } from "./glue.mjs";

function varint(b, at) {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const x = b[at.i++];
    v |= BigInt(x & 0x7f) << shift;
    if ((x & 0x80) === 0) return v;
    shift += 7n;
  }
}

/** Splits a delta-group message (0xC7, type 1) into its envelope and delta lengths. */
export function splitDeltas(payload) {
  if (payload[0] !== 0xc7 || payload[1] !== 1) return null;
  const at = { i: 2 };
  varint(payload, at); // from
  varint(payload, at); // lo
  varint(payload, at); // hi
  at.i++; // urgent
  const acks = Number(varint(payload, at));
  for (let k = 0; k < 2 * acks; k++) varint(payload, at);
  const len = Number(varint(payload, at));
  return { message: payload.length, delta: len, envelope: payload.length - len };
}

/**
 * Bytes shipped for `op(replica, i)` run once more after `warm` runs: `{ message, delta }`.
 * `op` is given a wasm Replica and the clock.
 */
export function shippedBytes(op, warm = 1) {
  const id = (BigInt(Math.floor(Math.random() * 2 ** 31)) << 33n) | (1n << 63n) | 12345n;
  const r = new Replica(Number(id >> 32n), Number(id & 0xffffffffn), {});
  let now = 1_700_000_000_000;
  r.start(now);
  const drain = () => {
    const out = transmits(r)
      .map((t) => splitDeltas(t.payload))
      .filter(Boolean);
    r.pollEvents();
    return out;
  };
  drain();
  for (let i = 0; i < warm; i++) {
    op(r, ++now, i);
    r.push(now);
    drain();
  }
  op(r, ++now, warm);
  r.push(now);
  const [group] = drain();
  return group;
}
