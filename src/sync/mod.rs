//! Replication: a sans-IO replica state machine, its messages, membership, and the origin.
//!
//! There is no networking, no clock and no randomness here. A [`Replica`] takes bytes and the
//! time from its caller and hands back bytes with a [`Destination`], a deadline and
//! [`Event`]s. The JS shim moves the bytes over a WebSocket to the regional relay and over
//! HTTP to the origin; the deterministic simulator in `tests/sim` moves them through a
//! virtual network instead.
//!
//! - **Delta-groups.** Local writes are joined into the store's outgoing buffer and sealed
//!   every `delta_interval_ms` into a delta-group covering the writer's dots `lo+1..=hi`,
//!   broadcast once to the region. The relay gives every replica a direct path to every
//!   other, so only the writer ever sends its groups: a received group is never sent back
//!   (nor on), which is back-propagation avoidance taken to its limit, and acknowledgements
//!   are per peer and per source (a version vector entry), piggybacked on groups, acks and
//!   heartbeats.
//! - **Retransmission and repair.** A peer whose acknowledgement lags gets the missing groups
//!   again, directly; a gap is reported with a `Nack`. A replica that is too far behind (or
//!   started cold) asks with its causal context and gets the missing groups when the
//!   responder still holds them all, else a full state — whichever is smaller.
//! - **Membership.** Leases in a CRDT map, renewed by heartbeats on the membership topic.
//! - **Origin batches.** Sealed groups are joined again into one batch per
//!   `origin_interval_ms` (a thousand increments of a counter are one delta), sent with an
//!   idempotent id and retried until acknowledged. When a writer's lease expires before the
//!   origin has its writes, the live replica that holds the most of them (ties broken by
//!   rendezvous hashing, so all agree) ships them.
//!
//! Two replicas through a lossless, instant "relay", on a virtual clock:
//!
//! ```
//! use castamere::sync::{Config, Destination, Replica};
//! use castamere::Reply;
//!
//! fn deliver(from: &mut Replica, to: &mut Replica, now: u64) {
//!     while let Some(t) = from.poll_transmit() {
//!         if t.destination != Destination::Origin {
//!             to.handle_message(now, &t.payload).unwrap();
//!         }
//!     }
//! }
//!
//! let mut a = Replica::new(1, Config::default());
//! let mut b = Replica::new(2, Config::default());
//! a.start(0);
//! b.start(0);
//! a.exec(0, &[b"INCRBY", b"views", b"5"]).unwrap();
//! for now in (0..1_000).step_by(5) {
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//!     deliver(&mut a, &mut b, now);
//!     deliver(&mut b, &mut a, now);
//! }
//! assert_eq!(b.store().exec_read(&[b"GET", b"views"]).unwrap(), Reply::Int(5));
//! assert_eq!(a.region_acked(), 1); // b holds a's write: it survives a's crash
//! ```

mod held;
mod membership;
mod messages;
mod origin;
mod replica;

pub use membership::{Lease, Membership};
pub use messages::{Batch, Deltas, GroupData, Heartbeat, Mark, Message, MAGIC_MESSAGE};
pub use origin::{Applied, Origin, OriginReply};
pub use replica::{Config, Destination, Event, Level, Replica, Stats, Transmit};
