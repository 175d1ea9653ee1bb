//! wasm-bindgen newtypes over the core: conversions between JavaScript values and core
//! types, and nothing else.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::store::{Limits, Reply};

/// Every core error becomes a JavaScript `Error` named `CastamereError` with a `code`.
fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("CastamereError");
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(e.code()));
    err.into()
}

const MAX_SAFE: i64 = (1 << 53) - 1;

fn int_to_js(v: i64) -> JsValue {
    if (-MAX_SAFE..=MAX_SAFE).contains(&v) {
        JsValue::from_f64(v as f64)
    } else {
        JsValue::bigint_from_str(&v.to_string())
    }
}

fn bytes_to_js(b: &[u8]) -> JsValue {
    match std::str::from_utf8(b) {
        Ok(s) => JsValue::from_str(s),
        Err(_) => Uint8Array::from(b).into(),
    }
}

fn reply_to_js(r: Reply) -> JsValue {
    match r {
        Reply::Nil => JsValue::NULL,
        Reply::Status(s) => JsValue::from_str(s),
        Reply::Int(v) => int_to_js(v),
        Reply::Bulk(b) => bytes_to_js(&b),
        Reply::Array(v) => v.into_iter().map(reply_to_js).collect::<Array>().into(),
        Reply::Map(v) => {
            let o = Object::new();
            for (k, val) in v {
                let _ = Reflect::set(&o, &bytes_to_js(&k), &reply_to_js(val));
            }
            o.into()
        }
    }
}

/// Converts one command word: a string, a `Uint8Array`, a number or a bigint.
fn word(v: &JsValue) -> Result<Vec<u8>, JsValue> {
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Ok(a.to_vec());
    }
    if let Some(n) = v.as_f64() {
        if n.fract() == 0.0 && n.abs() <= MAX_SAFE as f64 {
            return Ok((n as i64).to_string().into_bytes());
        }
        return Ok(n.to_string().into_bytes());
    }
    if v.is_bigint() {
        let s: String = js_sys::BigInt::unchecked_from_js_ref(v).to_string(10).map(String::from).unwrap_or_default();
        return Ok(s.into_bytes());
    }
    Err(js_error(Error::Invalid(
        "command words must be strings, numbers, bigints or Uint8Arrays, e.g. [\"INCRBY\", \"views\", 5]".into(),
    )))
}

fn replica_id(v: &JsValue) -> Result<u64, JsValue> {
    let bad = || js_error(Error::Invalid("replicaId must be a non-negative integer below 2^64".into()));
    if v.is_bigint() {
        let b = js_sys::BigInt::unchecked_from_js_ref(v);
        let s: String = b.to_string(10).map_err(|_| bad())?.into();
        return s.parse().map_err(|_| bad());
    }
    match v.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE as f64 => Ok(n as u64),
        _ => v.as_string().and_then(|s| s.parse().ok()).ok_or_else(bad),
    }
}

/// The store as seen from JavaScript (the shim's `Store` wraps it). `keys` holds keys the
/// shim interned, so hot paths pass a small integer instead of copying a string each call.
#[wasm_bindgen(js_name = Store)]
pub struct WasmStore(crate::Store, Vec<Box<[u8]>>);

/// Most keys the shim may intern, and the longest key it interns.
const MAX_INTERNED: usize = 1 << 16;
const MAX_INTERNED_KEY: usize = 64;

#[wasm_bindgen(js_class = Store)]
impl WasmStore {
    /// An empty store for `replicaId` (a bigint or a safe integer), with optional limits.
    #[wasm_bindgen(constructor)]
    pub fn new(
        replica_id_value: JsValue,
        max_key_bytes: Option<u32>,
        max_value_bytes: Option<u32>,
    ) -> Result<WasmStore, JsValue> {
        console_error_panic_hook::set_once();
        let mut limits = Limits::default();
        if let Some(k) = max_key_bytes {
            limits.max_key_bytes = k as usize;
        }
        if let Some(v) = max_value_bytes {
            limits.max_value_bytes = v as usize;
        }
        Ok(WasmStore(crate::Store::with_limits(replica_id(&replica_id_value)?, limits), Vec::new()))
    }

    /// Runs one command; `now` is the caller's wall clock in milliseconds.
    pub fn exec(&mut self, args: &Array, now: f64) -> Result<JsValue, JsValue> {
        let words: Vec<Vec<u8>> = args.iter().map(|v| word(&v)).collect::<Result<_, _>>()?;
        let refs: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        self.0.exec(now.max(0.0) as u64, &refs).map(reply_to_js).map_err(js_error)
    }

    /// `INCRBY key by`, the hot path: the new value, or NaN if it is beyond ±2^53 (then
    /// read it exactly with `GET`).
    #[wasm_bindgen(js_name = incrBy)]
    pub fn incr_by(&mut self, key: &str, by: f64) -> Result<f64, JsValue> {
        if by.fract() != 0.0 || by.abs() > MAX_SAFE as f64 {
            return Err(js_error(Error::NotInteger));
        }
        let v = self.0.incr_by(key.as_bytes(), by as i64).map_err(js_error)?;
        Ok(if v.abs() <= MAX_SAFE { v as f64 } else { f64::NAN })
    }

    /// Interns `key` for the hot paths: its handle, or -1 when the table is full or the key
    /// is long (the caller then passes the string).
    pub fn intern(&mut self, key: &str) -> i32 {
        if self.1.len() >= MAX_INTERNED || key.len() > MAX_INTERNED_KEY {
            return -1;
        }
        self.1.push(Box::from(key.as_bytes()));
        (self.1.len() - 1) as i32
    }

    /// [`WasmStore::incr_by`] on an interned key.
    #[wasm_bindgen(js_name = incrByHandle)]
    pub fn incr_by_handle(&mut self, handle: u32, by: f64) -> Result<f64, JsValue> {
        if by.fract() != 0.0 || by.abs() > MAX_SAFE as f64 {
            return Err(js_error(Error::NotInteger));
        }
        let key = self.1.get(handle as usize).ok_or_else(|| js_error(Error::Invalid("unknown key handle".into())))?;
        let v = self.0.incr_by(key, by as i64).map_err(js_error)?;
        Ok(if v.abs() <= MAX_SAFE { v as f64 } else { f64::NAN })
    }

    /// The outgoing delta buffer, encoded, or `undefined` when nothing changed.
    #[wasm_bindgen(js_name = takeDeltas)]
    pub fn take_deltas(&mut self) -> Option<Vec<u8>> {
        self.0.take_deltas()
    }

    /// Joins remote bytes (a delta or a snapshot); invalid bytes throw and change nothing.
    #[wasm_bindgen(js_name = applyDeltas)]
    pub fn apply_deltas(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.0.apply(bytes).map_err(js_error)
    }

    /// The whole state, encoded.
    pub fn snapshot(&self) -> Vec<u8> {
        self.0.snapshot()
    }

    /// This replica's id, as a decimal string.
    #[wasm_bindgen(getter, js_name = replicaId)]
    pub fn replica_id(&self) -> String {
        self.0.replica().to_string()
    }

    /// The sequence number of this replica's latest write.
    #[wasm_bindgen(getter, js_name = lastWrite)]
    pub fn last_write(&self) -> f64 {
        self.0.last_write() as f64
    }

    /// Number of keys.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> f64 {
        self.0.len() as f64
    }
}
