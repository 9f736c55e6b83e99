//! The blocking backend: fanotify permission events on opens in the watched
//! trees. An open of an infected file is denied (the opener gets `EPERM`),
//! a clean one allowed.
//!
//! **Which marks.** Each directory of each tree gets an inode mark with
//! `FAN_EVENT_ON_CHILD` (directories made later are marked by the walk that
//! follows their inotify event). A mount or filesystem mark would be simpler
//! but would route every open on that filesystem through ward, which here is
//! the root filesystem: the whole machine would wait on ward's round trips.
//! Directory marks keep everything outside the trees at full speed. The cost:
//! a file opened in a brand-new directory before it is marked is not blocked
//! (it is still scanned, and quarantined, by the inotify side).
//!
//! **Never hang the system.** Opens by ward's own process are allowed at once
//! (ward's workers open the files they scan). Every other event is answered
//! within the deadline: a scan that takes longer, or that fails, is answered
//! allow (or deny with `deny_on_error`), and a full scanning queue is answered
//! the same way at once. A file left unscanned (over `--max-filesize`, past
//! `--max-scantime`, or too large to read and impossible to map) has no
//! verdict either and is answered the same way, and logged. On shutdown every
//! pending event is allowed.
//!
//! **Never run out of descriptors.** The kernel opens a descriptor for every
//! event read and denies an event it cannot open one for, which would turn a
//! clean open into `EPERM`. The soft descriptor limit is raised to the hard
//! one at start, the scanning queue is sized from it, and a read never asks
//! for more events than there are descriptors left for.
//!
//! **Cheap reopens.** Verdicts are cached by (dev, inode, size, mtime, ctime)
//! and a cached file is answered by the reading thread without a scan.
//! Optionally ([`super::BlockOptions::kernel_cache`]) a clean file also gets
//! the event in its ignore mask, so that the kernel does not ask again until
//! the file is modified.

#[allow(unsafe_code)]
mod sys;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};

use super::cache::{Cached, FileKey};
use super::{Action, BlockOptions, Notice, Shared, WatchError, Why, spawn};
use crate::journal::{Threat, ThreatAction, ThreatResult};
use crate::scan::input::Opened;
use crate::{Scanner, SkipReason, Verdict};

/// At most this many permission events wait for a scanning thread; beyond
/// the queue (smaller when descriptors are scarce, see [`Capacity`]) an event
/// is answered at once as on an error.
const QUEUE: usize = 1024;
/// Descriptors kept free for everything else ward opens (files scanned by the
/// inotify workers, walks, the vault, the threat log), at most.
const RESERVE: u64 = 512;

/// How many events ward can hold at once, from the descriptor limit. Every
/// event read holds a descriptor until it is released (answered, and scanned
/// when it was queued for a scan), and one being scanned holds a duplicate
/// too; an event the kernel cannot open a descriptor for is denied by the
/// kernel, so reads never take more events than there is room for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Capacity {
    /// Scanning queue length.
    queue: usize,
    /// Event descriptors held at once, at most.
    events: usize,
}

impl Capacity {
    fn from_limit(nofile: u64) -> Capacity {
        let reserve = RESERVE.min(nofile / 2);
        let queue = (nofile.saturating_sub(reserve) / 2).clamp(1, QUEUE as u64) as usize;
        Capacity {
            queue,
            events: 2 * queue,
        }
    }
}
/// At most this many files get a kernel ignore mark (each pins an inode).
const MAX_IGNORE_MARKS: usize = 100_000;
/// A denied open of a file already known to be infected is logged at most
/// once per inode in this time (a program retrying in a loop would fill the
/// threat log otherwise).
const DENIAL_LOG_EVERY: Duration = Duration::from_secs(60);
/// Inodes whose last logged denial is remembered, at most.
const DENIAL_LOG_INODES: usize = 4096;

/// When a denial was last logged, per inode.
#[derive(Default)]
struct DenialLog {
    last: Mutex<HashMap<(u64, u64), Instant>>,
}

impl DenialLog {
    /// Whether a denied open of `inode` is to be logged now.
    fn due(&self, inode: (u64, u64)) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = last.get(&inode)
            && now.duration_since(*at) < DENIAL_LOG_EVERY
        {
            return false;
        }
        if last.len() >= DENIAL_LOG_INODES && !last.contains_key(&inode) {
            last.retain(|_, at| now.duration_since(*at) < DENIAL_LOG_EVERY);
            if last.len() >= DENIAL_LOG_INODES {
                // Still full of recent ones: forget them rather than grow.
                last.clear();
            }
        }
        last.insert(inode, now);
        true
    }
}

/// One permission event's answer, given once by whoever comes first: the
/// scanning thread or the deadline.
///
/// The event's descriptor lives here and nowhere else: the kernel knows the
/// event by its number, so it must stay open until the response naming that
/// number is written. It is closed only when the event is released, after its
/// answer, under the lock: once nothing is left to do, or, for an event queued
/// for a scan, once that scan is over, so that a scan that starts after the
/// deadline answered still has the file (and records what the opener got). A
/// scanner works on a duplicate made while the descriptor is still here. A
/// number taken by a later event therefore can never be answered for this one.
struct Pending {
    fd: Mutex<Option<OwnedFd>>,
    /// Set (under the lock) once the answer has been written.
    answered: AtomicBool,
    /// The answer given, once `answered`.
    allowed: AtomicBool,
    path: PathBuf,
    pid: i32,
}

/// The fanotify group and what is needed to answer it.
pub(crate) struct Blocker {
    group: sys::Group,
    opts: BlockOptions,
    mask: AtomicU64,
    own_pid: i32,
    ignore_marks: AtomicUsize,
    deadlines: Sender<(Instant, Arc<Pending>)>,
    deadline_rx: Receiver<(Instant, Arc<Pending>)>,
    jobs: Sender<Job>,
    job_rx: Receiver<Job>,
    capacity: Capacity,
    /// Event descriptors open now (read and not yet released).
    held: AtomicUsize,
    denial_log: DenialLog,
}

impl std::fmt::Debug for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocker").field("opts", &self.opts).finish()
    }
}

/// An event waiting for a scan. Dropped, it releases the event: unanswered
/// (on shutdown), it allows.
struct Job {
    size: u64,
    key: Option<FileKey>,
    pending: Arc<Pending>,
    blocker: Weak<Blocker>,
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(b) = self.blocker.upgrade() {
            b.release(&self.pending, true);
        }
    }
}

impl Pending {
    /// A duplicate of the event's descriptor, or `None` once it is released.
    fn dup(&self) -> std::io::Result<Option<File>> {
        let slot = self.fd.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref()
            .map(|fd| fd.try_clone().map(File::from))
            .transpose()
    }
}

/// The path of an event's file. The kernel cannot say it for a file below
/// `PATH_MAX` (`ENAMETOOLONG`): that one is named by device and inode, in
/// words that are no absolute path (nothing acts on it by that name; the
/// inotify side, which knows the path, quarantines it).
fn proc_path(fd: RawFd, key: Option<FileKey>) -> PathBuf {
    match std::fs::read_link(format!("/proc/self/fd/{fd}")) {
        Ok(p) => p,
        Err(e) => {
            let what = key.map_or_else(String::new, |k| {
                let (dev, ino) = k.inode();
                format!(
                    "inode {ino} on device {}:{}, ",
                    libc::major(dev),
                    libc::minor(dev)
                )
            });
            PathBuf::from(format!("({what}path unknown: {e})"))
        }
    }
}

impl Blocker {
    /// A new fanotify group (needs `CAP_SYS_ADMIN`).
    pub(crate) fn new(opts: BlockOptions) -> Result<Blocker, String> {
        let group = sys::Group::new().map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) => format!(
                "{e}: fanotify permission events need CAP_SYS_ADMIN (run as root, \
                 or give the service that capability)"
            ),
            Some(libc::ENOSYS) => format!("{e}: this kernel has no fanotify"),
            Some(libc::EINVAL) => format!(
                "{e}: this kernel has no FAN_CLASS_CONTENT permission events \
                 (CONFIG_FANOTIFY_ACCESS_PERMISSIONS)"
            ),
            _ => e.to_string(),
        })?;
        let nofile = sys::raise_nofile_limit().unwrap_or(1024);
        let capacity = Capacity::from_limit(nofile);
        let (deadlines, deadline_rx) = unbounded();
        let (jobs, job_rx) = bounded(capacity.queue);
        Ok(Blocker {
            group,
            opts,
            mask: AtomicU64::new(sys::OPEN_PERM | sys::OPEN_EXEC_PERM),
            own_pid: std::process::id() as i32,
            ignore_marks: AtomicUsize::new(0),
            deadlines,
            deadline_rx,
            jobs,
            job_rx,
            capacity,
            held: AtomicUsize::new(0),
            denial_log: DenialLog::default(),
        })
    }

    /// Mark one directory, by the descriptor a walk entered it through (its
    /// path is only for messages). Falls back to `FAN_OPEN_PERM` alone on
    /// kernels without `FAN_OPEN_EXEC_PERM`.
    pub(crate) fn mark_dir(&self, shared: &Shared, dir: &Path, fd: BorrowedFd<'_>) {
        if shared.stopped() {
            return;
        }
        let mask = self.mask.load(Ordering::Relaxed);
        let mut result = self.group.mark_dir(fd, mask);
        if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EINVAL))
            && mask & sys::OPEN_EXEC_PERM != 0
        {
            self.mask.store(sys::OPEN_PERM, Ordering::Relaxed);
            result = self.group.mark_dir(fd, sys::OPEN_PERM);
        }
        if let Err(e) = result {
            shared.notice(Notice::Error(format!(
                "{}: cannot block opens here: {e}",
                dir.display()
            )));
        }
    }

    /// Mark every directory of every tree.
    pub(crate) fn mark_trees(&self, shared: &Shared) {
        for root in &shared.roots {
            let Ok(mut walk) = crate::walk::WalkOptions::new().walk([root.clone()]) else {
                continue;
            };
            while let Some(entry) = walk.next() {
                if let crate::walk::Entry::Dir(path) = entry {
                    if shared.skipped(&path) {
                        walk.skip_current_dir();
                    } else if let Some(fd) = walk.dir_fd() {
                        self.mark_dir(shared, &path, fd);
                    }
                }
            }
        }
    }

    /// After a reload: verdicts in the kernel's ignore masks are stale, so
    /// drop every inode mark and mark the trees again.
    pub(crate) fn signatures_changed(&self, shared: &Shared) {
        if !self.opts.kernel_cache || self.ignore_marks.swap(0, Ordering::AcqRel) == 0 {
            return;
        }
        if let Err(e) = self.group.flush_inode_marks() {
            shared.notice(Notice::Error(format!("fanotify: flushing marks: {e}")));
        }
        self.mark_trees(shared);
    }

    /// Answer once; false when already answered. The event's descriptor
    /// stays open until [`Blocker::release`] (see [`Pending`]).
    fn answer(&self, p: &Pending, allow: bool) -> bool {
        let slot = p.fd.lock().unwrap_or_else(|e| e.into_inner());
        self.answer_locked(p, slot.as_ref(), allow)
    }

    /// [`Blocker::answer`], with `p.fd` locked by the caller (`fd` is what it holds).
    fn answer_locked(&self, p: &Pending, fd: Option<&OwnedFd>, allow: bool) -> bool {
        let Some(fd) = fd else {
            return false;
        };
        if p.answered.load(Ordering::Acquire) {
            return false;
        }
        p.allowed.store(allow, Ordering::Release);
        // ENOENT: the kernel already dropped the event (the opener was killed).
        let _ = self.group.respond(fd.as_raw_fd(), allow);
        p.answered.store(true, Ordering::Release);
        true
    }

    /// Done with the event: answer it if nobody has, then close its descriptor.
    fn release(&self, p: &Pending, allow: bool) {
        let mut slot = p.fd.lock().unwrap_or_else(|e| e.into_inner());
        self.answer_locked(p, slot.as_ref(), allow);
        if slot.take().is_some() {
            self.held.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Start the reading thread, the deadline thread and the scanning threads.
    pub(crate) fn start(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        threads: &mut Vec<JoinHandle<()>>,
    ) -> Result<(), WatchError> {
        let (b, s) = (Arc::clone(self), Arc::clone(shared));
        spawn("ward-fanotify", threads, move || b.read_loop(&s))?;
        let (b, s) = (Arc::clone(self), Arc::clone(shared));
        spawn("ward-deadline", threads, move || b.deadline_loop(&s))?;
        let n = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        for i in 0..n {
            let (b, s) = (Arc::clone(self), Arc::clone(shared));
            spawn(&format!("ward-block-{i}"), threads, move || b.scan_loop(&s))?;
        }
        Ok(())
    }

    fn read_loop(self: &Arc<Self>, shared: &Shared) {
        let mut buf = vec![0u8; 64 << 10];
        while !shared.stopped() {
            match self.group.wait(100) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    shared.notice(Notice::Error(format!("fanotify: {e}")));
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            }
            // No more events than there are descriptors for: the kernel
            // denies an event it cannot open one for.
            let room = self
                .capacity
                .events
                .saturating_sub(self.held.load(Ordering::Acquire));
            if room == 0 {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            let len = buf.len().min(room * sys::EVENT_LEN);
            let batch = match self.group.read(&mut buf[..len]) {
                Ok(b) => b,
                Err(e) => {
                    shared.notice(Notice::Error(format!("fanotify: reading events: {e}")));
                    continue;
                }
            };
            if batch.overflow {
                shared.notice(Notice::Overflow {
                    what: "the kernel's fanotify queue",
                });
                shared.request_rescan();
            }
            self.held.fetch_add(batch.events.len(), Ordering::AcqRel);
            for ev in batch.events {
                self.event(shared, ev);
            }
        }
        self.close(shared, &mut buf);
    }

    /// Stopping: no new events (every mark removed), and every event already
    /// queued in the kernel allowed, so that no open waits on a watcher that
    /// is still joining its other threads.
    fn close(&self, shared: &Shared, buf: &mut [u8]) {
        if let Err(e) = self.group.flush_inode_marks() {
            shared.notice(Notice::Error(format!("fanotify: removing marks: {e}")));
        }
        let quiet_since = Instant::now();
        while quiet_since.elapsed() < Duration::from_millis(500) {
            match self.group.wait(20) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => break,
            }
            let Ok(batch) = self.group.read(buf) else {
                break;
            };
            for ev in batch.events {
                let _ = self.group.respond(ev.file.as_raw_fd(), true);
            }
        }
    }

    /// Answer from the cache when possible, else hand the event to a scanner.
    fn event(self: &Arc<Self>, shared: &Shared, ev: sys::PermEvent) {
        let fd = ev.file.as_raw_fd();
        let key = FileKey::of(&ev.file).ok();
        let mut pending = Pending {
            fd: Mutex::new(Some(ev.file)),
            answered: AtomicBool::new(false),
            allowed: AtomicBool::new(false),
            path: PathBuf::new(),
            pid: ev.pid,
        };
        if ev.pid == self.own_pid {
            self.release(&pending, true);
            return;
        }
        let generation = shared.sigs.generation();
        match key.and_then(|k| shared.cache.get(&k, generation)) {
            Some(Cached::Clean) => {
                self.release(&pending, true);
                return;
            }
            Some(Cached::Infected(names)) => {
                // Known infected: deny at once; log it once a minute per
                // inode at most (the path first: answering closes the
                // descriptor).
                let log = key.is_none_or(|k| self.denial_log.due(k.inode()));
                if !log {
                    self.release(&pending, false);
                    return;
                }
                pending.path = proc_path(fd, key);
                self.release(&pending, false);
                let names = names.iter().map(|n| n.to_string()).collect();
                self.denied(shared, &pending, names);
                return;
            }
            None => {}
        }
        pending.path = proc_path(fd, key);
        let pending = Arc::new(pending);
        let size = key.map_or(0, |k| k.size());
        let job = Job {
            size,
            key,
            pending: Arc::clone(&pending),
            blocker: Arc::downgrade(self),
        };
        let _ = self
            .deadlines
            .send((Instant::now() + self.opts.deadline, Arc::clone(&pending)));
        if let Err(e) = self.jobs.try_send(job) {
            let job = e.into_inner();
            self.unverified(shared, &job.pending, "every scanning thread is busy");
        }
    }

    /// Answer without a verdict, as configured, and say so.
    fn unverified(&self, shared: &Shared, p: &Pending, reason: &str) {
        let allow = !self.opts.deny_on_error;
        if self.answer(p, allow) {
            shared.notice(Notice::Unverified {
                path: p.path.clone(),
                allowed: allow,
                reason: reason.to_owned(),
            });
        }
    }

    /// Log a denied open, and queue the file for quarantine when that is the
    /// action (the inotify workers reopen, rescan and act on it).
    fn denied(&self, shared: &Shared, p: &Pending, names: Vec<String>) {
        let mut t = Threat::new(&p.path, names, ThreatAction::Deny, ThreatResult::Denied);
        t.pid = Some(p.pid);
        shared.record(&t);
        if shared.opts.action == Action::Quarantine && p.path.is_absolute() {
            shared.submit(p.path.clone(), Why::Closed);
        }
    }

    fn scan_loop(self: &Arc<Self>, shared: &Shared) {
        let mut slot: Option<(u64, Scanner)> = None;
        let limits = shared.opts.limits;
        while !shared.stopped() {
            let job = match self.job_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(j) => j,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            // A descriptor of its own, made while the event's is still open
            // (it is, until the job is done, even when the deadline has
            // answered the event already: the verdict is still recorded).
            let file = match job.pending.dup() {
                Ok(Some(file)) => file,
                Ok(None) => continue,
                Err(e) => {
                    self.unverified(shared, &job.pending, &format!("no descriptor to scan: {e}"));
                    continue;
                }
            };
            let opened = Opened {
                file,
                size: job.size,
            };
            // Files too large to read are mapped under a read lease: the
            // lease is refused while anyone (an opener waiting here for
            // write access included) has the file open for writing, and while
            // it is held a truncation waits for the scan, so the map cannot
            // fault. Without a lease the file is read, or left unverified.
            let (generation, sc) = shared.sigs.scanner(&mut slot, |sc| {
                sc.mmap(true)
                    .limits(limits)
                    .spill_dir(Some(shared.skip.clone()));
            });
            let report = sc.scan_opened(&opened, &job.pending.path);
            self.verdict(shared, &job, &opened.file, generation, report.verdict);
        }
    }

    fn verdict(&self, shared: &Shared, job: &Job, file: &File, generation: u64, verdict: Verdict) {
        let p = &job.pending;
        match verdict {
            Verdict::Clean => {
                if let Some(k) = job.key {
                    shared.cache.insert(k, generation, Cached::Clean);
                }
                self.answer(p, true);
                if self.opts.kernel_cache {
                    self.kernel_ignore(file, job.key);
                }
            }
            Verdict::Infected(matches) => {
                if let Some(k) = job.key {
                    let names = matches.iter().map(|m| m.name.clone()).collect();
                    shared.cache.insert(k, generation, Cached::Infected(names));
                }
                let late = !self.answer(p, false);
                let names = matches.iter().map(|m| m.name.to_string()).collect();
                // Answered by the deadline already: record what the opener got.
                let allowed = late && p.allowed.load(Ordering::Acquire);
                if late {
                    shared.notice(Notice::Unverified {
                        path: p.path.clone(),
                        allowed,
                        reason: "infected, but the deadline had passed".into(),
                    });
                }
                if allowed {
                    let mut t =
                        Threat::new(&p.path, names, ThreatAction::Deny, ThreatResult::Allowed);
                    t.pid = Some(p.pid);
                    t.error = Some(format!(
                        "the verdict came after the {:?} deadline; the open had been allowed",
                        self.opts.deadline
                    ));
                    shared.record(&t);
                    if shared.opts.action == Action::Quarantine && p.path.is_absolute() {
                        shared.submit(p.path.clone(), Why::Closed);
                    }
                } else {
                    // Logged now: cached denials of this inode stay quiet a while.
                    if let Some(k) = job.key {
                        self.denial_log.due(k.inode());
                    }
                    self.denied(shared, p, names);
                }
            }
            // Not a regular file (a device, say): nothing to scan.
            Verdict::Skipped(SkipReason::Special(_)) => {
                self.answer(p, true);
            }
            // Too large, or too slow to scan: no verdict, like an error.
            Verdict::Skipped(why) => self.unverified(shared, p, &format!("not scanned: {why}")),
            Verdict::Error(e) => self.unverified(shared, p, &e.to_string()),
        }
    }

    /// Put the open events into the file's ignore mask; take them out again
    /// if the file changed since the scan (that modification came before the
    /// mark, so the kernel would not have cleared it).
    fn kernel_ignore(&self, file: &File, key: Option<FileKey>) {
        let Some(key) = key else { return };
        if self.ignore_marks.load(Ordering::Relaxed) >= MAX_IGNORE_MARKS {
            return;
        }
        let mask = self.mask.load(Ordering::Relaxed);
        if self.group.ignore(file.as_fd(), mask).is_err() {
            return;
        }
        self.ignore_marks.fetch_add(1, Ordering::Relaxed);
        if FileKey::of(file).ok() != Some(key) {
            let _ = self.group.unignore(file.as_fd(), mask);
        }
    }

    /// Answer what the scanners have not answered by its deadline. Deadlines
    /// arrive in order (the same delay is added to each arrival time).
    fn deadline_loop(&self, shared: &Shared) {
        let mut queue: VecDeque<(Instant, Arc<Pending>)> = VecDeque::new();
        while !shared.stopped() {
            while queue
                .front()
                .is_some_and(|(_, p)| p.answered.load(Ordering::Acquire))
            {
                queue.pop_front();
            }
            let wait = queue.front().map_or(Duration::from_millis(100), |(at, _)| {
                at.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100))
            });
            match self.deadline_rx.recv_timeout(wait) {
                Ok(item) => queue.push_back(item),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            while let Some((at, p)) = queue.front() {
                if *at > now {
                    break;
                }
                let reason = format!("no verdict within the {:?} deadline", self.opts.deadline);
                self.unverified(shared, p, &reason);
                queue.pop_front();
            }
        }
        // Stopping: allow whatever is still waiting.
        for (_, p) in queue.drain(..).chain(self.deadline_rx.try_iter()) {
            self.answer(&p, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_are_logged_once_a_minute_per_inode() {
        let log = DenialLog::default();
        assert!(log.due((1, 1)));
        assert!(!log.due((1, 1)));
        assert!(log.due((1, 2)));
        for i in 0..2 * DENIAL_LOG_INODES as u64 {
            log.due((2, i));
        }
        assert!(log.last.lock().unwrap().len() <= DENIAL_LOG_INODES);
    }

    #[test]
    fn capacity_follows_the_descriptor_limit() {
        assert_eq!(Capacity::from_limit(1 << 20).queue, QUEUE);
        assert_eq!(Capacity::from_limit(2048).queue, (2048 - 512) / 2);
        assert_eq!(Capacity::from_limit(256).queue, 64);
        assert_eq!(Capacity::from_limit(256).events, 128);
        assert_eq!(Capacity::from_limit(0).queue, 1);
    }
}
