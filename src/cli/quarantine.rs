//! `ward quarantine`: list, show, restore, delete and purge vault entries.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use serde_json::{Value, json};
use ward::encoding::rfc3339;
use ward::quarantine::{Entry, RestoreOptions, Vault};

use super::output;

#[derive(Subcommand, Debug)]
pub enum QuarantineCommand {
    /// List quarantined files, oldest first.
    List {
        /// A JSON array of objects (id, path, signatures, size, sha256, quarantined_at, …).
        #[arg(long)]
        json: bool,
    },
    /// Show everything recorded about one entry.
    Show {
        /// The entry id (from `ward quarantine list`).
        id: String,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Put a quarantined file back, with its mode, mtime (and owner, as root).
    ///
    /// Never overwrites an existing file without --force and never follows a
    /// symbolic link at the destination or in its parents. A refused restore
    /// exits with status 2.
    Restore {
        /// The entry id.
        id: String,
        /// Restore to PATH instead of the original path.
        #[arg(long, value_name = "PATH")]
        to: Option<PathBuf>,
        /// Replace an existing file at the destination.
        #[arg(long)]
        force: bool,
        /// Add the file's sha256 to the allow list (`<home>/allow.sfp`), which
        /// `ward scan` loads, so it is not reported again.
        #[arg(long)]
        allow: bool,
    },
    /// Delete entries for good.
    Delete {
        /// Entry ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Delete every entry quarantined longer ago than DURATION.
    Purge {
        /// Age, such as 30d, 12h, 45m, 90s or 2w.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        older_than: Duration,
    },
}

/// Parse `30d`, `12h`, `45m`, `90s`, `2w`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let unit = t.chars().last().ok_or("empty duration")?;
    let secs = match unit {
        's' => 1u64,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => {
            return Err(format!(
                "'{s}': give a number and a unit: s, m, h, d or w (e.g. 30d)"
            ));
        }
    };
    let n: u64 = t[..t.len() - 1]
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (e.g. 30d)"))?;
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("'{s}' is too long"))
}

pub fn run(cmd: &QuarantineCommand, home: Option<&Path>) -> ExitCode {
    let vault = match super::home(home).and_then(|h| Vault::open(h).map_err(|e| e.to_string())) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("ward: cannot use the quarantine vault: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cmd {
        QuarantineCommand::List { json } => list(&vault, *json),
        QuarantineCommand::Show { id, json } => show(&vault, id, *json),
        QuarantineCommand::Restore {
            id,
            to,
            force,
            allow,
        } => {
            let mut opts = RestoreOptions::new();
            opts.force(*force).allow(*allow);
            if let Some(to) = to {
                opts.to(to);
            }
            vault.restore(id, &opts).map(|dest| {
                let shown = output::escape(dest.as_os_str());
                format!("{id}: restored to {shown}\n")
            })
        }
        QuarantineCommand::Delete { ids } => delete(&vault, ids),
        QuarantineCommand::Purge { older_than } => vault
            .purge(*older_than)
            .map(|ids| ids.iter().map(|id| format!("{id}: deleted\n")).collect()),
    };
    match result {
        Ok(text) => match io::stdout().lock().write_all(text.as_bytes()) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                eprintln!("ward: writing output: {e}");
                ExitCode::from(2)
            }
            _ => ExitCode::SUCCESS,
        },
        Err(e) => {
            eprintln!("ward: {}", output::reason(&e));
            ExitCode::from(2)
        }
    }
}

fn delete(vault: &Vault, ids: &[String]) -> Result<String, ward::VaultError> {
    let mut out = String::new();
    for id in ids {
        vault.delete(id)?;
        out.push_str(&format!("{id}: deleted\n"));
    }
    Ok(out)
}

/// One entry as a JSON object.
fn entry_json(e: &Entry) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(e.id));
    m.extend(output::path_fields(&e.path));
    m.insert("signatures".into(), json!(e.signatures));
    m.insert("size".into(), json!(e.size));
    m.insert("sha256".into(), json!(e.sha256));
    m.insert("quarantined_at".into(), json!(rfc3339(e.quarantined_at)));
    m.insert("detected_at".into(), json!(rfc3339(e.detected_at)));
    m.insert("mode".into(), json!(e.mode));
    m.insert("uid".into(), json!(e.uid));
    m.insert("gid".into(), json!(e.gid));
    m.insert("mtime".into(), json!(rfc3339(e.mtime)));
    m.insert("ward_version".into(), json!(e.ward_version));
    Value::Object(m)
}

fn list(vault: &Vault, as_json: bool) -> Result<String, ward::VaultError> {
    let entries = vault.list()?;
    if as_json {
        let all: Vec<Value> = entries.iter().map(entry_json).collect();
        return Ok(format!("{}\n", Value::Array(all)));
    }
    let mut out = String::new();
    if entries.is_empty() {
        return Ok("the vault is empty\n".into());
    }
    out.push_str("ID                QUARANTINED AT        SIZE  SIGNATURES  PATH\n");
    for e in &entries {
        out.push_str(&format!(
            "{}  {}  {:>4}  {}  {}\n",
            e.id,
            rfc3339(e.quarantined_at),
            e.size,
            e.signatures.join(","),
            output::escape(e.path.as_os_str())
        ));
    }
    Ok(out)
}

fn show(vault: &Vault, id: &str, as_json: bool) -> Result<String, ward::VaultError> {
    let e = vault.get(id)?;
    if as_json {
        return Ok(format!("{}\n", entry_json(&e)));
    }
    Ok(format!(
        "id: {}\npath: {}\nsize: {}\nmode: {:04o}\nuid: {}\ngid: {}\nmtime: {}\nsha256: {}\n\
         signatures: {}\ndetected_at: {}\nquarantined_at: {}\nward_version: {}\n",
        e.id,
        output::escape(e.path.as_os_str()),
        e.size,
        e.mode & 0o7777,
        e.uid,
        e.gid,
        rfc3339(e.mtime),
        e.sha256,
        e.signatures.join(", "),
        rfc3339(e.detected_at),
        rfc3339(e.quarantined_at),
        e.ward_version,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("-1d").is_err());
        assert!(parse_duration("99999999999999999w").is_err());
    }
}
