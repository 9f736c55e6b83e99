//! Running apt and reading its answers.
//!
//! Only apt's own command-line tools are used, always with `LC_ALL=C` so that
//! their output is not translated:
//!
//! - `apt-get -s` (simulation: no lock, no change) prints one line per action,
//!   `Inst NAME [OLD] (NEW RELEASES [ARCH])` or `Remv NAME [OLD]`, the
//!   interface Azure's Linux patch agent parses too;
//! - `apt-cache policy` with no package names lists every package index with
//!   its release fields (`release v=12,o=Debian,a=oldstable-security,
//!   n=bookworm-security,l=Debian-Security,c=main,b=amd64`) and its site;
//! - `apt-cache policy NAME…` gives each package's candidate version and the
//!   indices that offer it, described the same way as in the list above, so the
//!   two join exactly.
//!
//! Nothing here touches the network; `apt-get update` runs only when asked.

use std::collections::HashMap;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::UpdatesError;

/// One archive (release) that offers a version: the fields of its `Release`
/// file as apt reports them. Absent fields are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Origin {
    /// `Origin:` (`o=`), e.g. `Debian`.
    pub origin: String,
    /// `Label:` (`l=`), e.g. `Debian-Security`.
    pub label: String,
    /// `Suite:` (`a=`), e.g. `oldstable-security` or `noble-security`.
    pub suite: String,
    /// `Codename:` (`n=`), e.g. `bookworm-security` or `noble`.
    pub codename: String,
    /// `Version:` (`v=`), e.g. `12`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// The component (`c=`), e.g. `main`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub component: String,
    /// The host (or `file:` path) the index came from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub site: String,
}

impl Origin {
    /// Whether this archive carries security updates: labelled
    /// `Debian-Security`, or a suite or codename ending in `-security` (how
    /// Update Manager and unattended-upgrades tell them apart).
    pub fn is_security(&self) -> bool {
        self.label == "Debian-Security"
            || self.suite.ends_with("-security")
            || self.codename.ends_with("-security")
    }

    /// `label/codename` (or suite), for one-line listings.
    pub fn short(&self) -> String {
        let name = [&self.codename, &self.suite, &self.site]
            .into_iter()
            .find(|s| !s.is_empty())
            .map_or("?", |s| s.as_str());
        match self.label.as_str() {
            "" => name.to_owned(),
            l => format!("{l}/{name}"),
        }
    }
}

/// One action of a simulated apt run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SimAction {
    /// `Inst`: an upgrade (with `old`) or a new package (without).
    Install {
        name: String,
        old: Option<String>,
        new: String,
        /// What apt prints for the new version's archives:
        /// `Label:Version/Suite, …` (used when the policy join finds nothing).
        releases: String,
    },
    /// `Remv`: a removal.
    Remove { name: String },
}

/// Run an apt tool with `LC_ALL=C`; its stdout, or an error that names the
/// command and carries apt's `E:` lines (or the tail of stderr).
pub(crate) fn run(program: &str, args: &[String]) -> Result<String, UpdatesError> {
    let shown = || format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| UpdatesError::Spawn {
            command: shown(),
            source: e,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(UpdatesError::Apt {
        command: shown(),
        status: out.status.code(),
        message: error_lines(&stderr, &stdout),
    })
}

/// apt's `E:` lines from a failed run, else the last lines of stderr.
pub(crate) fn error_lines(stderr: &str, stdout: &str) -> String {
    let errors: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| l.starts_with("E: ") || l.starts_with("dpkg: error"))
        .collect();
    if !errors.is_empty() {
        return errors.join("; ");
    }
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    tail[tail.len().saturating_sub(3)..].join("; ")
}

/// The `Inst` and `Remv` lines of `apt-get -s` output.
pub(crate) fn parse_simulation(out: &str) -> Vec<SimAction> {
    out.lines().filter_map(parse_sim_line).collect()
}

fn parse_sim_line(line: &str) -> Option<SimAction> {
    if let Some(rest) = line.strip_prefix("Remv ") {
        let name = rest.split_whitespace().next()?;
        return Some(SimAction::Remove { name: name.into() });
    }
    let rest = line.strip_prefix("Inst ")?;
    let (name, rest) = rest.split_once(' ')?;
    let (old, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (old, r) = r.split_once("] ")?;
            (Some(old.to_owned()), r)
        }
        None => (None, rest),
    };
    let inner = rest.strip_prefix('(')?;
    // `(NEW RELEASES [ARCH])`, possibly followed by ` []` or other notes.
    let close = inner.rfind(')')?;
    let inner = &inner[..close];
    let (new, releases) = inner.split_once(' ').unwrap_or((inner, ""));
    let releases = match releases.rfind(" [") {
        Some(i) if releases.ends_with(']') => &releases[..i],
        _ => releases,
    };
    Some(SimAction::Install {
        name: name.into(),
        old,
        new: new.into(),
        releases: releases.trim().into(),
    })
}

/// Origins from apt's short release string (`Debian-Security:12/oldstable-security,
/// Debian:12.15/oldstable`): label and suite only.
pub(crate) fn parse_releases(s: &str) -> Vec<Origin> {
    s.split(", ")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (label, rest) = match p.split_once(':') {
                Some((l, r)) => (l, r),
                None => ("", p),
            };
            let suite = rest.rsplit_once('/').map_or(rest, |(_, s)| s);
            Origin {
                label: label.into(),
                suite: suite.into(),
                ..Origin::default()
            }
        })
        .collect()
}

/// `apt-cache policy` (no names): each index's description (`http://… bookworm/main
/// amd64 Packages`) and its release fields.
pub(crate) fn parse_policy_files(out: &str) -> HashMap<String, Origin> {
    let mut map = HashMap::new();
    let mut current: Option<String> = None;
    for line in out.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 1 {
            current = t.split_once(' ').map(|(_, d)| d.to_owned());
            if let Some(desc) = &current {
                // Until a release line says more (an archive without a
                // Release file has none): where it came from.
                let site = desc.split(' ').next().unwrap_or_default().to_owned();
                map.insert(
                    desc.clone(),
                    Origin {
                        site,
                        ..Origin::default()
                    },
                );
            }
        } else if let (Some(desc), Some(fields)) = (&current, t.strip_prefix("release ")) {
            let site = std::mem::take(&mut map.entry(desc.clone()).or_default().site);
            map.insert(
                desc.clone(),
                Origin {
                    site,
                    ..release_fields(fields)
                },
            );
        } else if let (Some(desc), Some(site)) = (&current, t.strip_prefix("origin ")) {
            if let Some(o) = map.get_mut(desc) {
                o.site = site.to_owned();
            }
        } else if indent == 0 {
            current = None;
        }
    }
    map
}

fn release_fields(s: &str) -> Origin {
    let mut o = Origin::default();
    for kv in s.split(',') {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let slot = match k {
            "o" => &mut o.origin,
            "l" => &mut o.label,
            "a" => &mut o.suite,
            "n" => &mut o.codename,
            "v" => &mut o.version,
            "c" => &mut o.component,
            _ => continue,
        };
        *slot = v.to_owned();
    }
    o
}

/// `apt-cache policy NAME…`: for each package, its candidate version and the
/// descriptions of the indices that offer that version.
pub(crate) fn parse_policy_candidates(out: &str) -> HashMap<String, (String, Vec<String>)> {
    let mut map: HashMap<String, (String, Vec<String>)> = HashMap::new();
    let mut pkg: Option<String> = None;
    let mut in_candidate = false;
    for line in out.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 0 && t.ends_with(':') {
            pkg = Some(t.trim_end_matches(':').to_owned());
            in_candidate = false;
        } else if let (Some(p), Some(v)) = (&pkg, t.strip_prefix("Candidate: ")) {
            map.insert(p.clone(), (v.to_owned(), Vec::new()));
        } else if let Some(p) = &pkg
            && (indent == 5 || t.starts_with("*** "))
        {
            // A version line: `VERSION PRIORITY`, maybe after `***`.
            let ver = t.trim_start_matches("*** ").split(' ').next().unwrap_or("");
            in_candidate = map.get(p).is_some_and(|(c, _)| c == ver);
        } else if let Some(p) = &pkg
            && in_candidate
            && indent >= 6
            && let Some((_, desc)) = t.split_once(' ')
            && let Some(entry) = map.get_mut(p)
        {
            entry.1.push(desc.to_owned());
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_lines() {
        let out = "NOTE: This is only a simulation!\n\
Inst libgcrypt20-dev [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])\n\
Inst newdep (2.0 Debian:12/stable [all]) []\n\
Conf libgcrypt20-dev (1.10.1-3+deb12u1 Debian:12.15/oldstable [amd64])\n\
Remv oldpkg [0.9]\n";
        let acts = parse_simulation(out);
        assert_eq!(
            acts,
            vec![
                SimAction::Install {
                    name: "libgcrypt20-dev".into(),
                    old: Some("1.10.1-3".into()),
                    new: "1.10.1-3+deb12u1".into(),
                    releases: "Debian:12.15/oldstable, Debian-Security:12/oldstable-security"
                        .into(),
                },
                SimAction::Install {
                    name: "newdep".into(),
                    old: None,
                    new: "2.0".into(),
                    releases: "Debian:12/stable".into(),
                },
                SimAction::Remove {
                    name: "oldpkg".into()
                },
            ]
        );
        let o = parse_releases("Debian:12.15/oldstable, Debian-Security:12/oldstable-security");
        assert_eq!(o[1].label, "Debian-Security");
        assert_eq!(o[1].suite, "oldstable-security");
        assert!(!o[0].is_security() && o[1].is_security());
        assert_eq!(parse_releases("localhost")[0].suite, "localhost");
    }

    const FILES: &str = "Package files:
 100 /var/lib/dpkg/status
     release a=now
 500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
     release v=12,o=Debian,a=oldstable-security,n=bookworm-security,l=Debian-Security,c=main,b=amd64
     origin deb.debian.org
 500 http://archive.ubuntu.com/ubuntu noble-security/main amd64 Packages
     release v=24.04,o=Ubuntu,a=noble-security,n=noble,l=Ubuntu,c=main,b=amd64
     origin archive.ubuntu.com
 500 http://deb.debian.org/debian bookworm/main amd64 Packages
     release v=12.15,o=Debian,a=oldstable,n=bookworm,l=Debian,c=main,b=amd64
     origin deb.debian.org
Pinned packages:
";

    #[test]
    fn policy_files_and_classification() {
        let m = parse_policy_files(FILES);
        let sec = &m["http://deb.debian.org/debian-security bookworm-security/main amd64 Packages"];
        assert_eq!(
            (sec.origin.as_str(), sec.codename.as_str()),
            ("Debian", "bookworm-security")
        );
        assert_eq!(sec.site, "deb.debian.org");
        assert!(sec.is_security());
        let ubuntu = &m["http://archive.ubuntu.com/ubuntu noble-security/main amd64 Packages"];
        assert!(ubuntu.is_security(), "Ubuntu puts -security in the suite");
        let main = &m["http://deb.debian.org/debian bookworm/main amd64 Packages"];
        assert!(!main.is_security());
        assert_eq!(main.short(), "Debian/bookworm");
        assert_eq!(m["/var/lib/dpkg/status"].suite, "now");
    }

    #[test]
    fn policy_candidates() {
        let out = "apt:
  Installed: 2.6.1
  Candidate: 2.6.2
  Version table:
     2.6.2 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
 *** 2.6.1 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
libc6:
  Installed: 2.36-9+deb12u14
  Candidate: 2.36-9+deb12u14
  Version table:
 *** 2.36-9+deb12u14 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
";
        let m = parse_policy_candidates(out);
        assert_eq!(m["apt"].0, "2.6.2");
        assert_eq!(m["apt"].1.len(), 2);
        assert_eq!(
            m["apt"].1[0],
            "http://deb.debian.org/debian-security bookworm-security/main amd64 Packages"
        );
        assert_eq!(m["libc6"].1.len(), 2);
    }

    proptest::proptest! {
        /// Any `Inst` line apt can print parses back to what was printed: a
        /// package name, versions (epochs, `~`, `+`), one or more
        /// `Label:Version/Suite` archives (or `Label:Suite`), an architecture,
        /// and a trailing `[]` note or none.
        #[test]
        fn inst_lines_round_trip(
            name in "[a-z0-9][a-z0-9+.-]{0,20}(:i386)?",
            old in proptest::option::of("([0-9]:)?[0-9][0-9a-z.+~-]{0,12}"),
            new in "([0-9]:)?[0-9][0-9a-z.+~-]{0,12}",
            archives in proptest::collection::vec(
                ("[A-Za-z][A-Za-z-]{0,14}", "([0-9][0-9.]{0,4})?", "[a-z][a-z-]{0,15}"),
                1..4,
            ),
            arch in "amd64|all|i386",
            note in " \\[\\]|",
        ) {
            let rel: Vec<String> = archives
                .iter()
                .map(|(l, v, s)| match v.as_str() {
                    "" => format!("{l}:{s}"),
                    v => format!("{l}:{v}/{s}"),
                })
                .collect();
            let rel = rel.join(", ");
            let line = match &old {
                Some(o) => format!("Inst {name} [{o}] ({new} {rel} [{arch}]){note}"),
                None => format!("Inst {name} ({new} {rel} [{arch}]){note}"),
            };
            let parsed = parse_simulation(&line);
            let expected = SimAction::Install {
                name: name.clone(),
                old: old.clone(),
                new: new.clone(),
                releases: rel.clone(),
            };
            proptest::prop_assert_eq!(parsed, vec![expected]);
            let origins = parse_releases(&rel);
            proptest::prop_assert_eq!(origins.len(), archives.len());
            for (o, (l, _, s)) in origins.iter().zip(&archives) {
                proptest::prop_assert_eq!(&o.label, l);
                proptest::prop_assert_eq!(&o.suite, s);
            }
        }
    }

    #[test]
    fn error_lines_prefer_apt_errors() {
        let e = error_lines(
            "W: a warning\nE: Could not get lock /x\nE: Unable to lock\n",
            "",
        );
        assert_eq!(e, "E: Could not get lock /x; E: Unable to lock");
        assert_eq!(error_lines("one\ntwo\n", ""), "one; two");
    }
}
