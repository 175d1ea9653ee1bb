//! Behaviour contracts of the keyspace and its commands.
#![cfg(not(target_arch = "wasm32"))]

use castamere::{Error, Reply, Store};
use proptest::prelude::*;

fn run(s: &mut Store, cmd: &str) -> Result<Reply, Error> {
    let words: Vec<&[u8]> = cmd.split(' ').map(str::as_bytes).collect();
    s.exec(1_000, &words)
}

fn ok(s: &mut Store, cmd: &str) -> Reply {
    run(s, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

#[test]
fn strings_counters_and_keys() {
    let mut s = Store::new(1);
    assert_eq!(ok(&mut s, "PING"), Reply::Status("PONG"));
    assert_eq!(ok(&mut s, "GET nope"), Reply::Nil);
    assert_eq!(ok(&mut s, "SET title Rains"), Reply::OK);
    assert_eq!(ok(&mut s, "GET title"), bulk("Rains"));
    assert_eq!(ok(&mut s, "MSET a 1 b 2"), Reply::OK);
    assert_eq!(ok(&mut s, "MGET a b nope"), Reply::Array(vec![bulk("1"), bulk("2"), Reply::Nil]));
    assert_eq!(ok(&mut s, "INCR views"), Reply::Int(1));
    assert_eq!(ok(&mut s, "INCRBY views 41"), Reply::Int(42));
    assert_eq!(ok(&mut s, "DECR views"), Reply::Int(41));
    assert_eq!(ok(&mut s, "DECRBY views 1"), Reply::Int(40));
    assert_eq!(ok(&mut s, "GET views"), Reply::Int(40));
    assert_eq!(ok(&mut s, "TYPE views"), Reply::Status("counter"));
    assert_eq!(ok(&mut s, "TYPE title"), Reply::Status("string"));
    assert_eq!(ok(&mut s, "TYPE nope"), Reply::Status("none"));
    assert_eq!(ok(&mut s, "EXISTS title views nope"), Reply::Int(2));
    assert_eq!(ok(&mut s, "DBSIZE"), Reply::Int(4));
    assert_eq!(ok(&mut s, "DEL title nope"), Reply::Int(1));
    assert_eq!(ok(&mut s, "GET title"), Reply::Nil);
    assert_eq!(ok(&mut s, "DBSIZE"), Reply::Int(3));
    assert_eq!(ok(&mut s, "GETALL a"), Reply::Array(vec![bulk("1")]));
}

#[test]
fn sets_hashes_and_flags() {
    let mut s = Store::new(1);
    assert_eq!(ok(&mut s, "SADD starks ned robb ned"), Reply::Int(2));
    assert_eq!(ok(&mut s, "SADD starks robb arya"), Reply::Int(1));
    assert_eq!(ok(&mut s, "SCARD starks"), Reply::Int(3));
    assert_eq!(ok(&mut s, "SREM starks ned robb nope"), Reply::Int(2));
    assert_eq!(ok(&mut s, "SMEMBERS starks"), Reply::Array(vec![bulk("arya")]));
    assert_eq!(ok(&mut s, "SISMEMBER starks arya"), Reply::Int(1));
    assert_eq!(ok(&mut s, "SISMEMBER starks ned"), Reply::Int(0));

    assert_eq!(ok(&mut s, "HSET page body hello editor ned body hi"), Reply::Int(2));
    assert_eq!(ok(&mut s, "HGET page body"), bulk("hi"));
    assert_eq!(ok(&mut s, "HINCRBY page edits 3"), Reply::Int(3));
    assert_eq!(ok(&mut s, "HINCRBY page edits -1"), Reply::Int(2));
    assert_eq!(ok(&mut s, "HMGET page editor edits nope"), Reply::Array(vec![bulk("ned"), Reply::Int(2), Reply::Nil]));
    assert_eq!(ok(&mut s, "HLEN page"), Reply::Int(3));
    assert_eq!(
        ok(&mut s, "HGETALL page"),
        Reply::Map(vec![
            (b"body".to_vec(), bulk("hi")),
            (b"editor".to_vec(), bulk("ned")),
            (b"edits".to_vec(), Reply::Int(2))
        ])
    );
    assert_eq!(ok(&mut s, "HDEL page body nope"), Reply::Int(1));
    assert_eq!(ok(&mut s, "HLEN page"), Reply::Int(2));
    assert_eq!(ok(&mut s, "TYPE page"), Reply::Status("hash"));

    assert_eq!(ok(&mut s, "FLAG.GET live"), Reply::Int(0));
    assert_eq!(ok(&mut s, "FLAG.ENABLE live"), Reply::OK);
    assert_eq!(ok(&mut s, "FLAG.GET live"), Reply::Int(1));
    assert_eq!(ok(&mut s, "FLAG.DISABLE live"), Reply::OK);
    assert_eq!(ok(&mut s, "FLAG.GET live"), Reply::Int(0));
    assert_eq!(ok(&mut s, "TYPE live"), Reply::Status("flag"));
    let e = run(&mut s, "FLAG.ENABLE live DISABLEWINS").unwrap_err();
    assert!(e.to_string().contains("enable-wins"), "{e}");
}

#[test]
fn errors_are_typed_and_redis_worded() {
    let mut s = Store::new(1);
    ok(&mut s, "SET title x");
    ok(&mut s, "SADD set a");
    let cases = [
        ("INCR title", "WRONGTYPE", "WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("SADD title a", "WRONGTYPE", "WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("GET set", "WRONGTYPE", "WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("GET", "ERR", "ERR wrong number of arguments for 'get' command"),
        ("INCRBY n x", "ERR", "ERR value is not an integer or out of range"),
        ("INCRBY n 99999999999999999999", "ERR", "ERR value is not an integer or out of range"),
        ("NOPE a", "ERR", "ERR unknown command 'NOPE', with args beginning with: 'a'"),
        ("SCAN 0 BOGUS x", "ERR", "ERR syntax error"),
        ("SCAN zz", "ERR", "ERR invalid cursor"),
    ];
    for (cmd, code, msg) in cases {
        let e = run(&mut s, cmd).unwrap_err();
        assert_eq!(e.code(), code, "{cmd}");
        assert_eq!(e.to_string(), msg, "{cmd}");
    }
    ok(&mut s, "HSET h f text");
    assert_eq!(run(&mut s, "HINCRBY h f 1").unwrap_err().code(), "WRONGTYPE");
}

#[test]
fn an_erroring_command_changes_nothing_and_ships_nothing() {
    let mut s = Store::with_limits(1, castamere::Limits { max_key_bytes: 8, max_value_bytes: 8 });
    ok(&mut s, "SET title x");
    ok(&mut s, "INCRBY n 9223372036854775806");
    s.take_delta();
    let before = s.clone();
    let last = s.last_write();
    for cmd in [
        "INCRBY n 2",
        "INCR title",
        "MSET a 1 title2 toolongvalue",
        "MSET a 1 title 2 n 3",
        "SET waytoolongkey v",
        "HSET h f 1 g waytoolongvalue",
        "SADD s a waytoolongmember",
        "DECRBY n -9223372036854775808",
    ] {
        assert!(run(&mut s, cmd).is_err(), "{cmd} should fail");
        assert_eq!(s, before, "{cmd} changed the state");
        assert!(s.take_delta().is_none(), "{cmd} produced a delta");
        assert_eq!(s.last_write(), last);
    }
}

#[test]
fn overflow_is_an_error_never_a_wrap() {
    let mut s = Store::new(1);
    ok(&mut s, "INCRBY n 9223372036854775807");
    assert_eq!(run(&mut s, "INCR n").unwrap_err(), Error::Overflow);
    assert_eq!(ok(&mut s, "GET n"), Reply::Int(i64::MAX));
}

#[test]
fn scan_visits_every_key_once_with_match() {
    let mut s = Store::new(1);
    for i in 0..57 {
        ok(&mut s, &format!("INCR page:{i}:views"));
        ok(&mut s, &format!("SET user:{i} x"));
    }
    let mut cursor = b"0".to_vec();
    let mut seen = Vec::new();
    loop {
        let r = s.exec(0, &[b"SCAN", &cursor, b"MATCH", b"page:*", b"COUNT", b"7"]).unwrap();
        let Reply::Array(v) = r else { panic!() };
        let (Reply::Bulk(c), Reply::Array(keys)) = (&v[0], &v[1]) else { panic!() };
        seen.extend(keys.iter().cloned());
        if c == b"0" {
            break;
        }
        cursor = c.clone();
    }
    assert_eq!(seen.len(), 57);
    seen.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    seen.dedup();
    assert_eq!(seen.len(), 57);
}

#[test]
fn del_is_observed_remove_a_concurrent_write_survives() {
    let mut a = Store::new(1);
    let mut b = Store::new(2);
    ok(&mut a, "SADD s x");
    b.apply(&a.take_deltas().unwrap()).unwrap();
    ok(&mut b, "DEL s");
    ok(&mut a, "SADD s y");
    let (da, db) = (a.take_deltas().unwrap(), b.take_deltas().unwrap());
    a.apply(&db).unwrap();
    b.apply(&da).unwrap();
    assert_eq!(a, b);
    assert_eq!(ok(&mut a, "SMEMBERS s"), Reply::Array(vec![bulk("y")]));
}

#[test]
fn lww_orders_by_hybrid_clock_not_wall_clock() {
    // b's wall clock is 5 s behind, yet its write after seeing a's write wins everywhere.
    let mut a = Store::new(1);
    let mut b = Store::new(2);
    a.exec(10_000, &[b"SET", b"k", b"from a"]).unwrap();
    b.apply(&a.take_deltas().unwrap()).unwrap();
    b.exec(5_000, &[b"SET", b"k", b"from b"]).unwrap();
    a.apply(&b.take_deltas().unwrap()).unwrap();
    assert_eq!(ok(&mut a, "GET k"), bulk("from b"));
    // Concurrent writes: one winner everywhere, every value visible through GETALL.
    a.exec(20_000, &[b"SET", b"c", b"x"]).unwrap();
    b.exec(20_000, &[b"SET", b"c", b"y"]).unwrap();
    let (da, db) = (a.take_deltas().unwrap(), b.take_deltas().unwrap());
    a.apply(&db).unwrap();
    b.apply(&da).unwrap();
    assert_eq!(ok(&mut a, "GET c"), ok(&mut b, "GET c"));
    let Reply::Array(all) = ok(&mut a, "GETALL c") else { panic!() };
    assert_eq!(all.len(), 2);
}

#[test]
fn concurrent_types_resolve_deterministically() {
    let mut a = Store::new(1);
    let mut b = Store::new(2);
    ok(&mut a, "SET k text");
    ok(&mut b, "INCR k");
    let (da, db) = (a.take_deltas().unwrap(), b.take_deltas().unwrap());
    a.apply(&db).unwrap();
    b.apply(&da).unwrap();
    assert_eq!(ok(&mut a, "TYPE k"), ok(&mut b, "TYPE k"));
    assert_eq!(ok(&mut a, "TYPE k"), Reply::Status("counter"));
    ok(&mut a, "INCR k");
    b.apply(&a.take_deltas().unwrap()).unwrap();
    assert_eq!(a, b);
    assert_eq!(ok(&mut b, "GET k"), Reply::Int(2));
}

#[test]
fn bad_bytes_are_rejected_and_change_nothing() {
    let mut a = Store::new(1);
    ok(&mut a, "INCR k");
    let good = a.take_deltas().unwrap();
    let mut b = Store::new(2);
    ok(&mut b, "SET x y");
    let before = b.clone();
    for cut in 0..good.len() {
        assert!(b.apply(&good[..cut]).is_err());
    }
    let mut bad = good.clone();
    bad[0] = 0x01;
    let e = b.apply(&bad).unwrap_err();
    assert_eq!(e.code(), "EPROTO");
    assert_eq!(b, before);
}

/// A random command over a few keys of every type.
fn command() -> impl Strategy<Value = Vec<String>> {
    let key = prop_oneof![Just("c"), Just("s"), Just("h"), Just("f"), Just("x")];
    let v = 0u8..4;
    prop_oneof![
        (key.clone(), -3i64..4).prop_map(|(k, n)| vec!["INCRBY".into(), k.into(), n.to_string()]),
        (key.clone(), v.clone()).prop_map(|(k, v)| vec!["SET".into(), k.into(), v.to_string()]),
        (key.clone(), v.clone()).prop_map(|(k, v)| vec!["SADD".into(), k.into(), v.to_string()]),
        (key.clone(), v.clone()).prop_map(|(k, v)| vec!["SREM".into(), k.into(), v.to_string()]),
        (key.clone(), v.clone(), v.clone()).prop_map(|(k, f, v)| vec![
            "HSET".into(),
            k.into(),
            f.to_string(),
            v.to_string()
        ]),
        (key.clone(), v.clone()).prop_map(|(k, f)| vec!["HINCRBY".into(), k.into(), format!("n{f}"), "2".into()]),
        (key.clone(), v.clone()).prop_map(|(k, f)| vec!["HDEL".into(), k.into(), f.to_string()]),
        (key.clone(), any::<bool>())
            .prop_map(|(k, on)| vec![if on { "FLAG.ENABLE" } else { "FLAG.DISABLE" }.into(), k.into()]),
        key.prop_map(|k| vec!["DEL".into(), k.into()]),
    ]
}

proptest! {
    /// Replicas run random commands and exchange their delta buffers in any order, with
    /// duplicates; every replica ends with the same state.
    #[test]
    fn stores_converge_through_deltas(
        script in proptest::collection::vec((0usize..3, command(), proptest::option::of(0usize..3)), 1..40),
        seed in any::<u64>(),
    ) {
        let mut stores: Vec<Store> = (1..=3).map(Store::new).collect();
        let mut shipped: Vec<Vec<u8>> = Vec::new();
        for (r, cmd, sync) in &script {
            let words: Vec<&[u8]> = cmd.iter().map(|w| w.as_bytes()).collect();
            let _ = stores[*r].exec(1_000, &words);
            if let Some(d) = stores[*r].take_deltas() {
                shipped.push(d);
            }
            if let Some(q) = sync {
                // Partial sync: q receives what was shipped so far.
                for d in &shipped {
                    stores[*q].apply(d).unwrap();
                }
            }
        }
        let mut rng = seed | 1;
        for s in stores.iter_mut() {
            let mut order: Vec<usize> = (0..shipped.len()).collect();
            for i in (1..order.len()).rev() {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                order.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            for i in order.iter().chain(order.iter().take(3)) {
                s.apply(&shipped[*i]).unwrap();
            }
        }
        prop_assert!(stores[0] == stores[1] && stores[1] == stores[2]);
        // A snapshot round-trips and joins idempotently.
        let snap = stores[0].snapshot();
        let mut fresh = Store::new(9);
        fresh.apply(&snap).unwrap();
        prop_assert!(fresh == stores[0]);
        fresh.apply(&snap).unwrap();
        prop_assert!(fresh == stores[0]);
    }
}

#[test]
fn rows_and_context_restore_the_state_in_any_order() {
    let mut s = Store::new(1);
    for cmd in ["INCRBY a 5", "SADD s x", "SADD s y", "SREM s x", "SET t v", "DEL t", "HSET h f 1"] {
        ok(&mut s, cmd);
    }
    let keys: Vec<Vec<u8>> = vec![b"a".to_vec(), b"s".to_vec(), b"t".to_vec(), b"h".to_vec()];
    let mut rows: Vec<Vec<u8>> = keys.iter().filter_map(|k| s.key_state(k)).collect();
    rows.push(s.context_state());
    for rotate in 0..rows.len() {
        rows.rotate_left(rotate);
        let mut back = Store::new(9);
        for r in &rows {
            back.load_fragment(r).unwrap();
        }
        assert!(back == s);
        assert_eq!(back.context(), s.context());
    }
    // A prefix snapshot holds only those keys and loads into an empty store.
    let mut part = Store::new(3);
    part.apply(&s.prefix_state(b"s")).unwrap();
    assert_eq!(ok(&mut part, "SMEMBERS s"), Reply::Array(vec![bulk("y")]));
    assert_eq!(ok(&mut part, "DBSIZE"), Reply::Int(1));
}
