//! Shared property checks for every CRDT type (compiled for tests only): lattice laws of the
//! join, the delta-mutator law, and convergence under any delivery order with duplicates.

use std::fmt::Debug;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::dot::ReplicaId;
use super::dotstore::{Causal, DotStore, Lattice};

/// An operation of a CRDT type, turned into a delta by its mutator at replica `r`.
pub trait Op<S: DotStore>: Debug + Clone {
    fn apply(&self, s: &Causal<S>, r: ReplicaId) -> Option<Causal<S>>;
}

/// One step of a history: before its operation, `replica` may first pull every delta that
/// `pull` has produced so far (so later operations observe earlier remote ones).
#[derive(Debug, Clone)]
pub struct Step<O> {
    pub replica: u8,
    pub pull: Option<u8>,
    pub op: O,
}

pub const REPLICAS: usize = 3;

pub fn histories<O: Debug + Clone>(op: impl Strategy<Value = O>) -> impl Strategy<Value = Vec<Step<O>>> {
    proptest::collection::vec(
        (0..REPLICAS as u8, proptest::option::weighted(0.3, 0..REPLICAS as u8), op)
            .prop_map(|(replica, pull, op)| Step { replica, pull, op }),
        0..24,
    )
}

pub struct Run<S> {
    pub states: Vec<Causal<S>>,
    pub deltas: Vec<(usize, Causal<S>)>,
}

fn norm<S: DotStore>(s: &Causal<S>) -> Causal<S> {
    let mut s = s.clone();
    s.normalize();
    s
}

fn full_join<S: DotStore>(a: &Causal<S>, b: &Causal<S>) -> Causal<S> {
    let mut x = a.clone();
    x.join(b);
    norm(&x)
}

/// Runs a history; checks on every step that the delta path equals the full join.
pub fn run<S: DotStore, O: Op<S>>(h: &[Step<O>]) -> Result<Run<S>, TestCaseError> {
    let mut states: Vec<Causal<S>> = vec![Causal::default(); REPLICAS];
    let mut deltas: Vec<(usize, Causal<S>)> = Vec::new();
    for step in h {
        let r = step.replica as usize;
        if let Some(q) = step.pull {
            for (_, d) in deltas.iter().filter(|(o, _)| *o == q as usize) {
                states[r].join_delta(d, false);
            }
        }
        let before = states[r].clone();
        if let Some(d) = step.op.apply(&before, r as ReplicaId + 1) {
            // x ⊔ δ(x) through the fast delta path equals the full join.
            let mut fast = before.clone();
            fast.join_delta(&d, false);
            prop_assert_eq!(norm(&fast), full_join(&before, &d), "delta join differs from full join");
            // The mutation is an inflation: x ≤ m(x).
            prop_assert_eq!(full_join(&fast, &before), norm(&fast), "mutation is not an inflation");
            states[r] = fast;
            deltas.push((r, d));
        }
    }
    Ok(Run { states, deltas })
}

/// The state every replica reaches once it has every delta.
pub fn merged<S: DotStore, O: Op<S>>(h: &[Step<O>]) -> Causal<S> {
    let run = run(h).expect("history runs");
    let mut s = Causal::default();
    for (_, d) in &run.deltas {
        s.join_delta(d, false);
    }
    norm(&s)
}

pub fn check_lattice_laws<S: DotStore, O: Op<S>>(h: &[Step<O>]) -> Result<(), TestCaseError> {
    let run = run(h)?;
    let mut sample: Vec<Causal<S>> = run.states.clone();
    sample.extend(run.deltas.iter().take(6).map(|(_, d)| norm(d)));
    for a in &sample {
        prop_assert_eq!(full_join(a, a), norm(a), "join is not idempotent");
        for b in &sample {
            prop_assert_eq!(full_join(a, b), full_join(b, a), "join is not commutative");
            for c in sample.iter().take(4) {
                let ab_c = full_join(&full_join(a, b), c);
                let a_bc = full_join(a, &full_join(b, c));
                prop_assert_eq!(ab_c, a_bc, "join is not associative");
            }
        }
    }
    Ok(())
}

pub fn check_delta_mutators<S: DotStore, O: Op<S>>(h: &[Step<O>]) -> Result<(), TestCaseError> {
    run(h).map(|_| ())
}

/// Every replica receives every delta, shuffled and partly duplicated, and also accumulated
/// into delta-groups first: all end equal to the join of the final states.
pub fn check_convergence<S: DotStore, O: Op<S>>(h: &[Step<O>], seed: u64) -> Result<(), TestCaseError> {
    let run = run(h)?;
    let mut expected = Causal::default();
    for s in &run.states {
        expected.join(s);
    }
    let expected = norm(&expected);
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for r in 0..REPLICAS {
        let mut order: Vec<usize> = (0..run.deltas.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        let dup: Vec<usize> = order.iter().copied().filter(|_| next() % 4 == 0).collect();
        order.extend(dup);
        let mut s = run.states[r].clone();
        // Half of the deltas arrive joined into groups (as a sync buffer ships them).
        let mut group: Causal<S> = Causal::default();
        for (n, i) in order.iter().enumerate() {
            if n % 2 == 0 {
                s.join_delta(&run.deltas[*i].1, false);
            } else {
                group.join_delta(&run.deltas[*i].1, true);
            }
        }
        s.join_delta(&group, false);
        prop_assert_eq!(norm(&s), expected.clone(), "replica {} did not converge", r);
    }
    Ok(())
}
