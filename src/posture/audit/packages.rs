//! A package installed or absent, from dpkg's status file.

use std::path::Path;

use crate::posture::finding::{Finding, Status};
use crate::posture::host::Host;

/// dpkg's status file (rewritten by renaming a new one over it).
pub const STATUS: &str = "/var/lib/dpkg/status";

/// A rule on one package.
#[derive(Clone, Debug)]
pub struct PackageCheck {
    /// The package name.
    pub name: String,
    /// Whether it must be installed (`true`) or must not be (`false`).
    pub installed: bool,
}

impl PackageCheck {
    /// Evaluate.
    pub fn run(&self, host: &Host) -> Finding {
        let expected = match self.installed {
            true => format!("{} installed", self.name),
            false => format!("{} not installed", self.name),
        };
        let packages = match host.dpkg() {
            Ok(Some(p)) => p,
            Ok(None) => {
                let why = format!("no dpkg database ({})", Path::new(STATUS).display());
                return Finding::new(Status::NotApplicable, expected, why);
            }
            Err(e) => return Finding::error(expected, format!("{STATUS}: {e}")),
        };
        let is = packages.get(&self.name).copied().unwrap_or(false);
        let found = match is {
            true => format!("{} installed", self.name),
            false => format!("{} not installed", self.name),
        };
        Finding::judge(is == self.installed, expected, found)
    }
}
