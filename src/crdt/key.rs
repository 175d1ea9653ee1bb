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

/// The first eight bytes of a key, big-endian, zero-padded: keys whose heads differ compare
/// as their heads do.
#[inline(always)]
fn head(b: &[u8]) -> u64 {
    let mut x = [0u8; 8];
    let n = b.len().min(8);
    x[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(x)
}

/// The bytes beside a key's head: a pointer and a length.
const SLOT: usize = 2 * std::mem::size_of::<usize>();

/// Bytes a key keeps in its slot, with no heap copy (seven on wasm32, fifteen on 64-bit
/// targets): the slot's last byte holds the length.
const INLINE: usize = SLOT - 1;

/// Marks a slot that holds its key's bytes: the high bit of its last byte, which is the
/// high bit of a heap copy's length on a little-endian target (always clear: a length fits
/// in an `isize`).
const INLINE_TAG: u8 = 0x80;

#[cfg(not(target_endian = "little"))]
compile_error!("Key tells its two forms apart by the high byte of a little-endian length");

/// A long key's heap copy, as a `Box<[u8]>` taken apart.
#[derive(Clone, Copy)]
#[repr(C)]
struct Heap {
    ptr: *mut u8,
    len: usize,
}

/// A key's bytes (a short key) or its heap copy (a long one).
#[derive(Clone, Copy)]
#[repr(C)]
union Slot {
    inline: [u8; SLOT],
    heap: Heap,
}

/// An owned key. It keeps its first eight bytes beside the rest, so comparing two owned keys
/// (a lookup by an interned key, the tree's own moves) mostly decides on them and reads no
/// more; a key of up to [`INLINE`] bytes (most set members and hash fields) is kept whole in
/// the key, with no heap copy. Sixteen bytes on wasm32, 24 on 64-bit targets.
pub struct Key {
    head: u64,
    slot: Slot,
}

const _: () = assert!(std::mem::size_of::<Key>() == 8 + SLOT);

// SAFETY: a key owns its heap copy, as a `Box<[u8]>` would; nothing else points to it.
unsafe impl Send for Key {}
// SAFETY: as for `Send`: shared references only read the bytes.
unsafe impl Sync for Key {}

impl Key {
    /// The borrowed form.
    pub fn as_key_str(&self) -> &KeyStr {
        KeyStr::new(self.bytes())
    }

    #[inline(always)]
    fn inline_len(&self) -> Option<usize> {
        // SAFETY: every byte of the slot is initialised in either form (a `Heap` is two
        // words, the whole slot), and reading them as bytes is valid for both.
        let last = unsafe { self.slot.inline[SLOT - 1] };
        (last & INLINE_TAG != 0).then_some(usize::from(last & !INLINE_TAG))
    }

    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        match self.inline_len() {
            // SAFETY: as in `inline_len`; an inline key's length is at most `INLINE`.
            Some(n) => unsafe { &self.slot.inline[..n] },
            // SAFETY: a long key's slot is the pointer and length of a `Box<[u8]>` it owns
            // (see `From<Box<[u8]>>` and `Drop`).
            None => unsafe { std::slice::from_raw_parts(self.slot.heap.ptr, self.slot.heap.len) },
        }
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        if self.inline_len().is_none() {
            // SAFETY: the box this key was made from (see `From<Box<[u8]>>`), dropped once.
            unsafe {
                let Heap { ptr, len } = self.slot.heap;
                drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)));
            }
        }
    }
}

impl Clone for Key {
    fn clone(&self) -> Key {
        match self.inline_len() {
            Some(_) => Key { head: self.head, slot: self.slot },
            None => Key::from(Box::<[u8]>::from(self.bytes())),
        }
    }
}

impl Default for Key {
    fn default() -> Key {
        Key::from(&b""[..])
    }
}

impl PartialEq for Key {
    #[inline(always)]
    fn eq(&self, other: &Key) -> bool {
        self.head == other.head && self.bytes() == other.bytes()
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
        match self.head.cmp(&other.head) {
            Ordering::Equal => compare(self.bytes(), other.bytes()),
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
        self.bytes()
    }
}

impl From<&[u8]> for Key {
    fn from(b: &[u8]) -> Key {
        if b.len() > INLINE {
            return Key::from(Box::<[u8]>::from(b));
        }
        let mut inline = [0u8; SLOT];
        inline[..b.len()].copy_from_slice(b);
        inline[SLOT - 1] = INLINE_TAG | b.len() as u8;
        Key { head: head(b), slot: Slot { inline } }
    }
}

impl From<Box<[u8]>> for Key {
    fn from(b: Box<[u8]>) -> Key {
        if b.len() <= INLINE {
            return Key::from(&b[..]);
        }
        let (head, len) = (head(&b), b.len());
        let ptr = Box::into_raw(b) as *mut u8;
        Key { head, slot: Slot { heap: Heap { ptr, len } } }
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
        // Lengths on both sides of the inline bound (seven or fifteen bytes), and of eight.
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
