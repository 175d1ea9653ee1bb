//! Disable-wins flag: concurrent enable and disable leave it disabled.

use super::context::CausalContext;
use super::dot::{Dot, ReplicaId};
use super::dotstore::{Causal, DotFun, DotStore};

/// A flag whose state keeps the writes no later write has observed; it is enabled when it was written and every surviving write enabled it.
///
/// ```
/// use castamere::crdt::{Causal, Lattice, DwFlag};
/// let mut a: Causal<DwFlag> = Causal::bottom();
/// let mut b: Causal<DwFlag> = Causal::bottom();
/// let da = a.store.set(&a.ctx, 1, true);
/// let db = b.store.set(&b.ctx, 2, false);
/// a.join(&da);
/// a.join(&db);
/// assert!(!a.store.value());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DwFlag(pub(crate) DotFun<bool>);

impl DwFlag {
    /// The delta that enables (`on`) or disables the flag on behalf of `replica`.
    pub fn set(&self, ctx: &CausalContext, replica: ReplicaId, on: bool) -> Causal<DwFlag> {
        let dot = ctx.next_dot(replica);
        let mut dctx = self.0.context();
        dctx.insert(dot);
        Causal::new(DwFlag(DotFun::single(dot, on)), dctx)
    }

    /// Whether the flag is enabled.
    pub fn value(&self) -> bool {
        !self.0.is_empty() && self.0.entries().iter().all(|(_, on)| *on)
    }
}

impl DotStore for DwFlag {
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
    struct Set(bool);

    impl Op<DwFlag> for Set {
        fn apply(&self, s: &Causal<DwFlag>, r: ReplicaId) -> Option<Causal<DwFlag>> {
            Some(s.store.set(&s.ctx, r, self.0))
        }
    }

    proptest! {
        #[test]
        fn lattice_laws(h in histories(any::<bool>().prop_map(Set))) { check_lattice_laws(&h)?; }
        #[test]
        fn delta_mutators(h in histories(any::<bool>().prop_map(Set))) { check_delta_mutators(&h)?; }
        #[test]
        fn replicas_converge(h in histories(any::<bool>().prop_map(Set)), seed in any::<u64>()) {
            check_convergence(&h, seed)?;
        }
        #[test]
        fn a_local_write_is_read_back(h in histories(any::<bool>().prop_map(Set)), on in any::<bool>()) {
            let run = run(&h)?;
            for (i, s) in run.states.iter().enumerate() {
                let mut s = s.clone();
                let d = s.store.set(&s.ctx, i as u64 + 1, on);
                s.join_delta(&d, false);
                prop_assert_eq!(s.store.value(), on);
            }
        }
    }

    #[test]
    fn concurrent_enable_and_disable() {
        let (mut a, mut b): (Causal<DwFlag>, Causal<DwFlag>) = (Causal::default(), Causal::default());
        let da = a.store.set(&a.ctx, 1, true);
        let db = b.store.set(&b.ctx, 2, false);
        a.join_delta(&da, false);
        b.join_delta(&db, false);
        a.join_delta(&db, false);
        b.join_delta(&da, false);
        assert_eq!(a, b);
        assert!(!a.store.value());
    }
}
