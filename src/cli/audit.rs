//! `ward audit`: check the machine (or a tree) against the built-in baseline
//! and policy files; `ward audit history`: the drift events `ward watch
//! --audit` recorded.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use ward::posture::{Check, Host, LastAudit, Outcome, Policy, Profile, Status, Summary};

use super::output;

pub const EXIT_CODES: &str = "Exit status:
  0  every rule is compliant (or does not apply)
  1  some rule is not compliant
  2  errors only (a rule could not be evaluated, a bad policy file, bad usage)";

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, after_help = EXIT_CODES)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    #[command(flatten)]
    rules: RuleArgs,
    /// One JSON object per rule, then a summary object, one per line.
    #[arg(long)]
    json: bool,
    /// Remediate file mode and ownership rules (only those); prints each change.
    #[arg(long)]
    fix: bool,
}

/// The rules and the tree: shared with `ward watch --audit`.
#[derive(Args, Debug, Clone)]
pub struct RuleArgs {
    /// A policy file (TOML) with more rules, or built-in rules turned off;
    /// repeatable.
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,
    /// Audit the system rooted at this directory (a mounted image, a
    /// container's filesystem) instead of /.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}

impl RuleArgs {
    /// The baseline with every policy applied; the error names file, line and column.
    pub fn profile(&self) -> Result<Profile, String> {
        let mut p = Profile::baseline();
        for f in &self.policies {
            let policy = Policy::load(f).map_err(|e| e.to_string())?;
            p.apply(policy).map_err(|e| e.to_string())?;
        }
        Ok(p)
    }

    /// The audited tree (made absolute), checked to be a directory.
    pub fn host(&self) -> Result<Host, String> {
        let shown = self.root.display();
        let root = std::fs::canonicalize(&self.root).map_err(|e| format!("{shown}: {e}"))?;
        match std::fs::metadata(&root) {
            Ok(m) if m.is_dir() => Ok(Host::new(root)),
            Ok(_) => Err(format!("{shown}: not a directory")),
            Err(e) => Err(format!("{shown}: {e}")),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// The changes of state `ward watch --audit` recorded, oldest first.
    History {
        /// A JSON array of events (time, host, kind, rule, previous, status, reason, …).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &AuditArgs, home_arg: Option<&Path>) -> ExitCode {
    if let Some(AuditCommand::History { json }) = &args.command {
        return history(*json, home_arg);
    }
    let (profile, host) = match args
        .rules
        .profile()
        .and_then(|p| Ok((p, args.rules.host()?)))
    {
        Ok(x) => x,
        Err(e) => {
            eprintln!("ward: {e}");
            return ExitCode::from(2);
        }
    };
    let mut outcomes = profile.evaluate(&host);
    let fixes = if args.fix {
        fix(&host, &mut outcomes)
    } else {
        Vec::new()
    };
    let summary = Summary::of(outcomes.iter().map(|o| &o.finding));
    let text = match args.json {
        true => json_lines(&outcomes, &fixes, &summary, &profile, &host),
        false => table(&outcomes, &fixes, &summary, &host),
    };
    record(home_arg, &profile, &summary, &host);
    if let Err(e) = io::stdout().lock().write_all(text.as_bytes())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("ward: writing output: {e}");
        return ExitCode::from(2);
    }
    ExitCode::from(match (summary.non_compliant, summary.errors) {
        (0, 0) => 0,
        (0, _) => 2,
        _ => 1,
    })
}

/// Fix every non-compliant file rule and evaluate it again; the changes made,
/// by rule index. A failed fix is reported on stderr.
fn fix(host: &Host, outcomes: &mut [Outcome<'_>]) -> Vec<(usize, Vec<String>)> {
    let mut all = Vec::new();
    for (i, o) in outcomes.iter_mut().enumerate() {
        let Check::File(c) = &o.rule.check else {
            continue;
        };
        if o.finding.status != Status::NonCompliant {
            continue;
        }
        match c.fix(host) {
            Ok(done) if done.is_empty() => {}
            Ok(done) => all.push((i, done)),
            Err(e) => eprintln!("ward: {}: not fixed: {e}", o.rule.id),
        }
        o.finding = o.rule.check.run(host);
    }
    all
}

/// Write `<home>/audit-last.json`; a failure is a warning, not an error of
/// the audit.
fn record(home_arg: Option<&Path>, profile: &Profile, summary: &Summary, host: &Host) {
    let last = LastAudit::new(profile.names(), summary, host.root());
    match super::home(home_arg).map(|h| last.write(&h)) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => eprintln!("ward: warning: cannot record the audit result: {e}"),
        Err(e) => eprintln!("ward: warning: cannot record the audit result: {e}"),
    }
}

fn clean(s: &str) -> String {
    output::escape(OsStr::new(s))
}

fn table(
    outcomes: &[Outcome<'_>],
    fixes: &[(usize, Vec<String>)],
    s: &Summary,
    host: &Host,
) -> String {
    let mut out = String::new();
    for (_, done) in fixes {
        for line in done {
            out.push_str(&format!("fixed: {}\n", clean(line)));
        }
    }
    let w = outcomes
        .iter()
        .map(|o| o.rule.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out.push_str(&format!("{:<w$}  {:<13}  REASON\n", "RULE", "RESULT"));
    for o in outcomes {
        out.push_str(&format!(
            "{:<w$}  {:<13}  {}\n",
            o.rule.id,
            o.finding.status.word(),
            clean(&o.finding.reason())
        ));
    }
    out.push_str(&format!(
        "{} rules on {}: {} compliant, {} non-compliant, {} not applicable, {} errors\n",
        outcomes.len(),
        clean(&host.root().to_string_lossy()),
        s.compliant,
        s.non_compliant,
        s.not_applicable,
        s.errors
    ));
    out
}

fn json_lines(
    outcomes: &[Outcome<'_>],
    fixes: &[(usize, Vec<String>)],
    s: &Summary,
    profile: &Profile,
    host: &Host,
) -> String {
    let mut out = String::new();
    for (i, o) in outcomes.iter().enumerate() {
        let (r, f) = (o.rule, &o.finding);
        let mut v = json!({
            "type": "rule",
            "id": r.id,
            "title": r.title,
            "severity": r.severity.as_str(),
            "source": r.source,
            "status": f.status.as_str(),
            "checked": r.check.target(),
            "expected": f.expected,
            "found": f.found,
            "reason": f.reason(),
            "rationale": r.rationale,
            "remediation": r.remediation,
        });
        if let Some(a) = &r.azure {
            v["azure"] = json!(a);
        }
        if let Some((_, done)) = fixes.iter().find(|(j, _)| *j == i) {
            v["fixed"] = json!(done);
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    let summary: Value = json!({
        "type": "summary",
        "root": host.root().to_string_lossy(),
        "baseline": profile.names(),
        "rules": outcomes.len(),
        "compliant": s.compliant,
        "non_compliant": s.non_compliant,
        "not_applicable": s.not_applicable,
        "errors": s.errors,
    });
    out.push_str(&summary.to_string());
    out.push('\n');
    out
}

fn history(json: bool, home_arg: Option<&Path>) -> ExitCode {
    let read = super::home(home_arg)
        .and_then(|h| ward::posture::record::history(&h).map_err(|e| output::reason(&e)));
    let (list, bad) = match read {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ward: cannot read the audit history: {e}");
            return ExitCode::from(2);
        }
    };
    if bad > 0 {
        eprintln!("ward: warning: {bad} unreadable line(s) in the event log skipped");
    }
    let text = if json {
        match serde_json::to_string(&list) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("ward: {e}");
                return ExitCode::from(2);
            }
        }
    } else if list.is_empty() {
        "no audit events recorded\n".into()
    } else {
        let w = list.iter().map(|e| e.rule.len()).max().unwrap_or(4).max(4);
        let mut out = format!(
            "TIME                  {:<w$}  {:<30}  REASON\n",
            "RULE", "CHANGE"
        );
        for e in &list {
            let change = format!("{} -> {}", e.previous.word(), e.status.word());
            out.push_str(&format!(
                "{}  {:<w$}  {:<30}  {}\n",
                e.time,
                clean(&e.rule),
                change,
                clean(&e.reason)
            ));
        }
        out
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("ward: writing output: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}
