//! Contract: the in-place write paths (`INCR`, `SET`, `SADD`, `HSET`, and each on interned keys)
//! give the same replies, states and outgoing deltas as the general path of every command,
//! whatever runs between them: other commands on the same keys, type conflicts, removals,
//! remote deltas, takes of the buffer. Interned keys are checked like any input.
#![cfg(not(target_arch = "wasm32"))]

use castamere::store::HandleWrite;
use castamere::{Error, Reply, Store};
use proptest::prelude::*;

const KEYS: [&str; 4] = ["a", "b", "c", "d"];

#[derive(Debug, Clone)]
enum Op {
    /// A local command on both stores.
    Local(u8, usize, u8),
    /// An increment through an interned handle (on both: the slow store runs it generally).
    Handle(usize, i64),
    /// A SET, SADD or HSET through an interned handle (likewise).
    Write(u8, usize, u8),
    /// A remote replica's command, joined by both.
    Remote(u8, usize, u8),
    /// Both take their outgoing buffers.
    Take,
}

fn words(c: u8, k: usize, v: u8) -> Vec<String> {
    let key = KEYS[k].to_string();
    let m = format!("v{v}");
    let field = if v % 2 == 0 { "f" } else { "g" }.to_string();
    let w: Vec<&str> = match c {
        0 => vec!["SET", &key, &m],
        1 => vec!["INCR", &key],
        2 => vec!["INCRBY", &key, "-3"],
        3 => vec!["DEL", &key],
        4 => vec!["SADD", &key, &m],
        5 => vec!["HSET", &key, &field, &m],
        6 => vec!["MSET", &key, &m, KEYS[(k + 1) % 4], &m],
        7 => vec!["SREM", &key, &m],
        8 => vec!["HDEL", &key, &field],
        9 => vec!["HINCRBY", &key, &field, "2"],
        10 => vec!["SADD", &key, &m, "v9"],
        11 => vec!["HSET", &key, "f", &m, "g", &m],
        _ => vec!["GET", &key],
    };
    w.into_iter().map(String::from).collect()
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..13, 0usize..4, 0u8..4).prop_map(|(c, k, v)| Op::Local(c, k, v)),
        2 => (0usize..4, -2i64..4).prop_map(|(k, n)| Op::Handle(k, n)),
        3 => (0u8..3, 0usize..4, 0u8..4).prop_map(|(c, k, v)| Op::Write(c, k, v)),
        3 => (0u8..12, 0usize..4, 0u8..4).prop_map(|(c, k, v)| Op::Remote(c, k, v)),
        1 => Just(Op::Take),
    ]
}

/// The handle write `c` of value `v`: the op and its words.
fn handle_write(c: u8, v: u8) -> (HandleWrite, Vec<u8>, Vec<u8>) {
    let m = format!("v{v}").into_bytes();
    let field = if v % 2 == 0 { b"f".to_vec() } else { b"g".to_vec() };
    match c {
        0 => (HandleWrite::Set, m, Vec::new()),
        1 => (HandleWrite::Sadd, m, Vec::new()),
        _ => (HandleWrite::Hset, field, m),
    }
}

fn exec(s: &mut Store, now: u64, w: &[String]) -> Result<Reply, Error> {
    let refs: Vec<&[u8]> = w.iter().map(|x| x.as_bytes()).collect();
    s.exec(now, &refs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]
    #[test]
    fn hot_paths_are_the_general_path(large in any::<bool>(), ops in proptest::collection::vec(op(), 1..80)) {
        let mut fast = Store::new(1);
        let mut slow = Store::new(1);
        slow.set_fast_paths(false);
        let mut remote = Store::new(2);
        let handles: Vec<u32> = KEYS.iter().map(|k| fast.intern(k.as_bytes()).expect("short")).collect();
        let slow_handles: Vec<u32> = KEYS.iter().map(|k| slow.intern(k.as_bytes()).expect("short")).collect();
        // Clocks that disagree, so last-writer-wins timestamps come from both sides.
        let mut now = 1_000u64;
        if large {
            // Sets large enough for the in-place add to look members up by an owned key: the
            // first by commands, the second by its handle (its buffer entry held beside the map).
            for (k, i) in (0..2).flat_map(|k| (0..70).map(move |i| (k, i))) {
                let (a, b) = if k == 0 {
                    let w = vec!["SADD".to_string(), KEYS[k].to_string(), format!("p{i}")];
                    (exec(&mut fast, now, &w), exec(&mut slow, now, &w))
                } else {
                    let m = format!("p{i}").into_bytes();
                    (
                        fast.write_by_handle(now, handles[k], HandleWrite::Sadd, &m, b""),
                        slow.write_by_handle(now, slow_handles[k], HandleWrite::Sadd, &m, b""),
                    )
                };
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
            }
        }
        for op in ops {
            now += 7;
            match op {
                Op::Local(c, k, v) => {
                    let w = words(c, k, v);
                    let a = exec(&mut fast, now, &w);
                    let b = exec(&mut slow, now, &w);
                    prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "{:?}", w);
                }
                Op::Handle(k, n) => {
                    let a = fast.incr_by_handle(handles[k], n);
                    let b = slow.incr_by_handle(slow_handles[k], n);
                    prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
                }
                Op::Write(c, k, v) => {
                    let (op, x, y) = handle_write(c, v);
                    let a = fast.write_by_handle(now, handles[k], op, &x, &y);
                    let b = slow.write_by_handle(now, slow_handles[k], op, &x, &y);
                    prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "{:?}", op);
                }
                Op::Remote(c, k, v) => {
                    if exec(&mut remote, now + 500, &words(c, k, v)).is_err() {
                        continue;
                    }
                    let Some(d) = remote.take_deltas() else { continue };
                    fast.apply(&d).expect("honest bytes");
                    slow.apply(&d).expect("honest bytes");
                    // The remote side hears this side too, so its removals observe our writes.
                    if let Some(x) = slow.clone().take_deltas() {
                        remote.apply(&x).expect("honest bytes");
                    }
                }
                Op::Take => {
                    prop_assert_eq!(fast.take_deltas(), slow.take_deltas());
                }
            }
            prop_assert_eq!(fast.has_outgoing(), slow.has_outgoing());
            // Of copies: a snapshot shows the state, and a set add then makes a new dot even
            // for a member whose only dot is still unseen.
            prop_assert_eq!(fast.clone().snapshot(), slow.clone().snapshot());
            prop_assert_eq!(fast.last_write(), slow.last_write());
        }
        prop_assert_eq!(fast.take_deltas(), slow.take_deltas());
        // A cold store adopts a snapshot as the general join would build it.
        let snap = fast.snapshot();
        let mut adopted = Store::new(9);
        adopted.apply(&snap).expect("a snapshot");
        let mut joined = Store::new(9);
        joined.set_fast_paths(false);
        joined.apply(&snap).expect("a snapshot");
        prop_assert_eq!(adopted.snapshot(), joined.snapshot());
        prop_assert!(adopted == fast);
    }
}

#[test]
fn handles_are_checked() {
    let mut s = Store::new(1);
    let words = |w: &[&str]| w.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(s.incr_by_handle(0, 1).is_err(), "an unknown handle is an error, not a panic");
    assert_eq!(s.intern(&[b'k'; 65]), None, "long keys are not interned");
    let h = s.intern(b"title").expect("short key");
    assert_eq!(s.intern(b"title"), Some(h), "a key has one handle");
    exec(&mut s, 1, &words(&["SET", "title", "Rains"])).expect("SET");
    assert!(matches!(s.incr_by_handle(h, 1), Err(Error::WrongType)));
    assert_eq!(exec(&mut s, 1, &words(&["GET", "title"])).expect("GET"), Reply::Bulk(b"Rains".to_vec()));
}

#[test]
fn handle_writes_are_checked() {
    let mut s = Store::with_limits(1, castamere::Limits { max_key_bytes: 16, max_value_bytes: 8 });
    assert!(
        matches!(s.write_by_handle(1, 3, HandleWrite::Set, b"v", b""), Err(Error::Invalid(_))),
        "an unknown handle is an error, not a panic"
    );
    let h = s.intern(b"title").expect("short key");
    assert_eq!(s.write_by_handle(1, h, HandleWrite::Set, b"Rains", b""), Ok(Reply::OK));
    let before = s.snapshot();
    assert!(matches!(s.write_by_handle(2, h, HandleWrite::Sadd, b"m", b""), Err(Error::WrongType)));
    assert!(matches!(s.write_by_handle(2, h, HandleWrite::Hset, b"f", b"v"), Err(Error::WrongType)));
    assert!(matches!(s.write_by_handle(2, h, HandleWrite::Set, b"too long!", b""), Err(Error::ValueTooLarge { .. })));
    let s2 = s.intern(b"who").expect("short key");
    assert!(matches!(
        s.write_by_handle(2, s2, HandleWrite::Sadd, b"a member too long", b""),
        Err(Error::KeyTooLarge { .. })
    ));
    assert_eq!(s.snapshot(), before, "a refused write changes nothing");
    // The key is back in the table after every outcome.
    assert_eq!(s.write_by_handle(3, h, HandleWrite::Set, b"Castle", b""), Ok(Reply::OK));
    assert_eq!(s.exec(3, &[b"GET", b"title"]), Ok(Reply::Bulk(b"Castle".to_vec())));
    assert_eq!(s.write_by_handle(3, s2, HandleWrite::Sadd, b"Robb", b""), Ok(Reply::Int(1)));
    assert_eq!(s.write_by_handle(3, s2, HandleWrite::Sadd, b"Robb", b""), Ok(Reply::Int(0)));
}

/// Runs `script` on a store of replica 1, given a remote replica 2 and the handle of `key`,
/// with the in-place paths on and then off: the same reply, delta and state either way. The
/// reply, for the test's own assertion.
fn against_general_path<R: PartialEq + std::fmt::Debug>(
    key: &[u8],
    script: impl Fn(&mut Store, &mut Store, u32) -> R,
) -> R {
    let run = |fast_paths: bool| {
        let mut s = Store::new(1);
        s.set_fast_paths(fast_paths);
        let mut remote = Store::new(2);
        let h = s.intern(key).expect("short key");
        let r = script(&mut s, &mut remote, h);
        (r, s.take_deltas(), s.snapshot())
    };
    let (fast, slow) = (run(true), run(false));
    assert_eq!(fast, slow, "the same reply, delta and state as the general path");
    fast.0
}

#[test]
fn a_held_entry_goes_back_before_an_increment_of_the_key() {
    // This replica sets `k` through its handle (its delta is held beside the buffer); a remote
    // replica that saw the write deletes `k` and increments it, so `k` is a plain counter here
    // while the register's delta still waits; then this replica increments `k` by its handle.
    let r = against_general_path(b"k", |s, remote, h| {
        s.write_by_handle(10, h, HandleWrite::Set, b"v", b"").expect("SET");
        remote.apply(&s.clone().take_deltas().expect("a delta")).expect("honest bytes");
        remote.exec(20, &[b"DEL", b"k"]).expect("DEL");
        remote.exec(20, &[b"INCR", b"k"]).expect("INCR");
        s.apply(&remote.take_deltas().expect("a delta")).expect("honest bytes");
        s.incr_by_handle(h, 5)
    });
    assert_eq!(r, Ok(6));
}

#[test]
fn a_member_added_again_after_a_remote_removal_ships_both_adds() {
    // This replica adds `arya` by the key's handle (its buffer entry is held beside the map);
    // a remote replica that saw it removes her, so she is not in the state here while her add
    // still waits in the buffer; then this replica adds her again before the buffer is taken.
    // The buffer holds both adds' dots, as the general join keeps both.
    let r = against_general_path(b"fans", |s, remote, h| {
        s.write_by_handle(10, h, HandleWrite::Sadd, b"sansa", b"").expect("SADD");
        s.write_by_handle(10, h, HandleWrite::Sadd, b"arya", b"").expect("SADD");
        remote.apply(&s.clone().take_deltas().expect("a delta")).expect("honest bytes");
        remote.exec(20, &[b"SREM", b"fans", b"arya"]).expect("SREM");
        s.apply(&remote.take_deltas().expect("a delta")).expect("honest bytes");
        s.write_by_handle(30, h, HandleWrite::Sadd, b"arya", b"")
    });
    assert_eq!(r, Ok(Reply::Int(1)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// A counter that many past writers incremented keeps their sum beside their entries: its
    /// value after each increment (by key or by handle, in place or by the general path) and
    /// each writer's increment joined from afar is the sum of every increment made.
    #[test]
    fn a_counter_of_many_writers_counts_every_increment(
        fast_paths in any::<bool>(),
        writers in 33usize..120,
        steps in proptest::collection::vec((0usize..4, 0usize..200, -1_000i64..1_000), 1..120),
    ) {
        let mut s = Store::new(1);
        s.set_fast_paths(fast_paths);
        let h = s.intern(b"views").expect("short key");
        let mut remote: Vec<Store> = (0..writers).map(|i| Store::new(100 + i as u64)).collect();
        let mut sum = 0i64;
        for (i, w) in remote.iter_mut().enumerate() {
            let by = i as i64 - 20;
            w.exec(0, &[b"INCRBY", b"views", by.to_string().as_bytes()]).expect("INCRBY");
            s.apply(&w.take_deltas().expect("a delta")).expect("honest bytes");
            sum += by;
        }
        for (how, who, by) in steps {
            sum += by;
            let reply = match how {
                0 => s.exec(0, &[b"INCRBY", b"views", by.to_string().as_bytes()]).map(|r| format!("{r:?}")),
                1 => s.incr_by_handle(h, by).map(|v| format!("{:?}", Reply::Int(v))),
                2 => {
                    let w = &mut remote[who % writers];
                    w.exec(0, &[b"INCRBY", b"views", by.to_string().as_bytes()]).expect("INCRBY");
                    s.apply(&w.take_deltas().expect("a delta")).expect("honest bytes");
                    Ok(format!("{:?}", Reply::Int(sum)))
                }
                _ => {
                    // The buffer taken, as a replica's push does, then an increment.
                    let _ = s.take_deltas();
                    s.incr_by_handle(h, by).map(|v| format!("{:?}", Reply::Int(v)))
                }
            };
            prop_assert_eq!(reply, Ok(format!("{:?}", Reply::Int(sum))));
            let get = s.exec(0, &[b"GET", b"views"]).expect("GET");
            prop_assert_eq!(format!("{get:?}"), format!("{:?}", Reply::Int(sum)));
        }
        // A cold replica that loads the snapshot reads the same.
        let mut cold = Store::new(9);
        cold.apply(&s.snapshot()).expect("a snapshot");
        let get = cold.exec(0, &[b"GET", b"views"]).expect("GET");
        prop_assert_eq!(format!("{get:?}"), format!("{:?}", Reply::Int(sum)));
    }
}
