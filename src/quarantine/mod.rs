//! The quarantine vault: detected files are moved into `<home>/quarantine`,
//! neutralised, with enough metadata to put them back exactly.
//!
//! Three guarantees shape this module:
//!
//! - **Act on what was scanned.** [`Target::open`] walks the parents with
//!   `openat` and `O_NOFOLLOW` (no component is followed as a symbolic link) and
//!   opens the file once; that descriptor is scanned
//!   ([`crate::Scanner::scan_opened`]) and copied into the vault. Before the
//!   original is unlinked (relative to the parent descriptor that was walked,
//!   never by path), its (device, inode) must still be the scanned descriptor's
//!   and its size, mtime and ctime those it had when opened for the scan;
//!   otherwise nothing is removed and [`VaultError::Changed`] is returned. A
//!   file open for writing is not taken ([`VaultError::InUse`]): a read lease
//!   is held from before the copy until after the unlink (see
//!   [`Vault::quarantine`]).
//! - **Never lose the file.** The payload is written to a temporary name in the
//!   vault, fsynced, renamed and the vault directory fsynced; the metadata is
//!   committed the same way; only then is the original unlinked. A copy, not a
//!   rename, so it works across filesystems. [`Vault::open`] finishes or cleans
//!   what an interrupted run left behind, and [`Vault::quarantine`] completes an
//!   entry whose original was not yet removed instead of storing it twice.
//! - **Neutralised.** Payloads are XORed with a random per-entry key and stored
//!   with mode 0600, so no scanner detects them and they cannot be executed.
//!
//! ```no_run
//! use ward::quarantine::{Outcome, RestoreOptions, Vault};
//!
//! let set = ward::SignatureSet::builtin();
//! let mut scanner = ward::Scanner::new(&set);
//! let vault = Vault::open("/var/lib/ward")?;
//! let Outcome { report, quarantine, .. } =
//!     vault.scan_and_quarantine(&mut scanner, "/srv/upload/x.bin".as_ref());
//! if let Some(Ok(id)) = quarantine {
//!     println!("{}: quarantined as {id}", report.path.display());
//!     vault.restore(&id, RestoreOptions::new().force(false))?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod meta;
mod target;

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::encoding::{encode_path, hex, rfc3339, unhex};
use crate::fsops;
pub use crate::home::{ALLOW_LIST, default_home, read_allow_list};
use crate::home::{HomeError, open_checked, open_home};
use crate::scan::mmap::{LeaseRefused, ReadLease, read_lease};
use crate::scan::{FileReport, Match, ScanError, Scanner, SkipReason, Verdict};
pub use meta::Entry;
use meta::Record;
pub use target::{Target, TargetOpen};
use target::{Version, identity, times};

/// The vault's directory name inside the home.
const VAULT_DIR: &str = "quarantine";
/// Prefix of temporary names inside the vault.
const TMP_PREFIX: &str = ".tmp-";
/// Length of the per-entry XOR key.
const KEY_LEN: usize = 32;
/// Metadata files larger than this are not read.
const MAX_RECORD: u64 = 1 << 20;

/// Why a vault operation failed. Every variant names the path or entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The home or the vault is a symbolic link.
    #[error("{}: is a symbolic link; refusing to use it", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// The home or the vault is not a directory.
    #[error("{}: is not a directory; refusing to use it", path.display())]
    NotDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The home or the vault (or the allow list) is writable by group or others.
    #[error("{}: is writable by group or others (mode {mode:04o}); refusing to use it", path.display())]
    Writable {
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The home or the vault (or the allow list) belongs to another user.
    #[error("{}: is owned by uid {owner}, not by the running user (uid {user}); refusing to use it", path.display())]
    Owner {
        /// The path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The running (effective) user.
        user: u32,
    },
    /// Not a well-formed entry id (16 lowercase hex digits).
    #[error("'{id}' is not a quarantine entry id")]
    BadId {
        /// What was given.
        id: String,
    },
    /// No such entry.
    #[error("no quarantine entry {id}")]
    NotFound {
        /// The id.
        id: String,
    },
    /// The entry's metadata cannot be used.
    #[error("quarantine entry {id}: bad metadata: {reason}")]
    BadMetadata {
        /// The id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// The stored payload does not hash to the recorded sha256.
    #[error("quarantine entry {id}: stored payload does not match its sha256; not restored")]
    Corrupt {
        /// The id.
        id: String,
    },
    /// The restore destination exists and overwriting was not asked for.
    #[error("{}: already exists; not overwriting it (use force to replace it)", path.display())]
    Exists {
        /// The destination.
        path: PathBuf,
    },
    /// The path no longer names the scanned file: it was replaced, moved, or a
    /// parent was swapped. Nothing was removed.
    #[error("{}: no longer the file that was scanned (replaced, moved or modified); nothing removed", path.display())]
    Changed {
        /// The original path.
        path: PathBuf,
    },
    /// Someone has the file open for writing (or opened it for writing while it
    /// was being copied): what is copied now could be missing what is written
    /// next. Nothing was moved or removed; try again once the writer has closed
    /// it.
    #[error("{}: file is open for writing; not moved", path.display())]
    InUse {
        /// The original path.
        path: PathBuf,
    },
}

impl From<HomeError> for VaultError {
    fn from(e: HomeError) -> VaultError {
        match e {
            HomeError::Io { path, source } => VaultError::Io { path, source },
            HomeError::Symlink { path } => VaultError::Symlink { path },
            HomeError::NotDirectory { path } => VaultError::NotDirectory { path },
            HomeError::Writable { path, mode } => VaultError::Writable { path, mode },
            HomeError::Owner { path, owner, user } => VaultError::Owner { path, owner, user },
        }
    }
}

fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> VaultError {
    let path = path.into();
    move |source| VaultError::Io { path, source }
}

/// A scan report and, for an infected file, what became of it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The scan report.
    pub report: FileReport,
    /// `None` when nothing was found (or the file was not scanned); else the
    /// entry id, or why the file could not be quarantined.
    pub quarantine: Option<Result<String, VaultError>>,
}

impl From<FileReport> for Outcome {
    fn from(report: FileReport) -> Outcome {
        Outcome {
            report,
            quarantine: None,
        }
    }
}

/// How [`Vault::restore`] places a file. Defaults: the original path, never
/// overwrite, don't add to the allow list.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    to: Option<PathBuf>,
    force: bool,
    allow: bool,
}

impl RestoreOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restore to `path` instead of the original path (default: the original).
    pub fn to(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.to = Some(path.into());
        self
    }

    /// Replace an existing file at the destination (default: no, refuse).
    pub fn force(&mut self, yes: bool) -> &mut Self {
        self.force = yes;
        self
    }

    /// Add the file's sha256 to the home's allow list (default: no).
    pub fn allow(&mut self, yes: bool) -> &mut Self {
        self.allow = yes;
        self
    }
}

/// What the vault knows about an entry, to finish an interrupted quarantine
/// instead of storing the same file twice.
struct Known {
    id: String,
    sha256: String,
    path: Vec<u8>,
    ctime: (i64, u32),
}

impl Known {
    fn of(r: &Record) -> Known {
        Known {
            id: r.id.clone(),
            sha256: r.sha256.clone(),
            path: r.path_bytes().unwrap_or_default(),
            ctime: (r.ctime, r.ctime_nsec),
        }
    }

    fn same_file(&self, other: &Known) -> bool {
        self.sha256 == other.sha256 && self.path == other.path && self.ctime == other.ctime
    }
}

type BeforeRemove = Box<dyn Fn(&Path) + Send + Sync>;

/// Committed entries by the (device, inode) the original had.
type Index = HashMap<(u64, u64), Vec<Known>>;

/// An open, checked vault. Shared by threads (`&self` everywhere); several
/// processes may use one vault at once (a shared lock on the vault directory;
/// clean-up runs only under the exclusive lock).
pub struct Vault {
    home: PathBuf,
    path: PathBuf,
    home_fd: OwnedFd,
    dir: OwnedFd,
    index: Mutex<Option<Index>>,
    before_remove: Option<BeforeRemove>,
    leases: bool,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("path", &self.path).finish()
    }
}

/// Whether `id` has the form of an entry id.
fn valid_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn payload_name(id: &str) -> OsString {
    format!("{id}.bin").into()
}

fn record_name(id: &str) -> OsString {
    format!("{id}.json").into()
}

impl Vault {
    /// Open (creating when missing) the vault `<home>/quarantine`, mode 0700.
    /// Refuses a home or vault that is a symbolic link, not a directory, owned by
    /// another user, or writable by group or others. Cleans up what an
    /// interrupted run left: temporary files, payloads without metadata.
    pub fn open(home: impl AsRef<Path>) -> Result<Vault, VaultError> {
        let home = home.as_ref();
        let home_fd = open_home(home, true)?.ok_or_else(|| VaultError::NotDirectory {
            path: home.to_owned(),
        })?;
        let path = home.join(VAULT_DIR);
        let dir = open_checked(Some(&home_fd), VAULT_DIR.as_ref(), &path, true)?;
        let vault = Vault {
            home: home.to_owned(),
            path,
            home_fd,
            dir,
            index: Mutex::new(None),
            before_remove: None,
            leases: true,
        };
        vault.recover()?;
        Ok(vault)
    }

    /// The vault directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state directory (home) that holds the vault and the allow list.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Test seam: called with the original path after the entry is committed and
    /// before the original is checked and removed.
    #[doc(hidden)]
    pub fn set_before_remove_hook(&mut self, hook: impl Fn(&Path) + Send + Sync + 'static) {
        self.before_remove = Some(Box::new(hook));
    }

    /// Test seam: whether [`Vault::quarantine`] takes a read lease on the file
    /// (default: yes), to exercise the behaviour where leases cannot be had.
    #[doc(hidden)]
    pub fn set_use_leases(&mut self, yes: bool) {
        self.leases = yes;
    }

    fn in_vault(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// Under the exclusive lock (when no other process has the vault open):
    /// remove temporary files, payloads whose metadata never committed, and
    /// metadata without a payload. Then hold a shared lock for as long as the
    /// vault is open.
    fn recover(&self) -> Result<(), VaultError> {
        let lock_err = io_err(&self.path);
        if !fsops::lock(&self.dir, true).map_err(lock_err)? {
            return fsops::lock(&self.dir, false)
                .map(drop)
                .map_err(io_err(&self.path));
        }
        let names = fsops::list(&self.dir).map_err(io_err(&self.path))?;
        let present: std::collections::HashSet<&[u8]> =
            names.iter().map(|n| n.as_bytes()).collect();
        let mut changed = false;
        for name in &names {
            let s = name.as_bytes();
            let stale = if s.starts_with(TMP_PREFIX.as_bytes()) {
                true
            } else if let Some(id) = s.strip_suffix(b".bin") {
                !present.contains(&[id, b".json"].concat()[..])
            } else if let Some(id) = s.strip_suffix(b".json") {
                !present.contains(&[id, b".bin"].concat()[..])
            } else {
                false
            };
            if stale {
                fsops::unlink(&self.dir, name).map_err(io_err(self.in_vault(name)))?;
                changed = true;
            }
        }
        if changed {
            fsops::sync_dir(&self.dir).map_err(io_err(&self.path))?;
        }
        fsops::lock(&self.dir, false)
            .map(drop)
            .map_err(io_err(&self.path))
    }

    /// Open `path` (see [`Target::open`]), scan that descriptor, and quarantine
    /// it when something is found.
    pub fn scan_and_quarantine(&self, scanner: &mut Scanner, path: &Path) -> Outcome {
        let bare = |verdict| FileReport {
            path: path.to_owned(),
            scanned_bytes: 0,
            verdict,
        };
        let target = match Target::open(path) {
            Ok(TargetOpen::File(t)) => t,
            Ok(TargetOpen::Special(k)) => {
                return bare(Verdict::Skipped(SkipReason::Special(k))).into();
            }
            Err(e) => return bare(Verdict::Error(ScanError::Open(e))).into(),
        };
        let report = scanner.scan_opened(target.opened(), path);
        let quarantine = match &report.verdict {
            Verdict::Infected(matches) => Some(self.quarantine(&target, matches)),
            _ => None,
        };
        Outcome { report, quarantine }
    }

    /// Move a scanned file into the vault: copy the target's descriptor
    /// (neutralised) and commit its metadata durably, then unlink the original
    /// if it is still the scanned file, unmodified. Returns the entry id.
    ///
    /// A file someone is still writing is not taken: before the copy, a read
    /// lease is taken on the descriptor (`F_SETLEASE`), which the kernel refuses
    /// while the file is open for writing ([`VaultError::InUse`], nothing
    /// copied), and which is held through the copy and the unlink, so a writer
    /// that opens the file meanwhile breaks it and nothing is removed
    /// ([`VaultError::InUse`] again). Right before the unlink, the descriptor's
    /// size, mtime and ctime must equal those at the copy and the name must
    /// still refer to the scanned (device, inode); otherwise
    /// [`VaultError::Changed`]. Where no lease can be had (another user's file
    /// without CAP_LEASE, a filesystem without leases) only these checks are
    /// made: a writer that holds the file open without writing between the copy
    /// and the unlink cannot be seen then.
    ///
    /// On [`VaultError::Changed`] or [`VaultError::InUse`] after the copy, the
    /// new entry is removed again and the file at the path is left alone.
    pub fn quarantine(&self, target: &Target, matches: &[Match]) -> Result<String, VaultError> {
        let file = &target.opened.file;
        let lease = if self.leases {
            match read_lease(file) {
                Ok(l) => Some(l),
                Err(LeaseRefused::Writer) => {
                    return Err(VaultError::InUse {
                        path: target.path.clone(),
                    });
                }
                Err(LeaseRefused::Unavailable) => None,
            }
        } else {
            None
        };
        let detected_at = SystemTime::now();
        let mut raw = [0u8; 8 + KEY_LEN];
        fsops::random(&mut raw).map_err(io_err(&self.path))?;
        let id = hex(&raw[..8]);
        let key: [u8; KEY_LEN] = raw[8..].try_into().unwrap_or([0x5a; KEY_LEN]);
        let st = rustix::fs::fstat(file).map_err(|e| io_err(&target.path)(e.into()))?;
        // Written to since it was opened for the scan: what would be copied is
        // not what was scanned.
        let version = Version::of(&st);
        if version != target.version {
            return Err(VaultError::Changed {
                path: target.path.clone(),
            });
        }
        let tmp: OsString = format!("{TMP_PREFIX}{id}.bin").into();
        let (sha256, size) = self.copy_in(file, &tmp, &key, &target.path)?;
        if let Err(e) = self.check_unchanged(target, version, size, lease.as_ref()) {
            let _ = fsops::unlink(&self.dir, &tmp);
            return Err(e);
        }
        let record = Record {
            format: meta::FORMAT,
            id: id.clone(),
            path: target.path.to_string_lossy().into_owned(),
            path_base64: encode_path(target.path.as_os_str()),
            size,
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            mtime: times(&st).0.0,
            mtime_nsec: times(&st).0.1,
            ctime: times(&st).1.0,
            ctime_nsec: times(&st).1.1,
            dev: target.dev,
            ino: target.ino,
            sha256,
            signatures: matches.iter().map(|m| m.name.to_string()).collect(),
            detected_at: rfc3339(detected_at),
            quarantined_at: String::new(),
            ward_version: env!("CARGO_PKG_VERSION").to_owned(),
            key: hex(&key),
        };
        if let Some(existing) = self.find_known(&record)? {
            // An earlier run committed this very file (same inode, change time,
            // content and path) but stopped before removing it: finish that.
            let _ = fsops::unlink(&self.dir, &tmp);
            self.remove_original(target, version, size, lease.as_ref())?;
            return Ok(existing);
        }
        self.commit(record, &tmp)?;
        if let Some(hook) = &self.before_remove {
            hook(&target.path);
        }
        match self.remove_original(target, version, size, lease.as_ref()) {
            Ok(()) => Ok(id),
            Err(e) => {
                let _ = self.delete(&id);
                Err(e)
            }
        }
    }

    /// Rename the payload into place and write the metadata, each durably.
    fn commit(&self, mut record: Record, tmp: &OsStr) -> Result<(), VaultError> {
        let payload = payload_name(&record.id);
        let renamed = fsops::rename(&self.dir, tmp, &self.dir, &payload, false)
            .and_then(|()| fsops::sync_dir(&self.dir));
        if let Err(e) = renamed {
            let _ = fsops::unlink(&self.dir, tmp);
            return Err(io_err(self.in_vault(&payload))(e));
        }
        record.quarantined_at = rfc3339(SystemTime::now());
        if let Err(e) = self.write_record(&record) {
            let _ = fsops::unlink(&self.dir, &payload);
            return Err(e);
        }
        self.remember(&record);
        Ok(())
    }

    /// Copy `file` (from offset 0 to its end) into a new temporary file in the
    /// vault, XORed with `key`, and fsync it. Returns the sha256 of the original
    /// bytes and their count.
    fn copy_in(
        &self,
        file: &File,
        tmp: &OsStr,
        key: &[u8; KEY_LEN],
        shown: &Path,
    ) -> Result<(String, u64), VaultError> {
        let vault_err = io_err(self.in_vault(tmp));
        let mut out = fsops::create_new(&self.dir, tmp, 0o600).map_err(vault_err)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        let mut offset = 0u64;
        let copied = (|| -> Result<(), VaultError> {
            loop {
                let n = match file.read_at(&mut buf, offset) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_err(shown)(e)),
                };
                hasher.update(&buf[..n]);
                xor(&mut buf[..n], key, offset);
                out.write_all(&buf[..n])
                    .map_err(io_err(self.in_vault(tmp)))?;
                offset += n as u64;
            }
        })();
        let synced = copied.and_then(|()| out.sync_all().map_err(io_err(self.in_vault(tmp))));
        if let Err(e) = synced {
            let _ = fsops::unlink(&self.dir, tmp);
            return Err(e);
        }
        Ok((hex(&hasher.finalize()), offset))
    }

    fn write_record(&self, record: &Record) -> Result<(), VaultError> {
        let name = record_name(&record.id);
        let tmp: OsString = format!("{TMP_PREFIX}{}.json", record.id).into();
        let json = serde_json::to_vec_pretty(record)
            .map_err(|e| io_err(self.in_vault(&name))(e.into()))?;
        fsops::write_durably(&self.dir, &tmp, &name, |f| {
            f.write_all(&json)?;
            f.write_all(b"\n")
        })
        .map_err(io_err(self.in_vault(&name)))
    }

    /// The committed entry for the same file as `probe` (same device, inode,
    /// change time, content and path), if an interrupted run left one.
    fn find_known(&self, probe: &Record) -> Result<Option<String>, VaultError> {
        let mut guard = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let mut map = Index::new();
            for record in self.records()? {
                map.entry((record.dev, record.ino))
                    .or_default()
                    .push(Known::of(&record));
            }
            *guard = Some(map);
        }
        let want = Known::of(probe);
        let found = guard
            .as_ref()
            .and_then(|m| m.get(&(probe.dev, probe.ino)))
            .and_then(|v| v.iter().find(|k| k.same_file(&want)))
            .map(|k| k.id.clone());
        Ok(found)
    }

    fn remember(&self, r: &Record) {
        let mut guard = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(map) = guard.as_mut() {
            map.entry((r.dev, r.ino)).or_default().push(Known::of(r));
        }
    }

    fn forget(&self, id: &str) {
        let mut guard = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(map) = guard.as_mut() {
            map.values_mut().for_each(|v| v.retain(|k| k.id != id));
        }
    }

    /// The file is as it was when it was copied: the lease (if one was taken)
    /// is still held with no break pending (nobody opened the file for writing
    /// or truncated it), the descriptor's size, mtime and ctime are those read
    /// before the copy, and the size is what was copied.
    fn check_unchanged(
        &self,
        t: &Target,
        before: Version,
        copied: u64,
        lease: Option<&ReadLease<'_>>,
    ) -> Result<(), VaultError> {
        if lease.is_some_and(|l| !l.held()) {
            return Err(VaultError::InUse {
                path: t.path.clone(),
            });
        }
        let now = rustix::fs::fstat(&t.opened.file).map_err(|e| io_err(&t.path)(e.into()))?;
        let now = Version::of(&now);
        if now != before || u64::try_from(now.size()).ok() != Some(copied) {
            return Err(VaultError::Changed {
                path: t.path.clone(),
            });
        }
        Ok(())
    }

    /// Unlink the original relative to the walked parent, but only if the file
    /// is unchanged since the copy ([`Vault::check_unchanged`]) and the name
    /// still refers to the scanned (device, inode).
    fn remove_original(
        &self,
        t: &Target,
        before: Version,
        copied: u64,
        lease: Option<&ReadLease<'_>>,
    ) -> Result<(), VaultError> {
        self.check_unchanged(t, before, copied, lease)?;
        let changed = || VaultError::Changed {
            path: t.path.clone(),
        };
        match fsops::stat_at(&t.parent, &t.name) {
            Ok(st) if identity(&st) == (t.dev, t.ino) => {}
            Ok(_) => return Err(changed()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(changed()),
            Err(e) => return Err(io_err(&t.path)(e)),
        }
        // A window remains between the fstatat above and this unlink: someone
        // who can write the parent directory could move the scanned file away
        // and put another one under the name in between; that name would be
        // unlinked instead (the scanned file survives under its new name, and
        // a copy is in the vault). This cannot become deleting an arbitrary
        // file: the unlink is relative to the parent descriptor that was
        // walked without following links, so it removes one name in that one
        // directory, never through a symbolic link or a swapped parent; a hard
        // link planted there loses only that link, not the file's other names.
        // Moving the scanned file away needs write permission on the directory,
        // and in a sticky directory (such as /tmp) also owning the file or the
        // directory, so another user cannot set it up there. The kernel has no
        // "unlink this name only if it is this inode" call to close the window.
        fsops::unlink(&t.parent, &t.name).map_err(io_err(&t.path))
    }

    /// Every committed record; unreadable ones are left out.
    fn records(&self) -> Result<Vec<Record>, VaultError> {
        let names = fsops::list(&self.dir).map_err(io_err(&self.path))?;
        Ok(names
            .iter()
            .filter_map(|n| n.to_str()?.strip_suffix(".json"))
            .filter(|id| valid_id(id))
            .filter_map(|id| self.record(id).ok())
            .collect())
    }

    fn record(&self, id: &str) -> Result<Record, VaultError> {
        if !valid_id(id) {
            return Err(VaultError::BadId { id: id.to_owned() });
        }
        let name = record_name(id);
        let file = match fsops::open_read(&self.dir, &name) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(VaultError::NotFound { id: id.to_owned() });
            }
            Err(e) => return Err(io_err(self.in_vault(&name))(e)),
        };
        let mut data = Vec::new();
        file.take(MAX_RECORD)
            .read_to_end(&mut data)
            .map_err(io_err(self.in_vault(&name)))?;
        let bad = |reason: String| VaultError::BadMetadata {
            id: id.to_owned(),
            reason,
        };
        let record: Record = serde_json::from_slice(&data).map_err(|e| bad(e.to_string()))?;
        if record.id != id {
            return Err(bad(format!("records id {}", record.id)));
        }
        record.entry().map_err(bad)?;
        Ok(record)
    }

    /// Every entry, oldest first. Entries whose metadata cannot be read are
    /// left out ([`Vault::get`] says what is wrong with one).
    pub fn list(&self) -> Result<Vec<Entry>, VaultError> {
        let mut entries: Vec<Entry> = self
            .records()?
            .iter()
            .filter_map(|r| r.entry().ok())
            .collect();
        entries.sort_by(|a, b| (a.quarantined_at, &a.id).cmp(&(b.quarantined_at, &b.id)));
        Ok(entries)
    }

    /// One entry.
    pub fn get(&self, id: &str) -> Result<Entry, VaultError> {
        let record = self.record(id)?;
        record.entry().map_err(|reason| VaultError::BadMetadata {
            id: id.to_owned(),
            reason,
        })
    }

    /// Decode an entry's payload into `out`; returns the sha256 of what was
    /// written. The caller compares it with the record before trusting it.
    fn decode_into(
        &self,
        record: &Record,
        out: &mut impl Write,
        shown: &Path,
    ) -> Result<String, VaultError> {
        let name = payload_name(&record.id);
        let src_err = io_err(self.in_vault(&name));
        let mut src = fsops::open_read(&self.dir, &name).map_err(src_err)?;
        let key = unhex(&record.key)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| VaultError::BadMetadata {
                id: record.id.clone(),
                reason: "bad key".into(),
            })?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        let mut offset = 0u64;
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(self.in_vault(&name))(e)),
            };
            xor(&mut buf[..n], &key, offset);
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io_err(shown))?;
            offset += n as u64;
        }
        Ok(hex(&hasher.finalize()))
    }

    /// An entry's original bytes, checked against its sha256. Loads the whole
    /// file into memory.
    pub fn read(&self, id: &str) -> Result<Vec<u8>, VaultError> {
        let record = self.record(id)?;
        let mut out = Vec::new();
        let sha = self.decode_into(&record, &mut out, &self.path)?;
        if sha != record.sha256 {
            return Err(VaultError::Corrupt { id: id.to_owned() });
        }
        Ok(out)
    }

    /// Put an entry back: to its original path or [`RestoreOptions::to`], never
    /// through a symbolic link (parents are walked with `O_NOFOLLOW`), never over
    /// an existing file unless [`RestoreOptions::force`]. The bytes are written
    /// to a temporary file beside the destination, checked against the sha256,
    /// given the original mode, mtime (and owner, when running as root), fsynced
    /// and renamed into place; the directory is fsynced; only then does the entry
    /// leave the vault. Returns where the file now is.
    pub fn restore(&self, id: &str, opts: &RestoreOptions) -> Result<PathBuf, VaultError> {
        let record = self.record(id)?;
        let entry = record.entry().map_err(|reason| VaultError::BadMetadata {
            id: id.to_owned(),
            reason,
        })?;
        let dest = opts.to.clone().unwrap_or(entry.path);
        let (dir, name) = fsops::walk_parent(&dest).map_err(io_err(&dest))?;
        match fsops::stat_at(&dir, &name) {
            Ok(_) if !opts.force => return Err(VaultError::Exists { path: dest }),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&dest)(e)),
        }
        let tmp: OsString = format!(".ward-restore-{id}").into();
        // A leftover of an interrupted restore of this entry.
        let _ = fsops::unlink(&dir, &tmp);
        let placed = self.place(&record, &dir, &tmp, &name, opts.force, &dest);
        if placed.is_err() {
            let _ = fsops::unlink(&dir, &tmp);
        }
        placed?;
        if opts.allow {
            self.allow(&record)?;
        }
        self.delete(id)?;
        Ok(dest)
    }

    fn place(
        &self,
        record: &Record,
        dir: &OwnedFd,
        tmp: &OsStr,
        name: &OsStr,
        force: bool,
        dest: &Path,
    ) -> Result<(), VaultError> {
        let mut file = fsops::create_new(dir, tmp, 0o600).map_err(io_err(dest))?;
        let sha = self.decode_into(record, &mut file, dest)?;
        if sha != record.sha256 {
            return Err(VaultError::Corrupt {
                id: record.id.clone(),
            });
        }
        let owner = (fsops::euid() == 0).then_some((record.uid, record.gid));
        fsops::set_attrs(&file, record.mode, owner, (record.mtime, record.mtime_nsec))
            .map_err(io_err(dest))?;
        file.sync_all().map_err(io_err(dest))?;
        match fsops::rename(dir, tmp, dir, name, force) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(VaultError::Exists {
                    path: dest.to_owned(),
                });
            }
            other => other.map_err(io_err(dest))?,
        }
        fsops::sync_walked_dir(dir, &file).map_err(io_err(dest))
    }

    /// Append an entry's hash to the home's allow list, durably.
    fn allow(&self, record: &Record) -> Result<(), VaultError> {
        let path = self.home.join(ALLOW_LIST);
        let line = format!(
            "{}:{}:ward-restored-{}\n",
            record.sha256, record.size, record.id
        );
        let mut f =
            fsops::open_append(&self.home_fd, ALLOW_LIST.as_ref()).map_err(io_err(&path))?;
        crate::home::check_owner_mode(&f, &path)?;
        f.write_all(line.as_bytes()).map_err(io_err(&path))?;
        f.sync_all().map_err(io_err(&path))?;
        fsops::sync_dir(&self.home_fd).map_err(io_err(&self.home))
    }

    /// Remove an entry and its payload for good.
    pub fn delete(&self, id: &str) -> Result<(), VaultError> {
        if !valid_id(id) {
            return Err(VaultError::BadId { id: id.to_owned() });
        }
        let name = record_name(id);
        match fsops::unlink(&self.dir, &name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(VaultError::NotFound { id: id.to_owned() });
            }
            other => other.map_err(io_err(self.in_vault(&name)))?,
        }
        let payload = payload_name(id);
        match fsops::unlink(&self.dir, &payload) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(io_err(self.in_vault(&payload))(e));
            }
            _ => {}
        }
        self.forget(id);
        fsops::sync_dir(&self.dir).map_err(io_err(&self.path))
    }

    /// Delete every entry quarantined more than `older_than` ago; returns their
    /// ids.
    pub fn purge(&self, older_than: Duration) -> Result<Vec<String>, VaultError> {
        let cutoff = SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut gone = Vec::new();
        for e in self.list()? {
            if e.quarantined_at < cutoff {
                self.delete(&e.id)?;
                gone.push(e.id);
            }
        }
        Ok(gone)
    }
}

/// XOR `buf` (which starts `offset` bytes into the stream) with the repeating key.
fn xor(buf: &mut [u8], key: &[u8], offset: u64) {
    let start = (offset % key.len() as u64) as usize;
    for (b, k) in buf.iter_mut().zip(key.iter().cycle().skip(start)) {
        *b ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Vault>();
        check::<Target>();
        check::<Outcome>();
        check::<VaultError>();
    }

    #[test]
    fn ids() {
        assert!(valid_id("0123456789abcdef"));
        assert!(!valid_id("0123456789ABCDEF"));
        assert!(!valid_id("../../etc/passwd"));
        assert!(!valid_id("0123456789abcde"));
    }

    #[test]
    fn xor_is_position_aligned() {
        let key = [1u8, 2, 3];
        let mut whole = *b"abcdefgh";
        xor(&mut whole, &key, 0);
        let mut parts = *b"abcdefgh";
        let (a, b) = parts.split_at_mut(4);
        xor(a, &key, 0);
        xor(b, &key, 4);
        assert_eq!(whole, parts);
        xor(&mut whole, &key, 0);
        assert_eq!(&whole, b"abcdefgh");
    }
}
