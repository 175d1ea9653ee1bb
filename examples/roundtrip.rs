//! Native cost of one write's round between two replicas (write, push, the peer joins it,
//! its acknowledgement comes back) as the writer's history grows with no origin acknowledging
//! it, so that the peer holds every group. The p50 of each 1,000 rounds should stay flat.
//!
//! `cargo run --release --example roundtrip`

#[path = "../tests/support/pair.rs"]
mod pair;

use castamere::sync::{Config, Replica};
use pair::{deliver, run_pair};
use std::time::Instant;

fn main() {
    let config = Config { heartbeat_ms: 60_000, lease_ms: 120_000, ..Config::default() };
    let mut a = Replica::new(1, config.clone());
    let mut b = Replica::new(2, config);
    a.start(1_000);
    b.start(1_000);
    let mut now = run_pair(&mut a, &mut b, 1_000, 2_000, 100);
    let n = 40_000;
    let mut times = Vec::new();
    for i in 0..n {
        now += 1;
        let t = Instant::now();
        a.incr_by(now, b"views", 1).expect("an increment");
        a.push(now);
        deliver(&mut a, &mut b, now);
        deliver(&mut b, &mut a, now);
        times.push(t.elapsed().as_nanos() as u64);
        if i % 10_000 == 9_999 {
            let mut w = times[i - 999..=i].to_vec();
            w.sort();
            println!("writes {:>6}: p50 {} ns per round", i + 1, w[500]);
        }
    }
}
