//! The metadata kept beside each payload in the vault: one small JSON file per
//! entry. The original path is stored as base64 of its exact bytes (names that
//! are not UTF-8, or hold newlines or escape sequences, round-trip) beside a
//! lossy UTF-8 copy for people reading the file. Times are RFC 3339 in UTC.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::encoding::{decode_path, from_unix, parse_rfc3339};

/// The version of the record layout written by this build.
pub(crate) const FORMAT: u32 = 1;

/// The on-disk record. `key` is the per-entry key the payload is XORed with.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Record {
    pub format: u32,
    pub id: String,
    pub path: String,
    pub path_base64: String,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub mtime_nsec: u32,
    pub ctime: i64,
    pub ctime_nsec: u32,
    pub dev: u64,
    pub ino: u64,
    pub sha256: String,
    pub signatures: Vec<String>,
    pub detected_at: String,
    pub quarantined_at: String,
    pub ward_version: String,
    pub key: String,
}

/// One quarantined file, as [`super::Vault::list`] and [`super::Vault::get`]
/// describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The entry's id (16 lowercase hex digits).
    pub id: String,
    /// Where the file was, exact bytes.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits and file type, as `st_mode`.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Last modification.
    pub mtime: SystemTime,
    /// SHA-256 of the original bytes, lowercase hex.
    pub sha256: String,
    /// The signatures that matched.
    pub signatures: Vec<String>,
    /// When the file was found.
    pub detected_at: SystemTime,
    /// When the entry was committed to the vault.
    pub quarantined_at: SystemTime,
    /// The ward version that quarantined it.
    pub ward_version: String,
}

impl Record {
    /// The public view, or why the record is unusable.
    pub fn entry(&self) -> Result<Entry, String> {
        let bytes = decode_path(&self.path_base64).ok_or("path_base64: not base64")?;
        let time = |field: &str, s: &str| {
            parse_rfc3339(s).ok_or_else(|| format!("{field}: not an RFC 3339 UTC time: {s:?}"))
        };
        Ok(Entry {
            id: self.id.clone(),
            path: PathBuf::from(OsStr::from_bytes(&bytes)),
            size: self.size,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            mtime: from_unix(self.mtime, self.mtime_nsec),
            sha256: self.sha256.clone(),
            signatures: self.signatures.clone(),
            detected_at: time("detected_at", &self.detected_at)?,
            quarantined_at: time("quarantined_at", &self.quarantined_at)?,
            ward_version: self.ward_version.clone(),
        })
    }

    /// The original path's exact bytes.
    pub fn path_bytes(&self) -> Option<Vec<u8>> {
        decode_path(&self.path_base64)
    }
}
