//! The in-place write paths: `INCR`, `SET`, `SADD`, `HSET` and interned increments on keys of
//! the plain shape (one slot of the command's type, or nothing yet). Each does exactly the
//! joins the general path does — the write's delta into the state and into the outgoing
//! buffer — but in place, without building the delta. A key of another shape takes the
//! general path. Every decision that can send a write back to the general path is taken
//! before anything changes. `tests/fast_paths.rs` holds them to the general path.

use super::{unseen_own, Held, Interned, Store, MAX_INTERNED, MAX_INTERNED_KEY};
use crate::crdt::{
    AnyCrdt, AnyMap, Dot, DotFun, DotMap, DotSet, DotStore, Key, KeyStr, LwwReg, OrSet, PnCounter, ReplicaId, Slot,
    SlotType, Stamped,
};
use crate::error::{Error, Result};
use crate::store::Reply;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// A typed write on an interned key ([`Store::write_by_handle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleWrite {
    /// `SET key a`.
    Set,
    /// `SADD key a`.
    Sadd,
    /// `HSET key a b`.
    Hset,
}

/// An increment of a counter, worked out before anything changes.
#[derive(Debug, Clone, Copy)]
struct Increment {
    /// Where this replica's entry is in the counter's entries.
    own: Option<usize>,
    /// That entry, which the increment supersedes.
    old: Option<(Dot, i64)>,
    /// This replica's contribution after the increment.
    contribution: i64,
    /// The counter's value after the increment.
    total: i64,
}

impl Increment {
    /// Adding `by` for `replica` to this counter (none: an absent one), or `Overflow`.
    #[inline]
    fn plan(counter: Option<&PnCounter>, replica: ReplicaId, by: i64) -> Result<Increment> {
        let own = counter.and_then(|c| c.own(replica));
        let old = counter.zip(own).and_then(|(c, i)| c.contributions().get(i).copied());
        let total = counter.map_or(0, PnCounter::total);
        let contribution = old.map_or(0, |(_, v)| v).checked_add(by);
        let new_total = i64::try_from(total + i128::from(by)).ok();
        match (contribution, new_total, i64::try_from(total)) {
            (Some(contribution), Some(total), Ok(_)) => Ok(Increment { own, old, contribution, total }),
            _ => Err(Error::Overflow),
        }
    }

    /// Writes the increment's entry, `dot`, into the counter.
    fn apply(&self, counter: &mut PnCounter, dot: Dot) {
        counter.put_own(self.own, dot, self.contribution);
    }

    /// The superseded dot, if any.
    fn old_dot(&self) -> Option<Dot> {
        self.old.map(|(d, _)| d)
    }
}

/// Joins a register write into a register: the entries it observed go and the write comes in.
/// A single observed entry is overwritten in place, reusing its value's buffer.
fn write_register(reg: &mut LwwReg, observed: impl Fn(&Dot) -> bool, dot: Dot, ts: u64, value: &[u8]) {
    let entries = &mut reg.0 .0;
    if let [(d, s)] = entries.as_mut_slice() {
        if observed(d) {
            *d = dot;
            s.ts = ts;
            s.value.clear();
            s.value.extend_from_slice(value);
            return;
        }
    }
    entries.retain(|(d, _)| !observed(d));
    entries.push((dot, Stamped { ts, value: value.to_vec() }));
}

/// Joins an add of `member` into a set: the member's observed dots go and `dot` comes in.
/// `new`: the member is not in the state, so is most likely not here either; it is then looked
/// up by the owned key `key()` makes, which an insert keeps (one search instead of two).
/// `probe`: an owned key of the member to look it up by, if there is one.
fn add_member(
    set: &mut OrSet,
    member: &[u8],
    probe: Option<&Key>,
    key: impl FnOnce() -> Key,
    observed: impl Fn(&Dot) -> bool,
    dot: Dot,
    new: bool,
) {
    let join = |dots: &mut DotSet| {
        dots.retain(|d| !observed(&d));
        dots.insert(dot);
    };
    if new {
        match set.0.entries.entry(key()) {
            Entry::Occupied(mut e) => join(e.get_mut()),
            Entry::Vacant(e) => {
                e.insert(DotSet::single(dot));
            }
        }
        return;
    }
    match member_dots(set, member, probe) {
        Some(dots) => join(dots),
        None => {
            set.0.entries.insert(key(), DotSet::single(dot));
        }
    }
}

/// The dots of `member` in a set, looked up by `probe` (an owned key of it) when there is one.
fn member_dots<'a>(set: &'a mut OrSet, member: &[u8], probe: Option<&Key>) -> Option<&'a mut DotSet> {
    match probe {
        Some(k) => set.0.entries.get_mut(k),
        None => set.0.entries.get_mut(KeyStr::new(member)),
    }
}

/// Sets of more members than this look a member up by an owned key (see `sadd_at`).
const OWNED_PROBE_ABOVE: usize = 64;

/// A value that is one fresh slot.
fn fresh<T: SlotType>(v: T) -> AnyCrdt {
    AnyCrdt::One(v.into_slot())
}

/// The plain `T` of a value that may be absent: `Ok(None)` when absent, `Err(())` when the
/// value has another shape. `fill` as in [`AnyCrdt::plain_mut`].
fn plain<T: SlotType>(v: Option<&mut AnyCrdt>, fill: bool) -> std::result::Result<Option<&mut T>, ()> {
    match v {
        None => Ok(None),
        Some(v) => v.plain_mut::<T>(fill).map(Some).ok_or(()),
    }
}

/// Where a hash field's write goes: into its register, into the hash (no field yet), or a
/// new hash (no key yet).
enum Spot<'a> {
    Reg(&'a mut LwwReg),
    Hash(&'a mut AnyMap),
    Absent,
}

/// Calls `k` with the spot of `field` in a value that may be absent, found in one search of
/// the hash. `None`, without calling `k`, when the value is not a plain hash or the field not
/// a plain string. `fill` as in [`AnyCrdt::plain_mut`], for hash and field. (A continuation,
/// because a function returning the spot would have to search the hash twice: once to learn
/// whether the field is there, then for the borrow it returns.)
fn with_field_spot<R>(v: Option<&mut AnyCrdt>, field: &KeyStr, fill: bool, k: impl FnOnce(Spot<'_>) -> R) -> Option<R> {
    let Some(v) = v else { return Some(k(Spot::Absent)) };
    let h = v.plain_mut::<AnyMap>(fill)?;
    match h.0.entries.get_mut(field) {
        Some(f) => Some(k(Spot::Reg(f.plain_mut::<LwwReg>(fill)?))),
        None => Some(k(Spot::Hash(h))),
    }
}

/// A key's entry of the outgoing buffer: in the buffer's map, or `held` beside it (an
/// interned key's, see [`Store::write_by_handle`]).
fn out_entry<'a>(
    map: &'a mut BTreeMap<Key, AnyCrdt>,
    held: Option<&'a mut Option<AnyCrdt>>,
    key: &Key,
) -> Option<&'a mut AnyCrdt> {
    match held {
        Some(h) => h.as_mut(),
        None => map.get_mut(key),
    }
}

/// Sets a key's entry of the outgoing buffer, where [`out_entry`] found none.
fn out_insert(map: &mut BTreeMap<Key, AnyCrdt>, held: Option<&mut Option<AnyCrdt>>, key: &Key, v: AnyCrdt) {
    match held {
        Some(h) => *h = Some(v),
        None => {
            map.insert(key.clone(), v);
        }
    }
}

impl Store {
    /// Turns the in-place paths off (or back on), and a cold store adopting a snapshot. They
    /// give the same replies, states and deltas as the general path; this exists to test that.
    #[doc(hidden)]
    pub fn set_fast_paths(&mut self, on: bool) {
        self.spill();
        self.fast = on;
    }

    /// `INCRBY` in place on a key that is absent or a plain counter. `None` for another shape.
    pub(super) fn incr_fast(&mut self, key: &[u8], by: i64) -> Option<Result<i64>> {
        self.spill();
        if !self.fast {
            return None;
        }
        let replica = self.replica;
        let ks = KeyStr::new(key);
        let Store { state, outgoing, .. } = self;
        let counter = plain::<PnCounter>(state.store.entries.get_mut(ks), false).ok()?;
        let step = match Increment::plan(counter.as_deref(), replica, by) {
            Ok(step) => step,
            Err(e) => return Some(Err(e)),
        };
        let out = plain::<PnCounter>(outgoing.store.entries.get_mut(ks), true).ok()?;
        let dot = state.ctx.advance(replica);
        match counter {
            Some(c) => step.apply(c, dot),
            None => {
                state.store.entries.insert(Key::from(key), fresh(PnCounter::single(dot, step.contribution)));
            }
        }
        match out {
            // The delta removes the dot it supersedes (an own dot a remote removal already
            // took from the state stays, as the general join keeps it).
            Some(o) => o.supersede(step.old_dot(), dot, step.contribution),
            None => {
                outgoing.store.entries.insert(Key::from(key), fresh(PnCounter::single(dot, step.contribution)));
            }
        }
        if let Some(old) = step.old_dot() {
            outgoing.ctx.insert(old);
        }
        outgoing.ctx.insert(dot);
        Some(Ok(step.total))
    }

    /// `SET` in place on a key that is absent or a plain string. `false` for another shape.
    pub(super) fn set_fast(&mut self, now_ms: u64, key: &[u8], value: &[u8]) -> bool {
        self.spill();
        self.set_at(now_ms, &Key::from(key), value, None)
    }

    /// [`Store::set_fast`] on `key` as a `Key`, whose head most comparisons of the lookups
    /// read instead of the bytes (an interned key's, or one made for the call). Its outgoing
    /// entry is `held` when given, else in the buffer's map (with no side entry of the key).
    fn set_at(&mut self, now_ms: u64, key: &Key, value: &[u8], mut held: Option<&mut Option<AnyCrdt>>) -> bool {
        if !self.fast {
            return false;
        }
        let replica = self.replica;
        let Store { state, outgoing, clock, .. } = self;
        let Ok(current) = plain::<LwwReg>(state.store.entries.get_mut(key), false) else { return false };
        let entry = out_entry(&mut outgoing.store.entries, held.as_deref_mut(), key);
        let Ok(out) = plain::<LwwReg>(entry, true) else { return false };
        let ts = clock.tick(now_ms, current.as_ref().map_or(0, |r| r.max_ts()));
        let dot = state.ctx.advance(replica);
        // The delta's context: the dots the write observed, and its own.
        for (d, _) in current.iter().flat_map(|r| r.0 .0.iter()) {
            outgoing.ctx.insert(*d);
        }
        outgoing.ctx.insert(dot);
        let observed = |d: &Dot| current.as_ref().is_some_and(|r| r.0 .0.iter().any(|(o, _)| o == d));
        let single = || fresh(LwwReg(DotFun::single(dot, Stamped { ts, value: value.to_vec() })));
        match out {
            Some(o) => write_register(o, observed, dot, ts, value),
            None => out_insert(&mut outgoing.store.entries, held, key, single()),
        }
        match current {
            Some(r) => write_register(r, |_| true, dot, ts, value),
            None => {
                state.store.entries.insert(key.clone(), single());
            }
        }
        true
    }

    /// `SADD key member` in place on a key that is absent or a plain set. `None` for another
    /// shape (nothing changed then). The caller has checked sizes.
    pub(crate) fn sadd_fast(&mut self, key: &[u8], member: &[u8]) -> Option<i64> {
        self.spill();
        self.sadd_at(&Key::from(key), member, None)
    }

    /// [`Store::sadd_fast`] on `key` as a `Key`, as in [`Store::set_at`].
    fn sadd_at(&mut self, key: &Key, member: &[u8], mut held: Option<&mut Option<AnyCrdt>>) -> Option<i64> {
        if !self.fast {
            return None;
        }
        let replica = self.replica;
        let seen = self.seen_until();
        let Store { state, outgoing, .. } = self;
        let mut set = plain::<OrSet>(state.store.entries.get_mut(key), false).ok()?;
        // The state's entry of the member, found once: read (the dots this add observes),
        // then written. In a large set it is a map entry of an owned key, which compares its
        // first eight bytes before the bytes behind them, where a borrowed one reads the heap
        // bytes of every member it passes (a cache miss each), and which a new member keeps
        // (one search instead of two). In a small set, allocating that key costs more than it
        // saves: a borrowed lookup, and a second search for a new member.
        let large = set.as_ref().is_some_and(|s| s.0.entries.len() > OWNED_PROBE_ABOVE);
        let (mut entry, mut mine) = (None, None);
        match set.as_deref_mut() {
            Some(s) if large => entry = Some(s.0.entries.entry(Key::from(member))),
            Some(s) => mine = s.0.entries.get_mut(KeyStr::new(member)),
            None => {}
        }
        let old = match &entry {
            Some(Entry::Occupied(e)) => Some(e.get()),
            _ => mine.as_deref(),
        };
        // A member whose only dot is this replica's and unseen stays as it is.
        if old.is_some_and(|d| unseen_own(d, replica, seen)) {
            return Some(0);
        }
        let entry_out = out_entry(&mut outgoing.store.entries, held.as_deref_mut(), key);
        let out = plain::<OrSet>(entry_out, true).ok()?;
        let dot = state.ctx.advance(replica);
        let probe = entry.as_ref().map(|e| e.key());
        let added = i64::from(old.is_none_or(|d| d.is_bottom()));
        for d in old.iter().flat_map(|o| o.dots()) {
            outgoing.ctx.insert(*d);
        }
        outgoing.ctx.insert(dot);
        let observed = |d: &Dot| old.is_some_and(|o| o.contains(*d));
        let new_key = || probe.cloned().unwrap_or_else(|| Key::from(member));
        let single = |member: Key| {
            let mut m = DotMap::default();
            m.entries.insert(member, DotSet::single(dot));
            fresh(OrSet(m))
        };
        match out {
            Some(o) => add_member(o, member, probe, new_key, observed, dot, old.is_none()),
            None => out_insert(&mut outgoing.store.entries, held, key, single(new_key())),
        }
        // The add observed every dot the member had here: it leaves only its own.
        let own = |dots: &mut DotSet| dots.set_one(dot);
        match (entry, mine) {
            (Some(Entry::Occupied(mut e)), _) => own(e.get_mut()),
            (Some(Entry::Vacant(e)), _) => {
                e.insert(DotSet::single(dot));
            }
            (None, Some(dots)) => own(dots),
            (None, None) => match set {
                Some(s) => {
                    s.0.entries.insert(Key::from(member), DotSet::single(dot));
                }
                None => {
                    state.store.entries.insert(key.clone(), single(Key::from(member)));
                }
            },
        }
        Some(added)
    }

    /// `HSET key field value` in place on a key that is absent or a plain hash whose field is
    /// absent or a string. `None` otherwise (nothing changed then). The caller has checked sizes.
    pub(crate) fn hset_fast(&mut self, now_ms: u64, key: &[u8], field: &[u8], value: &[u8]) -> Option<i64> {
        self.spill();
        self.hset_at(now_ms, &Key::from(key), field, value, None)
    }

    /// [`Store::hset_fast`] on `key` as a `Key`, as in [`Store::set_at`].
    fn hset_at(
        &mut self,
        now_ms: u64,
        key: &Key,
        field: &[u8],
        value: &[u8],
        mut held: Option<&mut Option<AnyCrdt>>,
    ) -> Option<i64> {
        if !self.fast {
            return None;
        }
        let replica = self.replica;
        let fs = KeyStr::new(field);
        let Store { state, outgoing, clock, .. } = self;
        // The state's field, then the buffer's (where removal markers may stand for the hash
        // or the field); nothing has changed when either has another shape. A new hash goes
        // in after the spot that found it absent is done with the map it would go into.
        let (mut state_hash, mut out_hash) = (None, None);
        let created = with_field_spot(state.store.entries.get_mut(key), fs, false, |mine| {
            let entry = out_entry(&mut outgoing.store.entries, held.as_deref_mut(), key);
            let created = with_field_spot(entry, fs, true, |theirs| {
                let current: Option<&LwwReg> = match &mine {
                    Spot::Reg(r) => Some(&**r),
                    _ => None,
                };
                let created = i64::from(current.is_none_or(|r| r.0.is_bottom()));
                let ts = clock.tick(now_ms, current.map_or(0, |r| r.max_ts()));
                let dot = state.ctx.advance(replica);
                for (d, _) in current.iter().flat_map(|r| r.0 .0.iter()) {
                    outgoing.ctx.insert(*d);
                }
                outgoing.ctx.insert(dot);
                let observed = |d: &Dot| current.is_some_and(|r| r.0 .0.iter().any(|(o, _)| o == d));
                let single = || fresh(LwwReg(DotFun::single(dot, Stamped { ts, value: value.to_vec() })));
                let single_hash = || {
                    let mut m = DotMap::default();
                    m.entries.insert(Key::from(field), single());
                    fresh(AnyMap::from_dotmap(m))
                };
                match theirs {
                    Spot::Reg(r) => write_register(r, observed, dot, ts, value),
                    Spot::Hash(h) => {
                        h.0.entries.insert(Key::from(field), single());
                    }
                    Spot::Absent => out_hash = Some(single_hash()),
                }
                match mine {
                    Spot::Reg(r) => write_register(r, |_| true, dot, ts, value),
                    Spot::Hash(h) => {
                        h.0.entries.insert(Key::from(field), single());
                    }
                    Spot::Absent => state_hash = Some(single_hash()),
                }
                created
            })?;
            if let Some(v) = out_hash.take() {
                out_insert(&mut outgoing.store.entries, held, key, v);
            }
            Some(created)
        })??;
        if let Some(v) = state_hash {
            state.store.entries.insert(key.clone(), v);
        }
        Some(created)
    }

    /// Interns `key` for [`Store::incr_by_handle`]: a small integer that stands for it from
    /// then on (the same one when it was interned before). `None` when [`MAX_INTERNED`] keys
    /// are interned or the key is longer than [`MAX_INTERNED_KEY`] or the limit.
    pub fn intern(&mut self, key: &[u8]) -> Option<u32> {
        if let Some(&h) = self.handles.get(KeyStr::new(key)) {
            return Some(h);
        }
        if self.interned.len() >= MAX_INTERNED || key.len() > MAX_INTERNED_KEY || self.check_key(key).is_err() {
            return None;
        }
        let h = self.interned.len() as u32;
        self.interned.push(Interned { key: Key::from(key), held: None });
        self.handles.insert(Key::from(key), h);
        Some(h)
    }

    /// [`Store::incr_by`] on an interned key: the hot path of counters. While a key is only
    /// incremented this way, its entry of the outgoing buffer is kept beside the buffer's map
    /// and moved into it before anything else reads or joins the buffer, which saves a map
    /// lookup per increment; the state is updated at once, as by every write.
    pub fn incr_by_handle(&mut self, handle: u32, by: i64) -> Result<i64> {
        let replica = self.replica;
        let fast = self.fast;
        let Store { state, outgoing, interned, side, taken_at, .. } = self;
        let Some(Interned { key, held }) = interned.get_mut(handle as usize) else {
            return Err(Error::Invalid(format!("unknown key handle {handle}")));
        };
        // Off, or the key's entry is held beside the map by a write of another type.
        if !fast || matches!(held, Some(Held::Value(_))) {
            return self.incr_general(handle, by);
        }
        // The first increment since the buffer was last taken or spilled: an outgoing entry
        // that is this replica's one counter dot moves beside the map.
        if held.is_none() {
            match outgoing.store.entries.get(key.as_key_str()) {
                None => {}
                Some(AnyCrdt::One(Slot::Counter(c))) if matches!(c.contributions(), [(d, _)] if d.replica == replica) =>
                {
                    *held = c.contributions().first().map(|&(d, v)| Held::Counter(d, v));
                    outgoing.store.entries.remove(key.as_key_str());
                    side.push(handle);
                }
                Some(_) => return self.incr_general(handle, by),
            }
        }
        let out = match held {
            Some(Held::Counter(d, v)) => Some((*d, *v)),
            _ => None,
        };
        // An owned key: the tree compares heads, mostly without reading the keys' bytes.
        let Some(counter) = state.store.entries.get_mut(&*key).and_then(|v| v.plain_mut::<PnCounter>(false)) else {
            return self.incr_general(handle, by);
        };
        let step = Increment::plan(Some(counter), replica, by)?;
        // The side entry stands for the buffer's only entry of this key; it stays that only if
        // this increment supersedes it (a remote removal may have taken it from the state).
        if out.is_some_and(|(d, _)| step.old_dot() != Some(d)) {
            return self.incr_general(handle, by);
        }
        let dot = state.ctx.advance(replica);
        step.apply(counter, dot);
        if out.is_none() {
            side.push(handle);
        }
        *held = Some(Held::Counter(dot, step.contribution));
        // The superseded dot is in the buffer's context already if it was made since the
        // buffer was last taken.
        if let Some(old) = step.old_dot().filter(|o| o.seq <= *taken_at) {
            outgoing.ctx.insert(old);
        }
        outgoing.ctx.insert(dot);
        Ok(step.total)
    }

    /// `SET`, `SADD` or `HSET` (one member or field) on an interned key: the hot path of the
    /// shim's typed writes. The key's bytes are neither copied in nor searched for: its
    /// interned `Key` finds it in the state by its head, and its entry of the outgoing buffer
    /// is held beside the buffer's map from its first such write until the buffer is next
    /// taken or read (as counters' are, see [`Store::incr_by_handle`]). Replies, errors and
    /// deltas are those of [`Store::exec`] on the same words.
    pub fn write_by_handle(&mut self, now_ms: u64, handle: u32, op: HandleWrite, a: &[u8], b: &[u8]) -> Result<Reply> {
        let counter_held = match self.interned.get(handle as usize) {
            None => return Err(Error::Invalid(format!("unknown key handle {handle}"))),
            Some(entry) => matches!(entry.held, Some(Held::Counter(..))),
        };
        match op {
            HandleWrite::Set => self.check_value(a)?,
            HandleWrite::Sadd => self.check_key(a)?,
            HandleWrite::Hset => {
                self.check_key(a)?;
                self.check_value(b)?;
            }
        }
        // A counter's entry of this key beside the map goes back first: one kind at a time.
        if counter_held {
            self.spill();
        }
        let Some(entry) = self.interned.get_mut(handle as usize) else {
            return Err(Error::Invalid(format!("unknown key handle {handle}")));
        };
        // Taken out for the write and put back after it, whatever the outcome.
        let key = std::mem::take(&mut entry.key);
        let held = match entry.held.take() {
            Some(Held::Value(v)) => Some(v),
            _ => None, // nothing held (a counter's was spilled above)
        };
        let r = self.write_key(now_ms, handle, &key, held, op, a, b);
        if let Some(entry) = self.interned.get_mut(handle as usize) {
            entry.key = key;
        }
        r
    }

    /// [`Store::write_by_handle`] with the key and its held entry taken out of the table.
    #[allow(clippy::too_many_arguments)]
    fn write_key(
        &mut self,
        now_ms: u64,
        handle: u32,
        key: &Key,
        held: Option<AnyCrdt>,
        op: HandleWrite,
        a: &[u8],
        b: &[u8],
    ) -> Result<Reply> {
        let was_held = held.is_some();
        let mut slot = match held {
            Some(v) => Some(v),
            None if self.fast => self.outgoing.store.entries.remove(key),
            None => None,
        };
        let fast = match op {
            HandleWrite::Set => self.set_at(now_ms, key, a, Some(&mut slot)).then_some(Reply::OK),
            HandleWrite::Sadd => self.sadd_at(key, a, Some(&mut slot)).map(Reply::Int),
            HandleWrite::Hset => self.hset_at(now_ms, key, a, b, Some(&mut slot)).map(Reply::Int),
        };
        if let Some(r) = fast {
            if let Some(entry) = self.interned.get_mut(handle as usize) {
                entry.held = slot.map(Held::Value);
                if !was_held {
                    self.side.push(handle);
                }
            }
            return Ok(r);
        }
        // Another shape: the entry goes back into the map, and the general path runs.
        if let Some(v) = slot {
            self.outgoing.store.entries.insert(key.clone(), v);
        }
        match op {
            HandleWrite::Set => self.exec(now_ms, &[b"SET", key, a]),
            HandleWrite::Sadd => self.exec(now_ms, &[b"SADD", key, a]),
            HandleWrite::Hset => self.exec(now_ms, &[b"HSET", key, a, b]),
        }
    }

    /// An interned key's increment through the general path (which spills the side entries
    /// first, so the buffer's map is whole).
    fn incr_general(&mut self, handle: u32, by: i64) -> Result<i64> {
        let key = match self.interned.get(handle as usize) {
            Some(i) => i.key.clone(),
            None => return Err(Error::Invalid(format!("unknown key handle {handle}"))),
        };
        self.spill();
        self.incr_by(&key, by)
    }

    /// Moves the outgoing entries kept beside the buffer's map (counters' and written values')
    /// into it.
    pub(super) fn spill(&mut self) {
        for h in self.side.drain(..) {
            if let Some(Interned { key, held }) = self.interned.get_mut(h as usize) {
                let entry = match held.take() {
                    Some(Held::Counter(dot, contribution)) => fresh(PnCounter::single(dot, contribution)),
                    Some(Held::Value(v)) => v,
                    None => continue,
                };
                self.outgoing.store.entries.insert(key.clone(), entry);
            }
        }
    }
}
