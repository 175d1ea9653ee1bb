//! Helpers for tests that wire replicas by hand: a lossless, instant relay between two.
#![allow(dead_code)]

use castamere::sync::{Destination, Event, Replica};
use castamere::Reply;

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

/// Runs `a` and `b` connected from `now` until `until`, in steps of `step` ms: each step fires
/// their timers and delivers both ways. Returns the time reached.
pub fn run_pair(a: &mut Replica, b: &mut Replica, mut now: u64, until: u64, step: u64) -> u64 {
    while now < until {
        a.handle_timeout(now);
        b.handle_timeout(now);
        deliver(a, b, now);
        deliver(b, a, now);
        now += step;
    }
    now
}

/// The last `Synced` among `r`'s pending events, as `(peers, from_origin, complete)`; the
/// events are consumed.
pub fn last_synced(r: &mut Replica) -> Option<(usize, bool, bool)> {
    let mut out = None;
    while let Some(e) = r.poll_event() {
        if let Event::Synced { peers, from_origin, complete } = e {
            out = Some((peers, from_origin, complete));
        }
    }
    out
}

/// `GET views` on `r`.
pub fn views(r: &Replica) -> Reply {
    r.store().exec_read(&[b"GET", b"views"]).expect("GET")
}
