//! Keys of the keyspace, members of sets and fields of maps: arbitrary bytes, ordered
//! lexicographically and compared eight bytes at a time (on wasm a byte-wise `memcmp` made
//! key comparison the largest cost of a lookup).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;

/// Lexicographic byte order, eight bytes per step. (Fixed-size chunks: a copy of a ranged
/// slice into an array is an out-of-line call on wasm at this opt-level.)
#[inline(always)]
fn compare(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while let (Some((x, ra)), Some((y, rb))) = (a.split_first_chunk::<8>(), b.split_first_chunk::<8>()) {
        // Little-endian loads: the lowest set bit of the difference is in the first byte that
        // differs (wasm has no byte swap, but has a count of trailing zeros).
        let (x, y) = (u64::from_le_bytes(*x), u64::from_le_bytes(*y));
        let diff = x ^ y;
        if diff != 0 {
            let shift = diff.trailing_zeros() & !7;
            return ((x >> shift) as u8).cmp(&((y >> shift) as u8));
        }
        (a, b) = (ra, rb);
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// A borrowed key: what map lookups take.
#[derive(PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct KeyStr([u8]);

impl KeyStr {
    /// Views bytes as a key.
    pub fn new(bytes: &[u8]) -> &KeyStr {
        // SAFETY: KeyStr is a repr(transparent) wrapper of [u8], so the two references have
        // the same layout and metadata (the same cast std uses for Path over OsStr).
        unsafe { &*(bytes as *const [u8] as *const KeyStr) }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Ord for KeyStr {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.0, &other.0)
    }
}

impl PartialOrd for KeyStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The first eight bytes of a key, big-endian, zero-padded: keys whose heads differ compare
/// as their heads do.
#[inline(always)]
fn head(b: &[u8]) -> u64 {
    let mut x = [0u8; 8];
    let n = b.len().min(8);
    x[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(x)
}

/// An owned key. It keeps its first eight bytes beside the heap copy, so comparing two owned
/// keys (a lookup by an interned key, the tree's own moves) mostly reads no heap memory.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Key {
    head: u64,
    bytes: Box<[u8]>,
}

impl Key {
    /// The borrowed form.
    pub fn as_key_str(&self) -> &KeyStr {
        KeyStr::new(&self.bytes)
    }

    fn new(bytes: Box<[u8]>) -> Key {
        Key { head: head(&bytes), bytes }
    }
}

impl Ord for Key {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        match self.head.cmp(&other.head) {
            Ordering::Equal => compare(&self.bytes, &other.bytes),
            o => o,
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Borrow<KeyStr> for Key {
    fn borrow(&self) -> &KeyStr {
        self.as_key_str()
    }
}

impl Deref for Key {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl From<&[u8]> for Key {
    fn from(b: &[u8]) -> Key {
        Key::new(Box::from(b))
    }
}

impl<const N: usize> From<&[u8; N]> for Key {
    fn from(b: &[u8; N]) -> Key {
        Key::new(Box::from(&b[..]))
    }
}

impl From<Vec<u8>> for Key {
    fn from(b: Vec<u8>) -> Key {
        Key::new(b.into_boxed_slice())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.bytes))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn heads_and_zero_padding_keep_the_order(a in proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(255)], 0..12),
                                                 b in proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(255)], 0..12)) {
            let (ka, kb) = (Key::from(&a[..]), Key::from(&b[..]));
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            prop_assert_eq!(ka == kb, a == b);
        }

        #[test]
        fn order_is_lexicographic(a in proptest::collection::vec(any::<u8>(), 0..40),
                                  b in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(compare(&a, &b), a.cmp(&b));
            prop_assert_eq!(compare(&a, &a), Ordering::Equal);
            let (ka, kb) = (Key::from(&a[..]), Key::from(&b[..]));
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            prop_assert_eq!(ka.as_key_str().cmp(kb.as_key_str()), a.cmp(&b));
        }

        #[test]
        fn a_shared_prefix_then_one_differing_byte(prefix in proptest::collection::vec(any::<u8>(), 0..30),
                                                   x in any::<u8>(), y in any::<u8>(),
                                                   ta in proptest::collection::vec(any::<u8>(), 0..10),
                                                   tb in proptest::collection::vec(any::<u8>(), 0..10)) {
            let a = [&prefix[..], &[x], &ta[..]].concat();
            let b = [&prefix[..], &[y], &tb[..]].concat();
            prop_assert_eq!(compare(&a, &b), a.cmp(&b));
            prop_assert_eq!(compare(&b, &a), b.cmp(&a));
            prop_assert_eq!(compare(&a, &prefix), a.cmp(&prefix));
        }
    }
}
