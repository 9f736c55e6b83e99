//! The threat list: every detection made while watching or by the daemon,
//! appended as one JSON object per line to `<home>/threats.jsonl` (and as a
//! `threat` event to `<home>/events.jsonl`, through a [`Recorder`]).
//!
//! The log is opened with `O_APPEND` and each record is written with a single
//! `write`, so lines from several threads (or processes) never interleave and a
//! crash can at worst leave one partial last line, which [`read`] skips.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::encoding::{decode_path, json_path, rfc3339};
use crate::fsops::open_append;
use crate::home::{HomeError, check_owner_mode, open_home};
use crate::posture::record::{EVENT_LOG, EventLog, KIND_THREAT};

/// The log's file name inside the home.
pub const THREAT_LOG: &str = "threats.jsonl";

/// What ward was set to do about a detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ThreatAction {
    /// Move the file into the vault.
    Quarantine,
    /// Only record and log it.
    Report,
    /// Refuse an open of it (`--block`).
    Deny,
}

/// What came of the action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ThreatResult {
    /// The file is in the vault.
    Quarantined,
    /// Recorded, left in place.
    Reported,
    /// The open was refused.
    Denied,
    /// The open had been allowed (by the deadline) before the verdict came.
    Allowed,
    /// The action failed; see `error`.
    Failed,
}

/// One detection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Threat {
    /// When, RFC 3339 UTC.
    pub time: String,
    /// The file (lossy UTF-8).
    pub path: String,
    /// The path's exact bytes, base64, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_base64: Option<String>,
    /// Signature names that matched.
    pub signatures: Vec<String>,
    /// What ward was set to do.
    pub action: ThreatAction,
    /// What came of it.
    pub result: ThreatResult,
    /// The vault entry, when quarantined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_id: Option<String>,
    /// Why the action failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The process whose open was denied (`--block`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Who asked for the scan, when a daemon's client did (`uid 1000 pid
    /// 4242`, `tcp 10.0.0.7:51234`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

impl Threat {
    /// A record stamped now.
    pub fn new(
        path: &Path,
        signatures: Vec<String>,
        action: ThreatAction,
        result: ThreatResult,
    ) -> Threat {
        let (path, path_base64) = json_path(path.as_os_str());
        Threat {
            time: rfc3339(SystemTime::now()),
            path,
            path_base64,
            signatures,
            action,
            result,
            quarantine_id: None,
            error: None,
            pid: None,
            client: None,
        }
    }

    /// The path's exact bytes.
    pub fn path_buf(&self) -> PathBuf {
        use std::os::unix::ffi::OsStringExt;
        self.path_base64
            .as_deref()
            .and_then(decode_path)
            .map(|b| PathBuf::from(std::ffi::OsString::from_vec(b)))
            .unwrap_or_else(|| PathBuf::from(&self.path))
    }
}

/// The open threat log.
#[derive(Debug)]
pub struct ThreatLog {
    file: File,
    path: PathBuf,
}

impl ThreatLog {
    /// Open (creating, mode 0600) `<home>/threats.jsonl` for appending, with
    /// the same checks as the vault: the home and the log must be the running
    /// user's and not writable by group or others, and not symbolic links.
    pub fn open(home: &Path) -> Result<ThreatLog, HomeError> {
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| HomeError::Io { path, source }
        };
        let home_fd = open_home(home, true)?.ok_or_else(|| HomeError::NotDirectory {
            path: home.to_owned(),
        })?;
        let path = home.join(THREAT_LOG);
        let file = open_append(&home_fd, THREAT_LOG.as_ref()).map_err(io_err(&path))?;
        check_owner_mode(&file, &path)?;
        Ok(ThreatLog { file, path })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record as one line, in one `write`.
    pub fn append(&self, threat: &Threat) -> io::Result<()> {
        let mut line = serde_json::to_vec(threat).map_err(io::Error::other)?;
        line.push(b'\n');
        (&self.file).write_all(&line)
    }
}

/// Where each detection goes: the threat list, and the event log as a
/// `threat` event.
#[derive(Debug)]
pub struct Recorder {
    threats: ThreatLog,
    events: EventLog,
    events_path: PathBuf,
}

impl Recorder {
    /// Open both logs in `home` (see [`ThreatLog::open`]).
    pub fn open(home: &Path) -> Result<Recorder, HomeError> {
        Ok(Recorder {
            threats: ThreatLog::open(home)?,
            events: EventLog::open(home)?,
            events_path: home.join(EVENT_LOG),
        })
    }

    /// The threat list's path.
    pub fn path(&self) -> &Path {
        self.threats.path()
    }

    /// Append `threat` to both logs; each failure is one message naming
    /// its file (the other log is still written).
    pub fn record(&self, threat: &Threat) -> Vec<String> {
        let mut errors = Vec::new();
        if let Err(e) = self.threats.append(threat) {
            errors.push(format!(
                "{}: cannot append to the threat log: {e}",
                self.threats.path().display()
            ));
        }
        if let Err(e) = self.events.record(KIND_THREAT, threat) {
            errors.push(format!(
                "{}: cannot append to the event log: {e}",
                self.events_path.display()
            ));
        }
        errors
    }
}

/// Every record in `<home>/threats.jsonl`, oldest first, and the number of
/// lines that could not be read. An absent home or log is an empty list.
pub fn read(home: &Path) -> Result<(Vec<Threat>, usize), HomeError> {
    let path = home.join(THREAT_LOG);
    let io_err = |source| HomeError::Io {
        path: path.clone(),
        source,
    };
    let Some(home_fd) = open_home(home, false)? else {
        return Ok((Vec::new(), 0));
    };
    let flags =
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC;
    let mut file = match rustix::fs::openat(&home_fd, THREAT_LOG, flags, rustix::fs::Mode::empty())
    {
        Ok(fd) => File::from(fd),
        Err(rustix::io::Errno::NOENT) => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io_err(e.into())),
    };
    check_owner_mode(&file, &path)?;
    let mut data = Vec::new();
    file.read_to_end(&mut data).map_err(io_err)?;
    let mut bad = 0;
    let threats = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let t = serde_json::from_slice(l).ok();
            bad += usize::from(t.is_none());
            t
        })
        .collect();
    Ok((threats, bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn append_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let log = ThreatLog::open(&home).unwrap();
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"/srv/\xff.exe"));
        let mut t = Threat::new(
            odd,
            vec!["Sig".into()],
            ThreatAction::Quarantine,
            ThreatResult::Quarantined,
        );
        t.quarantine_id = Some("0123456789abcdef".into());
        log.append(&t).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap();
        f.write_all(b"{\"half\n").unwrap();
        let (all, bad) = read(&home).unwrap();
        assert_eq!((all.len(), bad), (1, 1));
        assert_eq!(all[0], t);
        assert_eq!(all[0].path_buf(), odd);
    }

    #[test]
    fn absent_log_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(&dir.path().join("none")).unwrap().0, vec![]);
    }
}
