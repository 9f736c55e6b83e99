//! A per-file time limit (`--max-scantime`) that every step of a scan counts
//! against: the verifier's searches, the digests and the pieces of a parallel
//! search share one.

use std::time::Instant;

/// A per-file time limit that is cheap to check often: [`Budget::step`] counts,
/// and reads the clock only once every [`Budget::CHECK_EVERY`] calls.
#[derive(Clone, Copy, Debug, Default)]
pub struct Budget {
    deadline: Option<Instant>,
    steps: u32,
    expired: bool,
}

impl Budget {
    /// Steps between two readings of the clock (a few hundred microseconds of work).
    pub const CHECK_EVERY: u32 = 1 << 14;

    /// A budget that expires at `deadline` (`None`: never).
    pub fn new(deadline: Option<Instant>) -> Budget {
        Budget {
            deadline,
            steps: 0,
            expired: false,
        }
    }

    /// Whether there is a deadline at all.
    #[inline]
    pub fn limited(&self) -> bool {
        self.deadline.is_some()
    }

    /// Count one step; `false` once the deadline has passed.
    #[inline]
    pub fn step(&mut self) -> bool {
        if self.deadline.is_none() {
            return true;
        }
        self.steps = self.steps.wrapping_add(1);
        if self.steps.is_multiple_of(Self::CHECK_EVERY) {
            return self.check();
        }
        !self.expired
    }

    /// Read the clock now; `false` once the deadline has passed.
    pub fn check(&mut self) -> bool {
        if let Some(d) = self.deadline
            && !self.expired
            && Instant::now() >= d
        {
            self.expired = true;
        }
        !self.expired
    }

    /// Whether the deadline was seen to pass.
    #[inline]
    pub fn expired(&self) -> bool {
        self.expired
    }

    /// Mark the deadline as passed (seen by a part of the scan that keeps its
    /// own watch on the clock, such as unpacking).
    pub fn expire(&mut self) {
        self.expired = true;
    }

    /// Take over `other`'s expiry (a copy of this budget used elsewhere).
    pub fn absorb(&mut self, other: &Budget) {
        self.expired |= other.expired;
    }
}
