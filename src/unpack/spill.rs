//! Where a decompressed member goes: memory up to a cap, then a file that
//! never had a name (`O_TMPFILE | O_EXCL`, so it can never be linked in),
//! mapped read-only to be scanned. Nobody else can open it (it has no path)
//! or truncate it, so the map cannot fault; it is gone when closed.
//!
//! The only `unsafe` in unpacking is the map, here.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use rustix::fs::{CWD, Mode, OFlags};

/// A member's bytes being taken out: in `buf` while they fit under the
/// memory cap, then in a spill file.
#[derive(Default)]
pub struct Scratch {
    /// Initialised up to its length, of which the first `len` bytes are the
    /// member's: growing it zeroes new bytes once, never on reuse.
    buf: Vec<u8>,
    len: usize,
    spill: Option<Spill>,
    /// Where spill files are made (default: the system's temporary directory).
    dir: Option<PathBuf>,
}

struct Spill {
    file: File,
    len: u64,
    map: Option<Mmap>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch")
            .field("buffered", &self.len)
            .field("spilled", &self.spill.as_ref().map(|s| s.len))
            .finish()
    }
}

impl Scratch {
    /// A scratch whose spill files go into `dir`.
    pub fn in_dir(dir: Option<&Path>) -> Scratch {
        Scratch {
            dir: dir.map(Path::to_owned),
            ..Scratch::default()
        }
    }

    /// Start a new member.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.spill = None;
    }

    /// Bytes taken so far.
    pub(crate) fn len(&self) -> u64 {
        self.len as u64 + self.spill.as_ref().map_or(0, |s| s.len)
    }

    /// Whether the member is in a spill file.
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// Append `bytes`; past `memory` bytes in the buffer, the buffer and all
    /// that follows go to a spill file.
    pub(crate) fn push(&mut self, bytes: &[u8], memory: u64) -> io::Result<()> {
        if let Some(s) = &mut self.spill {
            s.file.write_all(bytes)?;
            s.len += bytes.len() as u64;
            return Ok(());
        }
        if (self.len + bytes.len()) as u64 <= memory {
            let end = self.len + bytes.len();
            if self.buf.len() < end {
                self.buf.resize(end, 0);
            }
            self.buf[self.len..end].copy_from_slice(bytes);
            self.len = end;
            return Ok(());
        }
        let mut file = tmpfile(self.dir.as_deref())?;
        file.write_all(&self.buf[..self.len])?;
        file.write_all(bytes)?;
        let len = (self.len + bytes.len()) as u64;
        // Its memory goes back at once: the member is on disk from now on.
        self.buf = Vec::new();
        self.len = 0;
        self.spill = Some(Spill {
            file,
            len,
            map: None,
        });
        Ok(())
    }

    /// The member's bytes: the buffer, or the spill file mapped.
    pub(crate) fn finish(&mut self) -> io::Result<&[u8]> {
        let Some(s) = &mut self.spill else {
            return Ok(&self.buf[..self.len]);
        };
        if s.len == 0 {
            return Ok(&[]);
        }
        if s.map.is_none() {
            let len = usize::try_from(s.len).map_err(io::Error::other)?;
            // SAFETY: the file was made with O_TMPFILE | O_EXCL and never had
            // a name, so no other process can open it (short of ptrace-level
            // access to this one) to write or truncate it, and this process
            // writes it no more once mapped: the mapped bytes stay valid and
            // unchanged for the map's lifetime, which ends with the Spill.
            let map = unsafe { memmap2::MmapOptions::new().len(len).map(&s.file) }?;
            s.map = Some(map);
        }
        Ok(s.map.as_deref().unwrap_or(&[]))
    }

    /// Read at most `want` bytes from `reader` onto the end; past `memory`
    /// bytes, into the spill file. The number read (0 at the end).
    pub(crate) fn fill_from(
        &mut self,
        reader: &mut dyn Read,
        want: usize,
        memory: u64,
    ) -> io::Result<usize> {
        if self.spill.is_none() && (self.len + want) as u64 <= memory {
            let end = self.len + want;
            if self.buf.len() < end {
                // Room for the next reads too: grown (and zeroed) rarely.
                self.buf
                    .resize(end.max(2 * self.buf.len()).min(memory as usize), 0);
            }
            let n = reader.read(&mut self.buf[self.len..end])?;
            self.len += n;
            return Ok(n);
        }
        let mut chunk = vec![0u8; want];
        let n = reader.read(&mut chunk)?;
        self.push(&chunk[..n], memory)?;
        Ok(n)
    }

    /// Capacity held in memory (spill files are not memory).
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Drop the buffer's memory.
    pub(crate) fn release(&mut self) {
        self.buf = Vec::new();
        self.len = 0;
        self.spill = None;
    }
}

/// A new file with no name in `dir` (or the temporary directory), for
/// reading and writing, mode 0600.
fn tmpfile(dir: Option<&Path>) -> io::Result<File> {
    let dir = dir.map_or_else(std::env::temp_dir, Path::to_owned);
    let flags = OFlags::RDWR | OFlags::TMPFILE | OFlags::EXCL | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(CWD, &dir, flags, Mode::from_raw_mode(0o600)).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("spill file in {}: {e}", dir.display()),
        )
    })?;
    Ok(File::from(fd))
}
