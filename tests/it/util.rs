//! What the test modules share: the EICAR bytes, hex, a seeded random number
//! generator, tests that cannot set up their subject, a tmpfs of a test's own,
//! and running a child process (the `ward` binary or a tool such as
//! `clamscan`).
//!
//! A child runs with a deadline, and its stdout and stderr are each read by a
//! thread of their own while it runs: a child that writes more than a pipe
//! holds (64 KiB) never blocks on it, and one that hangs fails its test
//! instead of stalling the suite.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Data

/// The EICAR test string, assembled at run time so no file in the repository
/// holds it.
pub fn eicar() -> Vec<u8> {
    ward::sig::builtin::eicar()
}

/// The EICAR bytes in hex, for body signatures built at run time.
pub fn eicar_hex() -> String {
    hex(&eicar())
}

/// Lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The bytes a hex string spells (either case); panics on anything else.
pub fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd length: {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .unwrap_or_else(|e| panic!("{text:?} at {i}: {e}"))
        })
        .collect()
}

/// A small deterministic PRNG (xorshift64*), so a seed names a test case.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `lo..=hi`.
    pub fn urange(&mut self, lo: usize, hi: usize) -> usize {
        self.range(lo as u64, hi as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, self.urange(0, i));
        }
    }
}

// ---------------------------------------------------------------------------
// Set-up that may be impossible

/// A test that cannot build its subject here (a missing kernel feature or
/// privilege) calls this and returns at once. Outside CI it says so on stderr,
/// with `SKIPPED`, and the test passes; under CI (`CI` set, as CI services
/// do) it fails: there every test must run. The note goes to stderr itself,
/// not through the test harness's capture, so that it shows in every run.
pub fn cannot_run(why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    match std::env::var_os("CI") {
        Some(ci) if !ci.is_empty() && ci != "false" && ci != "0" => {
            panic!("{test} cannot run here: {why}")
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {why} (under CI this fails)"
            );
        }
    }
}

/// A tmpfs mounted on a new temporary directory, for a test that needs a
/// filesystem of its own; unmounted when dropped. Needs CAP_SYS_ADMIN.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mount one of at most `size` bytes, or say why it could not be done.
    pub fn mount(size: u64) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let o = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0755"))
            .arg("tmpfs")
            .arg(dir.path()));
        if !o.status.success() {
            return Err(format!("mount -t tmpfs: {}", stderr(&o).trim()));
        }
        Ok(Tmpfs { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a child that still holds a file there must not keep the
        // mount (or fail the test that is already ending).
        let _ = Command::new("umount")
            .arg("--lazy")
            .arg(self.dir.path())
            .status();
    }
}

// ---------------------------------------------------------------------------
// Running children

/// How long a child may run, unless a test says otherwise.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub fn ward() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ward"));
    c.env(NO_CLAMAV_DB.0, NO_CLAMAV_DB.1);
    c
}

/// The environment that keeps ward from loading this machine's ClamAV
/// database directory when no `-d` is given: tests see the same signatures
/// whether freshclam has filled `/var/lib/clamav` or not.
pub const NO_CLAMAV_DB: (&str, &str) = ("WARD_CLAMAV_DB", "");

/// `ward --home HOME ARGS…`, run.
pub fn ward_in(home: &Path, args: &[&OsStr]) -> Output {
    run(ward().arg("--home").arg(home).args(args))
}

pub fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run `cmd` with stdin closed; a child still running after [`DEADLINE`] is
/// killed and fails the test.
pub fn run(cmd: &mut Command) -> Output {
    run_within(cmd, DEADLINE)
}

/// [`run`] with a deadline of `limit`.
pub fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = spawn(cmd, Stdio::null());
    finish(child, Vec::new(), limit, &format!("{cmd:?}"))
}

/// [`run`] with `input` on the child's stdin, written while its output is read.
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let child = spawn(cmd, Stdio::piped());
    finish(child, input.to_vec(), DEADLINE, &format!("{cmd:?}"))
}

/// Fail the test unless `program ARG` runs and succeeds, naming the Debian
/// package that provides it (`scripts/test.sh` installs each).
pub fn require(program: &str, arg: &str, package: &str) {
    let child = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let o = match child {
        Ok(child) => finish(child, Vec::new(), DEADLINE, program),
        Err(e) => panic!("{program}: {e}: install the Debian package {package}"),
    };
    assert!(
        o.status.success(),
        "`{program} {arg}` failed ({}): {}: install the Debian package {package}",
        o.status,
        stderr(&o).trim()
    );
}

fn spawn(cmd: &mut Command, stdin: Stdio) -> Child {
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"))
}

/// Wait for a child the test spawned: `input` goes to its stdin (when that is
/// piped and not taken), each of its stdout and stderr that is piped and not
/// taken is read to its end as it is written, and all of that within `limit`,
/// else the child is killed and the test fails with what it wrote so far.
/// `what` names the child in that message.
pub fn finish(mut child: Child, input: Vec<u8>, limit: Duration, what: &str) -> Output {
    let start = Instant::now();
    if let Some(mut w) = child.stdin.take() {
        // Dropping `w` at the end closes the child's stdin. A child that exits
        // without reading it all fails the write (EPIPE), which ends the thread.
        std::thread::spawn(move || {
            let _ = w.write_all(&input);
        });
    }
    let out = child.stdout.take().map(Drain::new);
    let err = child.stderr.take().map(Drain::new);
    let mut status = None;
    let mut pause = Duration::from_millis(1);
    loop {
        if status.is_none() {
            status = child.try_wait().expect("wait for a child");
        }
        let drained = [&out, &err]
            .into_iter()
            .all(|d| d.as_ref().is_none_or(Drain::done));
        if let (Some(status), true) = (status, drained) {
            return Output {
                status,
                stdout: out.map(Drain::into_bytes).unwrap_or_default(),
                stderr: err.map(Drain::into_bytes).unwrap_or_default(),
            };
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let state = match status {
                None => "did not finish",
                Some(_) => "exited, but its output stayed open (a process it started?)",
            };
            let text = |d: &Option<Drain>| d.as_ref().map(Drain::text).unwrap_or_default();
            panic!(
                "{what} {state} within {limit:?}\n--- stdout so far:\n{}\n--- stderr so far:\n{}",
                text(&out),
                text(&err)
            );
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// A thread that reads one of a child's pipes to its end; what it has read
/// can be looked at while the child runs.
pub struct Drain {
    buf: Arc<Mutex<Vec<u8>>>,
    thread: JoinHandle<()>,
}

impl Drain {
    pub fn new(mut pipe: impl Read + Send + 'static) -> Drain {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let thread = std::thread::spawn(move || {
            let mut chunk = [0u8; 16 << 10];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        Drain { buf, thread }
    }

    /// Whether the pipe has reached its end (every writer closed it).
    pub fn done(&self) -> bool {
        self.thread.is_finished()
    }

    /// What was read so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }

    /// Wait up to `limit` for the end of the pipe, then return all it held;
    /// fails the test if the pipe is still open then.
    pub fn finish(self, limit: Duration, what: &str) -> Vec<u8> {
        let start = Instant::now();
        while !self.done() {
            assert!(
                start.elapsed() < limit,
                "{what}: output still open after {limit:?}; so far:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        self.into_bytes()
    }

    fn into_bytes(self) -> Vec<u8> {
        self.thread.join().expect("pipe reader");
        std::mem::take(&mut *self.buf.lock().unwrap())
    }
}

/// How a child ran: its output, wall time and peak resident memory.
pub struct Measured {
    pub out: Output,
    pub wall: Duration,
    /// Peak RSS in KiB of the command alone, as GNU time reports it.
    ///
    /// Not `wait4`'s rusage: a child forked (or vforked) from this test process
    /// carries the test process's own resident pages into its peak until it
    /// execs, so parallel tests holding large buffers would be counted.
    /// `/usr/bin/time` is a small process whose fork inherits almost nothing.
    pub max_rss_kib: u64,
}

impl Measured {
    pub fn stdout(&self) -> String {
        stdout(&self.out)
    }

    pub fn stderr(&self) -> String {
        stderr(&self.out)
    }

    /// The exit code; fails the test if the command was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        assert_eq!(
            self.out.status.signal(),
            None,
            "killed: {:?}",
            self.out.status
        );
        self.out.status.code()
    }
}

/// Run `cmd` (stdin closed) under `/usr/bin/time`, failing the test if it
/// takes longer than `limit`.
pub fn run_measured(cmd: &mut Command, limit: Duration) -> Measured {
    assert!(
        Path::new("/usr/bin/time").exists(),
        "/usr/bin/time is missing: install the Debian package time"
    );
    let rss_file = tempfile::NamedTempFile::new().unwrap();
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M", "-o"])
        .arg(rss_file.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let start = Instant::now();
    let mut out = run_within(&mut timed, limit);
    let wall = start.elapsed();
    // GNU time exits with the command's status, and notes a signal in its report.
    let report = std::fs::read_to_string(rss_file.path()).unwrap_or_default();
    if let Some(signal) = report
        .lines()
        .find_map(|l| l.strip_prefix("Command terminated by signal "))
        .and_then(|n| n.trim().parse::<i32>().ok())
    {
        out.status = ExitStatus::from_raw(signal);
    }
    let max_rss_kib = report
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in the report of /usr/bin/time: {report:?}"));
    Measured {
        out,
        wall,
        max_rss_kib,
    }
}

#[test]
fn hex_round_trips() {
    let all: Vec<u8> = (0..=255).collect();
    assert_eq!(unhex(&hex(&all)), all);
    assert_eq!(unhex("00fFAb"), [0x00, 0xff, 0xab]);
    assert_eq!(unhex(&eicar_hex()), eicar());
}

/// Run the fixture script `tests/fixtures/SCRIPT` (with Debian's Python; it
/// gets the directory and EICAR as hex) into a fresh `CARGO_TARGET_TMPDIR/DIR`,
/// and write beside its files `marker.ndb`, a signature for `marker`.
pub fn python_fixtures(dir: &str, script: &str, marker: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let _ = std::fs::remove_dir_all(&dir);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(script);
    let out = run(Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(&dir)
        .arg(hex(&eicar())));
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(
        dir.join("marker.ndb"),
        format!("Marker:0:*:{}\n", hex(marker.as_bytes())),
    )
    .unwrap();
    dir
}
