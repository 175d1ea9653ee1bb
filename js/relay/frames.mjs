// The relay's binary framing (runtime-agnostic). The relay reads only this header, never the
// castamere payload behind it.
//   client → relay   0x01 topic payload             publish to the room (tenant + region)
//                    0x02 idlen id payload          to one replica of the room
//   relay → client   0x11 topic idlen id payload    a publish, with the sender's replica id
//                    0x12 idlen id payload          a direct message, with the sender's id
// Text frames (JSON) carry control: welcome, join, leave, error. Replica ids are decimal
// digits, one byte each: they cross as byte strings (TextEncoder/TextDecoder cost more on so
// few bytes).
import { byteString } from "../bytes.mjs";

export const PUBLISH = 0x01;
export const DIRECT = 0x02;
export const FROM_PUBLISH = 0x11;
export const FROM_DIRECT = 0x12;
export const TOPICS = ["sync", "membership"];

/** A replica id is a decimal u64 (1-20 digits). */
export function validReplicaId(id) {
  return typeof id === "string" && /^[0-9]{1,20}$/.test(id);
}

export function publishFrame(topic, payload) {
  const f = new Uint8Array(2 + payload.length);
  f[0] = PUBLISH;
  f[1] = topic;
  f.set(payload, 2);
  return f;
}

export function directFrame(to, payload) {
  const f = new Uint8Array(2 + to.length + payload.length);
  f[0] = DIRECT;
  f[1] = to.length;
  for (let i = 0; i < to.length; i++) f[2 + i] = to.charCodeAt(i);
  f.set(payload, 2 + to.length);
  return f;
}

/** Parses a relay → client frame: `{ kind: "publish" | "direct", topic?, from, payload }`. */
export function parseIncoming(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b[0] === FROM_PUBLISH && b.length >= 3) {
    const n = b[2];
    if (b.length < 3 + n) return null;
    return { kind: "publish", topic: TOPICS[b[1]], from: byteString(b.subarray(3, 3 + n)), payload: b.subarray(3 + n) };
  }
  if (b[0] === FROM_DIRECT && b.length >= 2) {
    const n = b[1];
    if (b.length < 2 + n) return null;
    return { kind: "direct", from: byteString(b.subarray(2, 2 + n)), payload: b.subarray(2 + n) };
  }
  return null;
}
