//! Compiled sets mapped into memory rather than read: a set of millions of
//! hash signatures is searched in the page cache where it lies, shared by
//! every process that loads it, and loading it costs no copy.
//!
//! A mapped file that is truncated while mapped makes every access past its
//! new end raise SIGBUS, which kills the process. A compiled set is therefore
//! mapped only when no one but its owner can write it and that owner is root
//! or the user ward runs as: the only ones who could truncate it are those who
//! choose its signatures anyway. Such a set must be replaced by renaming a
//! new file over it, as `ward sigs compile` does, never rewritten in place.
//! Any other file is read into memory instead.
//!
//! This module and the others named in `lib.rs` are the only ones that use
//! `unsafe`.

use std::fs::File;
use std::os::unix::fs::MetadataExt;

/// A read-only map of a whole file.
pub(crate) struct Mapped(memmap2::Mmap);

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Map `file` (opened read-only) when only a trusted owner can change it
/// (see the module docs); `None` when the caller should read it instead.
pub(crate) fn map(file: &File) -> Option<Mapped> {
    let meta = file.metadata().ok()?;
    let owner_trusted = meta.uid() == 0 || meta.uid() == rustix::process::geteuid().as_raw();
    if !meta.is_file() || meta.len() == 0 || meta.mode() & 0o022 != 0 || !owner_trusted {
        return None;
    }
    // SAFETY: the map is read-only and private to this process; the only
    // hazard is a truncation of the file while it is mapped (SIGBUS), and the
    // checks above leave that to the file's owner, root or this process's
    // user, who replace a compiled set by rename (see the module docs).
    let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
    Some(Mapped(map))
}
