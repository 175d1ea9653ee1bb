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
///
/// A counter of many writers (every container of a fleet that ever incremented it) keeps the
/// sum of their contributions beside them, so that neither a read nor an increment visits
/// them all; a counter of a few sums them when asked, and stays as small as a vector of its
/// entries (a counter is one of every key's types, and a larger one made every key's value
/// larger).
#[derive(Debug, Clone)]
pub struct PnCounter(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// Up to [`MANY`] entries.
    Few(DotFun<i64>),
    /// More, with their sum.
    Many(Box<Tally>),
}

/// A counter's entries and their sum: [`UNKNOWN`] when the sum lies beyond `i64` (concurrent
/// updates pushed it there), and is then summed when asked for.
#[derive(Debug, Clone)]
struct Tally {
    dots: DotFun<i64>,
    total: i64,
}

// A counter of a few is its vector of entries, no larger.
const _: () = assert!(std::mem::size_of::<PnCounter>() == std::mem::size_of::<Vec<(Dot, i64)>>());

/// Counters with more entries than this keep their sum.
const MANY: usize = 32;

/// The kept sum of a counter whose sum does not fit in an `i64` (or is `i64::MIN`).
const UNKNOWN: i64 = i64::MIN;

impl Default for PnCounter {
    fn default() -> Self {
        PnCounter(Repr::Few(DotFun::default()))
    }
}

impl PartialEq for PnCounter {
    fn eq(&self, other: &Self) -> bool {
        self.dots() == other.dots()
    }
}

impl PnCounter {
    /// The counter of these entries.
    pub(crate) fn from_dots(dots: DotFun<i64>) -> Self {
        let mut c = PnCounter(Repr::Few(dots));
        c.settle(None);
        c
    }

    /// The counter of one writer's contribution.
    pub(crate) fn single(dot: Dot, contribution: i64) -> Self {
        PnCounter(Repr::Few(DotFun::single(dot, contribution)))
    }

    /// The entries as a dot function.
    #[inline]
    pub(crate) fn dots(&self) -> &DotFun<i64> {
        match &self.0 {
            Repr::Few(d) => d,
            Repr::Many(t) => &t.dots,
        }
    }

    /// The entries, to change; [`PnCounter::settle`] follows every change.
    #[inline]
    fn dots_mut(&mut self) -> &mut DotFun<i64> {
        match &mut self.0 {
            Repr::Few(d) => d,
            Repr::Many(t) => &mut t.dots,
        }
    }

    /// The entries' vector, to change (as [`PnCounter::dots_mut`]).
    #[inline]
    fn entries_mut(&mut self) -> &mut Vec<(Dot, i64)> {
        &mut self.dots_mut().0
    }

    /// After a change of the entries: keeps `total` (their sum, if the caller knows it) in a
    /// counter of many entries, which a counter that grew past [`MANY`] becomes.
    fn settle(&mut self, total: Option<i128>) {
        let keep = |t: i128| i64::try_from(t).unwrap_or(UNKNOWN);
        match &mut self.0 {
            Repr::Many(t) => t.total = keep(total.unwrap_or_else(|| sum(t.dots.entries()))),
            Repr::Few(d) if d.len() > MANY => {
                let dots = std::mem::take(d);
                let total = keep(total.unwrap_or_else(|| sum(dots.entries())));
                self.0 = Repr::Many(Box::new(Tally { dots, total }));
            }
            Repr::Few(_) => {}
        }
    }

    /// The counter's value, or `Overflow` if concurrent updates pushed it past `i64`.
    pub fn value(&self) -> Result<i64, Overflow> {
        i64::try_from(self.total()).map_err(|_| Overflow)
    }

    /// The sum of the contributions, which may lie beyond `i64`.
    #[inline]
    pub(crate) fn total(&self) -> i128 {
        match &self.0 {
            Repr::Many(t) if t.total != UNKNOWN => i128::from(t.total),
            _ => sum(self.contributions()),
        }
    }

    /// The index of `replica`'s first entry (its only one, but for a state joined from
    /// pieces), found by a search: the entries sort by replica first.
    #[inline]
    pub(crate) fn own(&self, replica: ReplicaId) -> Option<usize> {
        let r = self.own_range(replica);
        (!r.is_empty()).then_some(r.start)
    }

    /// Where `replica`'s entries are.
    #[inline]
    fn own_range(&self, replica: ReplicaId) -> std::ops::Range<usize> {
        let e = self.contributions();
        let from = e.partition_point(|(d, _)| d.replica < replica);
        from..from + e[from..].partition_point(|(d, _)| d.replica == replica)
    }

    /// Replaces the entry at `i` (an index from [`PnCounter::own`]) by `dot`, a later dot of
    /// the same replica, carrying `contribution`; with no `i`, inserts it.
    pub(crate) fn put_own(&mut self, i: Option<usize>, dot: Dot, contribution: i64) {
        let mut total = self.kept_total().map(|t| t + i128::from(contribution));
        let entries = self.entries_mut();
        match i.and_then(|i| entries.get_mut(i)) {
            // Own dots sort after each other: the new one takes the old one's place.
            Some(e) => {
                total = total.map(|t| t - i128::from(e.1));
                *e = (dot, contribution);
            }
            None => {
                let at = entries.partition_point(|(d, _)| *d < dot);
                entries.insert(at, (dot, contribution));
            }
        }
        self.settle(total);
    }

    /// The sum, if this counter keeps it (one of a few sums its entries when asked).
    #[inline]
    fn kept_total(&self) -> Option<i128> {
        matches!(self.0, Repr::Many(_)).then(|| self.total())
    }

    /// Drops `old` (a dot this `dot` supersedes) and adds `dot`, carrying `contribution`.
    pub(crate) fn supersede(&mut self, old: Option<Dot>, dot: Dot, contribution: i64) {
        let mut total = self.kept_total().map(|t| t + i128::from(contribution));
        let entries = self.entries_mut();
        if let Some(i) = old.and_then(|o| entries.binary_search_by(|(d, _)| d.cmp(&o)).ok()) {
            let gone = entries.remove(i).1;
            total = total.map(|t| t - i128::from(gone));
        }
        let at = entries.partition_point(|(d, _)| *d < dot);
        entries.insert(at, (dot, contribution));
        self.settle(total);
    }

    /// The delta that adds `by` on behalf of `replica`; the counter is seen `ctx`.
    pub fn add(&self, ctx: &CausalContext, replica: ReplicaId, by: i64) -> Result<Causal<PnCounter>, Overflow> {
        let mut own = 0i64;
        let mut delta_ctx = CausalContext::new();
        for (d, v) in &self.contributions()[self.own_range(replica)] {
            own = own.checked_add(*v).ok_or(Overflow)?;
            delta_ctx.insert(*d);
        }
        let total = self.value()?;
        total.checked_add(by).ok_or(Overflow)?;
        let contribution = own.checked_add(by).ok_or(Overflow)?;
        let dot = ctx.next_dot(replica);
        delta_ctx.insert(dot);
        Ok(Causal::new(PnCounter::single(dot, contribution), delta_ctx))
    }

    /// The dots and contributions, per writer.
    #[inline]
    pub fn contributions(&self) -> &[(Dot, i64)] {
        self.dots().entries()
    }

    /// The delta join of a few writers' entries into many: what `join_full` does, but visiting
    /// only the entries of the replicas `other_ctx` names (the only ones it can remove) and
    /// placing `other`'s by search. A writer's new dot takes its old dot's place, as a joined
    /// increment of a writer already here does, without moving the entries after it.
    fn join_few(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext) {
        let mut total = self.total();
        let entries = self.entries_mut();
        let mut gone: Vec<usize> = Vec::new();
        for r in other_ctx.replicas() {
            let from = entries.partition_point(|(d, _)| d.replica < r);
            for (i, (d, _)) in entries.iter().enumerate().skip(from) {
                if d.replica != r {
                    break;
                }
                if other_ctx.contains(*d) && other.dots().get(*d).is_none() {
                    gone.push(i);
                }
            }
        }
        for (d, v) in other.contributions() {
            if ctx.contains(*d) {
                continue;
            }
            match entries.binary_search_by(|(x, _)| x.cmp(d)) {
                Ok(_) => {}
                Err(at) => {
                    total += i128::from(*v);
                    // A removed entry right beside the new one's place gives it its slot (the
                    // order holds: the entries on either side are below and above it).
                    let beside = gone.iter().position(|&g| g + 1 == at || g == at);
                    match beside {
                        Some(k) => {
                            let j = gone.remove(k);
                            total -= i128::from(entries[j].1);
                            entries[j] = (*d, *v);
                        }
                        None => {
                            for g in gone.iter_mut().filter(|g| **g >= at) {
                                *g += 1;
                            }
                            entries.insert(at, (*d, *v));
                        }
                    }
                }
            }
        }
        // Still in order: found in order, then shifted or taken out, never swapped.
        for &j in gone.iter().rev() {
            total -= i128::from(entries.remove(j).1);
        }
        self.settle(Some(total));
    }
}

/// The sum of contributions (an `i128`: it cannot overflow from `i64` entries).
fn sum(entries: &[(Dot, i64)]) -> i128 {
    entries.iter().map(|(_, v)| i128::from(*v)).sum()
}

impl DotStore for PnCounter {
    fn is_bottom(&self) -> bool {
        self.dots().is_bottom()
    }
    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.dots().for_each_dot(f)
    }
    fn join_full(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext) {
        self.dots_mut().join_full(ctx, other.dots(), other_ctx);
        self.settle(None);
    }
    fn join_delta(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext, _keep: bool) {
        // A few writers' entries into many: search instead of visiting every entry.
        if (other_ctx.replica_count() + other.dots().len()) * FEW < self.dots().len() {
            self.join_few(ctx, other, other_ctx);
        } else {
            self.join_full(ctx, other, other_ctx);
        }
    }
}

/// A delta join searches when the counter has this many times more entries than the delta
/// names replicas and entries; below that, one pass over both is as cheap.
const FEW: usize = 8;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::testing::*;
    use super::super::Lattice;
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

    /// A counter of many writers (some with two entries, as a state joined from pieces may
    /// have) seen `ctx`, which holds its dots and more, of these and other replicas.
    fn many_writers(max: u64) -> impl Strategy<Value = (PnCounter, CausalContext)> {
        let entry = (0..max, 1u64..6, proptest::bool::weighted(0.1), -50i64..50);
        let extra = proptest::collection::vec((0..max + 4, 1u64..8), 0..12);
        (proptest::collection::vec(entry, 0..(max as usize)), extra).prop_map(|(entries, extra)| {
            let mut dots = DotFun::default();
            let mut ctx = CausalContext::new();
            for (r, seq, twice, v) in entries {
                dots.insert(Dot::new(r, seq), v);
                ctx.insert_range(r, 1, seq);
                if twice {
                    dots.insert(Dot::new(r, seq + 1), v);
                    ctx.insert(Dot::new(r, seq + 1));
                }
            }
            for (r, seq) in extra {
                ctx.insert(Dot::new(r, seq));
            }
            (PnCounter::from_dots(dots), ctx)
        })
    }

    proptest! {
        /// The searching delta join of a few writers into many leaves what the full join
        /// leaves, and the kept sum is the entries' sum.
        #[test]
        fn join_few_is_join_full((mine, ctx) in many_writers(200), (theirs, their_ctx) in many_writers(6)) {
            let mut full = mine.clone();
            full.join_full(&ctx, &theirs, &their_ctx);
            let mut few = mine.clone();
            few.join_few(&ctx, &theirs, &their_ctx);
            prop_assert_eq!(few.contributions(), full.contributions());
            prop_assert_eq!(few.total(), sum(few.contributions()));
            prop_assert_eq!(full.total(), sum(full.contributions()));
        }

        /// An increment and a delta join keep the sum (through `Causal`, which picks the
        /// searching join once a counter has many writers).
        #[test]
        fn kept_sum_is_the_sum(steps in proptest::collection::vec((0u64..300, -9i64..9, proptest::bool::ANY), 1..400)) {
            let mut s: Causal<PnCounter> = Causal::default();
            let mut own: std::collections::BTreeMap<u64, Causal<PnCounter>> = Default::default();
            let mut writers: Vec<Causal<PnCounter>> = Vec::new();
            for (r, by, stale) in steps {
                // What the writer saw when it wrote: the joined state, or with `stale` only its
                // own writes (a replica that has not heard from the others).
                let mine = own.entry(r).or_default();
                let mut base = mine.clone();
                if !stale {
                    base.join(&s);
                }
                let d = base.store.add(&base.ctx, r, by).unwrap();
                mine.join_delta(&d, false);
                s.join_delta(&d, false);
                writers.push(d);
                prop_assert_eq!(s.store.total(), sum(s.store.contributions()));
            }
            let mut all: Causal<PnCounter> = Causal::default();
            for d in writers.iter().rev() {
                all.join(d);
            }
            prop_assert_eq!(s.store.contributions(), all.store.contributions());
        }
    }

    #[test]
    fn a_counter_of_many_keeps_its_sum_through_in_place_writes() {
        let dots = DotFun((1..=40).map(|r| (Dot::new(r, 3), r as i64)).collect());
        let mut c = PnCounter::from_dots(dots);
        assert!(matches!(c.0, Repr::Many(_)), "a counter of 40 writers keeps its sum");
        c.supersede(Some(Dot::new(7, 3)), Dot::new(7, 4), 100);
        c.put_own(c.own(9), Dot::new(9, 4), -5);
        c.put_own(c.own(50), Dot::new(50, 1), 2);
        let expected: i64 = (1..=40).sum::<i64>() - 7 + 100 - 9 - 5 + 2;
        assert_eq!(c.value(), Ok(expected));
        assert_eq!(c.total(), sum(c.contributions()));
        assert_eq!(c.contributions().len(), 41);
    }

    #[test]
    fn a_sum_beyond_i64_is_an_error_until_it_comes_back() {
        // Two writers who do not see each other, each at i64::MAX: the joined sum is beyond
        // i64. The second, seeing only its own writes, takes its contribution back down.
        let mut a: Causal<PnCounter> = Causal::default();
        let mut b: Causal<PnCounter> = Causal::default();
        let d1 = a.store.add(&a.ctx, 1, i64::MAX).unwrap();
        a.join_delta(&d1, false);
        let d2 = b.store.add(&b.ctx, 2, i64::MAX).unwrap();
        b.join_delta(&d2, false);
        let mut s = a.clone();
        s.join_delta(&d2, false);
        assert_eq!(s.store.value(), Err(Overflow));
        assert_eq!(s.store.total(), 2 * i128::from(i64::MAX));
        let d3 = b.store.add(&b.ctx, 2, -i64::MAX).unwrap();
        s.join_delta(&d3, false);
        assert_eq!(s.store.value(), Ok(i64::MAX));
        // i64::MIN itself is a value, though the kept total cannot hold it.
        let mut m: Causal<PnCounter> = Causal::default();
        let d = m.store.add(&m.ctx, 3, i64::MIN).unwrap();
        m.join_delta(&d, false);
        assert_eq!(m.store.value(), Ok(i64::MIN));
        let mut big = m.clone();
        for r in 10..60 {
            let d = m.store.add(&CausalContext::new(), r, 1).unwrap();
            big.join_delta(&d, false);
        }
        assert_eq!(big.store.value(), Ok(i64::MIN + 50));
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
