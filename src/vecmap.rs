//! Ordered maps and sets kept as one sorted `Vec`, for the replica's per-peer tables.
//!
//! Those tables hold one entry per replica of the region (tens to thousands), and the
//! replica keeps a dozen of them with different value types. `BTreeMap` compiles its node
//! code (insert, split, merge, steal, remove) once per key and value type, and at that
//! count it was the largest part of the wasm module, which every cold start validates.
//! A sorted `Vec` answers the same questions in order, looks up by binary search, and its
//! code per type is a few hundred bytes. Inserting or removing a key moves the entries after
//! it, which at these sizes is a short `memmove`.

use crate::sort::{merge_runs, sort_by};
use std::borrow::Borrow;

/// A map ordered by key, as `BTreeMap` is, stored as a sorted `Vec` of pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap { entries: Vec::new() }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub fn new() -> Self {
        VecMap { entries: Vec::new() }
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        match self.find(key) {
            Ok(i) => Some(&mut self.entries[i].1),
            Err(_) => None,
        }
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, returning the value it had.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// The value of `key`, made by `make` when there is none.
    pub fn or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// The value of `key`, the default when there is none.
    pub fn or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        self.or_insert_with(key, V::default)
    }

    /// The entry with the least key, taken out.
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        if self.entries.is_empty() {
            None
        } else {
            Some(self.entries.remove(0))
        }
    }

    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.entries.first().map(|(k, v)| (k, v))
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<K: Ord + Clone, V> Extend<(K, V)> for VecMap<K, V> {
    /// As `BTreeMap`'s: a later pair for a key replaces an earlier one. The pairs are sorted
    /// and merged in, so pairs in any order cost O(n log n), not a move of the tail each.
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let mut added: Vec<(usize, (K, V))> = iter.into_iter().enumerate().collect();
        sort_by(&mut added, |a, b| (&a.1 .0, a.0) < (&b.1 .0, b.0));
        let mut kept: Vec<(K, V)> = Vec::with_capacity(added.len());
        for (_, (k, v)) in added {
            match kept.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => kept.push((k, v)),
            }
        }
        if kept.is_empty() {
            return;
        }
        self.entries.retain(|(k, _)| kept.binary_search_by(|(a, _)| a.cmp(k)).is_err());
        let mid = self.entries.len();
        self.entries.extend(kept);
        merge_runs(&mut self.entries, mid, |e| e.0.clone());
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// A set ordered as `BTreeSet` is, stored as a sorted `Vec`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecSet<T> {
    items: Vec<T>,
}

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        VecSet { items: Vec::new() }
    }
}

impl<T: Ord> VecSet<T> {
    pub fn new() -> Self {
        VecSet { items: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn contains(&self, item: &T) -> bool {
        self.items.binary_search(item).is_ok()
    }

    /// Adds `item`; false if it was there.
    pub fn insert(&mut self, item: T) -> bool {
        match self.items.binary_search(&item) {
            Ok(_) => false,
            Err(i) => {
                self.items.insert(i, item);
                true
            }
        }
    }

    /// Takes `item` out; false if it was not there.
    pub fn remove(&mut self, item: &T) -> bool {
        match self.items.binary_search(item) {
            Ok(i) => {
                self.items.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.items.retain(keep);
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// The items of `self` not in `other`, in order.
    pub fn difference<'a>(&'a self, other: &'a VecSet<T>) -> impl Iterator<Item = &'a T> + 'a {
        self.items.iter().filter(move |x| !other.contains(x))
    }
}

impl<T: Ord + Clone> FromIterator<T> for VecSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut s = VecSet::new();
        s.extend(iter);
        s
    }
}

impl<T: Ord + Clone> Extend<T> for VecSet<T> {
    /// Sorted and merged in, as [`VecMap`]'s extend.
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        let mid = self.items.len();
        self.items.extend(iter);
        sort_by(&mut self.items[mid..], |a, b| a < b);
        merge_runs(&mut self.items, mid, |x| x.clone());
        self.items.dedup();
    }
}

impl<'a, T> IntoIterator for &'a VecSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T> IntoIterator for VecSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, u16),
        Remove(u8),
        OrDefault(u8),
        PopFirst,
        Retain(u8),
        Extend(Vec<(u8, u16)>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
            any::<u8>().prop_map(Op::Remove),
            any::<u8>().prop_map(Op::OrDefault),
            Just(Op::PopFirst),
            any::<u8>().prop_map(Op::Retain),
            proptest::collection::vec((any::<u8>(), any::<u16>()), 0..40).prop_map(Op::Extend),
        ]
    }

    proptest! {
        /// Every operation answers as `BTreeMap`'s does, and the order is the same.
        #[test]
        fn vec_map_acts_as_a_btree_map(ops in proptest::collection::vec(op(), 0..200)) {
            let mut model = BTreeMap::new();
            let mut m = VecMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(m.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(m.remove(&k), model.remove(&k)),
                    Op::OrDefault(k) => {
                        let v = m.or_default(k);
                        *v = v.wrapping_add(1);
                        let v = model.entry(k).or_default();
                        *v = v.wrapping_add(1);
                    }
                    Op::PopFirst => prop_assert_eq!(m.pop_first(), model.pop_first()),
                    Op::Extend(pairs) => {
                        m.extend(pairs.iter().copied());
                        model.extend(pairs.iter().copied());
                    }
                    Op::Retain(d) => {
                        m.retain(|k, _| k % (d % 7 + 2) != 0);
                        model.retain(|k, _| k % (d % 7 + 2) != 0);
                    }
                }
                prop_assert_eq!(m.len(), model.len());
                prop_assert!(m.iter().eq(model.iter()));
                prop_assert_eq!(m.first_key_value(), model.first_key_value());
                for k in [0u8, 7, 100, 255] {
                    prop_assert_eq!(m.get(&k), model.get(&k));
                    prop_assert_eq!(m.contains_key(&k), model.contains_key(&k));
                }
            }
        }

        /// Sets too, and their difference.
        #[test]
        fn vec_set_acts_as_a_btree_set(a in proptest::collection::vec(any::<u8>(), 0..60), b in proptest::collection::vec(any::<u8>(), 0..60), gone in any::<u8>()) {
            let (mut sa, sb): (VecSet<u8>, VecSet<u8>) = (a.iter().copied().collect(), b.iter().copied().collect());
            let (mut ma, mb): (BTreeSet<u8>, BTreeSet<u8>) = (a.iter().copied().collect(), b.iter().copied().collect());
            prop_assert_eq!(sa.remove(&gone), ma.remove(&gone));
            prop_assert_eq!(sa.insert(gone / 2), ma.insert(gone / 2));
            prop_assert!(sa.iter().eq(ma.iter()));
            prop_assert!(sa.difference(&sb).eq(ma.difference(&mb)));
            prop_assert_eq!(sa.contains(&gone), ma.contains(&gone));
            sa.extend(b.iter().rev().copied());
            ma.extend(b.iter().rev().copied());
            prop_assert!(sa.iter().eq(ma.iter()));
        }
    }
}
