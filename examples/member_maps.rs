//! Whether a hash map would make a set's new members cheaper than the B-tree a set keeps them
//! in. The shape is the new-member row of `npm run bench`: 1,000 sets, members added round
//! the sets until each holds 200, each member inserted twice (into the state's set and into
//! the outgoing buffer's, as `SADD` does), then every member looked up once; first with the
//! bench's members, then with members scattered over byte order. The hash maps are std's
//! (hashbrown) with an FxHash-style hasher (no randomness: the core has none), growing as a
//! set grows, since a set's size is not known ahead.
//!
//! `cargo run --release --example member_maps`

use castamere::crdt::{Dot, DotSet, Key};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

const SETS: usize = 1000;
const MEMBERS: usize = 200_000;
const K: u64 = 0x517c_c1b7_2722_0a95;

/// FxHash's mixing, eight bytes at a time, finished as rustc-hash 2 finishes it.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    // The multiply carries bits up only: rotated, so that the high bits (those that mixed in
    // every byte) pick the bucket, which hashbrown takes from the low bits.
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(K);
    }
}

type Hashed = HashMap<Key, DotSet, BuildHasherDefault<Fx>>;

trait Members: Default {
    fn put(&mut self, k: Key, d: DotSet);
    fn has(&self, k: &Key) -> bool;
}

impl Members for BTreeMap<Key, DotSet> {
    fn put(&mut self, k: Key, d: DotSet) {
        self.insert(k, d);
    }
    fn has(&self, k: &Key) -> bool {
        self.contains_key(k)
    }
}

impl Members for Hashed {
    fn put(&mut self, k: Key, d: DotSet) {
        self.insert(k, d);
    }
    fn has(&self, k: &Key) -> bool {
        self.contains_key(k)
    }
}

/// Nanoseconds per member: adding it to a state's and a buffer's set, then looking it up.
fn time<M: Members>(members: &[Key]) -> (f64, f64) {
    let mut state: Vec<M> = (0..SETS).map(|_| M::default()).collect();
    let mut buffer: Vec<M> = (0..SETS).map(|_| M::default()).collect();
    let t = Instant::now();
    for (i, m) in members.iter().enumerate() {
        let d = DotSet::single(Dot { replica: 1, seq: i as u64 + 1 });
        state[i % SETS].put(m.clone(), d.clone());
        buffer[i % SETS].put(m.clone(), d);
    }
    let add = t.elapsed().as_nanos() as f64 / members.len() as f64;
    let t = Instant::now();
    let found = members.iter().enumerate().filter(|(i, m)| state[i % SETS].has(m)).count();
    let get = t.elapsed().as_nanos() as f64 / members.len() as f64;
    assert_eq!(found, members.len());
    (add, get)
}

fn main() {
    // The bench's members, "v0", "v1", ...: a set's members come near each other in byte
    // order, as user ids or timestamps often do. Then members scattered over byte order.
    let in_order: Vec<Key> = (0..MEMBERS).map(|i| Key::from(format!("v{i}").as_bytes())).collect();
    let scattered: Vec<Key> = (0..MEMBERS as u64)
        .map(|i| Key::from(format!("v{}", i.wrapping_mul(2_654_435_761) % 1_000_000_007).as_bytes()))
        .collect();
    println!("{SETS} sets of {} members, best of 5 (ns per member)", MEMBERS / SETS);
    for (shape, members) in [("members as in the bench", &in_order), ("members scattered", &scattered)] {
        // Alternating, best of five each: the machine is shared.
        let (mut b, mut h) = ((f64::MAX, f64::MAX), (f64::MAX, f64::MAX));
        for _ in 0..5 {
            let r = time::<BTreeMap<Key, DotSet>>(members);
            b = (b.0.min(r.0), b.1.min(r.1));
            let r = time::<Hashed>(members);
            h = (h.0.min(r.0), h.1.min(r.1));
        }
        println!("{shape}:");
        println!("  B-tree:   add to state and buffer {:>5.0}, look up {:>5.0}", b.0, b.1);
        println!("  hash map: add to state and buffer {:>5.0}, look up {:>5.0}", h.0, h.1);
    }
}
