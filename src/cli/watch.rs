//! `ward watch`: real-time protection until stopped, with one log line per
//! event on stderr; `ward threats list`: the detections it recorded.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use ward::watch::{Action, BlockOptions, Notice, Signatures, Threat, ThreatResult, WatchOptions};
use ward::{Format, SignatureSet};

use super::{DbArgs, output};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ActionArg {
    /// Move infected files into the vault.
    Quarantine,
    /// Only log them (and record them in the threat list).
    Report,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OnError {
    /// Let the open through.
    Allow,
    /// Refuse the open.
    Deny,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Directories to watch, recursively (none needed with --audit).
    #[arg(value_name = "PATH", required_unless_present = "audit")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
    /// What to do with an infected file.
    #[arg(long, value_enum, default_value = "quarantine")]
    action: ActionArg,
    /// Also refuse opens of infected files before they happen (fanotify
    /// permission events; needs CAP_SYS_ADMIN). The opener gets EPERM.
    #[arg(long)]
    block: bool,
    /// With --block: answer every open within this time (e.g. 5s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_deadline)]
    deadline: Duration,
    /// With --block: what to answer when a scan fails, misses the deadline,
    /// or is skipped (a file over --max-filesize, say).
    #[arg(long, value_enum, default_value = "allow")]
    on_error: OnError,
    /// With --block: allow blocking on / (every open on the machine would wait on ward).
    #[arg(long)]
    force_root: bool,
    /// With --block: let the kernel remember clean files until they are
    /// modified (no round trip to ward on reopen; writes through shared
    /// memory maps are not seen as modifications).
    #[arg(long)]
    kernel_cache: bool,
    /// Scanning threads (default: one per core, at most 4).
    #[arg(short = 'j', long = "threads", value_name = "N", default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    limits: super::limits::LimitArgs,
    /// Also watch for configuration drift: evaluate the audit rules (the
    /// built-in linux-baseline and any --policy files), watch the files they
    /// read, and log each change of a rule's state (also recorded in
    /// <home>/events.jsonl; see `ward audit history`).
    #[arg(long)]
    audit: bool,
    #[command(flatten)]
    rules: super::audit::RuleArgs,
    /// With --audit: how often kernel settings and accounts are checked
    /// again (they change without file events).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_deadline)]
    audit_interval: Duration,
}

#[derive(Subcommand, Debug)]
pub enum ThreatsCommand {
    /// Every detection recorded by `ward watch`, oldest first.
    List {
        /// A JSON array of objects (time, path, signatures, action, result, quarantine_id, …).
        #[arg(long)]
        json: bool,
    },
}

/// Parse `5s`, `500ms`, `2m` or a number of seconds.
pub(super) fn parse_deadline(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || format!("'{s}' is not a duration (e.g. 5s or 500ms)");
    let (num, mult_ms) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000)
    } else {
        (t, 1000)
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let ms = n.checked_mul(mult_ms).ok_or_else(bad)?;
    if ms == 0 {
        return Err("the duration must be longer than 0".into());
    }
    Ok(Duration::from_millis(ms))
}

/// Severity, for journald (`<N>` prefixes when stderr goes to the journal).
#[derive(Clone, Copy)]
enum Level {
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
}

/// Write one event as one line on stderr.
fn log(level: Level, msg: &str) {
    let one_line = msg.replace('\n', "; ");
    let prefix = match std::env::var_os("JOURNAL_STREAM") {
        Some(_) => format!("<{}>", level as u8),
        None => String::new(),
    };
    let word = match level {
        Level::Error => "error: ",
        Level::Warning => "warning: ",
        _ => "",
    };
    let _ = writeln!(io::stderr().lock(), "{prefix}ward: {word}{one_line}");
}

fn shown(path: &Path) -> String {
    output::escape(path.as_os_str())
}

fn threat_line(t: &Threat) -> String {
    let what = match (t.result, &t.quarantine_id, &t.error) {
        (ThreatResult::Quarantined, Some(id), _) => format!("quarantined as {id}"),
        (ThreatResult::Denied, _, _) => match t.pid {
            Some(pid) => format!("open denied (pid {pid})"),
            None => "open denied".into(),
        },
        (ThreatResult::Allowed, _, _) => match t.pid {
            Some(pid) => format!("open already allowed by the deadline (pid {pid})"),
            None => "open already allowed by the deadline".into(),
        },
        (ThreatResult::Failed, _, Some(e)) => format!("{:?} failed: {e}", t.action).to_lowercase(),
        _ => "reported".into(),
    };
    format!(
        "{}: {} FOUND; {what}",
        shown(&t.path_buf()),
        t.signatures.join(", ")
    )
}

fn print_notice(n: &Notice) {
    match n {
        Notice::Watching {
            roots,
            blocking,
            signatures,
        } => log(
            Level::Info,
            &format!(
                "watching {roots} {} ({}), {signatures} signatures, pid {}",
                if *roots == 1 { "tree" } else { "trees" },
                if *blocking {
                    "inotify + fanotify blocking"
                } else {
                    "inotify"
                },
                std::process::id()
            ),
        ),
        Notice::Threat(t) => {
            let level = match t.result {
                ThreatResult::Failed => Level::Error,
                _ => Level::Warning,
            };
            log(level, &threat_line(t));
        }
        Notice::ScanError { path, error } => log(
            Level::Error,
            &format!("{}: {} ERROR", shown(path), output::reason(error)),
        ),
        Notice::Overflow { what } => log(
            Level::Warning,
            &format!("events lost ({what} overflowed); rescanning every watched tree"),
        ),
        Notice::WatchLimit { error } => log(Level::Warning, error),
        Notice::Rescanned { files, took } => log(
            Level::Notice,
            &format!(
                "rescan done: {files} files checked in {:.3} s",
                took.as_secs_f64()
            ),
        ),
        Notice::Reloaded { signatures } => log(
            Level::Notice,
            &format!("signatures reloaded: {signatures} signatures"),
        ),
        Notice::ReloadFailed { error } => log(
            Level::Error,
            &format!("signature reload failed; still using the previous set: {error}"),
        ),
        Notice::Unverified {
            path,
            allowed,
            reason,
        } => log(
            Level::Warning,
            &format!(
                "{}: open {} without a verdict: {reason}",
                shown(path),
                if *allowed { "allowed" } else { "denied" }
            ),
        ),
        Notice::Error(e) => log(Level::Error, e),
        other => log(Level::Notice, &format!("{other:?}")),
    }
}

/// Build a set without printing: for reloads, whose errors become one log line.
fn build_set(db: &DbArgs, home: Option<&Path>) -> Result<SignatureSet, String> {
    let mut b = SignatureSet::builder();
    b.builtin(!db.no_builtin).detect_pua(db.detect_pua);
    for p in db.paths() {
        b.path(p);
    }
    if let Some(h) = home
        && let Ok(Some(data)) = ward::quarantine::read_allow_list(h)
    {
        let path = h.join(ward::quarantine::ALLOW_LIST);
        b.text(Format::Allow, &path.to_string_lossy(), data);
    }
    b.build().map_err(|e| e.to_string())
}

fn options(args: &WatchArgs) -> WatchOptions {
    let mut opts = WatchOptions::new();
    for p in &args.paths {
        opts.root(p);
    }
    opts.action(match args.action {
        ActionArg::Quarantine => Action::Quarantine,
        ActionArg::Report => Action::Report,
    })
    .threads(args.threads)
    .limits(args.limits.limits())
    .reload_on_change(args.db.paths());
    if args.block {
        let mut b = BlockOptions::new();
        b.deadline(args.deadline)
            .deny_on_error(matches!(args.on_error, OnError::Deny))
            .force_root(args.force_root)
            .kernel_cache(args.kernel_cache);
        opts.block(Some(b));
    }
    opts
}

pub fn run(args: &WatchArgs, home_arg: Option<&Path>) -> ExitCode {
    let home = match super::home(home_arg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("ward: {e}");
            return ExitCode::from(2);
        }
    };
    if !args.audit && (!args.rules.policies.is_empty() || args.rules.root != Path::new("/")) {
        eprintln!("ward: --policy and --root need --audit");
        return ExitCode::from(2);
    }
    let Some((stop, hup)) = super::signal_flags() else {
        return ExitCode::from(2);
    };
    let drift = match args.audit.then(|| start_drift(args, &home)).transpose() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("ward: {e}");
            return ExitCode::from(2);
        }
    };
    let watcher = match args.paths.is_empty() {
        true => None,
        false => match start_watch(args, &home) {
            Some(w) => Some(w),
            None => return ExitCode::from(2),
        },
    };
    let root = std::fs::canonicalize(&args.rules.root).unwrap_or_else(|_| args.rules.root.clone());
    let never = crossbeam_channel::never();
    let threats = watcher.as_ref().map_or(&never, |w| w.notices());
    let never_drift = crossbeam_channel::never();
    let drifts = drift.as_ref().map_or(&never_drift, |d| d.notices());
    // Held (with its lock) until ward exits, for `ward health`: only by a
    // malware watch (`--audit` alone is not real-time malware protection).
    let status = ward::watch::status::WatchStatus::new(&args.paths, args.block);
    let claimed = match watcher.is_some() {
        true => Some(ward::watch::status::claim(&home, &status)),
        false => None,
    };
    let _status = match claimed {
        None => None,
        Some(Ok(Some(held))) => Some(held),
        Some(Ok(None)) => {
            log(
                Level::Warning,
                "no status for ward health: another ward watch holds it in this home",
            );
            None
        }
        Some(Err(e)) => {
            log(Level::Warning, &format!("no status for ward health: {e}"));
            None
        }
    };
    while !stop.load(Ordering::Relaxed) {
        if hup.swap(false, Ordering::Relaxed)
            && let Some(w) = &watcher
        {
            log(Level::Notice, "SIGHUP: reloading signatures");
            w.reload();
        }
        crossbeam_channel::select! {
            recv(threats) -> n => if let Ok(n) = n { print_notice(&n) },
            recv(drifts) -> n => if let Ok(n) = n { print_drift(&n, &root) },
            default(Duration::from_millis(100)) => {}
        }
    }
    log(Level::Notice, "stopping");
    if let Some(d) = drift {
        let notices = d.notices().clone();
        d.stop();
        for n in notices.try_iter() {
            print_drift(&n, &root);
        }
    }
    if let Some(w) = watcher {
        let notices = w.notices().clone();
        w.stop();
        for n in notices.try_iter() {
            print_notice(&n);
        }
    }
    log(Level::Notice, "stopped");
    ExitCode::SUCCESS
}

/// Load the signatures and start the malware watch; `None` after printing why not.
fn start_watch(args: &WatchArgs, home: &Path) -> Option<ward::watch::Watcher> {
    let allow = ward::quarantine::read_allow_list(home).ok().flatten();
    let allow_path = home.join(ward::quarantine::ALLOW_LIST);
    let set = args.db.load_with(|b| {
        if let Some(data) = allow {
            b.text(Format::Allow, &allow_path.to_string_lossy(), data);
        }
    })?;
    let (db, loader_home) = (args.db.clone(), home.to_owned());
    let sigs = Arc::new(Signatures::with_loader(
        set,
        Box::new(move || build_set(&db, Some(&loader_home))),
    ));
    match options(args).start(sigs, home) {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!("ward: {e}");
            None
        }
    }
}

/// Evaluate the audit rules and start watching for drift.
fn start_drift(args: &WatchArgs, home: &Path) -> Result<ward::posture::DriftWatch, String> {
    let profile = args.rules.profile()?;
    let host = args.rules.host()?;
    let mut opts = ward::posture::DriftOptions::new();
    opts.interval(args.audit_interval);
    opts.start(profile, host, home).map_err(|e| e.to_string())
}

fn print_drift(n: &ward::posture::DriftNotice, root: &Path) {
    use ward::posture::{DriftNotice, Status};
    match n {
        DriftNotice::Started {
            rules,
            summary: s,
            dirs,
        } => log(
            Level::Info,
            &format!(
                "auditing {rules} rules on {} ({} compliant, {} non-compliant, {} not applicable, \
                 {} errors), watching {dirs} directories, pid {}",
                shown(root),
                s.compliant,
                s.non_compliant,
                s.not_applicable,
                s.errors,
                std::process::id()
            ),
        ),
        DriftNotice::Initial {
            rule,
            status,
            reason,
        } => log(
            Level::Warning,
            &format!("audit: {rule} {} at start; {reason}", status.word()),
        ),
        DriftNotice::Changed(e) => {
            let level = match e.status {
                Status::NonCompliant => Level::Warning,
                Status::Error => Level::Error,
                _ => Level::Notice,
            };
            log(
                level,
                &format!(
                    "{}: {} {} (was {}); {}",
                    output::escape(std::ffi::OsStr::new(&e.checked)),
                    e.rule,
                    e.status.word(),
                    e.previous.word(),
                    output::escape(std::ffi::OsStr::new(&e.reason))
                ),
            );
        }
        DriftNotice::Error(e) => log(Level::Error, &output::escape(std::ffi::OsStr::new(e))),
        other => log(Level::Notice, &format!("{other:?}")),
    }
}

pub fn run_threats(cmd: &ThreatsCommand, home_arg: Option<&Path>) -> ExitCode {
    let ThreatsCommand::List { json } = cmd;
    let read =
        super::home(home_arg).and_then(|h| ward::journal::read(&h).map_err(|e| output::reason(&e)));
    let (list, bad) = match read {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ward: cannot read the threat list: {e}");
            return ExitCode::from(2);
        }
    };
    if bad > 0 {
        eprintln!("ward: warning: {bad} unreadable line(s) in the threat list skipped");
    }
    let text = if *json {
        match serde_json::to_string(&list) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("ward: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        table(&list)
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("ward: writing output: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}

fn table(list: &[Threat]) -> String {
    if list.is_empty() {
        return "no threats recorded\n".into();
    }
    let lower = |v: &dyn std::fmt::Debug| format!("{v:?}").to_lowercase();
    let mut out = String::from(
        "TIME                  ACTION      RESULT       QUARANTINE ID     SIGNATURES  PATH\n",
    );
    for t in list {
        out.push_str(&format!(
            "{}  {:<10}  {:<11}  {:<16}  {}  {}\n",
            t.time,
            lower(&t.action),
            lower(&t.result),
            t.quarantine_id.as_deref().unwrap_or("-"),
            t.signatures.join(","),
            shown(&t.path_buf()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        assert_eq!(parse_deadline("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_deadline("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_deadline("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_deadline("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_deadline("0s").is_err());
        assert!(parse_deadline("fast").is_err());
    }
}
