//! Peers' delta-groups a replica holds until the origin has them, bounded in bytes.
//!
//! A replica keeps every group it receives from a writer until the origin's mark for that
//! writer passes it: if the writer dies first, the replica can ship them (adoption), and a
//! lagging peer can catch up from them instead of from a full state. While the origin lags or
//! is down (the moment a spike is most likely to bring about), that grows with every write of
//! every peer. So the groups are bounded: past `max_bytes`, the oldest group of the writer
//! holding the most bytes goes. What goes is not lost: the writes are in this replica's state,
//! and adoption and catch-up ship a full state when the groups kept no longer cover a range.
//!
//! Each writer's groups are kept sorted by range, so a retransmitted group is recognised in
//! logarithmic time (a linear scan made every received group cost time in proportion to the
//! writer's history since the origin's last acknowledgement).

use crate::crdt::ReplicaId;
use crate::vecmap::VecMap;
use std::collections::VecDeque;

/// One sealed delta-group of a writer: its dots `lo+1..=hi`, encoded.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) lo: u64,
    pub(super) hi: u64,
    pub(super) delta: Vec<u8>,
}

/// One writer's held groups, sorted by `(lo, hi)`, and their bytes.
#[derive(Debug, Default)]
struct Writer {
    groups: VecDeque<Group>,
    bytes: usize,
}

/// The groups held per writer.
#[derive(Debug, Default)]
pub(super) struct Held {
    writers: VecMap<ReplicaId, Writer>,
    bytes: usize,
    max_bytes: usize,
    dropped: u64,
}

impl Held {
    /// Holds at most `max_bytes` of groups (the newest group of each writer whatever its size).
    pub(super) fn new(max_bytes: usize) -> Held {
        Held { max_bytes, ..Held::default() }
    }

    /// Holds `group` of `source`, unless a group of the same range is held. Evicts the oldest
    /// groups of the largest writers while over the bound. Whether it was new.
    pub(super) fn insert(&mut self, source: ReplicaId, group: Group) -> bool {
        let w = self.writers.or_default(source);
        let at = match w.groups.binary_search_by(|g| (g.lo, g.hi).cmp(&(group.lo, group.hi))) {
            Ok(_) => return false,
            Err(at) => at,
        };
        w.bytes += group.delta.len();
        self.bytes += group.delta.len();
        w.groups.insert(at, group);
        self.evict();
        true
    }

    fn evict(&mut self) {
        while self.bytes > self.max_bytes {
            // The writer holding the most bytes in more than one group gives its oldest.
            let largest = self
                .writers
                .iter()
                .filter(|(_, w)| w.groups.len() > 1)
                .max_by_key(|(s, w)| (w.bytes, std::cmp::Reverse(**s)))
                .map(|(s, _)| *s);
            let Some(w) = largest.and_then(|s| self.writers.get_mut(&s)) else { return };
            let Some(g) = w.groups.pop_front() else { return };
            w.bytes -= g.delta.len();
            self.bytes -= g.delta.len();
            self.dropped += 1;
        }
    }

    /// Drops the groups of `source` that the origin holds (`hi <= mark`); a writer with none
    /// left is no longer tracked.
    pub(super) fn origin_reached(&mut self, source: ReplicaId, mark: u64) {
        let Some(w) = self.writers.get_mut(&source) else { return };
        let before = w.bytes;
        w.groups.retain(|g| g.hi > mark);
        w.bytes = w.groups.iter().map(|g| g.delta.len()).sum();
        self.bytes -= before - w.bytes;
        if w.groups.is_empty() {
            self.writers.remove(&source);
        }
    }

    /// The groups held of `source`, oldest first.
    pub(super) fn groups(&self, source: ReplicaId) -> impl Iterator<Item = &Group> {
        self.writers.get(&source).into_iter().flat_map(|w| w.groups.iter())
    }

    /// The writers with groups held.
    pub(super) fn sources(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        self.writers.keys().copied()
    }

    /// Whether groups of `source` are held.
    pub(super) fn has(&self, source: ReplicaId) -> bool {
        self.writers.contains_key(&source)
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Groups evicted over the bound so far.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn group(lo: u64, hi: u64, len: usize) -> Group {
        Group { lo, hi, delta: vec![0; len] }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(ReplicaId, u64, u64, usize),
        Origin(ReplicaId, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            // A writer's groups cover disjoint ranges, and a group of one range is always the
            // same bytes (its length follows from the range).
            3 => (1u64..4, 0u64..10).prop_map(|(s, j)| Op::Insert(s, 3 * j, 3 * j + 3, ((s * 7 + j * 3) % 40 + 1) as usize)),
            1 => (1u64..4, 0u64..34).prop_map(|(s, m)| Op::Origin(s, m)),
        ]
    }

    /// Runs `ops` on a `Held` of `max` bytes and on a plain list per writer, checking after
    /// each step: held groups are listed ones, sorted, with exact byte counts; each writer's
    /// newest group is held; the bound holds unless every writer is down to one group.
    /// Returns whether the two ended equal.
    fn check(ops: &[Op], max: usize) -> Result<bool, TestCaseError> {
        let mut held = Held::new(max);
        let mut model: std::collections::BTreeMap<ReplicaId, Vec<(u64, u64, usize)>> = Default::default();
        for op in ops {
            match *op {
                Op::Insert(s, lo, hi, len) => {
                    let was_held = held.groups(s).any(|g| (g.lo, g.hi) == (lo, hi));
                    prop_assert_eq!(held.insert(s, group(lo, hi, len)), !was_held);
                    let m = model.entry(s).or_default();
                    if !m.iter().any(|g| (g.0, g.1) == (lo, hi)) {
                        m.push((lo, hi, len));
                        m.sort();
                    }
                }
                Op::Origin(s, mark) => {
                    held.origin_reached(s, mark);
                    if let Some(m) = model.get_mut(&s) {
                        m.retain(|g| g.1 > mark);
                    }
                }
            }
            model.retain(|_, m| !m.is_empty());
            let mut total = 0;
            for s in held.sources().collect::<Vec<_>>() {
                let got: Vec<(u64, u64, usize)> = held.groups(s).map(|g| (g.lo, g.hi, g.delta.len())).collect();
                prop_assert!(!got.is_empty());
                prop_assert!(got.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
                let m = model.get(&s).cloned().unwrap_or_default();
                prop_assert!(got.iter().all(|g| m.contains(g)), "{:?} not all in {:?}", got, m);
                total += got.iter().map(|g| g.2).sum::<usize>();
            }
            for (s, m) in &model {
                let newest = m.last().map(|g| (g.0, g.1));
                prop_assert!(held.groups(*s).any(|g| Some((g.lo, g.hi)) == newest));
            }
            prop_assert_eq!(held.bytes(), total);
            let single = held.sources().all(|s| held.groups(s).count() == 1);
            prop_assert!(held.bytes() <= max || single);
        }
        Ok(model.iter().all(|(s, m)| held.groups(*s).map(|g| (g.lo, g.hi, g.delta.len())).eq(m.iter().copied()))
            && held.sources().count() == model.len())
    }

    proptest! {
        #[test]
        fn holds_the_newest_groups_within_the_bound(ops in proptest::collection::vec(op(), 0..80), max in 0usize..200) {
            check(&ops, max)?;
        }

        #[test]
        fn holds_every_group_under_the_bound(ops in proptest::collection::vec(op(), 0..80)) {
            prop_assert!(check(&ops, usize::MAX)?);
        }
    }

    #[test]
    fn a_retransmitted_group_is_held_once() {
        let mut held = Held::new(1 << 20);
        assert!(held.insert(7, group(0, 3, 10)));
        assert!(held.insert(7, group(3, 5, 10)));
        assert!(!held.insert(7, group(0, 3, 10)));
        assert_eq!(held.groups(7).count(), 2);
        assert_eq!(held.bytes(), 20);
    }

    #[test]
    fn the_largest_writer_gives_its_oldest_group_first() {
        let mut held = Held::new(100);
        assert!(held.insert(1, group(0, 1, 30)));
        assert!(held.insert(2, group(0, 1, 20)));
        assert!(held.insert(1, group(1, 2, 30)));
        assert!(held.insert(2, group(1, 2, 30))); // 110 bytes: writer 1 (60) gives (0, 1)
        assert_eq!(held.groups(1).map(|g| g.lo).collect::<Vec<_>>(), vec![1]);
        assert_eq!(held.groups(2).count(), 2);
        assert_eq!((held.bytes(), held.dropped()), (80, 1));
    }
}
