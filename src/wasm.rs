//! wasm-bindgen newtypes over the core: conversions between JavaScript values and core
//! types, and nothing else.

use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::store::{HandleWrite, Limits, Reply};

// The few JavaScript operations not taken from js-sys. V8 compiles a wasm-to-JS wrapper for
// each distinct import signature when the module is instantiated. js-sys's `Reflect` and
// `toString` imports catch exceptions, which makes them JS functions of another arity than
// their signature, and they took wrappers of their own (10 wrappers before, 7 with these).
// These share the signatures of other imports, and none can throw on the values passed:
// objects of ours or a copy the shim made, numbers and bigints.
#[wasm_bindgen]
extern "C" {
    /// Any object, seen as its fields.
    type Fields;
    /// `object[key] = value`.
    #[wasm_bindgen(method, structural, indexing_setter)]
    fn set(this: &Fields, key: &JsValue, value: &JsValue);
    /// `object[key]`.
    #[wasm_bindgen(method, structural, indexing_getter)]
    fn get(this: &Fields, key: &JsValue) -> JsValue;
    /// `String(value)`: how JavaScript writes a number or a bigint.
    #[wasm_bindgen(js_name = String)]
    fn js_string(value: &JsValue) -> String;
}

fn set_field(o: &Object, key: &JsValue, value: &JsValue) {
    o.unchecked_ref::<Fields>().set(key, value);
}

/// Every core error becomes a JavaScript `Error` named `CastamereError` with a `code`.
fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("CastamereError");
    set_field(&err, &JsValue::from_str("code"), &JsValue::from_str(e.code()));
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
                set_field(&o, &bytes_to_js(&k), &reply_to_js(val));
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
    if let Some(n) = v.as_f64().filter(|n| n.fract() == 0.0 && n.abs() <= MAX_SAFE as f64) {
        return Ok((n as i64).to_string().into_bytes());
    }
    if v.as_f64().is_some() || v.is_bigint() {
        return Ok(js_string(v).into_bytes());
    }
    Err(js_error(Error::Invalid(
        "command words must be strings, numbers, bigints or Uint8Arrays, e.g. [\"INCRBY\", \"views\", 5]".into(),
    )))
}

/// A replica id from the halves the shim passes (a u64 argument would make V8 compile a
/// JS-to-wasm wrapper for the constructor's signature at every cold start).
fn replica_id(high: u32, low: u32) -> u64 {
    u64::from(high) << 32 | u64::from(low)
}

/// A buffer in wasm memory that the shim writes a command's words into (no allocation and no
/// string conversion per call). Its address never changes.
pub struct Scratch(Box<[u8]>);

/// Bytes of a scratch buffer: words longer than this take the general path.
const SCRATCH_BYTES: usize = 4096;

/// The typed commands the scratch path runs, by the number the shim passes.
const SCRATCH_COMMANDS: [&[u8]; 5] = [b"SET", b"SADD", b"SREM", b"HSET", b"HINCRBY"];

impl Scratch {
    fn new() -> Scratch {
        Scratch(vec![0; SCRATCH_BYTES].into_boxed_slice())
    }

    fn ptr(&self) -> u32 {
        self.0.as_ptr() as usize as u32
    }

    /// The words of lengths `lens` at the start of the buffer, one after another, and how
    /// many there are (a length of 2^32-1 ends them), or why not.
    fn split<const N: usize>(&self, lens: [u32; N]) -> Result<([&[u8]; N], usize), Error> {
        let mut words: [&[u8]; N] = [&[]; N];
        let mut at = 0usize;
        let mut n = 0;
        for (len, word) in lens.into_iter().zip(words.iter_mut()) {
            if len == u32::MAX {
                break;
            }
            let end = at.checked_add(len as usize).filter(|&e| e <= self.0.len());
            let end = end.ok_or_else(|| Error::Invalid("scratch words beyond the buffer".into()))?;
            *word = &self.0[at..end];
            at = end;
            n += 1;
        }
        Ok((words, n))
    }

    /// The command `op` on the words of lengths `lens` at the start of the buffer, or why not.
    fn words(&self, op: u32, lens: [u32; 3]) -> Result<([&[u8]; 4], usize), Error> {
        let name =
            SCRATCH_COMMANDS.get(op as usize).ok_or_else(|| Error::Invalid(format!("unknown scratch command {op}")))?;
        let ([a, b, c], n) = self.split(lens)?;
        Ok(([name, a, b, c], n + 1))
    }
}

/// The typed write `op` of `execHandle` (numbered as the scratch commands), or why not.
fn handle_write(op: u32, words: usize) -> Result<HandleWrite, Error> {
    match (SCRATCH_COMMANDS.get(op as usize).copied(), words) {
        (Some(b"SET"), 1) => Ok(HandleWrite::Set),
        (Some(b"SADD"), 1) => Ok(HandleWrite::Sadd),
        (Some(b"HSET"), 2) => Ok(HandleWrite::Hset),
        _ => Err(Error::Invalid(format!("no handle write {op} of {words} words"))),
    }
}

/// A reply as a plain number for the scratch path: integers as themselves (NaN beyond
/// ±2^53), `OK` as 0; an error is kept for `takeError` and gives NaN.
fn reply_number(r: Result<Reply, Error>, err: &mut Option<Error>) -> f64 {
    match r {
        Ok(Reply::Int(v)) if v.abs() <= MAX_SAFE => v as f64,
        Ok(Reply::Int(_)) => f64::NAN,
        Ok(_) => 0.0,
        Err(e) => {
            *err = Some(e);
            f64::NAN
        }
    }
}

/// An increment from JS: an integer within ±2^53.
fn checked_by(by: f64) -> Result<i64, Error> {
    if by.fract() != 0.0 || by.abs() > MAX_SAFE as f64 {
        return Err(Error::NotInteger);
    }
    Ok(by as i64)
}

/// A counter's value as a JS number: NaN beyond ±2^53, or on an error, which is kept for
/// `takeError`.
fn number_or_stash(r: Result<i64, Error>, err: &mut Option<Error>) -> f64 {
    match r {
        Ok(v) if v.abs() <= MAX_SAFE => v as f64,
        Ok(_) => f64::NAN,
        Err(e) => {
            *err = Some(e);
            f64::NAN
        }
    }
}

/// The command surface `Store` and `Replica` share: `exec`, `exec3`, `intern`, the scratch
/// path and `takeError`. Writes through a replica are sealed into a delta-group within
/// `deltaIntervalMs`.
macro_rules! command_methods {
    ($class:ident, $js:ident) => {
        #[wasm_bindgen(js_class = $js)]
        impl $class {
            /// Runs one command; `now` is the caller's wall clock in milliseconds.
            pub fn exec(&mut self, args: &Array, now: f64) -> Result<JsValue, JsValue> {
                let words: Vec<Vec<u8>> = args.iter().map(|v| word(&v)).collect::<Result<_, _>>()?;
                let refs: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
                self.0.exec(now_ms(now), &refs).map(reply_to_js).map_err(js_error)
            }

            /// Runs a command of 2 to 4 string words without building an array (the shim's
            /// typed reads: `GET`, `HGET`, `SMEMBERS`, ...).
            #[wasm_bindgen(js_name = exec3)]
            pub fn exec3(
                &mut self,
                now: f64,
                a: &str,
                b: &str,
                c: Option<String>,
                d: Option<String>,
            ) -> Result<JsValue, JsValue> {
                let mut words: Vec<&[u8]> = vec![a.as_bytes(), b.as_bytes()];
                words.extend(c.as_deref().map(str::as_bytes));
                words.extend(d.as_deref().map(str::as_bytes));
                self.0.exec(now_ms(now), &words).map(reply_to_js).map_err(js_error)
            }

            /// Interns `key` for the hot paths: its handle, or -1 when the table is full or the
            /// key is long (the caller then passes the string).
            pub fn intern(&mut self, key: &str) -> i32 {
                self.0.intern(key.as_bytes()).map_or(-1, |h| h as i32)
            }

            /// The error of the last `incrByHandle` or `execScratch` that returned NaN, if it
            /// failed (once).
            #[wasm_bindgen(js_name = takeError)]
            pub fn take_error(&mut self) -> JsValue {
                self.1.take().map_or(JsValue::UNDEFINED, js_error)
            }

            /// Where the shim writes words for `execScratch`, in wasm memory.
            #[wasm_bindgen(js_name = scratchPtr)]
            pub fn scratch_ptr(&self) -> u32 {
                self.2.ptr()
            }

            /// Runs typed write `op` (SET, SADD, SREM, HSET, HINCRBY) on the words the shim
            /// wrote into the scratch buffer (lengths `a`, `b`, `c`; 2^32-1 for none): a number
            /// as `reply_number` gives it.
            #[wasm_bindgen(js_name = execScratch)]
            pub fn exec_scratch(&mut self, now: f64, op: u32, a: u32, b: u32, c: u32) -> f64 {
                let r = match self.2.words(op, [a, b, c]) {
                    Ok((words, n)) => self.0.exec(now_ms(now), &words[..n]),
                    Err(e) => Err(e),
                };
                reply_number(r, &mut self.1)
            }

            /// Runs typed write `op` (SET, SADD or HSET, numbered as for `execScratch`) on the
            /// key interned as `handle`, with the words the shim wrote into the scratch buffer
            /// (lengths `a` and `b`; 2^32-1 for none): a number as `reply_number` gives it.
            #[wasm_bindgen(js_name = execHandle)]
            pub fn exec_handle(&mut self, now: f64, op: u32, handle: u32, a: u32, b: u32) -> f64 {
                let r = self.2.split([a, b]).and_then(|([a, b], n)| {
                    let op = handle_write(op, n)?;
                    self.0.write_by_handle(now_ms(now), handle, op, a, b)
                });
                reply_number(r, &mut self.1)
            }
        }
    };
}

command_methods!(WasmStore, Store);
command_methods!(WasmReplica, Replica);

/// The store as seen from JavaScript (the shim's `Store` wraps it). Hot keys are interned
/// by the store, so hot paths pass a small integer instead of copying a string each call.
#[wasm_bindgen(js_name = Store)]
pub struct WasmStore(crate::Store, Option<Error>, Scratch);

#[wasm_bindgen(js_class = Store)]
impl WasmStore {
    /// An empty store for the replica id `idHigh * 2^32 + idLow`, with optional limits.
    #[wasm_bindgen(constructor)]
    pub fn new(id_high: u32, id_low: u32, max_key_bytes: Option<u32>, max_value_bytes: Option<u32>) -> WasmStore {
        console_error_panic_hook::set_once();
        let mut limits = Limits::default();
        if let Some(k) = max_key_bytes {
            limits.max_key_bytes = k as usize;
        }
        if let Some(v) = max_value_bytes {
            limits.max_value_bytes = v as usize;
        }
        WasmStore(crate::Store::with_limits(replica_id(id_high, id_low), limits), None, Scratch::new())
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

    /// [`WasmStore::incr_by`] on an interned key, returning a plain number (no result object
    /// on the hot path): NaN when the value is beyond ±2^53 or the command failed, and then
    /// `takeError()` tells which.
    #[wasm_bindgen(js_name = incrByHandle)]
    pub fn incr_by_handle(&mut self, handle: u32, by: f64) -> f64 {
        let r = checked_by(by).and_then(|by| self.0.incr_by_handle(handle, by));
        number_or_stash(r, &mut self.1)
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

// -------------------------------------------------------------------------------------------
// The replica

use crate::crdt::ReplicaId;
use crate::sync::{Config, Destination, Event, Level, Origin, Replica};

fn set(o: &Object, k: &str, v: impl Into<JsValue>) {
    set_field(o, &JsValue::from_str(k), &v.into());
}

fn now_ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// Reads a replica configuration from a plain object; unknown keys are an error.
fn config(replica: u64, options: &JsValue) -> Result<Config, JsValue> {
    let mut c = Config { seed: replica, ..Config::default() };
    if options.is_undefined() || options.is_null() {
        return Ok(c);
    }
    let options = options
        .dyn_ref::<Object>()
        .ok_or_else(|| js_error(Error::Invalid("replica options must be an object".into())))?;
    for k in Object::keys(options).iter() {
        let name = k.as_string().unwrap_or_default();
        let v = options.unchecked_ref::<Fields>().get(&k);
        if v.is_undefined() {
            continue;
        }
        let n = v.as_f64().filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= MAX_SAFE as f64).ok_or_else(|| {
            js_error(Error::Invalid(format!("replica option '{name}' must be a non-negative integer")))
        })? as u64;
        match name.as_str() {
            "deltaIntervalMs" => c.delta_interval_ms = n,
            "ackDelayMs" => c.ack_delay_ms = n,
            "heartbeatMs" => c.heartbeat_ms = n.max(1),
            "leaseMs" => c.lease_ms = n.max(1),
            "retransmitMs" => c.retransmit_ms = n.max(1),
            "repairGraceMs" => c.repair_grace_ms = n,
            "originIntervalMs" => c.origin_interval_ms = n,
            "originMaxBatchBytes" => c.origin_max_batch_bytes = n as usize,
            "originRetryMs" => c.origin_retry_ms = n.max(1),
            "bootstrapBudgetMs" => c.bootstrap_budget_ms = n,
            "handoffOriginAfterMs" => c.handoff_origin_after_ms = n,
            "originCheckMs" => c.origin_check_ms = n.max(1),
            "outboxMaxBytes" => c.outbox_max_bytes = n as usize,
            "heldMaxBytes" => c.held_max_bytes = n as usize,
            "seed" => c.seed = n,
            "maxKeyBytes" => c.limits.max_key_bytes = n as usize,
            "maxValueBytes" => c.limits.max_value_bytes = n as usize,
            _ => return Err(js_error(Error::Invalid(format!("unknown replica option '{name}'")))),
        }
    }
    Ok(c)
}

/// A networked replica's state machine as seen from JavaScript (the shim's `open()` drives it).
#[wasm_bindgen(js_name = Replica)]
pub struct WasmReplica(Replica, Option<Error>, Scratch, Destination);

#[wasm_bindgen(js_class = Replica)]
impl WasmReplica {
    /// A replica with id `idHigh * 2^32 + idLow` and options (see `Config`, in camelCase).
    #[wasm_bindgen(constructor)]
    pub fn new(id_high: u32, id_low: u32, options: JsValue) -> Result<WasmReplica, JsValue> {
        console_error_panic_hook::set_once();
        let replica_id = replica_id(id_high, id_low);
        Ok(WasmReplica(
            Replica::new(replica_id, config(replica_id, &options)?),
            None,
            Scratch::new(),
            Destination::Region,
        ))
    }

    /// This replica's id, as a decimal string.
    #[wasm_bindgen(getter, js_name = replicaId)]
    pub fn replica_id(&self) -> String {
        self.0.id().to_string()
    }

    /// `INCRBY` on an interned key: the new value, or NaN beyond ±2^53 or on failure (then
    /// `takeError()` has the error).
    #[wasm_bindgen(js_name = incrByHandle)]
    pub fn incr_by_handle(&mut self, handle: u32, by: f64, now: f64) -> f64 {
        let r = checked_by(by).and_then(|by| self.0.incr_by_handle(now_ms(now), handle, by));
        number_or_stash(r, &mut self.1)
    }

    /// `INCRBY key by`: the new value, or NaN beyond ±2^53.
    #[wasm_bindgen(js_name = incrBy)]
    pub fn incr_by(&mut self, key: &str, by: f64, now: f64) -> Result<f64, JsValue> {
        if by.fract() != 0.0 || by.abs() > MAX_SAFE as f64 {
            return Err(js_error(Error::NotInteger));
        }
        let v = self.0.incr_by(now_ms(now), key.as_bytes(), by as i64).map_err(js_error)?;
        Ok(if v.abs() <= MAX_SAFE { v as f64 } else { f64::NAN })
    }

    /// The sequence number of this replica's latest write.
    #[wasm_bindgen(getter, js_name = lastWrite)]
    pub fn last_write(&self) -> f64 {
        self.0.store().last_write() as f64
    }

    /// The highest own write held by a live peer.
    #[wasm_bindgen(getter, js_name = regionAcked)]
    pub fn region_acked(&self) -> f64 {
        self.0.region_acked() as f64
    }

    /// The highest own write durable at the origin.
    #[wasm_bindgen(getter, js_name = originAcked)]
    pub fn origin_acked(&self) -> f64 {
        self.0.origin_acked() as f64
    }

    /// Live peers, as decimal strings.
    #[wasm_bindgen(getter)]
    pub fn peers(&self) -> Array {
        self.0.peers().map(|p| JsValue::from_str(&p.to_string())).collect()
    }

    /// Number of keys.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> f64 {
        self.0.store().len() as f64
    }

    /// What this replica sent, `{ peerMessages, peerBytes, originMessages, originBytes, groups }`,
    /// and what it holds of its peers' groups for the origin, `{ heldBytes, heldDropped }`.
    #[wasm_bindgen(getter)]
    pub fn stats(&self) -> Object {
        let s = self.0.stats();
        let o = Object::new();
        set(&o, "peerMessages", s.peer_messages as f64);
        set(&o, "peerBytes", s.peer_bytes as f64);
        set(&o, "originMessages", s.origin_messages as f64);
        set(&o, "originBytes", s.origin_bytes as f64);
        set(&o, "groups", s.groups as f64);
        set(&o, "heldBytes", s.held_bytes as f64);
        set(&o, "heldDropped", s.held_dropped as f64);
        o
    }

    /// Cold start: announce and run the compulsory anti-entropy session.
    pub fn start(&mut self, now: f64) {
        self.0.start(now_ms(now));
    }

    /// An anti-entropy session within `budgetMs`.
    pub fn sync(&mut self, now: f64, budget_ms: f64) {
        self.0.sync(now_ms(now), now_ms(budget_ms));
    }

    /// No other replica is connected to the region: a cold start asks the origin at once,
    /// or ends now without one (see `Replica::alone`).
    pub fn alone(&mut self, now: f64) {
        self.0.alone(now_ms(now));
    }

    /// Whether an origin serves this replica (see `Replica::set_has_origin`).
    #[wasm_bindgen(js_name = setHasOrigin)]
    pub fn set_has_origin(&mut self, has: bool) {
        self.0.set_has_origin(has);
    }

    /// An anti-entropy session after the connection was down: asks one of `connected` (the
    /// decimal ids the relay reports connected; others are ignored) for what this replica misses.
    pub fn resync(&mut self, now: f64, budget_ms: f64, connected: Vec<String>) {
        let ids: Vec<ReplicaId> = connected.iter().filter_map(|p| p.parse().ok()).collect();
        self.0.resync(now_ms(now), now_ms(budget_ms), &ids);
    }

    /// Before stopping for good: ships everything the origin lacks (see `Replica::retire`).
    pub fn retire(&mut self, now: f64) {
        self.0.retire(now_ms(now));
    }

    /// Whether writes held here are still missing at the origin (see `Replica::owes_origin`).
    #[wasm_bindgen(getter, js_name = owesOrigin)]
    pub fn owes_origin(&self) -> bool {
        self.0.owes_origin()
    }

    /// Seals and broadcasts pending writes now.
    pub fn push(&mut self, now: f64) {
        self.0.push(now_ms(now));
    }

    /// Seals and broadcasts pending writes now, asking peers to acknowledge them at once
    /// (see `Replica::push_awaiting_ack`).
    #[wasm_bindgen(js_name = pushAwaitingAck)]
    pub fn push_awaiting_ack(&mut self, now: f64) {
        self.0.push_awaiting_ack(now_ms(now));
    }

    /// Starts a handoff (see `Replica::begin_handoff`).
    #[wasm_bindgen(js_name = beginHandoff)]
    pub fn begin_handoff(&mut self, now: f64) {
        self.0.begin_handoff(now_ms(now));
    }

    /// Cuts an origin batch now.
    #[wasm_bindgen(js_name = flushOrigin)]
    pub fn flush_origin(&mut self, now: f64) {
        self.0.flush_origin(now_ms(now));
    }

    /// Leaves the region.
    pub fn close(&mut self, now: f64) {
        self.0.close(now_ms(now));
    }

    /// Handles bytes from the relay or the origin; invalid bytes throw and change nothing.
    #[wasm_bindgen(js_name = handleMessage)]
    pub fn handle_message(&mut self, now: f64, bytes: &[u8]) -> Result<(), JsValue> {
        self.0.handle_message(now_ms(now), bytes).map_err(js_error)
    }

    /// Handles the passing of the deadline from `pollTimeout`.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: f64) {
        self.0.handle_timeout(now_ms(now));
    }

    /// The next message to send, or undefined when there is none; `transmitTo` then says
    /// where it goes. The shim's loop: no object or string is made per message.
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let t = self.0.poll_transmit()?;
        self.3 = t.destination;
        Some(t.payload)
    }

    /// Where the message `pollTransmit` returned last goes: 0 the region, 1 the membership
    /// topic, 2 one peer (`transmitPeer`), 3 the origin.
    #[wasm_bindgen(getter, js_name = transmitTo)]
    pub fn transmit_to(&self) -> u32 {
        match self.3 {
            Destination::Region => 0,
            Destination::Membership => 1,
            Destination::Peer(_) => 2,
            Destination::Origin => 3,
        }
    }

    /// The peer the message `pollTransmit` returned last goes to (decimal id), if one.
    #[wasm_bindgen(getter, js_name = transmitPeer)]
    pub fn transmit_peer(&self) -> Option<String> {
        match self.3 {
            Destination::Peer(p) => Some(p.to_string()),
            _ => None,
        }
    }

    /// Whether `pollEvents` has something to give (most drains have nothing: no array then).
    #[wasm_bindgen(getter, js_name = hasEvents)]
    pub fn has_events(&self) -> bool {
        self.0.has_events()
    }

    /// Every pending event, as plain objects with a `type`.
    #[wasm_bindgen(js_name = pollEvents)]
    pub fn poll_events(&mut self) -> Array {
        let out = Array::new();
        while let Some(e) = self.0.poll_event() {
            let o = Object::new();
            match e {
                Event::Acked { level, upto } => {
                    set(&o, "type", "acked");
                    set(&o, "level", if level == Level::Origin { "origin" } else { "region" });
                    set(&o, "upto", upto as f64);
                }
                Event::PeerJoined(p) => {
                    set(&o, "type", "peerJoined");
                    set(&o, "peer", p.to_string());
                }
                Event::PeerLeft(p) => {
                    set(&o, "type", "peerLeft");
                    set(&o, "peer", p.to_string());
                }
                Event::Synced { peers, from_origin, complete } => {
                    set(&o, "type", "synced");
                    set(&o, "peers", peers as f64);
                    set(&o, "fromOrigin", from_origin);
                    set(&o, "complete", complete);
                }
                Event::HandoffComplete => set(&o, "type", "handoffComplete"),
            }
            out.push(&o);
        }
        out
    }

    /// When to call `handleTimeout` next (ms), or undefined.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.0.poll_timeout().map(|t| t as f64)
    }

    /// The whole state, encoded.
    pub fn snapshot(&self) -> Vec<u8> {
        self.0.store().snapshot()
    }
}

// -------------------------------------------------------------------------------------------
// The origin

/// The origin's merge engine as seen from JavaScript (`js/origin/` owns storage and HTTP).
#[wasm_bindgen(js_name = Origin)]
pub struct WasmOrigin(Origin);

#[wasm_bindgen(js_class = Origin)]
impl WasmOrigin {
    /// An empty origin.
    #[wasm_bindgen(constructor)]
    pub fn new(max_key_bytes: Option<u32>, max_value_bytes: Option<u32>) -> WasmOrigin {
        console_error_panic_hook::set_once();
        let mut limits = Limits::default();
        if let Some(k) = max_key_bytes {
            limits.max_key_bytes = k as usize;
        }
        if let Some(v) = max_value_bytes {
            limits.max_value_bytes = v as usize;
        }
        WasmOrigin(Origin::new(limits))
    }

    /// Handles a request from a replica: `{ response, applied? }` where `applied` is
    /// `{ id, source, keys, deltas }` for a batch applied now. Invalid bytes throw.
    pub fn handle(&mut self, bytes: &[u8]) -> Result<Object, JsValue> {
        let r = self.0.handle(bytes).map_err(js_error)?;
        let o = Object::new();
        set(&o, "response", Uint8Array::from(r.response.as_slice()));
        if let Some(a) = r.applied {
            let ap = Object::new();
            set(&ap, "id", a.id);
            set(&ap, "source", a.source.to_string());
            set(&ap, "mark", self.0.mark(a.source) as f64);
            let keys: Array = a.keys.iter().map(|k| JsValue::from(Uint8Array::from(&k[..]))).collect();
            set(&ap, "keys", keys);
            set(&ap, "deltas", a.deltas as f64);
            set(&o, "applied", ap);
        }
        Ok(o)
    }

    /// One key's state, encoded (a storage row), or undefined.
    pub fn row(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.row(key)
    }

    /// The causal context, encoded (the context row).
    #[wasm_bindgen(js_name = contextRow)]
    pub fn context_row(&self) -> Vec<u8> {
        self.0.context_row()
    }

    /// A snapshot response of the keys starting with `prefix`.
    #[wasm_bindgen(js_name = prefixSnapshotMessage)]
    pub fn prefix_snapshot_message(&self, prefix: &[u8]) -> Vec<u8> {
        self.0.prefix_snapshot_message(prefix)
    }

    /// Restores a row or the context row from storage.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.0.restore(bytes).map_err(js_error)
    }

    /// Restores a writer's mark from storage.
    #[wasm_bindgen(js_name = restoreMark)]
    pub fn restore_mark(&mut self, source: &str, mark: f64) -> Result<(), JsValue> {
        let s: u64 =
            source.parse().map_err(|_| js_error(Error::Invalid("source must be a decimal replica id".into())))?;
        self.0.restore_mark(s, now_ms(mark));
        Ok(())
    }

    /// Records a batch id as applied (from storage).
    #[wasm_bindgen(js_name = markApplied)]
    pub fn mark_applied(&mut self, id: String) {
        self.0.mark_applied(id);
    }

    /// Whether a batch id was applied.
    #[wasm_bindgen(js_name = wasApplied)]
    pub fn was_applied(&self, id: &str) -> bool {
        self.0.was_applied(id)
    }

    /// `[[source, mark], ...]`: how far the origin holds each writer.
    pub fn marks(&self) -> Array {
        self.0
            .marks()
            .iter()
            .map(|(s, m)| -> JsValue {
                Array::of2(&JsValue::from_str(&s.to_string()), &JsValue::from_f64(*m as f64)).into()
            })
            .collect()
    }

    /// The snapshot response (whole state and marks).
    #[wasm_bindgen(js_name = snapshotMessage)]
    pub fn snapshot_message(&self) -> Vec<u8> {
        self.0.snapshot_message()
    }

    /// Runs a read-only command on the merged state (`GET`, `HGETALL`, `SCAN`, `TYPE`, ...).
    pub fn read(&self, args: &Array) -> Result<JsValue, JsValue> {
        let words: Vec<Vec<u8>> = args.iter().map(|v| word(&v)).collect::<Result<_, _>>()?;
        let refs: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        self.0.store().exec_read(&refs).map(reply_to_js).map_err(js_error)
    }

    /// Number of keys.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> f64 {
        self.0.store().len() as f64
    }
}

/// The WebAssembly memory, for the shim's view of the scratch buffers.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
