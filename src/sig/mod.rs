//! Signature formats: parsing ClamAV databases into typed signatures.
//!
//! A [`Database`] collects signatures from files, directories and text; it is the
//! input of [`crate::SignatureSet::compile`]. Every syntax error carries the file,
//! line and column it was found at; signatures that are well formed but need an
//! engine feature ward does not have are skipped with a [`SigWarning`], never
//! matched with different semantics.

pub mod builtin;
pub mod compiled;
pub mod cvd;
pub mod hashdb;
pub mod hashtable;
pub mod hexpat;
pub mod ldb;
pub mod location;
#[allow(unsafe_code)]
mod mapped;
pub mod ndb;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use hexpat::{Node, Tok};

/// The file type a body signature applies to (ClamAV's `TargetType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TargetType {
    /// 0: any file.
    Any,
    /// 1: Windows PE executables.
    Pe,
    /// 6: ELF executables and libraries.
    Elf,
    /// 9: Mach-O binaries.
    MachO,
    /// 4: mail, the raw bytes of a file ClamAV types as a message or an
    /// mbox (never the parts decoded from it).
    Mail,
    /// 3: HTML, as ClamAV's HTML normaliser gives it: the markup without
    /// comments, and the text without tags.
    Html,
    /// 7: normalised ASCII text, the view ClamAV makes of a text file
    /// (ASCII, UTF-8 or UTF-16): lower case, runs of white space as one
    /// space, control characters and bytes past ASCII dropped.
    Text,
}

/// Where a body signature's match must start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offset {
    /// `*`: anywhere.
    Any,
    /// `n[,shift]`: at `at ..= at + shift`.
    FromStart {
        /// First allowed start.
        at: u64,
        /// How much later it may start.
        shift: u64,
    },
    /// `EOF-n[,shift]`: at `size - back ..= size - back + shift`.
    FromEnd {
        /// Distance of the first allowed start from the end of the file.
        back: u64,
        /// How much later it may start.
        shift: u64,
    },
}

impl Offset {
    /// The inclusive range of allowed start offsets in a file of `size` bytes,
    /// or `None` when no start is possible.
    pub fn start_range(self, size: u64) -> Option<(u64, u64)> {
        let (lo, shift) = match self {
            Offset::Any => return Some((0, size)),
            Offset::FromStart { at, shift } => (at, shift),
            Offset::FromEnd { back, shift } => (size.checked_sub(back)?, shift),
        };
        (lo <= size).then(|| (lo, lo.saturating_add(shift).min(size)))
    }
}

/// A condition on the bytes after a body match (used by the built-in EICAR rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trailer {
    /// Only ASCII whitespace (and Ctrl-Z) may follow, and the file is at most
    /// `max_size` bytes.
    Whitespace {
        /// Largest file size allowed.
        max_size: u64,
    },
}

/// A body (content) signature.
#[derive(Clone, Debug)]
pub struct BodySig {
    /// Name, exactly as in the database.
    pub name: Arc<str>,
    /// File type it applies to.
    pub target: TargetType,
    /// Where the match must start.
    pub offset: Offset,
    /// The pattern.
    pub nodes: Vec<Node>,
    /// Extra condition on what follows the match.
    pub trailer: Option<Trailer>,
}

/// A digest algorithm of a hash signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    /// MD5 (`.hdb`, `.fp`).
    Md5,
    /// SHA-1 (`.hsb`, `.sfp`, 40 hex digits).
    Sha1,
    /// SHA-256 (`.hsb`, `.sfp`, 64 hex digits).
    Sha256,
}

impl HashKind {
    /// Lower-case name: `md5`, `sha1`, `sha256`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha256 => "sha256",
        }
    }
}

pub use hashtable::{HashEntry, HashTable};

/// An error within a line of a signature file (0-based column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// 0-based byte column.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

impl LineError {
    fn new(column: usize, reason: impl Into<String>) -> Self {
        LineError {
            column,
            reason: reason.into(),
        }
    }
}

/// A syntax error in a signature file, with its place (line and column 1-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {reason}", file.display())]
pub struct SigError {
    /// The file (or the name given to text).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

/// A signature that was read but will not be used, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigWarning {
    /// Where it was found.
    pub file: PathBuf,
    /// 1-based line; 0 for the whole file.
    pub line: usize,
    /// Why it is skipped.
    pub reason: String,
}

impl fmt::Display for SigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.reason),
            line => write!(f, "{}:{line}: {}", self.file.display(), self.reason),
        }
    }
}

/// Why a database could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseError {
    /// The file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file's extension names no format ward reads.
    #[error("{}: unknown signature format (expected .ndb, .hdb, .hsb, .fp, .sfp, .ign2, .cvd, .cld, .cud or .wardset)", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The databases given hold no signature at all: scanning with them would
    /// report every file clean.
    #[error(
        "{}: no signatures loaded: ward will not scan with nothing",
        display_paths(paths)
    )]
    NoSignatures {
        /// The files and directories given.
        paths: Vec<PathBuf>,
    },
    /// A compiled set or a database container that is foreign, corrupt, from
    /// another version, or whose signature does not verify.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Syntax errors; all of them, in file order.
    #[error("{}", display_errors(.0))]
    Syntax(Vec<SigError>),
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn display_errors(errors: &[SigError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The formats of signature files, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// `.ndb` extended body signatures.
    Ndb,
    /// `.ldb` logical signatures.
    Ldb,
    /// `.hdb` (MD5) and `.hsb` (SHA-1/SHA-256) hash signatures.
    Hash,
    /// `.fp` / `.sfp`: hashes of known-clean files.
    Allow,
    /// `.ign2`: names of signatures to drop.
    Ignore,
    /// `.wardset`: ward's compiled signature set (`ward sigs compile`).
    Compiled,
    /// `.cvd`, `.cld`, `.cud`: ClamAV's database containers.
    Container,
    /// A kind of ClamAV database ward does not run (named here): its entries
    /// are counted and skipped with one warning for the file.
    NotRun(&'static str),
}

impl Format {
    /// Whether files of this format are text, read line by line.
    fn is_text(self) -> bool {
        matches!(
            self,
            Format::Ndb | Format::Ldb | Format::Hash | Format::Allow | Format::Ignore
        )
    }

    /// The format for a file name's extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        if ext == compiled::EXTENSION {
            return Some(Format::Compiled);
        }
        Some(match ext {
            "ndb" => Format::Ndb,
            "hdb" | "hsb" => Format::Hash,
            "fp" | "sfp" => Format::Allow,
            "ign" | "ign2" => Format::Ignore,
            "hdu" | "hsu" => Format::Hash,
            "ndu" => Format::Ndb,
            "ldb" | "ldu" => Format::Ldb,
            "cvd" | "cld" | "cud" => Format::Container,
            _ => Format::NotRun(not_run_kind(ext)?),
        })
    }
}

/// Where a file comes in a directory's loading order: ignore lists, then
/// `daily.*`, then the rest.
fn load_rank(path: &Path) -> u8 {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if Format::from_path(path) == Some(Format::Ignore) {
        0
    } else if name.starts_with("daily.") {
        1
    } else {
        2
    }
}

/// Whether a file is a PUA database (potentially unwanted applications),
/// loaded only when asked for.
pub fn is_pua(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "hdu" | "hsu" | "mdu" | "msu" | "ndu" | "ldu"))
}

/// What a ClamAV database ward does not run holds, by its extension.
fn not_run_kind(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "mdu" | "msu" => "PUA PE section hash (.mdu/.msu)",
        "mdb" | "msb" => "PE section hash (.mdb/.msb)",
        "imp" => "PE import table hash (.imp)",
        "cdb" => "container metadata (.cdb)",
        "cbc" => "bytecode (.cbc)",
        "pdb" | "gdb" => "phishing protected domain (.pdb/.gdb)",
        "wdb" => "phishing allow list (.wdb)",
        "idb" => "icon (.idb)",
        "crb" | "cat" => "certificate trust (.crb/.cat)",
        "ftm" => "file type magic (.ftm)",
        "cfg" => "engine configuration (.cfg)",
        "info" => "container index (.info)",
        "yar" | "yara" => "YARA rule (.yar)",
        "pwdb" => "archive password (.pwdb)",
        _ => return None,
    })
}

/// A database file read but not run, as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFile {
    /// The file (a member of a container is named `container/member`).
    pub file: PathBuf,
    /// What kind of entries it holds.
    pub kind: &'static str,
    /// How many entries were skipped.
    pub count: usize,
}

impl fmt::Display for SkippedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {} entries skipped: ward does not run this kind",
            self.file.display(),
            self.count,
            self.kind
        )
    }
}

/// The entries of a text database: lines that are neither blank nor comments.
fn count_entries(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace) && l.first() != Some(&b'#'))
        .count()
}

/// Parsed signatures from any number of sources, ready to compile.
#[derive(Clone, Debug, Default)]
pub struct Database {
    /// Body signatures.
    pub body: Vec<BodySig>,
    /// Logical signatures.
    pub logical: Vec<ldb::LogicalSig>,
    /// Hash signatures.
    pub hashes: HashTable,
    /// Hashes of known-clean files (never reported).
    pub allow: HashTable,
    /// Signature names to drop.
    pub ignored: HashSet<String>,
    /// Signatures to drop only where their database entry (its whole line)
    /// has one of these MD5s (`.ign2`'s `Name:md5`). They apply to the
    /// entries loaded after them: a directory's ignore files load first.
    pub ignored_entries: HashMap<String, Vec<[u8; 16]>>,
    /// Entries dropped while loading by `Name:md5` ignore lines.
    pub dropped: usize,
    /// Whether the PUA databases (`.hdu`, `.hsu`, `.mdu`, `.msu`, `.ndu`,
    /// `.ldu`) are loaded; without it they are passed over. Set before
    /// loading (default: no).
    pub detect_pua: bool,
    /// Signatures read but skipped, with the reason.
    pub warnings: Vec<SigWarning>,
    /// Whole files read but not run (kinds of database ward does not run).
    pub skipped: Vec<SkippedFile>,
    /// The containers (`.cvd`, `.cld`, `.cud`) loaded, with their headers.
    pub containers: Vec<cvd::Loaded>,
}

/// The read buffer of a text database, bytes.
const TEXT_BUFFER: usize = 1 << 20;

/// Read the next line of `input` into `line`, without its `\n` and cut
/// after [`MAX_LINE`]` + 1` bytes (the rest of a longer line is passed over).
/// `false` at the end of the input.
fn next_line(input: &mut impl std::io::BufRead, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    let mut any = false;
    loop {
        let avail = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(any);
        }
        any = true;
        let end = memchr::memchr(b'\n', avail);
        let piece = &avail[..end.unwrap_or(avail.len())];
        let room = (MAX_LINE + 1).saturating_sub(line.len());
        line.extend_from_slice(&piece[..piece.len().min(room)]);
        let used = end.map_or(avail.len(), |at| at + 1);
        input.consume(used);
        if end.is_some() {
            return Ok(true);
        }
    }
}

/// At most this many syntax errors are kept per file.
const MAX_ERRORS_PER_FILE: usize = 100;

/// The longest signature line accepted (comments may be longer). ClamAV's
/// longest body signatures are a few KiB; a pattern of this size already costs
/// tens of MiB once parsed.
pub const MAX_LINE: usize = 1 << 20;

impl Database {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in signatures (EICAR, the ClamAV test file).
    pub fn builtin() -> Self {
        builtin::database()
    }

    /// Load a signature file (format by extension) or every signature file in a
    /// directory (sorted by name; other files are ignored).
    pub fn load_path(&mut self, path: &Path) -> Result<(), DatabaseError> {
        let io = |source| DatabaseError::Io {
            path: path.to_owned(),
            source,
        };
        if path.is_dir() {
            let mut files = std::fs::read_dir(path)
                .map_err(io)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(io)?;
            files.retain(|p| Format::from_path(p).is_some() && p.is_file());
            // As ClamAV: the ignore lists first, then daily (whose lists
            // apply to main), then the rest by name.
            files.sort_by_key(|p| (load_rank(p), p.clone()));
            cvd::drop_older_duplicates(&mut files, &mut self.warnings);
            let mut errors = Vec::new();
            for file in files {
                match self.load_path(&file) {
                    Err(DatabaseError::Syntax(mut e)) => errors.append(&mut e),
                    other => other?,
                }
            }
            return if errors.is_empty() {
                Ok(())
            } else {
                Err(DatabaseError::Syntax(errors))
            };
        }
        let format = Format::from_path(path).ok_or_else(|| DatabaseError::UnknownFormat {
            path: path.to_owned(),
        })?;
        if format.is_text() {
            // Read a piece at a time: a database of millions of lines is
            // never held whole in memory.
            if is_pua(path) && !self.detect_pua {
                return Ok(());
            }
            let file = std::fs::File::open(path).map_err(io)?;
            let input = std::io::BufReader::with_capacity(TEXT_BUFFER, file);
            return self.load_text(format, path, input);
        }
        if format == Format::Compiled {
            return compiled::load_file(path, self);
        }
        let bytes = std::fs::read(path).map_err(io)?;
        // A compiled set written by earlier versions under ClamAV's `.wdb`.
        if path.extension() == Some("wdb".as_ref()) && bytes.starts_with(compiled::MAGIC) {
            self.warnings.push(SigWarning {
                file: path.to_owned(),
                line: 0,
                reason: format!(
                    "a ward compiled set named .wdb (ClamAV's phishing allow list): rename it to .{}",
                    compiled::EXTENSION
                ),
            });
            return self.load_bytes(Format::Compiled, path, &bytes);
        }
        self.load_bytes(format, path, &bytes)
    }

    /// Load signatures of `format` from text; `name` is used in error messages.
    pub fn load_bytes(
        &mut self,
        format: Format,
        name: &Path,
        bytes: &[u8],
    ) -> Result<(), DatabaseError> {
        if is_pua(name) && !self.detect_pua {
            return Ok(());
        }
        match format {
            Format::Compiled => {
                return compiled::decode(bytes, self).map_err(|reason| DatabaseError::Corrupt {
                    path: name.to_owned(),
                    reason,
                });
            }
            Format::Container => return cvd::load(name, bytes, self),
            Format::NotRun(kind) => {
                let count = match name.extension() == Some("cbc".as_ref()) {
                    // One program per file.
                    true => 1,
                    false => count_entries(bytes),
                };
                self.skipped.push(SkippedFile {
                    file: name.to_owned(),
                    kind,
                    count,
                });
                return Ok(());
            }
            _ => {}
        }
        self.load_text(format, name, bytes)
    }

    /// Load the lines of a text database from `input`.
    fn load_text(
        &mut self,
        format: Format,
        name: &Path,
        mut input: impl std::io::BufRead,
    ) -> Result<(), DatabaseError> {
        let mut errors = Vec::new();
        let mut error_count = 0usize;
        let mut line = Vec::new();
        for idx in 0.. {
            let more = next_line(&mut input, &mut line).map_err(|source| DatabaseError::Io {
                path: name.to_owned(),
                source,
            })?;
            if !more {
                break;
            }
            let mut raw = line.strip_suffix(b"\r").unwrap_or(&line);
            if idx == 0 {
                raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
            }
            if raw.iter().all(u8::is_ascii_whitespace) || raw.first() == Some(&b'#') {
                continue;
            }
            let result = if raw.len() > MAX_LINE {
                Err(LineError::new(
                    MAX_LINE,
                    format!("line is longer than {MAX_LINE} bytes"),
                ))
            } else {
                match std::str::from_utf8(raw) {
                    Ok(line) => self.add_line(format, name, idx + 1, line),
                    Err(e) => Err(LineError::new(e.valid_up_to(), "invalid UTF-8")),
                }
            };
            if let Err(e) = result {
                error_count += 1;
                if errors.len() < MAX_ERRORS_PER_FILE {
                    errors.push(SigError {
                        file: name.to_owned(),
                        line: idx + 1,
                        column: e.column + 1,
                        reason: e.reason,
                    });
                }
            }
        }
        if error_count > errors.len() {
            errors.push(SigError {
                file: name.to_owned(),
                line: 0,
                column: 0,
                reason: format!("{} more errors not shown", error_count - errors.len()),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DatabaseError::Syntax(errors))
        }
    }

    fn add_line(
        &mut self,
        format: Format,
        file: &Path,
        line: usize,
        text: &str,
    ) -> Result<(), LineError> {
        let warn = |reason| SigWarning {
            file: file.to_owned(),
            line,
            reason,
        };
        match format {
            Format::Ndb => match ndb::parse_line(text)? {
                ndb::Parsed::Sig(sig) if self.entry_ignored(&sig.name, text) => self.dropped += 1,
                ndb::Parsed::Sig(sig) => self.body.push(sig),
                ndb::Parsed::Unsupported(reason) => self.warnings.push(warn(reason)),
                ndb::Parsed::OutOfLevel => {}
            },
            // A logical signature ward cannot read is skipped with a
            // warning rather than refusing its database: ClamAV's grammar
            // has more than ward parses, and one line must not cost the
            // rest of a daily.cvd.
            Format::Ldb => match ldb::parse_line(text) {
                Ok(ldb::Parsed::Sig(sig)) if self.entry_ignored(&sig.name, text) => {
                    self.dropped += 1;
                }
                Ok(ldb::Parsed::Sig(sig)) => self.logical.push(sig),
                Ok(ldb::Parsed::Unsupported(reason)) => self.warnings.push(warn(reason)),
                Ok(ldb::Parsed::OutOfLevel) => {}
                Err(e) => self.warnings.push(warn(format!(
                    "column {}: {}: not a logical signature ward reads",
                    e.column + 1,
                    e.reason
                ))),
            },
            Format::Hash | Format::Allow => {
                let Some(sig) = hashdb::parse_line(text)? else {
                    return Ok(());
                };
                let table = match format {
                    Format::Hash if self.entry_ignored(sig.name, text) => {
                        self.dropped += 1;
                        return Ok(());
                    }
                    Format::Hash => &mut self.hashes,
                    _ => &mut self.allow,
                };
                if !table.push(sig.kind, sig.digest(), sig.size, sig.name) {
                    return Err(LineError::new(0, "too many hash signatures"));
                }
            }
            Format::Ignore => self.add_ignore(text)?,
            Format::Compiled | Format::Container | Format::NotRun(_) => {
                return Err(LineError::new(
                    0,
                    "a binary database is not read line by line",
                ));
            }
        }
        Ok(())
    }

    /// One `.ign`/`.ign2` line: `Name`, `Name:md5-of-the-entry`, or the old
    /// `database:line:Name`.
    fn add_ignore(&mut self, text: &str) -> Result<(), LineError> {
        let f: Vec<&str> = text.split(':').collect();
        let (name, md5) = match f.len() {
            1 => (f[0], None),
            2 => (f[0], Some(f[1])),
            3 => (f[2], None),
            n => {
                return Err(LineError::new(
                    0,
                    format!("expected Name, Name:md5 or db:line:Name, found {n} fields"),
                ));
            }
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(LineError::new(0, "empty signature name"));
        }
        match md5 {
            None => {
                self.ignored.insert(name.to_owned());
            }
            Some(hex) => {
                let digest = crate::encoding::unhex(hex.trim())
                    .and_then(|d| <[u8; 16]>::try_from(d).ok())
                    .ok_or_else(|| {
                        LineError::new(name.len() + 1, format!("'{hex}' is not an MD5"))
                    })?;
                self.ignored_entries
                    .entry(name.to_owned())
                    .or_default()
                    .push(digest);
            }
        }
        Ok(())
    }

    /// Whether the entry `text` of signature `name` is dropped by a
    /// `Name:md5` ignore line.
    fn entry_ignored(&self, name: &str, text: &str) -> bool {
        use md5::Digest;
        self.ignored_entries.get(name).is_some_and(|list| {
            let d: [u8; 16] = md5::Md5::digest(text.as_bytes()).into();
            list.contains(&d)
        })
    }

    /// Add everything from `other`.
    pub fn merge(&mut self, other: Database) {
        self.body.extend(other.body);
        self.logical.extend(other.logical);
        self.hashes.append(other.hashes);
        self.allow.append(other.allow);
        self.ignored.extend(other.ignored);
        self.dropped += other.dropped;
        for (name, mut list) in other.ignored_entries {
            self.ignored_entries
                .entry(name)
                .or_default()
                .append(&mut list);
        }
        self.warnings.extend(other.warnings);
        self.skipped.extend(other.skipped);
        self.containers.extend(other.containers);
    }

    /// Every signature that can report a detection, before `.ign2`: what
    /// tells a database that holds something from one that holds nothing.
    pub fn signatures(&self) -> usize {
        self.body.len() + self.hashes.len() + self.logical.len()
    }

    /// Number of signatures that will be compiled (after `.ign2`).
    pub fn len(&self) -> usize {
        let kept = |n: &str| !self.ignored.contains(n);
        self.body.iter().filter(|s| kept(&s.name)).count()
            + match self.ignored.is_empty() {
                true => self.hashes.len(),
                false => self.hashes.iter().filter(|s| kept(s.name)).count(),
            }
            + self.logical.iter().filter(|s| kept(&s.name)).count()
    }

    /// Whether no signature would be compiled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A plain decimal number: digits only (Rust's `parse` would also take `+7`,
/// which ClamAV rejects).
pub(crate) fn decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether a pattern has at least one fully known byte outside alternations.
pub(crate) fn has_static_byte(nodes: &[Node]) -> bool {
    nodes
        .iter()
        .any(|n| matches!(n, Node::Tok(t) if t.is_exact()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_line_column() {
        let mut db = Database::new();
        let text = b"\xEF\xBB\xBFgood:0:*:41424344\r\n\nbad:0:*:4142zz\nalso:0:*:41424344\n";
        let e = db
            .load_bytes(Format::Ndb, Path::new("x.ndb"), text)
            .unwrap_err();
        let DatabaseError::Syntax(errs) = e else {
            panic!()
        };
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].to_string(), "x.ndb:3:13: 'z' is not a hex digit");
        assert_eq!(db.body.len(), 2);
    }

    #[test]
    fn unsupported_is_a_warning() {
        let mut db = Database::new();
        db.load_bytes(
            Format::Ndb,
            Path::new("w.ndb"),
            b"a:0:EP+0:41424344\nb:5:*:41424344\nc:0:*:41424344:9999\n",
        )
        .unwrap();
        assert_eq!((db.body.len(), db.warnings.len()), (0, 2));
    }

    #[test]
    fn offsets() {
        assert_eq!(Offset::Any.start_range(10), Some((0, 10)));
        assert_eq!(
            Offset::FromStart { at: 4, shift: 100 }.start_range(10),
            Some((4, 10))
        );
        assert_eq!(
            Offset::FromEnd { back: 4, shift: 1 }.start_range(10),
            Some((6, 7))
        );
        assert_eq!(Offset::FromEnd { back: 40, shift: 1 }.start_range(10), None);
        assert_eq!(Offset::FromStart { at: 11, shift: 0 }.start_range(10), None);
    }
}
