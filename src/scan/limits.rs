//! The limits on what scanning one file may cost, in one `Copy` value shared by
//! [`Scanner`](super::Scanner) and [`TreeOptions`](super::tree::TreeOptions).
//!
//! Today a file's size and its scan time are bounded. Scanning inside
//! containers will add the limits that bound one top-level file across all its
//! layers: how deep containers nest, how many members are taken out, how many
//! bytes they expand to, and the compression ratio. They belong here, so that
//! every caller that sets limits sets them in one place.

use std::time::Duration;

/// Limits on scanning one file: `Limits::new()` (no limits), then the setters
/// or the fields. A file over a limit is reported as skipped, never as clean.
///
/// ```
/// use std::time::Duration;
///
/// let mut limits = ward::Limits::new();
/// limits
///     .max_filesize(Some(100 << 20))
///     .max_scantime(Some(Duration::from_secs(120)));
/// let set = ward::SignatureSet::builtin();
/// let mut scanner = ward::Scanner::new(&set);
/// scanner.limits(limits);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Skip files larger than this many bytes, reported as
    /// [`SkipReason::TooLarge`](super::SkipReason::TooLarge) (default: no limit).
    pub max_filesize: Option<u64>,
    /// Give up on a file whose scan takes longer than this, reported as
    /// [`SkipReason::Timeout`](super::SkipReason::Timeout) (default: no limit).
    pub max_scantime: Option<Duration>,
}

impl Limits {
    /// No limits.
    pub fn new() -> Limits {
        Limits::default()
    }

    /// Set [`Limits::max_filesize`].
    pub fn max_filesize(&mut self, limit: Option<u64>) -> &mut Self {
        self.max_filesize = limit;
        self
    }

    /// Set [`Limits::max_scantime`].
    pub fn max_scantime(&mut self, limit: Option<Duration>) -> &mut Self {
        self.max_scantime = limit;
        self
    }
}
