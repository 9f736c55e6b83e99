//! `ward watch` and `ward threats list` through the binary: files written,
//! moved in, or made in a brand-new directory are caught; clean files are left
//! alone; `--block` refuses opens of infected files; the watcher leaves its
//! own state directory alone; signals stop it and reload its signatures.
//!
//! Every watcher runs under a guard that kills it when the test ends, and each
//! wait has a generous deadline but is asserted.

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Drain, Tmpfs, cannot_run, eicar, hex, require, run, stderr, stdout, ward};

const WAIT: Duration = Duration::from_secs(15);

/// A running `ward watch`, killed on drop; its stderr is read as it comes.
struct Watch {
    child: Child,
    err: Option<Drain>,
}

impl Watch {
    fn start(home: &Path, args: &[&str], roots: &[&Path]) -> Watch {
        Watch::start_with(crate::util::ward(), home, args, roots)
    }

    /// Start through `cmd`, which runs ward (directly, or through a wrapper
    /// that execs it).
    fn start_with(mut cmd: Command, home: &Path, args: &[&str], roots: &[&Path]) -> Watch {
        let mut child = cmd
            .arg("--home")
            .arg(home)
            .arg("watch")
            .args(args)
            .args(roots)
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ward watch");
        let err = Drain::new(child.stderr.take().unwrap());
        let w = Watch {
            child,
            err: Some(err),
        };
        w.wait_line("watching ");
        w
    }

    /// Its stderr so far.
    fn log(&self) -> String {
        self.err.as_ref().map(Drain::text).unwrap_or_default()
    }

    /// Wait for a stderr line containing `needle`.
    fn wait_line(&self, needle: &str) {
        self.wait_lines(needle, 1);
    }

    /// Wait for `n` stderr lines containing `needle`.
    fn wait_lines(&self, needle: &str, n: usize) {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.lines().filter(|l| l.contains(needle)).count() >= n {
                return;
            }
            if start.elapsed() > WAIT {
                panic!("no {n} lines with {needle:?} within {WAIT:?}; log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill() with a pid this test spawned and still owns.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }

    /// SIGTERM, assert it exits cleanly within two seconds, and return all it
    /// wrote to stderr (read to its end).
    fn stop(mut self) -> String {
        self.signal(libc::SIGTERM);
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit {status:?}; log:\n{}", self.log());
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "still running 2 s after SIGTERM; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let err = self.err.take().unwrap();
        let all = err.finish(
            Duration::from_secs(5),
            "ward watch's stderr after it exited",
        );
        String::from_utf8_lossy(&all).into_owned()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_gone(path: &Path, w: &Watch) {
    let start = Instant::now();
    while path.exists() {
        assert!(
            start.elapsed() < WAIT,
            "{} not quarantined within {WAIT:?}; log:\n{}",
            path.display(),
            w.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn threats_json(home: &Path) -> Vec<Value> {
    let o = run(ward()
        .arg("--home")
        .arg(home)
        .args(["threats", "list", "--json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn vault_ids(home: &Path) -> Vec<String> {
    let o = run(ward()
        .arg("--home")
        .arg(home)
        .args(["quarantine", "list", "--json"]));
    assert_eq!(o.status.code(), Some(0));
    let v: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    v.iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A signature file with one `.ndb` line per (name, text) pair.
fn ndb(sigs: &[(&str, &str)]) -> String {
    sigs.iter()
        .map(|(name, text)| format!("{name}:0:*:{}\n", hex(text.as_bytes())))
        .collect()
}

/// Replace a file atomically, as update tools do.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

struct Dirs {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    root: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("state");
    let root = tmp.path().join("srv");
    fs::create_dir(&root).unwrap();
    let root = fs::canonicalize(root).unwrap();
    Dirs {
        home,
        root,
        _tmp: tmp,
    }
}

#[test]
fn written_moved_and_nested_files_are_quarantined_and_listed() {
    let d = dirs();
    let w = Watch::start(&d.home, &[], &[&d.root]);
    fs::write(d.root.join("notes.txt"), b"just notes").unwrap();
    let bad = d.root.join("invoice.pdf.exe");
    fs::write(&bad, eicar()).unwrap();
    // A directory made a moment before the file: its watch may not exist yet.
    let nested = d.root.join("a/b/c");
    fs::create_dir_all(&nested).unwrap();
    let deep = nested.join("x.com");
    fs::write(&deep, eicar()).unwrap();
    // Written elsewhere, then moved in.
    let outside = d.home.parent().unwrap().join("outside.com");
    fs::write(&outside, eicar()).unwrap();
    let moved = d.root.join("moved.com");
    fs::rename(&outside, &moved).unwrap();
    for f in [&bad, &deep, &moved] {
        wait_gone(f, &w);
    }
    w.wait_lines("FOUND; quarantined as", 3);
    let log = w.stop();
    assert_eq!(fs::read(d.root.join("notes.txt")).unwrap(), b"just notes");
    assert!(log.contains("stopped"), "{log}");

    let ids = vault_ids(&d.home);
    assert_eq!(ids.len(), 3);
    let threats = threats_json(&d.home);
    assert_eq!(threats.len(), 3, "{threats:?}");
    let mut paths: Vec<&str> = threats
        .iter()
        .map(|t| t["path"].as_str().unwrap())
        .collect();
    paths.sort();
    let mut want = [
        bad.to_str().unwrap(),
        deep.to_str().unwrap(),
        moved.to_str().unwrap(),
    ];
    want.sort();
    assert_eq!(paths, want);
    for t in &threats {
        assert_eq!(t["signatures"][0], "Eicar-Test-Signature");
        assert_eq!(t["action"], "quarantine");
        assert_eq!(t["result"], "quarantined");
        assert!(ids.contains(&t["quarantine_id"].as_str().unwrap().to_owned()));
        let time = t["time"].as_str().unwrap();
        assert!(time.len() == 20 && time.ends_with('Z'), "{time}");
    }
    let o = run(ward().arg("--home").arg(&d.home).args(["threats", "list"]));
    let text = stdout(&o);
    assert!(text.starts_with("TIME "), "{text}");
    assert!(text.contains(bad.to_str().unwrap()), "{text}");
    assert!(text.contains("quarantined"), "{text}");
}

#[test]
fn report_leaves_the_file_and_lists_it() {
    let d = dirs();
    let w = Watch::start(&d.home, &["--action", "report"], &[&d.root]);
    let bad = d.root.join("bad.com");
    fs::write(&bad, eicar()).unwrap();
    w.wait_line("FOUND; reported");
    w.stop();
    assert_eq!(fs::read(&bad).unwrap(), eicar());
    let threats = threats_json(&d.home);
    assert_eq!(threats.len(), 1);
    assert_eq!(threats[0]["result"], "reported");
    assert!(vault_ids(&d.home).is_empty());
}

#[test]
fn own_state_directory_is_left_alone() {
    // The state directory inside the watched tree, and a signature that
    // matches every vault metadata file: scanning its own vault would make
    // the watcher quarantine its own records.
    let d = dirs();
    let home = d.root.join("state");
    let db = d.root.parent().unwrap().join("meta.ndb");
    fs::write(&db, ndb(&[("Test.VaultRecord", "\"ward_version\"")])).unwrap();
    let w = Watch::start(&home, &["-d", db.to_str().unwrap()], &[&d.root]);
    let bad = d.root.join("bad.com");
    fs::write(&bad, eicar()).unwrap();
    wait_gone(&bad, &w);
    // Give a feedback loop time to show.
    std::thread::sleep(Duration::from_millis(700));
    let log = w.stop();
    assert_eq!(threats_json(&home).len(), 1, "{log}");
    assert_eq!(vault_ids(&home).len(), 1, "{log}");
    assert!(!log.contains("Test.VaultRecord"), "{log}");
}

#[test]
fn sigterm_and_sigint_stop_promptly() {
    let d = dirs();
    let w = Watch::start(&d.home, &[], &[&d.root]);
    let log = w.stop();
    assert!(log.contains("stopping") && log.contains("stopped"), "{log}");
    let w = Watch::start(&d.home, &[], &[&d.root]);
    w.signal(libc::SIGINT);
    let start = Instant::now();
    let mut w = w;
    loop {
        if let Some(s) = w.child.try_wait().unwrap() {
            assert!(s.success());
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(2), "{}", w.log());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn reload_takes_effect_without_missing_a_file() {
    let d = dirs();
    let db = d.root.parent().unwrap().join("test.ndb");
    let alpha = ("Test.Alpha", "ward-test-alpha-payload");
    let beta = ("Test.Beta", "ward-test-beta-payload");
    fs::write(&db, ndb(&[alpha])).unwrap();
    let args = ["--no-builtin", "-d", db.to_str().unwrap()];
    let w = Watch::start(&d.home, &args, &[&d.root]);

    // Beta is not known yet: that file stays.
    let early_beta = d.root.join("early-beta.txt");
    fs::write(&early_beta, beta.1).unwrap();
    // Alpha files keep arriving while the set is swapped.
    let writer = {
        let root = d.root.clone();
        std::thread::spawn(move || {
            (0..40)
                .map(|i| {
                    let p = root.join(format!("alpha-{i}.txt"));
                    fs::write(&p, format!("x {} y", alpha.1)).unwrap();
                    std::thread::sleep(Duration::from_millis(10));
                    p
                })
                .collect::<Vec<_>>()
        })
    };
    replace(&db, &ndb(&[alpha, beta]));
    w.signal(libc::SIGHUP);
    w.wait_line("SIGHUP: reloading");
    w.wait_line("signatures reloaded: 2 signatures");
    let alphas = writer.join().unwrap();
    let late_beta = d.root.join("late-beta.txt");
    fs::write(&late_beta, beta.1).unwrap();
    for p in alphas.iter().chain([&late_beta]) {
        wait_gone(p, &w);
    }

    // A broken database keeps the running set.
    replace(&db, "Broken:0:*:zz\n");
    w.signal(libc::SIGHUP);
    w.wait_line("signature reload failed; still using the previous set");
    let after = d.root.join("after-broken.txt");
    fs::write(&after, beta.1).unwrap();
    wait_gone(&after, &w);
    w.stop();
    assert!(early_beta.exists());
    assert_eq!(threats_json(&d.home).len(), alphas.len() + 2);
}

/// Tests of `--block` need fanotify permission events: they fail, not pass
/// silently, where it is missing (run the suite as root on a kernel with it).
fn require_fanotify() {
    if let Err(why) = fanotify_available() {
        panic!("fanotify is unavailable ({why}): run the tests as root on a kernel with fanotify");
    }
}

fn fanotify_available() -> Result<(), String> {
    // SAFETY: fanotify_init takes integers; the descriptor is closed at once.
    let fd = unsafe {
        libc::fanotify_init(
            libc::FAN_CLASS_CONTENT | libc::FAN_CLOEXEC,
            libc::O_RDONLY as u32,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    // SAFETY: `fd` was just opened here and is not used again.
    unsafe { libc::close(fd) };
    Ok(())
}

fn cat(path: &Path) -> (bool, String, String) {
    let o = run(Command::new("cat").arg(path));
    (o.status.success(), stdout(&o), stderr(&o))
}

/// Without fanotify (here: without CAP_SYS_ADMIN, dropped from the bounding
/// set by `setpriv`) ward says so plainly and refuses to start.
#[test]
fn block_without_fanotify_refuses_to_start() {
    let d = dirs();
    let o = run(Command::new("setpriv")
        .arg("--bounding-set=-sys_admin")
        .arg(env!("CARGO_BIN_EXE_ward"))
        .arg("--home")
        .arg(&d.home)
        .args(["watch", "--block"])
        .arg(&d.root)
        .env(crate::util::NO_CLAMAV_DB.0, crate::util::NO_CLAMAV_DB.1));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot block opens (fanotify)"), "{err}");
    assert!(err.contains("need CAP_SYS_ADMIN"), "{err}");
}

#[test]
fn block_denies_infected_opens_and_allows_clean_ones() {
    require_fanotify();
    let d = dirs();
    let bad = d.root.join("bad.com");
    fs::write(&bad, eicar()).unwrap();
    fs::write(d.root.join("clean.txt"), b"clean text\n").unwrap();
    let w = Watch::start(&d.home, &["--block", "--action", "report"], &[&d.root]);
    let (ok, out, err) = cat(&bad);
    assert!(!ok && out.is_empty(), "{out}");
    assert!(err.contains("Operation not permitted"), "{err}");
    let (ok, out, _) = cat(&d.root.join("clean.txt"));
    assert!(ok && out == "clean text\n");
    // Twice: the second answer comes from the cache.
    assert!(!cat(&bad).0);
    assert!(cat(&d.root.join("clean.txt")).0);
    // A directory made after the start is covered too.
    let sub = d.root.join("new/dir");
    fs::create_dir_all(&sub).unwrap();
    let late = sub.join("late.com");
    fs::write(&late, eicar()).unwrap();
    w.wait_line("late.com: Eicar-Test-Signature FOUND; reported");
    let (ok, _, err) = cat(&late);
    assert!(!ok && err.contains("Operation not permitted"), "{err}");
    let log = w.stop();
    assert!(log.contains("open denied (pid "), "{log}");
    let threats = threats_json(&d.home);
    assert!(
        threats
            .iter()
            .any(|t| t["action"] == "deny" && t["result"] == "denied")
    );
    // After the watcher stops nothing is blocked.
    assert!(cat(&bad).0);
}

#[test]
fn block_refuses_the_root_directory() {
    let d = dirs();
    let o = run(ward()
        .arg("--home")
        .arg(&d.home)
        .args(["watch", "--block", "/"]));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("refusing to block opens on /"), "{err}");
    assert!(err.contains("--force-root"), "{err}");
}

#[test]
fn lost_events_lead_to_a_rescan() {
    // Stop the watcher while far more events than the kernel queues
    // (fs.inotify.max_queued_events) pile up: the EICAR file written last has
    // its events dropped, and only the rescan after the overflow can find it.
    let queued: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16384);
    let d = dirs();
    let w = Watch::start(&d.home, &[], &[&d.root]);
    w.signal(libc::SIGSTOP);
    // Two events per file (its creation, its close after writing).
    for i in 0..queued / 2 + 100 {
        fs::write(d.root.join(format!("c{i}.txt")), b"clean").unwrap();
    }
    let bad = d.root.join("late.com");
    fs::write(&bad, eicar()).unwrap();
    w.signal(libc::SIGCONT);
    wait_gone(&bad, &w);
    w.wait_line("rescan done");
    let log = w.stop();
    assert!(
        log.contains("events lost (the kernel's inotify queue overflowed)"),
        "{log}"
    );
}

#[test]
fn a_file_still_open_for_writing_is_not_taken_from_its_writer() {
    use std::io::Write;
    let d = dirs();
    let db = d.home.with_file_name("marker.ndb");
    fs::write(&db, ndb(&[("Marker", "WARD-TEST-MARKER")])).unwrap();
    let w = Watch::start(&d.home, &["-d", db.to_str().unwrap()], &[&d.root]);
    let path = d.root.join("mbox");
    let mut f = fs::File::create(&path).unwrap();
    f.write_all(b"From a\nWARD-TEST-MARKER\n").unwrap();
    f.flush().unwrap();
    // Well past the debounce of the create event: still open, so left alone.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        path.exists(),
        "taken while open for writing; log:\n{}",
        w.log()
    );
    f.write_all(&[b'x'; 10_000]).unwrap();
    drop(f);
    // Its close is what gets it scanned, with everything that was written.
    wait_gone(&path, &w);
    w.wait_line("mbox: Marker FOUND; quarantined");
    let log = w.stop();
    let t = threats_json(&d.home);
    assert_eq!(t.len(), 1, "{log}");
    let id = t[0]["quarantine_id"].as_str().unwrap();
    let o = run(ward()
        .arg("--home")
        .arg(&d.home)
        .args(["quarantine", "restore", id]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::metadata(&path).unwrap().len(), 24 + 10_000);
}

#[test]
fn block_answers_opens_while_stopping() {
    require_fanotify();
    let d = dirs();
    let clean = d.root.join("clean.txt");
    fs::write(&clean, b"clean\n").unwrap();
    let db = d.home.with_file_name("marker.ndb");
    fs::write(&db, ndb(&[("Marker", "WARD-TEST-MARKER")])).unwrap();
    let mut w = Watch::start(
        &d.home,
        &["--block", "-d", db.to_str().unwrap()],
        &[&d.root],
    );
    // A large infected file keeps a worker busy quarantining it while ward stops.
    let big = d.root.join("big.bin");
    let mut data = b"WARD-TEST-MARKER".to_vec();
    data.resize(256 << 20, b'x');
    fs::write(&big, &data).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    w.signal(libc::SIGTERM);
    let start = Instant::now();
    while w.child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(5) {
        let t = Instant::now();
        assert!(cat(&clean).0);
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "an open waited {:?} during shutdown; log:\n{}",
            t.elapsed(),
            w.log()
        );
    }
    assert!(w.child.try_wait().unwrap().is_some(), "{}", w.log());
}

#[test]
fn block_records_an_open_allowed_by_the_deadline_as_allowed() {
    // More opens at once than ward has scanning threads (at most 4): some wait
    // in the queue until the deadline answers them, and are scanned all the
    // same.
    const OPENS: usize = 6;
    require_fanotify();
    let d = dirs();
    let late = d.root.join("late.bin");
    let mut data = vec![b'x'; 256 << 20];
    data.extend_from_slice(b"WARD-TEST-MARKER");
    fs::write(&late, &data).unwrap();
    let db = d.home.with_file_name("marker.ndb");
    fs::write(&db, ndb(&[("Marker", "WARD-TEST-MARKER")])).unwrap();
    // A hash signature (that does not match) for files of exactly this size:
    // every scan of the file hashes all of it, hundreds of milliseconds
    // however fast the search, so the verdict comes long after the 1 ms
    // deadline even when the deadline's thread is slow to run.
    let slow = d.home.with_file_name("size.hsb");
    fs::write(
        &slow,
        format!("{}:{}:NotThisFile\n", "0".repeat(64), data.len()),
    )
    .unwrap();
    let w = Watch::start(
        &d.home,
        &[
            "--block",
            "--action",
            "report",
            "--deadline",
            "1ms",
            "-d",
            db.to_str().unwrap(),
            "-d",
            slow.to_str().unwrap(),
        ],
        &[&d.root],
    );
    // All opened before the first verdict (a verdict is cached: a later open
    // would be denied from the cache).
    let start = Arc::new(std::sync::Barrier::new(OPENS));
    let opens: Vec<_> = (0..OPENS)
        .map(|_| {
            let (start, late) = (Arc::clone(&start), late.clone());
            std::thread::spawn(move || {
                start.wait();
                fs::File::open(&late).and_then(|mut f| std::io::Read::read(&mut f, &mut [0]))
            })
        })
        .collect();
    for o in opens {
        let r = o.join().unwrap();
        assert!(r.is_ok(), "{r:?}; log:\n{}", w.log());
    }
    w.wait_lines("open already allowed by the deadline", OPENS);
    let log = w.stop();
    let t = threats_json(&d.home);
    assert!(t.iter().all(|t| t["result"] != "denied"), "{log}");
    let allowed = t.iter().filter(|t| t["result"] == "allowed").count();
    assert_eq!(allowed, OPENS, "{log}");
}

#[test]
fn block_answers_a_skipped_file_as_unverified() {
    require_fanotify();
    let d = dirs();
    let clean = d.root.join("clean.txt");
    fs::write(&clean, [b'x'; 100]).unwrap();
    let w = Watch::start(
        &d.home,
        &["--block", "--on-error", "deny", "--max-filesize", "10"],
        &[&d.root],
    );
    // Over --max-filesize: not scanned, so no verdict, so denied as asked.
    let (ok, _, err) = cat(&clean);
    assert!(!ok && err.contains("Operation not permitted"), "{err}");
    w.wait_line("clean.txt: open denied without a verdict: not scanned: Size 100 exceeds");
    w.stop();
}

#[test]
fn block_scans_a_file_too_large_to_read() {
    use std::os::unix::fs::FileExt;
    require_fanotify();
    let d = dirs();
    let db = d.home.with_file_name("marker.ndb");
    fs::write(&db, ndb(&[("Marker", "WARD-TEST-MARKER")])).unwrap();
    // Allocated (so not scanned as a sparse file) and past the 1 GiB read
    // limit: only a map can scan it. Where the temporary directory's
    // filesystem cannot allocate, the tree goes on a tmpfs, which can.
    let size: i64 = (1 << 30) + (100 << 20);
    let (big, f, _tmpfs) = match allocated(&d.root, size) {
        Ok(made) => made,
        Err(why) => return cannot_run(&why),
    };
    let root = big.parent().unwrap().to_owned();
    f.write_all_at(b"WARD-TEST-MARKER", size as u64 - 16)
        .unwrap();
    drop(f);
    let w = Watch::start(
        &d.home,
        &[
            "--block",
            "--action",
            "report",
            "--deadline",
            "60s",
            "-d",
            db.to_str().unwrap(),
        ],
        &[&root],
    );
    let o = run(Command::new("head").args(["-c", "1"]).arg(&big));
    assert!(!o.status.success(), "allowed; log:\n{}", w.log());
    w.wait_line("open denied (pid ");
    w.stop();
}

/// `big.bin` of `size` bytes, every one allocated, in `dir`, or where `dir`'s
/// filesystem cannot allocate, on a tmpfs of the test's own (returned too:
/// it stays mounted while it is kept).
fn allocated(dir: &Path, size: i64) -> Result<(PathBuf, fs::File, Option<Tmpfs>), String> {
    let path = dir.join("big.bin");
    let e = match allocate(&path, size) {
        Ok(f) => return Ok((path, f, None)),
        Err(e) => e,
    };
    fs::remove_file(&path).map_err(|e| e.to_string())?;
    let tmpfs = Tmpfs::mount(size as u64 + (64 << 20))
        .map_err(|why| format!("fallocate in {}: {e}; {why}", dir.display()))?;
    let path = tmpfs.path().join("big.bin");
    let f = allocate(&path, size).map_err(|e| format!("fallocate on a tmpfs: {e}"))?;
    Ok((path, f, Some(tmpfs)))
}

/// A new file of `size` bytes, every one allocated.
fn allocate(path: &Path, size: i64) -> std::io::Result<fs::File> {
    let f = fs::File::create(path)?;
    // SAFETY: fallocate on a descriptor this function owns; no memory is passed.
    if unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, size) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(f)
}

#[test]
fn block_never_denies_a_clean_open_for_want_of_descriptors() {
    require_fanotify();
    require("prlimit", "-V", "util-linux");
    let d = dirs();
    let n = 400;
    for i in 0..n {
        fs::write(d.root.join(format!("c{i}.txt")), b"clean\n").unwrap();
    }
    let mut cmd = Command::new("prlimit");
    cmd.arg("--nofile=256:256").arg(env!("CARGO_BIN_EXE_ward"));
    let w = Watch::start_with(cmd, &d.home, &["--block"], &[&d.root]);
    // Far more opens waiting at once than ward has descriptors for: they
    // pile up in the kernel while ward is stopped, and its first read after
    // it goes on finds them all.
    w.signal(libc::SIGSTOP);
    let root = Arc::new(d.root.clone());
    let opens: Vec<_> = (0..n)
        .map(|i| {
            let root = Arc::clone(&root);
            std::thread::spawn(move || fs::File::open(root.join(format!("c{i}.txt"))).map(drop))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    w.signal(libc::SIGCONT);
    let denied: Vec<_> = opens
        .into_iter()
        .enumerate()
        .filter_map(|(i, t)| t.join().unwrap().err().map(|e| format!("c{i}.txt: {e}")))
        .collect();
    assert!(denied.is_empty(), "{denied:?}; log:\n{}", w.log());
    w.stop();
}

#[test]
fn a_file_restored_with_allow_stays() {
    let d = dirs();
    let w = Watch::start(&d.home, &[], &[&d.root]);
    let bad = d.root.join("keep.com");
    fs::write(&bad, eicar()).unwrap();
    wait_gone(&bad, &w);
    w.wait_line("keep.com: Eicar-Test-Signature FOUND; quarantined");
    let ids = vault_ids(&d.home);
    assert_eq!(ids.len(), 1);
    let o =
        run(ward()
            .arg("--home")
            .arg(&d.home)
            .args(["quarantine", "restore", "--allow", &ids[0]]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The watcher sees the file come back at once; it must not take it again.
    w.wait_line("signatures reloaded");
    std::thread::sleep(Duration::from_millis(500));
    assert!(bad.exists(), "taken again; log:\n{}", w.log());
    let log = w.stop();
    assert!(vault_ids(&d.home).is_empty(), "{log}");
    assert_eq!(threats_json(&d.home).len(), 1, "{log}");
}

#[test]
fn block_logs_repeated_denials_of_one_file_once() {
    require_fanotify();
    let d = dirs();
    let bad = d.root.join("bad.com");
    fs::write(&bad, eicar()).unwrap();
    let w = Watch::start(&d.home, &["--block", "--action", "report"], &[&d.root]);
    for _ in 0..5 {
        assert!(!cat(&bad).0);
    }
    w.wait_line("open denied (pid ");
    let log = w.stop();
    let denied = threats_json(&d.home)
        .into_iter()
        .filter(|t| t["result"] == "denied")
        .count();
    assert_eq!(denied, 1, "{log}");
    assert_eq!(log.matches("open denied (pid ").count(), 1, "{log}");
}

/// Wait until `name` is gone from `dir` (a directory too deep for a path).
fn wait_gone_at(dir: &std::os::fd::OwnedFd, name: &str, w: &Watch) {
    let start = Instant::now();
    while crate::depth::read_at(dir, name).is_some() {
        assert!(
            start.elapsed() < WAIT,
            "{name} not quarantined; log:\n{}",
            w.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn files_below_path_max_are_caught_in_old_and_new_directories() {
    use crate::depth::{deep_path, descend, remove_tree, write_at};
    const DEPTH: usize = 3000;
    let d = dirs();
    let (old, new) = (d.root.join("old"), d.root.join("new"));
    let _cleanup = (
        crate::depth::RemoveOnDrop(old.clone()),
        crate::depth::RemoveOnDrop(new.clone()),
    );
    fs::create_dir(&old).unwrap();
    drop(descend(&old, DEPTH, true));
    let w = Watch::start(&d.home, &[], &[&d.root]);
    // Written into a directory watched since the start.
    let bottom = descend(&old, DEPTH, false);
    write_at(&bottom, "eicar.com", &eicar());
    wait_gone_at(&bottom, "eicar.com", &w);
    // Written at the bottom of directories made after the start.
    fs::create_dir(&new).unwrap();
    let bottom = descend(&new, DEPTH, true);
    write_at(&bottom, "eicar.com", &eicar());
    wait_gone_at(&bottom, "eicar.com", &w);
    w.wait_lines("eicar.com: Eicar-Test-Signature FOUND; quarantined", 2);
    w.stop();
    // Listed under their whole paths.
    let mut paths: Vec<String> = threats_json(&d.home)
        .iter()
        .map(|t| t["path"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    let expect = [&new, &old].map(|r| {
        deep_path(r, DEPTH, "eicar.com")
            .to_str()
            .unwrap()
            .to_owned()
    });
    assert_eq!(paths, expect);
    remove_tree(&old);
    remove_tree(&new);
}

#[test]
fn block_denies_an_infected_open_below_path_max() {
    use crate::depth::{descend, remove_tree, write_at};
    require_fanotify();
    let d = dirs();
    let tree = d.root.join("t");
    let _cleanup = crate::depth::RemoveOnDrop(tree.clone());
    fs::create_dir(&tree).unwrap();
    let bottom = descend(&tree, 3000, true);
    write_at(&bottom, "bad.com", &eicar());
    write_at(&bottom, "clean.txt", b"clean text");
    let w = Watch::start(&d.home, &["--block", "--action", "report"], &[&d.root]);
    let open = |name: &str| {
        rustix::fs::openat(
            &bottom,
            name,
            rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
        )
    };
    assert_eq!(open("bad.com").err(), Some(rustix::io::Errno::PERM));
    assert!(open("clean.txt").is_ok());
    w.wait_line("open denied (pid ");
    let log = w.stop();
    // The kernel cannot give its path: named by inode instead.
    assert!(log.contains("path unknown"), "{log}");
    remove_tree(&tree);
}

#[test]
fn a_zip_with_eicar_inside_is_quarantined_when_written() {
    let d = dirs();
    let w = Watch::start(&d.home, &[], &[&d.root]);
    let zip = d.root.join("eicarcom2.zip");
    fs::write(
        &zip,
        fs::read(crate::containers::fixture("eicarcom2.zip")).unwrap(),
    )
    .unwrap();
    wait_gone(&zip, &w);
    w.wait_line("eicarcom2.zip: Eicar-Test-Signature FOUND; quarantined");
    w.stop();
    let threats = threats_json(&d.home);
    assert_eq!(threats.len(), 1, "{threats:?}");
    assert_eq!(threats[0]["path"], zip.to_str().unwrap());
}

#[test]
fn mail_with_eicar_attached_is_quarantined_when_written() {
    let d = dirs();
    let w = Watch::start(&d.home, &[], &[&d.root]);
    let mail = d.root.join("forwarded.eml");
    fs::write(
        &mail,
        fs::read(crate::mail::fixtures().join("forwarded.eml")).unwrap(),
    )
    .unwrap();
    wait_gone(&mail, &w);
    w.wait_line("forwarded.eml: Eicar-Test-Signature FOUND; quarantined");
    w.stop();
    let threats = threats_json(&d.home);
    assert_eq!(threats.len(), 1, "{threats:?}");
    assert_eq!(threats[0]["path"], mail.to_str().unwrap());
}

#[test]
fn clamav_directory_updated_by_rename_is_reloaded() {
    let d = dirs();
    let clamdb = d.root.parent().unwrap().join("clamav");
    fs::create_dir(&clamdb).unwrap();
    let build = d.root.parent().unwrap().join("build");
    let alpha = ("Test.Alpha", "ward-test-alpha-payload");
    let beta = ("Test.Beta", "ward-test-beta-payload");
    let v1 = crate::clamav_db::sigtool_cud(&build, "daily", 1, &[("daily.ndb", &ndb(&[alpha]))]);
    let v2 =
        crate::clamav_db::sigtool_cud(&build, "daily", 2, &[("daily.ndb", &ndb(&[alpha, beta]))]);
    fs::copy(&v1, clamdb.join("daily.cud")).unwrap();
    // No -d: ClamAV's database directory is loaded and watched.
    let mut cmd = crate::util::ward();
    cmd.env("WARD_CLAMAV_DB", &clamdb);
    let w = Watch::start_with(cmd, &d.home, &[], &[&d.root]);
    let early_beta = d.root.join("early-beta.txt");
    fs::write(&early_beta, beta.1).unwrap();
    let first = d.root.join("alpha.txt");
    fs::write(&first, alpha.1).unwrap();
    wait_gone(&first, &w);
    // As freshclam does: a temporary file, renamed over the old one.
    let tmp = clamdb.join("daily.cud.tmp");
    fs::copy(&v2, &tmp).unwrap();
    fs::rename(&tmp, clamdb.join("daily.cud")).unwrap();
    w.wait_line("signatures reloaded");
    let late_beta = d.root.join("late-beta.txt");
    fs::write(&late_beta, beta.1).unwrap();
    wait_gone(&late_beta, &w);
    w.stop();
    assert!(early_beta.exists());
}
