//! The replica state machine: a [`Store`] plus everything that keeps it convergent with its
//! peers and durable at the origin, driven by bytes and time from the caller.

use crate::vecmap::{VecMap, VecSet};
use std::collections::{BTreeMap, VecDeque};

use super::held::{Group, Held};
use super::membership::{Lease, Membership};
use super::messages::{Batch, Deltas, GroupData, Heartbeat, Mark, Message};
use crate::codec::{self, Blob, GroupFrame};
use crate::crdt::{Causal, ReplicaId};
use crate::error::{Error, Result};
use crate::store::{HandleWrite, Keyspace, Limits, Reply, Store};

/// Tuning of a replica. Times are milliseconds of the caller's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How long local writes may wait before they are sealed into a delta-group and
    /// broadcast (they are joined meanwhile, so a burst ships as one group).
    pub delta_interval_ms: u64,
    /// Period of membership heartbeats.
    pub heartbeat_ms: u64,
    /// Lease carried by a heartbeat: a replica not heard of for this long is gone.
    pub lease_ms: u64,
    /// How long a replica may wait before acknowledging delta-groups (acknowledgements of
    /// several groups then share one message); a group whose writer waits is also
    /// acknowledged to the writer at once.
    pub ack_delay_ms: u64,
    /// A peer that has not acknowledged a delta-group after this long gets it again.
    pub retransmit_ms: u64,
    /// A peer seen ahead of this replica for this long is asked for what it has.
    pub repair_grace_ms: u64,
    /// Period of origin batches.
    pub origin_interval_ms: u64,
    /// A batch is cut early once this many bytes of deltas wait.
    pub origin_max_batch_bytes: usize,
    /// First retry delay of an unacknowledged batch (doubled per attempt, up to 16×).
    pub origin_retry_ms: u64,
    /// A handoff not acknowledged by a peer after this long also goes to the origin (at once
    /// when no peer has been heard from within `heartbeat_ms`: it may be frozen).
    pub handoff_origin_after_ms: u64,
    /// Time budget of the anti-entropy session run by [`Replica::start`].
    pub bootstrap_budget_ms: u64,
    /// Period at which one replica of the region (taking turns) asks the origin how far it
    /// holds each writer, and loads a snapshot if the origin holds writes the region lacks
    /// (they reached the origin through a replica that then died).
    pub origin_check_ms: u64,
    /// Bytes of own delta-groups kept for retransmission; older ones are dropped and a
    /// lagging peer then repairs from a full state.
    pub outbox_max_bytes: usize,
    /// Bytes of peers' delta-groups held until the origin has them (for adopting a departed
    /// writer's writes and for peers' catch-up); past it the largest writer's oldest go, and
    /// those writes are then shipped or served inside a full state.
    pub held_max_bytes: usize,
    /// Seed of the jitter applied to retries.
    pub seed: u64,
    /// Limits on keys and values.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            delta_interval_ms: 5,
            ack_delay_ms: 25,
            heartbeat_ms: 1_000,
            lease_ms: 5_000,
            retransmit_ms: 250,
            repair_grace_ms: 2_500,
            origin_interval_ms: 1_000,
            origin_max_batch_bytes: 256 * 1024,
            origin_retry_ms: 250,
            handoff_origin_after_ms: 50,
            bootstrap_budget_ms: 300,
            origin_check_ms: 30_000,
            outbox_max_bytes: 4 << 20,
            held_max_bytes: 16 << 20,
            seed: 0x5eed,
            limits: Limits::default(),
        }
    }
}

/// Where a transmit goes. The caller maps these onto its transport (relay topics, a direct
/// message, an HTTP request to the origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// Every replica of the region (the region's sync topic).
    Region,
    /// Every replica of the region (the region's membership topic).
    Membership,
    /// One replica.
    Peer(ReplicaId),
    /// The origin data center.
    Origin,
}

/// Bytes to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: Destination,
    /// What.
    pub payload: Vec<u8>,
}

/// How far a write has travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Applied here.
    Local,
    /// Held by at least one live peer.
    Region,
    /// Durable at the origin.
    Origin,
}

/// Something the caller may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Every own write up to `upto` (see [`Store::last_write`]) reached `level`.
    Acked {
        /// Region or origin.
        level: Level,
        /// The highest write sequence number now held at that level.
        upto: u64,
    },
    /// A peer's lease started.
    PeerJoined(ReplicaId),
    /// A peer's lease expired (or it left).
    PeerLeft(ReplicaId),
    /// The anti-entropy session ended.
    Synced {
        /// Peers that answered.
        peers: usize,
        /// Whether a snapshot from the origin was loaded.
        from_origin: bool,
        /// Whether it ended because nothing was missing (`false`: the budget ran out).
        complete: bool,
    },
    /// Every write this replica took is held by a live peer or by the origin.
    HandoffComplete,
}

/// Counters of what this replica sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages to the region and membership topics and to single peers.
    pub peer_messages: u64,
    /// Their bytes.
    pub peer_bytes: u64,
    /// Requests to the origin.
    pub origin_messages: u64,
    /// Their bytes.
    pub origin_bytes: u64,
    /// Delta-groups sealed.
    pub groups: u64,
    /// Bytes of peers' delta-groups held until the origin has them (now).
    pub held_bytes: u64,
    /// Peers' delta-groups dropped from those held, over `held_max_bytes`.
    pub held_dropped: u64,
}

#[derive(Debug, Clone)]
struct InFlight {
    batch: Batch,
    payload: Vec<u8>,
    attempt: u32,
    retry_at: u64,
}

#[derive(Debug, Clone)]
struct Session {
    nonce: u64,
    started: u64,
    deadline: u64,
    settle_at: u64,
    wait_for: VecSet<ReplicaId>,
    replied: VecMap<ReplicaId, Vec<Mark>>,
    asked: VecSet<ReplicaId>,
    asked_origin: bool,
    from_origin: bool,
    cold: bool,
    asked_peer: bool,
    /// Peers in `wait_for` must answer even if they are not (yet) live members.
    strict: bool,
    /// The transport reported nobody else connected and there is no origin to ask: a cold
    /// session has nobody to hear from, and ends without.
    alone: bool,
}

impl Session {
    /// A session started at `now` that ends by `now + budget_ms` and settles at `settle_at`.
    fn new(nonce: u64, now: u64, budget_ms: u64, settle_at: u64, cold: bool) -> Session {
        Session {
            nonce,
            started: now,
            deadline: now + budget_ms,
            settle_at,
            wait_for: VecSet::new(),
            replied: VecMap::new(),
            asked: VecSet::new(),
            asked_origin: false,
            from_origin: false,
            cold,
            asked_peer: false,
            strict: false,
            alone: false,
        }
    }
}

/// A replica of the keyspace: a sans-IO state machine in the style of quinn-proto.
///
/// Its methods come in four kinds:
/// - getters: [`Replica::id`], [`Replica::store`], [`Replica::peers`], [`Replica::stats`], ...;
/// - inputs: [`Replica::handle_message`] (bytes from a peer or the origin) and
///   [`Replica::handle_timeout`] (the deadline from [`Replica::poll_timeout`] passed);
/// - mutators: [`Replica::exec`] (a local command), [`Replica::start`], [`Replica::sync`],
///   [`Replica::begin_handoff`], [`Replica::flush_origin`], [`Replica::close`];
/// - outputs: [`Replica::poll_transmit`], [`Replica::poll_event`], [`Replica::poll_timeout`].
///
/// After every input or mutator, drain `poll_transmit` until `None`, then `poll_event`,
/// then set one timer for `poll_timeout`. Time is `now`, the caller's wall clock in
/// milliseconds, passed to every call; it must not go backwards.
#[derive(Debug)]
pub struct Replica {
    id: ReplicaId,
    config: Config,
    store: Store,
    rng: u64,
    now: u64,
    last_tick: Option<u64>,
    rejoin_until: u64,

    members: Membership,
    live: VecSet<ReplicaId>,
    last_heard: VecMap<ReplicaId, u64>,
    next_heartbeat: u64,

    sealed: u64,
    seal_at: Option<u64>,
    outbox: VecDeque<Group>,
    outbox_bytes: usize,
    last_broadcast: u64,
    last_resent: VecMap<ReplicaId, (u64, u32)>,

    acks: VecMap<ReplicaId, BTreeMap<ReplicaId, u64>>,
    acks_dirty: bool,
    acks_at: Option<u64>,
    acks_sent: VecMap<ReplicaId, u64>,
    nacked: BTreeMap<ReplicaId, u64>,
    region_acked: u64,
    origin_acked: u64,

    held: Held,
    delivered: BTreeMap<ReplicaId, u64>,
    early: VecMap<ReplicaId, VecMap<u64, (u64, Causal<Keyspace>)>>,
    origin_marks: BTreeMap<ReplicaId, u64>,
    origin_acc: Causal<Keyspace>,
    origin_acc_bytes: usize,
    origin_lo: u64,
    origin_hi: u64,
    origin_since: Option<u64>,
    origin_force: bool,
    origin_queue: VecDeque<Batch>,
    in_flight: Option<InFlight>,

    next_origin_check: u64,
    session: Option<Session>,
    behind: VecMap<ReplicaId, u64>,
    handoff: Option<u64>,
    handoff_origin_at: Option<u64>,
    closed: bool,
    /// Retiring: ships every departed writer's writes it holds, whoever else holds them.
    retiring: bool,
    /// Whether an origin serves this replica (see [`Replica::set_has_origin`]).
    has_origin: bool,

    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
}

/// Out-of-order delta-groups kept per writer while waiting for the gap to fill.
const MAX_EARLY_GROUPS: usize = 256;

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Rendezvous hashing: every replica that knows the same candidates picks the same one.
fn rendezvous(key: ReplicaId, candidates: impl Iterator<Item = ReplicaId>) -> Option<ReplicaId> {
    candidates.min_by_key(|&c| (mix(key ^ mix(c)), c))
}

/// How far `groups` (sorted here) reach contiguously from `from`.
fn covered_from(groups: &mut [&Group], from: u64) -> u64 {
    crate::sort::sort_by_key(groups, |g| g.lo);
    let mut cur = from;
    for g in groups.iter() {
        if g.lo > cur {
            break;
        }
        cur = cur.max(g.hi);
    }
    cur
}

impl Replica {
    /// A replica with id `id` (unique, never reused) and an empty store.
    pub fn new(id: ReplicaId, config: Config) -> Replica {
        let store = Store::with_limits(id, config.limits);
        let rng = mix(config.seed ^ mix(id)) | 1;
        Replica {
            id,
            store,
            rng,
            now: 0,
            last_tick: None,
            rejoin_until: 0,
            members: Membership::new(),
            live: VecSet::new(),
            last_heard: VecMap::new(),
            next_heartbeat: 0,
            sealed: 0,
            seal_at: None,
            outbox: VecDeque::new(),
            outbox_bytes: 0,
            last_broadcast: 0,
            last_resent: VecMap::new(),
            acks: VecMap::new(),
            acks_dirty: false,
            acks_at: None,
            acks_sent: VecMap::new(),
            nacked: BTreeMap::new(),
            region_acked: 0,
            origin_acked: 0,
            held: Held::new(config.held_max_bytes),
            delivered: BTreeMap::new(),
            early: VecMap::new(),
            origin_marks: BTreeMap::new(),
            origin_acc: Causal::default(),
            origin_acc_bytes: 0,
            origin_lo: 0,
            origin_hi: 0,
            origin_since: None,
            origin_force: false,
            origin_queue: VecDeque::new(),
            in_flight: None,
            next_origin_check: 0,
            session: None,
            behind: VecMap::new(),
            handoff: None,
            handoff_origin_at: None,
            closed: false,
            retiring: false,
            has_origin: true,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            config,
        }
    }

    // ----------------------------------------------------------------------------- getters

    /// This replica's id.
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// The keyspace (read it freely; write through [`Replica::exec`]).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The peers whose lease is live, in id order.
    pub fn peers(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        self.live.iter().copied()
    }

    /// Entries of the membership map (live and recently expired).
    pub fn membership_len(&self) -> usize {
        self.members.len()
    }

    /// The highest own write held by a live peer.
    pub fn region_acked(&self) -> u64 {
        self.region_acked
    }

    /// The highest own write durable at the origin.
    pub fn origin_acked(&self) -> u64 {
        self.origin_acked
    }

    /// How far the origin is known to hold `source`.
    pub fn origin_mark(&self, source: ReplicaId) -> u64 {
        self.origin_marks.get(&source).copied().unwrap_or(0)
    }

    /// What this replica sent so far.
    pub fn stats(&self) -> Stats {
        Stats { held_bytes: self.held.bytes() as u64, held_dropped: self.held.dropped(), ..self.stats }
    }

    /// Whether an anti-entropy session is running.
    pub fn is_syncing(&self) -> bool {
        self.session.is_some()
    }

    /// Whether a handoff waits for acknowledgements.
    pub fn is_handing_off(&self) -> bool {
        self.handoff.is_some()
    }

    // ---------------------------------------------------------------------------- mutators

    /// Runs a command on the local store. A write is applied at once (write concern
    /// `local`); it is sealed into a delta-group within `delta_interval_ms`.
    pub fn exec(&mut self, now: u64, args: &[&[u8]]) -> Result<Reply> {
        self.tick(now);
        let r = self.store.exec(now, args)?;
        self.after_write(now);
        Ok(r)
    }

    /// `INCRBY key by` on the local store (the hot path of [`Replica::exec`]).
    pub fn incr_by(&mut self, now: u64, key: &[u8], by: i64) -> Result<i64> {
        self.tick(now);
        let r = self.store.incr_by(key, by)?;
        self.after_write(now);
        Ok(r)
    }

    /// Interns a key for [`Replica::incr_by_handle`] (see [`Store::intern`]).
    pub fn intern(&mut self, key: &[u8]) -> Option<u32> {
        self.store.intern(key)
    }

    /// `INCRBY` on an interned key (see [`Store::incr_by_handle`]).
    pub fn incr_by_handle(&mut self, now: u64, handle: u32, by: i64) -> Result<i64> {
        self.tick(now);
        let r = self.store.incr_by_handle(handle, by)?;
        self.after_write(now);
        Ok(r)
    }

    /// A typed write on an interned key (see [`Store::write_by_handle`]).
    pub fn write_by_handle(&mut self, now: u64, handle: u32, op: HandleWrite, a: &[u8], b: &[u8]) -> Result<Reply> {
        self.tick(now);
        let r = self.store.write_by_handle(now, handle, op, a, b)?;
        self.after_write(now);
        Ok(r)
    }

    fn after_write(&mut self, now: u64) {
        if self.store.has_outgoing() && self.seal_at.is_none() {
            self.seal_at = Some(now + self.config.delta_interval_ms);
        }
    }

    /// Seals pending local writes into a delta-group and broadcasts it now, instead of
    /// waiting for `delta_interval_ms`. Peers acknowledge it as any other group, within
    /// `ack_delay_ms` and together with others.
    pub fn push(&mut self, now: u64) {
        self.tick(now);
        self.seal(now);
    }

    /// [`Replica::push`] for a writer that waits for a `region` acknowledgement: the group
    /// asks peers to acknowledge it at once, directly.
    pub fn push_awaiting_ack(&mut self, now: u64) {
        self.tick(now);
        self.seal_with(now, true);
    }

    /// Cold start: announces this replica and runs the compulsory anti-entropy session;
    /// if no peer answers within half the budget, asks the origin for a snapshot.
    pub fn start(&mut self, now: u64) {
        self.tick(now);
        self.members.renew(self.id, now, self.config.lease_ms);
        self.heartbeat(now);
        self.sync(now, self.config.bootstrap_budget_ms);
    }

    /// Runs an anti-entropy session: asks the region for what this replica misses and
    /// ends (with [`Event::Synced`]) when nothing is missing, or when `budget_ms` ran out.
    ///
    /// A cold replica asks the whole region and falls back to an origin snapshot. A warm one
    /// first lets what its connection buffered arrive: it sends itself an echo through the
    /// relay, and once the echo is back everything the relay sent before it has arrived (a
    /// thawed container finds there what the region said while it was frozen; a transport
    /// must deliver a replica's message to itself). It then asks
    /// one peer only if it knows it lacks something (a gap in a writer's groups, or a peer
    /// that acknowledged more than it holds), and ends when that peer answered.
    pub fn sync(&mut self, now: u64, budget_ms: u64) {
        self.tick(now);
        let nonce = self.random();
        let cold = self.store.context().is_empty();
        // A warm replica settles when its echo through the relay comes back (at half the
        // budget if it never does).
        let settle = if cold { (budget_ms / 3).min(100) } else { budget_ms / 2 };
        self.session = Some(Session::new(nonce, now, budget_ms, now + settle, cold));
        if cold {
            let marks = self.marks();
            self.send(Destination::Region, Message::SyncRequest { from: self.id, nonce, marks, want_data: false });
        } else {
            self.send(Destination::Peer(self.id), Message::Echo { from: self.id, nonce });
        }
        self.check_session(now);
    }

    /// The transport reports that no other replica is connected to the region (the relay's
    /// welcome listed none). A cold session that has heard from no peer then stops waiting
    /// half its budget for answers that cannot come: with an origin (see
    /// [`Replica::set_has_origin`]) it asks it at once and ends as soon as the snapshot is in;
    /// without one it ends now, having nobody to ask. Otherwise nothing changes.
    pub fn alone(&mut self, now: u64) {
        self.tick(now);
        let has_origin = self.has_origin;
        let Some(s) = self.session.as_mut() else { return };
        if !s.cold || s.asked_origin || !s.replied.is_empty() {
            return;
        }
        s.settle_at = s.settle_at.min(now);
        if has_origin {
            self.ask_origin(now);
        } else {
            s.alone = true;
        }
        self.check_session(now);
    }

    /// Tells the replica whether an origin serves it (it assumes one until told otherwise).
    /// Without one, a cold session that no peer answered within half its budget neither asks
    /// for a snapshot nor gives that answer one more budget: it ends at its budget.
    pub fn set_has_origin(&mut self, has: bool) {
        self.has_origin = has;
    }

    /// Runs an anti-entropy session after this replica's connection to the region was down
    /// (suspended between Worker requests, frozen past the relay's patience, or dropped): it
    /// cannot know what the region said meanwhile, so it asks one of `connected` (the peers the
    /// transport reports connected now, e.g. the relay's welcome) for everything it misses,
    /// preferring the one heard from most recently, and ends when that peer answered and
    /// nothing is missing, or when `budget_ms` ran out. With no connected peer it runs
    /// [`Replica::sync`].
    pub fn resync(&mut self, now: u64, budget_ms: u64, connected: &[ReplicaId]) {
        let ask = connected
            .iter()
            .copied()
            .filter(|&p| p != self.id)
            .max_by_key(|p| (self.live.contains(p), self.last_heard.get(p).copied().unwrap_or(0), *p));
        let Some(peer) = ask else {
            self.sync(now, budget_ms);
            return;
        };
        self.tick(now);
        let nonce = self.random();
        let mut session = Session::new(nonce, now, budget_ms, now, false);
        session.wait_for.insert(peer);
        session.asked.insert(peer);
        session.asked_peer = true;
        session.strict = true;
        self.session = Some(session);
        let marks = self.marks();
        self.send(Destination::Peer(peer), Message::SyncRequest { from: self.id, nonce, marks, want_data: true });
        self.check_session(now);
    }

    /// A live peer known to hold writes this replica lacks (or with gaps: any recent peer).
    fn peer_ahead(&self, now: u64) -> Option<ReplicaId> {
        let ahead = self.live.iter().copied().find(|&p| {
            self.acks.get(&p).is_some_and(|a| a.iter().any(|(&s, &v)| s != self.id && v > self.delivered(s)))
        });
        ahead.or_else(|| {
            if self.early.is_empty() && self.behind.is_empty() {
                return None;
            }
            self.active_peers(now).into_iter().max_by_key(|(_, t)| *t).map(|(p, _)| p)
        })
    }

    /// Live peers heard from within `heartbeat_ms`, with when.
    fn active_peers(&self, now: u64) -> VecMap<ReplicaId, u64> {
        let since = now.saturating_sub(self.config.heartbeat_ms);
        let mut active = VecMap::new();
        active
            .extend(self.live.iter().filter_map(|p| self.last_heard.get(p).filter(|&&t| t >= since).map(|&t| (*p, t))));
        active
    }

    /// Starts a handoff: pending writes are sealed and pushed now, and
    /// [`Event::HandoffComplete`] follows once every write this replica took is held by a
    /// live peer or by the origin. A batch goes to the origin at once when no peer was heard
    /// from within `handoff_origin_after_ms` (they may all be frozen), else after that long
    /// unless a peer acknowledged first.
    pub fn begin_handoff(&mut self, now: u64) {
        self.tick(now);
        self.seal_with(now, true);
        let target = self.store.last_write();
        self.handoff = Some(target);
        let window = self.config.handoff_origin_after_ms;
        let recent = self.last_heard.iter().any(|(p, &t)| self.live.contains(p) && t + window >= now);
        if recent {
            self.handoff_origin_at = Some(now + window);
        } else {
            self.origin_force = true;
            self.pump_origin(now);
        }
        self.check_handoff();
    }

    /// Cuts an origin batch of pending writes now instead of at the next period.
    pub fn flush_origin(&mut self, now: u64) {
        self.tick(now);
        self.seal(now);
        self.origin_force = true;
        self.pump_origin(now);
    }

    /// Before a long-lived replica stops for good: ships to the origin everything it holds
    /// that the origin lacks — its own writes, and those of departed writers whatever other
    /// replica also holds them. [`Replica::owes_origin`] tells when that is done.
    pub fn retire(&mut self, now: u64) {
        self.retiring = true;
        self.flush_origin(now);
        self.adopt(now);
        self.pump_origin(now);
    }

    /// Whether writes this replica holds are still missing at the origin as far as it knows:
    /// its own, a batch queued or in flight, or (once retiring) a departed writer's.
    pub fn owes_origin(&self) -> bool {
        let own = self.origin_acked < self.store.last_write();
        let batches = !self.origin_queue.is_empty() || self.in_flight.is_some() || self.origin_hi > self.origin_lo;
        let departed = self.retiring
            && self
                .delivered
                .keys()
                .any(|&s| s != self.id && !self.live.contains(&s) && self.delivered(s) > self.origin_mark(s));
        own || batches || departed
    }

    /// Leaves the region: the lease ends at once everywhere the goodbye reaches.
    pub fn close(&mut self, now: u64) {
        self.tick(now);
        self.seal(now);
        self.members.leave(self.id);
        // Closed first: the goodbye must carry the ended lease, not a renewal of it.
        self.closed = true;
        self.heartbeat(now);
    }

    // ------------------------------------------------------------------------------ inputs

    /// Handles bytes from a peer (relayed) or a response from the origin. Invalid bytes are
    /// an error and change nothing.
    pub fn handle_message(&mut self, now: u64, bytes: &[u8]) -> Result<()> {
        self.tick(now);
        let msg = Message::decode(bytes)?;
        match msg {
            Message::Deltas(d) => self.on_deltas(now, d),
            Message::Acks { from, acks } => {
                if from != self.id {
                    self.alive(from, now);
                    self.on_acks(from, &acks);
                }
                Ok(())
            }
            Message::Heartbeat(h) => {
                self.on_heartbeat(now, h);
                Ok(())
            }
            Message::SyncRequest { from, nonce, marks, want_data } => {
                self.on_sync_request(now, from, nonce, &marks, want_data);
                Ok(())
            }
            Message::SyncReply { from, nonce, marks, groups, state } => {
                self.on_sync_reply(now, from, nonce, marks, groups, state.as_deref())
            }
            Message::Nack { from, source, after } => {
                if source == self.id && from != self.id {
                    self.alive(from, now);
                    self.resend(now, from, after);
                }
                Ok(())
            }
            Message::BatchAck { source, lo, hi, vv } => {
                self.on_batch_ack(now, source, lo, hi, vv);
                Ok(())
            }
            Message::Snapshot { state, marks } => self.on_snapshot(now, &state, &marks),
            Message::Marks { marks } => {
                for &(s, m) in &marks {
                    self.raise_origin_mark(s, m);
                }
                if marks.iter().any(|&(s, m)| s != self.id && m > self.delivered(s)) {
                    self.send(Destination::Origin, Message::SnapshotRequest { from: self.id });
                }
                Ok(())
            }
            Message::Echo { from, nonce } => {
                // Only this replica's own echo of its current session means anything.
                if from == self.id {
                    if let Some(s) = self.session.as_mut().filter(|s| s.nonce == nonce && !s.cold) {
                        s.settle_at = s.settle_at.min(now);
                    }
                    self.check_session(now);
                }
                Ok(())
            }
            Message::Batch(_) | Message::SnapshotRequest { .. } | Message::MarksRequest { .. } => {
                Err(Error::Invalid("a replica received a message meant for the origin".into()))
            }
        }
    }

    /// Handles the passing of the deadline from [`Replica::poll_timeout`] (calling it early
    /// or late is harmless).
    pub fn handle_timeout(&mut self, now: u64) {
        self.tick(now);
        if self.seal_at.is_some_and(|t| t <= now) {
            self.seal(now);
        }
        if self.closed {
            return;
        }
        if self.next_heartbeat <= now {
            self.heartbeat(now);
        }
        self.update_membership(now);
        if self.acks_dirty && self.acks_at.is_some_and(|t| t <= now) {
            let acks = self.ack_changes();
            if !acks.is_empty() {
                self.send(Destination::Region, Message::Acks { from: self.id, acks });
            }
            self.acks_dirty = false;
            self.acks_at = None;
        }
        if self.handoff.is_some() && self.handoff_origin_at.is_some_and(|t| now >= t) {
            self.handoff_origin_at = None;
            self.origin_force = true;
        }
        self.retransmit(now);
        self.repair(now);
        self.adopt(now);
        self.check_origin(now);
        self.pump_origin(now);
        self.check_session(now);
    }

    // ----------------------------------------------------------------------------- outputs

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether [`Replica::poll_event`] has something to give.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// When [`Replica::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut t: Option<u64> = None;
        let mut at = |x: Option<u64>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        at(self.seal_at);
        if self.closed {
            return t;
        }
        at(Some(self.next_heartbeat));
        at(self.handoff_origin_at.filter(|_| self.handoff.is_some()));
        at(Some(self.next_origin_check).filter(|&t| t > 0));
        at(self.acks_at.filter(|_| self.acks_dirty));
        at(self.members.next_expiry(self.now));
        if let Some(f) = &self.in_flight {
            at(Some(f.retry_at));
        } else if let Some(since) = self.origin_since {
            at(Some(if self.origin_force { self.now } else { since + self.config.origin_interval_ms }));
        }
        if let Some(s) = &self.session {
            at(Some(s.deadline));
            let later = |t: u64| Some(t).filter(|&t| t > self.now);
            at(later(s.settle_at));
            if s.cold && !s.asked_origin && s.replied.is_empty() {
                at(Some(s.started + (s.deadline - s.started) / 2));
            }
        }
        // A lagging peer gets a retransmission.
        for p in &self.live {
            if self.ack_of(*p, self.id) < self.sealed {
                at(Some(self.resend_due(*p)));
            }
        }
        for since in self.behind.values() {
            at(Some(since + self.config.repair_grace_ms));
        }
        t.map(|t| t.max(self.now))
    }

    // ---------------------------------------------------------------------------- internals

    fn tick(&mut self, now: u64) {
        let now = now.max(self.now);
        if let Some(last) = self.last_tick {
            // A long silence means this process was frozen: its view of the region is stale,
            // so it neither adopts others' writes nor trusts its leases until it has heard
            // the region again.
            if now.saturating_sub(last) > self.config.lease_ms {
                self.rejoin_until = now + self.config.lease_ms;
                self.next_heartbeat = now;
            }
        }
        self.last_tick = Some(now);
        self.now = now;
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn send(&mut self, destination: Destination, msg: Message) {
        let payload = msg.encode();
        match destination {
            Destination::Origin => {
                self.stats.origin_messages += 1;
                self.stats.origin_bytes += payload.len() as u64;
            }
            _ => {
                self.stats.peer_messages += 1;
                self.stats.peer_bytes += payload.len() as u64;
            }
        }
        self.transmits.push_back(Transmit { destination, payload });
    }

    fn ack_of(&self, peer: ReplicaId, source: ReplicaId) -> u64 {
        self.acks.get(&peer).and_then(|a| a.get(&source)).copied().unwrap_or(0)
    }

    /// How far this replica holds `source`: every delta-group of it up to this mark was
    /// joined here. (Its causal context may run further: a peer's delta names the dots its
    /// writes replaced, before this replica received the groups that carried them.)
    fn delivered(&self, source: ReplicaId) -> u64 {
        if source == self.id {
            self.store.last_write()
        } else {
            self.delivered.get(&source).copied().unwrap_or(0)
        }
    }

    fn deliver_up_to(&mut self, source: ReplicaId, mark: u64) {
        if source != self.id {
            let d = self.delivered.entry(source).or_default();
            if mark > *d {
                *d = mark;
                self.acks_dirty = true;
                self.acks_at.get_or_insert(self.now + self.config.ack_delay_ms);
            }
        }
    }

    /// The acknowledgements that changed since they were last sent (receivers keep the
    /// maximum, so only news needs to travel; heartbeats carry the whole vector).
    fn ack_changes(&mut self) -> Vec<Mark> {
        let all = self.ack_vector();
        let mut out = Vec::new();
        for (s, v) in all {
            let sent = self.acks_sent.or_default(s);
            if v > *sent {
                *sent = v;
                out.push((s, v));
            }
        }
        out
    }

    /// Every delivered mark, own writes included.
    fn marks(&self) -> Vec<Mark> {
        let mut m: Vec<Mark> = self.delivered.iter().map(|(&s, &v)| (s, v)).filter(|(_, v)| *v > 0).collect();
        if self.store.last_write() > 0 {
            m.push((self.id, self.store.last_write()));
        }
        crate::sort::sort(&mut m);
        m
    }

    /// How far this replica holds each source it tracks (live peers and held sources).
    fn ack_vector(&self) -> Vec<Mark> {
        let mut sources: VecSet<ReplicaId> = self.live.clone();
        sources.extend(self.held.sources());
        sources.into_iter().map(|s| (s, self.delivered(s))).filter(|(_, v)| *v > 0).collect()
    }

    fn seal(&mut self, now: u64) {
        let urgent = self.handoff.is_some();
        self.seal_with(now, urgent);
    }

    fn seal_with(&mut self, now: u64, urgent: bool) {
        self.seal_at = None;
        let Some(delta) = self.store.take_delta() else {
            if urgent {
                self.ask_acks();
            }
            return;
        };
        let lo = self.sealed;
        let hi = self.store.last_write();
        self.sealed = hi;
        let bytes = codec::encode_group(&delta, GroupFrame { source: self.id, lo, hi });
        self.stats.groups += 1;
        // Joined into the pending origin batch: a thousand increments become one delta.
        self.origin_acc.join_delta(&delta, true);
        self.origin_acc_bytes += bytes.len();
        self.origin_hi = hi;
        self.origin_since.get_or_insert(now);
        self.outbox_bytes += bytes.len();
        self.outbox.push_back(Group { lo, hi, delta: bytes.clone() });
        while self.outbox_bytes > self.config.outbox_max_bytes && self.outbox.len() > 1 {
            if let Some(g) = self.outbox.pop_front() {
                self.outbox_bytes -= g.delta.len();
            }
        }
        let acks = self.ack_changes();
        self.send(Destination::Region, Message::Deltas(Deltas { from: self.id, lo, hi, urgent, acks, delta: bytes }));
        self.acks_dirty = false;
        self.last_broadcast = now;
        if self.origin_acc_bytes >= self.config.origin_max_batch_bytes {
            self.origin_force = true;
        }
        self.pump_origin(now);
    }

    /// A writer waits, with nothing new to seal: if no peer acknowledged its newest group yet
    /// (pushed earlier, without asking for haste), it goes out again asking for an
    /// acknowledgement at once. Peers that hold it ignore the copy but answer.
    fn ask_acks(&mut self) {
        if self.region_acked >= self.sealed {
            return;
        }
        let Some(g) = self.outbox.back().filter(|g| g.hi == self.sealed).cloned() else { return };
        let msg = Deltas { from: self.id, lo: g.lo, hi: g.hi, urgent: true, acks: Vec::new(), delta: g.delta };
        self.send(Destination::Region, Message::Deltas(msg));
    }

    fn heartbeat(&mut self, now: u64) {
        if !self.closed {
            self.members.renew(self.id, now, self.config.lease_ms);
        }
        self.next_heartbeat = now + self.config.heartbeat_ms;
        let view: Vec<(ReplicaId, u32, u64)> =
            self.members.entries().map(|(id, l)| (id, l.epoch, l.expires_at)).collect();
        let mut origin: Vec<Mark> = Vec::new();
        for (&s, &m) in &self.origin_marks {
            if m > 0 && (s == self.id || self.live.contains(&s) || self.delivered.contains_key(&s)) {
                origin.push((s, m));
            }
        }
        let holds = self.ack_vector();
        for &(s, v) in &holds {
            let sent = self.acks_sent.or_default(s);
            *sent = (*sent).max(v);
        }
        let rest_hash = self.rest_hash();
        self.send(
            Destination::Membership,
            Message::Heartbeat(Heartbeat { from: self.id, view, origin, holds, rest_hash }),
        );
    }

    /// A hash of the delivered marks of sources that are not live here: two replicas with
    /// the same hash agree on every departed writer.
    fn rest_hash(&self) -> u64 {
        let mut h = 0u64;
        for (&r, &v) in &self.delivered {
            if r == self.id || self.live.contains(&r) {
                continue;
            }
            h = mix(h ^ mix(r) ^ mix(v));
        }
        h
    }

    fn alive(&mut self, peer: ReplicaId, now: u64) {
        if peer == self.id {
            return;
        }
        self.last_heard.insert(peer, now);
        if !self.members.is_live(peer, now) {
            let epoch = self.members.entries().find(|(id, _)| *id == peer).map_or(0, |(_, l)| l.epoch);
            self.members.join_entry(
                peer,
                Lease { epoch, expires_at: now + self.config.lease_ms },
                now,
                self.config.lease_ms,
            );
            self.update_membership(now);
        }
    }

    fn update_membership(&mut self, now: u64) {
        self.members.prune(now, 4 * self.config.lease_ms);
        let mut live = VecSet::new();
        live.extend(self.members.live(now).filter(|&r| r != self.id));
        if live == self.live {
            return;
        }
        for p in live.difference(&self.live) {
            self.events.push_back(Event::PeerJoined(*p));
        }
        for p in self.live.difference(&live) {
            self.events.push_back(Event::PeerLeft(*p));
            self.behind.remove(p);
            self.last_resent.remove(p);
            if let Some(s) = self.session.as_mut() {
                s.wait_for.remove(p);
            }
        }
        self.live = live;
        self.acks.retain(|p, _| self.live.contains(p));
        self.last_heard.retain(|p, _| self.live.contains(p));
        self.acks_sent.retain(|s, _| self.live.contains(s) || self.held.has(*s));
        self.prune_outbox();
    }

    fn on_acks(&mut self, from: ReplicaId, acks: &[Mark]) {
        let entry = self.acks.or_default(from);
        for &(s, v) in acks {
            let e = entry.entry(s).or_default();
            *e = (*e).max(v);
        }
        if self.live.contains(&from) {
            let held = self.ack_of(from, self.id).min(self.store.last_write());
            if held >= self.sealed {
                self.last_resent.remove(&from);
            }
            if held > self.region_acked {
                self.region_acked = held;
                self.events.push_back(Event::Acked { level: Level::Region, upto: held });
                self.check_handoff();
            }
        }
        self.prune_outbox();
    }

    fn prune_outbox(&mut self) {
        let Some(min) = self.live.iter().map(|p| self.ack_of(*p, self.id)).min() else {
            return;
        };
        while self.outbox.front().is_some_and(|g| g.hi <= min) {
            if let Some(g) = self.outbox.pop_front() {
                self.outbox_bytes -= g.delta.len();
            }
        }
    }

    fn on_deltas(&mut self, now: u64, d: Deltas) -> Result<()> {
        if d.from == self.id {
            return Ok(());
        }
        let delta = self.decode_group(&d.delta, GroupFrame { source: d.from, lo: d.lo, hi: d.hi })?;
        self.alive(d.from, now);
        self.on_acks(d.from, &d.acks);
        let before = self.delivered(d.from);
        if d.hi > self.origin_mark(d.from) {
            self.held.insert(d.from, Group { lo: d.lo, hi: d.hi, delta: d.delta });
        }
        if d.lo > before {
            self.wait_early(now, d.from, d.lo, d.hi, delta, before);
        } else if d.hi > before {
            self.store.join_delta(&delta);
            self.deliver_up_to(d.from, d.hi);
        }
        self.join_early(d.from);
        if d.urgent {
            // The writer waits (a handoff or a write concern): tell it at once, directly; the
            // region hears the same in the next batched acknowledgement.
            let acks = vec![(d.from, self.delivered(d.from))];
            self.send(Destination::Peer(d.from), Message::Acks { from: self.id, acks });
        }
        self.check_session(now);
        Ok(())
    }

    /// Keeps a group that arrived before an earlier one of its writer, and asks for the gap.
    /// Groups of one writer join in order, so that the delivered mark (what this replica
    /// acknowledges) never passes a group it has not joined.
    fn wait_early(&mut self, now: u64, source: ReplicaId, lo: u64, hi: u64, delta: Causal<Keyspace>, have: u64) {
        let early = self.early.or_default(source);
        if early.len() < MAX_EARLY_GROUPS {
            early.insert(lo, (hi, delta));
        }
        if self.nacked.get(&source).is_none_or(|t| now >= t + self.config.retransmit_ms) {
            self.nacked.insert(source, now);
            self.send(Destination::Peer(source), Message::Nack { from: self.id, source, after: have });
        }
    }

    /// Joins waiting groups of `source` that became joinable, in order.
    fn join_early(&mut self, source: ReplicaId) {
        loop {
            let have = self.delivered(source);
            let Some(early) = self.early.get_mut(&source) else { return };
            let Some((&lo, _)) = early.first_key_value() else {
                self.early.remove(&source);
                return;
            };
            if lo > have {
                return;
            }
            let Some((_, (hi, delta))) = early.pop_first() else { return };
            if hi > have {
                self.store.join_delta(&delta);
                self.deliver_up_to(source, hi);
            }
        }
    }

    fn on_heartbeat(&mut self, now: u64, h: Heartbeat) {
        if h.from == self.id {
            return;
        }
        self.last_heard.insert(h.from, now);
        let cap = 2 * self.config.lease_ms;
        let own = self.id;
        let view = h.view.into_iter().filter(|&(id, ..)| id != own);
        self.members.join_view(view.map(|(id, epoch, exp)| (id, Lease { epoch, expires_at: exp })), now, cap);
        self.update_membership(now);
        for (s, m) in h.origin {
            self.raise_origin_mark(s, m);
        }
        let from = h.from;
        self.on_acks(from, &h.holds);
        // Repair: is the sender ahead of us anywhere?
        if self.live.contains(&from) {
            let ahead =
                h.holds.iter().any(|&(s, v)| s != self.id && v > self.delivered(s)) || h.rest_hash != self.rest_hash();
            if ahead {
                self.behind.or_insert_with(from, || now);
            } else {
                self.behind.remove(&from);
            }
        }
    }

    fn raise_origin_mark(&mut self, source: ReplicaId, mark: u64) {
        let m = self.origin_marks.entry(source).or_default();
        if mark <= *m {
            return;
        }
        *m = mark;
        self.held.origin_reached(source, mark);
        if source == self.id {
            let upto = mark.min(self.store.last_write());
            if upto > self.origin_acked {
                self.origin_acked = upto;
                self.events.push_back(Event::Acked { level: Level::Origin, upto });
                self.check_handoff();
            }
            if self.origin_lo < mark && self.in_flight.is_none() && self.origin_queue.is_empty() {
                // Someone else shipped our writes (we were frozen): skip what the origin has.
                self.origin_lo = self.origin_lo.max(mark.min(self.origin_hi));
            }
        }
    }

    fn on_sync_request(&mut self, now: u64, from: ReplicaId, nonce: u64, their_marks: &[Mark], want_data: bool) {
        if from == self.id {
            return;
        }
        self.alive(from, now);
        let data = want_data || {
            // A broadcast request: one peer, chosen the same way by all, sends data.
            let candidates = self.live.iter().copied().filter(|&p| p != from).chain(std::iter::once(self.id));
            rendezvous(from, candidates) == Some(self.id)
        };
        let mut theirs = BTreeMap::new();
        theirs.extend(their_marks.iter().copied());
        let marks = self.marks();
        let behind = marks.iter().any(|(s, v)| theirs.get(s).is_none_or(|t| t < v));
        let (groups, state) = if data && behind { self.catch_up(&theirs) } else { (Vec::new(), None) };
        self.send(Destination::Peer(from), Message::SyncReply { from: self.id, nonce, marks, groups, state });
    }

    /// What a replica holding `theirs` misses: the delta-groups that fill every gap when this
    /// replica still holds them all, else the full state — whichever is smaller.
    fn catch_up(&self, theirs: &BTreeMap<ReplicaId, u64>) -> (Vec<GroupData>, Option<Vec<u8>>) {
        let full = || (Vec::new(), Some(self.store.snapshot()));
        if theirs.is_empty() {
            return full();
        }
        let mut groups: Vec<GroupData> = Vec::new();
        for (source, mine) in self.marks() {
            let have = theirs.get(&source).copied().unwrap_or(0);
            if have >= mine {
                continue;
            }
            let kept: Vec<&Group> =
                if source == self.id { self.outbox.iter().collect() } else { self.held.groups(source).collect() };
            let mut useful: Vec<&Group> = kept.into_iter().filter(|g| g.hi > have).collect();
            if covered_from(&mut useful, have) < mine {
                return full();
            }
            groups.extend(useful.iter().map(|g| GroupData { source, lo: g.lo, hi: g.hi, delta: g.delta.clone() }));
        }
        let size: usize = groups.iter().map(|g| g.delta.len()).sum();
        if size > 16 * 1024 {
            let state = self.store.snapshot();
            if state.len() <= size {
                return (Vec::new(), Some(state));
            }
        }
        (groups, None)
    }

    /// Decodes a delta-group from untrusted bytes, given what its envelope says.
    fn decode_group(&self, bytes: &[u8], frame: GroupFrame) -> Result<Causal<Keyspace>> {
        match codec::decode_framed(bytes, frame, self.config.limits.decode())? {
            Blob::Delta(d) => Ok(d),
            Blob::State(_) => Err(Error::Invalid("a delta-group carried a full state".into())),
        }
    }

    /// Joins a full state from a peer (or the origin) that held every writer up to `marks`.
    fn join_full_state(&mut self, state: Causal<Keyspace>, marks: &[Mark]) {
        self.store.join_state_owned(state);
        for &(s, m) in marks {
            self.deliver_up_to(s, m);
        }
        let sources: Vec<ReplicaId> = self.early.keys().copied().collect();
        for s in sources {
            self.join_early(s);
        }
    }

    fn on_sync_reply(
        &mut self,
        now: u64,
        from: ReplicaId,
        nonce: u64,
        marks: Vec<Mark>,
        groups: Vec<GroupData>,
        state: Option<&[u8]>,
    ) -> Result<()> {
        if from == self.id {
            return Ok(());
        }
        // Validate everything before changing anything.
        let limits = self.config.limits.decode();
        let mut decoded = Vec::with_capacity(groups.len());
        for g in &groups {
            decoded.push(self.decode_group(&g.delta, GroupFrame { source: g.source, lo: g.lo, hi: g.hi })?);
        }
        let state = match state.map(|s| codec::decode(s, limits)).transpose()? {
            Some(Blob::State(s)) => Some(s),
            Some(Blob::Delta(_)) => return Err(Error::Invalid("a sync reply carried a delta as its state".into())),
            None => None,
        };
        self.alive(from, now);
        if let Some(s) = state {
            self.join_full_state(s, &marks);
        }
        for (g, delta) in groups.into_iter().zip(decoded) {
            let have = self.delivered(g.source);
            if g.lo > have {
                self.wait_early(now, g.source, g.lo, g.hi, delta, have);
            } else if g.hi > have {
                self.store.join_delta(&delta);
                self.deliver_up_to(g.source, g.hi);
            }
            self.join_early(g.source);
        }
        self.behind.remove(&from);
        let lacking = marks.iter().any(|&(s, v)| s != self.id && v > self.delivered(s));
        let mut ask = false;
        if let Some(s) = self.session.as_mut() {
            if s.nonce == nonce || nonce == 0 {
                s.replied.insert(from, marks);
                if lacking && s.asked.insert(from) {
                    ask = true;
                }
            }
        }
        if ask {
            let nonce = self.session.as_ref().map_or(0, |s| s.nonce);
            let marks = self.marks();
            self.send(Destination::Peer(from), Message::SyncRequest { from: self.id, nonce, marks, want_data: true });
        }
        self.check_session(now);
        Ok(())
    }

    fn on_snapshot(&mut self, now: u64, state: &[u8], marks: &[Mark]) -> Result<()> {
        let state = match codec::decode(state, self.config.limits.decode())? {
            Blob::State(s) => s,
            Blob::Delta(_) => return Err(Error::Invalid("a snapshot carried a delta".into())),
        };
        self.join_full_state(state, marks);
        for &(s, m) in marks {
            self.raise_origin_mark(s, m);
        }
        if let Some(s) = self.session.as_mut() {
            s.from_origin = true;
        }
        self.check_session(now);
        Ok(())
    }

    fn check_session(&mut self, now: u64) {
        let Some(s) = &self.session else { return };
        // A warm replica, once what was buffered arrived, asks a peer only if it lacks something.
        if !s.cold && !s.asked_peer && now >= s.settle_at {
            let nonce = s.nonce;
            if let Some(p) = self.peer_ahead(now) {
                if let Some(s) = self.session.as_mut() {
                    s.asked_peer = true;
                    s.wait_for.insert(p);
                }
                let marks = self.marks();
                self.send(Destination::Peer(p), Message::SyncRequest { from: self.id, nonce, marks, want_data: true });
            }
        }
        let Some(s) = &self.session else { return };
        let nothing_missing =
            s.replied.values().all(|m| m.iter().all(|&(src, v)| src == self.id || v <= self.delivered(src)));
        let answered = s.wait_for.iter().all(|p| s.replied.contains_key(p) || (!s.strict && !self.live.contains(p)));
        let heard = !s.replied.is_empty() || s.from_origin || !s.cold || s.alone;
        let done = now >= s.settle_at && answered && nothing_missing && heard;
        if done || now >= s.deadline {
            let ev = Event::Synced { peers: s.replied.len(), from_origin: s.from_origin, complete: done };
            self.session = None;
            self.events.push_back(ev);
            return;
        }
        // No peer answered within half the budget: a cold replica asks the origin, if any.
        if self.has_origin
            && s.cold
            && !s.asked_origin
            && s.replied.is_empty()
            && now >= s.started + (s.deadline - s.started) / 2
        {
            self.ask_origin(now);
        }
    }

    /// The running session asks the origin for a snapshot, and gives its answer one more
    /// budget (the origin is farther than the region).
    fn ask_origin(&mut self, now: u64) {
        let Some(s) = self.session.as_mut() else { return };
        s.asked_origin = true;
        s.deadline = s.deadline.max(now.saturating_add(s.deadline - s.started));
        self.send(Destination::Origin, Message::SnapshotRequest { from: self.id });
    }

    fn check_handoff(&mut self) {
        if let Some(target) = self.handoff {
            if self.region_acked >= target || self.origin_acked >= target {
                self.handoff = None;
                self.handoff_origin_at = None;
                self.events.push_back(Event::HandoffComplete);
            }
        }
    }

    /// Re-sends own delta-groups after `after` to `peer`: each group as it was sent, or a full
    /// state when the oldest needed group was dropped.
    fn resend(&mut self, now: u64, peer: ReplicaId, after: u64) {
        if after >= self.sealed {
            return;
        }
        let tries = self.last_resent.get(&peer).map_or(0, |(_, n)| n + 1);
        self.last_resent.insert(peer, (now, tries));
        let covered = self.outbox.front().is_some_and(|g| g.lo <= after);
        if !covered {
            let marks = self.marks();
            let state = Some(self.store.snapshot());
            self.send(
                Destination::Peer(peer),
                Message::SyncReply { from: self.id, nonce: 0, marks, groups: Vec::new(), state },
            );
            return;
        }
        let acks = self.ack_vector();
        let groups: Vec<Group> = self.outbox.iter().filter(|g| g.hi > after).cloned().collect();
        for g in groups {
            let msg = Message::Deltas(Deltas {
                from: self.id,
                lo: g.lo,
                hi: g.hi,
                urgent: true,
                acks: acks.clone(),
                delta: g.delta,
            });
            self.send(Destination::Peer(peer), msg);
        }
    }

    /// When `peer`, lagging behind our delta-groups, is due a retransmission: after the last
    /// broadcast or resend, backing off while it stays silent.
    fn resend_due(&self, peer: ReplicaId) -> u64 {
        let (at, n) = self.last_resent.get(&peer).copied().unwrap_or((0, 0));
        self.last_broadcast.max(at) + (self.config.retransmit_ms << n.min(4))
    }

    fn retransmit(&mut self, now: u64) {
        let lagging: Vec<(ReplicaId, u64)> = self
            .live
            .iter()
            .map(|&p| (p, self.ack_of(p, self.id)))
            .filter(|&(p, a)| a < self.sealed && now >= self.resend_due(p))
            .collect();
        for (p, a) in lagging {
            self.resend(now, p, a);
        }
    }

    fn repair(&mut self, now: u64) {
        let due: Vec<ReplicaId> = self
            .behind
            .iter()
            .filter(|(p, since)| self.live.contains(p) && now >= *since + self.config.repair_grace_ms)
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            self.behind.insert(p, now);
            let nonce = self.random();
            let marks = self.marks();
            self.send(Destination::Peer(p), Message::SyncRequest { from: self.id, nonce, marks, want_data: true });
        }
    }

    /// Ships the writes of departed replicas that the origin does not have: exactly one live
    /// replica (one of those holding the most of them, chosen by rendezvous hashing, so all
    /// agree) does it, from the delta-groups it kept, or as a full state when they do not
    /// cover the gap.
    fn adopt(&mut self, now: u64) {
        if now < self.rejoin_until && !self.retiring {
            return;
        }
        let mut sources = VecSet::new();
        sources.extend(self.delivered.keys().copied());
        sources.extend(self.held.sources());
        sources.retain(|s| *s != self.id && !self.live.contains(s));
        for source in sources {
            let mark = self.origin_mark(source);
            let queued = self.origin_queue.iter().any(|b| b.source == source)
                || self.in_flight.as_ref().is_some_and(|f| f.batch.source == source);
            if queued {
                continue;
            }
            let mine = self.delivered(source);
            let best =
                self.live.iter().map(|&p| self.ack_of(p, source)).chain(std::iter::once(mine)).max().unwrap_or(0);
            if best <= mark || mine < best {
                continue;
            }
            let holders = self.live.iter().copied().filter(|&p| self.ack_of(p, source) == best);
            if !self.retiring && rendezvous(source, holders.chain(std::iter::once(self.id))) != Some(self.id) {
                continue;
            }
            let groups: Vec<&Group> = self.held.groups(source).filter(|g| g.hi > mark).collect();
            let mut useful = groups.clone();
            let reach = covered_from(&mut useful, mark);
            let (hi, delta) = if reach >= mine {
                let mut acc: Causal<Keyspace> = Causal::default();
                for g in useful.iter().filter(|g| g.lo < reach) {
                    if let Ok(d) = self.decode_group(&g.delta, GroupFrame { source, lo: g.lo, hi: g.hi }) {
                        acc.join_delta(&d, true);
                    }
                }
                (reach, codec::encode_group(&acc, GroupFrame { source, lo: mark, hi: reach }))
            } else {
                // Part of the source's writes reached us only inside a full state: ship ours.
                (mine, self.store.snapshot())
            };
            self.origin_queue.push_back(Batch { shipper: self.id, source, lo: mark, hi, delta });
        }
        self.pump_origin(now);
    }

    /// Takes a turn (rendezvous over the live replicas, rotating each period) at asking the
    /// origin for its marks.
    fn check_origin(&mut self, now: u64) {
        let period = self.config.origin_check_ms.max(1);
        if self.next_origin_check == 0 {
            self.next_origin_check = now + period;
            return;
        }
        if now < self.next_origin_check {
            return;
        }
        if now < self.rejoin_until {
            self.next_origin_check = self.rejoin_until;
            return;
        }
        self.next_origin_check = now + period;
        let turn = now / period;
        let me = std::iter::once(self.id);
        if rendezvous(turn, self.live.iter().copied().chain(me)) == Some(self.id) {
            self.send(Destination::Origin, Message::MarksRequest { from: self.id });
        }
    }

    fn pump_origin(&mut self, now: u64) {
        if let Some(f) = self.in_flight.as_mut() {
            if now >= f.retry_at {
                f.attempt += 1;
                let backoff = self.config.origin_retry_ms << f.attempt.min(4);
                let jitter = mix(self.rng ^ u64::from(f.attempt)) % (backoff / 2 + 1);
                f.retry_at = now + backoff + jitter;
                let payload = f.payload.clone();
                self.stats.origin_messages += 1;
                self.stats.origin_bytes += payload.len() as u64;
                self.transmits.push_back(Transmit { destination: Destination::Origin, payload });
            }
            return;
        }
        let due =
            self.origin_since.is_some_and(|since| self.origin_force || now >= since + self.config.origin_interval_ms);
        if self.origin_queue.is_empty() && due && self.origin_hi > self.origin_lo {
            let acc = std::mem::take(&mut self.origin_acc);
            let batch = Batch {
                shipper: self.id,
                source: self.id,
                lo: self.origin_lo,
                hi: self.origin_hi,
                delta: codec::encode_group(
                    &acc,
                    GroupFrame { source: self.id, lo: self.origin_lo, hi: self.origin_hi },
                ),
            };
            self.origin_lo = self.origin_hi;
            self.origin_acc_bytes = 0;
            self.origin_since = None;
            self.origin_force = false;
            self.origin_queue.push_back(batch);
        } else if due && self.origin_hi <= self.origin_lo {
            self.origin_since = None;
            self.origin_force = false;
            self.origin_acc = Causal::default();
        }
        if let Some(batch) = self.origin_queue.pop_front() {
            let payload = Message::Batch(batch.clone()).encode();
            self.stats.origin_messages += 1;
            self.stats.origin_bytes += payload.len() as u64;
            self.transmits.push_back(Transmit { destination: Destination::Origin, payload: payload.clone() });
            self.in_flight =
                Some(InFlight { batch, payload, attempt: 0, retry_at: now + self.config.origin_retry_ms * 4 });
        }
    }

    fn on_batch_ack(&mut self, now: u64, source: ReplicaId, lo: u64, hi: u64, vv: u64) {
        let matches =
            self.in_flight.as_ref().is_some_and(|f| f.batch.source == source && f.batch.lo == lo && f.batch.hi == hi);
        if matches && vv < lo {
            // The origin lacks writes before this batch (it lost them): a full state repairs it.
            self.in_flight = None;
            let delta = self.store.snapshot();
            self.origin_queue.push_front(Batch { shipper: self.id, source, lo: vv, hi, delta });
        } else if matches {
            self.in_flight = None;
            // The origin holds the whole batch even where its contiguous prefix is shorter.
            self.raise_origin_mark(source, vv.max(hi));
        } else {
            self.raise_origin_mark(source, vv);
        }
        self.pump_origin(now);
    }
}
