//! `ward health`: one look at the machine's protection.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use ward::health::{Health, HealthOptions};

#[derive(Args, Debug)]
pub struct HealthArgs {
    /// One JSON document (the schema is in the README).
    #[arg(long)]
    json: bool,
    /// Signature files or directories in use, to describe; repeatable.
    #[arg(short = 'd', long = "database", value_name = "PATH")]
    databases: Vec<PathBuf>,
    /// Where to look for ClamAV databases (.cvd, .cld, .cud).
    #[arg(long, value_name = "DIR", default_value = ward::health::CLAMAV_DIR)]
    clamav_dir: Vec<PathBuf>,
    /// Leave out pending updates (no apt run).
    #[arg(long)]
    no_updates: bool,
}

pub fn run(args: &HealthArgs, home_arg: Option<&Path>) -> ExitCode {
    let home = match super::home(home_arg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("ward: {e}");
            return ExitCode::from(2);
        }
    };
    let mut opts = HealthOptions::new(home);
    opts.databases = args.databases.clone();
    opts.clamav_dirs = args.clamav_dir.clone();
    opts.updates = !args.no_updates;
    let h = ward::health::check(&opts);
    let text = if args.json {
        serde_json::to_string_pretty(&h).unwrap_or_default() + "\n"
    } else {
        text(&h)
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("ward: writing output: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}

fn text(h: &Health) -> String {
    let mut out = format!(
        "host                  {}\nversion               {}\nhome                  {}\n",
        h.host, h.version, h.home
    );
    out.push_str(&format!(
        "signatures            {} built-in\n",
        h.signatures.builtin
    ));
    for s in &h.signatures.sets {
        let mut line = format!(
            "                      {}: {} signatures",
            s.path, s.signatures
        );
        if let Some(v) = s.version {
            line.push_str(&format!(", version {v}"));
        }
        if let (Some(b), Some(age)) = (&s.built, s.age_days) {
            line.push_str(&format!(", built {b} ({age:.1} days ago)"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    let rt = &h.realtime;
    out.push_str(&match (rt.running, rt.pid) {
        (true, Some(pid)) => format!(
            "real-time protection  on: pid {pid}, {} ({}), since {}\n",
            rt.trees.join(", "),
            if rt.blocking == Some(true) {
                "blocking"
            } else {
                "not blocking"
            },
            rt.started.as_deref().unwrap_or("?")
        ),
        (false, Some(pid)) => format!("real-time protection  off (last: pid {pid})\n"),
        _ => "real-time protection  off\n".to_owned(),
    });
    out.push_str(&format!(
        "quarantine            {} file(s)\nthreats               {} in the last 24 hours ({} recorded)\n",
        h.quarantine.count, h.threats.last_24h, h.threats.total
    ));
    out.push_str(&match &h.audit {
        Some(a) => format!(
            "last audit            {}: {} compliant, {} non-compliant, {} errors\n",
            a.time, a.compliant, a.non_compliant, a.errors
        ),
        None => "last audit            never run\n".to_owned(),
    });
    out.push_str(&match &h.updates {
        Some(u) => format!(
            "pending updates       {} security, {} other\nreboot required       {}\n",
            u.security,
            u.other,
            match (u.reboot_required, u.reboot_packages.is_empty()) {
                (false, _) => "no".to_owned(),
                (true, true) => "yes".to_owned(),
                (true, false) => format!("yes ({})", u.reboot_packages.join(", ")),
            }
        ),
        None if h.errors.iter().any(|e| e.starts_with("updates:")) => {
            "pending updates       unknown (see the error below)\n".to_owned()
        }
        None => "pending updates       not checked\n".to_owned(),
    });
    for e in &h.errors {
        out.push_str(&format!("error                 {e}\n"));
    }
    out
}
