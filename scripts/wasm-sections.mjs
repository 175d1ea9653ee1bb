// Reading a wasm module's binary format: what the build (dropping a custom section) and the
// package test (reading export signatures) need. Node built-ins only: setup runs it before
// node_modules exists.

/** A cursor over `bytes` from `at`: unsigned LEB128 numbers, names, and vectors of items. */
export function reader(bytes, at = 0) {
  const r = {
    at,
    byte: () => bytes[r.at++],
    u32() {
      let v = 0;
      let shift = 0;
      let b;
      do {
        b = bytes[r.at++];
        v += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      return v;
    },
    name() {
      const len = r.u32();
      r.at += len;
      return new TextDecoder().decode(bytes.subarray(r.at - len, r.at));
    },
    vec: (read) => Array.from({ length: r.u32() }, read),
  };
  return r;
}

/** The sections of a wasm module, in order: `{ id, start, body, end }` (byte offsets). */
export function* sections(bytes) {
  const r = reader(bytes, 8);
  while (r.at < bytes.length) {
    const start = r.at;
    const id = r.byte();
    const size = r.u32();
    const body = r.at;
    r.at = body + size;
    yield { id, start, body, end: r.at };
  }
}

/** The wasm module `bytes` without its custom section called `name`. */
export function withoutCustomSection(bytes, name) {
  const kept = [bytes.subarray(0, 8)];
  for (const s of sections(bytes)) {
    if (s.id !== 0 || reader(bytes, s.body).name() !== name) kept.push(bytes.subarray(s.start, s.end));
  }
  return Buffer.concat(kept);
}
