//! The keyspace and its Redis-like commands.
//!
//! A key holds one CRDT type, fixed by its first write; a command of another type gets
//! `WRONGTYPE`. Every successful mutation joins its delta into the state and into the
//! outgoing delta buffer, which the sync engine (or [`Store::take_delta`]) drains. A command
//! that fails changes nothing and produces no delta.
//!
//! ```
//! use castamere::{Reply, Store};
//! let mut a = Store::new(1);
//! let mut b = Store::new(2);
//! a.exec(0, &[b"INCRBY", b"views", b"5"]).unwrap();
//! b.exec(0, &[b"INCR", b"views"]).unwrap();
//! b.apply(&a.take_deltas().unwrap()).unwrap();
//! assert_eq!(b.exec(0, &[b"GET", b"views"]).unwrap(), Reply::Int(6));
//! ```

mod commands;
mod glob;
mod inplace;
mod reply;

pub use inplace::HandleWrite;
pub use reply::Reply;

use crate::codec::{self, Blob, DecodeLimits};
use crate::crdt::{AnyCrdt, Causal, CausalContext, DotMap, DotSet, DotStore, Hlc, Key, Kind, Lattice, ReplicaId, Slot};
use crate::error::{Error, Result};
use std::cell::Cell;

/// Whether a set member's `dots` are one dot of `replica`'s made after `seen` (its latest
/// write another replica may have seen). Adding the member again then changes nothing any
/// replica could tell apart: no removal anywhere can have observed that dot, and the next
/// take of the buffer ships the member either way. So such an add leaves the member as it is
/// (as other stores record nothing for a write of the value an entry already holds).
fn unseen_own(dots: &DotSet, replica: ReplicaId, seen: u64) -> bool {
    matches!(dots.dots(), [d] if d.replica == replica && d.seq > seen)
}

/// The keyspace: keys to values of any CRDT type.
pub type Keyspace = DotMap<Key, AnyCrdt>;

/// Size limits on what the store accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest key, set member or hash field, in bytes.
    pub max_key_bytes: usize,
    /// Largest value, in bytes.
    pub max_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let d = DecodeLimits::default();
        Limits { max_key_bytes: d.max_key_bytes, max_value_bytes: d.max_value_bytes }
    }
}

impl Limits {
    /// The same limits, for decoding.
    pub fn decode(&self) -> DecodeLimits {
        DecodeLimits { max_key_bytes: self.max_key_bytes, max_value_bytes: self.max_value_bytes }
    }
}

/// Most keys [`Store::intern`] hands out handles for. A handle lives as long as the store
/// (about 130 bytes of wasm memory with its key), so the table is bounded; keys past it take
/// the byte path, 20-30% slower.
pub const MAX_INTERNED: usize = 1 << 14;
/// The longest key [`Store::intern`] interns.
pub const MAX_INTERNED_KEY: usize = 64;

/// An interned key: its bytes and, while it lives outside the outgoing buffer's map, the key's
/// entry of that buffer. While one is held, the map has no entry for the key, and everything
/// that reads or joins the buffer first moves it back (`spill`).
#[derive(Debug, Clone)]
struct Interned {
    key: Key,
    held: Option<Held>,
}

/// An outgoing entry held beside the buffer's map, of one kind at a time.
#[derive(Debug, Clone)]
enum Held {
    /// A counter's, as the newest own dot and this replica's contribution (see
    /// [`Store::incr_by_handle`]).
    Counter(crate::crdt::Dot, i64),
    /// Another type's, as it is (see [`Store::write_by_handle`]).
    Value(crate::crdt::AnyCrdt),
}

/// One replica's keyspace: state, clock and outgoing delta buffer.
#[derive(Debug, Clone)]
pub struct Store {
    replica: ReplicaId,
    state: Causal<Keyspace>,
    clock: Hlc,
    outgoing: Causal<Keyspace>,
    limits: Limits,
    /// Interned keys, by handle, and the handle of each.
    interned: Vec<Interned>,
    handles: std::collections::BTreeMap<Key, u32>,
    /// Handles whose outgoing entry is held in `interned` (not in `outgoing.store`).
    side: Vec<u32>,
    /// Whether the in-place hot paths run (off only to test them against the general path).
    fast: bool,
    /// This replica's latest write when the outgoing buffer was last taken: every own dot
    /// after it is in the buffer's context.
    taken_at: u64,
    /// This replica's latest write when the state last left the store other than through
    /// the buffer (a snapshot, a key's state): another replica may have seen every own dot up
    /// to it. A cell, because reading a snapshot does not otherwise change the store.
    shown_at: Cell<u64>,
}

impl Store {
    /// An empty store for `replica`. Replica ids must be unique and never reused.
    pub fn new(replica: ReplicaId) -> Self {
        Self::with_limits(replica, Limits::default())
    }

    /// An empty store with size limits.
    pub fn with_limits(replica: ReplicaId, limits: Limits) -> Self {
        Store {
            replica,
            state: Causal::default(),
            clock: Hlc::default(),
            outgoing: Causal::default(),
            limits,
            interned: Vec::new(),
            handles: std::collections::BTreeMap::new(),
            side: Vec::new(),
            fast: true,
            taken_at: 0,
            shown_at: Cell::new(0),
        }
    }

    /// This replica's id.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The state.
    pub fn state(&self) -> &Causal<Keyspace> {
        self.shown();
        &self.state
    }

    /// Notes that the state, as it is now, may reach another replica.
    fn shown(&self) {
        self.shown_at.set(self.last_write());
    }

    /// This replica's latest write that another replica may have seen: at the last take of
    /// the buffer or the last time the state was shown, whichever came later.
    pub(crate) fn seen_until(&self) -> u64 {
        self.taken_at.max(self.shown_at.get())
    }

    /// Every dot this store has seen.
    pub fn context(&self) -> &CausalContext {
        &self.state.ctx
    }

    /// The sequence number of this replica's latest write (0 before the first). Writes are
    /// numbered 1, 2, ... in the order they were applied here; a peer (or the origin) holds
    /// write `n` once its version vector entry for this replica is at least `n`.
    pub fn last_write(&self) -> u64 {
        self.state.ctx.max(self.replica)
    }

    /// Number of live keys.
    pub fn len(&self) -> usize {
        self.state.store.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.state.store.is_empty()
    }

    /// The value at `key`.
    pub fn get(&self, key: &[u8]) -> Option<&AnyCrdt> {
        self.state.store.get_bytes(key)
    }

    /// Takes the outgoing delta buffer: the join of every local mutation since the last take.
    pub fn take_delta(&mut self) -> Option<Causal<Keyspace>> {
        self.spill();
        if self.outgoing.ctx.is_empty() {
            return None;
        }
        self.taken_at = self.last_write();
        Some(std::mem::take(&mut self.outgoing))
    }

    /// Takes the outgoing delta buffer, encoded.
    pub fn take_deltas(&mut self) -> Option<Vec<u8>> {
        self.take_delta().map(|d| codec::encode_delta(&d))
    }

    /// Whether local mutations wait in the outgoing buffer.
    pub fn has_outgoing(&self) -> bool {
        !self.outgoing.ctx.is_empty()
    }

    /// Decodes and joins remote bytes (a delta or a full state). Invalid bytes are an error
    /// and change nothing.
    pub fn apply(&mut self, bytes: &[u8]) -> Result<()> {
        match codec::decode(bytes, self.limits.decode())? {
            Blob::Delta(d) => self.join_delta(&d),
            Blob::State(s) => self.join_state_owned(s),
        }
        Ok(())
    }

    /// Joins a decoded remote delta (visiting only the keys it names).
    pub fn join_delta(&mut self, delta: &Causal<Keyspace>) {
        self.observe(&delta.store);
        self.state.join_delta(delta, false);
    }

    /// Joins a decoded remote full state (visiting every key).
    pub fn join_state(&mut self, state: &Causal<Keyspace>) {
        self.observe(&state.store);
        self.state.join(state);
    }

    /// [`Store::join_state`] taking the state: an empty store (a cold start) adopts it
    /// without copying a value.
    pub fn join_state_owned(&mut self, mut state: Causal<Keyspace>) {
        if !(self.fast && self.state.ctx.is_empty() && self.state.store.is_empty()) {
            return self.join_state(&state);
        }
        self.observe(&state.store);
        // What a join into the empty state keeps: every non-empty value, no removal marks.
        state.store.normalize();
        self.state = state;
    }

    /// The full state, encoded (a snapshot).
    pub fn snapshot(&self) -> Vec<u8> {
        self.shown();
        codec::encode_state(&self.state)
    }

    /// One key's state as a standalone encoded state (its dots as context), or `None` when
    /// the key holds nothing. Joined with [`Store::context_state`] it restores the key.
    pub fn key_state(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.shown();
        let v = self.state.store.get_bytes(key)?;
        let mut c: Causal<Keyspace> = Causal::default();
        v.for_each_dot(&mut |d| c.ctx.insert(d));
        c.store.insert(Key::from(key), v.clone());
        Some(codec::encode_state(&c))
    }

    /// Loads a stored state fragment as it is (no join): its keys' values replace ours and its
    /// context is added to ours. Restores a state saved as [`Store::key_state`] rows plus one
    /// [`Store::context_state`] row, in any order.
    pub fn load_fragment(&mut self, bytes: &[u8]) -> Result<()> {
        let c = match codec::decode(bytes, self.limits.decode())? {
            Blob::State(c) | Blob::Delta(c) => c,
        };
        self.observe(&c.store);
        for (k, v) in c.store.entries {
            self.state.store.entries.insert(k, v);
        }
        self.state.ctx.join(&c.ctx);
        Ok(())
    }

    /// The keys starting with `prefix` with their own dots as context (not a full state: it
    /// carries no removals, so it is for loading into an empty store).
    pub fn prefix_state(&self, prefix: &[u8]) -> Vec<u8> {
        self.shown();
        let mut c: Causal<Keyspace> = Causal::default();
        let start = crate::crdt::KeyStr::new(prefix);
        for (k, v) in self
            .state
            .store
            .entries
            .range::<crate::crdt::KeyStr, _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
        {
            if !k.starts_with(prefix) {
                break;
            }
            v.for_each_dot(&mut |d| c.ctx.insert(d));
            c.store.insert(k.clone(), v.clone());
        }
        codec::encode_state(&c)
    }

    /// The causal context alone, encoded as a state with no keys.
    pub fn context_state(&self) -> Vec<u8> {
        self.shown();
        let c: Causal<Keyspace> = Causal::new(DotMap::default(), self.state.ctx.clone());
        codec::encode_state(&c)
    }

    fn observe(&mut self, ks: &Keyspace) {
        for (_, v) in ks.iter() {
            self.clock.observe(max_ts(v));
        }
    }

    /// Joins a local mutation's delta for `key` into the state and the outgoing buffer.
    fn commit(&mut self, key: &[u8], d: Causal<AnyCrdt>) {
        self.spill();
        let mut delta: Causal<Keyspace> = Causal::new(DotMap::default(), d.ctx);
        delta.store.insert(Key::from(key), d.store);
        self.state.join_delta(&delta, false);
        self.outgoing.join_delta(&delta, true);
    }

    /// Joins a local removal of `key` (every dot it holds) into state and outgoing buffer.
    fn commit_removal(&mut self, key: &[u8]) {
        self.spill();
        let Some(v) = self.state.store.get_bytes(key) else {
            return;
        };
        let mut ctx = CausalContext::new();
        v.for_each_dot(&mut |d| ctx.insert(d));
        ctx.insert(self.state.ctx.next_dot(self.replica));
        let mut delta: Causal<Keyspace> = Causal::new(DotMap::default(), ctx);
        delta.store.mark_full(Key::from(key));
        self.state.join_delta(&delta, false);
        self.outgoing.join_delta(&delta, true);
    }

    /// A context holding only this replica's dots, enough for mutators to pick the next dot.
    fn own_ctx(&self) -> CausalContext {
        let mut c = CausalContext::new();
        c.insert_range(self.replica, 1, self.state.ctx.max(self.replica));
        c
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() > self.limits.max_key_bytes {
            return Err(Error::KeyTooLarge { len: key.len(), max: self.limits.max_key_bytes });
        }
        Ok(())
    }

    fn check_value(&self, v: &[u8]) -> Result<()> {
        if v.len() > self.limits.max_value_bytes {
            return Err(Error::ValueTooLarge { len: v.len(), max: self.limits.max_value_bytes });
        }
        Ok(())
    }

    /// The kind `key` reads as, if it exists.
    pub fn kind(&self, key: &[u8]) -> Option<Kind> {
        self.state.store.get_bytes(key).and_then(AnyCrdt::kind)
    }

    /// Fails with `WRONGTYPE` unless `key` is absent or reads as one of `kinds`.
    fn expect_kind(&self, key: &[u8], kinds: &[Kind]) -> Result<()> {
        match self.kind(key) {
            Some(k) if !kinds.contains(&k) => Err(Error::WrongType),
            _ => Ok(()),
        }
    }

    /// Adds `by` to the counter at `key`, returning the new value (`INCRBY`).
    pub fn incr_by(&mut self, key: &[u8], by: i64) -> Result<i64> {
        self.check_key(key)?;
        if let Some(v) = self.incr_fast(key, by) {
            return v;
        }
        self.expect_kind(key, &[Kind::Counter])?;
        let replica = self.replica;
        let empty = AnyCrdt::Empty;
        let entry = self.state.store.get_bytes(key).unwrap_or(&empty);
        let d = entry
            .try_update::<crate::crdt::PnCounter, _>(&self.state.ctx, |c, ctx| c.add(ctx, replica, by))
            .map_err(|_| Error::Overflow)?;
        self.commit(key, d);
        self.counter_value(key)
    }

    fn counter_value(&self, key: &[u8]) -> Result<i64> {
        match self.state.store.get_bytes(key).and_then(|v| v.get::<crate::crdt::PnCounter>()) {
            Some(c) => c.value().map_err(|_| Error::CounterOutOfRange),
            None => Ok(0),
        }
    }
}

/// The highest LWW timestamp anywhere in a value (to move the local clock past it).
fn max_ts(v: &AnyCrdt) -> u64 {
    v.slots()
        .iter()
        .map(|s| match s {
            Slot::Lww(r) => r.max_ts(),
            Slot::Map(m) => m.iter().map(|(_, f)| max_ts(f)).max().unwrap_or(0),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

impl PartialEq for Store {
    fn eq(&self, other: &Self) -> bool {
        let (mut a, mut b) = (self.state.clone(), other.state.clone());
        a.normalize();
        b.normalize();
        a == b
    }
}
