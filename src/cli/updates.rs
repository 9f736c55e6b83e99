//! `ward updates assess` and `ward updates install`.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use ward::posture::record::{EVENT_LOG, EventLog, KIND_UPDATE};
use ward::posture::updates::{
    self, Assessment, Classification, InstallOptions, InstallReport, PackageOutcome, Plan,
    Progress, Reboot, RebootAction, RunStatus, Selection,
};

const EXIT_CODES: &str = "Exit status:
  0  assessed; or every selected package installed (or --dry-run)
  1  install: the run failed (a package failed, or the window closed first)
  2  error, nothing changed: dpkg locked by another process, a broken
     repository or package state, apt missing, not root, bad usage";

#[derive(Subcommand, Debug)]
pub enum UpdatesCommand {
    /// List the pending package upgrades with their classification (security
    /// or other), from what the last `apt-get update` fetched; and whether a
    /// reboot is required.
    #[command(after_help = EXIT_CODES)]
    Assess {
        /// One JSON document (time, host, updates, counts, reboot).
        #[arg(long)]
        json: bool,
        /// Run `apt-get update` first (network; root).
        #[arg(long)]
        refresh: bool,
    },
    /// Install pending upgrades: non-interactive, keeping changed
    /// configuration files, never removing a package, one apt run per source
    /// package, inside a maintenance window; then reboot as asked.
    #[command(after_help = EXIT_CODES)]
    Install(InstallArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ClassArg {
    Security,
    Other,
    All,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RebootArg {
    /// When /var/run/reboot-required exists after the run.
    IfRequired,
    Never,
    Always,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Which class of pending upgrades to install. Default: all, or with
    /// --include and no --classification, only the included packages.
    #[arg(long, value_enum)]
    classification: Option<ClassArg>,
    /// Also install this pending upgrade, whatever its class (wildcards `*`
    /// and `?`); repeatable.
    #[arg(long, value_name = "PKG")]
    include: Vec<String>,
    /// Never install this one (wins over everything; wildcards); repeatable.
    #[arg(long, value_name = "PKG")]
    exclude: Vec<String>,
    /// When to reboot after the run.
    #[arg(long, value_enum, default_value = "if-required")]
    reboot: RebootArg,
    /// The maintenance window (e.g. 235m, 2h, 1h30m, 90s; a bare number is
    /// minutes). No apt run starts once it has closed, and none is cut short.
    #[arg(long, value_name = "DURATION", default_value = "235m", value_parser = parse_window)]
    window: Duration,
    /// Print what would be done (apt's simulation); change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the result as one JSON document.
    #[arg(long)]
    json: bool,
}

/// Parse `235m`, `2h`, `1h30m`, `90s`; a bare number is minutes.
fn parse_window(s: &str) -> Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration (e.g. 235m, 2h, 1h30m or 90s)");
    let t = s.trim();
    if let Ok(m) = t.parse::<u64>() {
        return nonzero(m.checked_mul(60).ok_or_else(bad)?);
    }
    let (mut secs, mut num) = (0u64, String::new());
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let mult = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        secs = n
            .checked_mul(mult)
            .and_then(|v| secs.checked_add(v))
            .ok_or_else(bad)?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(bad());
    }
    nonzero(secs)
}

fn nonzero(secs: u64) -> Result<Duration, String> {
    if secs == 0 {
        return Err("the window must be longer than 0".into());
    }
    Ok(Duration::from_secs(secs))
}

pub fn run(cmd: &UpdatesCommand, home: Option<&Path>) -> ExitCode {
    warn_test_hooks();
    match cmd {
        UpdatesCommand::Assess { json, refresh } => assess(*json, *refresh),
        UpdatesCommand::Install(args) => install(args, home),
    }
}

/// The test hooks change what ward does to the machine: say so when set.
fn warn_test_hooks() {
    for var in [updates::REBOOT_REQUIRED_ENV, updates::REBOOT_COMMAND_ENV] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            eprintln!(
                "ward: warning: {var} is set ({}): a test setting, not for real use",
                v.to_string_lossy()
            );
        }
    }
}

/// Append an install run (not a dry run) to `<home>/events.jsonl` as an
/// `update` event; a failure is told on stderr and does not change the exit
/// status.
fn record_event(home: Option<&Path>, event: &serde_json::Value) {
    let result = super::home(home).and_then(|h| {
        EventLog::open(&h)
            .map_err(|e| e.to_string())
            .and_then(|log| {
                log.record(KIND_UPDATE, event)
                    .map_err(|e| format!("{}: {e}", h.join(EVENT_LOG).display()))
            })
    });
    if let Err(e) = result {
        eprintln!("ward: warning: the run is not in the event log: {e}");
    }
}

/// An install that ended in an error (exit 2): said on stderr, as JSON on
/// stdout with `--json`, and recorded as an `update` event.
fn install_error(args: &InstallArgs, home: Option<&Path>, reason: String) -> ExitCode {
    eprintln!("ward: {reason}");
    let doc = serde_json::json!({ "status": "error", "reason": reason });
    if !args.dry_run {
        record_event(home, &doc);
    }
    if args.json {
        print(&json_doc(doc));
    }
    ExitCode::from(2)
}

fn print(text: &str) -> ExitCode {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("ward: writing output: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}

fn json_doc(mut value: serde_json::Value) -> String {
    if let Some(obj) = value.as_object_mut() {
        obj.insert("host".into(), ward::health::host_name().into());
    }
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

fn assess(json: bool, refresh: bool) -> ExitCode {
    let a = match updates::assess(refresh) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ward: cannot assess updates: {e}");
            return ExitCode::from(2);
        }
    };
    if json {
        return print(&json_doc(serde_json::to_value(&a).unwrap_or_default()));
    }
    print(&assessment_text(&a))
}

fn assessment_text(a: &Assessment) -> String {
    let mut out = String::new();
    if !a.updates.is_empty() {
        let w = a
            .updates
            .iter()
            .map(|u| u.name.len())
            .max()
            .unwrap_or(7)
            .max(7);
        let v = a
            .updates
            .iter()
            .map(|u| u.installed.len().max(u.candidate.len()))
            .max()
            .unwrap_or(9)
            .max(9);
        out.push_str(&format!(
            "{:<w$}  {:<v$}  {:<v$}  {:<14}  ARCHIVE\n",
            "PACKAGE", "INSTALLED", "CANDIDATE", "CLASSIFICATION"
        ));
        for u in &a.updates {
            let archives: Vec<String> = u.origins.iter().map(|o| o.short()).collect();
            out.push_str(&format!(
                "{:<w$}  {:<v$}  {:<v$}  {:<14}  {}\n",
                u.name,
                u.installed,
                u.candidate,
                u.classification.as_str(),
                archives.join(", ")
            ));
        }
    }
    out.push_str(&format!(
        "{} pending: {} security, {} other\n",
        a.counts.total, a.counts.security, a.counts.other
    ));
    out.push_str(&reboot_line(&a.reboot));
    out
}

fn reboot_line(r: &updates::RebootState) -> String {
    match (r.required, r.packages.is_empty()) {
        (false, _) => "reboot required: no\n".into(),
        (true, true) => "reboot required: yes\n".into(),
        (true, false) => format!("reboot required: yes ({})\n", r.packages.join(", ")),
    }
}

fn install(args: &InstallArgs, home: Option<&Path>) -> ExitCode {
    let started = Instant::now();
    let a = match updates::assess(false) {
        Ok(a) => a,
        Err(e) => return install_error(args, home, format!("cannot assess updates: {e}")),
    };
    let mut selection = Selection::default();
    selection.classes = match args.classification {
        Some(ClassArg::Security) => vec![Classification::Security],
        Some(ClassArg::Other) => vec![Classification::Other],
        None if !args.include.is_empty() => Vec::new(),
        _ => vec![Classification::Security, Classification::Other],
    };
    selection.include = args.include.clone();
    selection.exclude = args.exclude.clone();
    let plan = updates::plan(&a, &selection);
    let mut opts = InstallOptions::default();
    opts.window = args.window;
    opts.started = started;
    opts.dry_run = args.dry_run;
    opts.reboot = match args.reboot {
        RebootArg::IfRequired => Reboot::IfRequired,
        RebootArg::Never => Reboot::Never,
        RebootArg::Always => Reboot::Always,
    };
    print_plan(&plan, args, &a);
    let report = match updates::install(&plan, &opts, print_progress) {
        Ok(r) => r,
        Err(e) => return install_error(args, home, e.to_string()),
    };
    let doc = serde_json::to_value(&report).unwrap_or_default();
    if !args.dry_run {
        record_event(home, &doc);
    }
    let code = print(&if args.json {
        json_doc(doc)
    } else {
        report_text(&report)
    });
    match report.status {
        _ if code != ExitCode::SUCCESS => code,
        RunStatus::Failed => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// What the run will do, on stderr, before it does anything.
fn print_plan(plan: &Plan, args: &InstallArgs, a: &Assessment) {
    let n = plan.updates().count();
    let class = match (args.classification, args.include.is_empty()) {
        (Some(c), _) => format!("{c:?}").to_lowercase(),
        (None, true) => "all".into(),
        (None, false) => "none, only --include".into(),
    };
    let mut s = format!(
        "ward: {}upgrading {n} of {} pending package(s) (classification {class}) in {} apt run(s), \
         window {} s\n",
        if args.dry_run { "dry run: " } else { "" },
        a.counts.total,
        plan.groups.len(),
        args.window.as_secs()
    );
    for u in plan.updates() {
        s.push_str(&format!(
            "ward:   {} {} -> {} ({})\n",
            u.name,
            u.installed,
            u.candidate,
            u.classification.as_str()
        ));
    }
    for p in &plan.unmatched_includes {
        s.push_str(&format!(
            "ward: warning: --include {p}: no pending upgrade matches\n"
        ));
    }
    let file = updates::reboot_required_file();
    s.push_str(&match args.reboot {
        RebootArg::Never => "ward: then: no reboot (--reboot never)\n".to_owned(),
        RebootArg::Always => "ward: then: reboot\n".to_owned(),
        RebootArg::IfRequired => format!(
            "ward: then: reboot if {} exists (now: {})\n",
            file.display(),
            if file.exists() { "yes" } else { "no" }
        ),
    });
    if args.dry_run {
        s.push_str("ward: dry run: nothing will be changed\n");
    }
    let _ = io::stderr().lock().write_all(s.as_bytes());
}

fn print_progress(p: Progress<'_>) {
    let line = match p {
        Progress::Starting {
            index,
            total,
            group,
        } => {
            let names: Vec<&str> = group.updates.iter().map(|u| u.name.as_str()).collect();
            format!(
                "[{index}/{total}] {}: installing {}",
                group.source,
                names.join(" ")
            )
        }
        Progress::Finished { group, ok, took } => format!(
            "{}: {} ({:.1} s)",
            group.source,
            if ok { "done" } else { "FAILED" },
            took.as_secs_f64()
        ),
        Progress::WindowClosed { left } => {
            format!("the maintenance window closed; {left} apt run(s) not started")
        }
        Progress::Rebooting { command } => format!("rebooting: {command}"),
        _ => return,
    };
    eprintln!("ward: {line}");
}

fn outcome(o: PackageOutcome) -> &'static str {
    match o {
        PackageOutcome::Installed => "installed",
        PackageOutcome::Failed => "failed",
        PackageOutcome::NotAttempted => "not attempted",
        _ => "would install",
    }
}

fn report_text(r: &InstallReport) -> String {
    let mut out = String::new();
    let all: Vec<_> = r.packages.iter().chain(&r.dependencies).collect();
    if !all.is_empty() {
        let w = all.iter().map(|p| p.name.len()).max().unwrap_or(7).max(7);
        let v = all
            .iter()
            .map(|p| p.from.len().max(p.to.len()))
            .max()
            .unwrap_or(5)
            .max(5);
        out.push_str(&format!(
            "{:<w$}  {:<v$}  {:<v$}  {:<10}  RESULT\n",
            "PACKAGE", "FROM", "TO", "CLASS"
        ));
        for p in all {
            let class = p.classification.map_or("dependency", |c| c.as_str());
            let from = if p.from.is_empty() { "(new)" } else { &p.from };
            out.push_str(&format!(
                "{:<w$}  {:<v$}  {:<v$}  {:<10}  {}{}\n",
                p.name,
                from,
                p.to,
                class,
                outcome(p.result),
                p.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ));
        }
    }
    let status = match r.status {
        RunStatus::Succeeded => "succeeded".to_owned(),
        RunStatus::DryRun => "dry run (nothing changed)".to_owned(),
        _ => format!(
            "failed{}",
            r.stopped
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        ),
    };
    out.push_str(&format!("status: {status}\n"));
    let reboot = match r.reboot.action {
        RebootAction::Done => "done",
        RebootAction::Needed => "needed",
        _ => "not needed",
    };
    out.push_str(&format!(
        "reboot: {reboot}{}\n",
        r.reboot
            .reason
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default()
    ));
    out.push_str(&format!("total time: {:.1} s\n", r.duration_s));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_window("235m"), Ok(Duration::from_secs(235 * 60)));
        assert_eq!(parse_window("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_window("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_window("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_window("60"), Ok(Duration::from_secs(3600)));
        assert!(parse_window("0m").is_err());
        assert!(parse_window("1d").is_err());
        assert!(parse_window("m").is_err());
        assert!(parse_window("5m3").is_err());
    }
}
