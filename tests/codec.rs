//! Golden fixtures pin the wire format: a change that alters these bytes breaks every peer
#![cfg(not(target_arch = "wasm32"))]
//! running the previous build. Regenerate deliberately with `UPDATE_FIXTURES=1 cargo test`.

use castamere::codec::{decode, Blob, DecodeLimits};
use castamere::Store;

fn sample() -> Store {
    let mut s = Store::new(0x5eed);
    let cmds: &[&[&str]] = &[
        &["INCRBY", "views", "5"],
        &["SET", "title", "The Rains of Castamere"],
        &["SADD", "starks", "robb", "catelyn"],
        &["SREM", "starks", "robb"],
        &["HSET", "page", "body", "hello"],
        &["HINCRBY", "page", "edits", "2"],
        &["FLAG.ENABLE", "live", "DISABLEWINS"],
    ];
    for c in cmds {
        let words: Vec<&[u8]> = c.iter().map(|w| w.as_bytes()).collect();
        s.exec(1_700_000_000_000, &words).unwrap();
    }
    s
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .chunks(32)
        .map(|l| l.join(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check(name: &str, bytes: &[u8]) {
    let path = format!("{}/tests/fixtures/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = hex(bytes) + "\n";
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {path}; run with UPDATE_FIXTURES=1"));
    assert_eq!(text, want, "{name}: the wire format changed");
}

#[test]
fn golden_delta_and_state() {
    let mut s = sample();
    let delta = s.take_deltas().unwrap();
    check("delta-v1", &delta);
    let state = s.snapshot();
    check("state-v1", &state);
    // Both decode back to what was encoded.
    let mut fresh = Store::new(1);
    fresh.apply(&delta).unwrap();
    assert!(fresh == s);
    assert!(matches!(decode(&state, DecodeLimits::default()).unwrap(), Blob::State(_)));
}

#[test]
fn one_incr_delta_is_small() {
    let mut s = Store::new(0x1234_5678_9abc);
    s.exec(0, &[b"INCR", b"views"]).unwrap();
    s.exec(0, &[b"INCR", b"views"]).unwrap();
    s.take_deltas();
    s.exec(0, &[b"INCR", b"views"]).unwrap();
    let d = s.take_deltas().unwrap();
    // magic, replica table (7-byte id), context {old, new}, one key of 5 bytes, one dot.
    assert!(d.len() <= 32, "INCR delta is {} bytes", d.len());
}

mod group_form {
    use castamere::codec::{decode, decode_framed, encode_delta, encode_group, GroupFrame, MAGIC_GROUP};
    use castamere::crdt::Causal;
    use castamere::store::Keyspace;
    use castamere::Store;
    use proptest::prelude::*;

    use super::{check, sample, DecodeLimits};

    fn words(cmd: &str) -> Vec<Vec<u8>> {
        cmd.split(' ').map(|w| w.as_bytes().to_vec()).collect()
    }

    fn run(s: &mut Store, cmd: &str) {
        let w = words(cmd);
        let refs: Vec<&[u8]> = w.iter().map(Vec::as_slice).collect();
        let _ = s.exec(1_000, &refs);
    }

    /// Takes the store's buffer as a sealed group would: the frame covers the writes since `lo`.
    fn seal(s: &mut Store, lo: &mut u64) -> Option<(Causal<Keyspace>, GroupFrame)> {
        let d = s.take_delta()?;
        let frame = GroupFrame { source: s.replica(), lo: *lo, hi: s.last_write() };
        *lo = frame.hi;
        Some((d, frame))
    }

    #[test]
    fn golden_group() {
        let mut s = sample();
        let mut lo = 0;
        let (d, frame) = seal(&mut s, &mut lo).unwrap();
        let bytes = encode_group(&d, frame);
        assert_eq!(bytes[0], MAGIC_GROUP);
        check("group-v1", &bytes);
        let plain = decode(&encode_delta(&d), DecodeLimits::default()).unwrap();
        assert_eq!(decode_framed(&bytes, frame, DecodeLimits::default()).unwrap(), plain);
    }

    #[test]
    fn an_increment_in_a_group_leaves_out_the_writer() {
        // A random 64-bit replica id, as every process start picks.
        let mut s = Store::new(0xb7e1_5162_8aed_2a6b);
        let mut lo = 0;
        for _ in 0..1000 {
            run(&mut s, "INCR page:1");
            seal(&mut s, &mut lo);
        }
        run(&mut s, "INCR page:1");
        let (d, frame) = seal(&mut s, &mut lo).unwrap();
        let plain = encode_delta(&d).len();
        let group = encode_group(&d, frame).len();
        // magic 1, no other replica and one own range 1, the superseded dot below lo 2, one key
        // (count 1, length 1, "page:1" 6), its type 1, one counter dot (count 1, index 1,
        // age 0 1) and its value, 1001 (2): the writer's 9-byte id is left out.
        assert_eq!(group, 18, "group form");
        assert!(plain >= group + 10, "plain {plain} bytes, group {group}");
    }

    #[test]
    fn a_delta_without_the_frames_range_is_encoded_plainly() {
        let mut s = Store::new(9);
        run(&mut s, "INCR a");
        let d = s.take_delta().unwrap();
        let wrong = GroupFrame { source: 9, lo: 0, hi: 5 };
        let bytes = encode_group(&d, wrong);
        assert_ne!(bytes[0], MAGIC_GROUP);
        assert!(decode_framed(&bytes, wrong, DecodeLimits::default()).is_ok());
    }

    #[test]
    fn many_older_dots_round_trip() {
        // Ten superseded dots with gaps between them: more own ranges than the head holds.
        let mut s = Store::new(77);
        let mut lo = 0;
        for k in 0..10 {
            run(&mut s, &format!("INCR c{k}"));
            run(&mut s, "INCR filler");
            seal(&mut s, &mut lo);
        }
        for k in 0..10 {
            run(&mut s, &format!("INCR c{k}"));
        }
        let (d, frame) = seal(&mut s, &mut lo).unwrap();
        let bytes = encode_group(&d, frame);
        assert_eq!(bytes[0], MAGIC_GROUP);
        let plain = decode(&encode_delta(&d), DecodeLimits::default()).unwrap();
        assert_eq!(decode_framed(&bytes, frame, DecodeLimits::default()).unwrap(), plain);
        // The same bytes under another frame are another delta or an error, never a panic.
        for (lo, hi) in [(0, 1), (frame.lo - 1, frame.hi), (frame.lo, frame.hi + 3), (u64::MAX - 1, u64::MAX)] {
            let other = GroupFrame { source: 77, lo, hi };
            if let Ok(x) = decode_framed(&bytes, other, DecodeLimits::default()) {
                assert_ne!(x, plain);
            }
        }
    }

    fn cmd() -> impl Strategy<Value = String> {
        let key = prop_oneof![Just("a"), Just("b"), Just("c")];
        let member = prop_oneof![Just("x"), Just("y")];
        (0usize..7, key, member).prop_map(|(c, k, m)| match c {
            0 => format!("INCR c{k}"),
            1 => format!("SET r{k} {m}"),
            2 => format!("SADD s{k} {m}"),
            3 => format!("SREM s{k} {m}"),
            4 => format!("HSET h{k} {m} v"),
            5 => format!("DEL s{k} c{k}"),
            _ => format!("FLAG.ENABLE f{k}"),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn group_form_round_trips(script in proptest::collection::vec((0u8..3, cmd()), 1..40)) {
            // Three writers; writer 0's groups are checked, and it also joins the others'
            // deltas so its removals name their dots (the "other replicas" of the form).
            let mut w = [Store::new(0xffff_0000_0000_0001), Store::new(2), Store::new(300)];
            let mut lo = 0;
            for (who, c) in script {
                run(&mut w[who as usize], &c);
                if who != 0 {
                    if let Some(d) = w[who as usize].take_deltas() {
                        w[0].apply(&d).unwrap();
                    }
                    continue;
                }
                if let Some((d, frame)) = seal(&mut w[0], &mut lo) {
                    let bytes = encode_group(&d, frame);
                    let plain = decode(&encode_delta(&d), DecodeLimits::default()).unwrap();
                    prop_assert_eq!(decode_framed(&bytes, frame, DecodeLimits::default()).unwrap(), plain);
                }
            }
        }

        #[test]
        fn arbitrary_group_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            source in any::<u64>(),
            lo in 0u64..1000,
            span in 0u64..1000,
        ) {
            let mut b = bytes.clone();
            b.insert(0, MAGIC_GROUP);
            let _ = decode_framed(&b, GroupFrame { source, lo, hi: lo + span }, DecodeLimits::default());
            let _ = decode_framed(&b, GroupFrame { source, lo: u64::MAX - 1, hi: u64::MAX }, DecodeLimits::default());
        }
    }
}
