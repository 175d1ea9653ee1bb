//! Replica ids and dots: the unique name of one event at one replica.

use std::fmt;

/// The id of a replica. Chosen by the caller (the JS shim draws it at random on every cold
/// start); the core never generates one. Replica ids must never be reused.
pub type ReplicaId = u64;

/// A dot `(replica, seq)`: the `seq`-th event created by `replica`, counting from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dot {
    /// The replica that created the event.
    pub replica: ReplicaId,
    /// Its sequence number at that replica, from 1.
    pub seq: u64,
}

impl Dot {
    /// The dot `(replica, seq)`.
    pub const fn new(replica: ReplicaId, seq: u64) -> Dot {
        Dot { replica, seq }
    }
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}:{}", self.replica, self.seq)
    }
}
