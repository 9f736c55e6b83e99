//! The state of scanning one file, across all of its layers: the one clock
//! they count against, where in its containers the scan is, and what has been
//! found. The file's verdict is made from it, here and nowhere else.

use std::sync::Arc;
use std::time::Instant;

use super::budget::Budget;
use super::{Limits, Match, SkipReason, Verdict};

/// One file's scan, from its first layer to its verdict.
pub(crate) struct ScanCtx {
    /// The file's clock, started with the context: reading a sparse view,
    /// digests and searches of every layer count against it.
    pub budget: Budget,
    /// The container path of the layer being scanned, outermost first: empty
    /// for the file itself (always, for now). A container will push a member's
    /// name before scanning the member as a layer one level deeper, and pop it
    /// after; a match will carry the path it was found under.
    pub stack: Vec<Arc<str>>,
    /// What matched, in the order found.
    pub found: Vec<Match>,
    limits: Limits,
}

impl ScanCtx {
    /// The scan of one file under `limits`, its clock started now.
    pub fn new(limits: Limits) -> ScanCtx {
        ScanCtx {
            budget: Budget::new(limits.max_scantime.map(|d| Instant::now() + d)),
            stack: Vec::new(),
            found: Vec::new(),
            limits,
        }
    }

    /// The verdict on the file: infected when anything matched, even if the
    /// clock ran out meanwhile; otherwise timed out when it did (never clean);
    /// otherwise clean.
    pub fn verdict(self) -> Verdict {
        if !self.found.is_empty() {
            Verdict::Infected(self.found)
        } else if self.budget.expired() {
            let limit = self.limits.max_scantime.unwrap_or_default();
            Verdict::Skipped(SkipReason::Timeout { limit })
        } else {
            Verdict::Clean
        }
    }
}
