//! Rules and profiles: what `ward audit` checks.
//!
//! A [`Rule`] is an id, words for people (title, rationale, remediation, and
//! for the built-in rules how ward differs from Azure's Linux baseline) and a
//! [`Check`]: one concern per module (file modes and owners, sshd's effective
//! settings, accounts, kernel settings, whole trees, keys in configuration
//! files, packages). A [`Profile`] is the built-in `linux-baseline`
//! ([`Profile::baseline`]) with any number of policy files
//! ([`policy::Policy`]) applied: their rules added, the built-in rules they
//! name turned off.
//!
//! Each check also says which files it reads ([`Check::inputs`]) and whether it
//! must be looked at on a period ([`Check::refresh`]), which is what
//! [`crate::posture::drift`] watches.

pub mod accounts;
mod baseline;
pub mod config;
pub mod files;
pub mod packages;
pub mod perms;
pub mod policy;
pub mod sshd;
pub mod sysctl;

use std::collections::HashSet;
use std::path::PathBuf;

use super::finding::{Finding, Severity, Status};
use super::host::Host;

/// The name of the built-in profile.
pub const BASELINE: &str = "linux-baseline";

/// One rule.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Rule {
    /// A short stable id (`perms-passwd`).
    pub id: String,
    /// One line saying what the rule wants.
    pub title: String,
    /// How much it matters.
    pub severity: Severity,
    /// Why it matters.
    pub rationale: String,
    /// What to do when it is not met.
    pub remediation: String,
    /// For built-in rules: how this rule differs from Azure's Linux security
    /// baseline, and why (`None`: it is the same, or the rule came from a
    /// policy file).
    pub azure: Option<String>,
    /// Where the rule came from: `linux-baseline`, or a policy's name.
    pub source: String,
    /// What it checks.
    pub check: Check,
}

/// What a rule checks.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Check {
    /// A file's presence, mode, owner and group.
    File(perms::FileCheck),
    /// An sshd setting's effective value.
    Sshd(sshd::SshdCheck),
    /// The account databases.
    Accounts(accounts::AccountsCheck),
    /// Kernel settings.
    Sysctl(sysctl::SysctlCheck),
    /// Every file below some directories.
    Tree(files::TreeCheck),
    /// A key's value in a configuration file.
    Config(config::ConfigCheck),
    /// A package installed or absent.
    Package(packages::PackageCheck),
}

/// A file or directory a check reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// The file (its contents or its inode): watched through its directory,
    /// so that a file renamed over it counts.
    File(PathBuf),
    /// What a directory holds (the files an `Include` glob picks).
    Dir(PathBuf),
}

/// When a check must be evaluated again, besides a change to its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Only when an input changes.
    Inputs,
    /// Also on the audit period (kernel settings, which no event reports;
    /// accounts).
    Period,
    /// Only on a long period (walks of whole trees).
    Slow,
}

impl Check {
    /// Evaluate on `host`.
    pub fn run(&self, host: &Host) -> Finding {
        match self {
            Check::File(c) => c.run(host),
            Check::Sshd(c) => c.run(host),
            Check::Accounts(c) => c.run(host),
            Check::Sysctl(c) => c.run(host),
            Check::Tree(c) => c.run(host),
            Check::Config(c) => c.run(host),
            Check::Package(c) => c.run(host),
        }
    }

    /// The files it reads (in-system paths).
    pub fn inputs(&self, host: &Host) -> Vec<Input> {
        match self {
            Check::File(c) => vec![Input::File(c.path.clone())],
            Check::Sshd(_) => sshd::inputs(host),
            Check::Accounts(c) => c.inputs(),
            Check::Sysctl(c) => c.inputs(),
            Check::Tree(_) => Vec::new(),
            Check::Config(c) => vec![Input::File(c.path.clone())],
            Check::Package(_) => vec![Input::File(packages::STATUS.into())],
        }
    }

    /// When to look again besides input changes.
    pub fn refresh(&self) -> Refresh {
        match self {
            Check::Accounts(_) | Check::Sysctl(_) => Refresh::Period,
            Check::Tree(_) => Refresh::Slow,
            _ => Refresh::Inputs,
        }
    }

    /// A short description of what is checked (a path, a setting).
    pub fn target(&self) -> String {
        match self {
            Check::File(c) => c.path.display().to_string(),
            Check::Sshd(c) => format!("sshd {}", c.key),
            Check::Accounts(c) => c.target().into(),
            Check::Sysctl(c) => c.target(),
            Check::Tree(c) => c.target(),
            Check::Config(c) => format!("{} {}", c.path.display(), c.key),
            Check::Package(c) => format!("package {}", c.name),
        }
    }
}

/// A rule with what it found.
#[derive(Clone, Debug)]
pub struct Outcome<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// What it found.
    pub finding: Finding,
}

/// Rules to evaluate together.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    rules: Vec<Rule>,
    names: Vec<String>,
}

impl Profile {
    /// No rules.
    pub fn new() -> Profile {
        Profile::default()
    }

    /// The built-in `linux-baseline`.
    pub fn baseline() -> Profile {
        Profile {
            rules: baseline::rules(),
            names: vec![BASELINE.into()],
        }
    }

    /// Add a policy's rules and turn off the rules it disables. A disabled id
    /// that no rule has, or a rule id already taken, is an error naming the
    /// policy's file, line and column.
    pub fn apply(&mut self, p: policy::Policy) -> Result<(), policy::PolicyError> {
        for (id, at) in &p.disable {
            let before = self.rules.len();
            self.rules.retain(|r| &r.id != id);
            if self.rules.len() == before {
                return Err(p.error(at.clone(), format!("no rule '{id}' to disable")));
            }
        }
        let mut taken: HashSet<String> = self.rules.iter().map(|r| r.id.clone()).collect();
        for (rule, at) in p.rules.iter().zip(&p.rule_at) {
            if !taken.insert(rule.id.clone()) {
                return Err(p.error(at.clone(), format!("rule id '{}' is already used", rule.id)));
            }
        }
        self.rules.extend(p.rules);
        self.names.push(p.name);
        Ok(())
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The names of the profile and policies applied.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Evaluate every rule on `host`.
    pub fn evaluate(&self, host: &Host) -> Vec<Outcome<'_>> {
        self.rules
            .iter()
            .map(|rule| Outcome {
                rule,
                finding: rule.check.run(host),
            })
            .collect()
    }
}

/// Counts of each status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rules met.
    pub compliant: usize,
    /// Rules not met.
    pub non_compliant: usize,
    /// Rules that do not apply.
    pub not_applicable: usize,
    /// Rules that could not be evaluated.
    pub errors: usize,
}

impl Summary {
    /// Count `findings`.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            match f.status {
                Status::Compliant => s.compliant += 1,
                Status::NonCompliant => s.non_compliant += 1,
                Status::NotApplicable => s.not_applicable += 1,
                Status::Error => s.errors += 1,
            }
        }
        s
    }
}
