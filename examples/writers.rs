//! What every writer that ever was costs a counter: each container start is a new replica id,
//! and a counter keeps one entry per replica that incremented it (and the causal context one
//! per replica that wrote anything), so both grow with every container that ever wrote. This
//! prints, as the number of past writers grows, the native cost of `GET`, of `INCR` (the
//! general path) and of an increment through the key's handle (the shim's hot path) on a
//! counter all of them incremented, of joining a past writer's next increment, and the bytes of
//! its snapshot (what a cold start loads). Each cost is also given as a multiple of its cost
//! at 10 writers in the same run.
//!
//! `cargo run --release --example writers`

use castamere::Store;
use std::time::Instant;

fn main() {
    let mut store = Store::new(1);
    let handle = store.intern(b"views").expect("a short key");
    let mut writers = 0u64;
    // The latest past writers, kept to increment again.
    let mut live: std::collections::VecDeque<Store> = Default::default();
    let mut base: Option<[f64; 4]> = None;
    println!(
        "{:>8} {:>17} {:>17} {:>17} {:>17} {:>15}",
        "writers", "GET", "INCR", "INCR by handle", "join an INCR", "snapshot bytes"
    );
    for target in [10u64, 100, 1_000, 10_000, 100_000] {
        // Each past writer: a replica that incremented "views" once, its delta joined here.
        while writers < target {
            writers += 1;
            let mut w = Store::new(1_000_000 + writers);
            w.exec(0, &[b"INCR", b"views"]).expect("an increment");
            store.join_delta(&w.take_delta().expect("a delta"));
            live.push_back(w);
            if live.len() > 100 {
                live.pop_front();
            }
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
        let t = Instant::now();
        for _ in 0..reps {
            store.incr_by_handle(handle, 1).expect("an increment");
        }
        let by_handle = t.elapsed().as_nanos() as f64 / reps as f64;
        store.take_delta();
        // Past writers' increments, joined as a peer's delta arrives (made beforehand, by the
        // latest writers in turn), into a copy of the store, which keeps its count of writers.
        let joins = 1_000;
        let n = live.len();
        let deltas: Vec<_> = (0..joins)
            .map(|i| {
                let w = &mut live[i % n];
                w.exec(0, &[b"INCR", b"views"]).expect("an increment");
                w.take_delta().expect("a delta")
            })
            .collect();
        let mut copy = store.clone();
        let t = Instant::now();
        for d in &deltas {
            copy.join_delta(d);
        }
        let join = t.elapsed().as_nanos() as f64 / joins as f64;
        // The store hears them too (untimed), as the writers' next deltas build on them.
        drop(copy);
        for d in &deltas {
            store.join_delta(d);
        }
        let costs = [get, incr, by_handle, join];
        let b = *base.get_or_insert(costs);
        let cell = |i: usize| format!("{:.0} ns ({:.1}x)", costs[i], costs[i] / b[i]);
        println!(
            "{writers:>8} {:>17} {:>17} {:>17} {:>17} {:>15}",
            cell(0),
            cell(1),
            cell(2),
            cell(3),
            store.snapshot().len()
        );
    }
}
