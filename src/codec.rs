//! The versioned binary wire format of states and deltas, and the only place where untrusted
//! bytes are validated. Decoding returns `Err` for anything malformed — truncated, oversized,
//! wrong version, non-canonical, or a causal context that does not cover the store — never
//! panics, and never allocates more than the input could describe.
//!
//! Layout (integers are LEB128 varints, signed ones zigzag; `bytes` is a length then bytes):
//!
//! ```text
//! blob     = magic:u8 replicas ctx keyspace        magic: 0xC1 delta, 0xC2 state
//! replicas = n (id)*n                              ids strictly ascending
//! ctx      = n (index vv m (gap len-1)*m)*n        indexes ascending; a gap is lo - prev_hi ≥ 2
//! keyspace = map
//! map      = n (key:bytes any)*n                   keys strictly ascending
//! any      = header:u8 slot*                       header bit k: slot of kind k; bit 7: full
//! counter  = n (dot value:i64)*n                   lww = n (dot ts value:bytes)*n
//! mv       = n (dot value:bytes)*n                 flag = n (dot on:u8)*n
//! set      = n (member:bytes n' dot*n')*n          hash/map = map
//! dot      = replica-index seq                     dots strictly ascending in each store
//! ```
//!
//! A delta-group (one writer's dots `lo+1..=hi`, shipped with `source`, `lo` and `hi` beside
//! it in a sync message or batch) has a shorter form that leaves out what those three say:
//!
//! ```text
//! group    = 0xC3 head others own ctx keyspace      the table is [source] + others
//! head     = varint(n << 3 | min(m, 7)) [m - 7]     n others, m own ranges (the rest of m
//!                                                   follows when it is 7 or more)
//! others   = (id)*n                                 ascending, never the source
//! own      = (gap span)*m                           the source's other dots, all ≤ lo, as
//!                                                   ranges going down from lo: the first
//!                                                   tops at lo - gap, the next at the
//!                                                   previous bottom - 2 - gap
//! ctx      = as above, for the others (indexes ≥ 1); absent when there are none
//! dot      = 0 age | index seq                      the source's dots as age = hi - seq
//! ```

use std::fmt;

use crate::crdt::{
    AnyCrdt, AnyMap, Causal, CausalContext, Dot, DotFun, DotMap, DotSet, DotStore, DwFlag, EwFlag, Key, Kind, LwwReg,
    MvReg, OrSet, PnCounter, ReplicaId, Seen, Slot, Stamped,
};
use crate::store::Keyspace;

/// First byte of an encoded delta.
pub const MAGIC_DELTA: u8 = 0xC1;
/// First byte of an encoded full state.
pub const MAGIC_STATE: u8 = 0xC2;
/// First byte of a delta-group encoded relative to its writer and range.
pub const MAGIC_GROUP: u8 = 0xC3;

/// What a delta-group's envelope says: its writer and the range of the writer's dots,
/// `lo+1..=hi`, that its context holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupFrame {
    /// The writer.
    pub source: ReplicaId,
    /// The range starts after `lo`...
    pub lo: u64,
    /// ...and ends at `hi`.
    pub hi: u64,
}
/// Deepest nesting of maps accepted.
pub const MAX_DEPTH: usize = 8;

/// Why bytes were rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended in the middle of a value.
    Truncated,
    /// The first byte is not a known format.
    Version(u8),
    /// A length beyond a limit.
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Anything else: the message names the rule broken.
    Invalid(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "invalid castamere bytes: truncated input"),
            DecodeError::Version(v) => write!(
                f,
                "invalid castamere bytes: unknown format 0x{v:02x} (this build reads format 1; upgrade the older peer)"
            ),
            DecodeError::TooLarge { what, len, max } => {
                write!(f, "invalid castamere bytes: {what} of {len} is over the limit of {max}")
            }
            DecodeError::Invalid(why) => write!(f, "invalid castamere bytes: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest key, member or field name.
    pub max_key_bytes: usize,
    /// Largest value.
    pub max_value_bytes: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits { max_key_bytes: 4096, max_value_bytes: 1 << 20 }
    }
}

// ---------------------------------------------------------------------------------------------
// Primitives

/// Appends varints and byte strings.
#[derive(Debug, Default)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// One byte.
    pub fn u8(&mut self, b: u8) {
        self.buf.push(b);
    }
    /// An unsigned varint.
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    /// A signed (zigzag) varint.
    pub fn ivarint(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }
    /// A length-prefixed byte string.
    pub fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
}

/// Reads varints and byte strings from untrusted input.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }
    /// An unsigned varint (at most 10 bytes, no overflow).
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            let part = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(DecodeError::Invalid("varint overflows 64 bits"));
            }
            v |= part << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Invalid("varint longer than 10 bytes"))
    }
    /// A signed (zigzag) varint.
    pub fn ivarint(&mut self) -> Result<i64, DecodeError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    /// A count of items, each at least `min_item` bytes: never more than the input holds.
    pub fn count(&mut self, min_item: usize) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        let max = (self.remaining() / min_item.max(1)) as u64;
        if n > max {
            return Err(DecodeError::Truncated);
        }
        Ok(n as usize)
    }
    /// A length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        if len > max as u64 {
            return Err(DecodeError::TooLarge { what, len, max: max as u64 });
        }
        let len = len as usize;
        if len > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

struct Enc<'r> {
    w: Writer,
    replicas: &'r [ReplicaId],
    /// In the group form: the writer (index 0, its dots as ages) and `hi`; `replicas` then
    /// holds the others, at indexes 1...
    group: Option<GroupFrame>,
}

impl Enc<'_> {
    fn index(&self, r: ReplicaId) -> u64 {
        // Every replica of the blob is in the table: it was collected from the blob itself.
        match self.group {
            Some(g) if g.source == r => 0,
            Some(_) => self.replicas.binary_search(&r).map_or(0, |i| i as u64 + 1),
            None => self.replicas.binary_search(&r).map_or(0, |i| i as u64),
        }
    }

    fn dot(&mut self, d: Dot) {
        let i = self.index(d.replica);
        self.w.varint(i);
        match self.group {
            Some(g) if g.source == d.replica => self.w.varint(g.hi - d.seq),
            _ => self.w.varint(d.seq),
        }
    }

    fn dotfun<V>(&mut self, f: &DotFun<V>, val: impl FnMut(&mut Writer, &V)) {
        self.dot_entries(f.0.len(), f.0.iter().map(|(d, v)| (*d, v)), val);
    }

    /// `n` entries of a dot function (a member's dots are one over `()`).
    fn dot_entries<'v, V: 'v>(
        &mut self,
        n: usize,
        entries: impl Iterator<Item = (Dot, &'v V)>,
        mut val: impl FnMut(&mut Writer, &V),
    ) {
        self.w.varint(n as u64);
        for (d, v) in entries {
            self.dot(d);
            val(&mut self.w, v);
        }
    }

    fn ctx(&mut self, c: &CausalContext) {
        self.w.varint(c.entries().count() as u64);
        for (r, s) in c.entries() {
            let i = self.index(r);
            self.w.varint(i);
            write_seen(&mut self.w, s);
        }
    }

    fn any(&mut self, v: &AnyCrdt, full: bool) {
        let mut header = if full { 0x80u8 } else { 0 };
        for s in v.slots() {
            header |= 1 << (s.kind() as u8);
        }
        self.w.u8(header);
        for s in v.slots() {
            match s {
                Slot::Counter(c) => self.dotfun(c.dots(), |w, v| w.ivarint(*v)),
                Slot::Lww(r) => self.dotfun(&r.0, |w, s| {
                    w.varint(s.ts);
                    w.bytes(&s.value);
                }),
                Slot::Mv(r) => self.dotfun(&r.0, |w, v| w.bytes(v)),
                Slot::EwFlag(f) => self.dotfun(&f.0, |w, on| w.u8(u8::from(*on))),
                Slot::DwFlag(f) => self.dotfun(&f.0, |w, on| w.u8(u8::from(*on))),
                Slot::Set(s) => {
                    self.w.varint(s.0.entries.len() as u64);
                    for (m, dots) in &s.0.entries {
                        self.w.bytes(m);
                        self.dot_entries(dots.len(), dots.dots().iter().map(|d| (*d, &())), |_, _| {});
                    }
                }
                Slot::Map(m) => self.map(&m.0),
            }
        }
    }

    fn map(&mut self, m: &DotMap<Key, AnyCrdt>) {
        self.w.varint(m.entries.len() as u64);
        for (k, v) in &m.entries {
            self.w.bytes(k);
            self.any(v, m.full.contains(k));
        }
    }
}

fn collect_replicas(c: &Causal<Keyspace>) -> Vec<ReplicaId> {
    let mut rs: Vec<ReplicaId> = c.ctx.replicas().collect();
    c.store.for_each_dot(&mut |d| rs.push(d.replica));
    crate::sort::sort(&mut rs);
    rs.dedup();
    rs
}

fn encode(magic: u8, c: &Causal<Keyspace>) -> Vec<u8> {
    let replicas = collect_replicas(c);
    let mut e = Enc { w: Writer::new(), replicas: &replicas, group: None };
    e.w.u8(magic);
    e.w.varint(replicas.len() as u64);
    for r in &replicas {
        e.w.varint(*r);
    }
    e.ctx(&c.ctx);
    e.map(&c.store);
    e.w.buf
}

/// Encodes a delta (a join of deltas, with the markers that name what it removes).
pub fn encode_delta(c: &Causal<Keyspace>) -> Vec<u8> {
    encode(MAGIC_DELTA, c)
}

/// Encodes a delta-group of `frame.source`'s dots `lo+1..=hi` in the group form, which its
/// receiver decodes with the same frame ([`decode_framed`]). A delta whose context does not
/// hold the whole range is encoded as a plain delta (which [`decode_framed`] reads too).
pub fn encode_group(c: &Causal<Keyspace>, frame: GroupFrame) -> Vec<u8> {
    let GroupFrame { source, lo, hi } = frame;
    let holds_range = c.ctx.ranges().any(|(r, a, b)| r == source && a <= lo + 1 && b >= hi);
    let beyond = c.ctx.ranges().any(|(r, _, b)| r == source && b > hi);
    if lo >= hi || !holds_range || beyond {
        return encode_delta(c);
    }
    // The writer's dots outside the range, highest first, and the others' context.
    let mut own: Vec<(u64, u64)> = Vec::new();
    let mut ctx = CausalContext::new();
    for (r, a, b) in c.ctx.ranges() {
        if r != source {
            ctx.insert_range(r, a, b);
        } else if a <= lo {
            own.push((a, b.min(lo)));
        }
    }
    own.reverse();
    let mut others = collect_replicas(c);
    others.retain(|&r| r != source);
    let mut e = Enc { w: Writer::new(), replicas: &others, group: Some(frame) };
    e.w.u8(MAGIC_GROUP);
    let m = own.len() as u64;
    e.w.varint(((others.len() as u64) << 3) | m.min(7));
    if m >= 7 {
        e.w.varint(m - 7);
    }
    for r in &others {
        e.w.varint(*r);
    }
    let mut top = lo;
    for (a, b) in own {
        e.w.varint(top - b);
        e.w.varint(b - a);
        top = a.saturating_sub(2);
    }
    if !others.is_empty() {
        e.ctx(&ctx);
    }
    e.map(&c.store);
    e.w.buf
}

/// Encodes a full state (joined with a full join on arrival).
pub fn encode_state(c: &Causal<Keyspace>) -> Vec<u8> {
    encode(MAGIC_STATE, c)
}

// ---------------------------------------------------------------------------------------------
// Decoding

struct Dec<'a> {
    r: Reader<'a>,
    replicas: Vec<ReplicaId>,
    ctx: CausalContext,
    limits: DecodeLimits,
    /// In the group form: `replicas[0]` is the writer, whose dots come as ages below `hi`.
    group: Option<GroupFrame>,
}

impl Dec<'_> {
    fn dot(&mut self) -> Result<Dot, DecodeError> {
        let i = self.r.varint()?;
        let replica = *self
            .replicas
            .get(usize::try_from(i).unwrap_or(usize::MAX))
            .ok_or(DecodeError::Invalid("dot names a replica outside the replica table"))?;
        let seq = match self.group {
            Some(g) if i == 0 => {
                let age = self.r.varint()?;
                g.hi.checked_sub(age).ok_or(DecodeError::Invalid("dot older than the writer's first write"))?
            }
            _ => self.r.varint()?,
        };
        if seq == 0 {
            return Err(DecodeError::Invalid("dot with sequence number 0"));
        }
        let d = Dot::new(replica, seq);
        if !self.ctx.contains(d) {
            return Err(DecodeError::Invalid("inconsistent causal context: a dot in the store is not in the context"));
        }
        Ok(d)
    }

    fn dotfun<V>(&mut self, val: impl FnMut(&mut Self) -> Result<V, DecodeError>) -> Result<DotFun<V>, DecodeError> {
        let n = self.r.count(2)?;
        self.dot_entries(n, val).map(DotFun)
    }

    /// `n` entries of a dot function, dots strictly ascending.
    fn dot_entries<V>(
        &mut self,
        n: usize,
        mut val: impl FnMut(&mut Self) -> Result<V, DecodeError>,
    ) -> Result<Vec<(Dot, V)>, DecodeError> {
        let mut v: Vec<(Dot, V)> = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let d = self.dot()?;
            if v.last().is_some_and(|(p, _)| *p >= d) {
                return Err(DecodeError::Invalid("dots not in strictly ascending order"));
            }
            let x = val(self)?;
            v.push((d, x));
        }
        Ok(v)
    }

    /// A member's dots: a dot function over `()`, without a heap copy for a single dot.
    fn dotset(&mut self) -> Result<DotSet, DecodeError> {
        let n = self.r.count(2)?;
        if n == 1 {
            return Ok(DotSet::single(self.dot()?));
        }
        let v = self.dot_entries(n, |_| Ok(()))?;
        Ok(DotSet::from_sorted(v.into_iter().map(|(d, ())| d).collect()))
    }

    fn ctx(&mut self) -> Result<(), DecodeError> {
        let n = self.r.count(3)?;
        let mut last: Option<u64> = None;
        for _ in 0..n {
            let i = self.r.varint()?;
            if last.is_some_and(|l| l >= i) {
                return Err(DecodeError::Invalid("context replicas not in ascending order"));
            }
            if i == 0 && self.group.is_some() {
                return Err(DecodeError::Invalid("the group's writer in the others' context"));
            }
            last = Some(i);
            let replica = *self
                .replicas
                .get(usize::try_from(i).unwrap_or(usize::MAX))
                .ok_or(DecodeError::Invalid("context names a replica outside the replica table"))?;
            read_seen(&mut self.r, &mut self.ctx, replica)?;
        }
        Ok(())
    }

    /// The keyspace, the last thing in a blob, with the context read before it.
    fn finish(mut self) -> Result<Causal<Keyspace>, DecodeError> {
        let store = self.map(0)?;
        if !self.r.is_empty() {
            return Err(DecodeError::Invalid("trailing bytes after the keyspace"));
        }
        Ok(Causal::new(store, self.ctx))
    }

    /// The group form's context of the writer: the frame's range and the ranges below it.
    fn own_ctx(&mut self, g: GroupFrame, m: usize) -> Result<(), DecodeError> {
        self.ctx.insert_range(g.source, g.lo + 1, g.hi);
        let mut top = g.lo;
        for _ in 0..m {
            let gap = self.r.varint()?;
            let span = self.r.varint()?;
            let b = top.checked_sub(gap).ok_or(DecodeError::Invalid("writer's context range below its first write"))?;
            let a = b.checked_sub(span).ok_or(DecodeError::Invalid("writer's context range below its first write"))?;
            if a == 0 {
                return Err(DecodeError::Invalid("writer's context range below its first write"));
            }
            self.ctx.insert_range(g.source, a, b);
            top = a.saturating_sub(2);
        }
        Ok(())
    }

    fn key(&mut self, prev: &mut Option<Key>) -> Result<Key, DecodeError> {
        let k: Key = Key::from(self.r.bytes("key", self.limits.max_key_bytes)?);
        if prev.as_ref().is_some_and(|p| *p >= k) {
            return Err(DecodeError::Invalid("map keys not in strictly ascending order"));
        }
        *prev = Some(k.clone());
        Ok(k)
    }

    fn any(&mut self, depth: usize) -> Result<(AnyCrdt, bool), DecodeError> {
        let header = self.r.u8()?;
        let full = header & 0x80 != 0;
        let mut slots = Vec::new();
        for kind in Kind::ALL {
            if header & (1 << kind as u8) == 0 {
                continue;
            }
            let max_value = self.limits.max_value_bytes;
            let slot = match kind {
                Kind::Counter => Slot::Counter(PnCounter::from_dots(self.dotfun(|d| d.r.ivarint())?)),
                Kind::Lww => Slot::Lww(LwwReg(self.dotfun(|d| {
                    let ts = d.r.varint()?;
                    let value = d.r.bytes("value", max_value)?.to_vec();
                    Ok(Stamped { ts, value })
                })?)),
                Kind::Mv => Slot::Mv(MvReg(self.dotfun(|d| Ok(d.r.bytes("value", max_value)?.to_vec()))?)),
                Kind::EwFlag => Slot::EwFlag(EwFlag(self.dotfun(Self::flag)?)),
                Kind::DwFlag => Slot::DwFlag(DwFlag(self.dotfun(Self::flag)?)),
                Kind::Set => {
                    let n = self.r.count(2)?;
                    let mut set = OrSet::default();
                    let mut prev = None;
                    for _ in 0..n {
                        let m = self.key(&mut prev)?;
                        let dots = self.dotset()?;
                        set.0.entries.insert(m, dots);
                    }
                    Slot::Set(Box::new(set))
                }
                Kind::Map => {
                    if depth >= MAX_DEPTH {
                        return Err(DecodeError::TooLarge {
                            what: "map nesting depth",
                            len: depth as u64 + 1,
                            max: MAX_DEPTH as u64,
                        });
                    }
                    Slot::Map(Box::new(AnyMap::from_dotmap(self.map(depth + 1)?)))
                }
            };
            slots.push(slot);
        }
        if header & 0x7f & !((1 << Kind::ALL.len()) - 1) != 0 {
            return Err(DecodeError::Invalid("unknown slot kind"));
        }
        Ok((AnyCrdt::from_slots(slots), full))
    }

    fn flag(&mut self) -> Result<bool, DecodeError> {
        match self.r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid("flag value other than 0 or 1")),
        }
    }

    fn map(&mut self, depth: usize) -> Result<DotMap<Key, AnyCrdt>, DecodeError> {
        let n = self.r.count(2)?;
        let mut m = DotMap::default();
        let mut prev = None;
        for _ in 0..n {
            let k = self.key(&mut prev)?;
            let (v, full) = self.any(depth)?;
            if full {
                m.full.insert(k.clone());
            }
            m.entries.insert(k, v);
        }
        Ok(m)
    }
}

/// One replica's seen dots: `vv m (gap len-1)*m`.
fn write_seen(w: &mut Writer, s: &Seen) {
    w.varint(s.vv);
    w.varint(s.cloud.len() as u64);
    let mut prev = s.vv;
    for &(lo, hi) in &s.cloud {
        w.varint(lo - prev);
        w.varint(hi - lo);
        prev = hi;
    }
}

/// Reads one replica's seen dots written by [`write_seen`] into `ctx`, validating them.
fn read_seen(r: &mut Reader<'_>, ctx: &mut CausalContext, replica: ReplicaId) -> Result<(), DecodeError> {
    let vv = r.varint()?;
    if vv > 0 {
        ctx.insert_range(replica, 1, vv);
    }
    let m = r.count(2)?;
    let mut prev = vv;
    for _ in 0..m {
        let gap = r.varint()?;
        let span = r.varint()?;
        if gap < 2 {
            return Err(DecodeError::Invalid("context ranges overlap or touch"));
        }
        let lo = prev.checked_add(gap).ok_or(DecodeError::Invalid("context range overflows"))?;
        let hi = lo.checked_add(span).ok_or(DecodeError::Invalid("context range overflows"))?;
        ctx.insert_range(replica, lo, hi);
        prev = hi;
    }
    if vv == 0 && m == 0 {
        return Err(DecodeError::Invalid("empty context entry"));
    }
    Ok(())
}

/// Writes a causal context on its own (replica ids in full), e.g. in a sync request.
pub fn write_context(w: &mut Writer, c: &CausalContext) {
    w.varint(c.entries().count() as u64);
    for (r, s) in c.entries() {
        w.varint(r);
        write_seen(w, s);
    }
}

/// Reads a context written by [`write_context`], validating it.
pub fn read_context(r: &mut Reader<'_>) -> Result<CausalContext, DecodeError> {
    let n = r.count(3)?;
    let mut ctx = CausalContext::new();
    let mut last: Option<ReplicaId> = None;
    for _ in 0..n {
        let replica = r.varint()?;
        if last.is_some_and(|l| l >= replica) {
            return Err(DecodeError::Invalid("context replicas not in ascending order"));
        }
        last = Some(replica);
        read_seen(r, &mut ctx, replica)?;
    }
    Ok(ctx)
}

/// A decoded blob: a delta or a full state.
#[derive(Debug, Clone, PartialEq)]
pub enum Blob {
    /// A delta: join it with [`Causal::join_delta`].
    Delta(Causal<Keyspace>),
    /// A full state: join it with a full join.
    State(Causal<Keyspace>),
}

/// Decodes a delta or a state from untrusted bytes.
pub fn decode(bytes: &[u8], limits: DecodeLimits) -> Result<Blob, DecodeError> {
    let mut r = Reader::new(bytes);
    let magic = r.u8()?;
    if magic != MAGIC_DELTA && magic != MAGIC_STATE {
        return Err(DecodeError::Version(magic));
    }
    let n = r.count(1)?;
    let mut replicas = Vec::with_capacity(n.min(1024));
    read_table(&mut r, n, &mut replicas, None)?;
    let mut d = Dec { r, replicas, ctx: CausalContext::new(), limits, group: None };
    d.ctx()?;
    let c = d.finish()?;
    Ok(if magic == MAGIC_DELTA { Blob::Delta(c) } else { Blob::State(c) })
}

/// Reads `n` replica ids in strictly ascending order onto `table` (never `writer`).
fn read_table(
    r: &mut Reader<'_>,
    n: usize,
    table: &mut Vec<ReplicaId>,
    writer: Option<ReplicaId>,
) -> Result<(), DecodeError> {
    let mut last: Option<ReplicaId> = None;
    for _ in 0..n {
        let id = r.varint()?;
        if Some(id) == writer {
            return Err(DecodeError::Invalid("the group's writer listed among the other replicas"));
        }
        if last.is_some_and(|p| p >= id) {
            return Err(DecodeError::Invalid("replica table not in strictly ascending order"));
        }
        last = Some(id);
        table.push(id);
    }
    Ok(())
}

/// Decodes a delta-group from untrusted bytes, given what its envelope says (`frame`): the
/// group form ([`encode_group`]) or any blob [`decode`] reads.
pub fn decode_framed(bytes: &[u8], frame: GroupFrame, limits: DecodeLimits) -> Result<Blob, DecodeError> {
    if bytes.first() != Some(&MAGIC_GROUP) {
        return decode(bytes, limits);
    }
    if frame.lo >= frame.hi {
        return Err(DecodeError::Invalid("delta-group with an empty range"));
    }
    let mut r = Reader::new(&bytes[1..]);
    let head = r.varint()?;
    let mut own = head & 7;
    if own == 7 {
        own = r.varint()?.checked_add(7).ok_or(DecodeError::Invalid("count overflows"))?;
    }
    let n = head >> 3;
    if n > r.remaining() as u64 || own > r.remaining() as u64 {
        return Err(DecodeError::Truncated);
    }
    let n = n as usize;
    let mut replicas = Vec::with_capacity(n.min(1024) + 1);
    replicas.push(frame.source);
    read_table(&mut r, n, &mut replicas, Some(frame.source))?;
    let mut d = Dec { r, replicas, ctx: CausalContext::new(), limits, group: Some(frame) };
    d.own_ctx(frame, own as usize)?;
    if n > 0 {
        d.ctx()?;
    }
    Ok(Blob::Delta(d.finish()?))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varints_round_trip_and_reject_overflow() {
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            let mut w = Writer::new();
            w.varint(v);
            assert_eq!(Reader::new(&w.buf).varint(), Ok(v));
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            let mut w = Writer::new();
            w.ivarint(v);
            assert_eq!(Reader::new(&w.buf).ivarint(), Ok(v));
        }
        assert!(Reader::new(&[0xff; 10]).varint().is_err());
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).varint().is_err());
        assert_eq!(Reader::new(&[0x80]).varint(), Err(DecodeError::Truncated));
    }

    #[test]
    fn wrong_version_is_named() {
        let e = decode(&[0x07, 0, 0, 0], DecodeLimits::default()).unwrap_err();
        assert_eq!(e, DecodeError::Version(7));
        assert!(e.to_string().contains("upgrade"));
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        // A map claiming 2^60 entries in a 12-byte input is rejected before allocating.
        let mut w = Writer::new();
        w.u8(MAGIC_DELTA);
        w.varint(0);
        w.varint(0);
        w.varint(1 << 60);
        assert_eq!(decode(&w.buf, DecodeLimits::default()), Err(DecodeError::Truncated));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes, DecodeLimits::default());
            let mut b = bytes.clone();
            b.insert(0, MAGIC_DELTA);
            let _ = decode(&b, DecodeLimits::default());
        }
    }
}
