//! What ward leaves in the home for a log shipper: every event, appended one
//! JSON object a line to `<home>/events.jsonl` (the file every kind of ward
//! event shares, each line starting with `time`, `host` and `kind`: audit
//! drift is `kind: "audit"`, a detection `"threat"`, an update run
//! `"update"`), and the last audit's summary in `<home>/audit-last.json`.
//!
//! The home and both files get the checks the vault and the threat log get
//! (the running user's, not writable by others, no symbolic links). Each event
//! is written with one `write` on an `O_APPEND` descriptor, so lines never
//! interleave; the summary is written under a temporary name and renamed over
//! the old one, so a reader never sees half of it.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::finding::{Severity, Status};
use crate::encoding::rfc3339;
use crate::fsops;
use crate::home::{HomeError, check_owner_mode, io_err, open_home};

/// The event log's file name inside the home.
pub const EVENT_LOG: &str = "events.jsonl";
/// The last audit's summary inside the home.
pub const LAST_AUDIT: &str = "audit-last.json";
/// The `kind` of a drift event.
pub const KIND: &str = "audit";
/// The `kind` of a detection (the threat list's record, see [`crate::journal`]).
pub const KIND_THREAT: &str = "threat";
/// The `kind` of an update run (`ward updates install`).
pub const KIND_UPDATE: &str = "update";

/// One change of a rule's state, seen by `ward watch --audit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DriftEvent {
    /// When, RFC 3339 UTC.
    pub time: String,
    /// The machine's host name.
    pub host: String,
    /// Always `audit`.
    pub kind: String,
    /// The rule's id.
    pub rule: String,
    /// The rule's title.
    pub title: String,
    /// The rule's severity.
    pub severity: Severity,
    /// The state before.
    pub previous: Status,
    /// The state now.
    pub status: Status,
    /// What was checked (a path, a setting).
    pub checked: String,
    /// Why, in words: `expected at most 0644 root:root, found 0666 root:root`.
    pub reason: String,
    /// The root of the audited tree (`/` for the machine itself).
    pub root: String,
}

impl DriftEvent {
    /// An event stamped now.
    pub fn new(
        rule: &super::audit::Rule,
        previous: Status,
        finding: &super::Finding,
        root: &Path,
    ) -> Self {
        DriftEvent {
            time: rfc3339(SystemTime::now()),
            host: host_name(),
            kind: KIND.into(),
            rule: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            previous,
            status: finding.status,
            checked: rule.check.target(),
            reason: finding.reason(),
            root: root.to_string_lossy().into_owned(),
        }
    }
}

/// The running machine's host name (from the kernel), or `localhost`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The open event log.
#[derive(Debug)]
pub struct EventLog {
    file: File,
}

impl EventLog {
    /// Open (creating, mode 0600) `<home>/events.jsonl` for appending.
    pub fn open(home: &Path) -> Result<EventLog, HomeError> {
        let home_fd = open_home(home, true)?.ok_or_else(|| HomeError::NotDirectory {
            path: home.to_owned(),
        })?;
        let path = home.join(EVENT_LOG);
        let file = fsops::open_append(&home_fd, EVENT_LOG.as_ref()).map_err(io_err(&path))?;
        check_owner_mode(&file, &path)?;
        Ok(EventLog { file })
    }

    /// Append one event as one line, in one `write`.
    pub fn append(&self, event: &impl Serialize) -> io::Result<()> {
        let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
        line.push(b'\n');
        (&self.file).write_all(&line)
    }

    /// Append one event of `kind`: `body`'s fields (a JSON object) after the
    /// shared header, `time` (the body's own when it has one, else now),
    /// `host` and `kind`.
    pub fn record(&self, kind: &str, body: &impl Serialize) -> io::Result<()> {
        let serde_json::Value::Object(fields) =
            serde_json::to_value(body).map_err(io::Error::other)?
        else {
            return Err(io::Error::other("an event must be a JSON object"));
        };
        let mut event = serde_json::Map::new();
        let time = fields
            .get("time")
            .cloned()
            .unwrap_or_else(|| rfc3339(SystemTime::now()).into());
        event.insert("time".into(), time);
        event.insert("host".into(), host_name().into());
        event.insert("kind".into(), kind.into());
        for (k, v) in fields {
            if !matches!(k.as_str(), "time" | "host" | "kind") {
                event.insert(k, v);
            }
        }
        self.append(&event)
    }
}

/// Every audit event in `<home>/events.jsonl`, oldest first, and the number
/// of lines that could not be read. Lines of other kinds are left out; an
/// absent home or log is an empty list.
pub fn history(home: &Path) -> Result<(Vec<DriftEvent>, usize), HomeError> {
    let path = home.join(EVENT_LOG);
    let Some(home_fd) = open_home(home, false)? else {
        return Ok((Vec::new(), 0));
    };
    let mut file = match fsops::open_read(&home_fd, EVENT_LOG.as_ref()) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io_err(&path)(e)),
    };
    check_owner_mode(&file, &path)?;
    let mut data = Vec::new();
    file.read_to_end(&mut data).map_err(io_err(&path))?;
    let (mut events, mut bad) = (Vec::new(), 0);
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v) if v.get("kind").and_then(|k| k.as_str()) != Some(KIND) => {}
            Ok(v) => match serde_json::from_value(v) {
                Ok(e) => events.push(e),
                Err(_) => bad += 1,
            },
            Err(_) => bad += 1,
        }
    }
    Ok((events, bad))
}

/// The summary of the last `ward audit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LastAudit {
    /// When, RFC 3339 UTC.
    pub time: String,
    /// The profile and policies applied.
    pub baseline: Vec<String>,
    /// Rules met.
    pub compliant: usize,
    /// Rules not met.
    pub non_compliant: usize,
    /// Rules that could not be evaluated.
    pub errors: usize,
    /// The root audited.
    pub root: String,
}

impl LastAudit {
    /// A summary stamped now.
    pub fn new(baseline: &[String], s: &super::Summary, root: &Path) -> LastAudit {
        LastAudit {
            time: rfc3339(SystemTime::now()),
            baseline: baseline.to_vec(),
            compliant: s.compliant,
            non_compliant: s.non_compliant,
            errors: s.errors,
            root: root.to_string_lossy().into_owned(),
        }
    }

    /// Write `<home>/audit-last.json`, replacing the last one whole.
    pub fn write(&self, home: &Path) -> Result<PathBuf, HomeError> {
        let home_fd = open_home(home, true)?.ok_or_else(|| HomeError::NotDirectory {
            path: home.to_owned(),
        })?;
        let path = home.join(LAST_AUDIT);
        let tmp = format!("{LAST_AUDIT}.{}.tmp", std::process::id());
        let mut data =
            serde_json::to_vec_pretty(self).map_err(|e| io_err(&path)(io::Error::other(e)))?;
        data.push(b'\n');
        let result = (|| {
            let _ = fsops::unlink(&home_fd, tmp.as_ref());
            let mut f = fsops::create_new(&home_fd, tmp.as_ref(), 0o600)?;
            f.write_all(&data)?;
            f.sync_all()?;
            fsops::rename(&home_fd, tmp.as_ref(), &home_fd, LAST_AUDIT.as_ref(), true)
        })();
        if result.is_err() {
            let _ = fsops::unlink(&home_fd, tmp.as_ref());
        }
        result.map_err(io_err(&path))?;
        Ok(path)
    }

    /// Read `<home>/audit-last.json`; `None` when no audit has run.
    pub fn read(home: &Path) -> Result<Option<LastAudit>, HomeError> {
        let path = home.join(LAST_AUDIT);
        let Some(home_fd) = open_home(home, false)? else {
            return Ok(None);
        };
        let mut file = match fsops::open_read(&home_fd, LAST_AUDIT.as_ref()) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(io_err(&path))?;
        serde_json::from_slice(&data)
            .map(Some)
            .map_err(|e| io_err(&path)(io::Error::new(io::ErrorKind::InvalidData, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_puts_the_header_first_and_keeps_the_body_time() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let log = EventLog::open(&home).unwrap();
        let body = serde_json::json!({"status": "ok", "time": "2026-01-01T00:00:00Z", "kind": "x"});
        log.record(KIND_UPDATE, &body).unwrap();
        log.record(KIND_THREAT, &serde_json::json!({"path": "/srv/a"}))
            .unwrap();
        assert!(log.record(KIND_UPDATE, &"not an object").is_err());
        let text = std::fs::read_to_string(home.join(EVENT_LOG)).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        for (e, kind) in lines.iter().zip([KIND_UPDATE, KIND_THREAT]) {
            let keys: Vec<&String> = e.as_object().unwrap().keys().take(3).collect();
            assert_eq!(keys, ["time", "host", "kind"]);
            assert_eq!(e["kind"], kind);
            assert_eq!(e["host"], host_name());
        }
        assert_eq!(lines[0]["time"], "2026-01-01T00:00:00Z");
        assert_eq!(lines[0]["status"], "ok");
        assert!(lines[1]["time"].as_str().unwrap().ends_with('Z'));
        // Audit history reads only its own kind.
        assert_eq!(history(&home).unwrap(), (Vec::new(), 0));
    }
}
