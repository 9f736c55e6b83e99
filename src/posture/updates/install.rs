//! Installing a selection of the pending upgrades inside a maintenance window.
//!
//! A run goes:
//!
//! 1. [`plan`]: the selected upgrades (classification, `--include`,
//!    `--exclude`), in groups of one source package each (binaries of one
//!    source usually depend on each other's exact version).
//! 2. [`install`]: check that dpkg is not locked ([`super::check_dpkg_lock`]), simulate
//!    the whole selection (`apt-get -s install --only-upgrade --no-remove`) and
//!    download it (`--download-only`); any failure so far ends the run with
//!    an error and nothing changed. Then one `apt-get install` per group,
//!    non-interactive, keeping changed configuration files
//!    (`--force-confdef --force-confold`, and `UCF_FORCE_CONFFOLD` for the
//!    files ucf manages), never removing a package and installing no
//!    recommended package the selection did not need. Before each
//!    group the time left is checked: a group is started only while the window
//!    is open and at least as long as the slowest group so far took, so apt and
//!    dpkg are never interrupted; the groups not started are reported as not
//!    attempted and the run as failed. A run that ends after the window closed
//!    is failed too, and one whose first group finds the dpkg lock taken (by a
//!    process that came after the check) is the lock error: nothing changed.
//! 3. The reboot policy, once the run is over.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::apt::{self, SimAction};
use super::{Assessment, Classification, Update, UpdatesError, check_dpkg_lock, reboot_state};
use crate::encoding::rfc3339;

/// Environment variable with a shell command run instead of the real reboot
/// (for tests).
pub const REBOOT_COMMAND_ENV: &str = "WARD_REBOOT_COMMAND";

/// The reboot command: in a minute, so that ward's report is written and
/// collected first.
const REBOOT: &[&str] = &["shutdown", "-r", "+1", "ward: rebooting after updates"];

/// When to reboot after the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reboot {
    /// When the reboot-required file exists after the run.
    IfRequired,
    /// Never; report whether one is needed.
    Never,
    /// Always.
    Always,
}

/// Which pending upgrades to install.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Selection {
    /// The classes to install (default none: only what `include` names).
    pub classes: Vec<Classification>,
    /// Also these packages, whatever their class (`*` and `?` wildcards).
    pub include: Vec<String>,
    /// Never these (wins over everything else; wildcards too).
    pub exclude: Vec<String>,
}

impl Selection {
    /// Whether an upgrade is selected.
    pub fn selects(&self, u: &Update) -> bool {
        let any = |pats: &[String]| pats.iter().any(|p| wildcard(p, &u.name));
        if any(&self.exclude) {
            return false;
        }
        self.classes.contains(&u.classification) || any(&self.include)
    }
}

/// Shell-style match with `*` and `?`.
fn wildcard(pat: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            (pi, ni) = (pi + 1, ni + 1);
        } else if pi < p.len() && p[pi] == '*' {
            (star, mark, pi) = (Some(pi), ni, pi + 1);
        } else if let Some(s) = star {
            (pi, mark, ni) = (s + 1, mark + 1, mark + 1);
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The upgrades of one source package, installed by one apt run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Group {
    /// The source package.
    pub source: String,
    /// Its selected upgrades.
    pub updates: Vec<Update>,
}

/// What a run will do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// The selected upgrades, grouped, groups in source-name order.
    pub groups: Vec<Group>,
    /// Include patterns that matched no pending upgrade.
    pub unmatched_includes: Vec<String>,
}

impl Plan {
    /// Every selected upgrade.
    pub fn updates(&self) -> impl Iterator<Item = &Update> {
        self.groups.iter().flat_map(|g| g.updates.iter())
    }
}

/// Choose and group the upgrades to install.
pub fn plan(assessment: &Assessment, selection: &Selection) -> Plan {
    let chosen: Vec<&Update> = assessment
        .updates
        .iter()
        .filter(|u| selection.selects(u))
        .collect();
    let sources = source_packages(chosen.iter().map(|u| u.name.as_str()));
    let mut groups: BTreeMap<String, Vec<Update>> = BTreeMap::new();
    for u in chosen {
        let bare = u.name.split(':').next().unwrap_or(&u.name);
        let src = sources
            .get(bare)
            .cloned()
            .unwrap_or_else(|| bare.to_owned());
        groups.entry(src).or_default().push(u.clone());
    }
    let unmatched_includes = selection
        .include
        .iter()
        .filter(|p| !assessment.updates.iter().any(|u| wildcard(p, &u.name)))
        .cloned()
        .collect();
    Plan {
        groups: groups
            .into_iter()
            .map(|(source, updates)| Group { source, updates })
            .collect(),
        unmatched_includes,
    }
}

/// Each installed package's source package, from `dpkg-query`.
fn source_packages<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut args = vec!["-W".to_owned(), "-f=${Package}\t${Source}\n".to_owned()];
    args.extend(names.map(|n| n.split(':').next().unwrap_or(n).to_owned()));
    let mut map = BTreeMap::new();
    if args.len() == 2 {
        return map;
    }
    // dpkg-query exits 1 when one name is unknown but still lists the rest.
    let out = Command::new("dpkg-query")
        .args(&args)
        .env("LC_ALL", "C")
        .stderr(Stdio::null())
        .output();
    let Ok(out) = out else { return map };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((pkg, src)) = line.split_once('\t') else {
            continue;
        };
        // `Source: name (version)` when the versions differ; empty when the
        // source is named like the package.
        let src = src
            .split(' ')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(pkg);
        map.insert(pkg.to_owned(), src.to_owned());
    }
    map
}

/// How an install run is bounded and what happens after it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InstallOptions {
    /// The maintenance window, counted from `started`. Default 235 minutes.
    pub window: Duration,
    /// When the run started (the window's start). Default: now.
    pub started: Instant,
    /// The reboot policy. Default [`Reboot::IfRequired`].
    pub reboot: Reboot,
    /// Only simulate. Default false.
    pub dry_run: bool,
    /// dpkg's directory (the locks). Default [`super::LOCK_DIR`].
    pub lock_dir: std::path::PathBuf,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            window: Duration::from_secs(235 * 60),
            started: Instant::now(),
            reboot: Reboot::IfRequired,
            dry_run: false,
            lock_dir: super::LOCK_DIR.into(),
        }
    }
}

/// What happened to one package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PackageOutcome {
    /// The new version is installed.
    Installed,
    /// Its apt run failed, or the version after it is not the new one.
    Failed,
    /// The window closed before its group was started.
    NotAttempted,
    /// `--dry-run`: it would be installed.
    WouldInstall,
}

/// One package of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PackageResult {
    /// The package.
    pub name: String,
    /// The version before the run.
    pub from: String,
    /// The version the run installs.
    pub to: String,
    /// Its classification; `None` for a dependency that was not selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    /// What happened.
    pub result: PackageOutcome,
    /// apt's error, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Whether the run did all it was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunStatus {
    /// Every selected package is installed.
    Succeeded,
    /// Some package failed or was not attempted.
    Failed,
    /// `--dry-run`.
    DryRun,
}

/// What became of the reboot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RebootAction {
    /// The reboot was started.
    Done,
    /// None was required (or asked for).
    NotNeeded,
    /// One is required but was not done (policy `never`, the window closed, a
    /// dry run, or the reboot command failed: see `reason`).
    Needed,
}

/// The reboot part of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RebootReport {
    /// The policy.
    pub policy: Reboot,
    /// Whether the reboot-required file existed after the run.
    pub required: bool,
    /// What was done.
    pub action: RebootAction,
    /// Why `needed` was not done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The result of [`install`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstallReport {
    /// Succeeded, failed, or a dry run.
    pub status: RunStatus,
    /// When the run started, RFC 3339 UTC.
    pub started: String,
    /// Seconds the run took.
    pub duration_s: f64,
    /// The window, seconds.
    pub window_s: u64,
    /// Why the run stopped early, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The selected packages.
    pub packages: Vec<PackageResult>,
    /// Packages the selection pulled in: new dependencies and upgrades of
    /// installed ones it needs.
    pub dependencies: Vec<PackageResult>,
    /// The reboot.
    pub reboot: RebootReport,
}

/// Where a run is; for printing as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// A group's apt run is starting (index from 1, of `total`).
    Starting {
        /// Which group.
        index: usize,
        /// Of how many.
        total: usize,
        /// The group.
        group: &'a Group,
    },
    /// A group's apt run ended.
    Finished {
        /// The group.
        group: &'a Group,
        /// Whether every package in it is installed.
        ok: bool,
        /// How long it took.
        took: Duration,
    },
    /// The window closed: no further group is started.
    WindowClosed {
        /// Groups not started.
        left: usize,
    },
    /// The reboot is about to be started with this command.
    Rebooting {
        /// The command line.
        command: String,
    },
}

fn apt_install_args(verb_opts: &[&str], pkgs: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-q",
        "-y",
        "-o",
        "Dpkg::Options::=--force-confdef",
        "-o",
        "Dpkg::Options::=--force-confold",
        "-o",
        "APT::Install-Recommends=false",
    ]
    .iter()
    .chain(verb_opts)
    .chain(&["install", "--only-upgrade", "--no-remove"])
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(pkgs.iter().cloned());
    args
}

fn pinned(updates: &[&Update]) -> Vec<String> {
    updates
        .iter()
        .map(|u| format!("{}={}", u.name, u.candidate))
        .collect()
}

/// Simulate the whole selection: the packages it pulls in besides the selected
/// ones (new, or upgrades needed as dependencies). Fails when apt would remove
/// anything or cannot resolve the selection.
fn simulate(plan: &Plan) -> Result<Vec<PackageResult>, UpdatesError> {
    let updates: Vec<&Update> = plan.updates().collect();
    let out = apt::run("apt-get", &apt_install_args(&["-s"], &pinned(&updates)))?;
    let mut deps = Vec::new();
    for a in apt::parse_simulation(&out) {
        match a {
            SimAction::Remove { name } => {
                return Err(UpdatesError::Refused(format!(
                    "the selection would remove {name}; nothing was changed"
                )));
            }
            SimAction::Install { name, old, new, .. } => {
                if !updates.iter().any(|u| u.name == name) {
                    deps.push(PackageResult {
                        name,
                        from: old.unwrap_or_default(),
                        to: new,
                        classification: None,
                        result: PackageOutcome::WouldInstall,
                        error: None,
                    });
                }
            }
        }
    }
    Ok(deps)
}

/// Install the plan. Errors (nothing changed): the dpkg lock is held, or apt
/// cannot resolve or download the selection. Otherwise a report, whose status
/// says whether everything was installed.
pub fn install(
    plan: &Plan,
    opts: &InstallOptions,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<InstallReport, UpdatesError> {
    let started_at = SystemTime::now() - opts.started.elapsed();
    let mut report = InstallReport {
        status: RunStatus::DryRun,
        started: rfc3339(started_at),
        duration_s: 0.0,
        window_s: opts.window.as_secs(),
        stopped: None,
        packages: plan.updates().map(would_install).collect(),
        dependencies: Vec::new(),
        reboot: RebootReport {
            policy: opts.reboot,
            required: false,
            action: RebootAction::NotNeeded,
            reason: None,
        },
    };
    if plan.groups.is_empty() {
        if !opts.dry_run {
            report.status = RunStatus::Succeeded;
        }
    } else if opts.dry_run {
        report.dependencies = simulate(plan)?;
    } else {
        check_dpkg_lock(&opts.lock_dir)?;
        report.dependencies = simulate(plan)?;
        if window_closed(opts, &mut report, plan, 0, Duration::ZERO, &mut progress) {
            mark_dependencies(&mut report);
        } else {
            download(plan)?;
            run_groups(plan, opts, &mut report, &mut progress)?;
        }
    }
    report.duration_s = opts.started.elapsed().as_secs_f64();
    reboot(opts, &mut report, &mut progress);
    report.duration_s = opts.started.elapsed().as_secs_f64();
    Ok(report)
}

/// Fetch every package of the plan before any is installed.
fn download(plan: &Plan) -> Result<(), UpdatesError> {
    let pkgs = pinned(&plan.updates().collect::<Vec<_>>());
    let args = apt_install_args(&["--download-only"], &pkgs);
    apt_get(&args).map_err(|message| UpdatesError::Apt {
        command: format!("apt-get {}", args.join(" ")),
        status: None,
        message,
    })
}

fn would_install(u: &Update) -> PackageResult {
    PackageResult {
        name: u.name.clone(),
        from: u.installed.clone(),
        to: u.candidate.clone(),
        classification: Some(u.classification),
        result: PackageOutcome::WouldInstall,
        error: None,
    }
}

/// One apt-get run, non-interactive; apt's error lines on failure.
fn apt_get(args: &[String]) -> Result<(), String> {
    let out = Command::new("apt-get")
        .args(args)
        .env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("UCF_FORCE_CONFFOLD", "1")
        .env("APT_LISTCHANGES_FRONTEND", "none")
        .env("NEEDRESTART_MODE", "l")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(apt::error_lines(
            &String::from_utf8_lossy(&out.stderr),
            &String::from_utf8_lossy(&out.stdout),
        ))
    }
}

/// Whether the window has closed before group `i` (no time left, or less than
/// the slowest group so far took); if so the run is failed and the groups from
/// `i` on are marked not attempted.
fn window_closed(
    opts: &InstallOptions,
    report: &mut InstallReport,
    plan: &Plan,
    i: usize,
    slowest: Duration,
    progress: &mut impl FnMut(Progress<'_>),
) -> bool {
    let total = plan.groups.len();
    let left = opts.window.saturating_sub(opts.started.elapsed());
    if !left.is_zero() && left >= slowest {
        return false;
    }
    report.stopped = Some(format!(
        "the maintenance window closed ({} s left, the slowest group took {} s); \
         {} of {total} groups not started",
        left.as_secs(),
        slowest.as_secs(),
        total - i
    ));
    report.status = RunStatus::Failed;
    progress(Progress::WindowClosed { left: total - i });
    mark(
        report,
        plan.groups[i..].iter(),
        PackageOutcome::NotAttempted,
    );
    true
}

/// Run the groups one apt invocation each, while the window allows. A run
/// that ends after the window closed is failed even when every group
/// succeeded. The dpkg lock taken by another process before the first group
/// ran is an error (nothing was changed).
fn run_groups(
    plan: &Plan,
    opts: &InstallOptions,
    report: &mut InstallReport,
    progress: &mut impl FnMut(Progress<'_>),
) -> Result<(), UpdatesError> {
    let mut slowest = Duration::ZERO;
    report.status = RunStatus::Succeeded;
    for (i, group) in plan.groups.iter().enumerate() {
        if window_closed(opts, report, plan, i, slowest, progress) {
            break;
        }
        progress(Progress::Starting {
            index: i + 1,
            total: plan.groups.len(),
            group,
        });
        let t = Instant::now();
        let pkgs = pinned(&group.updates.iter().collect::<Vec<_>>());
        let args = apt_install_args(&[], &pkgs);
        let error = apt_get(&args).err();
        let took = t.elapsed();
        slowest = slowest.max(took);
        let locked = error
            .as_deref()
            .is_some_and(|e| e.contains("Could not get lock"));
        if locked && i == 0 {
            // apt fails on the lock before it changes anything.
            return Err(UpdatesError::Locked {
                path: opts.lock_dir.join("lock-frontend"),
                holder: error.as_deref().map(lock_holder),
            });
        }
        let ok = check_installed(group, error.as_deref(), report);
        if !ok {
            report.status = RunStatus::Failed;
        }
        progress(Progress::Finished { group, ok, took });
        if locked {
            report.stopped = Some("another process took the dpkg lock".into());
            mark(
                report,
                plan.groups[i + 1..].iter(),
                PackageOutcome::NotAttempted,
            );
            break;
        }
    }
    let elapsed = opts.started.elapsed();
    if elapsed > opts.window && report.stopped.is_none() {
        report.status = RunStatus::Failed;
        report.stopped = Some(format!(
            "the run took {} s, past the maintenance window of {} s",
            elapsed.as_secs(),
            opts.window.as_secs()
        ));
    }
    mark_dependencies(report);
    Ok(())
}

/// The holder apt names in its lock error (`It is held by process 123
/// (apt-get)`), as `pid 123 (apt-get)`.
fn lock_holder(apt_error: &str) -> String {
    apt_error
        .split_once("held by process ")
        .and_then(|(_, rest)| rest.find(')').map(|end| format!("pid {}", &rest[..=end])))
        .unwrap_or_else(|| "another process".into())
}

/// Set each dependency installed, failed, or (in a failed run) not attempted,
/// by the version dpkg now has.
fn mark_dependencies(report: &mut InstallReport) {
    let versions = installed_versions(report.dependencies.iter().map(|d| d.name.as_str()));
    for d in &mut report.dependencies {
        d.result = match versions.get(&d.name) {
            Some(v) if *v == d.to => PackageOutcome::Installed,
            _ if report.status == RunStatus::Failed => PackageOutcome::NotAttempted,
            _ => PackageOutcome::Failed,
        };
    }
}

fn mark<'a>(
    report: &mut InstallReport,
    groups: impl Iterator<Item = &'a Group>,
    o: PackageOutcome,
) {
    for g in groups {
        for u in &g.updates {
            if let Some(r) = report.packages.iter_mut().find(|r| r.name == u.name) {
                r.result = o;
            }
        }
    }
}

/// Set each package of the group installed or failed by the version dpkg now
/// has; whether all are installed.
fn check_installed(group: &Group, error: Option<&str>, report: &mut InstallReport) -> bool {
    let versions = installed_versions(group.updates.iter().map(|u| u.name.as_str()));
    let mut all = true;
    for u in &group.updates {
        let ok = versions.get(&u.name) == Some(&u.candidate);
        all &= ok;
        if let Some(r) = report.packages.iter_mut().find(|r| r.name == u.name) {
            r.result = if ok {
                PackageOutcome::Installed
            } else {
                PackageOutcome::Failed
            };
            if !ok {
                r.error = Some(
                    error
                        .unwrap_or("not at the new version after apt ran")
                        .into(),
                );
            }
        }
    }
    all
}

/// Installed versions (fully installed packages only), from `dpkg-query`.
fn installed_versions<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut args = vec![
        "-W".to_owned(),
        "-f=${binary:Package}\t${Package}\t${Version}\t${db:Status-Abbrev}\n".to_owned(),
    ];
    args.extend(names.map(str::to_owned));
    let mut map = BTreeMap::new();
    if args.len() == 2 {
        return map;
    }
    let Ok(out) = Command::new("dpkg-query")
        .args(&args)
        .env("LC_ALL", "C")
        .stderr(Stdio::null())
        .output()
    else {
        return map;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [full, bare, ver, status] = f[..]
            && status.trim() == "ii"
        {
            map.insert(full.to_owned(), ver.to_owned());
            map.entry(bare.to_owned()).or_insert_with(|| ver.to_owned());
        }
    }
    map
}

/// Apply the reboot policy.
fn reboot(opts: &InstallOptions, report: &mut InstallReport, progress: &mut impl FnMut(Progress)) {
    let state = reboot_state();
    let r = &mut report.reboot;
    r.required = state.required;
    let wanted = match opts.reboot {
        Reboot::Always => true,
        Reboot::IfRequired => state.required,
        Reboot::Never => false,
    };
    let window_over = opts.started.elapsed() >= opts.window;
    let why_not = if !wanted {
        (state.required).then(|| "the policy is never".to_owned())
    } else if opts.dry_run {
        Some("dry run".into())
    } else if window_over || report.stopped.is_some() {
        Some("the maintenance window closed".into())
    } else {
        let command = reboot_command();
        progress(Progress::Rebooting {
            command: command.join(" "),
        });
        run_reboot(&command).err()
    };
    r.action = match (&why_not, wanted) {
        (None, true) => RebootAction::Done,
        (None, false) => RebootAction::NotNeeded,
        (Some(_), _) => RebootAction::Needed,
    };
    r.reason = why_not;
}

/// The reboot command: `$WARD_REBOOT_COMMAND` (through `sh -c`) when set.
fn reboot_command() -> Vec<String> {
    match std::env::var(REBOOT_COMMAND_ENV) {
        Ok(c) if !c.is_empty() => vec!["sh".into(), "-c".into(), c],
        _ => REBOOT.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn run_reboot(command: &[String]) -> Result<(), String> {
    let status = Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", command[0]))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed: {status}", command.join(" ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_holder_from_apt() {
        let e = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process \
                 24767 (python3); E: Unable to acquire the dpkg frontend lock";
        assert_eq!(lock_holder(e), "pid 24767 (python3)");
        assert_eq!(lock_holder("E: Could not get lock"), "another process");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("lib*", "libc6"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a?c", "abc"));
        assert!(wildcard("*-dev", "libssl-dev"));
        assert!(!wildcard("*-dev", "libssl-dev1"));
        assert!(!wildcard("abc", "abcd"));
        assert!(wildcard("a*b*c", "axxbyyc"));
    }

    fn update(name: &str, c: Classification) -> Update {
        Update {
            name: name.into(),
            installed: "1".into(),
            candidate: "2".into(),
            classification: c,
            origins: Vec::new(),
        }
    }

    #[test]
    fn selection() {
        let sec = update("openssl", Classification::Security);
        let other = update("vim", Classification::Other);
        let mut s = Selection {
            classes: vec![Classification::Security],
            ..Selection::default()
        };
        assert!(s.selects(&sec) && !s.selects(&other));
        s.include.push("v*".into());
        assert!(s.selects(&other));
        s.exclude.push("openssl".into());
        assert!(!s.selects(&sec));
        assert!(!Selection::default().selects(&other));
    }
}
