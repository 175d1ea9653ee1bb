//! Keys of the keyspace, members of sets and fields of maps: arbitrary bytes, ordered
//! lexicographically and compared eight bytes at a time (on wasm a byte-wise `memcmp` made
//! key comparison the largest cost of a lookup).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
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

/// Bytes a key keeps inline, with no heap copy: its first eight, and as many again as a
/// pointer takes (twelve on wasm32, sixteen on 64-bit targets). Most keys, set members and
/// hash fields are that short.
const INLINE: usize = 8 + std::mem::size_of::<usize>();

/// The tail of a key: the bytes after its first eight when it is short, else its heap copy.
#[derive(Clone, Copy)]
#[repr(C)]
union Tail {
    bytes: [u8; std::mem::size_of::<usize>()],
    heap: *mut u8,
}

/// An owned key: a short one (up to [`INLINE`] bytes) kept inline, a longer one on the heap
/// with its first eight bytes beside it. Comparing two owned keys (a lookup by an interned
/// key, the tree's own moves) mostly decides on those eight bytes and reads no heap memory;
/// a short key costs no allocation.
#[repr(C)]
pub struct Key {
    /// The first eight bytes, zero-padded.
    head: [u8; 8],
    /// The rest of a short key (zero-padded), or the heap copy of a long one.
    tail: Tail,
    len: usize,
}

// SAFETY: a key owns its heap copy, as a `Box<[u8]>` would; nothing else points to it.
unsafe impl Send for Key {}
// SAFETY: as for `Send`: shared references only read the bytes.
unsafe impl Sync for Key {}

impl Key {
    /// The borrowed form.
    pub fn as_key_str(&self) -> &KeyStr {
        KeyStr::new(self.bytes())
    }

    fn is_inline(&self) -> bool {
        self.len <= INLINE
    }

    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        if self.is_inline() {
            // SAFETY: `head` and `tail` lie next to each other at the start of this repr(C)
            // struct (eight bytes, then a pointer-aligned field at offset eight: no padding),
            // and an inline key's `len` bytes are in them.
            unsafe { std::slice::from_raw_parts(self as *const Key as *const u8, self.len) }
        } else {
            // SAFETY: a long key's `tail.heap` is the pointer of a `Box<[u8]>` of `len` bytes,
            // owned by this key (see `From<Box<[u8]>>` and `Drop`).
            unsafe { std::slice::from_raw_parts(self.tail.heap, self.len) }
        }
    }

    /// The first eight bytes as a little-endian number: two keys whose heads differ compare
    /// as their first differing byte does (see [`compare`]).
    #[inline(always)]
    fn head_le(&self) -> u64 {
        u64::from_le_bytes(self.head)
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        if !self.is_inline() {
            // SAFETY: the box this key was made from (see `From<Box<[u8]>>`), dropped once.
            unsafe {
                drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.tail.heap, self.len)));
            }
        }
    }
}

impl Clone for Key {
    fn clone(&self) -> Key {
        if self.is_inline() {
            Key { head: self.head, tail: self.tail, len: self.len }
        } else {
            Key::from(Box::<[u8]>::from(self.bytes()))
        }
    }
}

impl Default for Key {
    fn default() -> Key {
        Key { head: [0; 8], tail: Tail { bytes: [0; std::mem::size_of::<usize>()] }, len: 0 }
    }
}

impl PartialEq for Key {
    #[inline(always)]
    fn eq(&self, other: &Key) -> bool {
        self.head == other.head && self.len == other.len && self.bytes() == other.bytes()
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_key_str().hash(state);
    }
}

impl Ord for Key {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        let (x, y) = (self.head_le(), other.head_le());
        let diff = x ^ y;
        if diff != 0 {
            // Zero padding keeps the order: a shorter key's padding is a zero byte, which
            // orders no later than any byte a longer one has there.
            let shift = diff.trailing_zeros() & !7;
            return ((x >> shift) as u8).cmp(&((y >> shift) as u8));
        }
        // Equal heads: a key that ends within them is a prefix of the other.
        if self.len.min(other.len) <= 8 {
            return self.len.cmp(&other.len);
        }
        compare(&self.bytes()[8..], &other.bytes()[8..])
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
        self.bytes()
    }
}

impl From<&[u8]> for Key {
    fn from(b: &[u8]) -> Key {
        if b.len() > INLINE {
            return Key::from(Box::<[u8]>::from(b));
        }
        let mut buf = [0u8; INLINE];
        buf[..b.len()].copy_from_slice(b);
        let (mut head, mut bytes) = ([0u8; 8], [0u8; std::mem::size_of::<usize>()]);
        head.copy_from_slice(&buf[..8]);
        bytes.copy_from_slice(&buf[8..]);
        Key { head, tail: Tail { bytes }, len: b.len() }
    }
}

impl From<Box<[u8]>> for Key {
    fn from(b: Box<[u8]>) -> Key {
        if b.len() <= INLINE {
            return Key::from(&b[..]);
        }
        let mut head = [0u8; 8];
        head.copy_from_slice(&b[..8]);
        let len = b.len();
        let heap = Box::into_raw(b) as *mut u8;
        Key { head, tail: Tail { heap }, len }
    }
}

impl<const N: usize> From<&[u8; N]> for Key {
    fn from(b: &[u8; N]) -> Key {
        Key::from(&b[..])
    }
}

impl From<Vec<u8>> for Key {
    fn from(b: Vec<u8>) -> Key {
        if b.len() <= INLINE {
            return Key::from(&b[..]);
        }
        Key::from(b.into_boxed_slice())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.bytes()))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    proptest! {
        // Lengths on both sides of the inline bound (twelve or sixteen bytes), and of eight.
        #[test]
        fn a_key_holds_its_bytes_whichever_way_it_is_made(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let made = [Key::from(&b[..]), Key::from(b.clone()), Key::from(b.clone().into_boxed_slice())];
            for k in &made {
                prop_assert_eq!(&k[..], &b[..]);
                prop_assert_eq!(k.as_key_str().as_bytes(), &b[..]);
                let c = k.clone();
                prop_assert_eq!(&c[..], &b[..]);
                prop_assert!(c == *k);
                prop_assert_eq!(c.cmp(k), Ordering::Equal);
                prop_assert_eq!(hash_of(k), hash_of(KeyStr::new(&b)));
                drop(c);
                prop_assert_eq!(&k[..], &b[..]);
            }
            let moved: Vec<Key> = made.into_iter().collect();
            prop_assert!(moved.iter().all(|k| k[..] == b[..]));
        }

        #[test]
        fn heads_and_zero_padding_keep_the_order(a in proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(255)], 0..24),
                                                 b in proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(255)], 0..24)) {
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
