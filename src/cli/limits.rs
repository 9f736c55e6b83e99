//! The options that bound scanning one file, containers included, with
//! clamscan's names and defaults; shared by `ward scan` and `ward watch`.

use std::time::Duration;

use clap::Args;

use super::output;

/// clamscan's `yes`/`no` (also `true`/`false`, `1`/`0`).
fn yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err(format!("expected yes or no, not '{s}'")),
    }
}

#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Skip (and report as skipped) files larger than SIZE (e.g. 100M); inside
    /// containers, members past SIZE are cut off there.
    #[arg(long, value_name = "SIZE", value_parser = output::parse_size)]
    pub max_filesize: Option<u64>,
    /// Give up on a file whose scan (unpacking included) takes longer than
    /// DURATION (e.g. 500ms, 30s, 2m); it is reported as skipped, never as clean.
    #[arg(long, value_name = "DURATION", value_parser = super::watch::parse_deadline)]
    pub max_scantime: Option<Duration>,
    /// Bytes taken out of containers for one file, at most.
    #[arg(long, value_name = "SIZE", value_parser = output::parse_size, default_value = "400M")]
    pub max_scansize: u64,
    /// Members taken out of containers for one file, at most.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_files: u32,
    /// Containers nested in containers, at most.
    #[arg(long, value_name = "N", default_value_t = 17)]
    pub max_recursion: u32,
    /// Bytes out per byte in for one member, past its first MiB (0: no guard).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_ratio: u64,
    /// Scan inside archives and compressed files (zip, gzip, bzip2, xz, lzma,
    /// zstd, tar).
    #[arg(long, value_name = "yes|no", value_parser = yes_no, default_value = "yes",
          num_args = 0..=1, require_equals = true, default_missing_value = "yes")]
    pub scan_archive: bool,
    /// Scan inside mail messages and mboxes (each part decoded).
    #[arg(long, value_name = "yes|no", value_parser = yes_no, default_value = "yes",
          num_args = 0..=1, require_equals = true, default_missing_value = "yes")]
    pub scan_mail: bool,
    /// Also match the normalised view of text files (ASCII, UTF-8, UTF-16:
    /// lower case, white space collapsed), where target type 7 signatures
    /// match, as clamscan's normalisers do.
    #[arg(long, value_name = "yes|no", value_parser = yes_no, default_value = "yes",
          num_args = 0..=1, require_equals = true, default_missing_value = "yes")]
    pub scan_html: bool,
    /// Report a file whose unpacking stopped at a limit as
    /// Heuristics.Limits.Exceeded.<Limit> (otherwise it is skipped, never clean).
    #[arg(long, value_name = "yes|no", value_parser = yes_no, default_value = "no",
          num_args = 0..=1, require_equals = true, default_missing_value = "yes")]
    pub alert_exceeds_max: bool,
    /// Report an encrypted member as Heuristics.Encrypted.<Format> (otherwise
    /// its file is skipped, never clean).
    #[arg(long, value_name = "yes|no", value_parser = yes_no, default_value = "no",
          num_args = 0..=1, require_equals = true, default_missing_value = "yes")]
    pub alert_encrypted: bool,
}

impl LimitArgs {
    /// The library's limits.
    pub fn limits(&self) -> ward::Limits {
        let mut l = ward::Limits::new();
        l.max_filesize(self.max_filesize)
            .max_scantime(self.max_scantime)
            .max_scansize(self.max_scansize)
            .max_files(self.max_files)
            .max_recursion(self.max_recursion)
            .max_ratio(self.max_ratio)
            .scan_archive(self.scan_archive)
            .scan_mail(self.scan_mail)
            .scan_html(self.scan_html)
            .alert_exceeds_max(self.alert_exceeds_max)
            .alert_encrypted(self.alert_encrypted);
        l
    }
}
