//! Contract: incrementing through an interned handle is the same as `INCRBY`: the same
//! replies, the same state, and the same outgoing deltas, whatever else happens between
//! (other commands on the same keys, removals, remote deltas, takes of the buffer).
#![cfg(not(target_arch = "wasm32"))]

use castamere::{Error, Reply, Store};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// INCRBY through the handle path on one store, through exec on the other.
    Incr(usize, i64),
    /// The same command on both.
    Exec(usize, u8),
    /// A write by a remote replica, joined by both.
    Remote(usize, i64, bool),
    /// Both take their outgoing buffers.
    Take,
}

const KEYS: [&str; 4] = ["views", "likes", "title", "x"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..4, -3i64..4).prop_map(|(k, n)| Op::Incr(k, n)),
        2 => (0usize..4, 0u8..5).prop_map(|(k, c)| Op::Exec(k, c)),
        2 => (0usize..4, -2i64..3, any::<bool>()).prop_map(|(k, n, d)| Op::Remote(k, n, d)),
        1 => Just(Op::Take),
    ]
}

fn exec(s: &mut Store, words: &[&str]) -> Result<Reply, Error> {
    let w: Vec<&[u8]> = words.iter().map(|x| x.as_bytes()).collect();
    s.exec(1_000, &w)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn the_handle_path_is_incrby(ops in proptest::collection::vec(op(), 1..60)) {
        let mut fast = Store::new(1);
        let mut plain = Store::new(1);
        let mut remote = Store::new(2);
        let handles: Vec<u32> = KEYS.iter().map(|k| fast.intern(k.as_bytes()).expect("short key")).collect();
        for op in ops {
            match op {
                Op::Incr(k, n) => {
                    let a = fast.incr_by_handle(handles[k], n).map(Reply::Int);
                    let b = exec(&mut plain, &["INCRBY", KEYS[k], &n.to_string()]);
                    prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
                }
                Op::Exec(k, c) => {
                    let words: Vec<&str> = match c {
                        0 => vec!["SET", KEYS[k], "v"],
                        1 => vec!["DEL", KEYS[k]],
                        2 => vec!["INCR", KEYS[k]],
                        3 => vec!["GET", KEYS[k]],
                        _ => vec!["SADD", KEYS[k], "m"],
                    };
                    let a = exec(&mut fast, &words);
                    let b = exec(&mut plain, &words);
                    prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
                }
                Op::Remote(k, n, del) => {
                    if del {
                        exec(&mut remote, &["DEL", KEYS[k]]).expect("DEL");
                    } else if exec(&mut remote, &["INCRBY", KEYS[k], &n.to_string()]).is_err() {
                        continue;
                    }
                    let Some(d) = remote.take_deltas() else { continue };
                    fast.apply(&d).expect("honest bytes");
                    plain.apply(&d).expect("honest bytes");
                    // The remote replica hears both back, so its DEL observes their writes.
                    if let Some(x) = plain.clone().take_deltas() {
                        remote.apply(&x).expect("honest bytes");
                    }
                }
                Op::Take => {
                    prop_assert_eq!(fast.take_deltas(), plain.take_deltas());
                }
            }
            prop_assert_eq!(fast.has_outgoing(), plain.has_outgoing());
            prop_assert_eq!(fast.snapshot(), plain.snapshot());
        }
        prop_assert_eq!(fast.take_deltas(), plain.take_deltas());
    }
}

#[test]
fn handles_are_checked() {
    let mut s = Store::new(1);
    assert!(s.incr_by_handle(0, 1).is_err(), "an unknown handle is an error, not a panic");
    assert_eq!(s.intern(&[b'k'; 65]), None, "long keys are not interned");
    let h = s.intern(b"title").expect("short key");
    assert_eq!(s.intern(b"title"), Some(h), "a key has one handle");
    exec(&mut s, &["SET", "title", "Rains"]).expect("SET");
    assert!(matches!(s.incr_by_handle(h, 1), Err(Error::WrongType)));
    assert_eq!(exec(&mut s, &["GET", "title"]).expect("GET"), Reply::Bulk(b"Rains".to_vec()));
}
