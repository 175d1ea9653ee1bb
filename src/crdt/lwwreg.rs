//! Last-writer-wins register of bytes, ordered by hybrid logical clock then replica id.

use super::context::CausalContext;
use super::dot::{Dot, ReplicaId};
use super::dotstore::{Causal, DotFun, DotStore};

/// A value with the timestamp of its write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stamped {
    /// Hybrid logical clock timestamp of the write (see [`Hlc`](super::Hlc)).
    pub ts: u64,
    /// The bytes written.
    pub value: Vec<u8>,
}

/// A last-writer-wins register. Its state keeps every concurrent write (a write removes the
/// ones it observed), so [`LwwReg::read`] picks one winner everywhere — the highest
/// `(timestamp, replica)` — and [`LwwReg::values`] still shows all of them (the MV view).
///
/// ```
/// use castamere::crdt::{Causal, Lattice, LwwReg};
/// let mut a: Causal<LwwReg> = Causal::bottom();
/// let mut b: Causal<LwwReg> = Causal::bottom();
/// let da = a.store.write(&a.ctx, 1, 10, b"from a".to_vec());
/// let db = b.store.write(&b.ctx, 2, 20, b"from b".to_vec());
/// a.join(&da);
/// b.join(&db);
/// a.join(&b);
/// assert_eq!(a.store.read(), Some(&b"from b"[..]));
/// assert_eq!(a.store.values().len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LwwReg(pub(crate) DotFun<Stamped>);

impl LwwReg {
    /// The delta that writes `value` at timestamp `ts` on behalf of `replica`.
    pub fn write(&self, ctx: &CausalContext, replica: ReplicaId, ts: u64, value: Vec<u8>) -> Causal<LwwReg> {
        let dot = ctx.next_dot(replica);
        let mut dctx = self.0.context();
        dctx.insert(dot);
        Causal::new(LwwReg(DotFun::single(dot, Stamped { ts, value })), dctx)
    }

    fn winner(&self) -> Option<&(Dot, Stamped)> {
        self.0.entries().iter().max_by_key(|(d, s)| (s.ts, d.replica, d.seq))
    }

    /// The winning value.
    pub fn read(&self) -> Option<&[u8]> {
        self.winner().map(|(_, s)| s.value.as_slice())
    }

    /// The winning timestamp.
    pub fn timestamp(&self) -> Option<u64> {
        self.winner().map(|(_, s)| s.ts)
    }

    /// Every concurrent value, winner first.
    pub fn values(&self) -> Vec<&[u8]> {
        let mut v: Vec<&(Dot, Stamped)> = self.0.entries().iter().collect();
        crate::sort::sort_by_key(&mut v, |(d, s)| std::cmp::Reverse((s.ts, d.replica, d.seq)));
        v.into_iter().map(|(_, s)| s.value.as_slice()).collect()
    }

    /// The highest timestamp held (to move a local clock past it).
    pub fn max_ts(&self) -> u64 {
        self.0.entries().iter().map(|(_, s)| s.ts).max().unwrap_or(0)
    }
}

impl DotStore for LwwReg {
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
    struct Write(u64, u8);

    impl Op<LwwReg> for Write {
        fn apply(&self, s: &Causal<LwwReg>, r: ReplicaId) -> Option<Causal<LwwReg>> {
            // Like the store: the timestamp passes everything the register holds.
            let ts = self.0.max(s.store.max_ts() + 1);
            Some(s.store.write(&s.ctx, r, ts, vec![self.1]))
        }
    }

    fn op() -> impl Strategy<Value = Write> {
        (0u64..50, any::<u8>()).prop_map(|(t, v)| Write(t, v))
    }

    proptest! {
        #[test]
        fn lattice_laws(h in histories(op())) { check_lattice_laws(&h)?; }
        #[test]
        fn delta_mutators(h in histories(op())) { check_delta_mutators(&h)?; }
        #[test]
        fn replicas_converge(h in histories(op()), seed in any::<u64>()) { check_convergence(&h, seed)?; }
        #[test]
        fn a_later_local_write_always_wins_locally(h in histories(op()), v in any::<u8>()) {
            let run = run(&h)?;
            for (i, s) in run.states.iter().enumerate() {
                let d = Write(0, v).apply(s, i as u64 + 1).unwrap();
                let mut s = s.clone();
                s.join_delta(&d, false);
                prop_assert_eq!(s.store.read(), Some(&[v][..]));
            }
        }
        #[test]
        fn the_winner_has_the_highest_timestamp(h in histories(op())) {
            let s = merged(&h);
            if let Some(w) = s.store.timestamp() {
                prop_assert_eq!(w, s.store.max_ts());
            }
        }
    }
}
