//! The Redis-like command set. Names, argument order and reply shapes follow Redis where the
//! semantics allow; the differences are listed in the README ("Commands").

use super::{glob, unseen_own, Reply, Store};
use crate::crdt::KeyStr;
use crate::crdt::{AnyCrdt, AnyMap, CausalContext, DotStore, DwFlag, EwFlag, Key, Kind, LwwReg, OrSet, PnCounter};
use crate::error::{Error, Result};

const STRING: &[Kind] = &[Kind::Lww];
const STRING_OR_COUNTER: &[Kind] = &[Kind::Lww, Kind::Counter];
const SET: &[Kind] = &[Kind::Set];
const HASH: &[Kind] = &[Kind::Map];
const FLAG: &[Kind] = &[Kind::EwFlag, Kind::DwFlag];

fn arity(name: &str, args: &[&[u8]], ok: bool) -> Result<()> {
    let _ = args;
    if ok {
        Ok(())
    } else {
        Err(Error::WrongArity(name.to_ascii_lowercase()))
    }
}

/// Parses a Redis integer: optional '-', digits, no spaces or '+', within i64.
pub(crate) fn parse_int(b: &[u8]) -> Result<i64> {
    let (neg, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Error::NotInteger);
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return Err(Error::NotInteger);
    }
    let mut v: i128 = 0;
    for d in digits {
        v = v * 10 + i128::from(d - b'0');
    }
    if neg {
        v = -v;
    }
    i64::try_from(v).map_err(|_| Error::NotInteger)
}

fn type_name(k: Kind) -> &'static str {
    match k {
        Kind::Counter => "counter",
        Kind::Lww => "string",
        Kind::Mv => "mvreg",
        Kind::EwFlag | Kind::DwFlag => "flag",
        Kind::Set => "set",
        Kind::Map => "hash",
    }
}

/// The reply for a map field or string: bytes for registers, an integer for counters.
fn value_reply(v: &AnyCrdt) -> Result<Reply> {
    match v.kind() {
        None => Ok(Reply::Nil),
        Some(Kind::Counter) => counter_reply(v),
        Some(Kind::Lww) => Ok(v.get::<LwwReg>().and_then(|r| r.read()).map_or(Reply::Nil, |b| Reply::Bulk(b.to_vec()))),
        Some(_) => Err(Error::WrongType),
    }
}

fn counter_reply(v: &AnyCrdt) -> Result<Reply> {
    let c = v.get::<PnCounter>().map_or(Ok(0), |c| c.value());
    c.map(Reply::Int).map_err(|_| Error::CounterOutOfRange)
}

fn hex(b: &[u8]) -> Vec<u8> {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(b.len() * 2 + 1);
    out.push(b'k');
    for x in b {
        out.push(H[(x >> 4) as usize]);
        out.push(H[(x & 15) as usize]);
    }
    out
}

fn unhex(s: &[u8]) -> Option<Vec<u8>> {
    let s = s.strip_prefix(b"k")?;
    if s.len() % 2 != 0 {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.chunks(2).map(|p| Some(nib(p[0])? << 4 | nib(p[1])?)).collect()
}

/// The commands that only read.
const READS: &[&[u8]] = &[
    b"PING",
    b"GET",
    b"MGET",
    b"GETALL",
    b"SMEMBERS",
    b"SISMEMBER",
    b"SCARD",
    b"HGET",
    b"HMGET",
    b"HGETALL",
    b"HLEN",
    b"FLAG.GET",
    b"EXISTS",
    b"TYPE",
    b"DBSIZE",
    b"SCAN",
];

/// Upper-cases a command name into `buf` (names longer than 16 bytes are unknown).
fn command_name<'a>(name: &[u8], buf: &'a mut [u8; 16]) -> &'a [u8] {
    if name.len() > 16 {
        return b"";
    }
    for (i, c) in name.iter().enumerate() {
        buf[i] = c.to_ascii_uppercase();
    }
    &buf[..name.len()]
}

impl Store {
    /// Runs one command given as its words, e.g. `[b"INCRBY", b"views", b"5"]`, with the
    /// caller's wall clock `now_ms` (used by last-writer-wins timestamps).
    pub fn exec(&mut self, now_ms: u64, args: &[&[u8]]) -> Result<Reply> {
        let Some((name, a)) = args.split_first() else {
            return Err(Error::EmptyCommand);
        };
        let mut upper = [0u8; 16];
        let cmd = command_name(name, &mut upper);
        match cmd {
            b"SET" => {
                arity("set", a, a.len() == 2)?;
                self.set_strings(now_ms, &[(a[0], a[1])])?;
                Ok(Reply::OK)
            }
            b"MSET" => {
                arity("mset", a, !a.is_empty() && a.len() % 2 == 0)?;
                let pairs: Vec<(&[u8], &[u8])> = a.chunks(2).map(|p| (p[0], p[1])).collect();
                self.set_strings(now_ms, &pairs)?;
                Ok(Reply::OK)
            }
            b"INCR" | b"DECR" => {
                arity(if cmd == b"INCR" { "incr" } else { "decr" }, a, a.len() == 1)?;
                let by = if cmd == b"INCR" { 1 } else { -1 };
                self.incr_by(a[0], by).map(Reply::Int)
            }
            b"INCRBY" | b"DECRBY" => {
                arity(if cmd == b"INCRBY" { "incrby" } else { "decrby" }, a, a.len() == 2)?;
                let n = parse_int(a[1])?;
                let by = if cmd == b"INCRBY" { n } else { n.checked_neg().ok_or(Error::Overflow)? };
                self.incr_by(a[0], by).map(Reply::Int)
            }
            b"SADD" => {
                arity("sadd", a, a.len() >= 2)?;
                self.sadd(a[0], &a[1..]).map(Reply::Int)
            }
            b"SREM" => {
                arity("srem", a, a.len() >= 2)?;
                self.srem(a[0], &a[1..]).map(Reply::Int)
            }
            b"HSET" => {
                arity("hset", a, a.len() >= 3 && a.len() % 2 == 1)?;
                if let [key, field, value] = a {
                    return self.hset(now_ms, key, &[(field, value)]).map(Reply::Int);
                }
                let pairs: Vec<(&[u8], &[u8])> = a[1..].chunks(2).map(|p| (p[0], p[1])).collect();
                self.hset(now_ms, a[0], &pairs).map(Reply::Int)
            }
            b"HDEL" => {
                arity("hdel", a, a.len() >= 2)?;
                self.hdel(a[0], &a[1..]).map(Reply::Int)
            }
            b"HINCRBY" => {
                arity("hincrby", a, a.len() == 3)?;
                let n = parse_int(a[2])?;
                self.hincrby(a[0], a[1], n).map(Reply::Int)
            }
            b"FLAG.ENABLE" | b"FLAG.DISABLE" => {
                let on = cmd == b"FLAG.ENABLE";
                arity(if on { "flag.enable" } else { "flag.disable" }, a, a.len() == 1 || a.len() == 2)?;
                let rule = match a.get(1).map(|o| o.to_ascii_uppercase()) {
                    None => None,
                    Some(o) if o == b"ENABLEWINS" => Some(Kind::EwFlag),
                    Some(o) if o == b"DISABLEWINS" => Some(Kind::DwFlag),
                    Some(_) => return Err(Error::Syntax),
                };
                self.flag(a[0], on, rule)?;
                Ok(Reply::OK)
            }
            b"DEL" => {
                arity("del", a, !a.is_empty())?;
                let mut n = 0;
                for k in a {
                    if self.get(k).is_some_and(|v| !v.is_bottom()) {
                        self.commit_removal(k);
                        n += 1;
                    }
                }
                Ok(Reply::Int(n))
            }
            _ if READS.contains(&cmd) => self.read(cmd, a),
            _ => {
                let shown: Vec<String> =
                    a.iter().take(3).map(|x| format!("'{}'", String::from_utf8_lossy(&x[..x.len().min(64)]))).collect();
                Err(Error::UnknownCommand(
                    String::from_utf8_lossy(&name[..name.len().min(64)]).into_owned(),
                    shown.join(" "),
                ))
            }
        }
    }

    /// Runs one read-only command (`GET`, `SMEMBERS`, `HGETALL`, `SCAN`, ...); a command
    /// that writes is an error.
    pub fn exec_read(&self, args: &[&[u8]]) -> Result<Reply> {
        let Some((name, a)) = args.split_first() else {
            return Err(Error::EmptyCommand);
        };
        let mut upper = [0u8; 16];
        let cmd = command_name(name, &mut upper);
        if !READS.contains(&cmd) {
            return Err(Error::Invalid(format!(
                "'{}' is not a read-only command; run it with exec",
                String::from_utf8_lossy(&name[..name.len().min(64)])
            )));
        }
        self.read(cmd, a)
    }

    fn read(&self, cmd: &[u8], a: &[&[u8]]) -> Result<Reply> {
        match cmd {
            b"PING" => match a {
                [] => Ok(Reply::Status("PONG")),
                [m] => Ok(Reply::Bulk(m.to_vec())),
                _ => arity("ping", a, false).map(|_| Reply::Nil),
            },
            b"GET" => {
                arity("get", a, a.len() == 1)?;
                self.expect_kind(a[0], STRING_OR_COUNTER)?;
                self.get(a[0]).map_or(Ok(Reply::Nil), value_reply)
            }
            b"MGET" => {
                arity("mget", a, !a.is_empty())?;
                // Like Redis: keys of other types read as nil.
                Ok(Reply::Array(
                    a.iter()
                        .map(|k| match self.get(k) {
                            Some(v) if matches!(v.kind(), Some(Kind::Lww | Kind::Counter)) => {
                                value_reply(v).unwrap_or(Reply::Nil)
                            }
                            _ => Reply::Nil,
                        })
                        .collect(),
                ))
            }
            b"GETALL" => {
                arity("getall", a, a.len() == 1)?;
                self.expect_kind(a[0], STRING_OR_COUNTER)?;
                Ok(match self.get(a[0]) {
                    None => Reply::Array(vec![]),
                    Some(v) if v.kind() == Some(Kind::Counter) => Reply::Array(vec![counter_reply(v)?]),
                    Some(v) => Reply::Array(
                        v.get::<LwwReg>()
                            .map(|r| r.values().into_iter().map(|b| Reply::Bulk(b.to_vec())).collect())
                            .unwrap_or_default(),
                    ),
                })
            }
            b"SMEMBERS" => {
                arity("smembers", a, a.len() == 1)?;
                self.expect_kind(a[0], SET)?;
                Ok(Reply::Array(
                    self.set(a[0]).map(|s| s.members().map(|m| Reply::Bulk(m.to_vec())).collect()).unwrap_or_default(),
                ))
            }
            b"SISMEMBER" => {
                arity("sismember", a, a.len() == 2)?;
                self.expect_kind(a[0], SET)?;
                Ok(Reply::Int(i64::from(self.set(a[0]).is_some_and(|s| s.contains(a[1])))))
            }
            b"SCARD" => {
                arity("scard", a, a.len() == 1)?;
                self.expect_kind(a[0], SET)?;
                Ok(Reply::Int(self.set(a[0]).map_or(0, |s| s.len() as i64)))
            }
            b"HGET" => {
                arity("hget", a, a.len() == 2)?;
                self.expect_kind(a[0], HASH)?;
                self.hash(a[0]).and_then(|h| h.get(&Key::from(a[1]))).map_or(Ok(Reply::Nil), value_reply)
            }
            b"HMGET" => {
                arity("hmget", a, a.len() >= 2)?;
                self.expect_kind(a[0], HASH)?;
                let h = self.hash(a[0]);
                let mut out = Vec::with_capacity(a.len() - 1);
                for f in &a[1..] {
                    out.push(h.and_then(|h| h.get(&Key::from(*f))).map_or(Ok(Reply::Nil), value_reply)?);
                }
                Ok(Reply::Array(out))
            }
            b"HGETALL" => {
                arity("hgetall", a, a.len() == 1)?;
                self.expect_kind(a[0], HASH)?;
                let mut out = Vec::new();
                if let Some(h) = self.hash(a[0]) {
                    for (f, v) in h.iter() {
                        out.push((f.to_vec(), value_reply(v)?));
                    }
                }
                Ok(Reply::Map(out))
            }
            b"HLEN" => {
                arity("hlen", a, a.len() == 1)?;
                self.expect_kind(a[0], HASH)?;
                Ok(Reply::Int(self.hash(a[0]).map_or(0, |h| h.len() as i64)))
            }
            b"FLAG.GET" => {
                arity("flag.get", a, a.len() == 1)?;
                self.expect_kind(a[0], FLAG)?;
                let v = self.get(a[0]);
                let on = v.and_then(|v| v.get::<EwFlag>()).is_some_and(EwFlag::value)
                    || v.and_then(|v| v.get::<DwFlag>()).is_some_and(DwFlag::value);
                Ok(Reply::Int(i64::from(on)))
            }
            b"EXISTS" => {
                arity("exists", a, !a.is_empty())?;
                Ok(Reply::Int(a.iter().filter(|k| self.kind(k).is_some()).count() as i64))
            }
            b"TYPE" => {
                arity("type", a, a.len() == 1)?;
                Ok(Reply::Status(self.kind(a[0]).map_or("none", type_name)))
            }
            b"DBSIZE" => {
                arity("dbsize", a, a.is_empty())?;
                Ok(Reply::Int(self.len() as i64))
            }
            b"SCAN" => {
                arity("scan", a, !a.is_empty() && a.len() % 2 == 1)?;
                self.scan(a)
            }
            _ => Err(Error::Invalid("not a read-only command".into())),
        }
    }

    fn set(&self, key: &[u8]) -> Option<&OrSet> {
        self.get(key).and_then(|v| v.get::<OrSet>())
    }

    fn hash(&self, key: &[u8]) -> Option<&AnyMap> {
        self.get(key).and_then(|v| v.get::<AnyMap>())
    }

    fn set_strings(&mut self, now_ms: u64, pairs: &[(&[u8], &[u8])]) -> Result<()> {
        // One pair: the in-place path first (it changes nothing unless the key is absent or a
        // plain string, and either passes the type check), saving a lookup.
        if let [(k, v)] = pairs {
            self.check_key(k)?;
            self.check_value(v)?;
            if self.set_fast(now_ms, k, v) {
                return Ok(());
            }
        }
        for (k, v) in pairs {
            self.check_key(k)?;
            self.check_value(v)?;
            self.expect_kind(k, STRING)?;
        }
        let replica = self.replica;
        for (k, v) in pairs {
            if self.set_fast(now_ms, k, v) {
                continue;
            }
            let empty = AnyCrdt::Empty;
            let entry = self.state.store.get_bytes(k).unwrap_or(&empty);
            let observed = entry.get::<LwwReg>().map_or(0, LwwReg::max_ts);
            let ts = self.clock.tick(now_ms, observed);
            let d = entry.update::<LwwReg>(&self.own_ctx(), |r, ctx| r.write(ctx, replica, ts, v.to_vec()));
            self.commit(k, d);
        }
        Ok(())
    }

    fn sadd(&mut self, key: &[u8], members: &[&[u8]]) -> Result<i64> {
        self.check_key(key)?;
        for m in members {
            self.check_key(m)?;
        }
        // The in-place path changes nothing unless the key is absent or a plain set, and either
        // passes the type check: it goes first, saving a lookup.
        if let [m] = members {
            if let Some(added) = self.sadd_fast(key, m) {
                return Ok(added);
            }
        }
        self.expect_kind(key, SET)?;
        let added = members
            .iter()
            .enumerate()
            .filter(|(i, m)| !self.set(key).is_some_and(|s| s.contains(m)) && !members[..*i].contains(m));
        let added = added.count() as i64;
        let replica = self.replica;
        // Members whose only dot is this replica's and unseen stay as they are (see
        // `unseen_own`), in a plain set: an add to a key of several types removes the others.
        let seen = self.seen_until();
        let empty = AnyCrdt::Empty;
        let entry = self.state.store.get_bytes(key).unwrap_or(&empty);
        let plain = entry.plain::<OrSet>();
        let again = |m: &[u8]| plain.and_then(|s| s.0.get_bytes(m)).is_some_and(|d| unseen_own(d, replica, seen));
        let members: Vec<&[u8]> = members.iter().copied().filter(|m| !again(m)).collect();
        if members.is_empty() {
            return Ok(added);
        }
        let d = entry.update::<OrSet>(&self.own_ctx(), |s, ctx| s.add(ctx, replica, &members));
        self.commit(key, d);
        Ok(added)
    }

    fn srem(&mut self, key: &[u8], members: &[&[u8]]) -> Result<i64> {
        self.expect_kind(key, SET)?;
        let Some(set) = self.set(key) else {
            return Ok(0);
        };
        let mut present: Vec<&[u8]> = members.iter().copied().filter(|m| set.contains(m)).collect();
        crate::sort::sort(&mut present);
        present.dedup();
        if present.is_empty() {
            return Ok(0);
        }
        let write = self.state.ctx.next_dot(self.replica);
        let Some(entry) = self.state.store.get_bytes(key) else {
            return Ok(0);
        };
        let mut d = entry.update::<OrSet>(&CausalContext::new(), |s, ctx| s.remove(ctx, &present));
        d.ctx.insert(write);
        self.commit(key, d);
        Ok(present.len() as i64)
    }

    fn hset(&mut self, now_ms: u64, key: &[u8], pairs: &[(&[u8], &[u8])]) -> Result<i64> {
        self.check_key(key)?;
        for (f, v) in pairs {
            self.check_key(f)?;
            self.check_value(v)?;
        }
        // In place first, as in `sadd`.
        if let [(f, v)] = pairs {
            if let Some(created) = self.hset_fast(now_ms, key, f, v) {
                return Ok(created);
            }
        }
        self.expect_kind(key, HASH)?;
        let replica = self.replica;
        let mut created = 0;
        for (i, (f, v)) in pairs.iter().enumerate() {
            let field = Key::from(*f);
            let empty = AnyCrdt::Empty;
            let entry = self.state.store.get_bytes(key).unwrap_or(&empty);
            let existing = entry.get::<AnyMap>().and_then(|h| h.get(&field));
            if existing.is_none() && !pairs[..i].iter().any(|(g, _)| g == f) {
                created += 1;
            }
            let observed = existing.and_then(|x| x.get::<LwwReg>()).map_or(0, LwwReg::max_ts);
            let ts = self.clock.tick(now_ms, observed);
            let d = entry.update::<AnyMap>(&self.own_ctx(), |h, ctx| {
                h.update(ctx, field, |x, ctx| x.update::<LwwReg>(ctx, |r, ctx| r.write(ctx, replica, ts, v.to_vec())))
            });
            self.commit(key, d);
        }
        Ok(created)
    }

    fn hdel(&mut self, key: &[u8], fields: &[&[u8]]) -> Result<i64> {
        self.expect_kind(key, HASH)?;
        let Some(h) = self.hash(key) else {
            return Ok(0);
        };
        let mut present: Vec<Key> = fields.iter().map(|f| Key::from(*f)).filter(|f| h.get(f).is_some()).collect();
        crate::sort::sort(&mut present);
        present.dedup();
        if present.is_empty() {
            return Ok(0);
        }
        let write = self.state.ctx.next_dot(self.replica);
        let Some(entry) = self.state.store.get_bytes(key) else {
            return Ok(0);
        };
        let mut d = entry.update::<AnyMap>(&CausalContext::new(), |h, _| {
            let mut delta = crate::crdt::Causal::<AnyMap>::default();
            for f in &present {
                let r = h.remove(&CausalContext::new(), f);
                delta.join_delta(&r, true);
            }
            delta
        });
        d.ctx.insert(write);
        self.commit(key, d);
        Ok(present.len() as i64)
    }

    fn hincrby(&mut self, key: &[u8], field: &[u8], by: i64) -> Result<i64> {
        self.check_key(key)?;
        self.check_key(field)?;
        self.expect_kind(key, HASH)?;
        let field = Key::from(field);
        let empty = AnyCrdt::Empty;
        let entry = self.state.store.get_bytes(key).unwrap_or(&empty);
        if let Some(x) = entry.get::<AnyMap>().and_then(|h| h.get(&field)) {
            if x.kind() != Some(Kind::Counter) {
                return Err(Error::FieldNotCounter);
            }
        }
        let replica = self.replica;
        let mut overflow = false;
        let d = entry.update::<AnyMap>(&self.own_ctx(), |h, ctx| {
            h.update(ctx, field.clone(), |x, ctx| {
                x.update::<PnCounter>(ctx, |c, ctx| {
                    c.add(ctx, replica, by).unwrap_or_else(|_| {
                        overflow = true;
                        Default::default()
                    })
                })
            })
        });
        if overflow {
            return Err(Error::Overflow);
        }
        self.commit(key, d);
        let v = self.hash(key).and_then(|h| h.get(&field)).and_then(|x| x.get::<PnCounter>());
        v.map_or(Ok(0), |c| c.value().map_err(|_| Error::CounterOutOfRange))
    }

    fn flag(&mut self, key: &[u8], on: bool, rule: Option<Kind>) -> Result<()> {
        self.check_key(key)?;
        self.expect_kind(key, FLAG)?;
        let kind = match (self.kind(key), rule) {
            (Some(k), Some(r)) if k != r => {
                let was = if k == Kind::EwFlag { "enable-wins" } else { "disable-wins" };
                return Err(Error::FlagKind(String::from_utf8_lossy(key).into_owned(), was));
            }
            (Some(k), _) => k,
            (None, r) => r.unwrap_or(Kind::EwFlag),
        };
        let replica = self.replica;
        let empty = AnyCrdt::Empty;
        let entry = self.state.store.get_bytes(key).unwrap_or(&empty);
        let ctx = self.own_ctx();
        let d = if kind == Kind::EwFlag {
            entry.update::<EwFlag>(&ctx, |f, ctx| f.set(ctx, replica, on))
        } else {
            entry.update::<DwFlag>(&ctx, |f, ctx| f.set(ctx, replica, on))
        };
        self.commit(key, d);
        Ok(())
    }

    fn scan(&self, a: &[&[u8]]) -> Result<Reply> {
        let start: Option<Vec<u8>> = match a[0] {
            b"0" => None,
            c => Some(unhex(c).ok_or(Error::InvalidCursor)?),
        };
        let mut pattern: Option<&[u8]> = None;
        let mut count = 10usize;
        for opt in a[1..].chunks(2) {
            match opt[0].to_ascii_uppercase().as_slice() {
                b"MATCH" => pattern = Some(opt[1]),
                b"COUNT" => {
                    let n = super::commands::parse_int(opt[1])?;
                    if n < 1 {
                        return Err(Error::Syntax);
                    }
                    count = usize::try_from(n).unwrap_or(usize::MAX).min(1 << 20);
                }
                _ => return Err(Error::Syntax),
            }
        }
        let mut keys = Vec::new();
        let mut next = None;
        let range = match &start {
            None => self.state.store.entries.range::<KeyStr, _>(..),
            Some(s) => self
                .state
                .store
                .entries
                .range::<KeyStr, _>((std::ops::Bound::Included(KeyStr::new(s)), std::ops::Bound::Unbounded)),
        };
        for (visited, (k, v)) in range.enumerate() {
            if visited == count {
                next = Some(hex(k));
                break;
            }
            if v.kind().is_some() && pattern.is_none_or(|p| glob::matches(p, k)) {
                keys.push(Reply::Bulk(k.to_vec()));
            }
        }
        Ok(Reply::Array(vec![Reply::Bulk(next.unwrap_or_else(|| b"0".to_vec())), Reply::Array(keys)]))
    }
}
