//! sshd settings as sshd itself would take them, read from the files (not
//! from `sshd -T`, which needs the binary of the audited system and runs only
//! on `/`):
//!
//! - `/etc/ssh/sshd_config`, with every `Include` read in place (globs
//!   expanded in lexical order, relative paths taken from `/etc/ssh`, as sshd
//!   does), at most 16 levels deep;
//! - keywords are case-insensitive, `Keyword value` and `Keyword=value`
//!   both work, and the first value obtained wins;
//! - lines inside `Match` blocks (from a `Match` to the end of the file it is
//!   in) are left out: they apply only to some connections. Each finding
//!   says how many blocks were left out;
//! - a setting given nowhere takes OpenSSH's default;
//! - no `sshd_config` at all: the rules do not apply (no sshd).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Input;
use crate::posture::finding::{Finding, Status};
use crate::posture::host::Host;

/// The main configuration file.
pub const SSHD_CONFIG: &str = "/etc/ssh/sshd_config";
/// How deep `Include`s may nest (sshd's own limit).
const MAX_DEPTH: usize = 16;

/// What a setting must be.
#[derive(Clone, Debug)]
pub enum Want {
    /// One of these words (lowercase).
    OneOf(Vec<String>),
    /// A whole number in this range.
    Range(u64, u64),
}

/// A rule on one sshd setting.
#[derive(Clone, Debug)]
pub struct SshdCheck {
    /// The keyword as documented (`PermitRootLogin`).
    pub key: String,
    /// What it must be.
    pub want: Want,
    /// OpenSSH's default.
    pub default: String,
}

/// A setting's effective value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The value (the first word, as written).
    pub value: String,
    /// The file.
    pub file: PathBuf,
    /// The line (1-based).
    pub line: usize,
}

/// The effective configuration.
#[derive(Clone, Debug, Default)]
pub struct Effective {
    /// Lowercase keyword → its first value outside `Match` blocks.
    pub settings: HashMap<String, Setting>,
    /// `Match` blocks left out.
    pub match_blocks: usize,
    /// Every file read.
    pub files: Vec<PathBuf>,
    /// Every directory an `Include` glob was expanded in.
    pub dirs: Vec<PathBuf>,
    /// Problems met (an include too deep, a file that could not be read).
    pub problems: Vec<String>,
}

/// Read the effective configuration; `None` when there is no `sshd_config`.
pub fn effective(host: &Host) -> Result<Option<Effective>, String> {
    let main = Path::new(SSHD_CONFIG);
    let text = host.read(main).map_err(|e| format!("{SSHD_CONFIG}: {e}"))?;
    let Some(text) = text else { return Ok(None) };
    let mut eff = Effective::default();
    read_file(host, main, &text, false, 0, &mut eff);
    Ok(Some(eff))
}

fn read_file(
    host: &Host,
    path: &Path,
    text: &str,
    in_match: bool,
    depth: usize,
    eff: &mut Effective,
) {
    eff.files.push(path.to_owned());
    let mut in_match = in_match;
    for (n, line) in text.lines().enumerate() {
        let Some((key, args)) = split(line) else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "match" => {
                in_match = true;
                eff.match_blocks += 1;
            }
            "include" => {
                for arg in args.split_whitespace() {
                    include(host, arg, in_match, depth + 1, eff);
                }
            }
            _ if in_match => {}
            _ => {
                let value = args.split_whitespace().next().unwrap_or("");
                eff.settings.entry(key).or_insert_with(|| Setting {
                    value: value.trim_matches('"').to_owned(),
                    file: path.to_owned(),
                    line: n + 1,
                });
            }
        }
    }
}

/// `Keyword value`, `Keyword=value` or `Keyword = value`; `None` for comments
/// and blank lines.
fn split(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (key, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    Some((key, rest))
}

fn include(host: &Host, arg: &str, in_match: bool, depth: usize, eff: &mut Effective) {
    if depth > MAX_DEPTH {
        eff.problems
            .push(format!("Include {arg}: nested more than {MAX_DEPTH} deep"));
        return;
    }
    let arg = arg.trim_matches('"');
    let path = match arg.starts_with('/') {
        true => PathBuf::from(arg),
        false => Path::new("/etc/ssh").join(arg),
    };
    let mut files = Vec::new();
    match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(dir), Some(pat)) if pat.contains(['*', '?', '[']) => {
            eff.dirs.push(dir.to_owned());
            let Ok(glob) = globset::Glob::new(pat) else {
                eff.problems.push(format!("Include {arg}: bad pattern"));
                return;
            };
            let m = glob.compile_matcher();
            if let Ok(Some(names)) = host.list(dir) {
                files.extend(
                    names
                        .into_iter()
                        .filter(|n| !n.starts_with('.') && m.is_match(n))
                        .map(|n| dir.join(n)),
                );
            }
        }
        _ => files.push(path),
    }
    for f in files {
        match host.read(&f) {
            Ok(Some(text)) => read_file(host, &f, &text, in_match, depth, eff),
            Ok(None) => eff.files.push(f),
            Err(e) => eff.problems.push(format!("{}: {e}", f.display())),
        }
    }
}

/// The files and directories the sshd rules read.
pub fn inputs(host: &Host) -> Vec<Input> {
    let mut v = vec![Input::File(SSHD_CONFIG.into())];
    if let Ok(Some(eff)) = effective(host) {
        v.extend(eff.files.into_iter().map(Input::File));
        v.extend(eff.dirs.into_iter().map(Input::Dir));
    }
    v.dedup();
    v
}

impl SshdCheck {
    /// A rule wanting one of `values`.
    pub(crate) fn one_of(key: &str, values: &[&str], default: &str) -> SshdCheck {
        SshdCheck {
            key: key.into(),
            want: Want::OneOf(values.iter().map(|v| v.to_string()).collect()),
            default: default.into(),
        }
    }

    /// A rule wanting a number in `lo..=hi`.
    pub(crate) fn range(key: &str, lo: u64, hi: u64, default: &str) -> SshdCheck {
        SshdCheck {
            key: key.into(),
            want: Want::Range(lo, hi),
            default: default.into(),
        }
    }

    fn expected(&self) -> String {
        match &self.want {
            Want::OneOf(v) => format!("{} {}", self.key, v.join(" or ")),
            Want::Range(lo, hi) => format!("{} between {lo} and {hi}", self.key),
        }
    }

    fn ok(&self, value: &str) -> bool {
        let value = value.to_ascii_lowercase();
        match &self.want {
            Want::OneOf(v) => v.contains(&value),
            Want::Range(lo, hi) => seconds(&value).is_some_and(|n| (*lo..=*hi).contains(&n)),
        }
    }

    /// Evaluate.
    pub fn run(&self, host: &Host) -> Finding {
        let expected = self.expected();
        let eff = match effective(host) {
            Ok(Some(e)) => e,
            Ok(None) => return Finding::new(Status::NotApplicable, expected, "no sshd_config"),
            Err(e) => return Finding::error(expected, e),
        };
        let (value, from) = match eff.settings.get(&self.key.to_ascii_lowercase()) {
            Some(s) => (s.value.clone(), format!("{}:{}", s.file.display(), s.line)),
            None => (self.default.clone(), "OpenSSH default".to_owned()),
        };
        let mut found = format!("{} {value} ({from})", self.key);
        if eff.match_blocks > 0 {
            found.push_str(&format!(
                "; {} Match block(s) not evaluated",
                eff.match_blocks
            ));
        }
        for p in &eff.problems {
            found.push_str(&format!("; {p}"));
        }
        Finding::judge(self.ok(&value), expected, found)
    }
}

/// A time as sshd writes it (`300`, `5m`, `1h30m`) in seconds; other
/// numbers as they are.
fn seconds(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(num.parse::<u64>().ok()?.checked_mul(unit)?)?;
        num.clear();
    }
    if !num.is_empty() {
        total = total.checked_add(num.parse().ok()?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_times() {
        assert_eq!(
            split("  PermitRootLogin  no "),
            Some(("PermitRootLogin", "no"))
        );
        assert_eq!(split("MaxAuthTries=3"), Some(("MaxAuthTries", "3")));
        assert_eq!(split("MaxAuthTries = 3"), Some(("MaxAuthTries", "3")));
        assert_eq!(split("# PermitRootLogin yes"), None);
        assert_eq!(seconds("300"), Some(300));
        assert_eq!(seconds("1h30m"), Some(5400));
        assert_eq!(seconds("5x"), None);
    }

    #[test]
    fn includes_first_value_and_match_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join("etc/ssh");
        std::fs::create_dir_all(ssh.join("sshd_config.d")).unwrap();
        std::fs::write(
            ssh.join("sshd_config"),
            "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nMatch User bob\n  MaxAuthTries 99\n",
        )
        .unwrap();
        std::fs::write(ssh.join("sshd_config.d/10-a.conf"), "permitrootlogin=no\n").unwrap();
        std::fs::write(ssh.join("sshd_config.d/20-b.conf"), "PermitRootLogin yes\n").unwrap();
        std::fs::write(ssh.join("sshd_config.d/x.txt"), "MaxAuthTries 1\n").unwrap();
        let h = Host::new(dir.path());
        let eff = effective(&h).unwrap().unwrap();
        let s = &eff.settings["permitrootlogin"];
        assert_eq!((s.value.as_str(), s.line), ("no", 1));
        assert!(s.file.ends_with("10-a.conf"));
        assert_eq!(eff.match_blocks, 1);
        assert!(!eff.settings.contains_key("maxauthtries"));
        let tries = SshdCheck::range("MaxAuthTries", 1, 6, "6").run(&h);
        assert_eq!(tries.status, Status::Compliant, "{tries:?}");
        assert!(tries.found.contains("default") && tries.found.contains("1 Match"));
    }
}
