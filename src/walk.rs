//! Which files to visit: recursive walk with exclusions, one-file-system, symlink
//! policy, and the pseudo filesystems skipped when walking from `/`.
//!
//! **Any depth.** Directories are opened relative to their parent's descriptor
//! (`openat` with `O_NOFOLLOW`), never by their full path, so a tree deeper
//! than `PATH_MAX` is walked whole; only the paths reported grow. The walk
//! keeps its own stack (no recursion, so no stack overflow) and holds the
//! descriptors of the deepest [`HELD`] directories at most: going back up past
//! them, a directory is reopened as `..` of its child and checked to be the
//! very directory (device, inode) that was entered. A directory's names are
//! read whole when it is entered, so no directory stream stays open either.

use std::ffi::{OsStr, OsString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RawDir};

/// Walk settings. Defaults: don't follow symlinks, cross filesystems, no exclusions.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    follow_symlinks: bool,
    one_file_system: bool,
    exclude: Vec<String>,
    exclude_dir: Vec<String>,
}

/// A bad `--exclude` pattern.
#[derive(Debug, thiserror::Error)]
#[error("bad glob '{glob}': {reason}")]
pub struct GlobError {
    /// The pattern.
    pub glob: String,
    /// What is wrong with it.
    pub reason: String,
}

impl WalkOptions {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Follow symbolic links to files and directories (default: off; links named
    /// as roots are always followed).
    pub fn follow_symlinks(&mut self, yes: bool) -> &mut Self {
        self.follow_symlinks = yes;
        self
    }

    /// Stay on the filesystem of each root (default: off).
    pub fn one_file_system(&mut self, yes: bool) -> &mut Self {
        self.one_file_system = yes;
        self
    }

    /// Skip files whose name or path matches `glob`.
    pub fn exclude(&mut self, glob: &str) -> &mut Self {
        self.exclude.push(glob.to_owned());
        self
    }

    /// Don't descend into directories whose name or path matches `glob`.
    pub fn exclude_dir(&mut self, glob: &str) -> &mut Self {
        self.exclude_dir.push(glob.to_owned());
        self
    }

    /// Check the globs and start walking `roots`.
    pub fn walk(&self, roots: impl IntoIterator<Item = PathBuf>) -> Result<Walk, GlobError> {
        Ok(Walk {
            roots: roots.into_iter().collect::<Vec<_>>().into_iter(),
            files: globset(&self.exclude)?,
            dirs: globset(&self.exclude_dir)?,
            opts: self.clone(),
            path: PathBuf::new(),
            stack: Vec::new(),
            low: 0,
            root_dev: 0,
            from_slash: false,
            entered: false,
            pending: None,
            root: PathBuf::new(),
            buf: Vec::new(),
        })
    }
}

fn globset(globs: &[String]) -> Result<GlobSet, GlobError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|e| GlobError {
            glob: g.clone(),
            reason: e.kind().to_string(),
        })?);
    }
    b.build().map_err(|e| GlobError {
        glob: globs.join(" "),
        reason: e.to_string(),
    })
}

fn matches(set: &GlobSet, path: &Path) -> bool {
    !set.is_empty() && (set.is_match(path) || path.file_name().is_some_and(|n| set.is_match(n)))
}

/// Pseudo filesystems whose files are not files: never walked into from `/`.
const PSEUDO: [&str; 3] = ["/proc", "/sys", "/dev"];

/// Directory descriptors held at most: the deepest directories of the walk.
/// Above them, going back up costs one `openat(child, "..")` per level.
pub const HELD: usize = 32;

/// Bytes of directory entries read per `getdents64` call.
const DIRENT_BUF: usize = 32 << 10;

/// One thing the walk found.
#[derive(Debug)]
pub enum Entry {
    /// A regular file.
    File(PathBuf),
    /// Neither a regular file nor a directory: a symbolic link not followed,
    /// a FIFO, a socket, a device.
    Other(PathBuf),
    /// A directory entered.
    Dir(PathBuf),
    /// Something that could not be read.
    Error(PathBuf, io::Error),
}

/// A directory on the walk's stack.
struct Frame {
    /// Its descriptor (`O_RDONLY | O_DIRECTORY`), while it is one of the
    /// [`HELD`] deepest.
    fd: Option<OwnedFd>,
    /// (device, inode): what a reopened descriptor must be.
    id: (u64, u64),
    /// Its name in its parent (empty for a root).
    name: OsString,
    /// Entered through a symbolic link: its `..` is not the frame below.
    via_link: bool,
    /// Names not visited yet, last first; `None` until read.
    names: Option<Vec<(OsString, FileType)>>,
}

/// The walk: an iterator of [`Entry`].
pub struct Walk {
    roots: std::vec::IntoIter<PathBuf>,
    files: GlobSet,
    dirs: GlobSet,
    opts: WalkOptions,
    /// The path of the directory on top of the stack.
    path: PathBuf,
    stack: Vec<Frame>,
    /// Index of the first frame that holds its descriptor: those that do are
    /// always the top of the stack, `stack[low..]`.
    low: usize,
    root_dev: u64,
    from_slash: bool,
    /// The last entry was a directory entered (its names not read yet).
    entered: bool,
    /// An entry to return before going on (a directory that could not be
    /// reopened on the way back up).
    pending: Option<Entry>,
    /// The root being walked.
    root: PathBuf,
    buf: Vec<MaybeUninit<u8>>,
}

impl std::fmt::Debug for Walk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("path", &self.path)
            .field("depth", &self.stack.len())
            .finish()
    }
}

fn err(e: rustix::io::Errno) -> io::Error {
    e.into()
}

#[allow(clippy::unnecessary_cast)]
fn identity(st: &rustix::fs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

impl Walk {
    /// The directory just returned as [`Entry::Dir`]: the descriptor it was
    /// entered through, for watching or marking it without a path. `None` once
    /// the walk has moved on.
    pub fn dir_fd(&self) -> Option<BorrowedFd<'_>> {
        match self.entered {
            true => self.stack.last()?.fd.as_ref().map(|fd| fd.as_fd()),
            false => None,
        }
    }

    /// Don't descend into the directory just returned as [`Entry::Dir`].
    pub fn skip_current_dir(&mut self) {
        if self.entered {
            self.entered = false;
            self.pop();
        }
    }

    /// How many directory descriptors the walk holds now (at most [`HELD`]).
    pub fn held(&self) -> usize {
        self.stack.len() - self.low
    }

    fn start(&mut self, root: PathBuf) -> Option<Entry> {
        let (dir, rel) = match crate::fsops::resolve_long(&root) {
            Ok(x) => x,
            Err(e) => return Some(Entry::Error(root, e)),
        };
        let at = dir.as_ref().map_or(CWD, |d| d.as_fd());
        // A link named as a root is followed, as users expect of a path they typed.
        let st = match rustix::fs::statat(at, rel, AtFlags::empty()) {
            Ok(st) => st,
            Err(e) => return Some(Entry::Error(root, err(e))),
        };
        if !FileType::from_raw_mode(st.st_mode).is_dir() {
            let is_link = rustix::fs::statat(at, rel, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|l| FileType::from_raw_mode(l.st_mode) == FileType::Symlink);
            if is_link {
                return Some(match root.canonicalize() {
                    Ok(target) => Entry::File(target),
                    Err(e) => Entry::Error(root, e),
                });
            }
            return Some(Entry::File(root));
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(at, rel, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => return Some(Entry::Error(root, err(e))),
        };
        self.root_dev = identity(&st).0;
        self.from_slash = root == Path::new("/");
        self.stack.push(Frame {
            fd: Some(fd),
            id: identity(&st),
            name: OsString::new(),
            via_link: false,
            names: None,
        });
        self.low = 0;
        self.path = root.clone();
        self.root = root.clone();
        self.entered = true;
        Some(Entry::Dir(root))
    }

    /// Leave the top directory: drop its frame, reopening the one below as its
    /// `..` if that one's descriptor had been let go.
    fn pop(&mut self) {
        let Some(top) = self.stack.pop() else { return };
        let depth = self.stack.len();
        if depth == 0 {
            self.path = PathBuf::new();
            self.low = 0;
            return;
        }
        self.path.pop();
        if self.low == depth {
            self.low = depth - 1;
            let reopened = match (&top.fd, top.via_link) {
                (Some(child), false) => self.reopen_up(child, depth - 1),
                _ => self.reopen_down(depth - 1),
            };
            if let Err(why) = reopened {
                // Moved or replaced while below it: give up on the rest of it.
                self.stack[depth - 1].names = Some(Vec::new());
                self.pending = Some(Entry::Error(self.path.clone(), why));
            }
        }
    }

    /// Reopen frame `k` as `..` of its child's descriptor.
    fn reopen_up(&mut self, child: &OwnedFd, k: usize) -> io::Result<()> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(child, "..", flags, Mode::empty()).map_err(err)?;
        self.adopt(fd, k)
    }

    /// Reopen frame `k` from the root down, name by name (a directory entered
    /// through a link cannot be reached as `..` of its child).
    fn reopen_down(&mut self, k: usize) -> io::Result<()> {
        let (dir, rel) = crate::fsops::resolve_long(&self.root)?;
        let at = dir.as_ref().map_or(CWD, |d| d.as_fd());
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut fd = rustix::fs::openat(at, rel, flags, Mode::empty()).map_err(err)?;
        for i in 0..=k {
            if i > 0 {
                let frame = &self.stack[i];
                let follow = match frame.via_link {
                    true => OFlags::empty(),
                    false => OFlags::NOFOLLOW,
                };
                fd = rustix::fs::openat(&fd, &frame.name, flags | follow, Mode::empty())
                    .map_err(err)?;
            }
            let st = rustix::fs::fstat(&fd).map_err(err)?;
            if identity(&st) != self.stack[i].id {
                return Err(io::Error::other(MOVED));
            }
        }
        self.stack[k].fd = Some(fd);
        Ok(())
    }

    /// Take `fd` as frame `k`'s descriptor if it is that directory.
    fn adopt(&mut self, fd: OwnedFd, k: usize) -> io::Result<()> {
        let st = rustix::fs::fstat(&fd).map_err(err)?;
        if identity(&st) != self.stack[k].id {
            return Err(io::Error::other(MOVED));
        }
        self.stack[k].fd = Some(fd);
        Ok(())
    }

    /// The names in the top directory, last first.
    fn read_names(&mut self) -> io::Result<Vec<(OsString, FileType)>> {
        let Some(fd) = self.stack.last().and_then(|f| f.fd.as_ref()) else {
            return Ok(Vec::new());
        };
        if self.buf.len() < DIRENT_BUF {
            self.buf.resize(DIRENT_BUF, MaybeUninit::uninit());
        }
        let mut names = Vec::new();
        let mut dir = RawDir::new(fd, &mut self.buf);
        while let Some(entry) = dir.next() {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push((OsStr::from_bytes(name).to_owned(), entry.file_type()));
            }
        }
        names.reverse();
        Ok(names)
    }

    /// Look at `name` in the top directory: the entry to return, if any.
    fn visit(&mut self, name: OsString, ftype: FileType) -> Option<Entry> {
        let child = self.path.join(&name);
        let dirfd = self.stack.last()?.fd.as_ref()?;
        let mut ftype = ftype;
        if ftype == FileType::Unknown {
            // A filesystem that does not fill in d_type.
            match rustix::fs::statat(dirfd, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => ftype = FileType::from_raw_mode(st.st_mode),
                Err(rustix::io::Errno::NOENT) => return None,
                Err(e) => return Some(Entry::Error(child, err(e))),
            }
        }
        let mut via_link = false;
        if ftype == FileType::Symlink && self.opts.follow_symlinks {
            match rustix::fs::statat(dirfd, &name, AtFlags::empty()) {
                Ok(st) => {
                    ftype = FileType::from_raw_mode(st.st_mode);
                    via_link = true;
                }
                Err(e) => return Some(Entry::Error(child, err(e))),
            }
        }
        if !ftype.is_dir() {
            if matches(&self.files, &child) {
                return None;
            }
            return Some(match ftype {
                FileType::RegularFile => Entry::File(child),
                _ => Entry::Other(child),
            });
        }
        let pseudo = self.from_slash && PSEUDO.iter().any(|p| child == Path::new(p));
        if pseudo || matches(&self.dirs, &child) {
            return None;
        }
        let flags = match via_link {
            true => OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            false => OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        };
        let fd = match rustix::fs::openat(dirfd, &name, flags, Mode::empty()) {
            Ok(fd) => fd,
            // Gone since the directory was read.
            Err(rustix::io::Errno::NOENT) => return None,
            Err(e) => return Some(Entry::Error(child, err(e))),
        };
        let id = match rustix::fs::fstat(&fd) {
            Ok(st) => identity(&st),
            Err(e) => return Some(Entry::Error(child, err(e))),
        };
        if self.opts.one_file_system && id.0 != self.root_dev {
            return None;
        }
        if via_link && self.stack.iter().any(|f| f.id == id) {
            return Some(Entry::Error(
                child,
                io::Error::other("file system loop: a link to a directory that holds it"),
            ));
        }
        self.stack.push(Frame {
            fd: Some(fd),
            id,
            name,
            via_link,
            names: None,
        });
        if self.stack.len() - self.low > HELD {
            self.stack[self.low].fd = None;
            self.low += 1;
        }
        self.path = child.clone();
        self.entered = true;
        Some(Entry::Dir(child))
    }
}

/// Why a directory could not be reopened on the way back up.
const MOVED: &str = "directory moved or replaced during the walk; the rest of it was not walked";

impl Iterator for Walk {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            if let Some(e) = self.pending.take() {
                return Some(e);
            }
            self.entered = false;
            let Some(top) = self.stack.last_mut() else {
                let root = self.roots.next()?;
                if let Some(e) = self.start(root) {
                    return Some(e);
                }
                continue;
            };
            if top.names.is_none() {
                let names = self.read_names();
                let top = self.stack.last_mut()?;
                match names {
                    Ok(n) => top.names = Some(n),
                    Err(e) => {
                        top.names = Some(Vec::new());
                        return Some(Entry::Error(self.path.clone(), e));
                    }
                }
                continue;
            }
            let next = top.names.as_mut().and_then(Vec::pop);
            let Some((name, ftype)) = next else {
                self.pop();
                continue;
            };
            if let Some(e) = self.visit(name, ftype) {
                return Some(e);
            }
        }
    }
}
