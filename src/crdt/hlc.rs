//! Hybrid logical clock: physical milliseconds in the high 48 bits, a logical counter in the
//! low 16. It never goes backwards and always passes every timestamp it has observed, so a
//! later write at one replica always orders after the writes it saw, whatever the wall clocks.

/// A hybrid logical clock. Time is an argument: the core reads no clock.
///
/// ```
/// use castamere::crdt::Hlc;
/// let mut c = Hlc::default();
/// let a = c.tick(1_000, 0);
/// let b = c.tick(900, 0); // the wall clock went back: the clock does not
/// assert!(b > a);
/// let far = Hlc::from_ms(5_000);
/// assert!(c.tick(1_000, far) > far); // passes what it observed
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hlc {
    last: u64,
}

impl Hlc {
    /// The timestamp of wall time `ms` with logical counter 0.
    pub const fn from_ms(ms: u64) -> u64 {
        ms << 16
    }

    /// The wall-clock milliseconds of a timestamp.
    pub const fn ms(ts: u64) -> u64 {
        ts >> 16
    }

    /// A new timestamp, after `now_ms`, every earlier one, and `observed`.
    pub fn tick(&mut self, now_ms: u64, observed: u64) -> u64 {
        let wall = Self::from_ms(now_ms.min((1 << 48) - 1));
        let t = wall.max(self.last.saturating_add(1)).max(observed.saturating_add(1));
        self.last = t;
        t
    }

    /// Moves the clock past a timestamp seen in a remote delta.
    pub fn observe(&mut self, ts: u64) {
        self.last = self.last.max(ts);
    }

    /// The last timestamp issued or observed.
    pub fn last(&self) -> u64 {
        self.last
    }
}
