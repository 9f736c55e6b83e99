//! The machine being audited, as a directory tree: `/` in production, a
//! mounted image, a container's filesystem or a test's fixture otherwise.
//!
//! Every path a rule names is absolute *inside* that system (`/etc/passwd`),
//! and is looked up below the root with `openat2(RESOLVE_IN_ROOT)`: a symbolic
//! link in an image (`/etc/motd -> /run/motd`, or an absolute link planted to
//! point at the auditing host) resolves as it would inside the image, never
//! outside it. Kernels without `openat2` (before 5.6) fall back to a plain
//! lookup below the root.
//!
//! User and group names are those of the audited system: they come from its
//! own `/etc/passwd` and `/etc/group`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};

/// The most of a configuration file that is read (larger ones are cut off).
const READ_CAP: u64 = 16 << 20;

/// What `stat` says about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Permission bits (`st_mode & 07777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// A directory.
    pub dir: bool,
    /// Device and inode, so that a fix acts on the file that was checked.
    pub dev_ino: (u64, u64),
}

/// One line of `/etc/passwd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The user name.
    pub name: String,
    /// The password field (`x` when the hash is in `/etc/shadow`).
    pub password: String,
    /// The user id.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
}

/// The audited system, rooted at a directory.
#[derive(Clone, Debug)]
pub struct Host {
    root: PathBuf,
}

impl Host {
    /// The system whose `/` is `root`.
    pub fn new(root: impl Into<PathBuf>) -> Host {
        Host { root: root.into() }
    }

    /// The directory the system is rooted at.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where an in-system path (`/etc/passwd`) lies on this machine.
    pub fn path(&self, abs: &Path) -> PathBuf {
        self.root.join(relative(abs))
    }

    /// Open an in-system path below the root with `flags`.
    fn open(&self, abs: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let flags = flags | OFlags::CLOEXEC;
        let rel = relative(abs);
        let root = rustix::fs::open(
            &self.root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let rel_or_dot = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel.as_path()
        };
        match rustix::fs::openat2(
            &root,
            rel_or_dot,
            flags,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(rustix::io::Errno::NOSYS) => {
                Ok(rustix::fs::openat(&root, rel_or_dot, flags, Mode::empty())?)
            }
            other => Ok(other?),
        }
    }

    /// `stat` of an in-system path (following links inside the system);
    /// `None` when it does not exist.
    pub fn stat(&self, abs: &Path) -> io::Result<Option<Meta>> {
        match self.open(abs, OFlags::PATH) {
            Ok(fd) => Ok(Some(meta(&fd)?)),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Open an in-system path to change its mode or owner: never through a
    /// symbolic link at its end, never blocking (a FIFO).
    pub(crate) fn open_for_fix(&self, abs: &Path) -> io::Result<(OwnedFd, Meta)> {
        let fd = self.open(abs, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK)?;
        let m = meta(&fd)?;
        Ok((fd, m))
    }

    /// The text of an in-system file (at most 16 MiB of it, bytes that are
    /// not UTF-8 replaced); `None` when it does not exist.
    pub fn read(&self, abs: &Path) -> io::Result<Option<String>> {
        let fd = match self.open(abs, OFlags::RDONLY | OFlags::NONBLOCK) {
            Ok(fd) => fd,
            Err(e) if missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut data = Vec::new();
        File::from(fd).take(READ_CAP).read_to_end(&mut data)?;
        Ok(Some(String::from_utf8_lossy(&data).into_owned()))
    }

    /// The names in an in-system directory, sorted; `None` when it does not
    /// exist.
    pub fn list(&self, abs: &Path) -> io::Result<Option<Vec<String>>> {
        let fd = match self.open(abs, OFlags::RDONLY | OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(e) if missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&fd)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        names.sort();
        Ok(Some(names))
    }

    /// A kernel setting (`net.ipv4.ip_forward`) from `<root>/proc/sys`,
    /// trimmed; `None` when the kernel (or the tree) has no such setting.
    pub fn sysctl(&self, name: &str) -> io::Result<Option<String>> {
        let path = sysctl_path(name);
        Ok(self.read(&path)?.map(|v| v.trim().to_owned()))
    }

    /// The accounts in `/etc/passwd`; `None` when it does not exist.
    pub fn accounts(&self) -> io::Result<Option<Vec<Account>>> {
        let Some(text) = self.read(Path::new("/etc/passwd"))? else {
            return Ok(None);
        };
        Ok(Some(
            records(&text)
                .filter_map(|f| {
                    Some(Account {
                        name: f.first()?.to_string(),
                        password: f.get(1)?.to_string(),
                        uid: f.get(2)?.parse().ok()?,
                        gid: f.get(3)?.parse().ok()?,
                    })
                })
                .collect(),
        ))
    }

    /// Group name → gid from `/etc/group` (empty when it does not exist).
    pub fn groups(&self) -> io::Result<HashMap<String, u32>> {
        let text = self.read(Path::new("/etc/group"))?.unwrap_or_default();
        Ok(records(&text)
            .filter_map(|f| Some((f.first()?.to_string(), f.get(2)?.parse().ok()?)))
            .collect())
    }

    /// Names for ids, and ids for names, as the audited system sees them.
    pub fn names(&self) -> Names {
        let users = self
            .accounts()
            .ok()
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.name, a.uid))
            .collect();
        Names {
            users,
            groups: self.groups().unwrap_or_default(),
        }
    }

    /// Installed packages from dpkg's status file: name → whether it is
    /// installed (`Status: install ok installed`, or any state past
    /// unpacking). `None` when there is no dpkg database.
    pub fn dpkg(&self) -> io::Result<Option<HashMap<String, bool>>> {
        let Some(text) = self.read(Path::new("/var/lib/dpkg/status"))? else {
            return Ok(None);
        };
        let mut out = HashMap::new();
        for stanza in text.split("\n\n") {
            let field = |name: &str| {
                stanza.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim())
                })
            };
            let (Some(pkg), Some(status)) = (field("Package"), field("Status")) else {
                continue;
            };
            let state = status.rsplit(' ').next().unwrap_or("");
            let installed = matches!(
                state,
                "installed" | "triggers-awaited" | "triggers-pending" | "half-configured"
            );
            *out.entry(pkg.to_owned()).or_insert(false) |= installed;
        }
        Ok(Some(out))
    }
}

/// User and group names of the audited system.
#[derive(Clone, Debug, Default)]
pub struct Names {
    users: HashMap<String, u32>,
    groups: HashMap<String, u32>,
}

impl Names {
    /// The uid of a user name (a number is taken as it is; `root` is 0 when
    /// the system does not list it).
    pub fn uid(&self, name: &str) -> Option<u32> {
        lookup(&self.users, name)
    }

    /// The gid of a group name, as [`Names::uid`].
    pub fn gid(&self, name: &str) -> Option<u32> {
        lookup(&self.groups, name)
    }

    /// The name of a uid, or the number.
    pub fn user(&self, uid: u32) -> String {
        reverse(&self.users, uid)
    }

    /// The name of a gid, or the number.
    pub fn group(&self, gid: u32) -> String {
        reverse(&self.groups, gid)
    }

    /// Whether a uid has an account.
    pub fn has_uid(&self, uid: u32) -> bool {
        uid == 0 || self.users.values().any(|&u| u == uid)
    }

    /// Whether a gid has a group.
    pub fn has_gid(&self, gid: u32) -> bool {
        gid == 0 || self.groups.values().any(|&g| g == gid)
    }
}

fn lookup(map: &HashMap<String, u32>, name: &str) -> Option<u32> {
    map.get(name)
        .copied()
        .or_else(|| name.parse().ok())
        .or_else(|| (name == "root").then_some(0))
}

fn reverse(map: &HashMap<String, u32>, id: u32) -> String {
    let mut names: Vec<&String> = map
        .iter()
        .filter(|(_, v)| **v == id)
        .map(|(k, _)| k)
        .collect();
    names.sort();
    match names.first() {
        Some(n) => (*n).clone(),
        None if id == 0 => "root".into(),
        None => id.to_string(),
    }
}

/// The colon-separated records of a passwd-style file, comments and blank
/// lines left out.
pub(crate) fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect())
}

/// The file of a kernel setting: `/proc/sys/net/ipv4/ip_forward`.
pub fn sysctl_path(name: &str) -> PathBuf {
    Path::new("/proc/sys").join(name.replace('.', "/"))
}

/// An in-system path made relative (its root and any `..` dropped).
fn relative(abs: &Path) -> PathBuf {
    abs.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect()
}

fn meta(fd: &impl AsFd) -> io::Result<Meta> {
    let st = rustix::fs::fstat(fd)?;
    Ok(Meta {
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        dir: rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory,
        dev_ino: (st.st_dev, st.st_ino),
    })
}

/// Not there: missing, or a component that is not a directory.
fn missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(dir.path().join("outside"), "host\n").unwrap();
        std::fs::write(root.join("inside"), "image\n").unwrap();
        // An absolute link: inside the image it names /inside.
        let target = Path::new("/").join("inside");
        std::os::unix::fs::symlink(&target, root.join("etc/motd")).unwrap();
        let h = Host::new(&root);
        assert_eq!(
            h.read(Path::new("/etc/motd")).unwrap().as_deref(),
            Some("image\n")
        );
        assert_eq!(h.read(Path::new("/etc/none")).unwrap(), None);
        assert_eq!(h.stat(Path::new("/etc/none/x")).unwrap(), None);
    }

    #[test]
    fn names_and_packages() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("passwd"),
            "root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(etc.join("group"), "root:x:0:\nshadow:x:42:\n").unwrap();
        let dpkg = dir.path().join("var/lib/dpkg");
        std::fs::create_dir_all(&dpkg).unwrap();
        std::fs::write(
            dpkg.join("status"),
            "Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: deinstall ok config-files\n",
        )
        .unwrap();
        let h = Host::new(dir.path());
        let n = h.names();
        assert_eq!(
            (n.uid("bob"), n.gid("shadow"), n.gid("nope")),
            (Some(1000), Some(42), None)
        );
        assert_eq!((n.user(1000), n.group(7)), ("bob".into(), "7".into()));
        let p = h.dpkg().unwrap().unwrap();
        assert_eq!(
            (p.get("a"), p.get("b"), p.get("c")),
            (Some(&true), Some(&false), None)
        );
    }
}
