//! `ward scan`: walk, scan in parallel, print one line per file and a summary.

use std::ffi::OsStr;
use std::io::{self, IsTerminal, Read, Write};
use std::ops::ControlFlow;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use ward::{Event, FileReport, TreeOptions, Verdict, WalkOptions};

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
    /// Skip (and report as skipped) files larger than SIZE (e.g. 100M).
    #[arg(long, value_name = "SIZE", value_parser = output::parse_size)]
    max_filesize: Option<u64>,
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
}

#[derive(Default)]
struct Totals {
    dirs: u64,
    files: u64,
    infected: u64,
    skipped: u64,
    errors: u64,
    bytes: u64,
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

pub fn run(args: &ScanArgs) -> ExitCode {
    let mut roots = args.paths.clone();
    if let Some(list) = &args.file_list {
        match read_file_list(list) {
            Ok(mut more) => roots.append(&mut more),
            Err(e) => {
                eprintln!("ward: {}: {}", list.display(), output::reason(&e));
                return ExitCode::from(2);
            }
        }
    }
    if roots.is_empty() {
        eprintln!("ward: nothing to scan: give a PATH or --file-list");
        return ExitCode::from(2);
    }
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
    let Some(set) = args.db.load() else {
        return ExitCode::from(2);
    };
    let tree = TreeOptions {
        threads: args.threads,
        all_matches: args.all_matches,
        max_filesize: args.max_filesize,
    };
    let style = TextStyle {
        escape: io::stdout().is_terminal(),
        infected_only: args.infected,
    };
    let pb = progress_bar();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut totals = Totals::default();
    let mut broken = false;
    let result = ward::scan_tree(&set, walk, &tree, |ev| {
        let r = match ev {
            Event::Directory(_) => {
                totals.dirs += 1;
                return ControlFlow::Continue(());
            }
            Event::File(r) => r,
            _ => return ControlFlow::Continue(()),
        };
        totals.add(&r);
        let write = |out: &mut io::BufWriter<_>| -> io::Result<()> {
            let quiet = args.infected && matches!(r.verdict, Verdict::Clean | Verdict::Skipped(_));
            if args.json && !quiet {
                serde_json::to_writer(&mut *out, &output::json_report(&r))?;
                out.write_all(b"\n")
            } else if !args.json {
                output::write_text(out, &r, style)
            } else {
                Ok(())
            }
        };
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
        let _ = summary(&mut out, args.json, &set, &totals, start.elapsed());
    }
    let _ = out.flush();
    ExitCode::from(totals.exit_code())
}

fn summary(
    out: &mut impl Write,
    as_json: bool,
    set: &ward::SignatureSet,
    t: &Totals,
    time: Duration,
) -> io::Result<()> {
    let mb = t.bytes as f64 / (1024.0 * 1024.0);
    if as_json {
        let v = json!({
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
        });
        serde_json::to_writer(&mut *out, &v)?;
        return out.write_all(b"\n");
    }
    let secs = time.as_secs();
    writeln!(out, "\n----------- SCAN SUMMARY -----------")?;
    writeln!(out, "Known signatures: {}", set.len())?;
    writeln!(out, "Engine version: ward {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "Scanned directories: {}", t.dirs)?;
    writeln!(out, "Scanned files: {}", t.files)?;
    writeln!(out, "Infected files: {}", t.infected)?;
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
