//! The origin's side of the protocol, sans IO: it joins batches into its state, remembers
//! which batch ids it applied, acknowledges, and serves snapshots. The caller makes each
//! applied batch durable (see `js/origin/`) before it sends the acknowledgement.

use std::collections::{BTreeMap, BTreeSet};

use super::messages::{Batch, Message};
use crate::codec::{self, Blob};
use crate::crdt::{Key, ReplicaId};
use crate::error::{Error, Result};
use crate::store::{Limits, Store};

/// What handling one request produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginReply {
    /// The response bytes to return to the replica.
    pub response: Vec<u8>,
    /// The batch just applied (absent for snapshots and for a batch applied before).
    pub applied: Option<Applied>,
}

/// A batch the origin applied: persist these keys, the context and the id atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The idempotent batch id.
    pub id: String,
    /// The writer whose writes it carried.
    pub source: ReplicaId,
    /// Keys whose state changed.
    pub keys: Vec<Key>,
    /// Number of key deltas in the batch.
    pub deltas: usize,
}

/// The origin's merged state.
#[derive(Debug, Clone)]
pub struct Origin {
    store: Store,
    applied: BTreeSet<String>,
    marks: BTreeMap<ReplicaId, u64>,
}

impl Origin {
    /// An empty origin.
    pub fn new(limits: Limits) -> Origin {
        Origin { store: Store::with_limits(0, limits), applied: BTreeSet::new(), marks: BTreeMap::new() }
    }

    /// The merged keyspace (read it with [`Store::exec`] on a clone, or [`Store::get`]).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether a batch id was applied.
    pub fn was_applied(&self, id: &str) -> bool {
        self.applied.contains(id)
    }

    /// How far the origin holds each writer: every batch of it up to this mark was applied.
    pub fn marks(&self) -> &BTreeMap<ReplicaId, u64> {
        &self.marks
    }

    /// How far the origin holds `source`.
    pub fn mark(&self, source: ReplicaId) -> u64 {
        self.marks.get(&source).copied().unwrap_or(0)
    }

    /// Restores a mark (when loading from durable storage).
    pub fn restore_mark(&mut self, source: ReplicaId, mark: u64) {
        let m = self.marks.entry(source).or_default();
        *m = (*m).max(mark);
    }

    /// Records a batch id as applied (when loading from durable storage).
    pub fn mark_applied(&mut self, id: String) {
        self.applied.insert(id);
    }

    /// Restores one row of durable storage (a [`Origin::row`] or the [`Origin::context_row`]),
    /// in any order.
    pub fn restore(&mut self, row: &[u8]) -> Result<()> {
        self.store.load_fragment(row)
    }

    /// A snapshot of the keys starting with `prefix` (for a replica loading a part of the
    /// keyspace into an empty store). It carries no marks: it is not the whole state.
    pub fn prefix_snapshot_message(&self, prefix: &[u8]) -> Vec<u8> {
        Message::Snapshot { state: self.store.prefix_state(prefix), marks: Vec::new() }.encode()
    }

    /// Handles one request from a replica. Invalid bytes are an error and change nothing.
    pub fn handle(&mut self, bytes: &[u8]) -> Result<OriginReply> {
        match Message::decode(bytes)? {
            Message::Batch(b) => self.apply(b),
            Message::SnapshotRequest { .. } => Ok(OriginReply { response: self.snapshot_message(), applied: None }),
            Message::MarksRequest { .. } => {
                let marks = self.marks.iter().map(|(&s, &m)| (s, m)).collect();
                Ok(OriginReply { response: Message::Marks { marks }.encode(), applied: None })
            }
            _ => Err(Error::Invalid("the origin accepts batches, snapshot and marks requests only".into())),
        }
    }

    fn apply(&mut self, b: Batch) -> Result<OriginReply> {
        let id = b.id();
        // Decode (validate) everything before touching the state.
        let frame = codec::GroupFrame { source: b.source, lo: b.lo, hi: b.hi };
        let blob = codec::decode_framed(&b.delta, frame, self.store.limits().decode())?;
        let mut applied = None;
        // Causal merging: a delta batch joins only on top of every earlier write of its source
        // (the answer's `vv` below `lo` tells the shipper where to resume).
        let joinable = matches!(blob, Blob::State(_)) || b.lo <= self.mark(b.source);
        if joinable && !self.applied.contains(&id) {
            let keys: Vec<Key> = match &blob {
                Blob::Delta(d) | Blob::State(d) => d.store.iter().map(|(k, _)| k.clone()).collect(),
            };
            let deltas = keys.len();
            match &blob {
                Blob::Delta(d) => self.store.join_delta(d),
                Blob::State(s) => self.store.join_state(s),
            }
            self.applied.insert(id.clone());
            self.restore_mark(b.source, b.hi);
            applied = Some(Applied { id, source: b.source, keys, deltas });
        }
        let vv = self.mark(b.source);
        let response = Message::BatchAck { source: b.source, lo: b.lo, hi: b.hi, vv }.encode();
        Ok(OriginReply { response, applied })
    }

    /// The snapshot response: the whole state and how far the origin holds each source.
    pub fn snapshot_message(&self) -> Vec<u8> {
        let marks = self.marks.iter().map(|(&s, &m)| (s, m)).collect();
        Message::Snapshot { state: self.store.snapshot(), marks }.encode()
    }

    /// The state of one key as a standalone encoded state (a row of durable storage), or
    /// `None` if the key holds nothing.
    pub fn row(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.store.key_state(key)
    }

    /// The context alone, encoded as an empty state (the context row of durable storage).
    pub fn context_row(&self) -> Vec<u8> {
        self.store.context_state()
    }
}
