//! The deterministic simulator over many seeds. `cargo test` runs 1,000 seeds;
//! `SIM_SEEDS=N cargo test --release sim` runs N; `SIM_SEED=S` replays exactly one.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/sim.rs"]
mod sim;

use sim::{Rng, Scenario, Sim};

fn run_seed(seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed ^ 0xC0FFEE);
    let scenario = Scenario::random(&mut rng);
    let mut sim = Sim::new(seed, scenario.clone());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sim.run();
        sim.check()
    }));
    match outcome {
        Ok(bad) if bad.is_empty() => Ok(()),
        Ok(bad) => Err(format!(
            "seed {seed} failed (replay: SIM_SEED={seed} cargo test --test sim):\n  {}\nscenario: {scenario:?}\nfaults: {:?}",
            bad.join("\n  "),
            sim.faults
        )),
        Err(p) => Err(format!(
            "seed {seed} panicked (replay: SIM_SEED={seed} cargo test --test sim): {:?}",
            p.downcast_ref::<String>().map(String::as_str).or(p.downcast_ref::<&str>().copied())
        )),
    }
}

#[test]
fn sim_seeds_converge_and_lose_no_acknowledged_write() {
    if let Ok(s) = std::env::var("SIM_SEED") {
        let seed: u64 = s.parse().expect("SIM_SEED is a number");
        if let Err(e) = run_seed(seed) {
            panic!("{e}");
        }
        return;
    }
    let n: u64 = std::env::var("SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (0..n).filter(|i| i % threads == t).filter_map(|seed| run_seed(seed).err()).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker thread")).collect()
    });
    if !failures.is_empty() {
        let seeds: Vec<&str> = failures.iter().map(|f| f.lines().next().unwrap_or("")).collect();
        panic!("{} of {n} seeds failed:\n{}\nfirst:\n{}", failures.len(), seeds.join("\n"), failures[0]);
    }
}

#[test]
fn a_spike_on_hot_keys_reaches_the_origin_in_few_batches() {
    // No faults, one hot counter: the origin sees a trickle of compacted batches.
    let mut scenario = Scenario::calm(7);
    scenario.replicas = 4;
    scenario.ops = 2_000;
    scenario.chaos_ms = 4_000;
    scenario.hot_keys = 1;
    scenario.mixed = false;
    let mut sim = Sim::new(7, scenario);
    sim.run();
    assert!(sim.check().is_empty(), "{:?}", sim.check());
    let per_request = sim.truth.writes as f64 / sim.origin_requests as f64;
    assert!(per_request >= 20.0, "only {per_request:.1} writes per origin request");
}

#[test]
fn a_dead_writer_whose_peers_dropped_its_older_groups_still_reaches_the_origin() {
    // The origin lags (one batch every 3 s) and peers hold only each writer's newest group:
    // when the writer dies before its first batch, the peer that adopts its writes has to
    // ship them inside a full state.
    let mut scenario = Scenario::calm(11);
    scenario.replicas = 3;
    scenario.config.origin_interval_ms = 3_000;
    scenario.config.held_max_bytes = 0;
    let mut sim = Sim::new(11, scenario);
    let start = sim.now;
    for k in 0..200u64 {
        sim.run_until(start + 5 * k);
        sim.exec(0, &[b"INCRBY", b"views", b"1"]);
    }
    sim.run_until(start + 1_200);
    assert_eq!(sim.origin.mark(sim.nodes[0].replica.id()), 0, "the writer's batch went out before it died");
    assert!(sim.nodes[0].replica.region_acked() >= 150, "peers acknowledged {}", sim.nodes[0].replica.region_acked());
    sim.nodes[0].status = sim::Status::Crashed;
    let dropped: u64 = [1, 2].iter().map(|&i| sim.nodes[i].replica.stats().held_dropped).sum();
    assert!(dropped > 0, "no peer dropped a held group");
    sim.heal();
    assert!(sim.check().is_empty(), "{:?}", sim.check());
    assert_eq!(sim.origin.store().exec_read(&[b"GET", b"views"]).unwrap(), castamere::Reply::Int(200));
}

#[test]
fn a_fleet_of_short_lived_containers_counts_every_increment() {
    // Containers come and go (each a replica with a new id, which increments one counter a
    // few times and is reclaimed), as a Lambda fleet's do through a spike: the counter ends
    // with an entry per container that ever ran, many more than the 32 beyond which it keeps
    // their sum and joins a peer's increment by search. Every replica and the origin count
    // every increment, on a perfect network and on lossy ones that duplicate and reorder.
    fleet(23, 0.0, 0.0);
    for seed in 24..30 {
        fleet(seed, 0.05, 0.1);
    }
}

fn fleet(seed: u64, loss: f64, dup: f64) {
    let mut scenario = Scenario::calm(seed);
    scenario.replicas = 3;
    scenario.loss = loss;
    scenario.dup = dup;
    scenario.delay = (1, 40);
    let c = scenario.config.clone();
    let spacing = c.lease_ms + c.repair_grace_ms * 2 + c.origin_interval_ms * 2;
    let mut sim = Sim::new(seed, scenario);
    let mut total = 0u64;
    for k in 0..60u64 {
        let i = sim.spawn();
        for n in 1..=(1 + k % 4) {
            let t = sim.now + 20;
            sim.run_until(t);
            sim.exec(i, &[b"INCRBY", b"views", n.to_string().as_bytes()]);
            total += n;
            // The long-lived replicas count too.
            let j = (k % 3) as usize;
            sim.exec(j, &[b"INCRBY", b"views", b"1"]);
            total += 1;
        }
        let t = sim.now + spacing;
        sim.run_until(t);
        sim.nodes[i].status = sim::Status::Crashed;
    }
    sim.heal();
    assert!(sim.check().is_empty(), "seed {seed}: {:?}", sim.check());
    let want = castamere::Reply::Int(total as i64);
    assert_eq!(sim.origin.store().exec_read(&[b"GET", b"views"]).unwrap(), want);
    for i in sim.running() {
        assert_eq!(sim.nodes[i].replica.store().exec_read(&[b"GET", b"views"]).unwrap(), want);
    }
    // The counter holds a contribution of each of the 63 writers, at the origin and in each
    // replica.
    let writers = |s: &castamere::Store| {
        s.get(b"views").and_then(|v| v.get::<castamere::crdt::PnCounter>()).map(|c| c.contributions().len())
    };
    assert_eq!(writers(sim.origin.store()), Some(63));
    for i in sim.running() {
        assert_eq!(writers(sim.nodes[i].replica.store()), Some(63));
    }
}
