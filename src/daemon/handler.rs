//! What each command does and answers, as clamd does (`session.c`,
//! `scanner.c`): one command per connection, or any number inside an
//! `IDSESSION`, whose scans run in parallel and answer as they finish.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Instant, SystemTime};

use super::creds::Access;
use super::protocol::{self, Command, Framing};
use super::reply::Reply;
use super::server::{Peer, ReadError, Reader, Shared, Task};
use super::{Level, scan};
use crate::unpack;

/// Stream bytes held in memory, at most; the rest goes to a file with no name.
const STREAM_MEMORY: u64 = 4 << 20;

/// The scans of one session still running.
#[derive(Default)]
struct Outstanding {
    count: Mutex<usize>,
    done: Condvar,
}

impl Outstanding {
    fn add(&self) {
        *self.count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    }

    fn finish(&self) {
        *self.count.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        self.done.notify_all();
    }

    fn busy(&self) -> bool {
        *self.count.lock().unwrap_or_else(|p| p.into_inner()) > 0
    }

    /// Wait until fewer than `n` scans run: one session cannot take the
    /// whole queue.
    fn wait_below(&self, n: usize) {
        let count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        let _unused = self
            .done
            .wait_while(count, |c| *c >= n)
            .unwrap_or_else(|p| p.into_inner());
    }

    fn wait(&self) {
        let count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        let _unused = self
            .done
            .wait_while(count, |n| *n > 0)
            .unwrap_or_else(|p| p.into_inner());
    }
}

/// A session's state: the next request number and its running scans.
struct Session {
    next_id: u32,
    outstanding: Arc<Outstanding>,
}

/// What to do after a command.
enum Next {
    /// Read the next command.
    Continue,
    /// Close the connection.
    Close,
}

/// Serve one connection until it is done.
pub(crate) fn serve(shared: &Arc<Shared>, conn: u64, peer: &Arc<Peer>) {
    let mut reader = Reader::new();
    let mut session: Option<Session> = None;
    loop {
        let deadline = Instant::now()
            + match &session {
                None => shared.cfg.command_read_timeout,
                Some(s) if s.outstanding.busy() => shared.cfg.read_timeout,
                Some(_) => shared.cfg.idle_timeout.min(shared.cfg.read_timeout),
            };
        let closable = session.as_ref().is_none_or(|s| !s.outstanding.busy());
        shared.set_waiting(conn, true, closable);
        let got = reader.command(peer, deadline);
        shared.set_waiting(conn, false, false);
        let (framing, text) = match got {
            Ok(x) => x,
            Err(ReadError::TimedOut) => {
                let _ = peer.send(b"COMMAND READ TIMED OUT\n");
                break;
            }
            Err(_) => break,
        };
        if shared.stopping.load(Ordering::Acquire) {
            break;
        }
        let next = match &mut session {
            None => one(shared, peer, &mut reader, framing, &text, &mut session),
            Some(s) => in_session(shared, peer, &mut reader, framing, &text, s),
        };
        if matches!(next, Next::Close) {
            break;
        }
    }
    if let Some(s) = session {
        s.outstanding.wait();
    }
}

/// A command outside a session; every one but `IDSESSION` closes the
/// connection after its reply.
fn one(
    shared: &Arc<Shared>,
    peer: &Arc<Peer>,
    reader: &mut Reader,
    framing: Framing,
    text: &[u8],
    session: &mut Option<Session>,
) -> Next {
    let cmd = protocol::parse(text, framing);
    let reply = Reply {
        term: framing.terminator(),
        id: None,
    };
    if cmd != Command::Fildes && reader.unclaimed_fds() {
        reader.fds.clear();
        let _ = peer.send(&reply.error("PROTOCOL ERROR: ancillary data sent without FILDES."));
        return Next::Close;
    }
    match cmd {
        Command::IdSession => {
            *session = Some(Session {
                next_id: 1,
                outstanding: Arc::default(),
            });
            return Next::Continue;
        }
        Command::End => send(peer, &reply.single(None, "UNKNOWN COMMAND")),
        cmd => {
            if let Some(job) = immediate(shared, peer, reader, &cmd, reply) {
                let done = Arc::new(Outstanding::default());
                job.start(shared, peer, reply, &done);
                done.wait();
            }
        }
    }
    Next::Close
}

/// A command inside a session: replies carry the request number; scans run
/// in parallel and answer as they finish.
fn in_session(
    shared: &Arc<Shared>,
    peer: &Arc<Peer>,
    reader: &mut Reader,
    framing: Framing,
    text: &[u8],
    s: &mut Session,
) -> Next {
    let id = s.next_id;
    s.next_id += 1;
    let reply = Reply {
        term: framing.terminator(),
        id: Some(id),
    };
    if framing == Framing::Old {
        send(
            peer,
            &reply.error("Only nCMDS\\n and zCMDS\\0 are accepted inside IDSESSION."),
        );
        return Next::Close;
    }
    let cmd = protocol::parse(text, framing);
    if cmd != Command::Fildes && reader.unclaimed_fds() {
        reader.fds.clear();
        send(
            peer,
            &reply.error("PROTOCOL ERROR: ancillary data sent without FILDES."),
        );
        return Next::Close;
    }
    match cmd {
        Command::End => return Next::Close,
        Command::Scan(_)
        | Command::Fildes
        | Command::InStream
        | Command::Version
        | Command::VersionCommands
        | Command::Ping
        | Command::Stats => {}
        _ => {
            send(peer, &reply.error("Command invalid inside IDSESSION."));
            return Next::Close;
        }
    }
    match immediate(shared, peer, reader, &cmd, reply) {
        Some(Work::Closed) => Next::Close,
        Some(job) => {
            s.outstanding.wait_below(shared.cfg.max_threads.max(2));
            job.start(shared, peer, reply, &s.outstanding);
            Next::Continue
        }
        None => Next::Continue,
    }
}

fn send(peer: &Peer, bytes: &[u8]) {
    let _ = peer.send(bytes);
}

/// A scan for the pool, from a command.
enum Work {
    Path(scan::PathKind, PathBuf),
    Fildes(OwnedFd),
    Stream(unpack::Scratch),
    /// The connection must close (a stream refused or cut off).
    Closed,
}

impl Work {
    /// Queue the scan; `done` counts it until its reply is sent.
    fn start(self, shared: &Arc<Shared>, peer: &Arc<Peer>, reply: Reply, done: &Arc<Outstanding>) {
        let (command, file) = match &self {
            Work::Path(kind, p) => (kind.name(), p.to_string_lossy().into_owned()),
            Work::Fildes(fd) => ("FILDES", format!("fd[{}]", fd.as_raw_fd())),
            Work::Stream(_) => ("INSTREAM", String::new()),
            Work::Closed => return,
        };
        let task = Task {
            command,
            since: Instant::now(),
            file,
        };
        done.add();
        let (me, peer2, done2) = (Arc::clone(shared), Arc::clone(peer), Arc::clone(done));
        let job = Box::new(move |sc: &mut crate::Scanner| {
            match self {
                Work::Path(kind, path) => scan::path(&me, sc, &peer2, reply, kind, &path),
                Work::Fildes(fd) => scan::fildes(&me, sc, &peer2, reply, fd),
                Work::Stream(mut data) => scan::stream(&me, sc, &peer2, reply, &mut data),
                Work::Closed => {}
            }
            done2.finish();
        });
        if !shared.submit(task, job) {
            done.finish();
        }
    }
}

/// Answer what needs no scanning thread; a scan to queue otherwise.
fn immediate(
    shared: &Arc<Shared>,
    peer: &Arc<Peer>,
    reader: &mut Reader,
    cmd: &Command,
    reply: Reply,
) -> Option<Work> {
    let cfg = &shared.cfg;
    let unavailable = || send(peer, &reply.single(None, "COMMAND UNAVAILABLE"));
    match cmd {
        Command::Ping => send(peer, &reply.single(None, "PONG")),
        Command::Version if cfg.enable_version => send(peer, &reply.single(None, &version(shared))),
        Command::VersionCommands => {
            let mut text = version(shared);
            text.push_str("| COMMANDS:");
            for name in protocol::command_names() {
                text.push(' ');
                text.push_str(name);
            }
            send(peer, &reply.single(None, &text));
        }
        Command::Reload if cfg.enable_reload => {
            send(peer, &reply.single(None, "RELOADING"));
            shared.reload();
        }
        Command::SelfCheck if cfg.enable_selfcheck => {
            let status = match shared.reload_pending() {
                true => "RELOADING",
                false => "DBUPTODATE",
            };
            send(peer, &reply.single(None, status));
        }
        Command::Shutdown if cfg.enable_shutdown => {
            (shared.log)(Level::Notice, "SHUTDOWN command received".into());
            shared.ask_shutdown();
        }
        Command::Stats if cfg.enable_stats => send(peer, &stats(shared, reply)),
        Command::Version
        | Command::Reload
        | Command::SelfCheck
        | Command::Shutdown
        | Command::Stats => unavailable(),
        Command::DetStats | Command::DetStatsClear => {}
        Command::Scan(p) | Command::ContScan(p) | Command::MultiScan(p) => {
            return path_work(shared, peer, reply, scan::PathKind::of(cmd), p);
        }
        Command::AllMatchScan(p) if !cfg.allow_all_match_scan => send(
            peer,
            &reply.message(
                Some(p),
                "ALLMATCHSCAN command disabled by clamd configuration.",
                "ERROR",
            ),
        ),
        Command::AllMatchScan(p) => {
            return path_work(shared, peer, reply, scan::PathKind::AllMatch, p);
        }
        Command::Fildes => return fildes(shared, peer, reader, reply),
        Command::InStream => return Some(instream(shared, peer, reader, reply)),
        Command::IdSession | Command::End | Command::Unknown => {
            send(peer, &reply.single(None, "UNKNOWN COMMAND"));
        }
    }
    None
}

/// A path command, if this client may send one.
fn path_work(
    shared: &Shared,
    peer: &Peer,
    reply: Reply,
    kind: scan::PathKind,
    arg: &[u8],
) -> Option<Work> {
    if !peer.is_unix() && !shared.cfg.tcp_path_commands {
        send(peer, &reply.single(None, "COMMAND UNAVAILABLE"));
        return None;
    }
    if let Some(client) = &peer.client
        && super::creds::access_for(client) == Access::Refused
    {
        send(peer, &reply.message(Some(arg), "Access denied.", "ERROR"));
        return None;
    }
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(arg));
    Some(Work::Path(kind, path))
}

/// `FILDES`: one more byte carries the descriptor (clamd eats it).
fn fildes(shared: &Shared, peer: &Peer, reader: &mut Reader, reply: Reply) -> Option<Work> {
    let mut byte = [0u8; 1];
    if reader
        .exact(peer, &mut byte, shared.cfg.read_timeout)
        .is_err()
    {
        return Some(Work::Closed);
    }
    if reader.fds.is_empty() {
        send(peer, &reply.error("No file descriptor received."));
        return None;
    }
    let fd = reader.fds.remove(0);
    reader.fds.clear();
    Some(Work::Fildes(fd))
}

/// `INSTREAM`: chunks of `<u32 length><data>`, a zero length ends them.
/// Bytes are held in memory up to a cap, then in a file with no name; a
/// chunk past what is left of `StreamMaxLength` is refused at once.
fn instream(shared: &Shared, peer: &Peer, reader: &mut Reader, reply: Reply) -> Work {
    let timeout = shared.cfg.read_timeout;
    let mut quota = shared.cfg.stream_max_length;
    let mut data = unpack::Scratch::in_dir(shared.cfg.temporary_directory.as_deref());
    data.clear();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let mut len = [0u8; 4];
        if reader.exact(peer, &mut len, timeout).is_err() {
            return Work::Closed;
        }
        let mut left = u64::from(u32::from_be_bytes(len));
        if left == 0 {
            return Work::Stream(data);
        }
        if left > quota {
            send(peer, &reply.error("INSTREAM size limit exceeded."));
            peer.linger(timeout.min(std::time::Duration::from_secs(10)));
            return Work::Closed;
        }
        quota -= left;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if reader.exact(peer, &mut chunk[..n], timeout).is_err() {
                return Work::Closed;
            }
            if data.push(&chunk[..n], STREAM_MEMORY).is_err() {
                send(peer, &reply.error("Error writing to temporary file"));
                return Work::Closed;
            }
            left -= n as u64;
        }
    }
}

/// What `VERSION` answers: clamd's `ClamAV <version>/<db version>/<db
/// date>`, with ward's version marked as ward's, the signature set's
/// generation (1, then one more for each reload) and when it was loaded.
fn version(shared: &Shared) -> String {
    let loaded = *shared.loaded_at.lock().unwrap_or_else(|p| p.into_inner());
    format!(
        "ClamAV {}-ward/{}/{}",
        env!("CARGO_PKG_VERSION"),
        shared.sigs.generation(),
        ctime(loaded)
    )
}

/// `Wed Dec  2 14:52:06 2026`, in UTC.
fn ctime(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let (y, mo, d) = crate::encoding::civil_from_days(days as i64);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {d:>2} {h:02}:{m:02}:{s:02} {y}",
        DAYS[(days % 7) as usize],
        MONTHS[(mo - 1) as usize]
    )
}

/// `STATS`, in clamd's layout (`thrmgr_printstats`): lines end with a
/// newline whatever the framing; the last, `END`, with the terminator.
fn stats(shared: &Shared, reply: Reply) -> Vec<u8> {
    let (live, busy) = shared.thread_counts();
    let mut out = String::from("POOLS: 1\n\nSTATE: VALID PRIMARY\n");
    out.push_str(&format!(
        "THREADS: live {live}  idle {} max {} idle-timeout {}\n",
        live - busy,
        shared.cfg.max_threads,
        shared.cfg.idle_timeout.as_secs()
    ));
    out.push_str(&format!(
        "QUEUE: {} items\n",
        shared.queued.load(Ordering::Relaxed)
    ));
    let now = Instant::now();
    let tasks = shared
        .tasks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    for t in tasks.into_iter().flatten() {
        out.push_str(&format!(
            "\t{} {:.6} {}\n",
            t.command,
            now.duration_since(t.since).as_secs_f64(),
            t.file
        ));
    }
    out.push_str("\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used N/A pools_total N/A\n");
    let mut bytes = match reply.id {
        Some(id) => format!("{id}: ").into_bytes(),
        None => Vec::new(),
    };
    bytes.extend_from_slice(out.as_bytes());
    bytes.extend_from_slice(b"END");
    bytes.push(reply.term);
    bytes
}

/// Open a descriptor's file as a `File`, refusing what is not a regular file.
pub(crate) fn regular(fd: OwnedFd) -> io::Result<Option<(File, u64)>> {
    let st = rustix::fs::fstat(&fd)?;
    if crate::scan::input::special_kind(st.st_mode).is_some() {
        return Ok(None);
    }
    Ok(Some((
        File::from(fd),
        u64::try_from(st.st_size).unwrap_or(0),
    )))
}
