//! The dots of one set member: a sorted set of dots that keeps a single dot inline.
//!
//! A member almost always holds exactly one dot (its last add). Kept in a `Vec`, that one
//! dot is a heap allocation per member in the state and another in the outgoing buffer, and
//! an add of a new member paid for both. Here one dot sits in the value itself; a member added
//! concurrently by several replicas spills to a `Vec`.

use super::context::CausalContext;
use super::dot::Dot;
use super::dotstore::DotStore;
use std::fmt;

/// A set of dots, sorted, with one dot held inline.
#[derive(Clone, Default)]
pub struct DotSet(Repr);

#[derive(Clone)]
enum Repr {
    One(Dot),
    /// No dot, or two or more (never exactly one).
    Many(Vec<Dot>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Many(Vec::new())
    }
}

impl DotSet {
    /// The set of one dot.
    pub fn single(dot: Dot) -> DotSet {
        DotSet(Repr::One(dot))
    }

    /// A set of sorted, distinct dots.
    pub(crate) fn from_sorted(mut v: Vec<Dot>) -> DotSet {
        debug_assert!(v.windows(2).all(|w| w[0] < w[1]), "dots sorted and distinct");
        match v.len() {
            1 => DotSet(Repr::One(v[0])),
            _ => {
                v.shrink_to_fit();
                DotSet(Repr::Many(v))
            }
        }
    }

    /// The dots, in order.
    pub fn dots(&self) -> &[Dot] {
        match &self.0 {
            Repr::One(d) => std::slice::from_ref(d),
            Repr::Many(v) => v,
        }
    }

    /// Number of dots.
    pub fn len(&self) -> usize {
        self.dots().len()
    }

    /// Whether there is no dot.
    pub fn is_empty(&self) -> bool {
        matches!(&self.0, Repr::Many(v) if v.is_empty())
    }

    /// Whether `dot` is in the set.
    pub fn contains(&self, dot: Dot) -> bool {
        match &self.0 {
            Repr::One(d) => *d == dot,
            Repr::Many(v) => v.binary_search(&dot).is_ok(),
        }
    }

    /// Makes `dot` the only dot.
    pub(crate) fn set_one(&mut self, dot: Dot) {
        self.0 = Repr::One(dot);
    }

    /// Keeps the dots for which `keep` holds.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(Dot) -> bool) {
        match &mut self.0 {
            Repr::One(d) => {
                if !keep(*d) {
                    self.0 = Repr::Many(Vec::new());
                }
            }
            Repr::Many(v) => {
                v.retain(|d| keep(*d));
                if let [d] = v.as_slice() {
                    self.0 = Repr::One(*d);
                }
            }
        }
    }

    /// Adds `dot` in its place (nothing if it is there).
    pub(crate) fn insert(&mut self, dot: Dot) {
        match &mut self.0 {
            Repr::One(d) if *d == dot => {}
            Repr::One(d) => self.0 = Repr::Many(if *d < dot { vec![*d, dot] } else { vec![dot, *d] }),
            Repr::Many(v) if v.is_empty() => self.0 = Repr::One(dot),
            Repr::Many(v) => {
                if let Err(at) = v.binary_search(&dot) {
                    v.insert(at, dot);
                }
            }
        }
    }
}

impl PartialEq for DotSet {
    fn eq(&self, other: &Self) -> bool {
        self.dots() == other.dots()
    }
}

impl fmt::Debug for DotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.dots()).finish()
    }
}

impl DotStore for DotSet {
    fn is_bottom(&self) -> bool {
        self.is_empty()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        for d in self.dots() {
            f(*d);
        }
    }

    fn join_full(&mut self, ctx: &CausalContext, other: &Self, other_ctx: &CausalContext) {
        // As `DotFun`'s join: keep what the other side has or never saw, add what it has and
        // this side never saw.
        self.retain(|d| other.contains(d) || !other_ctx.contains(d));
        match other.dots() {
            [] => {}
            [d] => {
                if !ctx.contains(*d) {
                    self.insert(*d);
                }
            }
            theirs => {
                let mut v = match std::mem::take(&mut self.0) {
                    Repr::One(d) => vec![d],
                    Repr::Many(v) => v,
                };
                let kept = v.len();
                for d in theirs {
                    if !ctx.contains(*d) && v[..kept].binary_search(d).is_err() {
                        v.push(*d);
                    }
                }
                crate::sort::merge_runs(&mut v, kept, |d| *d);
                *self = DotSet::from_sorted(v);
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::dotstore::DotFun;
    use super::*;
    use proptest::prelude::*;

    fn dots() -> impl Strategy<Value = Vec<Dot>> {
        proptest::collection::btree_set((1u64..4, 1u64..6).prop_map(|(r, s)| Dot::new(r, s)), 0..5)
            .prop_map(|s| s.into_iter().collect())
    }

    fn context(extra: &[Dot], of: &[Dot]) -> CausalContext {
        let mut c = CausalContext::new();
        for d in extra.iter().chain(of) {
            c.insert(*d);
        }
        c
    }

    fn fun(v: &[Dot]) -> DotFun<()> {
        DotFun(v.iter().map(|d| (*d, ())).collect())
    }

    proptest! {
        /// The inline set joins exactly as the general dot function over `()` does.
        #[test]
        fn joins_as_a_dot_function(a in dots(), b in dots(), seen_a in dots(), seen_b in dots()) {
            let (ca, cb) = (context(&seen_a, &a), context(&seen_b, &b));
            let mut mine = DotSet::from_sorted(a.clone());
            mine.join_full(&ca, &DotSet::from_sorted(b.clone()), &cb);
            let mut general = fun(&a);
            general.join_full(&ca, &fun(&b), &cb);
            let want: Vec<Dot> = general.entries().iter().map(|(d, _)| *d).collect();
            prop_assert_eq!(mine.dots(), &want[..]);
            prop_assert_eq!(matches!(mine.0, Repr::Many(ref v) if v.len() == 1), false);
        }

        #[test]
        fn insert_and_retain_keep_it_sorted(ops in proptest::collection::vec((any::<bool>(), 1u64..3, 1u64..5), 0..20)) {
            let mut s = DotSet::default();
            let mut model = std::collections::BTreeSet::new();
            for (add, r, q) in ops {
                let d = Dot::new(r, q);
                if add {
                    s.insert(d);
                    model.insert(d);
                } else {
                    s.retain(|x| x != d);
                    model.remove(&d);
                }
                let want: Vec<Dot> = model.iter().copied().collect();
                prop_assert_eq!(s.dots(), &want[..]);
                prop_assert_eq!(s.is_empty(), model.is_empty());
                prop_assert_eq!(s.contains(d), model.contains(&d));
            }
        }
    }
}
