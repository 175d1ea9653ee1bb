// Bytes as the strings of char codes 0-255 that every runtime's `atob`/`btoa` work on, and
// that short ASCII ids read as.

/** The string whose char codes are `bytes`. */
export function byteString(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** The bytes of base64 `b64`. */
export function fromBase64(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The base64 of `bytes`. */
export function toBase64(bytes) {
  return btoa(byteString(bytes));
}
