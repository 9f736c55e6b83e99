//! The limits on what scanning one file may cost, in one `Copy` value shared by
//! [`Scanner`](super::Scanner) and [`TreeOptions`](super::tree::TreeOptions).
//!
//! A file's size and its scan time are bounded, and so is unpacking: how deep
//! containers nest, how many members are taken out of one top-level file, how
//! many bytes they expand to, and the compression ratio. The names and
//! defaults are clamscan's (`--max-recursion 17`, `--max-files 10000`,
//! `--max-scansize 400M`), except that a top-level file has no size limit
//! unless one is set. Whether containers are opened at all, and whether a
//! limit reached or an encrypted member is itself a detection, is set here
//! too, so that every caller sets it all in one place.

use std::time::Duration;

/// Limits on scanning one file: `Limits::new()` (clamscan's defaults for
/// containers, no size or time limit), then the setters or the fields. A file
/// over a limit is reported as skipped, never as clean.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Skip files larger than this many bytes, reported as
    /// [`SkipReason::TooLarge`](super::SkipReason::TooLarge) (default: no limit).
    pub max_filesize: Option<u64>,
    /// Give up on a file whose scan takes longer than this, reported as
    /// [`SkipReason::Timeout`](super::SkipReason::Timeout) (default: no limit).
    pub max_scantime: Option<Duration>,
    /// Bytes taken out of containers, in all, for one top-level file
    /// (`--max-scansize`, default 400 MiB).
    pub max_scansize: u64,
    /// Members taken out of containers for one top-level file
    /// (`--max-files`, default 10,000).
    pub max_files: u32,
    /// Containers inside containers, at most (`--max-recursion`, default 17).
    pub max_recursion: u32,
    /// Bytes out per byte in for one member, past its first MiB (default
    /// 10,000: deflate cannot pass 1,032 to 1, so only bzip2, xz and zstd
    /// streams of one repeated byte reach it; 0 = no guard).
    pub max_ratio: u64,
    /// Open containers at all (`--scan-archive`, default yes).
    pub scan_archive: bool,
    /// Open mail and mboxes into their parts (`--scan-mail`, default yes).
    pub scan_mail: bool,
    /// Match the normalised view of text files too, where target type 7
    /// signatures match (`--scan-html`, as clamscan names the switch of its
    /// normalisers; default yes).
    pub scan_html: bool,
    /// A file whose unpacking stopped at a limit is a detection,
    /// `Heuristics.Limits.Exceeded.<Limit>` (`--alert-exceeds-max`, default no).
    pub alert_exceeds_max: bool,
    /// An encrypted member is a detection, `Heuristics.Encrypted.<Format>`
    /// (`--alert-encrypted`, default no).
    pub alert_encrypted: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_filesize: None,
            max_scantime: None,
            max_scansize: 400 << 20,
            max_files: 10_000,
            max_recursion: 17,
            max_ratio: 10_000,
            scan_archive: true,
            scan_mail: true,
            scan_html: true,
            alert_exceeds_max: false,
            alert_encrypted: false,
        }
    }
}

impl Limits {
    /// The defaults: see [`Limits`].
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

    /// Set [`Limits::max_scansize`].
    pub fn max_scansize(&mut self, bytes: u64) -> &mut Self {
        self.max_scansize = bytes;
        self
    }

    /// Set [`Limits::max_files`].
    pub fn max_files(&mut self, n: u32) -> &mut Self {
        self.max_files = n;
        self
    }

    /// Set [`Limits::max_recursion`].
    pub fn max_recursion(&mut self, n: u32) -> &mut Self {
        self.max_recursion = n;
        self
    }

    /// Set [`Limits::max_ratio`].
    pub fn max_ratio(&mut self, ratio: u64) -> &mut Self {
        self.max_ratio = ratio;
        self
    }

    /// Set [`Limits::scan_archive`].
    pub fn scan_archive(&mut self, yes: bool) -> &mut Self {
        self.scan_archive = yes;
        self
    }

    /// Set [`Limits::scan_mail`].
    pub fn scan_mail(&mut self, yes: bool) -> &mut Self {
        self.scan_mail = yes;
        self
    }

    /// Set [`Limits::scan_html`].
    pub fn scan_html(&mut self, yes: bool) -> &mut Self {
        self.scan_html = yes;
        self
    }

    /// Set [`Limits::alert_exceeds_max`].
    pub fn alert_exceeds_max(&mut self, yes: bool) -> &mut Self {
        self.alert_exceeds_max = yes;
        self
    }

    /// Set [`Limits::alert_encrypted`].
    pub fn alert_encrypted(&mut self, yes: bool) -> &mut Self {
        self.alert_encrypted = yes;
        self
    }
}

/// Which limit stopped unpacking short of a whole file, or what else kept
/// part of it unread. Named as ClamAV names its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_scansize`].
    MaxScanSize,
    /// [`Limits::max_filesize`], or the memory a scan may hold for members.
    MaxFileSize,
    /// [`Limits::max_files`].
    MaxFiles,
    /// [`Limits::max_recursion`].
    MaxRecursion,
    /// [`Limits::max_scantime`].
    MaxScanTime,
    /// [`Limits::max_ratio`].
    MaxRatio,
    /// An encrypted member (not decrypted).
    Encrypted,
    /// A damaged or truncated container (what came before was scanned).
    Broken,
    /// A member compressed with a method ward cannot decompress.
    Unsupported,
}

impl Limit {
    /// Its name (`MaxFiles`), as in ClamAV's `Heuristics.Limits.Exceeded.MaxFiles`.
    pub fn name(self) -> &'static str {
        match self {
            Limit::MaxScanSize => "MaxScanSize",
            Limit::MaxFileSize => "MaxFileSize",
            Limit::MaxFiles => "MaxFiles",
            Limit::MaxRecursion => "MaxRecursion",
            Limit::MaxScanTime => "MaxScanTime",
            Limit::MaxRatio => "MaxRatio",
            Limit::Encrypted => "Encrypted",
            Limit::Broken => "Broken",
            Limit::Unsupported => "Unsupported",
        }
    }

    /// Whether ClamAV raises `Heuristics.Limits.Exceeded.<name>` for it
    /// under `--alert-exceeds-max`.
    pub fn is_exceeded_limit(self) -> bool {
        matches!(
            self,
            Limit::MaxScanSize
                | Limit::MaxFileSize
                | Limit::MaxFiles
                | Limit::MaxRecursion
                | Limit::MaxScanTime
        )
    }
}
