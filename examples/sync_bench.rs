//! Sync bandwidth and origin batching, measured on the deterministic simulator.
//!
//! Runs a Red-Wedding-like workload (16 replicas, Zipf-skewed keys, mixed types) and a spike
//! on a few hot keys, and prints, for the same traffic in the same run:
//! - bytes delivered to peers per update: castamere, classic delta-interval anti-entropy
//!   without back-propagation avoidance or redundancy removal (every received delta-group is
//!   joined into the receiver's buffer and forwarded to every neighbour each interval), and
//!   full-state shipping (every sealed interval ships the whole state to every neighbour);
//! - origin requests and bytes per write (the batching factor);
//! - virtual time to convergence once writes stop.
//!
//! `cargo run --release --example sync_bench [-- --json FILE]`

#[path = "../tests/support/sim.rs"]
mod sim;

use std::cell::RefCell;
use std::rc::Rc;

use castamere::codec::{self, Blob, DecodeLimits};
use castamere::crdt::Causal;
use castamere::store::Keyspace;
use castamere::sync::Message;
use sim::{Rng, Scenario, Sim};

struct Workload {
    name: &'static str,
    replicas: usize,
    keys: usize,
    writes: usize,
    seconds: u64,
    counters_only: bool,
}

#[derive(Debug, Default)]
struct Result {
    name: &'static str,
    writes: u64,
    castamere_bytes: u64,
    castamere_payload: u64,
    classic_bytes: u64,
    full_state_bytes: u64,
    origin_requests: u64,
    origin_bytes: u64,
    convergence_ms: u64,
}

fn zipf_cdf(n: usize, s: f64) -> Vec<f64> {
    let w: Vec<f64> = (1..=n).map(|i| 1.0 / (i as f64).powf(s)).collect();
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    w.iter()
        .map(|x| {
            acc += x / total;
            acc
        })
        .collect()
}

fn run(w: &Workload) -> Result {
    let mut rng = Rng::new(42);
    let mut config = sim::sim_config(1);
    config.heartbeat_ms = 1_000;
    config.lease_ms = 5_000;
    config.repair_grace_ms = 2_500;
    config.origin_interval_ms = 1_000;
    config.origin_check_ms = 30_000;
    let scenario = Scenario {
        replicas: w.replicas,
        max_replicas: w.replicas,
        ops: w.writes,
        chaos_ms: w.seconds * 1000,
        loss: 0.0,
        dup: 0.0,
        delay: (1, 5),
        wan: (40, 80),
        faults: false,
        hot_keys: w.keys,
        mixed: !w.counters_only,
        config,
    };
    let mut sim = Sim::new(42, scenario);
    sim.run_until(sim.now + 500);

    // Classic delta-interval: each replica joins every group it receives into a buffer and
    // forwards the buffer to all its neighbours once per interval.
    let n = w.replicas as u64;
    let buffers: Rc<RefCell<Vec<Causal<Keyspace>>>> = Rc::new(RefCell::new(vec![Causal::default(); w.replicas]));
    let classic = Rc::new(RefCell::new(0u64));
    let payload = Rc::new(RefCell::new(0u64));
    {
        let buffers = buffers.clone();
        let classic = classic.clone();
        let payload = payload.clone();
        sim.on_deliver = Some(Box::new(move |j, bytes| {
            if let Ok(Message::Deltas(d)) = Message::decode(bytes) {
                *payload.borrow_mut() += d.delta.len() as u64;
                // The writer's own broadcast reaches every neighbour, as in castamere.
                *classic.borrow_mut() += d.delta.len() as u64;
                let frame = codec::GroupFrame { source: d.from, lo: d.lo, hi: d.hi };
                if let Ok(Blob::Delta(delta)) = codec::decode_framed(&d.delta, frame, DecodeLimits::default()) {
                    buffers.borrow_mut()[j].join_delta(&delta, true);
                }
            }
        }));
    }
    let flush_classic = |buffers: &Rc<RefCell<Vec<Causal<Keyspace>>>>, classic: &Rc<RefCell<u64>>| {
        for b in buffers.borrow_mut().iter_mut() {
            if !b.ctx.is_empty() {
                *classic.borrow_mut() += (n - 1) * codec::encode_delta(b).len() as u64;
                *b = Causal::default();
            }
        }
    };

    let cdf = zipf_cdf(w.keys, 1.0);
    let start = sim.now;
    let peers_before = sim.delivered_bytes;
    let origin_before = (sim.origin_requests, sim.origin_bytes);
    let mut full_state = 0u64;
    let interval = sim.scenario.config.delta_interval_ms;
    let mut next_flush = start + interval;
    let mut groups_before: Vec<u64> = sim.nodes.iter().map(|n| n.replica.stats().groups).collect();
    for k in 0..w.writes {
        let at = start + w.seconds * 1000 * k as u64 / w.writes as u64;
        while next_flush <= at {
            sim.run_until(next_flush);
            flush_classic(&buffers, &classic);
            // Full-state shipping: each replica that sealed an interval ships its state.
            for (i, node) in sim.nodes.iter().enumerate() {
                let g = node.replica.stats().groups;
                if g > groups_before[i] {
                    full_state += (n - 1) * node.replica.store().snapshot().len() as u64;
                    groups_before[i] = g;
                }
            }
            next_flush += interval;
        }
        sim.run_until(at);
        let i = rng.below(n) as usize;
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let key = format!("page:{}", cdf.partition_point(|&c| c < x).min(w.keys - 1));
        let kind = if w.counters_only { 0 } else { rng.below(10) };
        let member = format!("u{}", rng.below(50));
        let words: Vec<Vec<u8>> = match kind {
            0..=6 => vec![b"INCR".to_vec(), format!("{key}:views").into_bytes()],
            7 => vec![b"SET".to_vec(), format!("{key}:body").into_bytes(), format!("rev {k}").into_bytes()],
            8 => vec![b"SADD".to_vec(), format!("{key}:watchers").into_bytes(), member.into_bytes()],
            _ => vec![b"HINCRBY".to_vec(), format!("{key}:edits").into_bytes(), member.into_bytes(), b"1".to_vec()],
        };
        let refs: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        sim.exec(i, &refs);
    }
    // Writes stop: how long until every replica holds the same state?
    let stop = sim.now;
    let mut t = stop;
    loop {
        t += 5;
        sim.run_until(t);
        flush_classic(&buffers, &classic);
        if sim.converged() {
            break;
        }
        assert!(t < stop + 60_000, "no convergence within a minute");
    }
    let convergence_ms = t - stop;
    // Let the last origin batches go out.
    sim.run_until(t + 3_000);
    for i in sim.running() {
        let now = sim.now;
        sim.nodes[i].replica.flush_origin(now);
        sim.drain(i);
    }
    sim.run_until(sim.now + 3_000);
    assert!(sim.check().is_empty(), "{:?}", sim.check());
    let classic_bytes = *classic.borrow();
    let castamere_payload = *payload.borrow();
    Result {
        name: w.name,
        writes: sim.truth.writes,
        castamere_bytes: sim.delivered_bytes - peers_before,
        castamere_payload,
        classic_bytes,
        full_state_bytes: full_state,
        origin_requests: sim.origin_requests - origin_before.0,
        origin_bytes: sim.origin_bytes - origin_before.1,
        convergence_ms,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // --quick (as `npm run bench -- --quick` and its test run it): a fortieth of the writes.
    let scale = if quick { 40 } else { 1 };
    let workloads = [
        Workload {
            name: "red-wedding (16 replicas, 1000 Zipf keys, mixed types)",
            replicas: 16,
            keys: 1000,
            writes: 200_000 / scale,
            seconds: 10,
            counters_only: false,
        },
        Workload {
            name: "spike on 5 hot keys (16 replicas, increments)",
            replicas: 16,
            keys: 5,
            writes: 300_000 / scale,
            seconds: 10,
            counters_only: true,
        },
    ];
    let results: Vec<Result> = workloads.iter().map(run).collect();
    println!("castamere sync benchmark (deterministic simulator, virtual time; seed 42)");
    for r in &results {
        let per = |b: u64| b as f64 / r.writes as f64;
        println!("\n{}: {} writes", r.name, r.writes);
        println!(
            "  bytes to peers per update   castamere, every message {:8.1}  (delta payloads alone {:.1})",
            per(r.castamere_bytes),
            per(r.castamere_payload)
        );
        println!(
            "                              classic delta-interval payloads {:8.1}  ({:.1}x castamere's payloads)",
            per(r.classic_bytes),
            r.classic_bytes as f64 / r.castamere_payload as f64
        );
        println!(
            "                              full-state shipping {:11.1}  ({:.1}x castamere; castamere is {:.4} of it)",
            per(r.full_state_bytes),
            r.full_state_bytes as f64 / r.castamere_bytes as f64,
            r.castamere_bytes as f64 / r.full_state_bytes as f64
        );
        println!(
            "  origin: {} requests, {:.1} writes per request, {:.2} bytes per write",
            r.origin_requests,
            r.writes as f64 / r.origin_requests as f64,
            r.origin_bytes as f64 / r.writes as f64
        );
        println!("  convergence after writes stop: {} ms (virtual)", r.convergence_ms);
    }
    if let Some(i) = std::env::args().position(|a| a == "--json") {
        let path = std::env::args().nth(i + 1).expect("--json FILE");
        let items: Vec<String> = results
            .iter()
            .map(|r| {
                format!(
                    "{{\"name\":{:?},\"writes\":{},\"peerBytesPerUpdate\":{:.2},\"peerPayloadBytesPerUpdate\":{:.2},\"classicBytesPerUpdate\":{:.2},\"fullStateBytesPerUpdate\":{:.2},\"originRequests\":{},\"writesPerOriginRequest\":{:.1},\"originBytesPerWrite\":{:.3},\"convergenceMs\":{}}}",
                    r.name,
                    r.writes,
                    r.castamere_bytes as f64 / r.writes as f64,
                    r.castamere_payload as f64 / r.writes as f64,
                    r.classic_bytes as f64 / r.writes as f64,
                    r.full_state_bytes as f64 / r.writes as f64,
                    r.origin_requests,
                    r.writes as f64 / r.origin_requests as f64,
                    r.origin_bytes as f64 / r.writes as f64,
                    r.convergence_ms
                )
            })
            .collect();
        std::fs::write(path, format!("[{}]\n", items.join(",\n"))).expect("write json");
    }
}
