//! Multi-value register: every concurrent write stays readable until a later write sees it.

use super::context::CausalContext;
use super::dot::{Dot, ReplicaId};
use super::dotstore::{Causal, DotFun, DotStore};

/// A multi-value register of bytes.
///
/// ```
/// use castamere::crdt::{Causal, Lattice, MvReg};
/// let mut a: Causal<MvReg> = Causal::bottom();
/// let mut b: Causal<MvReg> = Causal::bottom();
/// let da = a.store.write(&a.ctx, 1, b"x".to_vec());
/// let db = b.store.write(&b.ctx, 2, b"y".to_vec());
/// a.join(&da);
/// a.join(&db);
/// assert_eq!(a.store.values(), vec![&b"x"[..], &b"y"[..]]);
/// let dc = a.store.write(&a.ctx, 1, b"z".to_vec());
/// a.join(&dc);
/// assert_eq!(a.store.values(), vec![&b"z"[..]]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MvReg(pub(crate) DotFun<Vec<u8>>);

impl MvReg {
    /// The delta that writes `value` on behalf of `replica`, replacing what it observed.
    pub fn write(&self, ctx: &CausalContext, replica: ReplicaId, value: Vec<u8>) -> Causal<MvReg> {
        let dot = ctx.next_dot(replica);
        let mut dctx = self.0.context();
        dctx.insert(dot);
        Causal::new(MvReg(DotFun::single(dot, value)), dctx)
    }

    /// Every concurrent value, in dot order.
    pub fn values(&self) -> Vec<&[u8]> {
        self.0.entries().iter().map(|(_, v)| v.as_slice()).collect()
    }
}

impl DotStore for MvReg {
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
    struct Write(u8);

    impl Op<MvReg> for Write {
        fn apply(&self, s: &Causal<MvReg>, r: ReplicaId) -> Option<Causal<MvReg>> {
            Some(s.store.write(&s.ctx, r, vec![self.0]))
        }
    }

    proptest! {
        #[test]
        fn lattice_laws(h in histories(any::<u8>().prop_map(Write))) { check_lattice_laws(&h)?; }
        #[test]
        fn delta_mutators(h in histories(any::<u8>().prop_map(Write))) { check_delta_mutators(&h)?; }
        #[test]
        fn replicas_converge(h in histories(any::<u8>().prop_map(Write)), seed in any::<u64>()) {
            check_convergence(&h, seed)?;
        }
        #[test]
        fn holds_at_most_one_value_per_writer(h in histories(any::<u8>().prop_map(Write))) {
            let s = merged(&h);
            let mut writers: Vec<u64> = s.store.0.entries().iter().map(|(d, _)| d.replica).collect();
            let n = writers.len();
            writers.dedup();
            prop_assert_eq!(writers.len(), n);
        }
    }
}
