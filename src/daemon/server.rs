//! Sockets and threads: the listeners, one thread per connection doing its
//! reading and writing, and a fixed pool of `MaxThreads` scanning threads fed
//! through a queue of `MaxQueue` jobs.
//!
//! Everything is bounded. Connections past `MaxThreads + MaxQueue` make the
//! longest-idle connection (one waiting for a command) close, and otherwise
//! wait in the listen backlog; a command must arrive whole within its
//! timeout, however slowly it trickles in; a stream is cut at
//! `StreamMaxLength`; a full queue makes the connection that wants to add to
//! it wait, not the daemon.

use std::collections::HashMap;
use std::io::{self, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use crate::journal::Recorder;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};
use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, recvmsg};

use super::config::Config;
use super::creds::Client;
use super::protocol::{self, Framing, MAX_COMMAND};
use super::{Level, Log};
use crate::Scanner;
use crate::live::Signatures;

/// The sockets the daemon accepts on.
#[derive(Debug, Default)]
pub struct Listeners {
    /// Unix sockets, and the path to remove at exit for those bound here.
    pub unix: Vec<(UnixListener, Option<PathBuf>)>,
    /// TCP sockets.
    pub tcp: Vec<TcpListener>,
}

impl Listeners {
    /// Whether there is nothing to listen on.
    pub fn is_empty(&self) -> bool {
        self.unix.is_empty() && self.tcp.is_empty()
    }
}

/// A connection's socket.
pub(crate) enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

/// One client: its socket, who it is (unix sockets), and the lock that keeps
/// the replies of a session's parallel scans whole.
pub(crate) struct Peer {
    stream: Stream,
    pub client: Option<Client>,
    write: Mutex<()>,
}

impl Peer {
    fn fd(&self) -> BorrowedFd<'_> {
        match &self.stream {
            Stream::Unix(s) => s.as_fd(),
            Stream::Tcp(s) => s.as_fd(),
        }
    }

    /// Who it is, for the log: a unix-socket client's user, a TCP client's
    /// address.
    pub fn describe(&self) -> String {
        match (&self.stream, &self.client) {
            (Stream::Unix(_), Some(c)) => format!("uid {} pid {}", c.uid, c.pid),
            (Stream::Unix(_), None) => "a unix-socket client".into(),
            (Stream::Tcp(s), _) => s
                .peer_addr()
                .map_or_else(|_| "a TCP client".into(), |a| a.to_string()),
        }
    }

    /// Whether it came over a unix socket.
    pub fn is_unix(&self) -> bool {
        matches!(self.stream, Stream::Unix(_))
    }

    /// Send one whole reply (within `SendBufTimeout` per write).
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        let _one = self.write.lock().unwrap_or_else(|p| p.into_inner());
        match &self.stream {
            Stream::Unix(s) => (&*s).write_all(bytes),
            Stream::Tcp(s) => (&*s).write_all(bytes),
        }
    }

    /// Whether the client has closed its end entirely (a client that only
    /// shut down its sending side is still there), as clamd checks between
    /// the files of a path scan.
    pub fn gone(&self) -> bool {
        let fd = self.fd();
        let mut fds = [PollFd::new(&fd, PollFlags::empty())];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        match poll(&mut fds, Some(&zero)) {
            Ok(_) => fds[0].revents().intersects(PollFlags::HUP | PollFlags::ERR),
            Err(_) => true,
        }
    }

    /// End the connection both ways (a blocked read returns at once).
    pub fn shut(&self) {
        let _ = rustix::net::shutdown(self.fd(), rustix::net::Shutdown::Both);
    }

    /// Stop reading: a read waiting for a command returns at once.
    pub fn stop_reading(&self) {
        let _ = rustix::net::shutdown(self.fd(), rustix::net::Shutdown::Read);
    }

    /// Stop sending, then read and drop what the client still sends, for at
    /// most `limit`: a client that is still sending a stream when it is
    /// refused gets to read the refusal rather than a reset.
    pub fn linger(&self, limit: Duration) {
        let _ = rustix::net::shutdown(self.fd(), rustix::net::Shutdown::Write);
        let until = Instant::now() + limit;
        let mut buf = [0u8; 16 << 10];
        let mut fds = Vec::new();
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self.recv(&mut buf, left.max(Duration::from_millis(1)), &mut fds) {
                Ok(0) | Err(_) => break,
                Ok(_) => fds.clear(),
            }
        }
    }

    fn set_read_timeout(&self, t: Duration) -> io::Result<()> {
        let t = Some(t.max(Duration::from_millis(1)));
        match &self.stream {
            Stream::Unix(s) => s.set_read_timeout(t),
            Stream::Tcp(s) => s.set_read_timeout(t),
        }
    }

    /// One read of at most `buf.len()` bytes within `timeout`; descriptors
    /// passed along (unix sockets) are added to `fds`.
    fn recv(&self, buf: &mut [u8], timeout: Duration, fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
        self.set_read_timeout(timeout)?;
        match &self.stream {
            Stream::Tcp(s) => (&*s).read(buf),
            Stream::Unix(s) => {
                let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
                let mut cmsg = RecvAncillaryBuffer::new(&mut space);
                let got = recvmsg(
                    s,
                    &mut [IoSliceMut::new(buf)],
                    &mut cmsg,
                    RecvFlags::CMSG_CLOEXEC,
                )?;
                for msg in cmsg.drain() {
                    if let RecvAncillaryMessage::ScmRights(passed) = msg {
                        fds.extend(passed);
                    }
                }
                Ok(got.bytes)
            }
        }
    }
}

/// Why no command (or stream data) came.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client closed or reset the connection.
    Closed,
    /// The time for it ran out.
    TimedOut,
    /// A command longer than clamd's buffer.
    TooLong,
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ReadError::TimedOut,
            _ => ReadError::Closed,
        }
    }
}

/// What a connection has received and not used yet.
pub(crate) struct Reader {
    buf: Vec<u8>,
    len: usize,
    /// Descriptors received and not claimed by a `FILDES`.
    pub fds: Vec<OwnedFd>,
}

impl Reader {
    pub fn new() -> Reader {
        Reader {
            buf: vec![0; MAX_COMMAND + 64],
            len: 0,
            fds: Vec::new(),
        }
    }

    fn fill(&mut self, peer: &Peer, deadline: Instant) -> Result<(), ReadError> {
        let left = deadline
            .checked_duration_since(Instant::now())
            .ok_or(ReadError::TimedOut)?;
        let n = peer.recv(&mut self.buf[self.len..], left, &mut self.fds)?;
        if n == 0 {
            return Err(ReadError::Closed);
        }
        self.len += n;
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
    }

    /// Whether a descriptor was received that no `FILDES` still buffered can
    /// claim (one arrives with the byte after its `FILDES`, which may come
    /// in one read with the commands before it).
    pub fn unclaimed_fds(&self) -> bool {
        !self.fds.is_empty() && memchr::memmem::find(&self.buf[..self.len], b"FILDES").is_none()
    }

    /// The next command, complete by `deadline`.
    pub fn command(
        &mut self,
        peer: &Peer,
        deadline: Instant,
    ) -> Result<(Framing, Vec<u8>), ReadError> {
        loop {
            // clamd moves what is left to the start of its buffer after each
            // round of commands: an old-style command is taken there.
            let whole_packet = self.len > 0;
            if let Some((framing, text, used)) =
                protocol::split(&self.buf[..self.len], whole_packet)
            {
                self.consume(used);
                return Ok((framing, text));
            }
            if self.len >= MAX_COMMAND {
                return Err(ReadError::TooLong);
            }
            self.fill(peer, deadline)?;
        }
    }

    /// Exactly `out.len()` bytes, each read within `timeout` of the last.
    pub fn exact(
        &mut self,
        peer: &Peer,
        out: &mut [u8],
        timeout: Duration,
    ) -> Result<(), ReadError> {
        let mut done = 0;
        while done < out.len() {
            if self.len > 0 {
                let n = self.len.min(out.len() - done);
                out[done..done + n].copy_from_slice(&self.buf[..n]);
                self.consume(n);
                done += n;
                continue;
            }
            let n = peer.recv(&mut out[done..], timeout, &mut self.fds)?;
            if n == 0 {
                return Err(ReadError::Closed);
            }
            done += n;
        }
        Ok(())
    }
}

/// A scan to run on one of the pool's threads, with its scanner.
pub(crate) type Job = Box<dyn FnOnce(&mut Scanner) + Send>;

/// What `STATS` shows of one busy scanning thread.
#[derive(Clone)]
pub(crate) struct Task {
    pub command: &'static str,
    pub since: Instant,
    pub file: String,
}

/// An open connection: since when it has waited for a command (if it does),
/// and whether it may be closed then to make room (no scan of its own runs).
type Conn = (Arc<Peer>, Option<Instant>, bool);

/// What every thread of the daemon shares.
pub(crate) struct Shared {
    pub cfg: Config,
    pub sigs: Arc<Signatures>,
    pub log: Log,
    jobs: Sender<(Task, Job)>,
    pub queued: AtomicUsize,
    pub tasks: Mutex<Vec<Option<Task>>>,
    /// Set by `SHUTDOWN` and by [`super::Daemon::stop`]: no new commands.
    pub stopping: AtomicBool,
    shutdown_asked: (Mutex<bool>, Condvar),
    reloading: AtomicBool,
    reload_again: AtomicBool,
    /// When the current set was loaded (what `VERSION` shows as its date).
    pub loaded_at: Mutex<SystemTime>,
    /// One `MULTISCAN` at a time spreads over the threads.
    pub multiscan: Mutex<()>,
    /// Where detections are recorded, when the daemon was given a home.
    pub recorder: OnceLock<Recorder>,
    conns: Mutex<HashMap<u64, Conn>>,
    conns_changed: Condvar,
    next_conn: AtomicU64,
    workers_done: AtomicBool,
    idle_conn_threads: ConnThreads,
}

/// Connection threads whose connection has closed, kept a while for the
/// next ones: starting a thread (mapping its stack, then unmapping it with
/// a TLB flush on every CPU) costs more than serving a small INSTREAM.
struct ConnThreads {
    tx: Sender<(u64, Arc<Peer>)>,
    rx: Receiver<(u64, Arc<Peer>)>,
    /// Threads waiting on `rx` that no connection has been promised to yet.
    idle: AtomicUsize,
}

/// How long a connection thread waits for another connection.
const CONN_THREAD_KEEP: Duration = Duration::from_secs(10);

impl ConnThreads {
    fn new() -> ConnThreads {
        let (tx, rx) = unbounded();
        ConnThreads {
            tx,
            rx,
            idle: AtomicUsize::new(0),
        }
    }

    /// Promise one idle thread, if any.
    fn claim(&self) -> bool {
        self.idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Give `conn` to an idle thread; it comes back when none is idle.
    fn hand(&self, conn: (u64, Arc<Peer>)) -> Result<(), (u64, Arc<Peer>)> {
        match self.claim() {
            // `self` holds the receiver, so the send cannot fail.
            true => self.tx.send(conn).map_err(|e| e.into_inner()),
            false => Err(conn),
        }
    }

    /// Wait for the next connection; `None` when the calling thread should
    /// end (it waited `CONN_THREAD_KEEP`, or the daemon is stopping).
    fn next(&self, stopping: &AtomicBool) -> Option<(u64, Arc<Peer>)> {
        self.idle.fetch_add(1, Ordering::AcqRel);
        let until = Instant::now() + CONN_THREAD_KEEP;
        let mut trimmed = false;
        loop {
            if let Ok(conn) = self.rx.recv_timeout(Duration::from_millis(200)) {
                return Some(conn);
            }
            // The stream buffers of a burst of connections stay in the
            // allocator's arenas; a thread that has had no connection for
            // a moment gives them back, once per wait.
            if !trimmed {
                trimmed = true;
                super::heap::trim();
            }
            if stopping.load(Ordering::Acquire) || Instant::now() >= until {
                // Ending takes back this thread's place among the idle; when
                // there is none left, a connection has been promised to one of
                // the waiting threads, and this one takes it.
                return match self.claim() {
                    true => None,
                    false => self.rx.recv().ok(),
                };
            }
        }
    }
}

impl Shared {
    /// Queue a scan (waiting while the queue is full); `false` when the
    /// daemon is past taking any.
    pub fn submit(&self, task: Task, job: Job) -> bool {
        self.queued.fetch_add(1, Ordering::Relaxed);
        let ok = self.jobs.send((task, job)).is_ok();
        if !ok {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        ok
    }

    /// `SHUTDOWN`: ask the daemon's owner to stop it.
    pub fn ask_shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        let (lock, cv) = &self.shutdown_asked;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }

    /// Wait up to `timeout` for a `SHUTDOWN`; whether one came.
    pub fn wait_shutdown(&self, timeout: Duration) -> bool {
        let (lock, cv) = &self.shutdown_asked;
        let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |asked| !*asked)
            .unwrap_or_else(|p| p.into_inner());
        *guard
    }

    /// Reload the signatures in the background; a reload asked for while one
    /// runs makes one more run after it.
    pub fn reload(self: &Arc<Shared>) {
        self.reload_again.store(true, Ordering::Release);
        if self.reloading.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("ward-reload".into())
            .spawn(move || {
                while me.reload_again.swap(false, Ordering::AcqRel) {
                    let started = Instant::now();
                    // What earlier requests freed goes back first, so that
                    // the new set is built on top of the set in use only.
                    super::heap::trim();
                    let reloaded = me.sigs.reload();
                    super::heap::trim();
                    match reloaded {
                        Ok(n) => {
                            *me.loaded_at.lock().unwrap_or_else(|p| p.into_inner()) =
                                SystemTime::now();
                            (me.log)(
                                Level::Notice,
                                format!(
                                    "signatures reloaded: {n} signatures in {:.3} s",
                                    started.elapsed().as_secs_f64()
                                ),
                            );
                        }
                        Err(e) => (me.log)(
                            Level::Error,
                            format!("signature reload failed; still using the previous set: {e}"),
                        ),
                    }
                }
                me.reloading.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.reloading.store(false, Ordering::Release);
        }
    }

    /// Whether a reload is running or asked for.
    pub fn reload_pending(&self) -> bool {
        self.reloading.load(Ordering::Acquire)
    }

    /// Live scanning threads and the busy ones.
    pub fn thread_counts(&self) -> (usize, usize) {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        (tasks.len(), tasks.iter().filter(|t| t.is_some()).count())
    }

    /// Mark connection `id` as waiting for a command (or not), and whether
    /// it may be closed to make room meanwhile.
    pub fn set_waiting(&self, id: u64, waiting: bool, closable: bool) {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = conns.get_mut(&id) {
            entry.1 = waiting.then(Instant::now);
            entry.2 = waiting && closable;
        }
    }
}

/// The running daemon's threads.
pub(crate) struct Threads {
    pub shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    conn_threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    sockets_to_remove: Vec<PathBuf>,
}

/// Start the pool and the acceptor.
pub(crate) fn start(
    cfg: Config,
    sigs: Arc<Signatures>,
    listeners: Listeners,
    log: Log,
) -> io::Result<Threads> {
    let (tx, rx) = bounded(cfg.max_queue);
    let threads = cfg.max_threads;
    let shared = Arc::new(Shared {
        cfg,
        sigs,
        log,
        jobs: tx,
        queued: AtomicUsize::new(0),
        tasks: Mutex::new(vec![None; threads]),
        stopping: AtomicBool::new(false),
        shutdown_asked: (Mutex::new(false), Condvar::new()),
        reloading: AtomicBool::new(false),
        reload_again: AtomicBool::new(false),
        loaded_at: Mutex::new(SystemTime::now()),
        multiscan: Mutex::new(()),
        recorder: OnceLock::new(),
        conns: Mutex::new(HashMap::new()),
        conns_changed: Condvar::new(),
        next_conn: AtomicU64::new(1),
        workers_done: AtomicBool::new(false),
        idle_conn_threads: ConnThreads::new(),
    });
    let mut workers = Vec::new();
    for i in 0..threads {
        let (shared, rx) = (Arc::clone(&shared), rx.clone());
        workers.push(
            std::thread::Builder::new()
                .name(format!("ward-scan-{i}"))
                .spawn(move || worker(&shared, &rx, i))?,
        );
    }
    let sockets_to_remove = listeners
        .unix
        .iter()
        .filter_map(|(_, p)| p.clone())
        .collect();
    let conn_threads = Arc::new(Mutex::new(Vec::new()));
    let acceptor = {
        let (shared, conn_threads) = (Arc::clone(&shared), Arc::clone(&conn_threads));
        std::thread::Builder::new()
            .name("ward-accept".into())
            .spawn(move || accept_loop(&shared, listeners, &conn_threads))?
    };
    Ok(Threads {
        shared,
        acceptor: Some(acceptor),
        workers,
        conn_threads,
        sockets_to_remove,
    })
}

fn worker(shared: &Shared, rx: &Receiver<(Task, Job)>, i: usize) {
    let mut slot = None;
    loop {
        let (task, job) = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(x) => x,
            Err(RecvTimeoutError::Timeout) if !shared.workers_done.load(Ordering::Acquire) => {
                // An idle thread lets go of a set a reload has replaced, so
                // that the old set is freed without waiting for a scan.
                if slot
                    .as_ref()
                    .is_some_and(|(g, _)| *g != shared.sigs.generation())
                {
                    slot = None;
                    super::heap::trim();
                }
                continue;
            }
            Err(_) => return,
        };
        shared.queued.fetch_sub(1, Ordering::Relaxed);
        set_task(shared, i, Some(task));
        let cfg = &shared.cfg;
        let (_, sc) = shared.sigs.scanner(&mut slot, |sc| {
            sc.limits(cfg.limits)
                .spill_dir(cfg.temporary_directory.clone());
        });
        job(sc);
        set_task(shared, i, None);
    }
}

fn set_task(shared: &Shared, i: usize, task: Option<Task>) {
    let mut tasks = shared.tasks.lock().unwrap_or_else(|p| p.into_inner());
    tasks[i] = task;
}

/// Poll every listener; accept while there is room.
fn accept_loop(shared: &Arc<Shared>, listeners: Listeners, threads: &Mutex<Vec<JoinHandle<()>>>) {
    for (l, _) in &listeners.unix {
        let _ = l.set_nonblocking(true);
    }
    for l in &listeners.tcp {
        let _ = l.set_nonblocking(true);
    }
    let limit = shared.cfg.max_threads + shared.cfg.max_queue;
    let tick = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    };
    while !shared.stopping.load(Ordering::Acquire) {
        make_room(shared, limit);
        let fds: Vec<BorrowedFd<'_>> = listeners
            .unix
            .iter()
            .map(|(l, _)| l.as_fd())
            .chain(listeners.tcp.iter().map(|l| l.as_fd()))
            .collect();
        let mut polled: Vec<PollFd<'_>> = fds
            .iter()
            .map(|fd| PollFd::new(fd, PollFlags::IN))
            .collect();
        if poll(&mut polled, Some(&tick)).is_err() {
            continue;
        }
        let ready: Vec<bool> = polled.iter().map(|p| !p.revents().is_empty()).collect();
        let n_unix = listeners.unix.len();
        for (i, _) in ready.iter().enumerate().filter(|(_, r)| **r) {
            let stream = match i < n_unix {
                true => listeners.unix[i].0.accept().map(|(s, _)| Stream::Unix(s)),
                false => listeners.tcp[i - n_unix]
                    .accept()
                    .map(|(s, _)| Stream::Tcp(s)),
            };
            if let Ok(stream) = stream {
                spawn_conn(shared, stream, threads);
            }
        }
        threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|t| !t.is_finished());
    }
}

/// How long a connection waits for its command before it may be closed to
/// make room. Under load, connections whose reply has gone out can still be
/// counted for a moment while their threads finish; the clients' next
/// connections, just accepted, must not be closed for them.
const CLOSABLE_AFTER: Duration = Duration::from_millis(250);

/// Wait until fewer than `limit` connections are open, closing the one that
/// has waited longest for a command (at least `CLOSABLE_AFTER`) when all are
/// taken.
fn make_room(shared: &Shared, limit: usize) {
    let mut conns = shared.conns.lock().unwrap_or_else(|p| p.into_inner());
    while conns.len() >= limit && !shared.stopping.load(Ordering::Acquire) {
        let idlest = conns
            .values()
            .filter(|(_, _, closable)| *closable)
            .filter_map(|(peer, since, _)| since.map(|s| (s, peer)))
            .filter(|(s, _)| s.elapsed() >= CLOSABLE_AFTER)
            .min_by_key(|(s, _)| *s);
        if let Some((_, peer)) = idlest {
            peer.shut();
        }
        conns = shared
            .conns_changed
            .wait_timeout(conns, Duration::from_millis(100))
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

fn spawn_conn(shared: &Arc<Shared>, stream: Stream, threads: &Mutex<Vec<JoinHandle<()>>>) {
    let client = match &stream {
        Stream::Unix(s) => Client::of(s).ok(),
        Stream::Tcp(_) => None,
    };
    let send_timeout = Some(shared.cfg.send_buf_timeout.max(Duration::from_millis(1)));
    let ok = match &stream {
        Stream::Unix(s) => s
            .set_nonblocking(false)
            .and(s.set_write_timeout(send_timeout)),
        Stream::Tcp(s) => s
            .set_nonblocking(false)
            .and(s.set_write_timeout(send_timeout))
            .and(s.set_nodelay(true)),
    };
    if ok.is_err() {
        return;
    }
    let peer = Arc::new(Peer {
        stream,
        client,
        write: Mutex::new(()),
    });
    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    shared
        .conns
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, (Arc::clone(&peer), Some(Instant::now()), true));
    let Err((id, peer)) = shared.idle_conn_threads.hand((id, peer)) else {
        return;
    };
    let me = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("ward-conn".into())
        .stack_size(256 << 10)
        .spawn(move || {
            let mut conn = Some((id, peer));
            while let Some((id, peer)) = conn.take() {
                super::handler::serve(&me, id, &peer);
                let mut conns = me.conns.lock().unwrap_or_else(|p| p.into_inner());
                conns.remove(&id);
                me.conns_changed.notify_all();
                drop(conns);
                drop(peer);
                conn = me.idle_conn_threads.next(&me.stopping);
            }
        });
    match spawned {
        Ok(t) => threads.lock().unwrap_or_else(|p| p.into_inner()).push(t),
        Err(_) => {
            shared
                .conns
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }
    }
}

impl Threads {
    /// Stop: accept nothing more, close connections waiting for a command,
    /// let the commands in flight finish, then end the scanning threads.
    pub fn stop(mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        for path in &self.sockets_to_remove {
            let _ = std::fs::remove_file(path);
        }
        loop {
            let idle: Vec<Arc<Peer>> = {
                let conns = self.shared.conns.lock().unwrap_or_else(|p| p.into_inner());
                if conns.is_empty() {
                    break;
                }
                conns
                    .values()
                    .filter(|(_, since, _)| since.is_some())
                    .map(|(p, _, _)| Arc::clone(p))
                    .collect()
            };
            // Stop reading only: a session's scans still answer.
            for peer in idle {
                peer.stop_reading();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for t in std::mem::take(&mut *self.conn_threads.lock().unwrap_or_else(|p| p.into_inner())) {
            let _ = t.join();
        }
        self.shared.workers_done.store(true, Ordering::Release);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
