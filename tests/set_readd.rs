//! Contract: adding a set member whose only dot is this replica's and has not left the store
//! (not taken in the buffer, not shown in a snapshot) leaves the member as it is, and no
//! replica can tell: every read, on every replica, after any exchange, is what it would be had
//! the add made a new dot. The reference system below is the same one with a snapshot taken
//! before every add, which shows the state and so makes every add a new dot (that a snapshot
//! does so is checked on its own, last).
#![cfg(not(target_arch = "wasm32"))]

use castamere::{Reply, Store};
use proptest::prelude::*;

const REPLICAS: usize = 3;
const KEYS: [&str; 1] = ["a"];

#[derive(Debug, Clone)]
enum Op {
    /// `SADD`, `SREM` or `DEL` at a replica.
    Local(usize, u8, usize, u8),
    /// A replica takes its buffer; the delta goes into its outbox.
    Take(usize),
    /// The next message of one replica's outbox that another has not had yet reaches it.
    Deliver(usize, usize),
    /// One replica's snapshot reaches another (as a bootstrap or a resync would carry it).
    Snapshot(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..REPLICAS, 0u8..4, 0..KEYS.len(), 0u8..2).prop_map(|(r, c, k, m)| Op::Local(r, c, k, m)),
        3 => (0..REPLICAS).prop_map(Op::Take),
        4 => (0..REPLICAS, 0..REPLICAS).prop_map(|(a, b)| Op::Deliver(a, b)),
        3 => (0..REPLICAS, 0..REPLICAS).prop_map(|(a, b)| Op::Snapshot(a, b)),
    ]
}

/// Three replicas, their outboxes, and how far each replica has read each outbox.
struct System {
    stores: Vec<Store>,
    outbox: Vec<Vec<Vec<u8>>>,
    read: Vec<Vec<usize>>,
    /// The reference: a snapshot before every add.
    shows_before_add: bool,
}

impl System {
    fn new(shows_before_add: bool) -> Self {
        System {
            stores: (0..REPLICAS).map(|r| Store::new(r as u64 + 1)).collect(),
            outbox: vec![Vec::new(); REPLICAS],
            read: vec![vec![0; REPLICAS]; REPLICAS],
            shows_before_add,
        }
    }

    fn run(&mut self, op: &Op) -> Option<Reply> {
        match *op {
            Op::Local(r, c, k, m) => {
                let member = format!("m{m}");
                let (key, member) = (KEYS[k].as_bytes(), member.as_bytes());
                let s = &mut self.stores[r];
                let words: Vec<&[u8]> = match c {
                    0 | 1 => {
                        if self.shows_before_add {
                            s.snapshot();
                        }
                        vec![b"SADD", key, member]
                    }
                    2 => vec![b"SREM", key, member],
                    _ => vec![b"DEL", key],
                };
                return Some(s.exec(0, &words).expect("a set command"));
            }
            Op::Take(r) => {
                if let Some(d) = self.stores[r].take_deltas() {
                    self.outbox[r].push(d);
                }
            }
            Op::Deliver(from, to) if from != to => {
                if let Some(d) = self.outbox[from].get(self.read[to][from]) {
                    self.stores[to].apply(d).expect("honest bytes");
                    self.read[to][from] += 1;
                }
            }
            Op::Snapshot(from, to) if from != to => {
                let snap = self.stores[from].snapshot();
                self.stores[to].apply(&snap).expect("a snapshot");
            }
            Op::Deliver(..) | Op::Snapshot(..) => {}
        }
        None
    }

    /// What every replica reads: each key's members, sorted.
    fn reads(&mut self) -> Vec<Reply> {
        let mut out = Vec::new();
        for s in &mut self.stores {
            for k in KEYS {
                out.push(s.exec(0, &[b"SMEMBERS", k.as_bytes()]).expect("SMEMBERS"));
            }
        }
        out
    }

    /// Every buffer taken and every message delivered everywhere.
    fn settle(&mut self) {
        for r in 0..REPLICAS {
            self.run(&Op::Take(r));
        }
        for to in 0..REPLICAS {
            for from in 0..REPLICAS {
                while from != to && self.read[to][from] < self.outbox[from].len() {
                    self.run(&Op::Deliver(from, to));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
    #[test]
    fn an_add_left_as_it_is_reads_as_a_new_dot(ops in proptest::collection::vec(op(), 1..60)) {
        let mut fast = System::new(false);
        let mut reference = System::new(true);
        for op in &ops {
            prop_assert_eq!(fast.run(op), reference.run(op), "{:?}", op);
            prop_assert_eq!(fast.reads(), reference.reads(), "after {:?}", op);
        }
        fast.settle();
        reference.settle();
        let reads = fast.reads();
        prop_assert_eq!(&reads, &reference.reads());
        let per_replica = reads.len() / REPLICAS;
        for r in 1..REPLICAS {
            prop_assert_eq!(&reads[..per_replica], &reads[r * per_replica..(r + 1) * per_replica], "converged");
        }
    }
}

fn sadd(s: &mut Store, m: &str) -> Reply {
    s.exec(0, &[b"SADD", b"online", m.as_bytes()]).expect("SADD")
}

#[test]
fn an_unseen_member_is_added_again_without_a_write() {
    let mut s = Store::new(1);
    assert_eq!(sadd(&mut s, "arya"), Reply::Int(1));
    let first = s.last_write();
    assert_eq!(sadd(&mut s, "arya"), Reply::Int(0));
    assert_eq!(s.last_write(), first, "no new dot while the first is unseen");
    // Through an interned key too (the shim's typed path).
    let h = s.intern(b"online").expect("short key");
    assert_eq!(s.write_by_handle(0, h, castamere::store::HandleWrite::Sadd, b"arya", b""), Ok(Reply::Int(0)));
    assert_eq!(s.last_write(), first);

    // Once the buffer is taken, a peer may have the dot: the add is a new one.
    s.take_deltas().expect("a delta");
    assert_eq!(sadd(&mut s, "arya"), Reply::Int(0));
    assert_eq!(s.last_write(), first + 1);
    // And once a snapshot shows the state.
    assert_eq!(sadd(&mut s, "bran"), Reply::Int(1));
    s.snapshot();
    let shown = s.last_write();
    assert_eq!(sadd(&mut s, "bran"), Reply::Int(0));
    assert_eq!(s.last_write(), shown + 1);
}

#[test]
fn an_add_after_a_snapshot_wins_over_a_removal_that_saw_it() {
    // A peer bootstraps from a snapshot holding this replica's unshipped add, and removes the
    // member; this replica adds it again concurrently. The add wins, as it would had the
    // first add been shipped in a delta.
    let mut a = Store::new(1);
    let mut b = Store::new(2);
    sadd(&mut a, "sansa");
    b.apply(&a.snapshot()).expect("a snapshot");
    b.exec(0, &[b"SREM", b"online", b"sansa"]).expect("SREM");
    sadd(&mut a, "sansa");
    a.apply(&b.take_deltas().expect("the removal")).expect("honest bytes");
    b.apply(&a.take_deltas().expect("the adds")).expect("honest bytes");
    for s in [&mut a, &mut b] {
        assert_eq!(s.exec(0, &[b"SISMEMBER", b"online", b"sansa"]), Ok(Reply::Int(1)));
    }
}
