//! clamd's wire protocol: how a command is framed and which command it is.
//!
//! The first byte of a command picks its framing (clamd's `get_cmd` in
//! `server-th.c`): `z` ends the command with a NUL, `n` with a newline, and
//! anything else is an old-style command, one packet each, up to its first
//! newline. A reply ends with the request's terminator. Commands are matched
//! by prefix against clamd's table, in its order (`session.c`): one that takes
//! an argument takes everything after the one byte following its name; one
//! that takes none must have nothing after its name.

/// How a command was framed; the reply ends the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `zCOMMAND\0`.
    Nul,
    /// `nCOMMAND\n`.
    Newline,
    /// `COMMAND\n`, or a whole packet: clamd's old style.
    Old,
}

impl Framing {
    /// The byte that ends a reply to a command framed this way.
    pub fn terminator(self) -> u8 {
        match self {
            Framing::Nul => 0,
            Framing::Newline | Framing::Old => b'\n',
        }
    }
}

/// One command, as clamd's `parse_command` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `SCAN path`: stop at the first detection.
    Scan(Vec<u8>),
    /// `CONTSCAN path`: go on after detections.
    ContScan(Vec<u8>),
    /// `MULTISCAN path`: a directory's files in parallel.
    MultiScan(Vec<u8>),
    /// `ALLMATCHSCAN path`: every matching signature of each file.
    AllMatchScan(Vec<u8>),
    /// `SHUTDOWN` or `QUIT`.
    Shutdown,
    /// `RELOAD`.
    Reload,
    /// `SELFCHECK`.
    SelfCheck,
    /// `PING`.
    Ping,
    /// `VERSIONCOMMANDS`.
    VersionCommands,
    /// `VERSION`.
    Version,
    /// `END` of an `IDSESSION`.
    End,
    /// `MULTISCAN`'s sibling for descriptors: `FILDES` plus one passed descriptor.
    Fildes,
    /// `STATS`.
    Stats,
    /// `IDSESSION`.
    IdSession,
    /// `INSTREAM` followed by length-prefixed chunks.
    InStream,
    /// `DETSTATSCLEAR` (accepted, no reply).
    DetStatsClear,
    /// `DETSTATS` (accepted, no reply).
    DetStats,
    /// Anything else (`UNKNOWN COMMAND`).
    Unknown,
}

/// What a table entry builds from its argument.
type Build = fn(Vec<u8>) -> Command;

/// clamd's command table, in its order: name, takes an argument, allowed
/// old-style, and the command. `VERSIONCOMMANDS` comes before `VERSION`,
/// which is its prefix. `QUIT` is `SHUTDOWN`.
const TABLE: [(&str, bool, bool, Build); 18] = [
    ("SCAN", true, true, Command::Scan),
    ("QUIT", false, true, |_| Command::Shutdown),
    ("RELOAD", false, true, |_| Command::Reload),
    ("SELFCHECK", false, true, |_| Command::SelfCheck),
    ("PING", false, true, |_| Command::Ping),
    ("CONTSCAN", true, true, Command::ContScan),
    ("VERSIONCOMMANDS", false, false, |_| {
        Command::VersionCommands
    }),
    ("VERSION", false, true, |_| Command::Version),
    ("END", false, false, |_| Command::End),
    ("SHUTDOWN", false, true, |_| Command::Shutdown),
    ("MULTISCAN", true, true, Command::MultiScan),
    ("FILDES", false, true, |_| Command::Fildes),
    ("STATS", false, false, |_| Command::Stats),
    ("IDSESSION", false, false, |_| Command::IdSession),
    ("INSTREAM", false, false, |_| Command::InStream),
    ("DETSTATSCLEAR", false, true, |_| Command::DetStatsClear),
    ("DETSTATS", false, true, |_| Command::DetStats),
    ("ALLMATCHSCAN", true, false, Command::AllMatchScan),
];

/// The names `VERSIONCOMMANDS` lists, in clamd's order.
pub fn command_names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|t| t.0)
}

/// Which command `text` (without its prefix and terminator) is.
pub fn parse(text: &[u8], framing: Framing) -> Command {
    // clamd handles commands as C strings: a NUL ends one.
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    for (name, needs_arg, old_ok, build) in TABLE {
        let Some(rest) = text.strip_prefix(name.as_bytes()) else {
            continue;
        };
        let ok = match needs_arg {
            true => !rest.is_empty(),
            false => rest.is_empty(),
        };
        if !ok || (framing == Framing::Old && !old_ok) {
            return Command::Unknown;
        }
        return build(rest.get(1..).unwrap_or_default().to_vec());
    }
    Command::Unknown
}

/// The longest command clamd reads: its buffer of `PATH_MAX + 8` bytes.
pub const MAX_COMMAND: usize = 4096 + 8;

/// A command found at the start of `buf`: its framing, its text and how many
/// bytes it took, or `None` while it is incomplete. `whole_packet` says that
/// `buf` holds the first packet of the connection and nothing was taken
/// from it yet, the only place an old-style command may be.
pub fn split(buf: &[u8], whole_packet: bool) -> Option<(Framing, Vec<u8>, usize)> {
    let (&first, _) = buf.split_first()?;
    match first {
        b'z' | b'n' => {
            let (framing, term) = match first {
                b'z' => (Framing::Nul, 0),
                _ => (Framing::Newline, b'\n'),
            };
            let end = memchr::memchr(term, buf)?;
            let mut text = &buf[1..end];
            if framing == Framing::Newline {
                text = chomp(text);
            }
            Some((framing, text.to_vec(), end + 1))
        }
        _ if !whole_packet => None,
        _ => {
            let end = memchr::memchr(b'\n', buf).unwrap_or(buf.len());
            let used = (end + 1).min(buf.len());
            Some((Framing::Old, chomp(&buf[..end]).to_vec(), used))
        }
    }
}

/// Without trailing newlines and carriage returns (clamd's `cli_chomp`).
fn chomp(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_as_clamd_matches_them() {
        use Command::*;
        let nl = Framing::Newline;
        assert_eq!(parse(b"PING", nl), Ping);
        assert_eq!(parse(b"PING ", nl), Unknown);
        assert_eq!(parse(b"VERSIONCOMMANDS", nl), VersionCommands);
        assert_eq!(parse(b"VERSIONCOMMANDS", Framing::Old), Unknown);
        assert_eq!(parse(b"VERSION", Framing::Old), Version);
        assert_eq!(parse(b"SCAN /a b", nl), Scan(b"/a b".to_vec()));
        assert_eq!(parse(b"SCAN", nl), Unknown);
        assert_eq!(parse(b"CONTSCAN /x", nl), ContScan(b"/x".to_vec()));
        assert_eq!(parse(b"ALLMATCHSCAN /x", Framing::Old), Unknown);
        assert_eq!(parse(b"QUIT", Framing::Old), Shutdown);
        assert_eq!(parse(b"STREAM", nl), Unknown);
        assert_eq!(parse(b"INSTREAM", Framing::Old), Unknown);
        assert_eq!(parse(b"DETSTATSCLEAR", nl), DetStatsClear);
    }

    #[test]
    fn framing() {
        assert_eq!(
            split(b"zPING\0nPING\n", false),
            Some((Framing::Nul, b"PING".to_vec(), 6))
        );
        assert_eq!(
            split(b"nSCAN /x\r\n", false),
            Some((Framing::Newline, b"SCAN /x".to_vec(), 10))
        );
        assert_eq!(split(b"zPING", true), None);
        assert_eq!(split(b"PING", false), None);
        assert_eq!(
            split(b"PING", true),
            Some((Framing::Old, b"PING".to_vec(), 4))
        );
        assert_eq!(
            split(b"PING\nrest", true),
            Some((Framing::Old, b"PING".to_vec(), 5))
        );
    }
}
