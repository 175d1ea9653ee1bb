//! The sorts of the cold paths, in one small body per element type.
//!
//! The standard library's sorts are fast on every input, but each instance is several
//! kilobytes of wasm; with a dozen element types they were a sixth of the module, and the
//! module's size is what V8 validates at every cold start. The lists sorted here are short
//! (a value's dots, a key's slots, a window of groups, a context's replicas) or already
//! sorted runs that only need merging. Each is sorted by a key that is unique within the
//! list, so stability does not matter.

/// Sorts `v` by `key` (see [`sort_by`]).
pub(crate) fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a) < key(b));
}

/// Sorts `v` in its natural order (see [`sort_by`]).
pub(crate) fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, |a, b| a < b);
}

/// Sorts `v` by the strict order `less`: insertion sort for short slices, heapsort
/// (O(n log n) on any input) beyond.
pub(crate) fn sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = v.len();
    if n <= 16 {
        for i in 1..n {
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let sift_down = |v: &mut [T], mut node: usize, end: usize| loop {
        let mut child = 2 * node + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[node], &v[child]) {
            break;
        }
        v.swap(node, child);
        node = child;
    };
    for i in (0..n / 2).rev() {
        sift_down(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// Merges the sorted runs `v[..mid]` and `v[mid..]` into one run sorted by `key`, in linear
/// time (a join appends what it adds, in order, after what it keeps).
pub(crate) fn merge_runs<T, K: Ord>(v: &mut Vec<T>, mid: usize, key: impl Fn(&T) -> K) {
    match (mid.checked_sub(1).and_then(|i| v.get(i)), v.get(mid)) {
        (Some(last), Some(first)) if key(first) < key(last) => {}
        _ => return,
    }
    let tail = v.split_off(mid);
    let head = std::mem::replace(v, Vec::with_capacity(mid + tail.len()));
    let (mut a, mut b) = (head.into_iter().peekable(), tail.into_iter().peekable());
    loop {
        let from_tail = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => key(y) < key(x),
            (None, Some(_)) => true,
            (_, None) => false,
        };
        match if from_tail { b.next() } else { a.next() } {
            Some(x) => v.push(x),
            None => break,
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_like_the_standard_sort(mut v in proptest::collection::vec(any::<u16>(), 0..200)) {
            let mut want = v.clone();
            want.sort_unstable();
            sort(&mut v);
            prop_assert_eq!(v, want);
        }

        #[test]
        fn sorts_by_a_key(mut v in proptest::collection::vec((any::<u8>(), any::<u8>()), 0..60)) {
            let mut want = v.clone();
            want.sort_by_key(|e| std::cmp::Reverse(e.0));
            sort_by_key(&mut v, |e| std::cmp::Reverse(e.0));
            let keys = |v: &[(u8, u8)]| v.iter().map(|e| e.0).collect::<Vec<_>>();
            prop_assert_eq!(keys(&v), keys(&want));
        }

        #[test]
        fn merges_two_sorted_runs(mut a in proptest::collection::vec(any::<u16>(), 0..80),
                                  mut b in proptest::collection::vec(any::<u16>(), 0..80)) {
            a.sort_unstable();
            b.sort_unstable();
            let mid = a.len();
            let mut v = [a, b].concat();
            let mut want = v.clone();
            want.sort_unstable();
            merge_runs(&mut v, mid, |x| *x);
            prop_assert_eq!(v, want);
        }
    }
}
