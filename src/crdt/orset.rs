//! Add-wins observed-remove set of byte strings, without tombstones: a dot store plus the
//! causal context.

use super::context::CausalContext;
use super::dot::{Dot, ReplicaId};
use super::dotset::DotSet;
use super::dotstore::{Causal, DotMap, DotStore};
use super::Key;

/// An add-wins set: a remove drops only the adds it observed, so an add concurrent with a
/// remove survives. Removed members leave nothing behind but dots in the causal context.
///
/// ```
/// use castamere::crdt::{Causal, Lattice, OrSet};
/// let mut a: Causal<OrSet> = Causal::bottom();
/// let d = a.store.add(&a.ctx, 1, &[b"ned"]);
/// a.join(&d);
/// let mut b = a.clone();
/// let rm = b.store.remove(&b.ctx, &[b"ned"]); // b removes what it saw...
/// let add = a.store.add(&a.ctx, 1, &[b"ned"]); // ...while a adds again
/// b.join(&rm);
/// b.join(&add);
/// assert!(b.store.contains(b"ned"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrSet(pub(crate) DotMap<Key, DotSet>);

impl OrSet {
    /// The delta that adds `members` on behalf of `replica`.
    pub fn add(&self, ctx: &CausalContext, replica: ReplicaId, members: &[&[u8]]) -> Causal<OrSet> {
        let mut delta = Causal::<OrSet>::default();
        let mut dot = ctx.next_dot(replica);
        for m in members {
            if let Some(old) = self.0.get_bytes(m) {
                old.for_each_dot(&mut |d| delta.ctx.insert(d));
            }
            // A member listed twice keeps only its last dot; the first stays in the context.
            if let Some(prev) = delta.store.0.entries.insert(Key::from(*m), DotSet::single(dot)) {
                prev.for_each_dot(&mut |d| delta.ctx.insert(d));
            }
            delta.ctx.insert(dot);
            dot.seq += 1;
        }
        delta
    }

    /// The delta that removes `members` (those absent are ignored).
    pub fn remove(&self, _ctx: &CausalContext, members: &[&[u8]]) -> Causal<OrSet> {
        let mut delta = Causal::<OrSet>::default();
        for m in members {
            if let Some(old) = self.0.get_bytes(m) {
                old.for_each_dot(&mut |d| delta.ctx.insert(d));
                delta.store.0.entries.insert(Key::from(*m), DotSet::default());
            }
        }
        delta
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.0.get_bytes(member).is_some_and(|s| !s.is_bottom())
    }

    /// The members, in byte order.
    pub fn members(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().filter(|(_, s)| !s.is_bottom()).map(|(k, _)| &**k)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members().count()
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.members().next().is_none()
    }
}

impl DotStore for OrSet {
    fn is_bottom(&self) -> bool {
        self.0.is_bottom()
    }
    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.0.for_each_dot(f)
    }
    fn join_full(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext) {
        self.0.join_full(ctx, &other.0, other_ctx)
    }
    fn join_delta(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext, keep: bool) {
        self.0.join_delta(ctx, &other.0, other_ctx, keep)
    }
    fn prune(&mut self, ctx: &CausalContext, other_ctx: &CausalContext, keep: bool) {
        self.0.prune(ctx, other_ctx, keep)
    }
    fn normalize(&mut self) {
        self.0.normalize()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::testing::*;
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone)]
    enum SetOp {
        Add(Vec<u8>),
        Remove(Vec<u8>),
    }

    impl Op<OrSet> for SetOp {
        fn apply(&self, s: &Causal<OrSet>, r: ReplicaId) -> Option<Causal<OrSet>> {
            Some(match self {
                SetOp::Add(m) => s.store.add(&s.ctx, r, &m.iter().map(std::slice::from_ref).collect::<Vec<_>>()),
                SetOp::Remove(m) => s.store.remove(&s.ctx, &m.iter().map(std::slice::from_ref).collect::<Vec<_>>()),
            })
        }
    }

    fn op() -> impl Strategy<Value = SetOp> {
        let members = proptest::collection::vec(0u8..5, 1..3);
        prop_oneof![members.clone().prop_map(SetOp::Add), members.prop_map(SetOp::Remove)]
    }

    proptest! {
        #[test]
        fn lattice_laws(h in histories(op())) { check_lattice_laws(&h)?; }
        #[test]
        fn delta_mutators(h in histories(op())) { check_delta_mutators(&h)?; }
        #[test]
        fn replicas_converge(h in histories(op()), seed in any::<u64>()) { check_convergence(&h, seed)?; }
        #[test]
        fn sequential_ops_behave_like_a_set(ops in proptest::collection::vec(op(), 0..30)) {
            let mut s: Causal<OrSet> = Causal::default();
            let mut model = BTreeSet::new();
            for o in &ops {
                let d = o.apply(&s, 1).unwrap();
                s.join_delta(&d, false);
                match o {
                    SetOp::Add(m) => model.extend(m.iter().copied()),
                    SetOp::Remove(m) => { for x in m { model.remove(x); } }
                }
            }
            let got: BTreeSet<u8> = s.store.members().map(|m| m[0]).collect();
            prop_assert_eq!(got, model);
            // No tombstones: only live members hold entries.
            prop_assert_eq!(s.store.0.len(), s.store.len());
        }
    }
}
