//! Where ClamAV keeps its databases on this machine: the directory freshclam
//! fills, so that a machine it feeds is scanned with the full database
//! without flags.
//!
//! The directory is `$WARD_CLAMAV_DB` when set (empty: none), else
//! `DatabaseDirectory` from `/etc/clamav/freshclam.conf`, else from
//! `/etc/clamav/clamd.conf`, else `/var/lib/clamav`; it is used only when it
//! holds at least one database.

use std::path::{Path, PathBuf};

use super::Format;

/// The environment variable that overrides the directory (empty: none).
pub const ENV: &str = "WARD_CLAMAV_DB";

/// ClamAV's configuration files that name the directory, in order.
pub const CONFIGS: [&str; 2] = ["/etc/clamav/freshclam.conf", "/etc/clamav/clamd.conf"];

/// The directory when no configuration names one.
pub const DEFAULT_DIR: &str = "/var/lib/clamav";

/// ClamAV's database directory, if it holds databases.
pub fn clamav_db_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os(ENV) {
        Some(v) if v.is_empty() => return None,
        Some(v) => PathBuf::from(v),
        None => configured_dir().unwrap_or_else(|| PathBuf::from(DEFAULT_DIR)),
    };
    holds_databases(&dir).then_some(dir)
}

/// `DatabaseDirectory` from the first of [`CONFIGS`] that sets it.
fn configured_dir() -> Option<PathBuf> {
    CONFIGS.iter().find_map(|c| {
        let text = std::fs::read_to_string(c).ok()?;
        database_directory(&text)
    })
}

/// The `DatabaseDirectory` a ClamAV configuration sets (the last one wins,
/// as in ClamAV's parser), if any.
pub fn database_directory(conf: &str) -> Option<PathBuf> {
    conf.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("DatabaseDirectory")?;
            let value = rest.strip_prefix([' ', '\t', '='])?.trim();
            let value = value.trim_matches('"');
            (!value.is_empty()).then(|| PathBuf::from(value))
        })
        .next_back()
}

/// Whether `dir` holds a file ward reads as a database (a kind it does not
/// run counts too: it is warned about).
pub fn holds_databases(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .any(|e| Format::from_path(&e.path()).is_some() && e.path().is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_from_config() {
        let conf = "# DatabaseDirectory /nope\nFoo bar\nDatabaseDirectory /srv/a\nDatabaseDirectory \"/srv/b\"\n";
        assert_eq!(database_directory(conf), Some(PathBuf::from("/srv/b")));
        assert_eq!(database_directory("DatabaseDirectoryX /a\n"), None);
        assert_eq!(database_directory(""), None);
    }
}
