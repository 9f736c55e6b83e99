//! Memory maps that cannot be turned into SIGBUS by truncation.
//!
//! A file truncated while it is mapped makes every access past the new end raise
//! SIGBUS, which kills the process. ward maps a file only while it holds a read
//! lease on it (`fcntl(F_SETLEASE, F_RDLCK)`): the kernel refuses the lease while
//! anyone has the file open for writing, and while it is held, any `open` for
//! writing or `truncate` blocks until ward releases the lease (or the system's
//! `/proc/sys/fs/lease-break-time` passes, 45 s by default). Where no lease can be
//! had (another user's file without CAP_LEASE, a filesystem without leases, a
//! writer present), the caller reads the file instead.
//!
//! A lease break is announced with SIGIO, whose default action is to terminate;
//! the first use of this module sets SIGIO to be ignored if it had the default
//! action. The break then simply waits for the scan to finish.
//!
//! This is the only module (with `watch`) that uses `unsafe`.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Once;

use memmap2::Mmap;

/// A read lease on a file (`fcntl(F_SETLEASE, F_RDLCK)`), released when
/// dropped. While it is held, an `open` of the file for writing or a `truncate`
/// cannot complete: it first breaks the lease (see the module docs), which
/// [`ReadLease::held`] then reports.
pub(crate) struct ReadLease<'f> {
    file: &'f File,
}

/// Why [`read_lease`] took no lease.
#[derive(Debug)]
pub(crate) enum LeaseRefused {
    /// Someone has the file open for writing (`EAGAIN`).
    Writer,
    /// Leases cannot be had here: another user's file without CAP_LEASE, a
    /// filesystem without leases, leases disabled.
    Unavailable,
}

impl ReadLease<'_> {
    /// Whether the lease is still held and no break of it is pending (a break
    /// starts when someone opens the file for writing or truncates it).
    pub(crate) fn held(&self) -> bool {
        // SAFETY: fcntl with F_GETLEASE on a valid open descriptor; no memory is passed.
        unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_GETLEASE) == libc::F_RDLCK }
    }
}

impl Drop for ReadLease<'_> {
    fn drop(&mut self) {
        // SAFETY: fcntl with F_SETLEASE on a valid open descriptor; no memory is passed.
        unsafe {
            libc::fcntl(self.file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK);
        }
    }
}

/// Take a read lease on `file` (opened read-only). SIGIO is set to be ignored
/// first if it had the default action, so a lease break cannot kill the process.
pub(crate) fn read_lease(file: &File) -> Result<ReadLease<'_>, LeaseRefused> {
    ignore_sigio_if_default();
    // SAFETY: fcntl with F_SETLEASE on a valid descriptor; no memory is passed.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) } == 0 {
        return Ok(ReadLease { file });
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => Err(LeaseRefused::Writer),
        _ => Err(LeaseRefused::Unavailable),
    }
}

/// Whether some process (this one included) has `file` open for writing: a
/// read lease is refused exactly then. `None` when a lease cannot tell (not the
/// owner of the file and no `CAP_LEASE`, or a filesystem without leases).
/// `file` must be open read-only; the lease is released before returning.
pub(crate) fn open_for_writing(file: &File) -> Option<bool> {
    match read_lease(file) {
        Ok(_) => Some(false),
        Err(LeaseRefused::Writer) => Some(true),
        Err(LeaseRefused::Unavailable) => None,
    }
}

/// A read-only map of a file, valid while the lease on the file is held.
pub struct LeasedMap<'f> {
    // Declared before the lease, so the map is unmapped before the lease is
    // released.
    map: Mmap,
    _lease: ReadLease<'f>,
}

impl LeasedMap<'_> {
    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}

static SIGIO_SETUP: Once = Once::new();

fn ignore_sigio_if_default() {
    SIGIO_SETUP.call_once(|| {
        // SAFETY: sigaction with a zeroed, then filled, sigaction struct; we only
        // replace the disposition when it is SIG_DFL (terminate), never a handler
        // someone else installed.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGIO, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_DFL
            {
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = libc::SIG_IGN;
                libc::sigemptyset(&mut new.sa_mask);
                libc::sigaction(libc::SIGIO, &new, std::ptr::null_mut());
            }
        }
    });
}

/// Map `file` (opened read-only) under a read lease, or `None` when no lease can
/// be taken. The size is read again after the lease is held, so a truncation
/// that happened before it is seen.
pub fn map_leased(file: &File) -> Option<LeasedMap<'_>> {
    let lease = read_lease(file).ok()?;
    let len = match file.metadata() {
        Ok(m) if m.len() > 0 && usize::try_from(m.len()).is_ok() => m.len() as usize,
        _ => return None,
    };
    // SAFETY: the map is read-only and private to this process. The file cannot be
    // truncated below `len` while the read lease is held (module docs), and the
    // lease is held until the `LeasedMap` (which owns the map and the lease) is
    // dropped, after the map is unmapped, so no access through the map can fault.
    let map = unsafe { memmap2::MmapOptions::new().len(len).map(file) }.ok()?;
    Some(LeasedMap { map, _lease: lease })
}
