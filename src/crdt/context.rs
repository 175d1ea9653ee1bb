//! The causal context: which dots a state has seen, as a compact version vector plus a dot
//! cloud, so that deltas may be joined in any order, duplicated or re-sent.

use std::collections::BTreeMap;

use super::dot::{Dot, ReplicaId};

/// What one replica's dots look like in a context: every seq in `1..=vv` (the version vector
/// entry) plus the ranges of the cloud, which are sorted, disjoint, non-adjacent and all
/// start above `vv + 1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Seen {
    /// Every seq in `1..=vv` was seen.
    pub vv: u64,
    /// Inclusive ranges `(lo, hi)` seen beyond the contiguous prefix.
    pub cloud: Vec<(u64, u64)>,
}

impl Seen {
    #[inline]
    fn contains(&self, seq: u64) -> bool {
        if seq <= self.vv {
            return seq >= 1;
        }
        match self.cloud.binary_search_by(|&(lo, _)| lo.cmp(&seq)) {
            Ok(_) => true,
            Err(0) => false,
            Err(i) => self.cloud[i - 1].1 >= seq,
        }
    }

    fn is_empty(&self) -> bool {
        self.vv == 0 && self.cloud.is_empty()
    }

    /// Adds the inclusive range `lo..=hi` (lo ≥ 1).
    #[inline]
    fn insert_range(&mut self, lo: u64, hi: u64) {
        debug_assert!(lo >= 1 && lo <= hi);
        if hi <= self.vv {
            return;
        }
        let lo = lo.max(self.vv.saturating_add(1));
        if lo == self.vv.saturating_add(1) {
            self.vv = hi;
            self.absorb();
            return;
        }
        // Fast path: appending past the last range.
        if let Some(last) = self.cloud.last_mut() {
            if lo > last.1.saturating_add(1) {
                self.cloud.push((lo, hi));
                return;
            }
            if lo >= last.0 {
                last.1 = last.1.max(hi);
                return;
            }
        } else {
            self.cloud.push((lo, hi));
            return;
        }
        // General case: merge every range that overlaps or touches lo..=hi.
        let start = self.cloud.partition_point(|&(_, h)| h.saturating_add(1) < lo);
        let end = self.cloud.partition_point(|&(l, _)| l <= hi.saturating_add(1));
        if start == end {
            self.cloud.insert(start, (lo, hi));
        } else {
            let nlo = lo.min(self.cloud[start].0);
            let nhi = hi.max(self.cloud[end - 1].1);
            self.cloud.drain(start + 1..end);
            self.cloud[start] = (nlo, nhi);
        }
    }

    /// Moves cloud ranges that became contiguous with `vv` into it.
    fn absorb(&mut self) {
        let mut n = 0;
        for &(lo, hi) in &self.cloud {
            if lo <= self.vv.saturating_add(1) {
                self.vv = self.vv.max(hi);
                n += 1;
            } else {
                break;
            }
        }
        if n > 0 {
            self.cloud.drain(..n);
        }
    }

    /// The seqs in `lo..=hi` that are not seen, as ranges.
    fn missing_in(&self, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
        let mut cur = lo.max(self.vv.saturating_add(1));
        for &(l, h) in &self.cloud {
            if cur > hi {
                return;
            }
            if h < cur {
                continue;
            }
            if l > cur {
                out.push((cur, (l - 1).min(hi)));
            }
            cur = h.saturating_add(1);
        }
        if cur <= hi {
            out.push((cur, hi));
        }
    }

    fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let head = if self.vv > 0 { Some((1, self.vv)) } else { None };
        head.into_iter().chain(self.cloud.iter().copied())
    }
}

/// A causal context: the set of dots a state (or delta) has seen.
///
/// ```
/// use castamere::crdt::{CausalContext, Dot};
/// let mut c = CausalContext::new();
/// c.insert(Dot::new(7, 1));
/// c.insert(Dot::new(7, 3));
/// assert!(c.contains(Dot::new(7, 3)) && !c.contains(Dot::new(7, 2)));
/// c.insert(Dot::new(7, 2));
/// assert_eq!(c.vv(7), 3); // the cloud folded into the version vector
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CausalContext {
    seen: BTreeMap<ReplicaId, Seen>,
}

impl CausalContext {
    /// The empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no dot was seen.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Whether `dot` was seen.
    #[inline]
    pub fn contains(&self, dot: Dot) -> bool {
        self.seen.get(&dot.replica).is_some_and(|s| s.contains(dot.seq))
    }

    /// The contiguous prefix seen of `replica`'s dots (its version vector entry).
    pub fn vv(&self, replica: ReplicaId) -> u64 {
        self.seen.get(&replica).map_or(0, |s| s.vv)
    }

    /// The highest seq seen of `replica`, contiguous or not.
    #[inline]
    pub fn max(&self, replica: ReplicaId) -> u64 {
        self.seen.get(&replica).map_or(0, |s| s.cloud.last().map_or(s.vv, |r| r.1))
    }

    /// The next dot `replica` should create, given that this context holds all of its dots.
    pub fn next_dot(&self, replica: ReplicaId) -> Dot {
        Dot::new(replica, self.max(replica).saturating_add(1))
    }

    /// Creates and adds `replica`'s next dot (one past the highest seen), with one lookup.
    #[inline]
    pub fn advance(&mut self, replica: ReplicaId) -> Dot {
        let s = self.seen.entry(replica).or_default();
        let seq = match s.cloud.last_mut() {
            Some(last) => {
                last.1 = last.1.saturating_add(1);
                last.1
            }
            None => {
                s.vv = s.vv.saturating_add(1);
                s.vv
            }
        };
        Dot::new(replica, seq)
    }

    /// Adds one dot.
    #[inline]
    pub fn insert(&mut self, dot: Dot) {
        if dot.seq == 0 {
            return;
        }
        self.seen.entry(dot.replica).or_default().insert_range(dot.seq, dot.seq);
    }

    /// Adds the dots `replica:lo..=hi`.
    pub fn insert_range(&mut self, replica: ReplicaId, lo: u64, hi: u64) {
        let lo = lo.max(1);
        if lo > hi {
            return;
        }
        self.seen.entry(replica).or_default().insert_range(lo, hi);
    }

    /// Joins `other` into this context (set union).
    pub fn join(&mut self, other: &CausalContext) {
        for (&r, s) in &other.seen {
            let mine = self.seen.entry(r).or_default();
            for (lo, hi) in s.ranges() {
                mine.insert_range(lo, hi);
            }
        }
    }

    /// Whether every dot of `other` is in this context.
    pub fn includes(&self, other: &CausalContext) -> bool {
        other.seen.iter().all(|(&r, s)| {
            let mine = self.seen.get(&r);
            s.ranges().all(|(lo, hi)| {
                let mut miss = Vec::new();
                match mine {
                    Some(m) => m.missing_in(lo, hi, &mut miss),
                    None => miss.push((lo, hi)),
                }
                miss.is_empty()
            })
        })
    }

    /// The number of replicas this context has an entry for (some may have seen nothing).
    pub fn replica_count(&self) -> usize {
        self.seen.len()
    }

    /// The replicas with at least one dot here, in order.
    pub fn replicas(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        self.seen.keys().copied()
    }

    /// The seen dots of each replica as inclusive ranges, in order.
    pub fn ranges(&self) -> impl Iterator<Item = (ReplicaId, u64, u64)> + '_ {
        self.seen.iter().flat_map(|(&r, s)| s.ranges().map(move |(lo, hi)| (r, lo, hi)))
    }

    /// The replicas with at least one dot here, each with its view, in order.
    pub fn entries(&self) -> impl Iterator<Item = (ReplicaId, &Seen)> + '_ {
        self.seen.iter().filter(|(_, s)| !s.is_empty()).map(|(&r, s)| (r, s))
    }

    /// The per-replica view (version vector entry and cloud).
    pub fn seen(&self, replica: ReplicaId) -> Option<&Seen> {
        self.seen.get(&replica)
    }

    /// The dots of `replica` in `lo..=hi` that this context has not seen, as ranges.
    pub fn missing(&self, replica: ReplicaId, lo: u64, hi: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        match self.seen.get(&replica) {
            Some(s) => s.missing_in(lo.max(1), hi, &mut out),
            None if lo.max(1) <= hi => out.push((lo.max(1), hi)),
            None => {}
        }
        out
    }

    /// The version vector: each replica's contiguous prefix.
    pub fn version_vector(&self) -> BTreeMap<ReplicaId, u64> {
        self.seen.iter().filter(|(_, s)| s.vv > 0).map(|(&r, s)| (r, s.vv)).collect()
    }

    /// Number of ranges held (a size measure).
    pub fn range_count(&self) -> usize {
        self.seen.values().map(|s| usize::from(s.vv > 0) + s.cloud.len()).sum()
    }

    /// Drops replicas with nothing seen (kept normalised for equality).
    pub(crate) fn normalize(&mut self) {
        self.seen.retain(|_, s| !s.is_empty());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn model(dots: &[(u64, u64)]) -> BTreeSet<(u64, u64)> {
        dots.iter().copied().filter(|d| d.1 > 0).collect()
    }

    proptest! {
        #[test]
        fn behaves_like_a_set_of_dots(dots in proptest::collection::vec((0u64..3, 0u64..40), 0..60),
                                      probe in (0u64..3, 0u64..45)) {
            let mut c = CausalContext::new();
            for &(r, s) in &dots { c.insert(Dot::new(r, s)); }
            let m = model(&dots);
            prop_assert_eq!(c.contains(Dot::new(probe.0, probe.1)), m.contains(&probe));
            for r in 0..3 {
                let mut vv = 0;
                while m.contains(&(r, vv + 1)) { vv += 1; }
                prop_assert_eq!(c.vv(r), vv);
                let max = m.iter().filter(|d| d.0 == r).map(|d| d.1).max().unwrap_or(0);
                prop_assert_eq!(c.max(r), max);
                let miss: BTreeSet<u64> = c.missing(r, 1, 45).iter().flat_map(|&(l, h)| l..=h).collect();
                let expect: BTreeSet<u64> = (1..=45).filter(|s| !m.contains(&(r, *s))).collect();
                prop_assert_eq!(miss, expect);
            }
        }

        #[test]
        fn join_is_union(a in proptest::collection::vec((0u64..3, 1u64..30), 0..40),
                         b in proptest::collection::vec((0u64..3, 1u64..30), 0..40)) {
            let mut ca = CausalContext::new();
            for &(r, s) in &a { ca.insert(Dot::new(r, s)); }
            let mut cb = CausalContext::new();
            for &(r, s) in &b { cb.insert(Dot::new(r, s)); }
            let mut ab = ca.clone(); ab.join(&cb);
            let mut ba = cb.clone(); ba.join(&ca);
            prop_assert_eq!(&ab, &ba);
            prop_assert!(ab.includes(&ca) && ab.includes(&cb));
            let mut all = ca.clone();
            for &(r, s) in &b { all.insert(Dot::new(r, s)); }
            prop_assert_eq!(&ab, &all);
            prop_assert_eq!(ca.includes(&cb), model(&b).is_subset(&model(&a)));
        }
    }
}
