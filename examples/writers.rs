//! What every writer that ever was costs a counter: each container start is a new replica id,
//! and a counter keeps one entry per replica that incremented it (and the causal context one
//! per replica that wrote anything), so both grow with every container that ever wrote. This
//! prints, as the number of past writers grows, the native cost of `GET` and `INCR` on a
//! counter all of them incremented, and the bytes of its snapshot (what a cold start loads).
//!
//! `cargo run --release --example writers`

use castamere::Store;
use std::time::Instant;

fn main() {
    let mut store = Store::new(1);
    let mut writers = 0u64;
    println!("{:>8} {:>12} {:>12} {:>16}", "writers", "GET views", "INCR views", "snapshot bytes");
    for target in [10u64, 100, 1_000, 10_000, 100_000] {
        // Each past writer: a replica that incremented "views" once, its delta joined here.
        while writers < target {
            writers += 1;
            let mut w = Store::new(1_000_000 + writers);
            w.exec(0, &[b"INCR", b"views"]).expect("an increment");
            store.join_delta(&w.take_delta().expect("a delta"));
        }
        let reps = (1_000_000 / target).clamp(10, 100_000);
        let t = Instant::now();
        for _ in 0..reps {
            store.exec(0, &[b"GET", b"views"]).expect("a read");
        }
        let get = t.elapsed().as_nanos() as f64 / reps as f64;
        let t = Instant::now();
        for _ in 0..reps {
            store.exec(0, &[b"INCR", b"views"]).expect("an increment");
        }
        let incr = t.elapsed().as_nanos() as f64 / reps as f64;
        store.take_delta();
        println!("{writers:>8} {:>9.0} ns {:>9.0} ns {:>16}", get, incr, store.snapshot().len());
    }
}
