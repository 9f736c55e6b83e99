//! The `ward` command line: argument parsing and the subcommands. Uses only the
//! library's public API.

mod audit;
mod daemon;
mod databases;
mod health;
mod limits;
mod output;
mod quarantine;
mod scan;
mod sigs;
mod updates;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "Exit status:
  0  nothing found, no errors
  1  something was found (even if some files had errors)
  2  errors only (a file or directory could not be scanned, bad signatures, bad usage)";

/// ward: a fast, safe malware signature scanner for Linux.
#[derive(Parser, Debug)]
#[command(name = "ward", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// State directory (vault, allow list). Default: $WARD_HOME, else
    /// /var/lib/ward for root, else $XDG_DATA_HOME/ward or ~/.local/share/ward.
    #[arg(long, value_name = "DIR", global = true)]
    home: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan files and directories.
    #[command(after_help = EXIT_CODES)]
    Scan(scan::ScanArgs),
    /// Check and describe signature databases.
    #[command(subcommand)]
    Sigs(sigs::SigsCommand),
    /// List, inspect, restore and delete quarantined files.
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCommand),
    /// Real-time protection: scan files as they are written into the watched
    /// trees, quarantine (or report) what is found, optionally block opens of
    /// infected files. Runs until SIGTERM or SIGINT; SIGHUP reloads signatures.
    Watch(watch::WatchArgs),
    /// The detections recorded by `ward watch`.
    #[command(subcommand)]
    Threats(watch::ThreatsCommand),
    /// Check the machine's configuration against a baseline (`linux-baseline`
    /// and policy files); `ward audit history` lists the drift `ward watch
    /// --audit` saw.
    Audit(audit::AuditArgs),
    /// Pending package updates (apt): assess them, install them.
    #[command(subcommand)]
    Updates(updates::UpdatesCommand),
    /// One look at the machine's protection: version, signatures, real-time
    /// protection, quarantine, threats, last audit, pending updates.
    Health(health::HealthArgs),
    /// A clamd-compatible scanning service for clamdscan, clamav-milter,
    /// pyclamd and other clamd clients. Runs until SIGTERM or SHUTDOWN;
    /// SIGHUP or RELOAD reloads signatures.
    Daemon(daemon::DaemonArgs),
}

/// The state directory: `--home`, else `$WARD_HOME`, else the default for the
/// running user.
fn home(arg: Option<&Path>) -> Result<PathBuf, String> {
    arg.map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os("WARD_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(ward::quarantine::default_home)
        .ok_or_else(|| "no state directory: give --home DIR or set WARD_HOME".to_owned())
}

/// Where signatures come from; shared by every command that loads them.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Signature file or directory (.ndb, .hdb, .hsb, .fp, .sfp, .ign2, ClamAV's
    /// .cvd/.cld/.cud containers, a compiled .wardset); repeatable.
    #[arg(short = 'd', long = "database", value_name = "PATH")]
    databases: Vec<PathBuf>,
    /// Leave out the built-in signatures (EICAR, the ClamAV test file).
    #[arg(long)]
    no_builtin: bool,
    /// Without -d, ClamAV's database directory is loaded too when it holds
    /// databases (DatabaseDirectory in /etc/clamav/freshclam.conf, else
    /// clamd.conf, else /var/lib/clamav; $WARD_CLAMAV_DB overrides, empty for
    /// none). This leaves it out.
    #[arg(long)]
    no_clamav_db: bool,
    /// Load ClamAV's PUA databases too (.hdu, .hsu, .ndu: potentially
    /// unwanted applications).
    #[arg(long)]
    detect_pua: bool,
    /// Stop with exit status 2 when a loaded .cvd/.cld/.cud was built more
    /// than DAYS days ago.
    #[arg(long, value_name = "DAYS", alias = "fail-if-cvd-older")]
    fail_if_cvd_older_than: Option<u64>,
}

impl DbArgs {
    /// The databases to load: the -d paths, else ClamAV's database directory
    /// when it holds databases (unless --no-clamav-db).
    fn paths(&self) -> Vec<PathBuf> {
        if !self.databases.is_empty() || self.no_clamav_db {
            return self.databases.clone();
        }
        ward::sig::location::clamav_db_dir().into_iter().collect()
    }

    /// Load and compile, printing every signature error and warning to stderr.
    fn load(&self) -> Option<ward::SignatureSet> {
        self.load_with(|_| {})
    }

    /// [`DbArgs::load`] with more sources added by `extra`.
    fn load_with(&self, extra: impl FnOnce(&mut ward::SetBuilder)) -> Option<ward::SignatureSet> {
        let mut b = ward::SignatureSet::builder();
        b.builtin(!self.no_builtin).detect_pua(self.detect_pua);
        for p in self.paths() {
            b.path(p);
        }
        extra(&mut b);
        let db = match b.database() {
            Ok(db) => db,
            Err(e) => {
                eprintln!("ward: cannot load signatures:\n{e}");
                return None;
            }
        };
        sigs::print_warnings(&db);
        if let Some(days) = self.fail_if_cvd_older_than
            && let Err(e) = databases::check_age(&db.containers, days)
        {
            eprintln!("ward: {e}");
            return None;
        }
        match ward::SignatureSet::from_database(db) {
            Ok(set) => Some(set),
            Err(e) => {
                eprintln!("ward: cannot compile signatures: {e}");
                None
            }
        }
    }
}

/// The flags a long-running command (`watch`, `daemon`) polls: (stop, on
/// SIGTERM or SIGINT; reload, on SIGHUP). `None`, said on stderr, when the
/// handlers cannot be installed.
fn signal_flags() -> Option<(
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
)> {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let stop = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [
        (signal_hook::consts::SIGTERM, &stop),
        (signal_hook::consts::SIGINT, &stop),
        (signal_hook::consts::SIGHUP, &hup),
    ] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(flag)) {
            eprintln!("ward: cannot handle signals: {e}");
            return None;
        }
    }
    Some((stop, hup))
}

/// Run the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Scan(args) => scan::run(&args, cli.home.as_deref()),
        Command::Sigs(cmd) => sigs::run(&cmd),
        Command::Quarantine(cmd) => quarantine::run(&cmd, cli.home.as_deref()),
        Command::Watch(args) => watch::run(&args, cli.home.as_deref()),
        Command::Threats(cmd) => watch::run_threats(&cmd, cli.home.as_deref()),
        Command::Audit(args) => audit::run(&args, cli.home.as_deref()),
        Command::Updates(cmd) => updates::run(&cmd, cli.home.as_deref()),
        Command::Health(args) => health::run(&args, cli.home.as_deref()),
        Command::Daemon(args) => daemon::run(&args, cli.home.as_deref()),
    }
}
