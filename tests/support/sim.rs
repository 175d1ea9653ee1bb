//! A deterministic network of replicas, a relay and an origin on a virtual clock, driven by a
//! seed: message loss, duplication, reordering and delay; partitions that heal; replicas
//! crashed (state lost), frozen (no timers run) and started cold; random workloads over every
//! CRDT type, skewed toward a few hot keys. Like quinn-proto's test harness, it steps the
//! state machines until nothing is left to do, and only ever moves bytes.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use castamere::crdt::{CausalContext, Dot, ReplicaId};
use castamere::sync::{Config, Destination, Event, Level, Origin, Replica};
use castamere::{Limits, Reply, Store};

/// xorshift64*: deterministic, seedable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// Index in 0..n, Zipf-like (weight 1/(i+1)).
    pub fn zipf(&mut self, n: usize) -> usize {
        let total: f64 = (1..=n).map(|i| 1.0 / i as f64).sum();
        let mut x = (self.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        for i in 0..n {
            x -= 1.0 / (i + 1) as f64;
            if x <= 0.0 {
                return i;
            }
        }
        n - 1
    }
}

/// What a simulated schedule does.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub replicas: usize,
    pub max_replicas: usize,
    pub ops: usize,
    pub chaos_ms: u64,
    pub loss: f64,
    pub dup: f64,
    pub delay: (u64, u64),
    pub wan: (u64, u64),
    pub faults: bool,
    pub hot_keys: usize,
    pub mixed: bool,
    pub config: Config,
}

impl Scenario {
    /// A random small scenario for a seed (the property test).
    pub fn random(rng: &mut Rng) -> Scenario {
        let replicas = rng.range(2, 5) as usize;
        Scenario {
            replicas,
            max_replicas: replicas + 3,
            ops: rng.range(20, 160) as usize,
            chaos_ms: rng.range(2_000, 12_000),
            loss: [0.0, 0.01, 0.05, 0.2][rng.below(4) as usize],
            dup: [0.0, 0.02, 0.1][rng.below(3) as usize],
            delay: (1, rng.range(2, 60)),
            wan: (5, rng.range(10, 120)),
            faults: rng.chance(0.8),
            hot_keys: rng.range(2, 12) as usize,
            mixed: true,
            config: sim_config(rng.next()),
        }
        .with_held_max_bytes([16 << 20, 2048, 256, 0][rng.below(4) as usize])
    }
}

impl Scenario {
    /// The random scenario of `seed` with a perfect network and no faults: for tests that set
    /// up one situation on purpose.
    pub fn calm(seed: u64) -> Scenario {
        let mut s = Scenario::random(&mut Rng::new(seed));
        s.loss = 0.0;
        s.dup = 0.0;
        s.faults = false;
        s
    }

    /// The same scenario with peers' groups held up to `bytes` (drawn last, so that every
    /// other draw of a seed stays what it was).
    fn with_held_max_bytes(mut self, bytes: usize) -> Scenario {
        self.config.held_max_bytes = bytes;
        self
    }
}

/// Timers scaled for the simulator (the same ratios as the defaults).
pub fn sim_config(seed: u64) -> Config {
    Config {
        delta_interval_ms: 5,
        heartbeat_ms: 300,
        lease_ms: 1_200,
        retransmit_ms: 100,
        repair_grace_ms: 600,
        origin_interval_ms: 400,
        origin_retry_ms: 80,
        bootstrap_budget_ms: 300,
        origin_check_ms: 3_000,
        seed,
        ..Config::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Frozen { until: u64 },
    Crashed,
}

pub struct Node {
    pub replica: Replica,
    pub status: Status,
    pub partitioned_until: u64,
    pub started: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum To {
    Node(usize),
    Origin { reply_to: usize },
}

/// Called with (receiving node, message bytes) before each delivery to a replica.
pub type DeliverHook = Box<dyn FnMut(usize, &[u8])>;

/// One increment: `(write seq, amount)`.
pub type Increment = (u64, i64);

/// A packet in flight: `(delivery time, tie-breaker, destination, bytes)`.
type Packet = Reverse<(u64, u64, To, Vec<u8>)>;

/// What the load generator and the replicas' events say happened: the ground truth.
#[derive(Debug, Default)]
pub struct Truth {
    /// Per counter key, per replica: `(write seq, increment)` in order.
    pub increments: BTreeMap<Vec<u8>, BTreeMap<ReplicaId, Vec<Increment>>>,
    /// Highest own write acknowledged at region, per replica.
    pub region: BTreeMap<ReplicaId, u64>,
    /// Highest own write acknowledged at the origin, per replica.
    pub origin: BTreeMap<ReplicaId, u64>,
    pub writes: u64,
}

pub struct Sim {
    pub rng: Rng,
    pub now: u64,
    pub scenario: Scenario,
    pub nodes: Vec<Node>,
    pub origin: Origin,
    queue: BinaryHeap<Packet>,
    seq: u64,
    next_id: ReplicaId,
    pub truth: Truth,
    pub origin_requests: u64,
    pub origin_bytes: u64,
    pub peer_bytes: u64,
    /// Bytes delivered to replicas (fan-out counted), and how many deliveries.
    pub delivered_bytes: u64,
    pub delivered_messages: u64,
    /// Called with (receiving node, message bytes) before each delivery to a replica.
    pub on_deliver: Option<DeliverHook>,
    last_crash: u64,
    pub faults: Vec<String>,
}

impl Sim {
    pub fn new(seed: u64, scenario: Scenario) -> Sim {
        let mut sim = Sim {
            rng: Rng::new(seed),
            now: 1_000,
            nodes: Vec::new(),
            origin: Origin::new(Limits::default()),
            queue: BinaryHeap::new(),
            seq: 0,
            next_id: 1 + (seed % 1000) * 1000,
            truth: Truth::default(),
            origin_requests: 0,
            origin_bytes: 0,
            peer_bytes: 0,
            delivered_bytes: 0,
            delivered_messages: 0,
            on_deliver: None,
            last_crash: 0,
            faults: Vec::new(),
            scenario,
        };
        for _ in 0..sim.scenario.replicas {
            sim.spawn();
        }
        sim
    }

    /// Starts a new replica (a cold start) with a fresh id.
    pub fn spawn(&mut self) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        let mut config = self.scenario.config.clone();
        config.seed = self.rng.next();
        let mut replica = Replica::new(id, config);
        replica.start(self.now);
        self.nodes.push(Node { replica, status: Status::Running, partitioned_until: 0, started: true });
        let i = self.nodes.len() - 1;
        self.drain(i);
        i
    }

    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].status == Status::Running).collect()
    }

    pub fn alive(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].status != Status::Crashed).collect()
    }

    fn connected(&self, i: usize) -> bool {
        self.nodes[i].status == Status::Running && self.nodes[i].partitioned_until <= self.now
    }

    fn schedule(&mut self, at: u64, to: To, bytes: Vec<u8>) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, to, bytes)));
    }

    fn link(&mut self, to: To, bytes: Vec<u8>, lossy: bool, (lo, hi): (u64, u64)) {
        if lossy && self.rng.chance(self.scenario.loss) {
            return;
        }
        let at = self.now + self.rng.range(lo, hi);
        if lossy && self.rng.chance(self.scenario.dup) {
            let again = at + self.rng.range(lo, hi);
            self.schedule(again, to.clone(), bytes.clone());
        }
        self.schedule(at, to, bytes);
    }

    /// Moves everything node `i` wants to send into the network, and records its events.
    pub fn drain(&mut self, i: usize) {
        let lossy = self.scenario.loss > 0.0 || self.scenario.dup > 0.0;
        while let Some(t) = self.nodes[i].replica.poll_transmit() {
            if !self.connected(i) {
                continue;
            }
            match t.destination {
                Destination::Region | Destination::Membership => {
                    self.peer_bytes += t.payload.len() as u64;
                    for j in 0..self.nodes.len() {
                        if j != i && self.nodes[j].status != Status::Crashed {
                            self.link(To::Node(j), t.payload.clone(), lossy, self.scenario.delay);
                        }
                    }
                }
                Destination::Peer(id) => {
                    self.peer_bytes += t.payload.len() as u64;
                    if let Some(j) = self.nodes.iter().position(|n| n.replica.id() == id) {
                        self.link(To::Node(j), t.payload, lossy, self.scenario.delay);
                    }
                }
                Destination::Origin => {
                    self.origin_requests += 1;
                    self.origin_bytes += t.payload.len() as u64;
                    self.link(To::Origin { reply_to: i }, t.payload, lossy, self.scenario.wan);
                }
            }
        }
        let id = self.nodes[i].replica.id();
        while let Some(e) = self.nodes[i].replica.poll_event() {
            if let Event::Acked { level, upto } = e {
                let m = match level {
                    Level::Region => self.truth.region.entry(id).or_default(),
                    Level::Origin => self.truth.origin.entry(id).or_default(),
                    Level::Local => continue,
                };
                *m = (*m).max(upto);
            }
        }
    }

    fn deliver(&mut self, to: To, bytes: Vec<u8>) {
        match to {
            To::Node(j) => {
                if !self.connected(j) {
                    return;
                }
                let now = self.now;
                if let Ok(t) = std::env::var("SIM_TRACE") {
                    let (id, key) = t.split_once(':').unwrap_or((&t, "r0"));
                    if self.nodes[j].replica.id().to_string() == id {
                        let m = castamere::sync::Message::decode(&bytes).unwrap();
                        let desc = match &m {
                            castamere::sync::Message::Deltas(d) => {
                                format!("Deltas from {} ({}, {}]", d.from, d.lo, d.hi)
                            }
                            castamere::sync::Message::SyncReply { from, groups, state, .. } => {
                                format!("SyncReply from {from} groups {} state {}", groups.len(), state.is_some())
                            }
                            castamere::sync::Message::Snapshot { .. } => "Snapshot".into(),
                            _ => String::new(),
                        };
                        if !desc.is_empty() {
                            let before = format!("{:?}", self.nodes[j].replica.store().get(key.as_bytes()));
                            let _ = self.nodes[j].replica.handle_message(now, &bytes);
                            println!(
                                "t={now} {id} <- {desc}\n   before {before}\n   after  {:?}\n   vv {:?}",
                                self.nodes[j].replica.store().get(key.as_bytes()),
                                self.nodes[j].replica.store().context()
                            );
                            self.drain(j);
                            return;
                        }
                    }
                }
                self.delivered_bytes += bytes.len() as u64;
                self.delivered_messages += 1;
                if let Some(f) = self.on_deliver.as_mut() {
                    f(j, &bytes);
                }
                let r = self.nodes[j].replica.handle_message(now, &bytes);
                assert!(r.is_ok(), "replica rejected honest bytes: {:?}", r.err());
                self.drain(j);
            }
            To::Origin { reply_to } => {
                let reply = self.origin.handle(&bytes).expect("the origin accepts honest requests");
                // The response travels back only if the requester is still reachable.
                if self.connected(reply_to) {
                    let lossy = self.scenario.loss > 0.0;
                    self.link(To::Node(reply_to), reply.response, lossy, self.scenario.wan);
                }
            }
        }
    }

    /// Runs the network and the timers until virtual time `until`.
    pub fn run_until(&mut self, until: u64) {
        let mut spins = 0u32;
        let mut last = self.now;
        let mut steps = 0u64;
        loop {
            steps += 1;
            assert!(steps < 20_000_000, "runaway schedule at t={}", self.now);
            if self.now == last {
                spins += 1;
                assert!(spins < 100_000, "no progress at t={}: a timer keeps firing", self.now);
            } else {
                spins = 0;
                last = self.now;
            }
            let next_packet = self.queue.peek().map(|Reverse((t, ..))| *t);
            let next_timer = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].status == Status::Running)
                .filter_map(|i| self.nodes[i].replica.poll_timeout())
                .min();
            let next_thaw = self
                .nodes
                .iter()
                .filter_map(|n| match n.status {
                    Status::Frozen { until } => Some(until),
                    _ => None,
                })
                .min();
            let next = [next_packet, next_timer, next_thaw].into_iter().flatten().min();
            let Some(t) = next.filter(|&t| t <= until) else {
                self.now = until;
                return;
            };
            self.now = self.now.max(t);
            if let Some(Reverse((at, ..))) = self.queue.peek() {
                if *at <= self.now {
                    let Reverse((_, _, to, bytes)) = self.queue.pop().expect("peeked");
                    self.deliver(to, bytes);
                    continue;
                }
            }
            for i in 0..self.nodes.len() {
                if let Status::Frozen { until } = self.nodes[i].status {
                    if until <= self.now {
                        self.nodes[i].status = Status::Running;
                        // Half the thawed replicas act like a Worker's next request or a
                        // container thawed after its socket was dropped: they resync with
                        // the peers the relay reports connected.
                        if self.rng.chance(0.5) {
                            let now = self.now;
                            let connected: Vec<_> = self
                                .running()
                                .into_iter()
                                .filter(|&j| j != i && self.connected(j))
                                .map(|j| self.nodes[j].replica.id())
                                .collect();
                            self.nodes[i].replica.resync(now, 300, &connected);
                            self.drain(i);
                        }
                    }
                }
                if self.nodes[i].status == Status::Running
                    && self.nodes[i].replica.poll_timeout().is_some_and(|t| t <= self.now)
                {
                    let now = self.now;
                    self.nodes[i].replica.handle_timeout(now);
                    self.drain(i);
                }
            }
        }
    }

    /// Runs a command at node `i` (a load generator's write).
    pub fn exec(&mut self, i: usize, words: &[&[u8]]) {
        let now = self.now;
        let r = self.nodes[i].replica.exec(now, words);
        assert!(r.is_ok(), "{:?} failed: {:?}", words, r.err());
        self.truth.writes += 1;
        self.drain(i);
    }

    /// Whether every running replica holds the same state.
    pub fn converged(&self) -> bool {
        let r = self.running();
        r.windows(2).all(|w| self.nodes[w[0]].replica.store() == self.nodes[w[1]].replica.store())
    }

    /// One random operation at a running replica, recorded in the ground truth.
    pub fn random_op(&mut self) {
        let running = self.running();
        if running.is_empty() {
            return;
        }
        let i = running[self.rng.below(running.len() as u64) as usize];
        let hot = self.rng.zipf(self.scenario.hot_keys);
        let kind = if self.scenario.mixed { self.rng.below(10) } else { 0 };
        let n = self.rng.range(1, 5) as i64;
        let member = format!("m{}", self.rng.below(6));
        let cmd: Vec<String> = match kind {
            0..=3 => vec!["INCRBY".into(), format!("c{hot}"), n.to_string()],
            4 => vec!["SET".into(), format!("r{hot}"), format!("v{}", self.rng.below(100))],
            5 => vec!["SADD".into(), format!("s{hot}"), member],
            6 => vec!["SREM".into(), format!("s{hot}"), member],
            7 => vec!["HINCRBY".into(), format!("h{hot}"), member, n.to_string()],
            8 => vec![if self.rng.chance(0.5) { "FLAG.ENABLE" } else { "FLAG.DISABLE" }.into(), format!("f{hot}")],
            _ => vec!["DEL".into(), format!("s{hot}")],
        };
        let words: Vec<&[u8]> = cmd.iter().map(|w| w.as_bytes()).collect();
        let now = self.now;
        // Half the increments take the interned-key path of the JS shim's typed methods.
        let r = if cmd[0] == "INCRBY" && self.rng.chance(0.5) {
            let h = self.nodes[i].replica.intern(words[1]).expect("short key");
            self.nodes[i].replica.incr_by_handle(now, h, n).map(Reply::Int)
        } else {
            self.nodes[i].replica.exec(now, &words)
        };
        assert!(r.is_ok(), "{cmd:?} failed: {:?}", r.err());
        self.truth.writes += 1;
        if kind <= 3 {
            let id = self.nodes[i].replica.id();
            let seq = self.nodes[i].replica.store().last_write();
            self.truth.increments.entry(cmd[1].clone().into_bytes()).or_default().entry(id).or_default().push((seq, n));
        }
        // Sometimes a request ends like a Lambda invocation: push and hand off. Or the writer
        // sends at once (a push), or waits for a peer to hold its writes (`ack: "region"`).
        if self.rng.chance(0.05) {
            self.nodes[i].replica.begin_handoff(now);
        } else if self.rng.chance(0.05) {
            self.nodes[i].replica.push(now);
        } else if self.rng.chance(0.02) {
            self.nodes[i].replica.push_awaiting_ack(now);
        }
        self.drain(i);
    }

    /// A random fault: crash, freeze, partition, or a cold start. Crashes are spaced so that
    /// a write acknowledged at `region` has time to spread before the next one.
    pub fn random_fault(&mut self) {
        let c = self.scenario.config.clone();
        let spacing = c.lease_ms + c.repair_grace_ms * 2 + c.origin_interval_ms * 2;
        match self.rng.below(4) {
            0 if self.now >= self.last_crash + spacing && self.running().len() > 1 => {
                let r = self.running();
                let i = r[self.rng.below(r.len() as u64) as usize];
                self.nodes[i].status = Status::Crashed;
                self.last_crash = self.now;
                self.faults.push(format!("t={} crash {}", self.now, self.nodes[i].replica.id()));
            }
            1 => {
                let r = self.running();
                if let Some(&i) = r.get(self.rng.below(r.len() as u64) as usize) {
                    let until = self.now + self.rng.range(100, 4 * c.lease_ms);
                    self.nodes[i].status = Status::Frozen { until };
                    self.disrupted_until(until, spacing);
                    self.faults.push(format!("t={} freeze {} until {until}", self.now, self.nodes[i].replica.id()));
                }
            }
            2 => {
                let r = self.running();
                if let Some(&i) = r.get(self.rng.below(r.len() as u64) as usize) {
                    let until = self.now + self.rng.range(100, 3 * c.lease_ms);
                    self.nodes[i].partitioned_until = until;
                    self.disrupted_until(until, spacing);
                    self.faults.push(format!("t={} partition {} until {until}", self.now, self.nodes[i].replica.id()));
                }
            }
            _ => {
                if self.alive().len() < self.scenario.max_replicas {
                    let i = self.spawn();
                    self.faults.push(format!("t={} cold start {}", self.now, self.nodes[i].replica.id()));
                }
            }
        }
    }

    /// The guarantees hold against one crash at a time: after a crash, the survivors need
    /// `spacing` of working network to spread and adopt the dead replica's writes. A freeze or
    /// partition inside that window restarts it when it ends, so the next crash cannot take
    /// the only holder of a write it never got to pass on.
    fn disrupted_until(&mut self, until: u64, spacing: u64) {
        if self.now < self.last_crash + spacing {
            self.last_crash = self.last_crash.max(until);
        }
    }

    /// The chaos phase, then healing: no more faults or loss, every frozen replica thawed,
    /// every partition healed, and enough time for leases, repairs and batches to settle.
    pub fn run(&mut self) {
        let ops = self.scenario.ops;
        let chaos = self.scenario.chaos_ms;
        let start = self.now;
        for k in 0..ops {
            let at = start + chaos * (k as u64 + 1) / (ops as u64 + 1);
            self.run_until(at);
            self.random_op();
            if self.scenario.faults && self.rng.chance(0.04) {
                self.random_fault();
            }
        }
        self.run_until(start + chaos);
        self.heal();
    }

    pub fn heal(&mut self) {
        self.scenario.loss = 0.0;
        self.scenario.dup = 0.0;
        for n in &mut self.nodes {
            if let Status::Frozen { .. } = n.status {
                n.status = Status::Frozen { until: self.now };
            }
            n.partitioned_until = 0;
        }
        let c = self.scenario.config.clone();
        let settle = 3 * c.lease_ms + 3 * c.repair_grace_ms + 4 * c.origin_interval_ms + 2_000;
        self.run_until(self.now + settle);
        for i in self.running() {
            let now = self.now;
            self.nodes[i].replica.flush_origin(now);
            self.drain(i);
        }
        self.run_until(self.now + settle);
    }

    /// Checks every guarantee; returns what failed.
    pub fn check(&self) -> Vec<String> {
        let mut bad = Vec::new();
        let live = self.running();
        let origin = self.origin.store();
        // 1. Live replicas converge, and the origin holds everything they hold.
        for w in live.windows(2) {
            if self.nodes[w[0]].replica.store() != self.nodes[w[1]].replica.store() {
                bad.push(format!(
                    "replicas {} and {} did not converge",
                    self.nodes[w[0]].replica.id(),
                    self.nodes[w[1]].replica.id()
                ));
            }
        }
        for &i in &live {
            let mut joined: Store = origin.clone();
            joined.join_state(self.nodes[i].replica.store().state());
            if &joined != origin {
                bad.push(format!("origin misses writes held by replica {}", self.nodes[i].replica.id()));
            }
        }
        // 2. Every write acknowledged at the origin is at the origin.
        for (&id, &upto) in &self.truth.origin {
            if self.origin.mark(id) < upto || !holds(origin.context(), id, upto) {
                bad.push(format!("origin lost writes of {id} up to {upto} that it acknowledged"));
            }
        }
        // 3. Writes acknowledged at region survive the crash of their writer.
        for n in self.nodes.iter().filter(|n| n.status == Status::Crashed) {
            let id = n.replica.id();
            let upto = self.truth.region.get(&id).copied().unwrap_or(0);
            if self.origin.mark(id) < upto || !holds(origin.context(), id, upto) {
                bad.push(format!("crashed replica {id}: region-acked writes up to {upto} missing at the origin"));
            }
            for &i in &live {
                if !holds(self.nodes[i].replica.store().context(), id, upto) {
                    bad.push(format!(
                        "crashed replica {id}: region-acked writes up to {upto} missing at {}",
                        self.nodes[i].replica.id()
                    ));
                }
            }
        }
        // 4. Each increment counted exactly once, at the origin and at every live replica.
        let mut stores: Vec<(String, &Store)> = vec![("origin".into(), origin)];
        stores.extend(
            live.iter().map(|&i| (format!("replica {}", self.nodes[i].replica.id()), self.nodes[i].replica.store())),
        );
        for (name, store) in stores {
            for (key, per) in &self.truth.increments {
                let mut expected: i64 = 0;
                for (&id, incs) in per {
                    // The store holds a writer's contribution up to its latest dot it has.
                    let top = incs.iter().rev().find(|(s, _)| store.context().contains(Dot::new(id, *s)));
                    if let Some(&(top, _)) = top {
                        expected += incs.iter().filter(|(s, _)| *s <= top).map(|(_, n)| n).sum::<i64>();
                    }
                }
                let got = match store.exec_read(&[b"GET", key]) {
                    Ok(Reply::Int(v)) => v,
                    Ok(Reply::Nil) => 0,
                    other => {
                        bad.push(format!("{name}: GET {} gave {other:?}", String::from_utf8_lossy(key)));
                        continue;
                    }
                };
                if got != expected {
                    bad.push(format!("{name}: counter {} is {got}, expected {expected}", String::from_utf8_lossy(key)));
                }
            }
        }
        // 5. Membership holds only live replicas, and stays bounded by them.
        let live_ids: BTreeSet<ReplicaId> = live.iter().map(|&i| self.nodes[i].replica.id()).collect();
        for &i in &live {
            let r = &self.nodes[i].replica;
            let mut view: BTreeSet<ReplicaId> = r.peers().collect();
            view.insert(r.id());
            if view != live_ids {
                bad.push(format!("replica {} sees members {view:?}, live are {live_ids:?}", r.id()));
            }
            if r.membership_len() > live_ids.len() {
                bad.push(format!(
                    "replica {} keeps {} membership entries for {} live",
                    r.id(),
                    r.membership_len(),
                    live_ids.len()
                ));
            }
        }
        bad
    }
}

fn holds(ctx: &CausalContext, id: ReplicaId, upto: u64) -> bool {
    upto == 0 || ctx.missing(id, 1, upto).is_empty()
}
