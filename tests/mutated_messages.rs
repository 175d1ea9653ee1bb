//! Real messages, mutated: the bytes of a region of replicas and an origin at work (deltas,
//! groups, acknowledgements, membership, snapshots, batches, origin replies, stored rows) with
//! bits flipped, bytes changed, inserted and cut, and pieces of two messages spliced. Random
//! bytes rarely get past a message's first checks; these reach deep into the decoders. No input
//! may panic (on wasm a panic kills the replica), and one that is refused changes nothing.
//!
//! `MUTATION_ROUNDS=n cargo test --release --test mutated_messages` runs n mutations of each
//! message (300 by default).
#[path = "support/sim.rs"]
mod sim;

use castamere::sync::{Config, Destination, Origin, Replica};
use castamere::{Limits, Store};
use sim::Rng;

const WORDS: &[&str] = &[
    "INCRBY views 3",
    "INCRBY views -1",
    "SET page:ned Winter",
    "SET page:ned Summer",
    "SADD watchers arya",
    "SADD watchers sansa",
    "SREM watchers arya",
    "HSET page:jon body Ghost",
    "HINCRBY page:jon edits 2",
    "HDEL page:jon body",
    "DEL page:ned",
    "FLAG.ENABLE live",
    "FLAG.DISABLE live",
    "MSET a 1 b 2",
    "INCRBY counter:with:a:long:name:over:sixty:four:bytes:so:it:is:not:inline:0123 5",
];

/// Every message a region of three replicas and an origin sends one another over a short
/// workload, and the origin's stored rows and snapshots.
fn corpus() -> Vec<Vec<u8>> {
    let mut rng = Rng::new(7);
    let mut replicas: Vec<Replica> = (1..=3).map(|id| Replica::new(id, Config::default())).collect();
    let mut origin = Origin::new(Limits::default());
    let mut seen = Vec::new();
    let mut now = 1_000;
    for r in &mut replicas {
        r.start(now);
    }
    for step in 0..60 {
        now += 7;
        let i = rng.below(3) as usize;
        let cmd = WORDS[rng.below(WORDS.len() as u64) as usize];
        let args: Vec<&[u8]> = cmd.split(' ').map(str::as_bytes).collect();
        replicas[i].exec(now, &args).expect("a valid command");
        if step % 5 == 0 {
            replicas[i].flush_origin(now);
        }
        for r in &mut replicas {
            r.handle_timeout(now);
        }
        // Deliver everything sent until nothing is left.
        loop {
            let mut out = Vec::new();
            for (from, r) in replicas.iter_mut().enumerate() {
                while let Some(t) = r.poll_transmit() {
                    out.push((from, t));
                }
            }
            if out.is_empty() {
                break;
            }
            for (from, t) in out {
                seen.push(t.payload.clone());
                match t.destination {
                    Destination::Region | Destination::Membership => {
                        for (to, r) in replicas.iter_mut().enumerate() {
                            if to != from {
                                let _ = r.handle_message(now, &t.payload);
                            }
                        }
                    }
                    Destination::Peer(id) => {
                        if let Some(r) = replicas.get_mut(id as usize - 1) {
                            let _ = r.handle_message(now, &t.payload);
                        }
                    }
                    Destination::Origin => {
                        if let Ok(reply) = origin.handle(&t.payload) {
                            seen.push(reply.response.clone());
                            let _ = replicas[from].handle_message(now, &reply.response);
                        }
                    }
                }
            }
        }
    }
    seen.push(origin.snapshot_message());
    seen.push(origin.prefix_snapshot_message(b"page:"));
    seen.push(origin.context_row());
    for key in ["views", "page:ned", "watchers", "page:jon", "live", "a"] {
        if let Some(row) = origin.row(key.as_bytes()) {
            seen.push(row);
        }
    }
    seen.push(replicas[0].store().snapshot());
    seen.sort();
    seen.dedup();
    seen
}

/// `bytes` changed in one to four ways, some of them taken from `other`.
fn mutate(rng: &mut Rng, bytes: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..rng.range(1, 4) {
        let at = rng.below(b.len() as u64 + 1) as usize;
        match rng.below(7) {
            0 if at < b.len() => b[at] ^= 1 << rng.below(8),
            1 if at < b.len() => b[at] = rng.next() as u8,
            // Boundary values, where lengths and counts overflow.
            2 if at < b.len() => b[at] = [0x00, 0x01, 0x7f, 0x80, 0xff][rng.below(5) as usize],
            3 => b.insert(at, rng.next() as u8),
            4 if at < b.len() => {
                b.remove(at);
            }
            5 => b.truncate(at),
            _ => {
                let from = rng.below(other.len() as u64 + 1) as usize;
                let len = rng.below(16) as usize;
                let piece = &other[from..(from + len).min(other.len())];
                b.splice(at..at, piece.iter().copied());
            }
        }
    }
    b
}

fn rounds() -> u64 {
    std::env::var("MUTATION_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(300)
}

/// A replica with a state of every type, started, as mutated messages find it.
fn target() -> Replica {
    let mut r = Replica::new(9, Config::default());
    r.start(1_000);
    for cmd in WORDS {
        let args: Vec<&[u8]> = cmd.split(' ').map(str::as_bytes).collect();
        r.exec(1_001, &args).expect("a valid command");
    }
    while r.poll_transmit().is_some() {}
    r
}

/// Runs `$input` on a state read by `$state`: `Err` must leave the state as it was. Evaluates
/// to whether `$input` was accepted.
macro_rules! refused_changes_nothing {
    ($state:expr, $input:expr, $what:expr) => {{
        let before = $state;
        let accepted = $input.is_ok();
        if !accepted {
            assert_eq!($state, before, "{}", $what);
        }
        accepted
    }};
}

#[test]
fn mutated_messages_never_panic_and_a_refused_one_changes_nothing() {
    let corpus = corpus();
    assert!(corpus.len() > 30, "the workload made {} distinct messages", corpus.len());
    let mut rng = Rng::new(11);
    let mut replica = target();
    let mut origin = Origin::new(Limits::default());
    let (mut refused, mut accepted) = (0u64, 0u64);
    for _ in 0..rounds() {
        for (n, msg) in corpus.iter().enumerate() {
            let other = &corpus[rng.below(corpus.len() as u64) as usize];
            let bytes = mutate(&mut rng, msg, other);
            let label = format!("message {n}, mutated to {bytes:02x?}");

            let what = |whom: &str| format!("a refused {label} changed {whom}");
            if refused_changes_nothing!(
                replica.store().snapshot(),
                replica.handle_message(2_000, &bytes),
                what("the replica")
            ) {
                accepted += 1;
            } else {
                refused += 1;
            }
            while replica.poll_transmit().is_some() {}
            while replica.poll_event().is_some() {}

            refused_changes_nothing!(origin.snapshot_message(), origin.handle(&bytes), what("the origin"));
            refused_changes_nothing!(origin.snapshot_message(), origin.restore(&bytes), what("the origin's rows"));

            let mut store = Store::new(3);
            store.incr_by(b"views", 1).expect("a counter");
            refused_changes_nothing!(store.snapshot(), store.apply(&bytes), what("a store, as deltas"));
            refused_changes_nothing!(store.snapshot(), store.load_fragment(&bytes), what("a store, as a fragment"));
        }
    }
    eprintln!("{} messages x {} mutations: the replica refused {refused}, accepted {accepted}", corpus.len(), rounds());
    // Both outcomes happen: the mutations are neither all harmless nor all fatal to parsing.
    assert!(refused > 0 && accepted > 0, "refused {refused}, accepted {accepted}");
}
