//! A clamd-compatible scanning service: the protocol of ClamAV's `clamd`
//! over a unix socket and TCP, so that clamdscan, clamav-milter, pyclamd and
//! the other clients of clamd scan with ward unchanged.
//!
//! - [`protocol`]: framing (`z`, `n`, old style) and the command table.
//! - [`reply`]: the shapes of the answers.
//! - [`config`]: the settings and a `clamd.conf` reader.
//! - `server`: listeners, connection threads, the scanning pool.
//! - `handler`, `scan`: what each command does and answers.
//! - `creds`: path commands run as the unix-socket client that sent them.
//! - [`activation`]: systemd socket activation.
//!
//! ```no_run
//! use std::sync::Arc;
//! let mut cfg = ward::daemon::Config::new();
//! cfg.local_socket = Some("/run/ward/clamd.sock".into());
//! let listeners = ward::daemon::bind(&cfg)?;
//! let sigs = Arc::new(ward::live::Signatures::new(ward::SignatureSet::builtin()));
//! let log: ward::daemon::Log = Arc::new(|_, line| eprintln!("{line}"));
//! let daemon = ward::daemon::Daemon::start(cfg, sigs, listeners, log)?;
//! while !daemon.wait_shutdown(std::time::Duration::from_secs(1)) {}
//! daemon.stop();
//! # Ok::<(), std::io::Error>(())
//! ```

#[allow(unsafe_code)]
pub mod activation;
pub mod config;
mod creds;
mod handler;
#[allow(unsafe_code)]
mod heap;
pub mod protocol;
pub mod reply;
mod scan;
mod server;

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use config::{Config, ConfigError};
pub use server::Listeners;

use crate::journal::Recorder;
use crate::live::Signatures;

/// How much a log line matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something may be wrong.
    Warning,
    /// Something worth knowing happened.
    Notice,
    /// Routine.
    Info,
}

/// Where the daemon's log lines go.
pub type Log = Arc<dyn Fn(Level, String) + Send + Sync>;

/// Bind the sockets `cfg` names: its `LocalSocket` (a stale socket file
/// removed first when `FixStaleSocket` says so; then given
/// `LocalSocketGroup` and `LocalSocketMode`), and its `TCPSocket` on each
/// `TCPAddr`, or on 127.0.0.1 when none is given.
pub fn bind(cfg: &Config) -> io::Result<Listeners> {
    let mut out = Listeners::default();
    if let Some(path) = &cfg.local_socket {
        out.unix.push((bind_unix(cfg, path)?, Some(path.clone())));
    }
    if let Some(port) = cfg.tcp_socket {
        let addrs = match cfg.tcp_addr.is_empty() {
            true => vec!["127.0.0.1".to_owned()],
            false => cfg.tcp_addr.clone(),
        };
        for a in addrs {
            let ip: IpAddr = a.parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("TCPAddr {a} is not an IP address"),
                )
            })?;
            let l = TcpListener::bind(SocketAddr::new(ip, port)).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot listen on {a} port {port}: {e}"))
            })?;
            out.tcp.push(l);
        }
    }
    Ok(out)
}

fn bind_unix(cfg: &Config, path: &Path) -> io::Result<UnixListener> {
    let ctx = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    if path.exists() {
        let live = UnixStream::connect(path).is_ok();
        if live || !cfg.fix_stale_socket {
            return Err(ctx(io::Error::new(
                io::ErrorKind::AddrInUse,
                "socket file exists (another daemon listens on it, or FixStaleSocket is off)",
            )));
        }
        let is_socket = std::os::unix::fs::FileTypeExt::is_socket(
            &std::fs::symlink_metadata(path)?.file_type(),
        );
        if !is_socket {
            return Err(ctx(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a socket",
            )));
        }
        std::fs::remove_file(path).map_err(ctx)?;
    }
    let l = UnixListener::bind(path).map_err(ctx)?;
    if let Some(group) = &cfg.local_socket_group {
        let gid =
            group_id(group).ok_or_else(|| ctx(io::Error::other(format!("no group {group}"))))?;
        rustix::fs::chown(path, None, Some(rustix::fs::Gid::from_raw(gid)))
            .map_err(|e| ctx(e.into()))?;
    }
    let mode = cfg.local_socket_mode.unwrap_or(0o666);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(ctx)?;
    Ok(l)
}

/// A group by number or by name (from `/etc/group`).
fn group_id(group: &str) -> Option<u32> {
    if let Ok(n) = group.parse() {
        return Some(n);
    }
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == group).then(|| f.nth(1)?.parse().ok())?
    })
}

/// The running daemon.
pub struct Daemon {
    threads: server::Threads,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon").finish_non_exhaustive()
    }
}

impl Daemon {
    /// Serve on `listeners` with the signatures of `sigs`: `MaxThreads`
    /// scanning threads and a thread per connection start now.
    pub fn start(
        cfg: Config,
        sigs: Arc<Signatures>,
        listeners: Listeners,
        log: Log,
    ) -> io::Result<Daemon> {
        Ok(Daemon {
            threads: server::start(cfg, sigs, listeners, log)?,
        })
    }

    /// Record every detection from now on in `recorder` (the threat list
    /// `ward threats list` shows, and the event log), with the client that
    /// asked; a second recorder is refused and handed back.
    pub fn record_threats(&self, recorder: Recorder) -> Result<(), Recorder> {
        self.threads.shared.recorder.set(recorder)
    }

    /// Reload the signatures in the background (as `RELOAD` does); scans
    /// keep the set they started with, later ones get the new set.
    pub fn reload(&self) {
        self.threads.shared.reload();
    }

    /// Wait up to `timeout` for a client's `SHUTDOWN`; whether one came.
    pub fn wait_shutdown(&self, timeout: Duration) -> bool {
        self.threads.shared.wait_shutdown(timeout)
    }

    /// Stop: accept no more connections, close the idle ones, let the
    /// commands in flight finish and answer, then return.
    pub fn stop(self) {
        self.threads.stop();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Config>();
        check::<super::Daemon>();
        check::<super::Listeners>();
        check::<super::ConfigError>();
    }
}
