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
