//! Keys of the keyspace, members of sets and fields of maps: arbitrary bytes, ordered
//! lexicographically and compared eight bytes at a time (on wasm a byte-wise `memcmp` made
//! key comparison the largest cost of a lookup).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;

/// Lexicographic byte order, eight bytes per step.
#[inline(always)]
fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let mut x = [0u8; 8];
        let mut y = [0u8; 8];
        x.copy_from_slice(&a[i..i + 8]);
        y.copy_from_slice(&b[i..i + 8]);
        let (x, y) = (u64::from_be_bytes(x), u64::from_be_bytes(y));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
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

/// An owned key.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Key(Box<[u8]>);

impl Key {
    /// The borrowed form.
    pub fn as_key_str(&self) -> &KeyStr {
        KeyStr::new(&self.0)
    }
}

impl Ord for Key {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.0, &other.0)
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
        &self.0
    }
}

impl From<&[u8]> for Key {
    fn from(b: &[u8]) -> Key {
        Key(Box::from(b))
    }
}

impl<const N: usize> From<&[u8; N]> for Key {
    fn from(b: &[u8; N]) -> Key {
        Key(Box::from(&b[..]))
    }
}

impl From<Vec<u8>> for Key {
    fn from(b: Vec<u8>) -> Key {
        Key(b.into_boxed_slice())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn order_is_lexicographic(a in proptest::collection::vec(any::<u8>(), 0..40),
                                  b in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(compare(&a, &b), a.cmp(&b));
            prop_assert_eq!(compare(&a, &a), Ordering::Equal);
        }
    }
}
