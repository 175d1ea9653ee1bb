//! Contract: a replica whose connection was down (a Worker between requests, a container
//! frozen past the relay's patience) catches up with `resync` in one round trip to one
//! connected peer, and its session does not end before that peer answered.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/pair.rs"]
mod pair;

use castamere::sync::{Config, Destination, Replica};
use castamere::Reply;
use pair::{deliver, drop_all, last_synced, run_pair, views};

fn synced(r: &mut Replica) -> Option<(usize, bool)> {
    last_synced(r).map(|(peers, _, complete)| (peers, complete))
}

/// Two replicas that met, then `b` lost its connection while `a` kept writing.
fn pair_with_b_away() -> (Replica, Replica, u64) {
    let mut a = Replica::new(1, Config::default());
    let mut b = Replica::new(2, Config::default());
    a.start(0);
    b.start(0);
    let mut now = run_pair(&mut a, &mut b, 0, 500, 5);
    a.exec(now, &[b"INCRBY", b"views", b"2"]).expect("write");
    now = run_pair(&mut a, &mut b, now, 1_000, 5);
    assert_eq!(views(&b), Reply::Int(2));
    // b goes away (its socket is closed); a writes and its groups reach nobody.
    for _ in 0..40 {
        a.exec(now, &[b"INCR", b"views"]).expect("write");
        a.handle_timeout(now);
        drop_all(&mut a);
        now += 1;
    }
    synced(&mut b);
    (a, b, now)
}

#[test]
fn a_resync_catches_up_in_one_round_trip_to_one_peer() {
    let (mut a, mut b, now) = pair_with_b_away();
    assert_eq!(views(&b), Reply::Int(2), "b missed a's latest writes");
    b.resync(now, 60, &[1]);
    assert_eq!(synced(&mut b), None, "the session waits for the asked peer");
    assert_eq!(deliver(&mut b, &mut a, now), 1, "one request");
    assert_eq!(deliver(&mut a, &mut b, now + 1), 1, "one reply");
    assert_eq!(views(&b), Reply::Int(42));
    assert_eq!(synced(&mut b), Some((1, true)));
}

#[test]
fn a_plain_sync_after_the_same_absence_does_not_know_what_it_missed() {
    // The reason resync exists: a warm session asks only when it knows it lacks something.
    let (mut a, mut b, now) = pair_with_b_away();
    b.sync(now, 60);
    let mut t = now;
    while b.is_syncing() {
        t += 1;
        b.handle_timeout(t);
        deliver(&mut b, &mut a, t);
        a.handle_timeout(t);
        drop_all(&mut a); // a's periodic traffic does not reach b within the budget
    }
    assert_eq!(views(&b), Reply::Int(2));
}

#[test]
fn a_resync_waits_for_a_peer_that_is_not_yet_a_member_and_ends_at_the_budget() {
    let (mut a, mut b, now) = pair_with_b_away();
    // A connected replica b has never heard of: the session waits for it, not for a.
    b.resync(now, 60, &[99]);
    drop_all(&mut b);
    for t in now..now + 59 {
        b.handle_timeout(t);
        assert_eq!(synced(&mut b), None, "ended early at t={t}");
    }
    b.handle_timeout(now + 60);
    assert_eq!(synced(&mut b), Some((0, false)));
    // With no connected peer it is a plain warm session (which ends at once: nothing known missing).
    b.resync(now + 61, 60, &[]);
    let mut t = now + 61;
    while b.is_syncing() {
        t += 1;
        b.handle_timeout(t);
    }
    assert!(t <= now + 61 + 60);
    drop_all(&mut a);
}

#[test]
fn a_resync_prefers_the_live_peer_heard_most_recently() {
    let (mut a, mut b, now) = pair_with_b_away();
    b.resync(now, 60, &[7, 1, 2]);
    let asked: Vec<Destination> = std::iter::from_fn(|| b.poll_transmit()).map(|t| t.destination).collect();
    assert_eq!(asked, vec![Destination::Peer(1)], "b asks only a (live, heard from), not itself or strangers");
    drop_all(&mut a);
}

#[test]
fn a_warm_session_settles_when_its_echo_comes_back() {
    let (mut a, mut b, now) = pair_with_b_away();
    drop_all(&mut a);
    b.sync(now, 60);
    let out: Vec<_> = std::iter::from_fn(|| b.poll_transmit()).collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].destination, Destination::Peer(2), "the echo goes to b itself");
    // Before the echo is back the session waits (what the relay buffered may still come).
    b.handle_timeout(now + 20);
    assert_eq!(synced(&mut b), None);
    // Someone else's echo, or a stale one, changes nothing.
    let forged = castamere::sync::Message::Echo { from: 1, nonce: 7 }.encode();
    b.handle_message(now + 21, &forged).expect("valid bytes");
    assert_eq!(synced(&mut b), None);
    // Back through the relay: the session ends at once (b knows of nothing it lacks).
    b.handle_message(now + 22, &out[0].payload).expect("own echo");
    assert_eq!(synced(&mut b), Some((0, true)));
}

#[test]
fn without_its_echo_a_warm_session_settles_at_half_its_budget() {
    let (_a, mut b, now) = pair_with_b_away();
    b.sync(now, 60);
    drop_all(&mut b);
    b.handle_timeout(now + 29);
    assert_eq!(synced(&mut b), None);
    b.handle_timeout(now + 30);
    assert_eq!(synced(&mut b), Some((0, true)));
}
