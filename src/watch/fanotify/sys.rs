//! The fanotify system calls, and nothing else: the only `unsafe` in the watch
//! module. Each call is wrapped so that the rest of the backend works with
//! owned descriptors and plain values.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The permission events ward asks for on an open.
pub const OPEN_PERM: u64 = libc::FAN_OPEN_PERM;
/// The permission event for an open to execute (Linux 5.0 and later).
pub const OPEN_EXEC_PERM: u64 = libc::FAN_OPEN_EXEC_PERM;

/// A fanotify group of class `FAN_CLASS_CONTENT`.
#[derive(Debug)]
pub struct Group {
    fd: OwnedFd,
}

/// One permission event: the file the kernel opened for us (the event's own
/// descriptor, answered by its number) and the opener's pid.
#[derive(Debug)]
pub struct PermEvent {
    /// The descriptor the kernel opened on the file being opened.
    pub file: OwnedFd,
    /// The opening process (thread group id).
    pub pid: i32,
}

/// What one read of the group returned.
#[derive(Debug, Default)]
pub struct Batch {
    /// Permission events, each to be answered.
    pub events: Vec<PermEvent>,
    /// The kernel's queue overflowed (not expected with an unlimited queue).
    pub overflow: bool,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl Group {
    /// `fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
    /// FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS)`; event descriptors are opened
    /// read-only with `O_NOATIME`. Needs `CAP_SYS_ADMIN`.
    pub fn new() -> io::Result<Group> {
        let flags = libc::FAN_CLASS_CONTENT
            | libc::FAN_CLOEXEC
            | libc::FAN_NONBLOCK
            | libc::FAN_UNLIMITED_QUEUE
            | libc::FAN_UNLIMITED_MARKS;
        let event_flags = (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC | libc::O_NOATIME)
            as libc::c_uint;
        // SAFETY: fanotify_init takes two integers and returns a new descriptor
        // or -1; no memory is shared with the kernel.
        let fd = check(unsafe { libc::fanotify_init(flags, event_flags) })?;
        Ok(Group {
            // SAFETY: `fd` was just returned by fanotify_init and is owned by no one else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn mark(
        &self,
        flags: libc::c_uint,
        mask: u64,
        dirfd: RawFd,
        path: Option<&Path>,
    ) -> io::Result<()> {
        let path = path
            .map(|p| CString::new(p.as_os_str().as_bytes()))
            .transpose()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
        let ptr = path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
        // SAFETY: `ptr` is null or points to a NUL-terminated string that lives
        // until the call returns; the kernel only reads it.
        check(unsafe { libc::fanotify_mark(self.fd.as_raw_fd(), flags, mask, dirfd, ptr) })
            .map(drop)
    }

    /// Ask for `mask` on the directory `dir` (a descriptor, not an `O_PATH`
    /// one) and on the files directly in it (`FAN_EVENT_ON_CHILD`).
    pub fn mark_dir(&self, dir: BorrowedFd<'_>, mask: u64) -> io::Result<()> {
        let flags = libc::FAN_MARK_ADD | libc::FAN_MARK_ONLYDIR;
        self.mark(
            flags,
            mask | libc::FAN_EVENT_ON_CHILD,
            dir.as_raw_fd(),
            None,
        )
    }

    /// Put `mask` into the ignore mask of the file `file` refers to. Without
    /// `FAN_MARK_IGNORED_SURV_MODIFY` the kernel clears it on the file's next
    /// modification.
    pub fn ignore(&self, file: BorrowedFd<'_>, mask: u64) -> io::Result<()> {
        let flags = libc::FAN_MARK_ADD | libc::FAN_MARK_IGNORED_MASK;
        self.mark(flags, mask, file.as_raw_fd(), None)
    }

    /// Take `mask` out of the ignore mask of the file `file` refers to.
    pub fn unignore(&self, file: BorrowedFd<'_>, mask: u64) -> io::Result<()> {
        let flags = libc::FAN_MARK_REMOVE | libc::FAN_MARK_IGNORED_MASK;
        self.mark(flags, mask, file.as_raw_fd(), None)
    }

    /// Remove every inode mark of the group (directory marks and ignore marks).
    pub fn flush_inode_marks(&self) -> io::Result<()> {
        self.mark(libc::FAN_MARK_FLUSH, 0, libc::AT_FDCWD, None)
    }

    /// Wait up to `timeout_ms` for events; whether some are ready.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd that outlives the call.
        match check(unsafe { libc::poll(&mut pfd, 1, timeout_ms) }) {
            Ok(n) => Ok(n > 0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Read the events that are ready (none when none are).
    pub fn read(&self, buf: &mut [u8]) -> io::Result<Batch> {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(Batch::default()),
                _ => Err(e),
            };
        }
        Ok(parse(&buf[..n as usize]))
    }

    /// Answer the permission event whose descriptor is `fd`: allow, or deny
    /// (the opener gets `EPERM`). `fd` must be the event's own descriptor,
    /// still open: the kernel finds the event by the number alone, so a
    /// number closed and reused by a later event would answer that one. The
    /// caller keeps the event's `OwnedFd` alive across this call and closes it
    /// only afterwards (the backend's `Pending` does so under its lock).
    pub fn respond(&self, fd: RawFd, allow: bool) -> io::Result<()> {
        let resp = libc::fanotify_response {
            fd,
            response: if allow {
                libc::FAN_ALLOW
            } else {
                libc::FAN_DENY
            },
        };
        let len = std::mem::size_of::<libc::fanotify_response>();
        // SAFETY: `resp` is a plain struct of `len` bytes that outlives the call;
        // the kernel only reads it. Memory safety does not depend on `fd`, but
        // correctness does: the caller holds the event's descriptor open until
        // this write returns, so `fd` cannot name another event.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), (&raw const resp).cast(), len) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The size of one permission event as read (no information records).
pub const EVENT_LEN: usize = std::mem::size_of::<libc::fanotify_event_metadata>();

/// Raise the soft limit on open descriptors to the hard limit; returns the
/// soft limit in force afterwards. The kernel opens a descriptor for every
/// permission event read, and an event it cannot open one for is denied.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into `lim`, which outlives the call.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) })?;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit from `raised`, which outlives the call.
        if check(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) }).is_ok() {
            lim = raised;
        }
    }
    Ok(lim.rlim_cur)
}

impl AsFd for Group {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Split a read into events. Each record starts with a
/// `fanotify_event_metadata` whose `event_len` gives the step to the next one.
fn parse(data: &[u8]) -> Batch {
    let mut batch = Batch::default();
    let head = std::mem::size_of::<libc::fanotify_event_metadata>();
    let mut at = 0;
    while data.len() - at >= head {
        // SAFETY: at least `head` bytes remain at `at`; read_unaligned copies
        // them into a plain-old-data struct, whatever their alignment.
        let m: libc::fanotify_event_metadata =
            unsafe { std::ptr::read_unaligned(data[at..].as_ptr().cast()) };
        let len = m.event_len as usize;
        if m.vers != libc::FANOTIFY_METADATA_VERSION || len < head || len > data.len() - at {
            break;
        }
        at += len;
        if m.mask & libc::FAN_Q_OVERFLOW != 0 {
            batch.overflow = true;
        }
        if m.fd >= 0 {
            batch.events.push(PermEvent {
                // SAFETY: the kernel opened this descriptor for us in this read;
                // nothing else owns it.
                file: unsafe { OwnedFd::from_raw_fd(m.fd) },
                pid: m.pid,
            });
        }
    }
    batch
}
