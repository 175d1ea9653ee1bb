//! Helpers for tests that wire replicas by hand: a lossless, instant relay between two.
#![allow(dead_code)]

use castamere::sync::{Destination, Replica};

/// Moves every transmit of `from` to `to` (through the relay), dropping origin traffic and
/// messages addressed to anyone else (a replica's echo to itself among them); returns how many
/// messages went.
pub fn deliver(from: &mut Replica, to: &mut Replica, now: u64) -> usize {
    let mut n = 0;
    while let Some(t) = from.poll_transmit() {
        match t.destination {
            Destination::Origin => {}
            Destination::Peer(p) if p != to.id() => {}
            _ => {
                to.handle_message(now, &t.payload).expect("honest bytes");
                n += 1;
            }
        }
    }
    n
}

/// Drops everything `r` wants to send (its connection is down).
pub fn drop_all(r: &mut Replica) {
    while r.poll_transmit().is_some() {}
}
