//! `ward sigs check` and `ward sigs info`.

use std::path::PathBuf;
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
    for w in db.warnings.iter().take(SHOWN_WARNINGS) {
        eprintln!("ward: warning: {w} (signature skipped)");
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
    }
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
    println!("  md5:        {}", i.md5);
    println!("  sha1:       {}", i.sha1);
    println!("  sha256:     {}", i.sha256);
    println!("allow-listed: {}", i.allow);
    println!("ignored:      {}", i.ignored);
    println!("atoms:        {}", i.atoms);
    println!("automaton:    {}", i.automaton);
    println!("memory:       {:.1} MiB", i.memory as f64 / 1048576.0);
    println!("build time:   {:.1} ms", i.build_time.as_secs_f64() * 1e3);
    ExitCode::SUCCESS
}
