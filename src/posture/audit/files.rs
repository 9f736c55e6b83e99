//! Rules over whole trees: no world-writable files, no files without an
//! owner or group that the system knows. Symbolic links are never followed
//! (nor counted: their mode means nothing), so `/bin` on a merged-`/usr`
//! system is not walked twice; a world-writable directory with the sticky
//! bit (a shared temporary directory) is accepted.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::posture::finding::{Finding, Status};
use crate::posture::host::{Host, Names};

/// Paths shown in a finding at most.
const SHOWN: usize = 10;

/// What a tree rule looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeKind {
    /// Writable by others.
    WorldWritable,
    /// Owner or group unknown to the system.
    Unowned,
}

/// A rule over every file below some directories.
#[derive(Clone, Debug)]
pub struct TreeCheck {
    /// What it looks for.
    pub kind: TreeKind,
    /// In-system directories walked.
    pub dirs: Vec<PathBuf>,
}

impl TreeCheck {
    /// What is checked.
    pub fn target(&self) -> String {
        self.dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Evaluate.
    pub fn run(&self, host: &Host) -> Finding {
        let expected = match self.kind {
            TreeKind::WorldWritable => "no world-writable files",
            TreeKind::Unowned => "no files without a known owner and group",
        };
        let names = host.names();
        let mut walk = Walk {
            kind: self.kind,
            names: &names,
            seen: HashSet::new(),
            hits: Vec::new(),
            files: 0,
            errors: 0,
        };
        for d in &self.dirs {
            walk.dir(&host.path(d), d);
        }
        let mut found = match walk.hits.len() {
            0 => format!("{} files checked", walk.files),
            n => {
                let mut s = walk
                    .hits
                    .iter()
                    .take(SHOWN)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                if n > SHOWN {
                    s.push_str(&format!(" and {} more", n - SHOWN));
                }
                s
            }
        };
        if walk.errors > 0 {
            found.push_str(&format!("; {} directories could not be read", walk.errors));
        }
        match (walk.hits.is_empty(), walk.files) {
            (true, 0) => Finding::new(
                Status::NotApplicable,
                expected,
                "none of the directories exist",
            ),
            (ok, _) => Finding::judge(ok, expected, found),
        }
    }
}

struct Walk<'a> {
    kind: TreeKind,
    names: &'a Names,
    seen: HashSet<(u64, u64)>,
    hits: Vec<String>,
    files: u64,
    errors: u64,
}

impl Walk<'_> {
    /// Walk `real` (the path on this machine), naming entries by `shown`
    /// (the in-system path).
    fn dir(&mut self, real: &Path, shown: &Path) {
        let Ok(meta) = std::fs::symlink_metadata(real) else {
            return;
        };
        if !meta.is_dir() || !self.seen.insert((meta.dev(), meta.ino())) {
            return;
        }
        self.check(&meta, shown);
        let entries = match std::fs::read_dir(real) {
            Ok(e) => e,
            Err(_) => {
                self.errors += 1;
                return;
            }
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let name = entry.file_name();
            if meta.is_dir() {
                self.dir(&entry.path(), &shown.join(&name));
            } else if !meta.file_type().is_symlink() {
                self.check(&meta, &shown.join(&name));
            }
        }
    }

    fn check(&mut self, meta: &std::fs::Metadata, shown: &Path) {
        self.files += 1;
        let bad = match self.kind {
            TreeKind::WorldWritable => {
                meta.mode() & 0o002 != 0 && !(meta.is_dir() && meta.mode() & 0o1000 != 0)
            }
            TreeKind::Unowned => !self.names.has_uid(meta.uid()) || !self.names.has_gid(meta.gid()),
        };
        if bad {
            self.hits.push(shown.display().to_string());
        }
    }
}
