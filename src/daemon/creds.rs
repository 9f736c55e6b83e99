//! Scanning a path as the client that asked for it.
//!
//! A daemon running as root must not read for a local user what that user
//! could not read (the confused deputy): `/root` must stay closed to them. So
//! a path command from a unix-socket client of another user runs on a thread
//! whose effective user, group and supplementary groups are the client's
//! (`SO_PEERCRED`, and the groups from `/proc/PID/status`): every `open` and
//! directory read of the walk and the scan is checked by the kernel as if the
//! client made it. Linux keeps credentials per thread, so only the scanning
//! thread changes (and the threads it starts, which inherit them); its real
//! and saved user stay root, so it changes back when the scan ends.

use std::io;
use std::sync::OnceLock;

use rustix::process::{Gid, Uid};
use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};

/// Who a unix-socket client is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// Its effective user.
    pub uid: u32,
    /// Its effective group.
    pub gid: u32,
    /// Its process.
    pub pid: i32,
    /// Its supplementary groups, read when first needed: only a path
    /// command run as the client needs them, and reading them on every
    /// connection costs more than a small INSTREAM.
    groups: OnceLock<Vec<u32>>,
}

impl Client {
    /// The peer of a unix socket (`SO_PEERCRED`).
    pub fn of(sock: impl std::os::fd::AsFd) -> io::Result<Client> {
        let cred = rustix::net::sockopt::socket_peercred(sock)?;
        Ok(Client {
            uid: cred.uid.as_raw(),
            gid: cred.gid.as_raw(),
            pid: cred.pid.as_raw_pid(),
            groups: OnceLock::new(),
        })
    }

    /// The supplementary groups of the client's process (just `gid` when
    /// they cannot be read, as when the process has gone).
    pub fn groups(&self) -> &[u32] {
        self.groups
            .get_or_init(|| groups_of(self.pid).unwrap_or_else(|| vec![self.gid]))
    }
}

/// The `Groups:` line of `/proc/PID/status`.
fn groups_of(pid: i32) -> Option<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Groups:"))?;
    line.split_whitespace().map(|g| g.parse().ok()).collect()
}

/// What a path command from `client` needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Nothing: the client is root or the daemon's own user.
    AsDaemon,
    /// Running as the client.
    AsClient,
    /// The daemon cannot act as another user (it is not root): refused.
    Refused,
}

/// How a path command from `client` may run.
pub fn access_for(client: &Client) -> Access {
    let me = rustix::process::geteuid().as_raw();
    if client.uid == 0 || client.uid == me {
        Access::AsDaemon
    } else if me == 0 {
        Access::AsClient
    } else {
        Access::Refused
    }
}

/// While alive, this thread acts as a client; dropping it changes back.
#[derive(Debug)]
pub struct AsClient {
    gid: Gid,
    groups: Vec<Gid>,
}

impl AsClient {
    /// Take on `client`'s groups, group and user on this thread.
    pub fn enter(client: &Client) -> io::Result<AsClient> {
        let saved = AsClient {
            gid: rustix::process::getegid(),
            groups: rustix::process::getgroups()?,
        };
        let groups: Vec<Gid> = client.groups().iter().map(|&g| Gid::from_raw(g)).collect();
        set_thread_groups(&groups)?;
        // From here on, `saved`'s drop puts back whatever was changed.
        set_thread_res_gid(None, Gid::from_raw(client.gid), None)?;
        set_thread_res_uid(None, Uid::from_raw(client.uid), None)?;
        Ok(saved)
    }
}

impl Drop for AsClient {
    fn drop(&mut self) {
        // The real and saved user are still root: these cannot fail, and if
        // they did the thread must not go on scanning for others.
        let back = set_thread_res_uid(None, Uid::ROOT, None)
            .and_then(|()| set_thread_res_gid(None, self.gid, None))
            .and_then(|()| set_thread_groups(&self.groups));
        if let Err(e) = back {
            eprintln!("ward: cannot change a scanning thread back to root: {e}");
            std::process::abort();
        }
    }
}
