//! Contract: membership follows replicas as they come and go — a closing replica's goodbye ends
//! its lease at once wherever it arrives, and a silent one is dropped when its lease expires.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/pair.rs"]
mod pair;

use castamere::sync::{Config, Destination, Event, Replica};
use pair::{deliver, run_pair};

fn met() -> (Replica, Replica, u64) {
    let mut a = Replica::new(1, Config::default());
    let mut b = Replica::new(2, Config::default());
    a.start(0);
    b.start(0);
    let now = run_pair(&mut a, &mut b, 0, 1_500, 10);
    assert_eq!(a.peers().collect::<Vec<_>>(), vec![2]);
    while a.poll_event().is_some() {}
    (a, b, now)
}

#[test]
fn a_goodbye_ends_the_lease_at_once() {
    let (mut a, mut b, now) = met();
    b.close(now);
    deliver(&mut b, &mut a, now);
    assert_eq!(a.peers().count(), 0, "a still counts b as live");
    let events: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    assert!(events.contains(&Event::PeerLeft(2)), "{events:?}");
}

#[test]
fn a_silent_replica_is_dropped_when_its_lease_expires() {
    let (mut a, _b, now) = met();
    let lease = a.config().lease_ms;
    a.handle_timeout(now + lease / 2);
    assert_eq!(a.peers().count(), 1, "dropped before its lease ended");
    a.handle_timeout(now + lease + 1);
    assert_eq!(a.peers().count(), 0);
}

#[test]
fn a_push_is_acknowledged_with_others_and_one_awaiting_its_ack_at_once() {
    let (mut a, mut b, mut now) = met();
    let delay = b.config().ack_delay_ms;
    // Three pushed groups: b holds each at once, and acknowledges them together, once.
    for _ in 0..3 {
        a.exec(now, &[b"INCR", b"views"]).expect("write");
        a.push(now);
        assert_eq!(deliver(&mut a, &mut b, now), 1, "the group goes out at once");
        assert!(deliver(&mut b, &mut a, now) == 0, "no acknowledgement of its own yet");
    }
    b.handle_timeout(now + delay);
    assert_eq!(deliver(&mut b, &mut a, now + delay), 1, "one acknowledgement for the three");
    assert_eq!(a.region_acked(), 3);
    now += delay;
    // A writer that waits for the region: acknowledged directly, without the delay.
    a.exec(now, &[b"INCR", b"views"]).expect("write");
    a.push_awaiting_ack(now);
    deliver(&mut a, &mut b, now);
    assert_eq!(deliver(&mut b, &mut a, now), 1);
    assert_eq!(a.region_acked(), 4);
    // A write pushed without haste, then waited for with nothing new to seal: its group goes
    // out again asking for haste, and b, which holds it, answers at once.
    a.exec(now, &[b"INCR", b"views"]).expect("write");
    a.push(now);
    deliver(&mut a, &mut b, now);
    assert_eq!(deliver(&mut b, &mut a, now), 0);
    a.push_awaiting_ack(now);
    assert_eq!(deliver(&mut a, &mut b, now), 1, "the group again");
    assert_eq!(deliver(&mut b, &mut a, now), 1);
    assert_eq!(a.region_acked(), 5);
    assert_eq!(b.exec(now, &[b"GET", b"views"]).expect("read"), castamere::Reply::Int(5));
    // Nothing left unacknowledged: nothing goes out.
    a.push_awaiting_ack(now);
    assert_eq!(deliver(&mut a, &mut b, now), 0);
}

/// Runs every replica's timers and delivers every message among them (origin traffic is
/// collected, not answered) until `until`.
fn run(rs: &mut [&mut Replica], now: &mut u64, until: u64, origin: &mut Vec<Vec<u8>>) {
    while *now < until {
        for r in rs.iter_mut() {
            r.handle_timeout(*now);
        }
        for i in 0..rs.len() {
            let out: Vec<_> = std::iter::from_fn(|| rs[i].poll_transmit()).collect();
            for t in out {
                match t.destination {
                    Destination::Origin => origin.push(t.payload),
                    Destination::Peer(p) => {
                        if let Some(r) = rs.iter_mut().find(|r| r.id() == p) {
                            r.handle_message(*now, &t.payload).expect("honest bytes");
                        }
                    }
                    _ => {
                        for (j, r) in rs.iter_mut().enumerate() {
                            if j != i {
                                r.handle_message(*now, &t.payload).expect("honest bytes");
                            }
                        }
                    }
                }
            }
        }
        *now += 1;
    }
}

#[test]
fn a_retiring_replica_ships_a_departed_writers_writes() {
    use castamere::sync::{Message, Origin};
    let mut anchor = Replica::new(10, Config::default());
    let mut writer = Replica::new(20, Config::default());
    let mut origin = Vec::new();
    let mut now = 0;
    anchor.start(now);
    run(&mut [&mut anchor], &mut now, 1_000, &mut origin);
    writer.start(now);
    run(&mut [&mut anchor, &mut writer], &mut now, 1_400, &mut origin);
    writer.exec(now, &[b"INCRBY", b"views", b"3"]).expect("write");
    writer.push_awaiting_ack(now);
    run(&mut [&mut anchor, &mut writer], &mut now, 1_420, &mut origin);
    assert_eq!(writer.region_acked(), 1);
    // The writer leaves; before any timer of the anchor runs, the anchor retires.
    writer.close(now);
    deliver(&mut writer, &mut anchor, now);
    assert!(!anchor.owes_origin(), "a replica that is not retiring leaves departed writers to adoption");
    anchor.retire(now);
    assert!(anchor.owes_origin());
    let batch = std::iter::from_fn(|| anchor.poll_transmit())
        .find(|t| {
            t.destination == Destination::Origin
                && matches!(Message::decode(&t.payload), Ok(Message::Batch(b)) if b.source == 20)
        })
        .expect("the departed writer's batch goes to the origin at once");
    // Once the origin acknowledged it, nothing is owed.
    let mut o = Origin::new(Default::default());
    let reply = o.handle(&batch.payload).expect("a batch");
    anchor.handle_message(now, &reply.response).expect("an ack");
    assert!(!anchor.owes_origin());
}
