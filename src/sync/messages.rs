//! The sync protocol's messages and their wire format (version 1). Every message starts with
//! `0xC7` and a type byte; decoding validates like the codec does and never panics.

use crate::codec::{DecodeError, Reader, Writer};
use crate::crdt::ReplicaId;

/// First byte of every sync message.
pub const MAGIC_MESSAGE: u8 = 0xC7;

/// A `(replica, seq)` watermark: "everything of `replica` up to `seq`".
pub type Mark = (ReplicaId, u64);

/// One delta-group of a replica's own writes, covering its dots `lo+1..=hi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deltas {
    /// The writer.
    pub from: ReplicaId,
    /// The group covers the writer's dots after `lo`...
    pub lo: u64,
    /// ...up to `hi`.
    pub hi: u64,
    /// The writer waits for acknowledgements (a write concern or a handoff): ack at once.
    pub urgent: bool,
    /// The writer's acknowledgements that changed since it last sent them.
    pub acks: Vec<Mark>,
    /// The encoded delta.
    pub delta: Vec<u8>,
}

/// A delta-group inside a sync reply: the writer's dots `lo+1..=hi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupData {
    /// The writer.
    pub source: ReplicaId,
    /// The group covers the writer's dots after `lo`...
    pub lo: u64,
    /// ...up to `hi`.
    pub hi: u64,
    /// The encoded delta.
    pub delta: Vec<u8>,
}

/// Membership heartbeat: the sender's lease, its view, and what it knows the origin holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The sender.
    pub from: ReplicaId,
    /// The sender's view of the membership: `(replica, epoch, lease expiry)`.
    pub view: Vec<(ReplicaId, u32, u64)>,
    /// Per source, how far the origin is known to hold it.
    pub origin: Vec<Mark>,
    /// Per source, how far the sender holds it (contiguous prefix), for repair and adoption.
    pub holds: Vec<Mark>,
    /// A hash of the sender's context for sources outside its live view.
    pub rest_hash: u64,
}

/// A batch of writes for the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Who sends it (the writer, or a peer that adopted a departed writer's deltas).
    pub shipper: ReplicaId,
    /// Whose writes it carries.
    pub source: ReplicaId,
    /// It covers the source's dots after `lo`...
    pub lo: u64,
    /// ...up to `hi`.
    pub hi: u64,
    /// An encoded delta, or a full state when the shipper could not isolate the source.
    pub delta: Vec<u8>,
}

impl Batch {
    /// The idempotent batch id: the same writes always get the same id.
    pub fn id(&self) -> String {
        format!("{:x}:{}-{}", self.source, self.lo, self.hi)
    }
}

/// A sync protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Message {
    /// Region broadcast (or a direct retransmission) of a delta-group.
    Deltas(Deltas),
    /// Acknowledgements without a delta.
    Acks { from: ReplicaId, acks: Vec<Mark> },
    /// Membership heartbeat.
    Heartbeat(Heartbeat),
    /// "Here is how far I hold each writer; send me what I miss" (bootstrap and repair).
    SyncRequest { from: ReplicaId, nonce: u64, marks: Vec<Mark>, want_data: bool },
    /// The answer: how far the responder holds each writer, and what the requester misses,
    /// as delta-groups or as a full state (or nothing, when it only reports its marks).
    SyncReply { from: ReplicaId, nonce: u64, marks: Vec<Mark>, groups: Vec<GroupData>, state: Option<Vec<u8>> },
    /// "I miss your writes after `after`": ask the writer to resend.
    Nack { from: ReplicaId, source: ReplicaId, after: u64 },
    /// To the origin: a batch of writes.
    Batch(Batch),
    /// From the origin: the batch is durable; `vv` is how far the origin holds the source.
    BatchAck { source: ReplicaId, lo: u64, hi: u64, vv: u64 },
    /// To the origin: "send me a snapshot" (cold start with no live peer).
    SnapshotRequest { from: ReplicaId },
    /// From the origin: its whole state and how far it holds each source.
    Snapshot { state: Vec<u8>, marks: Vec<Mark> },
    /// To the origin: "how far do you hold each writer?"
    MarksRequest { from: ReplicaId },
    /// From the origin: how far it holds each writer.
    Marks { marks: Vec<Mark> },
    /// A replica to itself through the relay: when it comes back, everything the relay sent
    /// before it has arrived (a thawed container's buffered traffic, say).
    Echo { from: ReplicaId, nonce: u64 },
}

fn write_marks(w: &mut Writer, marks: &[Mark]) {
    w.varint(marks.len() as u64);
    for (r, s) in marks {
        w.varint(*r);
        w.varint(*s);
    }
}

fn read_marks(r: &mut Reader<'_>) -> Result<Vec<Mark>, DecodeError> {
    let n = r.count(2)?;
    let mut v = Vec::with_capacity(n.min(256));
    for _ in 0..n {
        v.push((r.varint()?, r.varint()?));
    }
    Ok(v)
}

impl Message {
    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(MAGIC_MESSAGE);
        match self {
            Message::Deltas(d) => {
                w.u8(1);
                w.varint(d.from);
                w.varint(d.lo);
                w.varint(d.hi);
                w.u8(u8::from(d.urgent));
                write_marks(&mut w, &d.acks);
                w.bytes(&d.delta);
            }
            Message::Acks { from, acks } => {
                w.u8(2);
                w.varint(*from);
                write_marks(&mut w, acks);
            }
            Message::Heartbeat(h) => {
                w.u8(3);
                w.varint(h.from);
                w.varint(h.view.len() as u64);
                for (r, epoch, exp) in &h.view {
                    w.varint(*r);
                    w.varint(u64::from(*epoch));
                    w.varint(*exp);
                }
                write_marks(&mut w, &h.origin);
                write_marks(&mut w, &h.holds);
                w.varint(h.rest_hash);
            }
            Message::SyncRequest { from, nonce, marks, want_data } => {
                w.u8(4);
                w.varint(*from);
                w.varint(*nonce);
                w.u8(u8::from(*want_data));
                write_marks(&mut w, marks);
            }
            Message::SyncReply { from, nonce, marks, groups, state } => {
                w.u8(5);
                w.varint(*from);
                w.varint(*nonce);
                write_marks(&mut w, marks);
                w.varint(groups.len() as u64);
                for g in groups {
                    w.varint(g.source);
                    w.varint(g.lo);
                    w.varint(g.hi);
                    w.bytes(&g.delta);
                }
                match state {
                    Some(s) => {
                        w.u8(1);
                        w.bytes(s);
                    }
                    None => w.u8(0),
                }
            }
            Message::Nack { from, source, after } => {
                w.u8(6);
                w.varint(*from);
                w.varint(*source);
                w.varint(*after);
            }
            Message::Batch(b) => {
                w.u8(7);
                w.varint(b.shipper);
                w.varint(b.source);
                w.varint(b.lo);
                w.varint(b.hi);
                w.bytes(&b.delta);
            }
            Message::BatchAck { source, lo, hi, vv } => {
                w.u8(8);
                w.varint(*source);
                w.varint(*lo);
                w.varint(*hi);
                w.varint(*vv);
            }
            Message::SnapshotRequest { from } => {
                w.u8(9);
                w.varint(*from);
            }
            Message::Snapshot { state, marks } => {
                w.u8(10);
                w.bytes(state);
                write_marks(&mut w, marks);
            }
            Message::MarksRequest { from } => {
                w.u8(11);
                w.varint(*from);
            }
            Message::Marks { marks } => {
                w.u8(12);
                write_marks(&mut w, marks);
            }
            Message::Echo { from, nonce } => {
                w.u8(13);
                w.varint(*from);
                w.varint(*nonce);
            }
        }
        w.buf
    }

    /// Decodes a message from untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader::new(bytes);
        let magic = r.u8()?;
        if magic != MAGIC_MESSAGE {
            return Err(DecodeError::Version(magic));
        }
        let max = bytes.len();
        let m = match r.u8()? {
            1 => {
                let (from, lo, hi) = (r.varint()?, r.varint()?, r.varint()?);
                if lo >= hi {
                    return Err(DecodeError::Invalid("delta-group with an empty range"));
                }
                let urgent = match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(DecodeError::Invalid("flag other than 0 or 1")),
                };
                let acks = read_marks(&mut r)?;
                let delta = r.bytes("delta", max)?.to_vec();
                Message::Deltas(Deltas { from, lo, hi, urgent, acks, delta })
            }
            2 => Message::Acks { from: r.varint()?, acks: read_marks(&mut r)? },
            3 => {
                let from = r.varint()?;
                let n = r.count(3)?;
                let mut view = Vec::with_capacity(n.min(256));
                for _ in 0..n {
                    let id = r.varint()?;
                    let epoch = u32::try_from(r.varint()?).map_err(|_| DecodeError::Invalid("epoch beyond 32 bits"))?;
                    view.push((id, epoch, r.varint()?));
                }
                let origin = read_marks(&mut r)?;
                let holds = read_marks(&mut r)?;
                let rest_hash = r.varint()?;
                Message::Heartbeat(Heartbeat { from, view, origin, holds, rest_hash })
            }
            4 => {
                let from = r.varint()?;
                let nonce = r.varint()?;
                let want_data = match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(DecodeError::Invalid("flag other than 0 or 1")),
                };
                Message::SyncRequest { from, nonce, want_data, marks: read_marks(&mut r)? }
            }
            5 => {
                let from = r.varint()?;
                let nonce = r.varint()?;
                let marks = read_marks(&mut r)?;
                let n = r.count(4)?;
                let mut groups = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    let (source, lo, hi) = (r.varint()?, r.varint()?, r.varint()?);
                    if lo >= hi {
                        return Err(DecodeError::Invalid("delta-group with an empty range"));
                    }
                    groups.push(GroupData { source, lo, hi, delta: r.bytes("delta", max)?.to_vec() });
                }
                let state = match r.u8()? {
                    0 => None,
                    1 => Some(r.bytes("state", max)?.to_vec()),
                    _ => return Err(DecodeError::Invalid("flag other than 0 or 1")),
                };
                Message::SyncReply { from, nonce, marks, groups, state }
            }
            6 => Message::Nack { from: r.varint()?, source: r.varint()?, after: r.varint()? },
            7 => {
                let (shipper, source, lo, hi) = (r.varint()?, r.varint()?, r.varint()?, r.varint()?);
                if lo >= hi {
                    return Err(DecodeError::Invalid("batch with an empty range"));
                }
                let delta = r.bytes("batch", max)?.to_vec();
                Message::Batch(Batch { shipper, source, lo, hi, delta })
            }
            8 => Message::BatchAck { source: r.varint()?, lo: r.varint()?, hi: r.varint()?, vv: r.varint()? },
            9 => Message::SnapshotRequest { from: r.varint()? },
            10 => {
                let state = r.bytes("snapshot", max)?.to_vec();
                Message::Snapshot { state, marks: read_marks(&mut r)? }
            }
            11 => Message::MarksRequest { from: r.varint()? },
            12 => Message::Marks { marks: read_marks(&mut r)? },
            13 => Message::Echo { from: r.varint()?, nonce: r.varint()? },
            _ => return Err(DecodeError::Invalid("unknown message type")),
        };
        if !r.is_empty() {
            return Err(DecodeError::Invalid("trailing bytes after the message"));
        }
        Ok(m)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_message_round_trips() {
        let msgs = vec![
            Message::Deltas(Deltas {
                from: 1,
                lo: 3,
                hi: 9,
                urgent: true,
                acks: vec![(2, 5)],
                delta: vec![0xC1, 0, 0, 0],
            }),
            Message::Acks { from: 1, acks: vec![(2, 5), (3, 1)] },
            Message::Heartbeat(Heartbeat {
                from: 1,
                view: vec![(1, 0, 99), (2, 3, 100)],
                origin: vec![(1, 4)],
                holds: vec![(2, 8)],
                rest_hash: u64::MAX,
            }),
            Message::SyncRequest { from: 1, nonce: 42, marks: vec![(7, 10)], want_data: true },
            Message::SyncReply {
                from: 2,
                nonce: 42,
                marks: vec![(1, 3)],
                groups: vec![GroupData { source: 1, lo: 0, hi: 3, delta: vec![1, 2] }],
                state: Some(vec![0xC2]),
            },
            Message::SyncReply { from: 2, nonce: 0, marks: vec![], groups: vec![], state: None },
            Message::Nack { from: 1, source: 2, after: 17 },
            Message::Batch(Batch { shipper: 1, source: 2, lo: 0, hi: 5, delta: vec![9] }),
            Message::BatchAck { source: 2, lo: 0, hi: 5, vv: 5 },
            Message::SnapshotRequest { from: 3 },
            Message::Snapshot { state: vec![0xC2], marks: vec![(1, 2)] },
            Message::MarksRequest { from: 4 },
            Message::Marks { marks: vec![(1, 2), (3, 4)] },
            Message::Echo { from: 5, nonce: u64::MAX },
        ];
        for m in msgs {
            let b = m.encode();
            assert_eq!(Message::decode(&b).unwrap(), m);
            for cut in 0..b.len() {
                assert!(Message::decode(&b[..cut]).is_err());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..120), t in 0u8..14) {
            let _ = Message::decode(&bytes);
            bytes.splice(0..0, [MAGIC_MESSAGE, t]);
            let _ = Message::decode(&bytes);
        }
    }
}
