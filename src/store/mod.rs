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
mod reply;

pub use reply::Reply;

use crate::codec::{self, Blob, DecodeLimits};
use crate::crdt::{AnyCrdt, Causal, CausalContext, DotMap, DotStore, Hlc, Key, Kind, Lattice, ReplicaId, Slot};
use crate::error::{Error, Result};

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

/// Most keys [`Store::intern`] hands out handles for, and the longest key it interns.
pub const MAX_INTERNED: usize = 1 << 16;
/// The longest key [`Store::intern`] interns.
pub const MAX_INTERNED_KEY: usize = 64;

/// An interned key: its bytes and, while its counter's outgoing entry lives outside the
/// outgoing buffer's map (see [`Store::incr_by_handle`]), that entry: the newest own dot and
/// this replica's contribution.
#[derive(Debug, Clone)]
struct Interned {
    key: Key,
    out: Option<(crate::crdt::Dot, i64)>,
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
    /// Handles whose outgoing counter entry is held in `interned` (not in `outgoing.store`).
    side: Vec<u32>,
    /// Whether the in-place hot paths run (off only to test them against the general path).
    fast: bool,
    /// This replica's latest write when the outgoing buffer was last taken: every own dot
    /// after it is in the buffer's context.
    taken_at: u64,
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
        &self.state
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
        codec::encode_state(&self.state)
    }

    /// One key's state as a standalone encoded state (its dots as context), or `None` when
    /// the key holds nothing. Joined with [`Store::context_state`] it restores the key.
    pub fn key_state(&self, key: &[u8]) -> Option<Vec<u8>> {
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

    /// The hot path of [`Store::incr_by`] for an existing plain counter: the same joins as
    /// the general path (state and outgoing buffer), done in place without building a delta.
    /// `None` when the key is not in that shape (the general path handles it).
    fn incr_fast(&mut self, key: &[u8], by: i64) -> Option<Result<i64>> {
        use crate::crdt::Dot;
        self.spill();
        if !self.fast {
            return None;
        }
        let replica = self.replica;
        let Some(AnyCrdt::One(Slot::Counter(c))) = self.state.store.entries.get_mut(crate::crdt::KeyStr::new(key))
        else {
            return None;
        };
        let entries = &mut c.0 .0;
        let own = entries.iter().position(|(d, _)| d.replica == replica);
        let total: i128 = entries.iter().map(|(_, v)| i128::from(*v)).sum();
        let own_old = own.map(|i| entries[i]);
        let contribution = own_old.map_or(0, |(_, v)| v).checked_add(by);
        let new_total = i64::try_from(total + i128::from(by)).ok();
        let (Some(contribution), Some(new_total), Ok(_)) = (contribution, new_total, i64::try_from(total)) else {
            return Some(Err(Error::Overflow));
        };
        // The outgoing entry must be absent, a removal marker, or a plain counter.
        let out = self.outgoing.store.entries.get_mut(crate::crdt::KeyStr::new(key));
        if !matches!(out, None | Some(AnyCrdt::Empty) | Some(AnyCrdt::One(Slot::Counter(_)))) {
            return None;
        }
        let dot = Dot::new(replica, self.state.ctx.max(replica) + 1);
        match own {
            // Own dots sort after each other: the new one takes the old one's place.
            Some(i) => entries[i] = (dot, contribution),
            None => {
                let at = entries.partition_point(|(d, _)| *d < dot);
                entries.insert(at, (dot, contribution));
            }
        }
        self.state.ctx.insert(dot);
        let fresh =
            || AnyCrdt::One(Slot::Counter(crate::crdt::PnCounter(crate::crdt::DotFun::single(dot, contribution))));
        match out {
            None => {
                self.outgoing.store.entries.insert(Key::from(key), fresh());
            }
            Some(e @ AnyCrdt::Empty) => *e = fresh(),
            Some(AnyCrdt::One(Slot::Counter(oc))) => {
                // The delta removes the dot it supersedes (an own dot a remote removal already
                // took from the state stays, as the general join keeps it).
                oc.0 .0.retain(|(d, _)| Some(*d) != own_old.map(|(o, _)| o));
                oc.0 .0.push((dot, contribution));
            }
            Some(_) => unreachable!("checked above"),
        }
        if let Some((old, _)) = own_old {
            self.outgoing.ctx.insert(old);
        }
        self.outgoing.ctx.insert(dot);
        Some(Ok(new_total))
    }

    /// Turns the in-place hot paths off (or back on): `INCR`, `SET`, `SADD`, `HSET`, interned
    /// increments, and a cold store adopting a snapshot. They give the same replies, states
    /// and deltas as the general path; this exists to test that.
    #[doc(hidden)]
    pub fn set_fast_paths(&mut self, on: bool) {
        self.spill();
        self.fast = on;
    }

    /// `SET`'s hot path on a key that is absent or a plain string: the same joins as the
    /// general path (state and outgoing buffer), done in place without building a delta.
    /// `false` when the key is not in that shape (the general path handles it).
    fn set_fast(&mut self, now_ms: u64, key: &[u8], value: &[u8]) -> bool {
        use crate::crdt::{Dot, DotFun, KeyStr, LwwReg, Stamped};
        if !self.fast {
            return false;
        }
        self.spill();
        let replica = self.replica;
        let Store { state, outgoing, clock, .. } = self;
        let ks = KeyStr::new(key);
        let current = match state.store.entries.get_mut(ks) {
            None => None,
            Some(AnyCrdt::One(Slot::Lww(r))) => Some(r),
            Some(_) => return false,
        };
        let out = match outgoing.store.entries.get_mut(ks) {
            None => None,
            Some(e @ AnyCrdt::Empty) => {
                *e = AnyCrdt::One(Slot::Lww(LwwReg::default()));
                match e {
                    AnyCrdt::One(Slot::Lww(o)) => Some(o),
                    _ => unreachable!("just set"),
                }
            }
            Some(AnyCrdt::One(Slot::Lww(o))) => Some(o),
            Some(_) => return false,
        };
        let observed = current.as_ref().map_or(0, |r| r.max_ts());
        let ts = clock.tick(now_ms, observed);
        let dot = state.ctx.advance(replica);
        // Overwrites a register that holds one entry in place, reusing its value's buffer.
        let overwrite = |e: &mut (Dot, Stamped)| {
            e.0 = dot;
            e.1.ts = ts;
            e.1.value.clear();
            e.1.value.extend_from_slice(value);
        };
        let fresh = || AnyCrdt::One(Slot::Lww(LwwReg(DotFun::single(dot, Stamped { ts, value: value.to_vec() }))));
        // The delta's context: the dots the write observed, and its own.
        let observed_dots = |d: &Dot| current.as_ref().is_some_and(|r| r.0 .0.iter().any(|(o, _)| o == d));
        for (d, _) in current.iter().flat_map(|r| r.0 .0.iter()) {
            outgoing.ctx.insert(*d);
        }
        outgoing.ctx.insert(dot);
        match out {
            Some(o) if o.0 .0.len() == 1 && observed_dots(&o.0 .0[0].0) => overwrite(&mut o.0 .0[0]),
            Some(o) => {
                o.0 .0.retain(|(d, _)| !observed_dots(d));
                o.0 .0.push((dot, Stamped { ts, value: value.to_vec() }));
            }
            None => {
                outgoing.store.entries.insert(Key::from(key), fresh());
            }
        }
        match current {
            Some(r) if r.0 .0.len() == 1 => overwrite(&mut r.0 .0[0]),
            Some(r) => {
                r.0 .0.clear();
                r.0 .0.push((dot, Stamped { ts, value: value.to_vec() }));
            }
            None => {
                state.store.entries.insert(Key::from(key), fresh());
            }
        }
        true
    }

    /// `SADD key member`'s hot path on a key that is absent or a plain set: the same joins as
    /// the general path, in place. `None` when the key is not in that shape. The caller has
    /// checked sizes and type.
    pub(crate) fn sadd_fast(&mut self, key: &[u8], member: &[u8]) -> Option<i64> {
        use crate::crdt::{DotFun, DotMap, KeyStr, OrSet};
        if !self.fast {
            return None;
        }
        self.spill();
        let replica = self.replica;
        let Store { state, outgoing, .. } = self;
        let (ks, ms) = (KeyStr::new(key), KeyStr::new(member));
        let set = match state.store.entries.get_mut(ks) {
            None => None,
            Some(AnyCrdt::One(Slot::Set(s))) => Some(s),
            Some(_) => return None,
        };
        let out = match outgoing.store.entries.get_mut(ks) {
            None => None,
            Some(e @ AnyCrdt::Empty) => {
                *e = AnyCrdt::One(Slot::Set(Box::default()));
                match e {
                    AnyCrdt::One(Slot::Set(o)) => Some(o),
                    _ => unreachable!("just set"),
                }
            }
            Some(AnyCrdt::One(Slot::Set(o))) => Some(o),
            Some(_) => return None,
        };
        let dot = state.ctx.advance(replica);
        let old = set.as_ref().and_then(|s| s.0.entries.get(ms));
        let added = i64::from(old.is_none_or(|d| d.is_bottom()));
        let observed = |d: &crate::crdt::Dot| old.is_some_and(|o| o.0.iter().any(|(x, _)| x == d));
        for (d, _) in old.iter().flat_map(|o| o.0.iter()) {
            outgoing.ctx.insert(*d);
        }
        outgoing.ctx.insert(dot);
        match out {
            Some(o) => match o.0.entries.get_mut(ms) {
                Some(ds) => {
                    ds.0.retain(|(d, _)| !observed(d));
                    let at = ds.0.partition_point(|(d, _)| *d < dot);
                    ds.0.insert(at, (dot, ()));
                }
                None => {
                    o.0.entries.insert(Key::from(member), DotFun::single(dot, ()));
                }
            },
            None => {
                let mut m = DotMap::default();
                m.entries.insert(Key::from(member), DotFun::single(dot, ()));
                outgoing.store.entries.insert(Key::from(key), AnyCrdt::One(Slot::Set(Box::new(OrSet(m)))));
            }
        }
        match set {
            Some(s) => match s.0.entries.get_mut(ms) {
                Some(ds) => {
                    ds.0.clear();
                    ds.0.push((dot, ()));
                }
                None => {
                    s.0.entries.insert(Key::from(member), DotFun::single(dot, ()));
                }
            },
            None => {
                let mut m = DotMap::default();
                m.entries.insert(Key::from(member), DotFun::single(dot, ()));
                state.store.entries.insert(Key::from(key), AnyCrdt::One(Slot::Set(Box::new(OrSet(m)))));
            }
        }
        Some(added)
    }

    /// `HSET key field value`'s hot path on a key that is absent or a plain hash whose field
    /// is absent or a string: the same joins as the general path, in place. `None` otherwise.
    /// The caller has checked sizes and type.
    pub(crate) fn hset_fast(&mut self, now_ms: u64, key: &[u8], field: &[u8], value: &[u8]) -> Option<i64> {
        use crate::crdt::{AnyMap, Dot, DotFun, DotMap, KeyStr, LwwReg, Stamped};
        if !self.fast {
            return None;
        }
        self.spill();
        let replica = self.replica;
        let Store { state, outgoing, clock, .. } = self;
        let (ks, fs) = (KeyStr::new(key), KeyStr::new(field));
        let hash = match state.store.entries.get_mut(ks) {
            None => None,
            Some(AnyCrdt::One(Slot::Map(h))) => Some(h),
            Some(_) => return None,
        };
        let current: Option<&LwwReg> = match hash.as_deref().and_then(|h| h.0.entries.get(fs)) {
            None => None,
            Some(AnyCrdt::One(Slot::Lww(r))) => Some(r),
            Some(_) => return None,
        };
        // The outgoing entry: absent, a removal marker, or a hash whose field is absent, a
        // removal marker or a string.
        match outgoing.store.entries.get(ks) {
            None | Some(AnyCrdt::Empty) => {}
            Some(AnyCrdt::One(Slot::Map(o))) => match o.0.entries.get(fs) {
                None | Some(AnyCrdt::Empty) | Some(AnyCrdt::One(Slot::Lww(_))) => {}
                Some(_) => return None,
            },
            Some(_) => return None,
        }
        let created = i64::from(current.as_ref().is_none_or(|r| r.0.is_bottom()));
        let observed_ts = current.as_ref().map_or(0, |r| r.max_ts());
        let ts = clock.tick(now_ms, observed_ts);
        let dot = state.ctx.advance(replica);
        let observed = |d: &Dot| current.as_ref().is_some_and(|r| r.0 .0.iter().any(|(o, _)| o == d));
        for (d, _) in current.iter().flat_map(|r| r.0 .0.iter()) {
            outgoing.ctx.insert(*d);
        }
        outgoing.ctx.insert(dot);
        let fresh = || AnyCrdt::One(Slot::Lww(LwwReg(DotFun::single(dot, Stamped { ts, value: value.to_vec() }))));
        let fresh_hash = || {
            let mut m = DotMap::default();
            m.entries.insert(Key::from(field), fresh());
            AnyCrdt::One(Slot::Map(Box::new(AnyMap::from_dotmap(m))))
        };
        match outgoing.store.entries.get_mut(ks) {
            None => {
                outgoing.store.entries.insert(Key::from(key), fresh_hash());
            }
            Some(e @ AnyCrdt::Empty) => *e = fresh_hash(),
            Some(AnyCrdt::One(Slot::Map(o))) => match o.0.entries.get_mut(fs) {
                None => {
                    o.0.entries.insert(Key::from(field), fresh());
                }
                Some(e @ AnyCrdt::Empty) => *e = fresh(),
                Some(AnyCrdt::One(Slot::Lww(r))) => {
                    r.0 .0.retain(|(d, _)| !observed(d));
                    r.0 .0.push((dot, Stamped { ts, value: value.to_vec() }));
                }
                Some(_) => unreachable!("checked above"),
            },
            Some(_) => unreachable!("checked above"),
        }
        let reuse = current.is_some_and(|r| r.0 .0.len() == 1);
        match hash {
            Some(h) => match h.0.entries.get_mut(fs) {
                Some(AnyCrdt::One(Slot::Lww(r))) if reuse => {
                    let e = &mut r.0 .0[0];
                    e.0 = dot;
                    e.1.ts = ts;
                    e.1.value.clear();
                    e.1.value.extend_from_slice(value);
                }
                Some(e) => *e = fresh(),
                None => {
                    h.0.entries.insert(Key::from(field), fresh());
                }
            },
            None => {
                state.store.entries.insert(Key::from(key), fresh_hash());
            }
        }
        Some(created)
    }

    /// Interns `key` for [`Store::incr_by_handle`]: a small integer that stands for it from
    /// then on (the same one when it was interned before). `None` when [`MAX_INTERNED`] keys
    /// are interned or the key is longer than [`MAX_INTERNED_KEY`] or the limit.
    pub fn intern(&mut self, key: &[u8]) -> Option<u32> {
        if let Some(&h) = self.handles.get(crate::crdt::KeyStr::new(key)) {
            return Some(h);
        }
        if self.interned.len() >= MAX_INTERNED || key.len() > MAX_INTERNED_KEY || self.check_key(key).is_err() {
            return None;
        }
        let h = self.interned.len() as u32;
        self.interned.push(Interned { key: Key::from(key), out: None });
        self.handles.insert(Key::from(key), h);
        Some(h)
    }

    /// [`Store::incr_by`] on an interned key: the hot path of counters. While a key is only
    /// incremented this way, its entry of the outgoing buffer is kept beside the buffer's map
    /// and moved into it before anything else reads or joins the buffer, which saves a map
    /// lookup per increment; the state is updated at once, as by every write.
    pub fn incr_by_handle(&mut self, handle: u32, by: i64) -> Result<i64> {
        let h = handle as usize;
        let replica = self.replica;
        let fast = self.fast;
        let Some(Interned { key, out }) = self.interned.get_mut(h) else {
            return Err(Error::Invalid(format!("unknown key handle {handle}")));
        };
        if !fast {
            let key = key.clone();
            return self.incr_by(&key, by);
        }
        if out.is_none() {
            // The first increment since the buffer was last taken or spilled: an outgoing
            // entry that is this replica's counter dot moves beside the map; another shape
            // takes the general path.
            match self.outgoing.store.entries.get(key.as_key_str()) {
                None => {}
                Some(AnyCrdt::One(Slot::Counter(c))) if c.0 .0.len() == 1 && c.0 .0[0].0.replica == replica => {
                    let moved = c.0 .0[0];
                    self.outgoing.store.entries.remove(key.as_key_str());
                    *out = Some(moved);
                    self.side.push(handle);
                }
                Some(_) => {
                    let key = key.clone();
                    return self.incr_by(&key, by);
                }
            }
        }
        // An owned key: the tree compares heads, mostly without reading the keys' bytes.
        let Some(AnyCrdt::One(Slot::Counter(c))) = self.state.store.entries.get_mut(&*key) else {
            let key = key.clone();
            self.spill();
            return self.incr_by(&key, by);
        };
        let entries = &mut c.0 .0;
        let own = entries.iter().position(|(d, _)| d.replica == replica);
        let total: i128 = entries.iter().map(|(_, v)| i128::from(*v)).sum();
        let own_old = own.map(|i| entries[i]);
        // The side entry stands for the buffer's only entry of this key; it stays that only if
        // this increment supersedes it (a remote removal may have taken it from the state).
        if out.is_some_and(|(d, _)| own_old.map(|(o, _)| o) != Some(d)) {
            let key = key.clone();
            self.spill();
            return self.incr_by(&key, by);
        }
        let contribution = own_old.map_or(0, |(_, v)| v).checked_add(by);
        let new_total = i64::try_from(total + i128::from(by)).ok();
        let (Some(contribution), Some(new_total), Ok(_)) = (contribution, new_total, i64::try_from(total)) else {
            return Err(Error::Overflow);
        };
        let dot = self.state.ctx.advance(replica);
        match own {
            Some(i) => entries[i] = (dot, contribution),
            None => {
                let at = entries.partition_point(|(d, _)| *d < dot);
                entries.insert(at, (dot, contribution));
            }
        }
        if out.is_none() {
            self.side.push(handle);
        }
        *out = Some((dot, contribution));
        // The superseded dot is in the buffer's context already if it was made since the
        // buffer was last taken.
        if let Some((old, _)) = own_old.filter(|(o, _)| o.seq <= self.taken_at) {
            self.outgoing.ctx.insert(old);
        }
        self.outgoing.ctx.insert(dot);
        Ok(new_total)
    }

    /// Moves the outgoing counter entries kept beside the buffer's map into it.
    fn spill(&mut self) {
        for h in self.side.drain(..) {
            let slot = &mut self.interned[h as usize];
            if let Some((dot, contribution)) = slot.out.take() {
                let v =
                    AnyCrdt::One(Slot::Counter(crate::crdt::PnCounter(crate::crdt::DotFun::single(dot, contribution))));
                self.outgoing.store.entries.insert(slot.key.clone(), v);
            }
        }
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
