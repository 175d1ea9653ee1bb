//! Membership: a CRDT map from replica to lease, gossiped on the membership topic.
//!
//! A lease is `(epoch, expires_at)`, ordered lexicographically and joined by maximum, so
//! gossip in any order converges. A replica renews its own lease with every heartbeat; it
//! leaves by bumping its epoch with an expiry of 0, which outranks every earlier renewal.
//! Expiry is judged against the local clock: a replica is live while its lease has not
//! expired. Expired entries are pruned after a grace period, so the map stays bounded by the
//! replicas that were live recently.

use crate::vecmap::VecMap;

use crate::crdt::ReplicaId;

/// A replica's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lease {
    /// Bumped when the replica leaves.
    pub epoch: u32,
    /// Wall-clock milliseconds (of the owner) at which the lease ends.
    pub expires_at: u64,
}

/// The membership map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    leases: VecMap<ReplicaId, Lease>,
}

impl Membership {
    /// An empty membership.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renews `id`'s own lease until `now + lease_ms`.
    pub fn renew(&mut self, id: ReplicaId, now: u64, lease_ms: u64) {
        let l = self.leases.or_default(id);
        let renewed = Lease { epoch: l.epoch, expires_at: now + lease_ms };
        *l = (*l).max(renewed);
    }

    /// `id` leaves: a new epoch that expired at once.
    pub fn leave(&mut self, id: ReplicaId) {
        let l = self.leases.or_default(id);
        *l = Lease { epoch: l.epoch.saturating_add(1), expires_at: 0 };
    }

    /// Joins one gossiped entry; a lease further in the future than `max_ahead_ms` from the
    /// local clock is cut to that (a peer's clock may run fast).
    pub fn join_entry(&mut self, id: ReplicaId, lease: Lease, now: u64, max_ahead_ms: u64) {
        let lease = Lease { epoch: lease.epoch, expires_at: lease.expires_at.min(now.saturating_add(max_ahead_ms)) };
        let l = self.leases.or_default(id);
        *l = (*l).max(lease);
    }

    /// Joins a gossiped view (see [`Membership::join_entry`]) in one pass: entries in any
    /// order cost O(n log n) together, not a move of the table each.
    pub fn join_view(&mut self, view: impl IntoIterator<Item = (ReplicaId, Lease)>, now: u64, max_ahead_ms: u64) {
        let cap = now.saturating_add(max_ahead_ms);
        let mut fresh = Vec::new();
        for (id, lease) in view {
            let lease = Lease { epoch: lease.epoch, expires_at: lease.expires_at.min(cap) };
            match self.leases.get_mut(&id) {
                Some(l) => *l = (*l).max(lease),
                None => fresh.push((id, lease)),
            }
        }
        // In ascending order, the last entry of an id is its greatest lease, which extend keeps.
        crate::sort::sort(&mut fresh);
        self.leases.extend(fresh);
    }

    /// Whether `id` holds a lease that has not expired at `now`.
    pub fn is_live(&self, id: ReplicaId, now: u64) -> bool {
        self.leases.get(&id).is_some_and(|l| l.expires_at > now)
    }

    /// The live replicas at `now`.
    pub fn live(&self, now: u64) -> impl Iterator<Item = ReplicaId> + '_ {
        self.leases.iter().filter(move |(_, l)| l.expires_at > now).map(|(id, _)| *id)
    }

    /// The earliest expiry after `now` (when the live set may change next).
    pub fn next_expiry(&self, now: u64) -> Option<u64> {
        self.leases.values().map(|l| l.expires_at).filter(|&e| e > now).min()
    }

    /// Forgets entries that expired more than `grace_ms` ago.
    pub fn prune(&mut self, now: u64, grace_ms: u64) {
        self.leases.retain(|_, l| l.expires_at.saturating_add(grace_ms) > now);
    }

    /// The entries, for gossip.
    pub fn entries(&self) -> impl Iterator<Item = (ReplicaId, Lease)> + '_ {
        self.leases.iter().map(|(id, l)| (*id, *l))
    }

    /// Number of entries (live or recently expired).
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn gossip_converges_and_leave_wins_over_older_renewals() {
        let mut a = Membership::new();
        let mut b = Membership::new();
        a.renew(1, 0, 100);
        b.join_entry(1, Lease { epoch: 0, expires_at: 100 }, 0, 1000);
        a.leave(1);
        let left = a.entries().next().unwrap().1;
        b.join_entry(1, left, 10, 1000);
        b.join_entry(1, Lease { epoch: 0, expires_at: 500 }, 10, 1000); // a stale renewal arrives late
        assert!(!b.is_live(1, 10));
        assert_eq!(a, b);
    }

    #[test]
    fn leases_expire_and_are_pruned() {
        let mut m = Membership::new();
        m.renew(1, 0, 100);
        m.renew(2, 50, 100);
        assert_eq!(m.live(60).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(m.live(120).collect::<Vec<_>>(), vec![2]);
        assert_eq!(m.next_expiry(120), Some(150));
        m.prune(400, 200);
        assert!(m.is_empty());
    }

    proptest::proptest! {
        /// A view joined in one pass, in any order and with repeats, is the entries joined
        /// one by one.
        #[test]
        fn a_view_joins_as_its_entries_one_by_one(
            before in proptest::collection::vec((0u64..40, 0u32..3, 0u64..3_000), 0..30),
            view in proptest::collection::vec((0u64..40, 0u32..3, 0u64..3_000), 0..60),
        ) {
            let (mut one, mut all) = (Membership::new(), Membership::new());
            for &(id, epoch, expires_at) in &before {
                one.join_entry(id, Lease { epoch, expires_at }, 0, 2_000);
                all.join_entry(id, Lease { epoch, expires_at }, 0, 2_000);
            }
            for &(id, epoch, expires_at) in &view {
                one.join_entry(id, Lease { epoch, expires_at }, 500, 2_000);
            }
            all.join_view(view.iter().map(|&(id, epoch, expires_at)| (id, Lease { epoch, expires_at })), 500, 2_000);
            proptest::prop_assert_eq!(one, all);
        }
    }

    #[test]
    fn a_fast_clock_cannot_keep_a_replica_alive_for_long() {
        let mut m = Membership::new();
        m.join_entry(9, Lease { epoch: 0, expires_at: u64::MAX }, 1_000, 10_000);
        assert!(!m.is_live(9, 11_001));
    }
}
