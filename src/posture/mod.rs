//! The machine's security posture beyond malware: configuration compliance
//! (`ward audit`, `ward watch --audit`) and pending package updates
//! ([`updates`]: `ward updates`).
//!
//! A [`Host`] is the system audited, rooted at a directory (`/`, or a
//! mounted image, a container's filesystem, a test's fixture). A [`Profile`]
//! holds [`Rule`]s: the built-in `linux-baseline` plus any policy files.
//! Evaluating a rule gives a [`Finding`]: compliant, non-compliant (with what
//! was expected and what was found), not applicable, or an error.
//! [`drift`] watches the files the rules read and reports each change of
//! state as it happens; [`record`] keeps those events and the last audit's
//! summary in the home.
//!
//! Nothing here depends on the scanner.
//!
//! ```
//! use ward::posture::{Host, Profile, Status};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::create_dir(dir.path().join("etc"))?;
//! std::fs::write(dir.path().join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n")?;
//! let profile = Profile::baseline();
//! let outcomes = profile.evaluate(&Host::new(dir.path()));
//! let uid0 = outcomes.iter().find(|o| o.rule.id == "accounts-uid0-root-only").unwrap();
//! assert_eq!(uid0.finding.status, Status::Compliant);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit;
pub mod drift;
pub mod finding;
pub mod host;
pub mod record;
pub mod updates;

pub use audit::policy::{Policy, PolicyError};
pub use audit::{Check, Outcome, Profile, Rule, Summary};
pub use drift::{DriftNotice, DriftOptions, DriftWatch};
pub use finding::{Finding, Severity, Status};
pub use host::Host;
pub use record::{DriftEvent, LastAudit};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posture_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Host>();
        check::<Profile>();
        check::<Rule>();
        check::<Policy>();
        check::<Finding>();
        check::<DriftWatch>();
        check::<DriftNotice>();
        check::<DriftOptions>();
        check::<DriftEvent>();
        check::<LastAudit>();
    }
}
