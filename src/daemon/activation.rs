//! systemd socket activation: the listening sockets systemd passes as
//! descriptors 3, 4, … (`LISTEN_FDS`), when `LISTEN_PID` is this process.
//!
//! Taking ownership of an inherited descriptor by number is the one `unsafe`
//! step of the daemon, here.

use std::io;
use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

use rustix::net::SocketAddrAny;

use super::server::Listeners;

/// The first descriptor systemd passes.
const FIRST: RawFd = 3;

/// The sockets systemd passed, or `None` when it passed none to this process.
pub fn listeners() -> io::Result<Option<Listeners>> {
    let pid = std::env::var("LISTEN_PID").ok();
    let count = std::env::var("LISTEN_FDS").ok();
    let (Some(pid), Some(count)) = (pid, count) else {
        return Ok(None);
    };
    if pid.parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(None);
    }
    let count: RawFd = count
        .parse()
        .map_err(|_| io::Error::other(format!("LISTEN_FDS={count} is not a number")))?;
    let mut out = Listeners::default();
    for raw in FIRST..FIRST.saturating_add(count) {
        // SAFETY: systemd passes descriptors FIRST..FIRST+LISTEN_FDS open to
        // this process (LISTEN_PID checked above) and nothing else in it
        // owns them; each is taken once.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
        match rustix::net::getsockname(&fd)? {
            addr if is_unix(&addr) => out.unix.push((UnixListener::from(fd), None)),
            _ => out.tcp.push(TcpListener::from(fd)),
        }
    }
    Ok(Some(out))
}

fn is_unix(addr: &SocketAddrAny) -> bool {
    addr.address_family() == rustix::net::AddressFamily::UNIX
}
