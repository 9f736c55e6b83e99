//! `ward sigs check` and `ward sigs info`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::DbArgs;

#[derive(Subcommand, Debug)]
pub enum SigsCommand {
    /// Validate signature files: every error with file, line and column.
    Check {
        /// Signature files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Store parsed signatures in one compiled set (.wardset) that loads faster
    /// than the text files; use it with `-d FILE.wardset`. The built-in signatures
    /// are not stored (they are added at scan time unless --no-builtin).
    Compile {
        /// Signature files or directories.
        #[arg(short = 'd', long = "database", value_name = "PATH", required = true)]
        databases: Vec<PathBuf>,
        /// Where to write the database.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// Compile the signatures and describe the result.
    Info {
        #[command(flatten)]
        db: DbArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Most warnings printed one by one; the rest are counted.
const SHOWN_WARNINGS: usize = 20;

pub fn print_warnings(db: &ward::Database) {
    for s in &db.skipped {
        eprintln!("ward: warning: {s}");
    }
    for w in db.warnings.iter().take(SHOWN_WARNINGS) {
        match w.line {
            0 => eprintln!("ward: warning: {w}"),
            _ => eprintln!("ward: warning: {w} (signature skipped)"),
        }
    }
    if db.warnings.len() > SHOWN_WARNINGS {
        eprintln!(
            "ward: warning: {} more signatures skipped",
            db.warnings.len() - SHOWN_WARNINGS
        );
    }
}

pub fn run(cmd: &SigsCommand) -> ExitCode {
    match cmd {
        SigsCommand::Check { paths } => check(paths),
        SigsCommand::Info { db, json } => info(db, *json),
        SigsCommand::Compile { databases, output } => compile(databases, output),
    }
}

fn compile(paths: &[PathBuf], output: &Path) -> ExitCode {
    let mut b = ward::SignatureSet::builder();
    for p in paths {
        b.path(p);
    }
    let mut db = match b.database() {
        Ok(db) => db,
        Err(e) => {
            eprintln!("ward: cannot load signatures:\n{e}");
            return ExitCode::from(2);
        }
    };
    print_warnings(&db);
    // The compile check needs no hash tables (they cannot fail to compile);
    // sorted where they are, they are written without a copy.
    let mut tables = (
        std::mem::take(&mut db.hashes),
        std::mem::take(&mut db.allow),
    );
    tables.0.sort();
    tables.1.sort();
    if !db.logical.is_empty() {
        eprintln!(
            "ward: warning: {} logical signatures are not stored in a compiled set: load their .ldb files beside it",
            db.logical.len()
        );
    }
    if let Err(e) = ward::SignatureSet::compile(&db) {
        eprintln!("ward: cannot compile signatures: {e}");
        return ExitCode::from(2);
    }
    (db.hashes, db.allow) = tables;
    let ext = ward::sig::compiled::EXTENSION;
    if output.extension().is_none_or(|e| e != ext) {
        eprintln!(
            "ward: {}: the output name must end in .{ext} so that -d recognises it",
            output.display()
        );
        return ExitCode::from(2);
    }
    let write = |f: &mut std::io::BufWriter<std::fs::File>| ward::sig::compiled::write(&db, f);
    match write_atomically(output, write) {
        Ok(()) => {
            println!("{}: {} signatures", output.display(), db.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ward: {}: {e}", output.display());
            ExitCode::from(2)
        }
    }
}

/// Write to a temporary name beside `path`, fsync, then rename over it: readers
/// see the old file or the new one, never a partial one.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        write(&mut f)?;
        f.flush()?;
        f.get_ref().sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn check(paths: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for p in paths {
        let mut db = ward::Database::new();
        match db.load_path(p) {
            Err(e) => {
                failed = true;
                eprintln!("{e}");
            }
            Ok(()) => {
                print_warnings(&db);
                match ward::SignatureSet::compile(&db) {
                    Ok(set) => println!(
                        "{}: OK ({} signatures, {} skipped)",
                        p.display(),
                        set.len(),
                        db.warnings.len()
                    ),
                    Err(e) => {
                        failed = true;
                        eprintln!("{}: {e}", p.display());
                    }
                }
            }
        }
    }
    ExitCode::from(if failed { 2 } else { 0 })
}

fn info(db: &DbArgs, json: bool) -> ExitCode {
    let Some(set) = db.load() else {
        return ExitCode::from(2);
    };
    let i = set.info();
    if json {
        println!("{}", serde_json::to_string(i).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    println!("signatures:   {}", i.total());
    println!("  body:       {}", i.body);
    println!("  logical:    {}", i.logical);
    println!("  md5:        {}", i.md5);
    println!("  sha1:       {}", i.sha1);
    println!("  sha256:     {}", i.sha256);
    println!("allow-listed: {}", i.allow);
    println!("ignored:      {}", i.ignored);
    println!("atoms:        {}", i.atoms);
    println!("automaton:    {}", i.automaton);
    println!("memory:       {:.1} MiB", i.memory as f64 / 1048576.0);
    println!("build time:   {:.1} ms", i.build_time.as_secs_f64() * 1e3);
    for c in &i.containers {
        println!("database:     {}", super::databases::describe(c));
    }
    ExitCode::SUCCESS
}
