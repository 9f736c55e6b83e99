//! The daemon's settings, and reading them from a `clamd.conf`.
//!
//! Names, value syntax and defaults are clamd's (`clamd.conf(5)`): sizes take
//! `K` and `M` suffixes, switches `yes`/`no`, timeouts are seconds except
//! `SendBufTimeout` and `MaxScanTime` (milliseconds). A clamd option ward has
//! no use for, and an option nobody knows, each give a warning naming the
//! file and line; a bad value is an error naming them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Limits;

/// How the daemon listens and scans. [`Config::new`] has clamd's defaults,
/// except that nothing listens until a socket is given and a TCP socket
/// listens on 127.0.0.1 unless an address is given.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// `LocalSocket`: the unix socket's path (default: none).
    pub local_socket: Option<PathBuf>,
    /// `LocalSocketGroup`: the unix socket's group, by name or number.
    pub local_socket_group: Option<String>,
    /// `LocalSocketMode`: the unix socket's mode (default 0666, as clamd).
    pub local_socket_mode: Option<u32>,
    /// `FixStaleSocket`: remove a socket file nobody listens on (default yes).
    pub fix_stale_socket: bool,
    /// `TCPSocket`: the TCP port (default: none).
    pub tcp_socket: Option<u16>,
    /// `TCPAddr`, repeatable: the addresses to listen on (default 127.0.0.1;
    /// clamd's default is every address).
    pub tcp_addr: Vec<String>,
    /// `MaxConnectionQueueLength`: the listen backlog (default 200).
    pub max_connection_queue_length: u32,
    /// `StreamMaxLength`: the most bytes one `INSTREAM` may send (default 100M).
    pub stream_max_length: u64,
    /// `MaxThreads`: scanning threads (default 10).
    pub max_threads: usize,
    /// `MaxQueue`: scans waiting for a thread, at most (default 100); more
    /// connections than `MaxThreads + MaxQueue` wait to be accepted.
    pub max_queue: usize,
    /// `ReadTimeout`: the wait for stream data and for the next command of a
    /// session (default 120 s).
    pub read_timeout: Duration,
    /// `CommandReadTimeout`: the wait for a connection's first command,
    /// complete (default 30 s).
    pub command_read_timeout: Duration,
    /// `IdleTimeout`: how long a session may wait between commands with no
    /// scan of its own running, before it is closed (default 30 s).
    pub idle_timeout: Duration,
    /// `SendBufTimeout`: the wait for a client to take a reply (default 500 ms).
    pub send_buf_timeout: Duration,
    /// `ExcludePath`, repeatable: regular expressions of paths not scanned.
    pub exclude_path: Vec<String>,
    /// `FollowDirectorySymlinks` (default no).
    pub follow_directory_symlinks: bool,
    /// `FollowFileSymlinks` (default no).
    pub follow_file_symlinks: bool,
    /// `CrossFilesystems` (default yes).
    pub cross_filesystems: bool,
    /// `MaxDirectoryRecursion` (default 15; 0 = no limit).
    pub max_directory_recursion: u32,
    /// `DatabaseDirectory`: signatures to load (besides the built-in ones).
    pub database_directory: Option<PathBuf>,
    /// `TemporaryDirectory`: where streams too large for memory go, as files
    /// with no name (default: the system's).
    pub temporary_directory: Option<PathBuf>,
    /// `MaxFileSize`, `MaxScanSize`, `MaxFiles`, `MaxRecursion`,
    /// `MaxScanTime`, `ScanArchive`, `AlertExceedsMax`, `AlertEncrypted`
    /// (clamd's defaults: 100M, 400M, 10000, 17, 120000 ms).
    pub limits: Limits,
    /// `EnableShutdownCommand` (default yes).
    pub enable_shutdown: bool,
    /// `EnableReloadCommand` (default yes).
    pub enable_reload: bool,
    /// `EnableVersionCommand` (default yes).
    pub enable_version: bool,
    /// `EnableStatsCommand` (default yes).
    pub enable_stats: bool,
    /// `EnableSelfCheckCommand` (default yes).
    pub enable_selfcheck: bool,
    /// `AllowAllMatchScan` (default yes).
    pub allow_all_match_scan: bool,
    /// Path commands (`SCAN`, `CONTSCAN`, `MULTISCAN`, `ALLMATCHSCAN`) over
    /// TCP (default no: a TCP client is not known to be allowed to read
    /// anything on this machine).
    pub tcp_path_commands: bool,
}

impl Default for Config {
    fn default() -> Config {
        let mut limits = Limits::new();
        limits
            .max_filesize(Some(100 << 20))
            .max_scantime(Some(Duration::from_millis(120_000)));
        Config {
            local_socket: None,
            local_socket_group: None,
            local_socket_mode: None,
            fix_stale_socket: true,
            tcp_socket: None,
            tcp_addr: Vec::new(),
            max_connection_queue_length: 200,
            stream_max_length: 100 << 20,
            max_threads: 10,
            max_queue: 100,
            read_timeout: Duration::from_secs(120),
            command_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            send_buf_timeout: Duration::from_millis(500),
            exclude_path: Vec::new(),
            follow_directory_symlinks: false,
            follow_file_symlinks: false,
            cross_filesystems: true,
            max_directory_recursion: 15,
            database_directory: None,
            temporary_directory: None,
            limits,
            enable_shutdown: true,
            enable_reload: true,
            enable_version: true,
            enable_stats: true,
            enable_selfcheck: true,
            allow_all_match_scan: true,
            tcp_path_commands: false,
        }
    }
}

/// A `clamd.conf` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A bad value.
    #[error("{path}:{line}: {option}: {reason}")]
    Value {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// The option.
        option: String,
        /// What is wrong.
        reason: String,
    },
}

/// clamd options that ward reads and has no use for (logging, privileges,
/// on-access scanning, per-format switches that are always on, …).
const IGNORED: &[&str] = &[
    "LogFile",
    "LogFileUnlock",
    "LogFileMaxSize",
    "LogTime",
    "LogClean",
    "LogSyslog",
    "LogFacility",
    "LogVerbose",
    "LogRotate",
    "ExtendedDetectionInfo",
    "PidFile",
    "User",
    "AllowSupplementaryGroups",
    "Foreground",
    "Debug",
    "LeaveTemporaryFiles",
    "SelfCheck",
    "ConcurrentDatabaseReload",
    "ExitOnOOM",
    "VirusEvent",
    "Bytecode",
    "BytecodeSecurity",
    "BytecodeTimeout",
    "BytecodeUnsigned",
    "BytecodeMode",
    "DetectPUA",
    "ExcludePUA",
    "IncludePUA",
    "HeuristicAlerts",
    "HeuristicScanPrecedence",
    "ScanPE",
    "ScanELF",
    "ScanOLE2",
    "ScanPDF",
    "ScanSWF",
    "ScanXMLDOCS",
    "ScanHWP3",
    "ScanOneNote",
    "ScanMail",
    "ScanPartialMessages",
    "ScanHTML",
    "ScanImage",
    "ScanImageFuzzyHash",
    "PhishingSignatures",
    "PhishingScanURLs",
    "AlertBrokenExecutables",
    "AlertBrokenMedia",
    "AlertOLE2Macros",
    "AlertPhishingSSLMismatch",
    "AlertPhishingCloak",
    "AlertPartitionIntersection",
    "StructuredDataDetection",
    "MaxEmbeddedPE",
    "MaxHTMLNormalize",
    "MaxHTMLNoTags",
    "MaxScriptNormalize",
    "MaxZipTypeRcg",
    "MaxPartitions",
    "MaxIconsPE",
    "MaxRecHWP3",
    "PCREMatchLimit",
    "PCRERecMatchLimit",
    "PCREMaxFileSize",
    "OLE2BlockMacros",
    "DisableCertCheck",
    "DisableCache",
    "CacheSize",
    "OfficialDatabaseOnly",
    "StreamMinPort",
    "StreamMaxPort",
    "OnAccessMaxFileSize",
    "OnAccessMaxThreads",
    "OnAccessCurlTimeout",
    "OnAccessRetryAttempts",
    "OnAccessDisableDDD",
    "OnAccessIncludePath",
    "OnAccessExcludePath",
    "OnAccessExcludeRootUID",
    "OnAccessExcludeUID",
    "OnAccessExcludeUname",
    "OnAccessMountPath",
    "OnAccessPrevention",
    "OnAccessExtraScanning",
    "OnAccessDenyOnError",
    "ForceToDisk",
    "Example",
    // Older names, still in the clamd.conf Debian installs.
    "PreludeEnable",
    "PreludeAnalyzerName",
    "AlgorithmicDetection",
    "PhishingAlwaysBlockSSLMismatch",
    "PhishingAlwaysBlockCloak",
    "PartitionIntersection",
    "ArchiveBlockMax",
    "ScanOnAccess",
    "MailFollowURLs",
];

impl Config {
    /// clamd's defaults (see [`Config`]).
    pub fn new() -> Config {
        Config::default()
    }

    /// Apply the options of the `clamd.conf` at `path` over these settings;
    /// the warnings (options ignored or unknown), each naming file and line.
    pub fn read_file(&mut self, path: &Path) -> Result<Vec<String>, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut warnings = Vec::new();
        let mut ignored = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = match line.split_once(|c: char| c.is_ascii_whitespace()) {
                Some((n, v)) => (n, v.trim().trim_matches('"')),
                None => (line, ""),
            };
            match self.set(name, value) {
                Ok(true) => {}
                Ok(false) if IGNORED.contains(&name) => {
                    ignored.push(format!("{name} (line {})", i + 1))
                }
                Ok(false) => warnings.push(format!(
                    "{}:{}: unknown option {name}; ignored",
                    path.display(),
                    i + 1
                )),
                Err(reason) => {
                    return Err(ConfigError::Value {
                        path: path.to_owned(),
                        line: i + 1,
                        option: name.to_owned(),
                        reason,
                    });
                }
            }
        }
        if !ignored.is_empty() {
            warnings.push(format!(
                "{}: clamd options ward does not use, ignored: {}",
                path.display(),
                ignored.join(", ")
            ));
        }
        Ok(warnings)
    }

    /// Set one option; `Ok(false)` when ward does not use it.
    fn set(&mut self, name: &str, v: &str) -> Result<bool, String> {
        let secs = |v: &str| number(v).map(Duration::from_secs);
        match name {
            "LocalSocket" => self.local_socket = Some(PathBuf::from(v)),
            "LocalSocketGroup" => self.local_socket_group = Some(v.to_owned()),
            "LocalSocketMode" => {
                let mode = u32::from_str_radix(v, 8).map_err(|_| bad(v, "an octal mode"))?;
                self.local_socket_mode = Some(mode);
            }
            "FixStaleSocket" => self.fix_stale_socket = yes_no(v)?,
            "TCPSocket" => {
                self.tcp_socket = Some(v.parse().map_err(|_| bad(v, "a port number"))?);
            }
            "TCPAddr" => self.tcp_addr.push(v.to_owned()),
            "MaxConnectionQueueLength" => {
                self.max_connection_queue_length = to_u32(number(v)?)?;
            }
            "StreamMaxLength" => self.stream_max_length = size(v)?,
            "MaxThreads" => self.max_threads = to_u32(number(v)?)?.max(1) as usize,
            "MaxQueue" => self.max_queue = to_u32(number(v)?)?.max(1) as usize,
            "ReadTimeout" => self.read_timeout = secs(v)?,
            "CommandReadTimeout" => self.command_read_timeout = secs(v)?,
            "IdleTimeout" => self.idle_timeout = secs(v)?,
            "SendBufTimeout" => self.send_buf_timeout = Duration::from_millis(number(v)?),
            "ExcludePath" => {
                regex::bytes::Regex::new(v).map_err(|e| format!("bad regular expression: {e}"))?;
                self.exclude_path.push(v.to_owned());
            }
            "FollowDirectorySymlinks" => self.follow_directory_symlinks = yes_no(v)?,
            "FollowFileSymlinks" => self.follow_file_symlinks = yes_no(v)?,
            "CrossFilesystems" => self.cross_filesystems = yes_no(v)?,
            "MaxDirectoryRecursion" => self.max_directory_recursion = to_u32(number(v)?)?,
            "DatabaseDirectory" => self.database_directory = Some(PathBuf::from(v)),
            "TemporaryDirectory" => self.temporary_directory = Some(PathBuf::from(v)),
            "MaxFileSize" => {
                let n = size(v)?;
                self.limits.max_filesize = (n > 0).then_some(n);
            }
            "MaxScanSize" => {
                let n = size(v)?;
                self.limits.max_scansize = if n == 0 { u64::MAX } else { n };
            }
            "MaxFiles" => self.limits.max_files = nonzero_u32(number(v)?)?,
            "MaxRecursion" => self.limits.max_recursion = nonzero_u32(number(v)?)?,
            "MaxScanTime" => {
                let ms = number(v)?;
                self.limits.max_scantime = (ms > 0).then(|| Duration::from_millis(ms));
            }
            "ScanArchive" => self.limits.scan_archive = yes_no(v)?,
            "AlertExceedsMax" => self.limits.alert_exceeds_max = yes_no(v)?,
            "AlertEncrypted" | "AlertEncryptedArchive" | "ArchiveBlockEncrypted" => {
                self.limits.alert_encrypted = yes_no(v)?;
            }
            "EnableShutdownCommand" => self.enable_shutdown = yes_no(v)?,
            "EnableReloadCommand" => self.enable_reload = yes_no(v)?,
            "EnableVersionCommand" => self.enable_version = yes_no(v)?,
            "EnableStatsCommand" => self.enable_stats = yes_no(v)?,
            "EnableSelfCheckCommand" => self.enable_selfcheck = yes_no(v)?,
            "AllowAllMatchScan" => self.allow_all_match_scan = yes_no(v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn bad(v: &str, what: &str) -> String {
    format!("'{v}' is not {what}")
}

/// clamd's switches: yes/no, true/false, 1/0.
fn yes_no(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err(bad(v, "yes or no")),
    }
}

fn number(v: &str) -> Result<u64, String> {
    v.parse().map_err(|_| bad(v, "a number"))
}

fn to_u32(n: u64) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| format!("{n} is too large"))
}

/// A count where 0 means "no limit".
fn nonzero_u32(n: u64) -> Result<u32, String> {
    match n {
        0 => Ok(u32::MAX),
        n => to_u32(n),
    }
}

/// A size with an optional `K` or `M` suffix (clamd takes no other).
fn size(v: &str) -> Result<u64, String> {
    let (num, mult) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        _ => (v, 1),
    };
    let n: u64 = num.parse().map_err(|_| bad(v, "a size (e.g. 100M)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{v} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_options_and_warns_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clamd.conf");
        std::fs::write(
            &path,
            "# comment\nLocalSocket /run/x.sock\nStreamMaxLength 2M\nLogFile /x\nBogus 1\n\
             MaxScanTime 5000\nTCPAddr ::1\nTCPAddr 127.0.0.1\nFollowFileSymlinks yes\n",
        )
        .unwrap();
        let mut c = Config::new();
        let warnings = c.read_file(&path).unwrap();
        assert_eq!(c.local_socket.as_deref(), Some(Path::new("/run/x.sock")));
        assert_eq!(c.stream_max_length, 2 << 20);
        assert_eq!(c.limits.max_scantime, Some(Duration::from_secs(5)));
        assert_eq!(c.tcp_addr, ["::1", "127.0.0.1"]);
        assert!(c.follow_file_symlinks);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].ends_with(":5: unknown option Bogus; ignored"));
        assert!(
            warnings[1].ends_with(": clamd options ward does not use, ignored: LogFile (line 4)")
        );
        std::fs::write(&path, "\nMaxThreads many\n").unwrap();
        let e = Config::new().read_file(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("clamd.conf:2: MaxThreads: 'many' is not a number"),
            "{e}"
        );
    }
}
