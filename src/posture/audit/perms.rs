//! File rules: present or absent, mode (exact or at most), owner and group;
//! and the one remediation ward performs, `--fix` of mode and ownership.

use std::path::{Path, PathBuf};

use crate::posture::finding::{Finding, Status};
use crate::posture::host::{Host, Meta, Names};

/// Whether the file must exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Missing is non-compliant (`/etc/passwd`).
    Required,
    /// Missing is not applicable (`/etc/issue.net`).
    Optional,
    /// Present is non-compliant.
    Absent,
}

/// The permission bits wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeSpec {
    /// Exactly these bits.
    Exact(u32),
    /// No bit outside these (more restrictive passes).
    AtMost(u32),
}

impl ModeSpec {
    fn ok(self, mode: u32) -> bool {
        match self {
            ModeSpec::Exact(m) => mode == m,
            ModeSpec::AtMost(m) => mode & !m == 0,
        }
    }

    /// The mode a fix sets: the exact one, or the found one with the extra
    /// bits taken away.
    fn fixed(self, mode: u32) -> u32 {
        match self {
            ModeSpec::Exact(m) => m,
            ModeSpec::AtMost(m) => mode & m,
        }
    }

    fn describe(self) -> String {
        match self {
            ModeSpec::Exact(m) => format!("{m:04o}"),
            ModeSpec::AtMost(m) => format!("at most {m:04o}"),
        }
    }
}

/// A file rule.
#[derive(Clone, Debug)]
pub struct FileCheck {
    /// The in-system path.
    pub path: PathBuf,
    /// Whether it must exist.
    pub presence: Presence,
    /// The mode wanted, if any.
    pub mode: Option<ModeSpec>,
    /// Acceptable owners (names or numbers); empty: any.
    pub owners: Vec<String>,
    /// Acceptable groups; empty: any. The first that exists is what a fix sets.
    pub groups: Vec<String>,
}

impl FileCheck {
    /// A required file with an upper bound on its mode, owned by root, in
    /// one of `groups`.
    pub(crate) fn root_owned(path: &str, most: u32, groups: &[&str], presence: Presence) -> Self {
        FileCheck {
            path: path.into(),
            presence,
            mode: Some(ModeSpec::AtMost(most)),
            owners: vec!["root".into()],
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn expected(&self) -> String {
        if self.presence == Presence::Absent {
            return "absent".into();
        }
        let mut parts = Vec::new();
        if let Some(m) = self.mode {
            parts.push(m.describe());
        }
        if !self.owners.is_empty() || !self.groups.is_empty() {
            let any = |v: &[String]| match v.is_empty() {
                true => "*".to_owned(),
                false => v.join("|"),
            };
            parts.push(format!("{}:{}", any(&self.owners), any(&self.groups)));
        }
        match parts.is_empty() {
            true => "present".into(),
            false => parts.join(" "),
        }
    }

    /// Evaluate.
    pub fn run(&self, host: &Host) -> Finding {
        let expected = self.expected();
        let meta = match host.stat(&self.path) {
            Ok(m) => m,
            Err(e) => return Finding::error(expected, format!("{}: {e}", self.path.display())),
        };
        let Some(meta) = meta else {
            return match self.presence {
                Presence::Required => Finding::new(Status::NonCompliant, expected, "missing"),
                Presence::Optional => Finding::new(Status::NotApplicable, expected, "not present"),
                Presence::Absent => Finding::new(Status::Compliant, expected, "absent"),
            };
        };
        let names = host.names();
        let found = format!(
            "{:04o} {}:{}",
            meta.mode,
            names.user(meta.uid),
            names.group(meta.gid)
        );
        if self.presence == Presence::Absent {
            return Finding::new(Status::NonCompliant, expected, format!("present, {found}"));
        }
        match self.verdict(&names, &meta) {
            Ok(ok) => Finding::judge(ok, expected, found),
            Err(e) => Finding::error(expected, e),
        }
    }

    fn verdict(&self, names: &Names, meta: &Meta) -> Result<bool, String> {
        let mode_ok = self.mode.is_none_or(|m| m.ok(meta.mode));
        let owner_ok = match ids(&self.owners, |n| names.uid(n), "user")? {
            None => true,
            Some(v) => v.contains(&meta.uid),
        };
        let group_ok = match ids(&self.groups, |n| names.gid(n), "group")? {
            None => true,
            Some(v) => v.contains(&meta.gid),
        };
        Ok(mode_ok && owner_ok && group_ok)
    }

    /// Bring the file's mode and ownership in line, through a descriptor
    /// opened without following a final link, checked to be the inode
    /// that was evaluated. Returns a line per change made; nothing when the
    /// rule is met or the file is missing (a fix never creates or deletes).
    pub fn fix(&self, host: &Host) -> Result<Vec<String>, String> {
        if self.presence == Presence::Absent {
            return Ok(Vec::new());
        }
        let shown = self.path.display();
        let Some(before) = host.stat(&self.path).map_err(|e| format!("{shown}: {e}"))? else {
            return Ok(Vec::new());
        };
        let names = host.names();
        if self.verdict(&names, &before)? {
            return Ok(Vec::new());
        }
        let (fd, meta) = host
            .open_for_fix(&self.path)
            .map_err(|e| format!("{shown}: {e}"))?;
        if meta.dev_ino != before.dev_ino {
            return Err(format!("{shown}: replaced while being fixed; not changed"));
        }
        let mut done = Vec::new();
        let uid = pick(&self.owners, meta.uid, |n| names.uid(n));
        let gid = pick(&self.groups, meta.gid, |n| names.gid(n));
        if (uid, gid) != (meta.uid, meta.gid) {
            rustix::fs::fchown(
                &fd,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            )
            .map_err(|e| format!("{shown}: chown: {e}"))?;
            done.push(format!(
                "{shown}: owner {}:{} -> {}:{}",
                names.user(meta.uid),
                names.group(meta.gid),
                names.user(uid),
                names.group(gid)
            ));
        }
        // chown clears set-id bits; start from what the file has now.
        let now = rustix::fs::fstat(&fd)
            .map_err(|e| format!("{shown}: {e}"))?
            .st_mode
            & 0o7777;
        if let Some(spec) = self.mode
            && !spec.ok(now)
        {
            let mode = spec.fixed(now);
            rustix::fs::fchmod(&fd, rustix::fs::Mode::from_raw_mode(mode))
                .map_err(|e| format!("{shown}: chmod: {e}"))?;
            done.push(format!("{shown}: mode {now:04o} -> {mode:04o}"));
        }
        Ok(done)
    }

    /// The in-system path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The ids of `names` (`None` when no name is given). A name the system does
/// not know is skipped; none known at all is an error.
fn ids(
    names: &[String],
    id: impl Fn(&str) -> Option<u32>,
    what: &str,
) -> Result<Option<Vec<u32>>, String> {
    if names.is_empty() {
        return Ok(None);
    }
    let v: Vec<u32> = names.iter().filter_map(|n| id(n)).collect();
    if v.is_empty() {
        return Err(format!(
            "no {what} named {} on the system",
            names.join(" or ")
        ));
    }
    Ok(Some(v))
}

/// The id a fix sets: the current one when acceptable, else the first known.
fn pick(names: &[String], current: u32, id: impl Fn(&str) -> Option<u32>) -> u32 {
    let known: Vec<u32> = names.iter().filter_map(|n| id(n)).collect();
    match known.contains(&current) || known.is_empty() {
        true => current,
        false => known[0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert!(ModeSpec::AtMost(0o644).ok(0o600));
        assert!(!ModeSpec::AtMost(0o644).ok(0o666));
        assert!(!ModeSpec::AtMost(0o644).ok(0o4644));
        assert!(!ModeSpec::Exact(0o644).ok(0o600));
        assert_eq!(ModeSpec::AtMost(0o644).fixed(0o4777), 0o644);
        assert_eq!(ModeSpec::AtMost(0o640).fixed(0o604), 0o600);
    }
}
