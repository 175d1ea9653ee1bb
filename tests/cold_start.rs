//! Contract: a cold replica asks the region first and the origin only when no peer answered
//! within half its budget; told that no other replica is connected (`alone`), it asks the
//! origin at once and ends as soon as the snapshot is in, or, without an origin, ends at once.
//! Without an origin and without that word, it ends at its budget.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/pair.rs"]
mod pair;

use castamere::store::Limits;
use castamere::sync::{Config, Destination, Origin, Replica};
use castamere::Reply;
use pair::{deliver, drop_all, last_synced as synced, run_pair, views};

const BUDGET: u64 = 300;

fn cold(id: u64) -> Replica {
    Replica::new(id, Config { bootstrap_budget_ms: BUDGET, ..Config::default() })
}

/// An origin that holds `views = 7`, written by replica 50.
fn origin_with_views() -> Origin {
    let mut origin = Origin::new(Limits::default());
    let mut w = Replica::new(50, Config::default());
    w.start(0);
    for _ in 0..7 {
        w.exec(1, &[b"INCR", b"views"]).expect("write");
    }
    w.flush_origin(2);
    let mut batches = 0;
    while let Some(t) = w.poll_transmit() {
        if t.destination == Destination::Origin {
            origin.handle(&t.payload).expect("batch");
            batches += 1;
        }
    }
    assert_eq!(batches, 1);
    origin
}

/// Hands each of `r`'s requests to the origin and its answers back; returns how many went.
fn serve(r: &mut Replica, origin: &mut Origin, now: u64) -> usize {
    let mut n = 0;
    let mut requests = Vec::new();
    while let Some(t) = r.poll_transmit() {
        if t.destination == Destination::Origin {
            requests.push(t.payload);
        }
    }
    for p in requests {
        let reply = origin.handle(&p).expect("honest request");
        r.handle_message(now, &reply.response).expect("honest reply");
        n += 1;
    }
    n
}

#[test]
fn without_word_from_the_transport_the_origin_is_asked_at_half_the_budget() {
    let mut origin = origin_with_views();
    let mut r = cold(1);
    r.start(0);
    let mut now = 0;
    let mut asked_at = None;
    while now <= BUDGET && asked_at.is_none() {
        r.handle_timeout(now);
        if serve(&mut r, &mut origin, now) > 0 {
            asked_at = Some(now);
        }
        now += 1;
    }
    assert_eq!(asked_at, Some(BUDGET / 2));
    assert_eq!(synced(&mut r), Some((0, true, true)));
    assert_eq!(views(&r), Reply::Int(7));
}

#[test]
fn alone_in_the_region_a_cold_start_asks_the_origin_at_once_and_ends_with_its_answer() {
    let mut origin = origin_with_views();
    let mut r = cold(1);
    r.start(0);
    assert_eq!(serve(&mut r, &mut origin, 0), 0, "the region is asked first");
    r.alone(3);
    assert_eq!(serve(&mut r, &mut origin, 4), 1, "one snapshot request");
    assert_eq!(synced(&mut r), Some((0, true, true)), "ends with the snapshot, before settling");
    assert!(!r.is_syncing());
    assert_eq!(views(&r), Reply::Int(7));
    // Said again, or after the session: nothing more goes out.
    r.alone(5);
    assert_eq!(serve(&mut r, &mut origin, 5), 0);
}

#[test]
fn alone_changes_nothing_once_a_peer_answered_or_for_a_warm_replica() {
    let mut origin = origin_with_views();
    // A peer answered the region-wide request: the session goes on as before.
    let mut a = cold(1);
    let mut b = Replica::new(2, Config::default());
    b.start(0);
    run_pair(&mut a, &mut b, 0, 0, 1); // b settles alone
    a.start(1);
    deliver(&mut a, &mut b, 1);
    assert!(deliver(&mut b, &mut a, 1) >= 1, "b answers");
    a.alone(2);
    assert_eq!(serve(&mut a, &mut origin, 2), 0, "a peer answered: no snapshot request");

    // A warm replica's session is not a cold start.
    let mut w = Replica::new(3, Config::default());
    w.start(0);
    w.exec(0, &[b"INCR", b"mine"]).expect("write");
    let mut now = 0;
    while w.is_syncing() {
        now += 1;
        w.handle_timeout(now);
        serve(&mut w, &mut origin, now);
    }
    w.sync(now, BUDGET);
    w.alone(now + 1);
    assert_eq!(serve(&mut w, &mut origin, now + 1), 0, "a warm session asks no snapshot");
}

#[test]
fn alone_without_an_origin_a_cold_start_ends_at_once_having_nobody_to_ask() {
    let mut r = cold(1);
    r.start(0);
    let mut origin = Origin::new(Limits::default());
    assert_eq!(synced(&mut r), None);
    r.set_has_origin(false);
    r.alone(3);
    assert_eq!(synced(&mut r), Some((0, false, true)));
    assert!(!r.is_syncing());
    assert_eq!(serve(&mut r, &mut origin, 3), 0, "no origin request");
    // Without the word from the transport, it waits: half its budget, then one more budget
    // for an origin that never answers.
    let mut r = cold(2);
    r.start(0);
    let mut now = 0;
    while r.is_syncing() {
        now += 1;
        r.handle_timeout(now);
        drop_all(&mut r);
    }
    assert_eq!(now, BUDGET / 2 + BUDGET);
    assert_eq!(synced(&mut r), Some((0, false, false)));
}

#[test]
fn without_an_origin_a_cold_start_that_no_peer_answers_ends_at_its_budget() {
    // A peer is connected (the transport does not say `alone`) but never answers, as a frozen
    // container's socket: the session waits for it up to its budget, and no longer.
    let mut r = cold(3);
    r.set_has_origin(false);
    r.start(0);
    let mut now = 0;
    let mut to_origin = 0;
    while r.is_syncing() {
        now += 1;
        r.handle_timeout(now);
        while let Some(t) = r.poll_transmit() {
            to_origin += usize::from(t.destination == Destination::Origin);
        }
    }
    assert_eq!(now, BUDGET);
    assert_eq!(to_origin, 0, "no snapshot request without an origin");
    assert_eq!(synced(&mut r), Some((0, false, false)));
}
