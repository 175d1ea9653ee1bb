//! A value of any CRDT type, as held by a key of the keyspace or a field of a map.
//!
//! Two replicas may create the same key concurrently with different types. Each type has its
//! own slot and slots join independently, so the state stays a lattice; the key reads as its
//! lowest-numbered non-empty slot, and every write to a key also removes the dots it observed
//! in the other slots, so the conflict disappears at the next write.

use super::context::CausalContext;
use super::dot::Dot;
use super::dotstore::{Causal, DotStore};
use super::{DwFlag, EwFlag, LwwReg, MvReg, OrMap, OrSet, PnCounter};
use crate::crdt::Key;

/// The CRDT types a key (or a map field) can hold, in slot order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Kind {
    /// [`PnCounter`]
    Counter = 0,
    /// [`LwwReg`] (a string)
    Lww = 1,
    /// [`MvReg`]
    Mv = 2,
    /// [`EwFlag`]
    EwFlag = 3,
    /// [`DwFlag`]
    DwFlag = 4,
    /// [`OrSet`]
    Set = 5,
    /// [`OrMap`] of [`AnyCrdt`] (a hash, or nested maps)
    Map = 6,
}

impl Kind {
    /// Every kind, in slot order.
    pub const ALL: [Kind; 7] = [Kind::Counter, Kind::Lww, Kind::Mv, Kind::EwFlag, Kind::DwFlag, Kind::Set, Kind::Map];

    /// The kind with this tag.
    pub fn from_tag(tag: u8) -> Option<Kind> {
        Kind::ALL.get(tag as usize).copied()
    }
}

/// A map whose values are any CRDT type.
pub type AnyMap = OrMap<Key, AnyCrdt>;

impl AnyMap {
    /// The map over a decoded dot map.
    pub(crate) fn from_dotmap(m: super::DotMap<Key, AnyCrdt>) -> AnyMap {
        OrMap(m)
    }
}

/// One typed slot.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Slot {
    Counter(PnCounter),
    Lww(LwwReg),
    Mv(MvReg),
    EwFlag(EwFlag),
    DwFlag(DwFlag),
    Set(Box<OrSet>),
    Map(Box<AnyMap>),
}

macro_rules! each_slot {
    ($slot:expr, $s:ident => $body:expr) => {
        match $slot {
            Slot::Counter($s) => $body,
            Slot::Lww($s) => $body,
            Slot::Mv($s) => $body,
            Slot::EwFlag($s) => $body,
            Slot::DwFlag($s) => $body,
            Slot::Set($s) => $body,
            Slot::Map($s) => $body,
        }
    };
}

macro_rules! join_slots {
    ($a:expr, $b:expr, $x:ident, $y:ident => $body:expr) => {
        match ($a, $b) {
            (Slot::Counter($x), Slot::Counter($y)) => $body,
            (Slot::Lww($x), Slot::Lww($y)) => $body,
            (Slot::Mv($x), Slot::Mv($y)) => $body,
            (Slot::EwFlag($x), Slot::EwFlag($y)) => $body,
            (Slot::DwFlag($x), Slot::DwFlag($y)) => $body,
            (Slot::Set($x), Slot::Set($y)) => $body,
            (Slot::Map($x), Slot::Map($y)) => $body,
            // Callers pair slots of one kind; a mismatch joins nothing.
            _ => debug_assert!(false, "slots are matched by kind"),
        }
    };
}

impl Slot {
    /// The slot's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Slot::Counter(_) => Kind::Counter,
            Slot::Lww(_) => Kind::Lww,
            Slot::Mv(_) => Kind::Mv,
            Slot::EwFlag(_) => Kind::EwFlag,
            Slot::DwFlag(_) => Kind::DwFlag,
            Slot::Set(_) => Kind::Set,
            Slot::Map(_) => Kind::Map,
        }
    }

    /// An empty slot of `kind`.
    pub fn empty(kind: Kind) -> Slot {
        match kind {
            Kind::Counter => Slot::Counter(Default::default()),
            Kind::Lww => Slot::Lww(Default::default()),
            Kind::Mv => Slot::Mv(Default::default()),
            Kind::EwFlag => Slot::EwFlag(Default::default()),
            Kind::DwFlag => Slot::DwFlag(Default::default()),
            Kind::Set => Slot::Set(Default::default()),
            Kind::Map => Slot::Map(Default::default()),
        }
    }

    fn is_bottom(&self) -> bool {
        each_slot!(self, s => s.is_bottom())
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        each_slot!(self, s => s.for_each_dot(f))
    }

    fn normalize(&mut self) {
        each_slot!(self, s => s.normalize())
    }

    fn join(&mut self, ctx: &CausalContext, other: &Slot, other_ctx: &CausalContext, delta: Option<bool>) {
        join_slots!(self, other, x, y => match delta {
            Some(keep) => x.join_delta(ctx, y, other_ctx, keep),
            None => x.join_full(ctx, y, other_ctx),
        })
    }

    /// An empty slot of the same kind that names everything this one holds: joined as a
    /// delta (with a context holding this slot's dots) it removes them.
    fn removal(&self) -> Slot {
        match self {
            Slot::Set(s) => {
                let mut m = OrSet::default();
                for (k, _) in s.0.iter() {
                    m.0.insert(k.clone(), Default::default());
                }
                Slot::Set(Box::new(m))
            }
            Slot::Map(s) => {
                let mut m = AnyMap::default();
                for (k, _) in s.0.iter() {
                    m.0.mark_full(k.clone());
                }
                Slot::Map(Box::new(m))
            }
            other => Slot::empty(other.kind()),
        }
    }

    /// Removes from this slot the dots `other_ctx` saw (a join with an empty delta).
    fn prune(&mut self, ctx: &CausalContext, other_ctx: &CausalContext, keep: bool) {
        each_slot!(self, s => s.prune(ctx, other_ctx, keep))
    }
}

/// A CRDT type that lives in a slot of [`AnyCrdt`].
pub trait SlotType: DotStore {
    /// Its kind.
    const KIND: Kind;
    /// The value, if `slot` is of this kind.
    fn from_slot(slot: &Slot) -> Option<&Self>;
    /// The value, mutably, if `slot` is of this kind.
    fn from_slot_mut(slot: &mut Slot) -> Option<&mut Self>;
    /// Wraps the value.
    fn into_slot(self) -> Slot;
}

macro_rules! slot_type {
    ($t:ty, $variant:ident, boxed) => {
        impl SlotType for $t {
            const KIND: Kind = Kind::$variant;
            fn from_slot(slot: &Slot) -> Option<&Self> {
                match slot {
                    Slot::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn from_slot_mut(slot: &mut Slot) -> Option<&mut Self> {
                match slot {
                    Slot::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn into_slot(self) -> Slot {
                Slot::$variant(Box::new(self))
            }
        }
    };
    ($t:ty, $variant:ident) => {
        impl SlotType for $t {
            const KIND: Kind = Kind::$variant;
            fn from_slot(slot: &Slot) -> Option<&Self> {
                match slot {
                    Slot::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn from_slot_mut(slot: &mut Slot) -> Option<&mut Self> {
                match slot {
                    Slot::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn into_slot(self) -> Slot {
                Slot::$variant(self)
            }
        }
    };
}

slot_type!(PnCounter, Counter);
slot_type!(LwwReg, Lww);
slot_type!(MvReg, Mv);
slot_type!(EwFlag, EwFlag);
slot_type!(DwFlag, DwFlag);
slot_type!(OrSet, Set, boxed);
slot_type!(AnyMap, Map, boxed);

/// A value of any CRDT type: its slots, at most one per kind, sorted by kind. Usually one.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AnyCrdt {
    /// No slot.
    #[default]
    Empty,
    /// One slot (the common case, without a heap allocation for the list).
    One(Slot),
    /// Several slots after concurrent writes of different types.
    Many(Vec<Slot>),
}

impl AnyCrdt {
    /// The slots, sorted by kind.
    pub fn slots(&self) -> &[Slot] {
        match self {
            AnyCrdt::Empty => &[],
            AnyCrdt::One(s) => std::slice::from_ref(s),
            AnyCrdt::Many(v) => v,
        }
    }

    fn slots_mut(&mut self) -> &mut [Slot] {
        match self {
            AnyCrdt::Empty => &mut [],
            AnyCrdt::One(s) => std::slice::from_mut(s),
            AnyCrdt::Many(v) => v,
        }
    }

    /// A value of these slots (sorted by kind, at most one per kind).
    pub(crate) fn from_slots(mut v: Vec<Slot>) -> AnyCrdt {
        match (v.pop(), v.is_empty()) {
            (None, _) => AnyCrdt::Empty,
            (Some(s), true) => AnyCrdt::One(s),
            (Some(s), false) => {
                v.push(s);
                AnyCrdt::Many(v)
            }
        }
    }

    /// A value holding one slot.
    pub fn from_slot(slot: Slot) -> AnyCrdt {
        AnyCrdt::One(slot)
    }

    /// The kind the value reads as: its first non-empty slot.
    pub fn kind(&self) -> Option<Kind> {
        self.slots().iter().find(|s| !s.is_bottom()).map(Slot::kind)
    }

    /// The value as exactly one slot of type `T`, mutably: the shape the in-place write paths
    /// work on. With `fill`, an empty value (a removal marker in a delta buffer) first becomes
    /// an empty slot of type `T`, which is what joining a `T` delta into it would start from.
    pub fn plain_mut<T: SlotType>(&mut self, fill: bool) -> Option<&mut T> {
        if fill && matches!(self, AnyCrdt::Empty) {
            *self = AnyCrdt::One(T::default().into_slot());
        }
        match self {
            AnyCrdt::One(s) => T::from_slot_mut(s),
            _ => None,
        }
    }

    /// The value as exactly one slot of type `T` (as [`AnyCrdt::plain_mut`] without `fill`).
    pub fn plain<T: SlotType>(&self) -> Option<&T> {
        match self {
            AnyCrdt::One(s) => T::from_slot(s),
            _ => None,
        }
    }

    /// The slot of type `T`, if present and non-empty.
    pub fn get<T: SlotType>(&self) -> Option<&T> {
        self.slots().iter().find_map(T::from_slot).filter(|v| !v.is_bottom())
    }

    /// The delta of the embedded mutator `f` on the slot of type `T`; the delta also removes
    /// the dots observed in every other slot (and names them), which resolves a concurrent
    /// type conflict.
    pub fn update<T: SlotType>(
        &self,
        ctx: &CausalContext,
        f: impl FnOnce(&T, &CausalContext) -> Causal<T>,
    ) -> Causal<AnyCrdt> {
        let empty = T::default();
        let current = self.slots().iter().find_map(T::from_slot).unwrap_or(&empty);
        let d = f(current, ctx);
        let mut dctx = d.ctx;
        let mut slots = Vec::new();
        for s in self.slots().iter().filter(|s| s.kind() != T::KIND && !s.is_bottom()) {
            s.for_each_dot(&mut |dot| dctx.insert(dot));
            slots.push(s.removal());
        }
        if slots.is_empty() {
            return Causal::new(AnyCrdt::One(d.store.into_slot()), dctx);
        }
        slots.push(d.store.into_slot());
        crate::sort::sort_by_key(&mut slots, Slot::kind);
        Causal::new(AnyCrdt::Many(slots), dctx)
    }

    /// Like [`AnyCrdt::update`] with a mutator that may fail (nothing changes on error).
    pub fn try_update<T: SlotType, E>(
        &self,
        ctx: &CausalContext,
        f: impl FnOnce(&T, &CausalContext) -> Result<Causal<T>, E>,
    ) -> Result<Causal<AnyCrdt>, E> {
        let mut err = None;
        let d = self.update::<T>(ctx, |t, c| match f(t, c) {
            Ok(d) => d,
            Err(e) => {
                err = Some(e);
                Causal::default()
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(d),
        }
    }

    fn join_impl(&mut self, ctx: &CausalContext, other: &AnyCrdt, other_ctx: &CausalContext, delta: Option<bool>) {
        let keep = delta == Some(true);
        // Fast path: one slot each, same kind.
        if let (AnyCrdt::One(a), AnyCrdt::One(b)) = (&mut *self, other) {
            if a.kind() == b.kind() {
                a.join(ctx, b, other_ctx, delta);
                if !keep && a.is_bottom() {
                    *self = AnyCrdt::Empty;
                }
                return;
            }
        }
        let mine = std::mem::take(self);
        let mut out: Vec<Slot> = Vec::new();
        let mut a = match mine {
            AnyCrdt::Empty => Vec::new(),
            AnyCrdt::One(s) => vec![s],
            AnyCrdt::Many(v) => v,
        }
        .into_iter()
        .peekable();
        let mut b = other.slots().iter().peekable();
        loop {
            // Both sides in kind order: take from the side whose next slot comes first.
            let (take_a, take_b) = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(x), Some(y)) => (x.kind() <= y.kind(), y.kind() <= x.kind()),
                (Some(_), None) => (true, false),
                (None, Some(_)) => (false, true),
            };
            let next = match (take_a.then(|| a.next()).flatten(), take_b.then(|| b.next()).flatten()) {
                (Some(mut x), Some(y)) => {
                    x.join(ctx, y, other_ctx, delta);
                    x
                }
                // A delta names every slot it removes from: only a full join prunes here.
                (Some(mut x), None) => {
                    if delta.is_none() {
                        x.prune(ctx, other_ctx, keep);
                    }
                    x
                }
                (None, Some(y)) => {
                    let mut x = Slot::empty(y.kind());
                    x.join(ctx, y, other_ctx, delta);
                    x
                }
                (None, None) => break,
            };
            if keep || !next.is_bottom() {
                out.push(next);
            }
        }
        *self = AnyCrdt::from_slots(out);
    }
}

impl DotStore for AnyCrdt {
    fn is_bottom(&self) -> bool {
        self.slots().iter().all(Slot::is_bottom)
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        for s in self.slots() {
            s.for_each_dot(f);
        }
    }

    fn join_full(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext) {
        self.join_impl(ctx, other, other_ctx, None)
    }

    fn join_delta(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext, keep: bool) {
        self.join_impl(ctx, other, other_ctx, Some(keep))
    }

    fn prune(&mut self, ctx: &CausalContext, other_ctx: &CausalContext, keep: bool) {
        for s in self.slots_mut() {
            s.prune(ctx, other_ctx, keep);
        }
        if !keep && self.slots().iter().any(Slot::is_bottom) {
            let v: Vec<Slot> = self.slots().iter().filter(|s| !s.is_bottom()).cloned().collect();
            *self = AnyCrdt::from_slots(v);
        }
    }

    fn normalize(&mut self) {
        for s in self.slots_mut() {
            s.normalize();
        }
        if !self.slots().is_empty() && self.slots().iter().any(Slot::is_bottom) {
            let v: Vec<Slot> = self.slots().iter().filter(|s| !s.is_bottom()).cloned().collect();
            *self = AnyCrdt::from_slots(v);
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::crdt::ReplicaId;
    use proptest::prelude::*;

    /// Operations of every type on one value, so concurrent writes of different types happen.
    #[derive(Debug, Clone)]
    enum AnyOp {
        Add(i64),
        Write(u8),
        Mv(u8),
        Flag(bool, bool),
        SAdd(u8),
        SRem(u8),
        MapAdd(u8, i64),
        MapRemove(u8),
    }

    impl Op<AnyCrdt> for AnyOp {
        fn apply(&self, s: &Causal<AnyCrdt>, r: ReplicaId) -> Option<Causal<AnyCrdt>> {
            let (v, ctx) = (&s.store, &s.ctx);
            Some(match *self {
                AnyOp::Add(n) => v.update::<PnCounter>(ctx, |c, ctx| c.add(ctx, r, n).expect("small")),
                AnyOp::Write(x) => v.update::<LwwReg>(ctx, |c, ctx| c.write(ctx, r, 1 + c.max_ts(), vec![x])),
                AnyOp::Mv(x) => v.update::<MvReg>(ctx, |c, ctx| c.write(ctx, r, vec![x])),
                AnyOp::Flag(true, on) => v.update::<EwFlag>(ctx, |c, ctx| c.set(ctx, r, on)),
                AnyOp::Flag(false, on) => v.update::<DwFlag>(ctx, |c, ctx| c.set(ctx, r, on)),
                AnyOp::SAdd(m) => v.update::<OrSet>(ctx, |c, ctx| c.add(ctx, r, &[&[m]])),
                AnyOp::SRem(m) => v.update::<OrSet>(ctx, |c, ctx| c.remove(ctx, &[&[m]])),
                AnyOp::MapAdd(k, n) => v.update::<AnyMap>(ctx, |m, ctx| {
                    m.update(ctx, Key::from(&[k][..]), |f, ctx| {
                        f.update::<PnCounter>(ctx, |c, ctx| c.add(ctx, r, n).expect("small"))
                    })
                }),
                AnyOp::MapRemove(k) => v.update::<AnyMap>(ctx, |m, ctx| m.remove(ctx, &Key::from(&[k][..]))),
            })
        }
    }

    fn op() -> impl Strategy<Value = AnyOp> {
        prop_oneof![
            (-5i64..5).prop_map(AnyOp::Add),
            (0u8..4).prop_map(AnyOp::Write),
            (0u8..4).prop_map(AnyOp::Mv),
            (any::<bool>(), any::<bool>()).prop_map(|(e, on)| AnyOp::Flag(e, on)),
            (0u8..3).prop_map(AnyOp::SAdd),
            (0u8..3).prop_map(AnyOp::SRem),
            (0u8..3, -5i64..5).prop_map(|(k, n)| AnyOp::MapAdd(k, n)),
            (0u8..3).prop_map(AnyOp::MapRemove),
        ]
    }

    proptest! {
        #[test]
        fn lattice_laws(h in histories(op())) { check_lattice_laws(&h)?; }
        #[test]
        fn delta_mutators(h in histories(op())) { check_delta_mutators(&h)?; }
        #[test]
        fn replicas_converge(h in histories(op()), seed in any::<u64>()) { check_convergence(&h, seed)?; }
        #[test]
        fn a_local_write_resolves_a_type_conflict(h in histories(op()), n in -5i64..5) {
            let mut s = merged(&h);
            let d = AnyOp::Add(n).apply(&s, 9).unwrap();
            s.join_delta(&d, false);
            s.normalize();
            prop_assert_eq!(s.store.kind(), Some(Kind::Counter));
            prop_assert_eq!(s.store.slots().len(), 1);
        }
    }
}
