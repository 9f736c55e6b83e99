//! One look at the machine's protection (`ward health`): version, signature
//! sets, real-time protection, quarantine and recent threats, the last
//! configuration audit, pending updates and whether a reboot is required.
//!
//! [`check`] never fails as a whole: a part that cannot be read is reported in
//! [`Health::errors`] and the rest is still filled in, so a fleet tool always
//! gets one document per host.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::encoding::{parse_rfc3339, rfc3339};
use crate::posture::updates;

/// Where the last `ward audit` result is kept, inside the home.
pub const AUDIT_LAST: &str = "audit-last.json";

/// The directory `freshclam` keeps ClamAV's databases in.
pub const CLAMAV_DIR: &str = "/var/lib/clamav";

/// What to look at.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HealthOptions {
    /// The state directory.
    pub home: PathBuf,
    /// Signature files or directories in use (`-d`); default none.
    pub databases: Vec<PathBuf>,
    /// Directories searched for ClamAV databases (`.cvd`, `.cld`, `.cud`);
    /// default [`CLAMAV_DIR`].
    pub clamav_dirs: Vec<PathBuf>,
    /// Ask apt for pending updates; default true.
    pub updates: bool,
}

impl HealthOptions {
    /// Defaults for a home.
    pub fn new(home: impl Into<PathBuf>) -> HealthOptions {
        HealthOptions {
            home: home.into(),
            databases: Vec::new(),
            clamav_dirs: vec![CLAMAV_DIR.into()],
            updates: true,
        }
    }
}

/// The health document (one per host).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// When, RFC 3339 UTC.
    pub time: String,
    /// The host name.
    pub host: String,
    /// ward's version.
    pub version: String,
    /// The state directory looked at.
    pub home: String,
    /// Signature sets.
    pub signatures: SignatureHealth,
    /// Real-time protection.
    pub realtime: Realtime,
    /// Files in the quarantine vault.
    pub quarantine: Counted,
    /// Detections recorded by `ward watch`.
    pub threats: Threats,
    /// The last `ward audit` result; `null` when it never ran.
    pub audit: Option<AuditLast>,
    /// Pending updates; `null` when not asked or apt could not tell.
    pub updates: Option<UpdatesHealth>,
    /// The parts that could not be read, one line each.
    pub errors: Vec<String>,
}

/// Signature sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignatureHealth {
    /// The built-in signatures (used unless `--no-builtin`).
    pub builtin: usize,
    /// Each database found or given.
    pub sets: Vec<SignatureSetHealth>,
}

/// One signature database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignatureSetHealth {
    /// Its file or directory.
    pub path: String,
    /// `clamav` for a ClamAV container (`.cvd`, `.cld`, `.cud`), else `files`.
    pub kind: String,
    /// Signatures in it.
    pub signatures: u64,
    /// The database version (ClamAV containers).
    pub version: Option<u64>,
    /// When it was built, RFC 3339 UTC (ClamAV containers).
    pub built: Option<String>,
    /// Its age in days (ClamAV containers).
    pub age_days: Option<f64>,
}

/// Real-time protection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Realtime {
    /// A `ward watch` with this home is running.
    pub running: bool,
    /// Its pid (the last one's, when not running).
    pub pid: Option<u32>,
    /// The trees it watches.
    pub trees: Vec<String>,
    /// Whether it blocks opens of infected files.
    pub blocking: Option<bool>,
    /// When it started.
    pub started: Option<String>,
}

/// A count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Counted {
    /// How many.
    pub count: usize,
}

/// Recorded detections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Threats {
    /// In the last 24 hours.
    pub last_24h: usize,
    /// In all.
    pub total: usize,
}

/// `<home>/audit-last.json`, as `ward audit` writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditLast {
    /// When it ran.
    pub time: String,
    /// Checks that passed.
    pub compliant: u64,
    /// Checks that failed.
    pub non_compliant: u64,
    /// Checks that could not run.
    pub errors: u64,
}

/// Pending updates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpdatesHealth {
    /// Pending security upgrades.
    pub security: usize,
    /// Other pending upgrades.
    pub other: usize,
    /// All pending upgrades.
    pub total: usize,
    /// A reboot is required now.
    pub reboot_required: bool,
    /// The packages that asked for it.
    pub reboot_packages: Vec<String>,
}

/// Look at everything.
pub fn check(opts: &HealthOptions) -> Health {
    let mut errors = Vec::new();
    let mut note = |what: &str, e: &dyn std::fmt::Display| errors.push(format!("{what}: {e}"));
    let signatures = signatures(opts, &mut note);
    let realtime = realtime(&opts.home, &mut note);
    let quarantine = quarantine(&opts.home, &mut note);
    let threats = threats(&opts.home, &mut note);
    let audit = audit(&opts.home, &mut note);
    let updates = if opts.updates {
        match updates::assess(false) {
            Ok(a) => Some(UpdatesHealth {
                security: a.counts.security,
                other: a.counts.other,
                total: a.counts.total,
                reboot_required: a.reboot.required,
                reboot_packages: a.reboot.packages,
            }),
            Err(e) => {
                note("updates", &e);
                None
            }
        }
    } else {
        None
    };
    Health {
        time: rfc3339(SystemTime::now()),
        host: host_name(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        home: opts.home.to_string_lossy().into_owned(),
        signatures,
        realtime,
        quarantine,
        threats,
        audit,
        updates,
        errors,
    }
}

/// The kernel's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

type Note<'a> = dyn FnMut(&str, &dyn std::fmt::Display) + 'a;

fn signatures(opts: &HealthOptions, note: &mut Note) -> SignatureHealth {
    let mut sets = Vec::new();
    let mut containers: Vec<PathBuf> = Vec::new();
    for d in &opts.clamav_dirs {
        if let Ok(rd) = std::fs::read_dir(d) {
            let mut found: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            found.retain(|p| is_container(p));
            found.sort();
            containers.extend(found);
        }
    }
    for p in &opts.databases {
        if is_container(p) {
            containers.push(p.clone());
            continue;
        }
        match crate::SignatureSet::builder().path(p).database() {
            Ok(db) => sets.push(SignatureSetHealth {
                path: p.to_string_lossy().into_owned(),
                kind: "files".into(),
                signatures: db.len() as u64,
                version: None,
                built: None,
                age_days: None,
            }),
            Err(e) => note(&p.to_string_lossy(), &e),
        }
    }
    for p in containers {
        match clamav_header(&p) {
            Ok(s) => sets.push(s),
            Err(e) => note(&p.to_string_lossy(), &e),
        }
    }
    SignatureHealth {
        builtin: crate::Database::builtin().len(),
        sets,
    }
}

fn is_container(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e == "cvd" || e == "cld" || e == "cud")
}

/// Read a ClamAV container's 512-byte header:
/// `ClamAV-VDB:<built>:<version>:<signatures>:<flevel>:<md5>:<dsig>:<builder>:<unix time>`.
fn clamav_header(path: &Path) -> Result<SignatureSetHealth, String> {
    use std::io::Read;
    let mut head = [0u8; 512];
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    f.read_exact(&mut head)
        .map_err(|_| "shorter than a ClamAV header (512 bytes)".to_owned())?;
    let text = String::from_utf8_lossy(&head);
    let fields: Vec<&str> = text.trim_end_matches([' ', '\0']).split(':').collect();
    if fields.first() != Some(&"ClamAV-VDB") || fields.len() < 4 {
        return Err("not a ClamAV database (no ClamAV-VDB header)".into());
    }
    let num = |i: usize| fields.get(i).and_then(|s| s.trim().parse::<u64>().ok());
    let built = num(8).map(|s| crate::encoding::from_unix(s as i64, 0));
    let age_days = built.map(|b| {
        let age = SystemTime::now()
            .duration_since(b)
            .unwrap_or(Duration::ZERO);
        (age.as_secs_f64() / 86_400.0 * 10.0).round() / 10.0
    });
    Ok(SignatureSetHealth {
        path: path.to_string_lossy().into_owned(),
        kind: "clamav".into(),
        signatures: num(3).ok_or("the header has no signature count")?,
        version: num(2),
        built: built.map(rfc3339),
        age_days,
    })
}

fn realtime(home: &Path, note: &mut Note) -> Realtime {
    match crate::watch::status::read(home) {
        Ok(Some((s, running))) => Realtime {
            running,
            pid: Some(s.pid),
            trees: s.trees,
            blocking: Some(s.blocking),
            started: Some(s.started),
        },
        Ok(None) => Realtime::default(),
        Err(e) => {
            note("real-time protection", &e);
            Realtime::default()
        }
    }
}

fn quarantine(home: &Path, note: &mut Note) -> Counted {
    if !home.join("quarantine").is_dir() {
        return Counted::default();
    }
    match crate::Vault::open(home).and_then(|v| v.list()) {
        Ok(list) => Counted { count: list.len() },
        Err(e) => {
            note("quarantine", &e);
            Counted::default()
        }
    }
}

fn threats(home: &Path, note: &mut Note) -> Threats {
    match crate::journal::read(home) {
        Ok((list, _)) => {
            let since = SystemTime::now() - Duration::from_secs(86_400);
            let last_24h = list
                .iter()
                .filter(|t| parse_rfc3339(&t.time).is_some_and(|at| at >= since))
                .count();
            Threats {
                last_24h,
                total: list.len(),
            }
        }
        Err(e) => {
            note("threats", &e);
            Threats::default()
        }
    }
}

fn audit(home: &Path, note: &mut Note) -> Option<AuditLast> {
    let path = home.join(AUDIT_LAST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            note(&path.to_string_lossy(), &e);
            return None;
        }
    };
    serde_json::from_str(&text)
        .map_err(|e| note(&path.to_string_lossy(), &e))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Health>();
        check::<HealthOptions>();
        check::<crate::watch::status::StatusFile>();
        check::<crate::watch::status::WatchStatus>();
    }

    #[test]
    fn clamav_header_fields() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("main.cvd");
        let mut h =
            b"ClamAV-VDB:16 Sep 2021 08-32 -0400:62:6647427:90:X:X:sigmgr:1631795562".to_vec();
        h.resize(600, b' ');
        std::fs::write(&p, &h).unwrap();
        let s = clamav_header(&p).unwrap();
        assert_eq!((s.version, s.signatures), (Some(62), 6_647_427));
        assert_eq!(s.built.as_deref(), Some("2021-09-16T12:32:42Z"));
        assert!(s.age_days.unwrap() > 1000.0);
        std::fs::write(&p, b"short").unwrap();
        assert!(clamav_header(&p).is_err());
    }

    #[test]
    fn a_missing_home_is_empty_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = HealthOptions::new(dir.path().join("none"));
        o.updates = false;
        o.clamav_dirs.clear();
        let h = check(&o);
        assert_eq!(h.errors, Vec::<String>::new());
        assert!(!h.realtime.running && h.audit.is_none());
        assert!(h.signatures.builtin > 0);
    }
}
