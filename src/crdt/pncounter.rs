//! PN-counter: increments and decrements over `i64`, embeddable in maps (a causal counter).

use super::context::CausalContext;
use super::dot::{Dot, ReplicaId};
use super::dotstore::{Causal, DotFun, DotStore};

/// The error of a counter update whose result does not fit in an `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// A PN-counter whose state is, per replica, one dot carrying that replica's net contribution.
/// An update replaces the replica's previous dot, so the state stays one entry per writer and
/// a thousand increments join into one delta.
///
/// Removal (inside a map) is observed-remove: it drops the contributions it saw. A replica
/// that increments concurrently with the removal keeps its whole contribution.
///
/// ```
/// use castamere::crdt::{Causal, Lattice, PnCounter};
/// let mut a: Causal<PnCounter> = Causal::bottom();
/// let d = a.store.add(&a.ctx, 1, 5).unwrap();
/// a.join(&d);
/// let mut b: Causal<PnCounter> = Causal::bottom();
/// let e = b.store.add(&b.ctx, 2, -2).unwrap();
/// b.join(&e);
/// a.join(&b);
/// assert_eq!(a.store.value(), Ok(3));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PnCounter(pub(crate) DotFun<i64>);

impl PnCounter {
    /// The counter's value, or `Overflow` if concurrent updates pushed it past `i64`.
    pub fn value(&self) -> Result<i64, Overflow> {
        let total: i128 = self.0.entries().iter().map(|(_, v)| i128::from(*v)).sum();
        i64::try_from(total).map_err(|_| Overflow)
    }

    /// The delta that adds `by` on behalf of `replica`; the counter is seen `ctx`.
    pub fn add(&self, ctx: &CausalContext, replica: ReplicaId, by: i64) -> Result<Causal<PnCounter>, Overflow> {
        let mut own = 0i64;
        let mut delta_ctx = CausalContext::new();
        for (d, v) in self.0.entries() {
            if d.replica == replica {
                own = own.checked_add(*v).ok_or(Overflow)?;
                delta_ctx.insert(*d);
            }
        }
        let total = self.value()?;
        total.checked_add(by).ok_or(Overflow)?;
        let contribution = own.checked_add(by).ok_or(Overflow)?;
        let dot = ctx.next_dot(replica);
        delta_ctx.insert(dot);
        Ok(Causal::new(PnCounter(DotFun::single(dot, contribution)), delta_ctx))
    }

    /// The dots and contributions, per writer.
    pub fn contributions(&self) -> &[(Dot, i64)] {
        self.0.entries()
    }
}

impl DotStore for PnCounter {
    fn is_bottom(&self) -> bool {
        self.0.is_bottom()
    }
    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.0.for_each_dot(f)
    }
    fn join_full(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext) {
        self.0.join_full(ctx, &other.0, other_ctx)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::testing::*;
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct Add(i64);

    impl Op<PnCounter> for Add {
        fn apply(&self, s: &Causal<PnCounter>, r: ReplicaId) -> Option<Causal<PnCounter>> {
            s.store.add(&s.ctx, r, self.0).ok()
        }
    }

    fn op() -> impl Strategy<Value = Add> {
        (-100i64..100).prop_map(Add)
    }

    proptest! {
        #[test]
        fn lattice_laws(h in histories(op())) { check_lattice_laws(&h)?; }
        #[test]
        fn delta_mutators(h in histories(op())) { check_delta_mutators(&h)?; }
        #[test]
        fn replicas_converge(h in histories(op()), order in any::<u64>()) { check_convergence(&h, order)?; }
        #[test]
        fn value_is_the_sum_of_all_updates(h in histories(op())) {
            let s = merged(&h);
            let expected: i64 = h.iter().map(|s| s.op.0).sum();
            prop_assert_eq!(s.store.value(), Ok(expected));
        }
    }

    #[test]
    fn overflow_is_an_error_never_a_wrap() {
        let mut s: Causal<PnCounter> = Causal::default();
        let d = s.store.add(&s.ctx, 1, i64::MAX).unwrap();
        s.join_delta(&d, false);
        assert_eq!(s.store.add(&s.ctx, 1, 1), Err(Overflow));
        assert_eq!(s.store.add(&s.ctx, 2, 1), Err(Overflow));
        assert!(s.store.add(&s.ctx, 2, -1).is_ok());
        assert_eq!(s.store.value(), Ok(i64::MAX));
    }
}
