//! The state of scanning one file, across all of its layers: the one clock
//! they count against, where in its containers the scan is, what unpacking
//! has taken out so far, and what has been found. The file's verdict is made
//! from it, here and nowhere else.

use std::sync::Arc;
use std::time::Instant;

use super::budget::Budget;
use super::{Limit, Limits, Match, MatchKind, SkipReason, Verdict};

/// Decompressed members held in memory at once, along one path of nested
/// containers, at most. A member past what is left of it goes on in a spill
/// file (`unpack::Scratch`): memory stays bounded whatever the members are.
pub const MEMBER_MEMORY: u64 = 128 << 20;

/// One file's scan, from its first layer to its verdict.
pub(crate) struct ScanCtx {
    /// The file's clock, started with the context: reading a sparse view,
    /// digests and searches of every layer, and unpacking count against it.
    pub budget: Budget,
    /// The names of the members being scanned, outermost first: empty for the
    /// file itself. A match carries the path it was found under.
    pub stack: Vec<Vec<u8>>,
    /// What matched, in the order found.
    pub found: Vec<Match>,
    /// Members taken out so far.
    pub files: u32,
    /// Bytes taken out so far.
    pub expanded: u64,
    /// Bytes of decompressed members held now, along the current path.
    pub held: u64,
    /// The first limit that kept part of the file unscanned.
    pub incomplete: Option<Limit>,
    pub limits: Limits,
    deadline: Option<Instant>,
}

impl ScanCtx {
    /// The scan of one file under `limits`, its clock started now.
    pub fn new(limits: Limits) -> ScanCtx {
        let deadline = limits.max_scantime.map(|d| Instant::now() + d);
        ScanCtx {
            budget: Budget::new(deadline),
            stack: Vec::new(),
            found: Vec::new(),
            files: 0,
            expanded: 0,
            held: 0,
            incomplete: None,
            limits,
            deadline,
        }
    }

    /// When the file's scan must end.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the scan is done: a match was found and only the first is
    /// wanted, or the clock ran out.
    pub fn done(&self, all_matches: bool) -> bool {
        (!all_matches && !self.found.is_empty()) || self.budget.expired()
    }

    /// Most bytes the next member may take, and the limit that sets it.
    pub fn member_cap(&self) -> (u64, Limit) {
        let mut cap = (
            self.limits.max_scansize.saturating_sub(self.expanded),
            Limit::MaxScanSize,
        );
        if let Some(max) = self.limits.max_filesize
            && max < cap.0
        {
            cap = (max, Limit::MaxFileSize);
        }
        cap
    }

    /// Most bytes of the next member held in memory; past them it goes on
    /// in a spill file.
    pub fn member_memory(&self) -> u64 {
        MEMBER_MEMORY.saturating_sub(self.held)
    }

    /// Record that `limit` kept part of the file unscanned: the first one
    /// is what the verdict names; with `alert_exceeds_max`, the first of
    /// ClamAV's limits becomes a detection.
    pub fn hit(&mut self, limit: Limit) {
        if limit == Limit::MaxScanTime {
            self.budget.expire();
        }
        if self.incomplete.is_none() {
            self.incomplete = Some(limit);
        }
        if self.limits.alert_exceeds_max
            && limit.is_exceeded_limit()
            && !self.found.iter().any(|m| m.name.starts_with(EXCEEDED))
        {
            let name = format!("{EXCEEDED}{}", limit.name());
            self.heuristic(name);
        }
    }

    /// A heuristic detection, found where the scan is now.
    pub fn heuristic(&mut self, name: String) {
        let mut m = Match::new(Arc::from(name), MatchKind::Heuristic);
        m.container = self.stack.clone();
        self.found.push(m);
    }

    /// The verdict: infected when anything matched; else skipped when the
    /// clock ran out or a limit kept something unscanned; else clean.
    pub fn verdict(self) -> Verdict {
        if !self.found.is_empty() {
            Verdict::Infected(self.found)
        } else if self.budget.expired() {
            let limit = self.limits.max_scantime.unwrap_or_default();
            Verdict::Skipped(SkipReason::Timeout { limit })
        } else if let Some(limit) = self.incomplete {
            Verdict::Skipped(SkipReason::Incomplete { limit })
        } else {
            Verdict::Clean
        }
    }
}

/// What one task of a container scanned in parallel adds to its file's
/// scan (see [`ScanCtx::child`]).
pub(crate) struct Part {
    found: Vec<Match>,
    pub files: u32,
    pub expanded: u64,
    incomplete: Option<Limit>,
    expired: bool,
}

impl ScanCtx {
    /// The context of one task scanning members of this file's container
    /// in parallel with `threads - 1` others: the same clock, limits and
    /// container path; `done` (members, bytes) already taken out by the other
    /// tasks count against the limits; an equal share of the member memory
    /// left.
    pub fn child(&self, threads: u64, done: (u32, u64)) -> ScanCtx {
        let share = MEMBER_MEMORY.saturating_sub(self.held) / threads.max(1);
        ScanCtx {
            budget: self.budget,
            stack: self.stack.clone(),
            found: Vec::new(),
            files: self.files.saturating_add(done.0),
            expanded: self.expanded.saturating_add(done.1),
            held: MEMBER_MEMORY - share,
            incomplete: None,
            limits: self.limits,
            deadline: self.deadline,
        }
    }

    /// What this task added since it had taken out `start` (members, bytes).
    pub fn part(self, start: (u32, u64)) -> Part {
        Part {
            files: self.files - start.0,
            expanded: self.expanded - start.1,
            found: self.found,
            incomplete: self.incomplete,
            expired: self.budget.expired(),
        }
    }

    /// Take in a task's part, in the container's order: without
    /// `all_matches`, the matches of the first part that has any.
    pub fn absorb(&mut self, part: Part, all_matches: bool) {
        if all_matches || self.found.is_empty() {
            self.found.extend(part.found);
        }
        self.files = self.files.saturating_add(part.files);
        self.expanded = self.expanded.saturating_add(part.expanded);
        if let Some(limit) = part.incomplete {
            self.hit(limit);
        }
        if part.expired {
            self.budget.expire();
        }
    }
}

/// The prefix of ClamAV's limit detections.
const EXCEEDED: &str = "Heuristics.Limits.Exceeded.";
