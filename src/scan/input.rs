//! Getting a file's bytes safely: open without following a final symlink and
//! without blocking, check the descriptor is a regular file, then read it into a
//! reused buffer or map it under a lease (`scan::mmap`).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};

use super::mmap::{self, LeasedMap};

/// Files at least this large are mapped (when a lease can be had) rather than
/// read. `cargo bench --bench input` (group `load`) measures the crossover:
/// reading wins up to 1 MiB (45 µs vs 63 µs), mapping from 2 MiB on (56 µs vs
/// 93 µs; 2.3 ms vs 6.3 ms at 64 MiB), warm cache.
pub const MMAP_THRESHOLD: u64 = 2 << 20;

/// How much more than its reported size is read from a file: files grow while
/// being read. Bounded so that a file written endlessly cannot make the scan
/// endless; what is scanned always covers the size the file had when opened.
const READ_SLACK: u64 = 1 << 20;

/// The most bytes read into memory from one file. Larger files are mapped (under
/// a lease) or, when they cannot be, reported as not scanned. Files that report
/// size 0 (in /proc and /sys) are read to their end within this limit.
pub const MAX_READ: u64 = 1 << 30;

/// What is at a path, when it is not a regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecialKind {
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A symbolic link (not followed).
    Symlink,
}

impl SpecialKind {
    /// A word for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialKind::Directory => "directory",
            SpecialKind::Fifo => "FIFO",
            SpecialKind::Socket => "socket",
            SpecialKind::CharDevice => "character device",
            SpecialKind::BlockDevice => "block device",
            SpecialKind::Symlink => "symbolic link",
        }
    }
}

/// An opened regular file and its size at open time.
pub struct Opened {
    /// The descriptor.
    pub file: File,
    /// Size from `fstat`.
    pub size: u64,
}

/// The outcome of [`open`].
pub enum OpenOutcome {
    /// A regular file.
    Regular(Opened),
    /// Something else, not to be read.
    Special(SpecialKind),
}

/// Open `path` read-only with `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC` (and
/// `O_NOATIME` where permitted), then classify the descriptor. A path of any
/// length is opened: one of `PATH_MAX` bytes or more is looked up a piece at a
/// time (`fsops::resolve_long`).
pub fn open(path: &Path) -> io::Result<OpenOutcome> {
    let (dir, rel) = crate::fsops::resolve_long(path)?;
    let at = dir.as_ref().map_or(CWD, |d| d.as_fd());
    let base = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat(at, rel, base | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => rustix::fs::openat(at, rel, base, Mode::empty()),
        other => other,
    };
    let file = match fd {
        Ok(fd) => File::from(fd),
        // Sockets can't be opened at all (ENXIO), symlinks not with O_NOFOLLOW
        // (ELOOP): classify what is there instead of reporting an error.
        Err(e) => {
            return match rustix::fs::statat(at, rel, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => match special_kind(st.st_mode) {
                    Some(kind) => Ok(OpenOutcome::Special(kind)),
                    None => Err(e.into()),
                },
                Err(_) => Err(e.into()),
            };
        }
    };
    let st = rustix::fs::fstat(&file)?;
    if let Some(kind) = special_kind(st.st_mode) {
        return Ok(OpenOutcome::Special(kind));
    }
    Ok(OpenOutcome::Regular(Opened {
        size: u64::try_from(st.st_size).unwrap_or(0),
        file,
    }))
}

/// `None` for a regular file, else what it is.
pub(crate) fn special_kind(mode: u32) -> Option<SpecialKind> {
    Some(match FileType::from_raw_mode(mode) {
        FileType::RegularFile => return None,
        FileType::Directory => SpecialKind::Directory,
        FileType::Symlink => SpecialKind::Symlink,
        FileType::Fifo => SpecialKind::Fifo,
        FileType::Socket => SpecialKind::Socket,
        FileType::CharacterDevice => SpecialKind::CharDevice,
        _ => SpecialKind::BlockDevice,
    })
}

/// A file's bytes: borrowed from the reusable buffer or from a leased map.
pub enum Data<'a> {
    /// Read into the buffer.
    Buffer(&'a [u8]),
    /// Mapped.
    Mapped(LeasedMap<'a>),
}

impl Data<'_> {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Data::Buffer(b) => b,
            Data::Mapped(m) => m.bytes(),
        }
    }
}

/// Load an opened file: map it when large and a lease is available, else read at
/// most `limit` bytes into `buf`.
///
/// `buf` is scratch space: it is grown as needed and never shrunk or cleared,
/// so its bytes stay initialised and reusing it costs no zeroing; only the
/// returned slice holds the file.
///
/// A file that cannot be mapped and is larger than [`MAX_READ`] is an error of
/// kind [`io::ErrorKind::FileTooLarge`]. A file that reports size 0 (such as
/// those in /proc) is read to its end, but at most `min(limit, MAX_READ) + 1`
/// bytes: a result longer than `limit` or [`MAX_READ`] means the file is over it.
pub fn load<'a>(
    opened: &'a Opened,
    buf: &'a mut Vec<u8>,
    limit: u64,
    allow_mmap: bool,
) -> io::Result<Data<'a>> {
    if allow_mmap
        && opened.size >= MMAP_THRESHOLD
        && opened.size <= limit
        && let Some(map) = mmap::map_leased(&opened.file)
    {
        return Ok(Data::Mapped(map));
    }
    if opened.size > MAX_READ {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            "too large to read into memory",
        ));
    }
    let cap = limit.min(MAX_READ);
    let want = match opened.size {
        0 => cap.saturating_add(1),
        size => size.saturating_add(READ_SLACK).min(cap),
    };
    let n = read_into(&opened.file, buf, opened.size, want as usize)?;
    Ok(Data::Buffer(&buf[..n]))
}

/// Read at most `want` bytes of `file` into the front of `scratch`; the number
/// read. The first read asks for one byte more than the `expect`ed size: when
/// it comes back short at or past that size, the end has been reached (a
/// regular file reads short only at its end), and the read that would return 0
/// to say so is saved: one `read` per file instead of two. Files that report
/// size 0 (/proc, which reads a page at a time) are read until `read` returns 0.
fn read_into(
    mut file: &File,
    scratch: &mut Vec<u8>,
    expect: u64,
    want: usize,
) -> io::Result<usize> {
    let mut n = 0;
    let mut goal = (expect.saturating_add(1).max(8192) as usize).min(want);
    loop {
        if n == goal {
            if goal >= want {
                return Ok(n);
            }
            goal = goal.saturating_mul(2).min(want);
        }
        if scratch.len() < goal {
            scratch.resize(goal, 0);
        }
        match file.read(&mut scratch[n..goal]) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if expect > 0 && n as u64 >= expect && n < goal {
            return Ok(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::OwnedFd;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        let f = File::open(&path).unwrap();
        (dir, f)
    }

    #[test]
    fn reads_the_whole_file_into_dirty_scratch() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (_d, f) = file_with(&data);
        // Scratch left over from a larger file: only the returned length counts.
        let mut scratch = vec![0xaa; 300_000];
        let n = read_into(&f, &mut scratch, data.len() as u64, usize::MAX).unwrap();
        assert_eq!(&scratch[..n], &data[..]);
    }

    #[test]
    fn a_file_longer_or_shorter_than_reported_is_read_to_its_end() {
        let data = vec![7u8; 50_000];
        // Grew after fstat: read on, within `want`.
        let (_d, f) = file_with(&data);
        let mut scratch = Vec::new();
        assert_eq!(
            read_into(&f, &mut scratch, 10_000, usize::MAX).unwrap(),
            50_000
        );
        let (_d, f) = file_with(&data);
        assert_eq!(read_into(&f, &mut scratch, 10_000, 20_000).unwrap(), 20_000);
        // Shorter than reported (as sysfs files report 4096).
        let (_d, f) = file_with(b"abc\n");
        assert_eq!(read_into(&f, &mut scratch, 4096, usize::MAX).unwrap(), 4);
        assert_eq!(&scratch[..4], b"abc\n");
    }

    #[test]
    fn size_zero_sources_are_read_until_end_despite_short_reads() {
        let (r, mut w) = std::io::pipe().unwrap();
        let writer = std::thread::spawn(move || {
            for i in 0..20u8 {
                w.write_all(&[i; 1000]).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        let f = File::from(OwnedFd::from(r));
        let mut scratch = Vec::new();
        let n = read_into(&f, &mut scratch, 0, usize::MAX).unwrap();
        writer.join().unwrap();
        assert_eq!(n, 20_000);
        assert!(
            scratch[..n]
                .chunks(1000)
                .enumerate()
                .all(|(i, c)| c.iter().all(|&b| b == i as u8))
        );
    }
}
