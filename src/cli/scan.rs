//! `ward scan`: walk, scan in parallel, print one line per file and a summary.

use std::ffi::OsStr;
use std::io::{self, IsTerminal, Read, Write};
use std::ops::ControlFlow;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use ward::quarantine::{Outcome, Vault};
use ward::{Event, FileReport, Format, TreeOptions, Verdict, WalkOptions};

use super::DbArgs;
use super::output::{self, TextStyle};

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files and directories to scan (directories recursively).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long = "threads", value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Follow symbolic links inside directories (links named on the command line are always followed).
    #[arg(long)]
    follow_symlinks: bool,
    /// Don't cross into other filesystems.
    #[arg(long)]
    one_file_system: bool,
    /// Skip files whose name or path matches GLOB; repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Don't enter directories whose name or path matches GLOB; repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude_dir: Vec<String>,
    #[command(flatten)]
    limits: super::limits::LimitArgs,
    /// Read paths to scan from FILE, one per line ('-' for standard input).
    #[arg(long, value_name = "FILE")]
    file_list: Option<PathBuf>,
    /// Report every matching signature, not just the first (like clamscan -z).
    #[arg(short = 'z', long = "all-matches", alias = "allmatch")]
    all_matches: bool,
    /// Print only infected files (and errors).
    #[arg(short = 'i', long)]
    infected: bool,
    /// Don't print the summary.
    #[arg(long)]
    no_summary: bool,
    /// One JSON object per line: each file, then a summary.
    #[arg(long)]
    json: bool,
    /// Move every detected file into the quarantine vault (`<home>/quarantine`;
    /// see `ward quarantine`). Paths are resolved to absolute paths first, and
    /// nothing below them is followed as a symbolic link.
    #[arg(long, conflicts_with = "follow_symlinks")]
    quarantine: bool,
}

#[derive(Default)]
struct Totals {
    dirs: u64,
    files: u64,
    infected: u64,
    skipped: u64,
    errors: u64,
    bytes: u64,
    quarantined: u64,
}

impl Totals {
    fn add(&mut self, r: &FileReport) {
        self.bytes += r.scanned_bytes;
        match r.verdict {
            Verdict::Clean => self.files += 1,
            Verdict::Infected(_) => {
                self.files += 1;
                self.infected += 1;
            }
            Verdict::Skipped(_) => self.skipped += 1,
            _ => self.errors += 1,
        }
    }

    fn add_quarantine(&mut self, q: &Option<Result<String, ward::VaultError>>) {
        match q {
            Some(Ok(_)) => self.quarantined += 1,
            Some(Err(_)) => self.errors += 1,
            None => {}
        }
    }

    fn exit_code(&self) -> u8 {
        if self.infected > 0 {
            1
        } else if self.errors > 0 {
            2
        } else {
            0
        }
    }
}

fn read_file_list(path: &PathBuf) -> io::Result<Vec<PathBuf>> {
    let mut data = Vec::new();
    if path.as_os_str() == "-" {
        io::stdin().lock().read_to_end(&mut data)?;
    } else {
        io::BufReader::new(std::fs::File::open(path)?).read_to_end(&mut data)?;
    }
    Ok(data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(|l| PathBuf::from(OsStr::from_bytes(l)))
        .collect())
}

fn progress_bar() -> Option<ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
    let style = ProgressStyle::with_template("{spinner} {elapsed} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    pb.set_style(style);
    pb.enable_steady_tick(Duration::from_millis(125));
    Some(pb)
}

/// The roots to walk: as given, or resolved to absolute paths without links
/// when quarantining (the vault records absolute paths, and below the roots
/// nothing is followed).
fn roots(args: &ScanArgs) -> Result<Vec<PathBuf>, ExitCode> {
    let mut roots = args.paths.clone();
    if let Some(list) = &args.file_list {
        match read_file_list(list) {
            Ok(mut more) => roots.append(&mut more),
            Err(e) => {
                eprintln!("ward: {}: {}", list.display(), output::reason(&e));
                return Err(ExitCode::from(2));
            }
        }
    }
    if roots.is_empty() {
        eprintln!("ward: nothing to scan: give a PATH or --file-list");
        return Err(ExitCode::from(2));
    }
    if args.quarantine {
        // A root that can't be resolved is reported by the walk.
        for r in &mut roots {
            if let Ok(abs) = std::fs::canonicalize(&*r) {
                *r = abs;
            }
        }
    }
    Ok(roots)
}

/// Signatures plus the allow list in the state directory, when there is one.
fn load_signatures(args: &ScanArgs, home: Option<&Path>) -> Option<ward::SignatureSet> {
    let allow = match home {
        Some(h) => match ward::quarantine::read_allow_list(h) {
            Ok(list) => list.map(|data| (h.join(ward::quarantine::ALLOW_LIST), data)),
            Err(e) => {
                eprintln!("ward: warning: not using the allow list: {e}");
                None
            }
        },
        None => None,
    };
    args.db.load_with(|b| {
        if let Some((path, data)) = allow {
            b.text(Format::Allow, &path.to_string_lossy(), data);
        }
    })
}

pub fn run(args: &ScanArgs, home_arg: Option<&Path>) -> ExitCode {
    let roots = match roots(args) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let home = super::home(home_arg);
    let vault = if args.quarantine {
        let opened = home
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|h| Vault::open(h).map_err(|e| e.to_string()));
        match opened {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("ward: cannot use the quarantine vault: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let mut walk_opts = WalkOptions::new();
    walk_opts
        .follow_symlinks(args.follow_symlinks)
        .one_file_system(args.one_file_system);
    for g in &args.exclude {
        walk_opts.exclude(g);
    }
    for g in &args.exclude_dir {
        walk_opts.exclude_dir(g);
    }
    let walk = match walk_opts.walk(roots) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ward: {e}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let Some(set) = load_signatures(args, home.as_deref().ok()) else {
        return ExitCode::from(2);
    };
    let mut tree = TreeOptions::default();
    tree.threads = args.threads;
    tree.all_matches = args.all_matches;
    tree.limits = args.limits.limits();
    // Members too large for memory spill into ward's own state directory
    // when it exists (the system's temporary directory otherwise).
    tree.spill_dir = home.as_ref().ok().filter(|h| h.is_dir()).cloned();
    let style = TextStyle {
        escape: io::stdout().is_terminal(),
        infected_only: args.infected,
    };
    let per_file = |sc: &mut ward::Scanner, path: &Path| match &vault {
        Some(v) => v.scan_and_quarantine(sc, path),
        None => Outcome::from(sc.scan_file(path)),
    };
    let pb = progress_bar();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut totals = Totals::default();
    let mut broken = false;
    let result = ward::scan_tree_with(&set, walk, &tree, per_file, |ev| {
        let o = match ev {
            Event::Directory(_) => {
                totals.dirs += 1;
                return ControlFlow::Continue(());
            }
            Event::File(o) => o,
            _ => return ControlFlow::Continue(()),
        };
        totals.add(&o.report);
        totals.add_quarantine(&o.quarantine);
        let write = |out: &mut io::BufWriter<_>| write_outcome(out, &o, args, style);
        let written = match &pb {
            Some(pb) => {
                pb.set_message(format!(
                    "{} files, {:.1} MiB",
                    totals.files,
                    totals.bytes as f64 / 1048576.0
                ));
                pb.suspend(|| write(&mut out).and_then(|()| out.flush()))
            }
            None => write(&mut out),
        };
        match written {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                broken = true;
                ControlFlow::Break(())
            }
            Err(e) => {
                eprintln!("ward: writing output: {e}");
                broken = true;
                ControlFlow::Break(())
            }
            Ok(()) => ControlFlow::Continue(()),
        }
    });
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    if let Err(e) = result {
        eprintln!("ward: cannot start worker threads: {e}");
        return ExitCode::from(2);
    }
    if !broken && !args.no_summary {
        let _ = summary(&mut out, args, &set, &totals, start.elapsed());
    }
    let _ = out.flush();
    // The process ends here: freeing tens of thousands of compiled signatures
    // one by one would only delay the exit.
    std::mem::forget(set);
    ExitCode::from(totals.exit_code())
}

/// One file's lines (or JSON object), including what the vault did with it.
fn write_outcome(
    out: &mut impl Write,
    o: &Outcome,
    args: &ScanArgs,
    style: TextStyle,
) -> io::Result<()> {
    let r = &o.report;
    let quiet = args.infected && matches!(r.verdict, Verdict::Clean | Verdict::Skipped(_));
    if args.json && !quiet {
        let mut v = output::json_report(r);
        if let Some(q) = &o.quarantine {
            v["quarantine"] = match q {
                Ok(id) => json!({ "id": id }),
                Err(e) => json!({ "error": output::reason(e) }),
            };
        }
        serde_json::to_writer(&mut *out, &v)?;
        out.write_all(b"\n")
    } else if !args.json {
        output::write_text(out, r, style)?;
        match &o.quarantine {
            Some(Ok(id)) => {
                output::write_line(out, &r.path, &format!("quarantined as {id}"), style)
            }
            Some(Err(e)) => output::write_line(
                out,
                &r.path,
                &format!("quarantine failed: {} ERROR", output::reason(e)),
                style,
            ),
            None => Ok(()),
        }
    } else {
        Ok(())
    }
}

fn summary(
    out: &mut impl Write,
    args: &ScanArgs,
    set: &ward::SignatureSet,
    t: &Totals,
    time: Duration,
) -> io::Result<()> {
    let mb = t.bytes as f64 / (1024.0 * 1024.0);
    if args.json {
        let mut v = json!({
            "type": "summary",
            "known_signatures": set.len(),
            "engine_version": env!("CARGO_PKG_VERSION"),
            "scanned_directories": t.dirs,
            "scanned_files": t.files,
            "infected_files": t.infected,
            "skipped_files": t.skipped,
            "errors": t.errors,
            "data_scanned_bytes": t.bytes,
            "time_seconds": time.as_secs_f64(),
            "exit_code": t.exit_code(),
            "databases": set.info().containers,
        });
        if args.quarantine {
            v["quarantined_files"] = json!(t.quarantined);
        }
        serde_json::to_writer(&mut *out, &v)?;
        return out.write_all(b"\n");
    }
    let secs = time.as_secs();
    writeln!(out, "\n----------- SCAN SUMMARY -----------")?;
    writeln!(out, "Known signatures: {}", set.len())?;
    for c in &set.info().containers {
        writeln!(out, "Database: {}", super::databases::describe(c))?;
    }
    writeln!(out, "Engine version: ward {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "Scanned directories: {}", t.dirs)?;
    writeln!(out, "Scanned files: {}", t.files)?;
    writeln!(out, "Infected files: {}", t.infected)?;
    if args.quarantine {
        writeln!(out, "Quarantined files: {}", t.quarantined)?;
    }
    if t.skipped > 0 {
        writeln!(out, "Skipped files: {}", t.skipped)?;
    }
    if t.errors > 0 {
        writeln!(out, "Total errors: {}", t.errors)?;
    }
    writeln!(out, "Data scanned: {mb:.2} MB")?;
    writeln!(
        out,
        "Time: {:.3} sec ({} m {} s)",
        time.as_secs_f64(),
        secs / 60,
        secs % 60
    )
}
