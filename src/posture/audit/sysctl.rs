//! Kernel settings, read from `<root>/proc/sys` (so `--root` on a mounted
//! image without `/proc` finds none, and the rule does not apply). A setting
//! the kernel does not have (IPv6 turned off, say) is left out of the
//! verdict and named in the finding.

use super::Input;
use crate::posture::finding::{Finding, Status};
use crate::posture::host::{Host, sysctl_path};

/// Settings that must each have one of their allowed values.
#[derive(Clone, Debug)]
pub struct SysctlCheck {
    /// (name, allowed values).
    pub settings: Vec<(String, Vec<String>)>,
}

impl SysctlCheck {
    /// Every name in `names` must be `value`.
    pub(crate) fn all(names: &[&str], value: &str) -> SysctlCheck {
        SysctlCheck {
            settings: names
                .iter()
                .map(|n| (n.to_string(), vec![value.to_string()]))
                .collect(),
        }
    }

    /// What is checked.
    pub fn target(&self) -> String {
        match self.settings.as_slice() {
            [(one, _)] => one.clone(),
            [(first, _), rest @ ..] => format!("{first} (+{} more)", rest.len()),
            [] => String::new(),
        }
    }

    /// The files read (procfs sends no events for them: they are also read
    /// on the audit period).
    pub fn inputs(&self) -> Vec<Input> {
        self.settings
            .iter()
            .map(|(n, _)| Input::File(sysctl_path(n)))
            .collect()
    }

    /// Evaluate. When some setting is wrong, the finding names only the
    /// wrong ones.
    pub fn run(&self, host: &Host) -> Finding {
        let want = |n: &str, v: &[String]| format!("{n}={}", v.join("|"));
        let all = self
            .settings
            .iter()
            .map(|(n, v)| want(n, v))
            .collect::<Vec<_>>();
        let (mut found, mut wrong, mut missing) = (Vec::new(), Vec::new(), Vec::new());
        for (name, allowed) in &self.settings {
            match host.sysctl(name) {
                Ok(Some(v)) if allowed.contains(&v) => found.push(format!("{name}={v}")),
                Ok(Some(v)) => wrong.push((want(name, allowed), format!("{name}={v}"))),
                Ok(None) => missing.push(name.as_str()),
                Err(e) => return Finding::error(all.join(", "), format!("{name}: {e}")),
            }
        }
        let absent = match missing.is_empty() {
            true => String::new(),
            false => format!("; not present: {}", missing.join(", ")),
        };
        if !wrong.is_empty() {
            let (expected, found): (Vec<String>, Vec<String>) = wrong.into_iter().unzip();
            return Finding::new(
                Status::NonCompliant,
                expected.join(", "),
                found.join(", ") + &absent,
            );
        }
        if found.is_empty() {
            return Finding::new(
                Status::NotApplicable,
                all.join(", "),
                "no such kernel settings",
            );
        }
        Finding::new(
            Status::Compliant,
            all.join(", "),
            found.join(", ") + &absent,
        )
    }
}
