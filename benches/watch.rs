//! Figures for `ward watch` (run with `cargo bench --bench watch`; not a timed
//! test). Starts the release `ward` binary on temporary trees and measures:
//!
//! 1. detection latency, inotify backend: from the `close()` of a newly
//!    written EICAR file to the removal of the original by the quarantine
//!    (seen through an inotify watch of our own), p50/p99 over 1,000 files
//!    written one after another;
//! 2. the `open()` + `close()` time of a cached clean file under `--block`,
//!    against the same file unwatched (median of 100,000), with the user-space
//!    cache and with `--kernel-cache`; skipped when fanotify is unavailable;
//! 3. sustained load: clean files written at 10,000 per second for 10 s into
//!    100 directories of the watched tree while an EICAR file is dropped in
//!    every 100 ms: how many were caught, and whether events were lost (each
//!    loss must be followed by a rescan).
//!
//! `WARD_BENCH_QUICK=1` shortens every part (for a smoke run).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use notify::{EventKind, RecursiveMode, Watcher as _};

struct Ward {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// Reads stderr into `lines` until ward closes it.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Ward {
    fn start(home: &Path, args: &[&str], root: &Path) -> Ward {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
            .arg("--home")
            .arg(home)
            .arg("watch")
            .args(args)
            .arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ward");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (err, sink) = (child.stderr.take().unwrap(), Arc::clone(&lines));
        let reader = std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(l);
            }
        });
        let w = Ward {
            child,
            lines,
            reader: Some(reader),
        };
        let start = Instant::now();
        while w.count("watching ") == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "ward did not start"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        w
    }

    fn count(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    fn stop(mut self) -> Vec<String> {
        // SAFETY: kill() with the pid of a child this process spawned.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        // Every line ward wrote, up to the end of its stderr.
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Ward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn quick() -> bool {
    std::env::var_os("WARD_BENCH_QUICK").is_some()
}

/// Removals seen in `dir`, with the time they were seen.
fn removals(dir: &Path) -> (notify::RecommendedWatcher, Receiver<(PathBuf, Instant)>) {
    let (tx, rx) = unbounded();
    let mut w = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        let now = Instant::now();
        if let Ok(ev) = ev
            && matches!(ev.kind, EventKind::Remove(_))
        {
            for p in ev.paths {
                let _ = tx.send((p, now));
            }
        }
    })
    .unwrap();
    w.watch(dir, RecursiveMode::NonRecursive).unwrap();
    (w, rx)
}

fn latency(base: &Path) {
    let n = if quick() { 100 } else { 1000 };
    let root = base.join("latency");
    fs::create_dir_all(&root).unwrap();
    let ward = Ward::start(&base.join("state-latency"), &[], &root);
    let (_w, removed) = removals(&root);
    let eicar = ward::sig::builtin::eicar();
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let p = root.join(format!("e{i}.com"));
        let mut f = fs::File::create(&p).unwrap();
        f.write_all(&eicar).unwrap();
        drop(f);
        let closed = Instant::now();
        let (gone, at) = removed
            .recv_timeout(Duration::from_secs(10))
            .expect("quarantined");
        assert_eq!(gone, p);
        lat.push(at - closed);
    }
    let lines = ward.stop();
    lat.sort();
    println!(
        "detection latency (inotify, close -> quarantined), {n} files: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat[n - 1].as_secs_f64() * 1e3
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("quarantined as"))
            .count(),
        n
    );
}

fn open_times(path: &Path, n: usize) -> Duration {
    let mut t: Vec<Duration> = (0..n)
        .map(|_| {
            let s = Instant::now();
            drop(fs::File::open(path).unwrap());
            s.elapsed()
        })
        .collect();
    t.sort();
    pct(&t, 0.5)
}

fn open_latency(base: &Path) {
    // SAFETY: fanotify_init takes integers; the descriptor is closed at once.
    let fd = unsafe { libc::fanotify_init(libc::FAN_CLASS_CONTENT, libc::O_RDONLY as u32) };
    if fd < 0 {
        println!(
            "open() under --block: skipped, fanotify unavailable: {}",
            std::io::Error::last_os_error()
        );
        return;
    }
    // SAFETY: closing the descriptor opened just above.
    unsafe { libc::close(fd) };
    let n = if quick() { 10_000 } else { 100_000 };
    let root = base.join("open");
    fs::create_dir_all(&root).unwrap();
    let file = root.join("clean.txt");
    fs::write(&file, b"a clean file\n").unwrap();
    let bare = open_times(&file, n);
    for (label, args) in [
        ("user-space cache", &["--block"][..]),
        ("--kernel-cache", &["--block", "--kernel-cache"][..]),
    ] {
        let ward = Ward::start(&base.join("state-open"), args, &root);
        drop(fs::File::open(&file).unwrap()); // first open: scanned
        let blocked = open_times(&file, n);
        ward.stop();
        println!(
            "open()+close() of a cached clean file, median of {n}: unwatched {:.1} us, \
             --block ({label}) {:.1} us, added {:.1} us",
            bare.as_secs_f64() * 1e6,
            blocked.as_secs_f64() * 1e6,
            (blocked.as_secs_f64() - bare.as_secs_f64()) * 1e6
        );
    }
}

fn sustained(base: &Path) {
    let secs = if quick() { 2 } else { 10 };
    let rate = 10_000u64;
    let root = base.join("load");
    for d in 0..100 {
        fs::create_dir_all(root.join(format!("d{d}"))).unwrap();
    }
    let ward = Ward::start(&base.join("state-load"), &[], &root);
    let eicar = ward::sig::builtin::eicar();
    let start = Instant::now();
    let total = rate * secs;
    let mut dropped = Vec::new();
    for i in 0..total {
        let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let dir = root.join(format!("d{}", i % 100));
        fs::write(
            dir.join(format!("c{i}.txt")),
            format!("clean file number {i}\n"),
        )
        .unwrap();
        if i % (rate / 10) == 0 {
            let p = dir.join(format!("e{i}.com"));
            fs::write(&p, &eicar).unwrap();
            dropped.push(p);
        }
    }
    let wrote = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(30);
    while dropped.iter().any(|p| p.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let caught_after = start.elapsed();
    let missed = dropped.iter().filter(|p| p.exists()).count();
    let lines = ward.stop();
    let lost = lines.iter().filter(|l| l.contains("events lost")).count();
    let rescans = lines.iter().filter(|l| l.contains("rescan done")).count();
    println!(
        "sustained load: {total} clean files in {:.2} s ({:.0}/s) + {} EICAR files: \
         {} caught, {missed} missed (all caught {:.2} s after the start); \
         event losses {lost}, rescans {rescans}",
        wrote.as_secs_f64(),
        total as f64 / wrote.as_secs_f64(),
        dropped.len(),
        dropped.len() - missed,
        caught_after.as_secs_f64()
    );
    assert_eq!(missed, 0, "EICAR files missed under load");
    assert!(lost == 0 || rescans > 0, "events lost without a rescan");
}

fn main() {
    // `cargo bench` passes --bench; nothing else is understood.
    let base = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(base.path()).unwrap();
    latency(&base);
    open_latency(&base);
    sustained(&base);
}
