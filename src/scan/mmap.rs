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

/// A read-only map of a file, valid while the lease on the file is held.
pub struct LeasedMap<'f> {
    map: Mmap,
    file: &'f File,
}

impl LeasedMap<'_> {
    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for LeasedMap<'_> {
    fn drop(&mut self) {
        // The map is unmapped after this body runs (fields drop after `drop`), but no
        // reference to its bytes can outlive `self`, so releasing first is safe: the
        // bytes are never touched again.
        // SAFETY: fcntl with F_SETLEASE on a valid open descriptor; no memory is passed.
        unsafe {
            libc::fcntl(self.file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK);
        }
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
    ignore_sigio_if_default();
    let fd = file.as_raw_fd();
    // SAFETY: fcntl with F_SETLEASE on a valid descriptor; no memory is passed.
    if unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) } != 0 {
        return None;
    }
    let release = || {
        // SAFETY: as above.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
    };
    let len = match file.metadata() {
        Ok(m) if m.len() > 0 && usize::try_from(m.len()).is_ok() => m.len() as usize,
        _ => {
            release();
            return None;
        }
    };
    // SAFETY: the map is read-only and private to this process. The file cannot be
    // truncated below `len` while the read lease is held (module docs), and the
    // lease is held until the `LeasedMap` (which owns the map) is dropped, so no
    // access through the map can fault.
    match unsafe { memmap2::MmapOptions::new().len(len).map(file) } {
        Ok(map) => Some(LeasedMap { map, file }),
        Err(_) => {
            release();
            None
        }
    }
}
