//! Account rules, from `/etc/passwd` and `/etc/shadow`: no account without a
//! password, only root with UID 0, no UID or name used twice.

use std::collections::BTreeMap;
use std::path::Path;

use super::Input;
use crate::posture::finding::{Finding, Status};
use crate::posture::host::{Host, records};

/// Which account rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountsCheck {
    /// No empty password field in `/etc/shadow` (or in `/etc/passwd`).
    EmptyPasswords,
    /// Only `root` has UID 0.
    Uid0,
    /// No two accounts share a UID.
    DuplicateUids,
    /// No two accounts share a name.
    DuplicateNames,
}

/// Names shown in a finding at most.
const SHOWN: usize = 10;

fn list(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

impl AccountsCheck {
    /// What is checked.
    pub fn target(self) -> &'static str {
        match self {
            AccountsCheck::EmptyPasswords => "/etc/shadow, /etc/passwd",
            _ => "/etc/passwd",
        }
    }

    /// The files read.
    pub fn inputs(self) -> Vec<Input> {
        let mut v = vec![Input::File("/etc/passwd".into())];
        if self == AccountsCheck::EmptyPasswords {
            v.push(Input::File("/etc/shadow".into()));
        }
        v
    }

    /// Evaluate.
    pub fn run(self, host: &Host) -> Finding {
        let expected = match self {
            AccountsCheck::EmptyPasswords => "no account with an empty password",
            AccountsCheck::Uid0 => "only root with UID 0",
            AccountsCheck::DuplicateUids => "no UID shared by two accounts",
            AccountsCheck::DuplicateNames => "no account name used twice",
        };
        let accounts = match host.accounts() {
            Ok(Some(a)) => a,
            Ok(None) => return Finding::new(Status::NotApplicable, expected, "no /etc/passwd"),
            Err(e) => return Finding::error(expected, format!("/etc/passwd: {e}")),
        };
        let bad: Vec<String> = match self {
            AccountsCheck::EmptyPasswords => {
                let shadow = match host.read(Path::new("/etc/shadow")) {
                    Ok(s) => s.unwrap_or_default(),
                    Err(e) => return Finding::error(expected, format!("/etc/shadow: {e}")),
                };
                let mut v: Vec<String> = records(&shadow)
                    .filter(|f| f.len() > 1 && f[1].is_empty())
                    .map(|f| f[0].to_owned())
                    .collect();
                v.extend(
                    accounts
                        .iter()
                        .filter(|a| a.password.is_empty())
                        .map(|a| a.name.clone()),
                );
                v.sort();
                v.dedup();
                v
            }
            AccountsCheck::Uid0 => accounts
                .iter()
                .filter(|a| a.uid == 0 && a.name != "root")
                .map(|a| a.name.clone())
                .collect(),
            AccountsCheck::DuplicateUids => {
                let mut by_uid: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
                for a in &accounts {
                    by_uid.entry(a.uid).or_default().push(&a.name);
                }
                by_uid
                    .into_iter()
                    .filter(|(_, v)| v.len() > 1)
                    .map(|(uid, v)| format!("{uid} ({})", v.join(", ")))
                    .collect()
            }
            AccountsCheck::DuplicateNames => {
                let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
                for a in &accounts {
                    *seen.entry(&a.name).or_default() += 1;
                }
                seen.into_iter()
                    .filter(|(_, n)| *n > 1)
                    .map(|(name, n)| format!("{name} ({n} times)"))
                    .collect()
            }
        };
        match bad.is_empty() {
            true => Finding::new(
                Status::Compliant,
                expected,
                format!("{} accounts checked", accounts.len()),
            ),
            false => Finding::new(Status::NonCompliant, expected, list(&bad)),
        }
    }
}
