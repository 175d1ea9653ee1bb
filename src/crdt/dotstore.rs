//! Dot stores: the building blocks of causal CRDTs (Almeida, Shoker, Baquero, "Delta state
//! replicated data types", 2018). A state is a dot store paired with a causal context; the
//! join keeps a dot if both sides have it, or if one side has it and the other never saw it.
//!
//! Deltas obey one invariant that makes joining them cheap: a delta names every map key below
//! which its context removes dots (an entry that may be empty, or a key marked `full`). A
//! delta join therefore visits only the keys the delta names, and a thousand-key state takes
//! a one-key delta in logarithmic time. A full join (of whole states) visits everything.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use super::context::CausalContext;
use super::dot::Dot;

/// A store of dots, joined in the presence of the causal contexts of both sides.
pub trait DotStore: Clone + Default + PartialEq + Debug {
    /// Whether the store holds no dot.
    fn is_bottom(&self) -> bool;

    /// Calls `f` on every dot in the store.
    fn for_each_dot(&self, f: &mut dyn FnMut(Dot));

    /// Joins `other` (seen `other_ctx`) into `self` (seen `ctx`), visiting everything.
    fn join_full(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext);

    /// Joins the delta `other` into `self`, visiting only what `other` names. With `keep`,
    /// empty entries and `full` marks are kept: `self` is itself a delta being accumulated.
    fn join_delta(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext, keep: bool) {
        let _ = keep;
        self.join_full(ctx, other, other_ctx);
    }

    /// Removes the dots `other_ctx` saw (a join with an empty store). With `keep`, emptied
    /// entries stay as markers so that `self`, a delta, still names what it removes.
    fn prune(&mut self, ctx: &CausalContext, other_ctx: &CausalContext, keep: bool) {
        let _ = keep;
        self.join_full(ctx, &Self::default(), other_ctx);
    }

    /// Drops empty entries and `full` marks (turns a delta into a plain state).
    fn normalize(&mut self) {}

    /// Number of dots (a size measure).
    fn dot_count(&self) -> usize {
        let mut n = 0;
        self.for_each_dot(&mut |_| n += 1);
        n
    }
}

/// A lattice: a join that is associative, commutative and idempotent, and a bottom.
pub trait Lattice: Clone {
    /// The least element.
    fn bottom() -> Self;
    /// Joins `other` into `self`.
    fn join(&mut self, other: &Self);
}

/// A dot store paired with its causal context: a full CRDT state, or a delta.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Causal<S> {
    /// The dots and their payloads.
    pub store: S,
    /// Every dot this state has seen, including those it removed.
    pub ctx: CausalContext,
}

impl<S: DotStore> Causal<S> {
    /// A state or delta from its parts.
    pub fn new(store: S, ctx: CausalContext) -> Self {
        Causal { store, ctx }
    }

    /// Joins a delta produced by a mutator (or a join of such deltas), visiting only what
    /// it names. `keep` keeps empty entries: use it when `self` accumulates deltas.
    pub fn join_delta(&mut self, delta: &Causal<S>, keep: bool) {
        self.store.join_delta(&self.ctx, &delta.store, &delta.ctx, keep);
        self.ctx.join(&delta.ctx);
    }

    /// Drops empty entries left by delta joins.
    pub fn normalize(&mut self) {
        self.store.normalize();
        self.ctx.normalize();
    }
}

impl<S: DotStore> Lattice for Causal<S> {
    fn bottom() -> Self {
        Causal::default()
    }

    fn join(&mut self, other: &Self) {
        self.store.join_full(&self.ctx, &other.store, &other.ctx);
        self.ctx.join(&other.ctx);
    }
}

/// A map from dots to immutable payloads (`DotFun` in the literature), kept as a vector
/// sorted by dot because in practice it holds one or a few entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DotFun<V>(pub(crate) Vec<(Dot, V)>);

impl<V> Default for DotFun<V> {
    fn default() -> Self {
        DotFun(Vec::new())
    }
}

impl<V: Clone + PartialEq + Debug> DotFun<V> {
    /// The store with one entry.
    pub fn single(dot: Dot, v: V) -> Self {
        DotFun(vec![(dot, v)])
    }

    /// The entries, sorted by dot.
    pub fn entries(&self) -> &[(Dot, V)] {
        &self.0
    }

    /// The payload at `dot`.
    pub fn get(&self, dot: Dot) -> Option<&V> {
        self.0.binary_search_by(|(d, _)| d.cmp(&dot)).ok().map(|i| &self.0[i].1)
    }

    /// Inserts an entry (replacing the payload of an equal dot).
    pub fn insert(&mut self, dot: Dot, v: V) {
        match self.0.binary_search_by(|(d, _)| d.cmp(&dot)) {
            Ok(i) => self.0[i].1 = v,
            Err(i) => self.0.insert(i, (dot, v)),
        }
    }

    /// The dots, as a context (for removing everything observed).
    pub fn context(&self) -> CausalContext {
        let mut c = CausalContext::new();
        for (d, _) in &self.0 {
            c.insert(*d);
        }
        c
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: Clone + PartialEq + Debug> DotStore for DotFun<V> {
    fn is_bottom(&self) -> bool {
        self.0.is_empty()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        for (d, _) in &self.0 {
            f(*d);
        }
    }

    fn join_full(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext) {
        // Store dots are always in their own context, so "in other, not in self" and "not seen
        // by self" are the same test.
        self.0.retain(|(d, _)| other.get(*d).is_some() || !other_ctx.contains(*d));
        // What is kept and what is added are each in dot order: merge the two runs.
        let kept = self.0.len();
        for (d, v) in &other.0 {
            let known = self.0[..kept].binary_search_by(|(x, _)| x.cmp(d)).is_ok();
            if !ctx.contains(*d) && !known {
                self.0.push((*d, v.clone()));
            }
        }
        crate::sort::merge_runs(&mut self.0, kept, |e| e.0);
    }
}

/// A map from keys to dot stores. In a delta, `full` marks keys whose whole subtree must be
/// checked against the delta's context (a removal that does not list what it removed).
#[derive(Debug, Clone, PartialEq)]
pub struct DotMap<K: Ord, V> {
    pub(crate) entries: BTreeMap<K, V>,
    pub(crate) full: BTreeSet<K>,
}

impl<K: Ord, V> Default for DotMap<K, V> {
    fn default() -> Self {
        DotMap { entries: BTreeMap::new(), full: BTreeSet::new() }
    }
}

impl<K: Ord + Clone + Debug, V: DotStore> DotMap<K, V> {
    /// The value at `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.get(key)
    }

    /// The entries, in key order (a delta may hold empty ones).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets one entry (used to build deltas).
    pub fn insert(&mut self, key: K, v: V) {
        self.entries.insert(key, v);
    }

    /// Marks `key` for a full check against the context, with an empty entry (a removal).
    pub fn mark_full(&mut self, key: K) {
        self.entries.entry(key.clone()).or_default();
        self.full.insert(key);
    }

    /// Whether `key` is marked for a full check.
    pub fn is_full(&self, key: &K) -> bool {
        self.full.contains(key)
    }

    fn join_key(&mut self, key: &K, ctx: &CausalContext, ov: &V, other_ctx: &CausalContext, full: bool, keep: bool) {
        let sv = match self.entries.get_mut(key) {
            Some(v) => v,
            None => {
                // Nothing here: only the other side's dots that we never saw survive.
                let mut v = V::default();
                if full {
                    v.join_full(ctx, ov, other_ctx);
                } else {
                    v.join_delta(ctx, ov, other_ctx, keep);
                }
                if keep || !v.is_bottom() {
                    self.entries.insert(key.clone(), v);
                }
                if keep && full {
                    self.full.insert(key.clone());
                }
                return;
            }
        };
        if full {
            sv.join_full(ctx, ov, other_ctx);
        } else {
            sv.join_delta(ctx, ov, other_ctx, keep);
        }
        if !keep && sv.is_bottom() {
            self.entries.remove(key);
        } else if keep && full {
            self.full.insert(key.clone());
        }
    }
}

impl<V> DotMap<super::Key, V> {
    /// The value at the key with these bytes.
    pub fn get_bytes(&self, key: &[u8]) -> Option<&V> {
        self.entries.get(super::KeyStr::new(key))
    }
}

impl<K: Ord + Clone + Debug, V: DotStore> DotStore for DotMap<K, V> {
    fn is_bottom(&self) -> bool {
        self.entries.values().all(|v| v.is_bottom())
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        for v in self.entries.values() {
            v.for_each_dot(f);
        }
    }

    fn join_full(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext) {
        let empty = V::default();
        let mut gone = Vec::new();
        for (k, sv) in self.entries.iter_mut() {
            match other.entries.get(k) {
                Some(ov) => sv.join_full(ctx, ov, other_ctx),
                None => sv.join_full(ctx, &empty, other_ctx),
            }
            if sv.is_bottom() {
                gone.push(k.clone());
            }
        }
        for k in gone {
            self.entries.remove(&k);
        }
        for (k, ov) in &other.entries {
            if !self.entries.contains_key(k) {
                let mut v = V::default();
                v.join_full(ctx, ov, other_ctx);
                if !v.is_bottom() {
                    self.entries.insert(k.clone(), v);
                }
            }
        }
        self.full.clear();
    }

    fn join_delta(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext, keep: bool) {
        for (k, ov) in &other.entries {
            let full = other.full.contains(k);
            self.join_key(k, ctx, ov, other_ctx, full, keep);
        }
    }

    fn prune(&mut self, ctx: &CausalContext, other_ctx: &CausalContext, keep: bool) {
        self.entries.retain(|_, v| {
            v.prune(ctx, other_ctx, keep);
            keep || !v.is_bottom()
        });
    }

    fn normalize(&mut self) {
        self.full.clear();
        self.entries.retain(|_, v| {
            v.normalize();
            !v.is_bottom()
        });
    }
}
