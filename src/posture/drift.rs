//! Drift in real time: `ward watch --audit`.
//!
//! Every rule is evaluated once at the start. Then:
//!
//! - each rule's inputs ([`Input`]) are watched through inotify on the
//!   directory that holds them (and, for a directory whose contents count, on
//!   the directory itself): a `chmod`, a `chown`, a write, a delete, or a file
//!   renamed over the input (editors and package upgrades replace files) is
//!   an event there. An input whose directory does not exist yet is watched
//!   through its nearest existing ancestor, and watched properly once it
//!   appears. A watched directory that is moved or deleted is watched again
//!   where the path now leads.
//! - an event re-evaluates only the rules whose inputs it touches; a rule's
//!   inputs are taken again after each evaluation (an sshd `Include` may name
//!   new files).
//! - kernel settings (procfs sends no events) and the account databases are
//!   also evaluated on a period, and the tree walks on a long one.
//! - a lost event (the kernel queue overflowed) re-evaluates every rule.
//!
//! A change of a rule's state (compliant, non-compliant, not applicable,
//! error) is one [`DriftEvent`]: appended to `<home>/events.jsonl` and sent
//! to the caller as [`DriftNotice::Changed`]. A change of reason within one
//! state (mode 0666, then 0777) is not an event.
//!
//! Hard links are the known blind spot: a `chmod` through another name of
//! the same file is seen on the next event in the directory or never, as the
//! directory watch only reports names in it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

use super::audit::{Input, Profile, Refresh, Summary};
use super::finding::{Finding, Status};
use super::host::Host;
use super::record::{DriftEvent, EventLog};
use crate::home::HomeError;

/// How often the loop looks at the stop flag when idle.
const TICK: Duration = Duration::from_millis(100);
/// What each directory is watched for.
const MASK: WatchFlags = WatchFlags::ATTRIB
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::CREATE)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::ONLYDIR);

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriftError {
    /// The home (for the event log) is unusable.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// inotify could not be set up.
    #[error("inotify: {0}")]
    Notify(io::Error),
}

/// What the watcher tells its caller.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum DriftNotice {
    /// Watching has started.
    Started {
        /// Rules evaluated.
        rules: usize,
        /// Their states at the start.
        summary: Summary,
        /// Directories watched.
        dirs: usize,
    },
    /// A rule not compliant at the start (the state watching starts from;
    /// not an event).
    Initial {
        /// The rule's id.
        rule: String,
        /// Its state.
        status: Status,
        /// Why.
        reason: String,
    },
    /// A rule changed state; recorded in the event log.
    Changed(DriftEvent),
    /// Something failed (an event could not be recorded, an inotify error).
    Error(String),
}

/// Settings of [`DriftWatch`].
#[derive(Clone, Debug)]
pub struct DriftOptions {
    interval: Duration,
    slow: Duration,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            interval: Duration::from_secs(60),
            slow: Duration::from_secs(600),
        }
    }
}

impl DriftOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How often kernel settings and accounts are evaluated (default: 60 s).
    pub fn interval(&mut self, d: Duration) -> &mut Self {
        self.interval = d.max(Duration::from_millis(10));
        self
    }

    /// How often whole trees are walked again (default: 600 s).
    pub fn slow_interval(&mut self, d: Duration) -> &mut Self {
        self.slow = d.max(Duration::from_millis(10));
        self
    }

    /// Evaluate `profile` on `host` and watch for drift until stopped;
    /// events are recorded in `home`.
    pub fn start(
        &self,
        profile: Profile,
        host: Host,
        home: &Path,
    ) -> Result<DriftWatch, DriftError> {
        let log = EventLog::open(home)?;
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)
            .map_err(|e| DriftError::Notify(e.into()))?;
        let (tx, rx) = unbounded();
        let n = profile.rules().len();
        let mut s = State {
            findings: Vec::with_capacity(n),
            inputs: Vec::with_capacity(n),
            profile,
            host,
            fd,
            dirs: HashMap::new(),
            watched: HashMap::new(),
            log,
            tx,
        };
        for r in s.profile.rules() {
            s.findings.push(r.check.run(&s.host));
            s.inputs.push(r.check.inputs(&s.host));
        }
        s.sync_watches();
        let _ = s.tx.send(DriftNotice::Started {
            rules: n,
            summary: Summary::of(&s.findings),
            dirs: s.dirs.len(),
        });
        for (r, f) in s.profile.rules().iter().zip(&s.findings) {
            if matches!(f.status, Status::NonCompliant | Status::Error) {
                let _ = s.tx.send(DriftNotice::Initial {
                    rule: r.id.clone(),
                    status: f.status,
                    reason: f.reason(),
                });
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let opts = self.clone();
        let thread = std::thread::Builder::new()
            .name("ward-drift".into())
            .spawn(move || s.run(&opts, &flag))
            .map_err(DriftError::Notify)?;
        Ok(DriftWatch {
            stop,
            thread: Some(thread),
            notices: rx,
        })
    }
}

/// A running drift watch; stopped when dropped.
#[derive(Debug)]
pub struct DriftWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    notices: Receiver<DriftNotice>,
}

impl DriftWatch {
    /// What the watcher reports.
    pub fn notices(&self) -> &Receiver<DriftNotice> {
        &self.notices
    }

    /// Stop and wait for the watching thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DriftWatch {
    fn drop(&mut self) {
        self.halt();
    }
}

struct State {
    profile: Profile,
    host: Host,
    findings: Vec<Finding>,
    inputs: Vec<Vec<Input>>,
    fd: OwnedFd,
    /// Watch descriptor → the in-system directory.
    dirs: HashMap<i32, PathBuf>,
    /// In-system directory → its watch.
    watched: HashMap<PathBuf, i32>,
    log: EventLog,
    tx: Sender<DriftNotice>,
}

/// One inotify event: the directory, and the name in it (none for an event
/// on the directory itself).
struct Event {
    dir: PathBuf,
    name: Option<PathBuf>,
}

impl State {
    fn run(mut self, opts: &DriftOptions, stop: &AtomicBool) {
        let mut buf = vec![MaybeUninit::<u8>::uninit(); 64 << 10];
        let (mut period, mut slow) = (Instant::now() + opts.interval, Instant::now() + opts.slow);
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let wait = TICK.min(period.saturating_duration_since(now));
            if self.wait(wait) {
                let affected = self.read(&mut buf);
                self.evaluate(affected);
            }
            let now = Instant::now();
            if now >= period {
                period = now + opts.interval;
                self.evaluate(self.rules_of(Refresh::Period));
            }
            if now >= slow {
                slow = now + opts.slow;
                self.evaluate(self.rules_of(Refresh::Slow));
            }
        }
    }

    fn rules_of(&self, refresh: Refresh) -> BTreeSet<usize> {
        let rules = self.profile.rules().iter().enumerate();
        rules
            .filter(|(_, r)| r.check.refresh() == refresh)
            .map(|(i, _)| i)
            .collect()
    }

    fn wait(&self, timeout: Duration) -> bool {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let ts = Timespec::try_from(timeout).unwrap_or(Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        });
        matches!(rustix::event::poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
    }

    /// Read what is ready; the rules it touches.
    fn read(&mut self, buf: &mut [MaybeUninit<u8>]) -> BTreeSet<usize> {
        let mut raw = Vec::new();
        let mut reader = inotify::Reader::new(self.fd.as_fd(), buf);
        loop {
            match reader.next() {
                Ok(ev) => {
                    let name = ev
                        .file_name()
                        .map(|n| PathBuf::from(OsStr::from_bytes(n.to_bytes())));
                    raw.push((ev.wd(), ev.events(), name));
                }
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => break,
                Err(e) => {
                    let _ = self.tx.send(DriftNotice::Error(format!(
                        "inotify: {}",
                        io::Error::from(e)
                    )));
                    break;
                }
            }
            if reader.is_buffer_empty() {
                break;
            }
        }
        let mut events = Vec::new();
        for (wd, flags, name) in raw {
            if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                return (0..self.findings.len()).collect();
            }
            let Some(dir) = self.dirs.get(&wd).cloned() else {
                continue;
            };
            if flags.intersects(ReadFlags::IGNORED | ReadFlags::DELETE_SELF | ReadFlags::MOVE_SELF)
            {
                // Watched again where the path leads, on the next sync.
                self.forget(wd, flags.contains(ReadFlags::MOVE_SELF));
            }
            events.push(Event { dir, name });
        }
        let mut affected = BTreeSet::new();
        for ev in &events {
            for (i, inputs) in self.inputs.iter().enumerate() {
                if touches(inputs, ev) {
                    affected.insert(i);
                }
            }
        }
        affected
    }

    fn forget(&mut self, wd: i32, remove: bool) {
        if let Some(dir) = self.dirs.remove(&wd) {
            self.watched.remove(&dir);
        }
        if remove {
            let _ = inotify::remove_watch(&self.fd, wd);
        }
    }

    /// Evaluate `rules`, record each change of state, take their inputs
    /// again; if that adds watches, evaluate them once more (a file made in a
    /// directory before its watch existed).
    fn evaluate(&mut self, rules: BTreeSet<usize>) {
        if rules.is_empty() {
            return;
        }
        self.evaluate_once(&rules);
        if self.sync_watches() {
            self.evaluate_once(&rules);
        }
    }

    fn evaluate_once(&mut self, rules: &BTreeSet<usize>) {
        for &i in rules {
            let rule = &self.profile.rules()[i];
            let f = rule.check.run(&self.host);
            let previous = self.findings[i].status;
            if f.status != previous {
                let event = DriftEvent::new(rule, previous, &f, self.host.root());
                if let Err(e) = self.log.append(&event) {
                    let _ = self.tx.send(DriftNotice::Error(format!(
                        "cannot record an audit event: {e}"
                    )));
                }
                let _ = self.tx.send(DriftNotice::Changed(event));
            }
            self.findings[i] = f;
            self.inputs[i] = rule.check.inputs(&self.host);
        }
    }

    /// Watch every directory the inputs need; whether a watch was added.
    fn sync_watches(&mut self) -> bool {
        let mut want = HashSet::new();
        for input in self.inputs.iter().flatten() {
            match input {
                Input::File(p) => want.insert(self.existing(p.parent().unwrap_or(p))),
                Input::Dir(d) => {
                    want.insert(self.existing(d));
                    want.insert(self.existing(d.parent().unwrap_or(d)))
                }
            };
        }
        let mut added = false;
        for dir in want {
            if self.watched.contains_key(&dir) {
                continue;
            }
            let real = self.host.path(&dir);
            match inotify::add_watch(&self.fd, &real, MASK) {
                Ok(wd) => {
                    if let Some(old) = self.dirs.insert(wd, dir.clone()) {
                        self.watched.remove(&old);
                    }
                    self.watched.insert(dir, wd);
                    added = true;
                }
                Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => {}
                Err(e) => {
                    let why = format!("{}: cannot watch: {}", real.display(), io::Error::from(e));
                    let _ = self.tx.send(DriftNotice::Error(why));
                }
            }
        }
        added
    }

    /// The nearest directory at or above `dir` that exists.
    fn existing(&self, dir: &Path) -> PathBuf {
        let mut d = dir;
        loop {
            if self.host.stat(d).is_ok_and(|m| m.is_some_and(|m| m.dir)) {
                return d.to_owned();
            }
            match d.parent() {
                Some(p) => d = p,
                None => return PathBuf::from("/"),
            }
        }
    }
}

/// Whether an event concerns a rule with these inputs.
fn touches(inputs: &[Input], ev: &Event) -> bool {
    let at = match &ev.name {
        Some(n) => ev.dir.join(n),
        None => ev.dir.clone(),
    };
    inputs.iter().any(|input| match input {
        Input::File(p) => p.starts_with(&at),
        Input::Dir(d) => *d == ev.dir || d.starts_with(&at),
    })
}
