//! Assessment: the pending upgrades of `apt-get -s dist-upgrade`, each with the
//! archives its candidate comes from and a classification.

use std::collections::HashMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::apt::{self, Origin, SimAction};
use super::{Classification, RebootState, UpdatesError, reboot_state};
use crate::encoding::rfc3339;

/// One pending upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Update {
    /// The package (`name:arch` for a foreign architecture).
    pub name: String,
    /// The installed version.
    pub installed: String,
    /// The version the upgrade installs.
    pub candidate: String,
    /// How it is classified.
    pub classification: Classification,
    /// The archives that offer the candidate.
    pub origins: Vec<Origin>,
}

/// Pending upgrades by classification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Counts {
    /// Security upgrades.
    pub security: usize,
    /// Other upgrades.
    pub other: usize,
    /// All of them.
    pub total: usize,
}

/// The result of [`assess`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Assessment {
    /// When, RFC 3339 UTC.
    pub time: String,
    /// The pending upgrades, sorted by name.
    pub updates: Vec<Update>,
    /// New packages the full upgrade would install (dependencies).
    pub new_packages: Vec<String>,
    /// Packages the full upgrade would remove.
    pub removals: Vec<String>,
    /// Counts by classification.
    pub counts: Counts,
    /// Whether a reboot is required now.
    pub reboot: RebootState,
}

impl Assessment {
    /// The pending upgrade of a package.
    pub fn get(&self, name: &str) -> Option<&Update> {
        self.updates.iter().find(|u| u.name == name)
    }
}

/// Find the pending upgrades. With `refresh`, run `apt-get update` first
/// (network, root); otherwise use what the last update fetched.
pub fn assess(refresh: bool) -> Result<Assessment, UpdatesError> {
    if refresh {
        apt::run("apt-get", &["-q".into(), "update".into()])?;
    }
    let sim = apt::run(
        "apt-get",
        &["-s".into(), "-q".into(), "dist-upgrade".into()],
    )?;
    let actions = apt::parse_simulation(&sim);
    let mut updates = Vec::new();
    let (mut new_packages, mut removals) = (Vec::new(), Vec::new());
    for a in actions {
        match a {
            SimAction::Install {
                name,
                old: Some(old),
                new,
                releases,
            } => updates.push((name, old, new, releases)),
            SimAction::Install { name, .. } => new_packages.push(name),
            SimAction::Remove { name } => removals.push(name),
        }
    }
    let names: Vec<String> = updates.iter().map(|u| u.0.clone()).collect();
    let origins = candidate_origins(&names)?;
    let mut updates: Vec<Update> = updates
        .into_iter()
        .map(|(name, installed, candidate, releases)| {
            let origins = origins
                .get(&name)
                .filter(|(v, o)| *v == candidate && !o.is_empty())
                .map(|(_, o)| o.clone())
                .unwrap_or_else(|| apt::parse_releases(&releases));
            Update {
                classification: Classification::of(&origins),
                name,
                installed,
                candidate,
                origins,
            }
        })
        .collect();
    updates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Assessment {
        time: rfc3339(SystemTime::now()),
        counts: counts(&updates),
        updates,
        new_packages,
        removals,
        reboot: reboot_state(),
    })
}

/// Count by classification.
fn counts(updates: &[Update]) -> Counts {
    let security = updates
        .iter()
        .filter(|u| u.classification == Classification::Security)
        .count();
    Counts {
        security,
        other: updates.len() - security,
        total: updates.len(),
    }
}

/// Each package's candidate version and the archives offering it, from
/// `apt-cache policy` (the index list joined with each package's version table).
fn candidate_origins(
    names: &[String],
) -> Result<HashMap<String, (String, Vec<Origin>)>, UpdatesError> {
    let mut out = HashMap::new();
    if names.is_empty() {
        return Ok(out);
    }
    let files = apt::parse_policy_files(&apt::run("apt-cache", &["policy".into()])?);
    for chunk in names.chunks(200) {
        let mut args = vec!["policy".to_owned()];
        args.extend(chunk.iter().cloned());
        let cands = apt::parse_policy_candidates(&apt::run("apt-cache", &args)?);
        for (name, (version, descs)) in cands {
            let origins = descs.iter().filter_map(|d| files.get(d).cloned()).collect();
            out.insert(name, (version, origins));
        }
    }
    Ok(out)
}
