//! Observed-remove map: keys to embedded CRDTs (any dot store, nested maps included).
//! Removing a key resets it: it drops the dots it observed under the key, and concurrent
//! updates under the key survive.

use std::fmt::Debug;

use super::context::CausalContext;
use super::dot::Dot;
use super::dotstore::{Causal, DotMap, DotStore};

/// An observed-remove map from `K` to embedded CRDTs `V`.
///
/// ```
/// use castamere::crdt::{Causal, Lattice, OrMap, PnCounter};
/// let mut m: Causal<OrMap<u8, PnCounter>> = Causal::bottom();
/// let d = m.store.update(&m.ctx, 7, |c, ctx| c.add(ctx, 1, 3).unwrap());
/// m.join(&d);
/// assert_eq!(m.store.get(&7).unwrap().value(), Ok(3));
/// let r = m.store.remove(&m.ctx, &7);
/// m.join(&r);
/// assert!(m.store.get(&7).is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OrMap<K: Ord, V>(pub(crate) DotMap<K, V>);

impl<K: Ord, V> Default for OrMap<K, V> {
    fn default() -> Self {
        OrMap(DotMap::default())
    }
}

impl<K: Ord + Clone + Debug, V: DotStore> OrMap<K, V> {
    /// The delta that applies the embedded mutator `f` to the value under `key`.
    pub fn update(
        &self,
        ctx: &CausalContext,
        key: K,
        f: impl FnOnce(&V, &CausalContext) -> Causal<V>,
    ) -> Causal<OrMap<K, V>> {
        let empty = V::default();
        let current = self.0.get(&key).unwrap_or(&empty);
        let d = f(current, ctx);
        let mut store = DotMap::default();
        store.insert(key, d.store);
        Causal::new(OrMap(store), d.ctx)
    }

    /// The delta that removes `key` (resets the value to bottom).
    pub fn remove(&self, _ctx: &CausalContext, key: &K) -> Causal<OrMap<K, V>> {
        let mut delta = Causal::<OrMap<K, V>>::default();
        if let Some(v) = self.0.get(key) {
            v.for_each_dot(&mut |d| delta.ctx.insert(d));
            delta.store.0.mark_full(key.clone());
        }
        delta
    }

    /// The value under `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.0.get(key).filter(|v| !v.is_bottom())
    }

    /// The live entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().filter(|(_, v)| !v.is_bottom())
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there is no live entry.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl<K: Ord + Clone + Debug, V: DotStore> DotStore for OrMap<K, V> {
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
    use super::super::{OrSet, PnCounter};
    use super::*;
    use crate::crdt::ReplicaId;
    use proptest::prelude::*;

    /// A map of maps: outer key → inner key → (counter, set), exercising nesting and resets.
    type Inner = OrMap<u8, PnCounter>;
    type Outer = OrMap<u8, Inner>;

    #[derive(Debug, Clone)]
    enum MapOp {
        Add(u8, u8, i64),
        RemoveInner(u8, u8),
        RemoveOuter(u8),
    }

    impl Op<Outer> for MapOp {
        fn apply(&self, s: &Causal<Outer>, r: ReplicaId) -> Option<Causal<Outer>> {
            Some(match *self {
                MapOp::Add(k, j, n) => s.store.update(&s.ctx, k, |inner, ctx| {
                    inner.update(ctx, j, |c, ctx| c.add(ctx, r, n).expect("small numbers"))
                }),
                MapOp::RemoveInner(k, j) => s.store.update(&s.ctx, k, |inner, ctx| inner.remove(ctx, &j)),
                MapOp::RemoveOuter(k) => s.store.remove(&s.ctx, &k),
            })
        }
    }

    fn op() -> impl Strategy<Value = MapOp> {
        prop_oneof![
            4 => (0u8..3, 0u8..3, -5i64..5).prop_map(|(k, j, n)| MapOp::Add(k, j, n)),
            1 => (0u8..3, 0u8..3).prop_map(|(k, j)| MapOp::RemoveInner(k, j)),
            1 => (0u8..3).prop_map(MapOp::RemoveOuter),
        ]
    }

    proptest! {
        #[test]
        fn lattice_laws(h in histories(op())) { check_lattice_laws(&h)?; }
        #[test]
        fn delta_mutators(h in histories(op())) { check_delta_mutators(&h)?; }
        #[test]
        fn replicas_converge(h in histories(op()), seed in any::<u64>()) { check_convergence(&h, seed)?; }
    }

    #[test]
    fn remove_resets_but_a_concurrent_add_survives() {
        let mut a: Causal<OrMap<u8, OrSet>> = Causal::default();
        let d = a.store.update(&a.ctx, 1, |s, ctx| s.add(ctx, 1, &[b"x"]));
        a.join_delta(&d, false);
        let mut b = a.clone();
        let rm = b.store.remove(&b.ctx, &1);
        let add = a.store.update(&a.ctx, 1, |s, ctx| s.add(ctx, 1, &[b"y"]));
        b.join_delta(&rm, false);
        b.join_delta(&add, false);
        let members: Vec<&[u8]> = b.store.get(&1).unwrap().members().collect();
        assert_eq!(members, vec![&b"y"[..]]);
    }
}
