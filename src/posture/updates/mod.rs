//! Patch management on Debian and Ubuntu: which package upgrades are pending
//! and how each is classified ([`assess()`]), and installing a chosen class of
//! them inside a maintenance window with a reboot policy ([`install()`]).
//!
//! Everything comes from apt's own data and tools (see [`apt`] for which): what
//! the last `apt-get update` fetched, the dpkg database, and apt's simulation of
//! an upgrade. No network is needed unless a refresh is asked for, and python-apt
//! is not used.
//!
//! A pending upgrade is [`Classification::Security`] when its candidate version
//! comes from an archive labelled `Debian-Security` or whose suite or codename
//! ends in `-security` (Debian puts the pocket in the codename,
//! `bookworm-security`; Ubuntu in the suite, `noble-security`), and
//! [`Classification::Other`] otherwise.

pub mod apt;
mod assess;
mod install;
mod lock;

use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use apt::Origin;
pub use assess::{Assessment, Counts, Update, assess};
pub use install::{
    Group, InstallOptions, InstallReport, PackageOutcome, PackageResult, Plan, Progress,
    REBOOT_COMMAND_ENV, Reboot, RebootAction, RebootReport, RunStatus, Selection, install, plan,
};
pub use lock::{LOCK_DIR, check_dpkg_lock};

/// Where the system says a reboot is required (a kernel or libc postinst hook
/// creates it, `<file>.pkgs` names the packages).
pub const REBOOT_REQUIRED: &str = "/var/run/reboot-required";

/// Environment variable that points the reboot-required check at another file
/// (for tests: they must not touch the real one).
pub const REBOOT_REQUIRED_ENV: &str = "WARD_REBOOT_REQUIRED_FILE";

/// How a pending upgrade is classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Classification {
    /// The candidate comes from a security archive.
    Security,
    /// Every other upgrade.
    Other,
}

impl Classification {
    /// The lower-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Security => "security",
            Classification::Other => "other",
        }
    }

    /// Security when any of the archives offering the candidate is one.
    pub fn of(origins: &[Origin]) -> Classification {
        if origins.iter().any(Origin::is_security) {
            Classification::Security
        } else {
            Classification::Other
        }
    }
}

/// Whether the machine needs a reboot now, and for which packages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RebootState {
    /// The reboot-required file exists.
    pub required: bool,
    /// The packages listed in `<file>.pkgs`, in order, without repeats.
    pub packages: Vec<String>,
}

/// The reboot-required file: `$WARD_REBOOT_REQUIRED_FILE` when set (tests),
/// else [`REBOOT_REQUIRED`].
pub fn reboot_required_file() -> PathBuf {
    std::env::var_os(REBOOT_REQUIRED_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(REBOOT_REQUIRED), PathBuf::from)
}

/// Read the reboot-required file and its `.pkgs` list.
pub fn reboot_state() -> RebootState {
    let file = reboot_required_file();
    let required = file.exists();
    let mut pkgs_path = file.into_os_string();
    pkgs_path.push(".pkgs");
    let mut packages: Vec<String> = Vec::new();
    if required && let Ok(text) = std::fs::read_to_string(pkgs_path) {
        for p in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !packages.iter().any(|q| q == p) {
                packages.push(p.to_owned());
            }
        }
    }
    RebootState { required, packages }
}

/// Why assessing or installing could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdatesError {
    /// An apt tool could not be started (not a Debian-like system?).
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// An apt tool failed: a broken repository or package state, most often.
    #[error("{command} failed{}: {message}", status.map(|s| format!(" (exit {s})")).unwrap_or_default())]
    Apt {
        /// The command line.
        command: String,
        /// Its exit status, when it exited.
        status: Option<i32>,
        /// apt's error lines.
        message: String,
    },
    /// Another process holds the dpkg lock.
    #[error("{}: the dpkg lock is held{}; nothing was changed", path.display(), holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The holding process, when it could be told (`pid 123 (apt-get)`).
        holder: Option<String>,
    },
    /// A file could not be opened or locked (the dpkg lock without root, say).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The selection is not possible (a simulated upgrade would remove packages…).
    #[error("{0}")]
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Assessment>();
        check::<Update>();
        check::<Origin>();
        check::<Plan>();
        check::<Selection>();
        check::<InstallOptions>();
        check::<InstallReport>();
        check::<UpdatesError>();
        check::<RebootState>();
    }

    #[test]
    fn classification_by_any_origin() {
        let plain = Origin {
            label: "Debian".into(),
            codename: "bookworm".into(),
            ..Origin::default()
        };
        let by_label = Origin {
            label: "Debian-Security".into(),
            suite: "stable".into(),
            ..Origin::default()
        };
        assert_eq!(
            Classification::of(std::slice::from_ref(&plain)),
            Classification::Other
        );
        assert_eq!(
            Classification::of(&[plain, by_label]),
            Classification::Security
        );
        assert_eq!(Classification::of(&[]), Classification::Other);
    }
}
