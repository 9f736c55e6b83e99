//! `ward daemon`: a clamd-compatible scanning service, configured by a
//! `clamd.conf` and flags, until SIGTERM (or a client's `SHUTDOWN`); SIGHUP
//! reloads the signatures in the background.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Args;
use ward::SignatureSet;
use ward::daemon::{Config, Daemon, Level, Log};
use ward::live::Signatures;

use super::{DbArgs, output};

/// clamd's own configuration file, read when present and no other is given.
const DEFAULT_CONFIG: &str = "/etc/clamav/clamd.conf";

#[derive(Args, Debug)]
pub struct DaemonArgs {
    /// A clamd.conf to read (default: /etc/clamav/clamd.conf when it exists).
    /// Flags override its options.
    #[arg(short = 'c', long, value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// Read no configuration file: clamd's defaults and the flags only.
    #[arg(long, conflicts_with = "config_file")]
    no_config: bool,
    /// Listen on this unix socket (LocalSocket).
    #[arg(long, value_name = "PATH")]
    local_socket: Option<PathBuf>,
    /// Listen on this TCP port (TCPSocket), on 127.0.0.1 unless --tcp-addr.
    #[arg(long, value_name = "PORT")]
    tcp_socket: Option<u16>,
    /// Address to listen on for TCP (TCPAddr); repeatable.
    #[arg(long, value_name = "ADDR")]
    tcp_addr: Vec<String>,
    /// Scanning threads (MaxThreads).
    #[arg(long, value_name = "N")]
    max_threads: Option<usize>,
    /// Scans waiting for a thread, at most (MaxQueue).
    #[arg(long, value_name = "N")]
    max_queue: Option<usize>,
    /// The most bytes one INSTREAM may send (StreamMaxLength), e.g. 25M.
    #[arg(long, value_name = "SIZE", value_parser = output::parse_size)]
    stream_max_length: Option<u64>,
    /// Accept SCAN, CONTSCAN, MULTISCAN and ALLMATCHSCAN over TCP too (off:
    /// a TCP client is not known to be allowed to read this machine's files).
    #[arg(long)]
    tcp_path_commands: bool,
    #[command(flatten)]
    db: DbArgs,
}

/// Write one log line on stderr (with a journald priority under systemd).
fn log_line(level: Level, msg: &str) {
    let prefix = match std::env::var_os("JOURNAL_STREAM") {
        Some(_) => format!(
            "<{}>",
            match level {
                Level::Error => 3,
                Level::Warning => 4,
                Level::Notice => 5,
                Level::Info => 6,
            }
        ),
        None => String::new(),
    };
    let word = match level {
        Level::Error => "error: ",
        Level::Warning => "warning: ",
        _ => "",
    };
    let line = msg.replace('\n', "; ");
    let _ = writeln!(io::stderr().lock(), "{prefix}ward: {word}{line}");
}

/// The settings: clamd's defaults, the configuration file, then the flags.
fn config(args: &DaemonArgs) -> Result<Config, String> {
    let mut cfg = Config::new();
    let file = match (&args.config_file, args.no_config) {
        (Some(f), _) => Some(f.clone()),
        (None, false) if Path::new(DEFAULT_CONFIG).exists() => Some(PathBuf::from(DEFAULT_CONFIG)),
        _ => None,
    };
    if let Some(f) = file {
        let warnings = cfg.read_file(&f).map_err(|e| e.to_string())?;
        for w in warnings {
            log_line(Level::Warning, &w);
        }
    }
    if let Some(p) = &args.local_socket {
        cfg.local_socket = Some(p.clone());
    }
    if args.tcp_socket.is_some() {
        cfg.tcp_socket = args.tcp_socket;
    }
    if !args.tcp_addr.is_empty() {
        cfg.tcp_addr = args.tcp_addr.clone();
    }
    if let Some(n) = args.max_threads {
        cfg.max_threads = n.max(1);
    }
    if let Some(n) = args.max_queue {
        cfg.max_queue = n.max(1);
    }
    if let Some(n) = args.stream_max_length {
        cfg.stream_max_length = n;
    }
    cfg.tcp_path_commands |= args.tcp_path_commands;
    Ok(cfg)
}

/// Load the signatures: the flags' databases and the DatabaseDirectory.
fn build_set(db: &DbArgs, dir: Option<&Path>) -> Result<SignatureSet, String> {
    let mut b = SignatureSet::builder();
    b.builtin(!db.no_builtin);
    for p in db.databases.iter().map(PathBuf::as_path).chain(dir) {
        b.path(p);
    }
    b.build().map_err(|e| e.to_string())
}

pub fn run(args: &DaemonArgs, home_arg: Option<&Path>) -> ExitCode {
    let started = Instant::now();
    let cfg = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ward: {e}");
            return ExitCode::from(2);
        }
    };
    let dir = cfg.database_directory.clone();
    let Some(set) = args.db.load_with(|b| {
        if let Some(d) = &dir {
            b.path(d);
        }
    }) else {
        return ExitCode::from(2);
    };
    let n = set.len();
    let db = args.db.clone();
    let sigs = Arc::new(Signatures::with_loader(
        set,
        Box::new(move || build_set(&db, dir.as_deref())),
    ));
    let listeners = match ward::daemon::activation::listeners() {
        Ok(Some(l)) => Ok(l),
        Ok(None) => ward::daemon::bind(&cfg),
        Err(e) => Err(e),
    };
    let listeners = match listeners {
        Ok(l) if l.is_empty() => {
            eprintln!(
                "ward: nothing to listen on: give --local-socket or --tcp-socket \
                 (or LocalSocket / TCPSocket in the configuration file)"
            );
            return ExitCode::from(2);
        }
        Ok(l) => l,
        Err(e) => {
            eprintln!("ward: {e}");
            return ExitCode::from(2);
        }
    };
    let Some((stop, hup)) = super::signal_flags() else {
        return ExitCode::from(2);
    };
    let where_ = describe(&listeners);
    let log: Log = Arc::new(|level, line| log_line(level, &line));
    let daemon = match Daemon::start(cfg, sigs, listeners, log) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("ward: {e}");
            return ExitCode::from(2);
        }
    };
    // Detections go to the threat list, as ward watch's do; a daemon that
    // cannot keep one still scans, and says so.
    match super::home(home_arg)
        .and_then(|h| ward::journal::Recorder::open(&h).map_err(|e| output::reason(&e)))
    {
        Ok(rec) => {
            let _ = daemon.record_threats(rec);
        }
        Err(e) => log_line(
            Level::Warning,
            &format!("detections are logged but not recorded in the threat list: {e}"),
        ),
    }
    log_line(
        Level::Info,
        &format!(
            "daemon listening on {where_}, {n} signatures, ready in {:.3} s, pid {}",
            started.elapsed().as_secs_f64(),
            std::process::id()
        ),
    );
    while !stop.load(Ordering::Relaxed) {
        if hup.swap(false, Ordering::Relaxed) {
            log_line(Level::Notice, "SIGHUP: reloading signatures");
            daemon.reload();
        }
        if daemon.wait_shutdown(Duration::from_millis(100)) {
            break;
        }
    }
    log_line(Level::Notice, "stopping");
    daemon.stop();
    log_line(Level::Notice, "stopped");
    ExitCode::SUCCESS
}

fn describe(l: &ward::daemon::Listeners) -> String {
    let unix = l.unix.iter().map(|(s, _)| {
        s.local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
            .unwrap_or_else(|| "a unix socket".into())
    });
    let tcp = l.tcp.iter().map(|s| {
        s.local_addr()
            .map_or_else(|_| "a TCP socket".into(), |a| format!("tcp {a}"))
    });
    unix.chain(tcp).collect::<Vec<_>>().join(", ")
}
