//! `ward updates assess|install` and `ward health` against a real apt and dpkg.
//!
//! Each test builds a local file-based apt repository of tiny packages made by
//! `dpkg-deb`, with three archives: `wardtest` (v1.0 of both packages),
//! `wardtest-security` (labelled `Debian-Security`: v2.0 of `wardtest-lib`) and
//! `wardtest-updates` (labelled `WardTest`: v2.0 of `wardtest-tool`, which
//! depends on a new package, `wardtest-dep`). It installs
//! v1.0 of both into the machine's dpkg database, and points apt at the
//! repository alone through `APT_CONFIG` (its own source list, lists directory,
//! caches and auto-installed marks under the test's directory), so the
//! machine's apt configuration and state are never touched. The packages are
//! purged when the test ends, pass or fail ([`Fixture`]'s `Drop`).
//!
//! The tests change the real dpkg database, so they need root (they fail,
//! saying so, without it) and run one at a time.
//!
//! Test-only hooks of the binary: `WARD_REBOOT_REQUIRED_FILE` (a reboot-required
//! file of the test's own instead of /var/run/reboot-required) and
//! `WARD_REBOOT_COMMAND` (a shell command run instead of the reboot).

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::Digest;

use crate::util::{run, run_within, stderr, stdout, ward};

/// The tests share dpkg: one at a time.
static DPKG: Mutex<()> = Mutex::new(());

const LIB: &str = "wardtest-lib";
const TOOL: &str = "wardtest-tool";
/// A new package that `wardtest-tool` 2.0 depends on.
const DEP: &str = "wardtest-dep";
/// How long the postinst of `wardtest-lib` 2.0 takes: longer than the short
/// window of the window test, so its run always outlasts that window.
const SLOW_POSTINST_S: u64 = 8;

fn need_root() {
    let euid = rustix::process::geteuid().as_raw();
    assert_eq!(
        euid, 0,
        "the updates tests need root: they install and remove packages with dpkg \
         (run them as root, as CI does)"
    );
}

/// A package of the repository: name, version, postinst script, `Depends:`.
type Pkg<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

/// A repository, the apt configuration that sees only it, and v1.0 of both
/// packages installed.
struct Fixture {
    dir: tempfile::TempDir,
    _serial: std::sync::MutexGuard<'static, ()>,
}

impl Fixture {
    fn new() -> Fixture {
        need_root();
        let serial = DPKG.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        // apt reads file: repositories as the `_apt` user when it can.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let f = Fixture {
            dir,
            _serial: serial,
        };
        purge();
        f.build_repo();
        f.write_apt_config();
        let o = run(Command::new("apt-get")
            .args(["-q", "update"])
            .env("APT_CONFIG", f.apt_config()));
        assert!(o.status.success(), "apt-get update: {}", stderr(&o));
        let o = run(Command::new("dpkg")
            .arg("-i")
            .arg(f.deb(LIB, "1.0"))
            .arg(f.deb(TOOL, "1.0")));
        assert!(o.status.success(), "dpkg -i: {}", stderr(&o));
        assert_eq!(installed(LIB).as_deref(), Some("1.0"));
        f
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn apt_config(&self) -> PathBuf {
        self.path().join("apt.conf")
    }

    fn deb(&self, name: &str, version: &str) -> PathBuf {
        self.path()
            .join("repo/pool")
            .join(format!("{name}_{version}_all.deb"))
    }

    fn reboot_file(&self) -> PathBuf {
        self.path().join("reboot-required")
    }

    /// ward's state directory for the test (`WARD_HOME`).
    fn home(&self) -> PathBuf {
        self.path().join("ward-home")
    }

    /// The events of `kind` in the home's `events.jsonl`, oldest first.
    fn events(&self, kind: &str) -> Vec<Value> {
        events(&self.home(), kind)
    }

    fn rebooted_marker(&self) -> PathBuf {
        self.path().join("rebooted")
    }

    /// `ward ARGS` with apt pointed at the repository and the reboot hooks set.
    fn ward(&self, args: &[&str]) -> Output {
        run_within(
            ward()
                .args(args)
                .env("APT_CONFIG", self.apt_config())
                .env("WARD_HOME", self.home())
                .env("WARD_REBOOT_REQUIRED_FILE", self.reboot_file())
                .env(
                    "WARD_REBOOT_COMMAND",
                    format!("touch '{}'", self.rebooted_marker().display()),
                ),
            Duration::from_secs(120),
        )
    }

    /// `ward ARGS --json`, exit status checked, parsed.
    fn ward_json(&self, args: &[&str], code: i32) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let o = self.ward(&all);
        assert_eq!(
            o.status.code(),
            Some(code),
            "ward {all:?}: {}\n{}",
            stdout(&o),
            stderr(&o)
        );
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("ward {all:?}: {e}: {}", stdout(&o)))
    }

    fn build_repo(&self) {
        let repo = self.path().join("repo");
        fs::create_dir_all(repo.join("pool")).unwrap();
        let postinst = format!("#!/bin/sh\nsleep {SLOW_POSTINST_S}\n");
        let archives: [(&str, &str, &[Pkg]); 3] = [
            (
                "wardtest",
                "WardTest",
                &[(LIB, "1.0", None, None), (TOOL, "1.0", None, None)],
            ),
            (
                "wardtest-security",
                "Debian-Security",
                &[(LIB, "2.0", Some(&postinst), None)],
            ),
            (
                "wardtest-updates",
                "WardTest",
                &[(TOOL, "2.0", None, Some(DEP)), (DEP, "1.0", None, None)],
            ),
        ];
        let arch = host_arch();
        for (suite, label, pkgs) in archives {
            let mut index = String::new();
            for (name, version, script, depends) in pkgs {
                index.push_str(&self.build_deb(name, version, *script, *depends));
                index.push('\n');
            }
            let dist = repo.join("dists").join(suite);
            let rel = format!("main/binary-{arch}/Packages");
            fs::create_dir_all(dist.join(format!("main/binary-{arch}"))).unwrap();
            fs::write(dist.join(&rel), &index).unwrap();
            let release = format!(
                "Origin: WardTest\nLabel: {label}\nSuite: {suite}\nCodename: {suite}\n\
                 Date: Mon, 01 Jan 2024 00:00:00 UTC\nArchitectures: {arch}\nComponents: main\n\
                 SHA256:\n {} {} {rel}\n",
                sha256_hex(index.as_bytes()),
                index.len()
            );
            fs::write(dist.join("Release"), release).unwrap();
        }
    }

    /// Build `pool/NAME_VERSION_all.deb`; its `Packages` stanza.
    fn build_deb(
        &self,
        name: &str,
        version: &str,
        postinst: Option<&str>,
        depends: Option<&str>,
    ) -> String {
        let root = self.path().join(format!("build/{name}-{version}"));
        fs::create_dir_all(root.join("DEBIAN")).unwrap();
        fs::create_dir_all(root.join("usr/share/doc").join(name)).unwrap();
        fs::write(
            root.join("usr/share/doc").join(name).join("VERSION"),
            version,
        )
        .unwrap();
        let depends = depends
            .map(|d| format!("Depends: {d}\n"))
            .unwrap_or_default();
        let control = format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\n{depends}\
             Maintainer: ward tests <root@localhost>\nPriority: optional\nSection: misc\n\
             Description: ward test package {name} {version}\n"
        );
        fs::write(root.join("DEBIAN/control"), &control).unwrap();
        if let Some(script) = postinst {
            let p = root.join("DEBIAN/postinst");
            fs::write(&p, script).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let deb = self.deb(name, version);
        let o = run(Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zgzip", "--build"])
            .arg(&root)
            .arg(&deb));
        assert!(o.status.success(), "dpkg-deb: {}", stderr(&o));
        let bytes = fs::read(&deb).unwrap();
        format!(
            "{control}Filename: pool/{}\nSize: {}\nSHA256: {}\n",
            deb.file_name().unwrap().to_string_lossy(),
            bytes.len(),
            sha256_hex(&bytes)
        )
    }

    fn write_apt_config(&self) {
        let d = self.path();
        for sub in ["sources.list.d", "lists/partial", "cache/archives/partial"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        let repo = d.join("repo");
        let sources: String = ["wardtest", "wardtest-security", "wardtest-updates"]
            .iter()
            .map(|s| format!("deb [trusted=yes] file:{} {s} main\n", repo.display()))
            .collect();
        fs::write(d.join("sources.list"), sources).unwrap();
        let p = |s: &str| d.join(s).display().to_string();
        let conf = format!(
            "Dir::Etc::SourceList \"{}\";\nDir::Etc::SourceParts \"{}\";\n\
             Dir::State::Lists \"{}\";\nDir::State::extended_states \"{}\";\n\
             Dir::Cache \"{}\";\nDir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n",
            p("sources.list"),
            p("sources.list.d"),
            p("lists"),
            p("extended_states"),
            p("cache"),
        );
        fs::write(self.apt_config(), conf).unwrap();
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        purge();
    }
}

/// Every event of `kind` in `<home>/events.jsonl`, each checked for the
/// shared header (`time`, `host`, `kind` first).
fn events(home: &Path, kind: &str) -> Vec<Value> {
    let text = fs::read_to_string(home.join("events.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .inspect(|e| {
            let keys: Vec<&String> = e.as_object().unwrap().keys().take(3).collect();
            assert_eq!(keys, ["time", "host", "kind"], "{e}");
            assert!(e["time"].as_str().unwrap().ends_with('Z'), "{e}");
            assert!(!e["host"].as_str().unwrap().is_empty(), "{e}");
        })
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// Remove the test packages from the machine's dpkg database, waiting (up
/// to a minute) for a dpkg lock another process holds.
fn purge() {
    let deadline = Instant::now() + Duration::from_secs(60);
    let o = loop {
        let o = run(Command::new("dpkg").args(["--purge", TOOL, DEP, LIB]));
        if o.status.success() || !stderr(&o).contains("lock") || Instant::now() > deadline {
            break o;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    // Not while a failed test unwinds: a second panic would abort.
    if !std::thread::panicking() {
        assert!(o.status.success(), "dpkg --purge: {}", stderr(&o));
    }
}

fn host_arch() -> String {
    let o = run(Command::new("dpkg").arg("--print-architecture"));
    stdout(&o).trim().to_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::util::hex(&sha2::Sha256::digest(bytes))
}

/// The installed version of a package, from dpkg.
fn installed(name: &str) -> Option<String> {
    let o = run(Command::new("dpkg-query")
        .args(["-W", "-f=${Version} ${db:Status-Abbrev}"])
        .arg(name));
    let text = stdout(&o);
    let (version, status) = text.split_once(' ')?;
    (status.trim() == "ii").then(|| version.to_owned())
}

fn update<'a>(assessment: &'a Value, name: &str) -> Option<&'a Value> {
    assessment["updates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == name)
}

fn package<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {report:#}"))
}

#[test]
fn assess_then_install_the_security_class_only() {
    let f = Fixture::new();
    let a = f.ward_json(&["updates", "assess"], 0);
    let lib = update(&a, LIB).unwrap_or_else(|| panic!("{LIB} not pending: {a:#}"));
    assert_eq!(lib["installed"], "1.0");
    assert_eq!(lib["candidate"], "2.0");
    assert_eq!(lib["classification"], "security");
    assert_eq!(lib["origins"][0]["label"], "Debian-Security");
    assert_eq!(lib["origins"][0]["codename"], "wardtest-security");
    assert_eq!(lib["origins"][0]["origin"], "WardTest");
    let tool = update(&a, TOOL).unwrap_or_else(|| panic!("{TOOL} not pending: {a:#}"));
    assert_eq!(tool["classification"], "other");
    assert_eq!(tool["origins"][0]["suite"], "wardtest-updates");
    assert_eq!(a["counts"]["security"], 1);
    assert_eq!(a["counts"]["other"], 1);
    assert_eq!(a["new_packages"], serde_json::json!([DEP]));
    assert_eq!(a["reboot"]["required"], false);

    let r = f.ward_json(
        &[
            "updates",
            "install",
            "--classification",
            "security",
            "--reboot",
            "never",
        ],
        0,
    );
    assert_eq!(r["status"], "succeeded", "{r:#}");
    assert_eq!(package(&r, LIB)["result"], "installed");
    assert_eq!(r["packages"].as_array().unwrap().len(), 1, "{r:#}");
    assert!(r["duration_s"].as_f64().unwrap() >= SLOW_POSTINST_S as f64);
    assert_eq!(r["reboot"]["action"], "not_needed");
    assert_eq!(installed(LIB).as_deref(), Some("2.0"));
    assert_eq!(
        installed(TOOL).as_deref(),
        Some("1.0"),
        "other class touched"
    );
    // The run is an `update` event in the event log, with the report's fields.
    let ev = f.events("update");
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0]["status"], "succeeded");
    assert_eq!(ev[0]["packages"][0]["name"], LIB);
    assert_eq!(ev[0]["packages"][0]["result"], "installed");
    assert_eq!(ev[0]["host"], r["host"]);

    let a = f.ward_json(&["updates", "assess"], 0);
    assert!(update(&a, LIB).is_none(), "{a:#}");
    assert_eq!(update(&a, TOOL).unwrap()["classification"], "other");
    assert_eq!(a["counts"]["total"], 1);

    // The text form says the same.
    let o = f.ward(&["updates", "assess"]);
    let text = stdout(&o);
    assert!(text.contains("1 pending: 0 security, 1 other"), "{text}");
    assert!(text.contains("WardTest/wardtest-updates"), "{text}");
}

#[test]
fn reboot_required_is_reported_and_the_policy_applied() {
    let f = Fixture::new();
    fs::write(f.reboot_file(), "*** System restart required ***\n").unwrap();
    let mut pkgs = f.reboot_file().into_os_string();
    pkgs.push(".pkgs");
    fs::write(&pkgs, "linux-image-test\nlinux-image-test\nlibc6\n").unwrap();
    let a = f.ward_json(&["updates", "assess"], 0);
    assert_eq!(a["reboot"]["required"], true);
    assert_eq!(
        a["reboot"]["packages"],
        serde_json::json!(["linux-image-test", "libc6"])
    );

    // Dry run: the plan is printed, nothing is installed or rebooted.
    let o = f.ward(&["updates", "install", "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("then: reboot if"), "{err}");
    assert!(
        err.contains(&format!("{LIB} 1.0 -> 2.0 (security)")),
        "{err}"
    );
    assert!(stdout(&o).contains("would install"), "{}", stdout(&o));
    assert_eq!(installed(LIB).as_deref(), Some("1.0"));
    assert!(!f.rebooted_marker().exists());

    let r = f.ward_json(
        &[
            "updates",
            "install",
            "--classification",
            "other",
            "--reboot",
            "never",
        ],
        0,
    );
    assert_eq!(r["reboot"]["action"], "needed", "{r:#}");
    assert_eq!(r["reboot"]["required"], true);
    assert!(!f.rebooted_marker().exists());
    assert_eq!(installed(TOOL).as_deref(), Some("2.0"));
    // The new dependency came with it, and nothing else.
    assert_eq!(r["dependencies"][0]["name"], DEP, "{r:#}");
    assert_eq!(r["dependencies"][0]["from"], "");
    assert_eq!(r["dependencies"][0]["result"], "installed");
    assert_eq!(r["dependencies"].as_array().unwrap().len(), 1);
    assert_eq!(installed(DEP).as_deref(), Some("1.0"));
    assert_eq!(installed(LIB).as_deref(), Some("1.0"));

    let r = f.ward_json(
        &[
            "updates",
            "install",
            "--classification",
            "security",
            "--reboot",
            "if-required",
        ],
        0,
    );
    assert_eq!(r["reboot"]["action"], "done", "{r:#}");
    assert!(
        f.rebooted_marker().exists(),
        "the reboot command did not run"
    );
}

/// Hold the dpkg frontend lock from another process, as apt holds it: a POSIX
/// record lock (Python's `fcntl.lockf`), or a BSD lock (`flock`).
struct LockHolder(Child);

impl LockHolder {
    fn posix() -> LockHolder {
        LockHolder::start(Command::new("/usr/bin/python3").args([
            "-c",
            "import fcntl,sys,time\n\
             f=open('/var/lib/dpkg/lock-frontend','w')\n\
             fcntl.lockf(f, fcntl.LOCK_EX)\n\
             print('locked', flush=True)\n\
             time.sleep(120)\n",
        ]))
    }

    fn bsd() -> LockHolder {
        LockHolder::start(Command::new("flock").args([
            "/var/lib/dpkg/lock-frontend",
            "sh",
            "-c",
            "echo locked; sleep 120",
        ]))
    }

    fn start(cmd: &mut Command) -> LockHolder {
        use std::os::unix::process::CommandExt;
        // A group of its own, all killed at the end: flock's child inherits
        // the locked descriptor.
        let mut child = cmd
            .process_group(0)
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn the lock holder");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked");
        LockHolder(child)
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.0.wait();
    }
}

#[test]
fn a_held_dpkg_lock_is_exit_2_and_changes_nothing() {
    let f = Fixture::new();
    for holder in [LockHolder::posix as fn() -> LockHolder, LockHolder::bsd] {
        let h = holder();
        let o = f.ward(&["updates", "install", "--classification", "all"]);
        assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("/var/lib/dpkg/lock-frontend"), "{err}");
        assert!(err.contains("lock is held"), "{err}");
        assert!(err.contains(&format!("pid {}", h.0.id())), "{err}");
        assert_eq!(installed(LIB).as_deref(), Some("1.0"));
        assert_eq!(installed(TOOL).as_deref(), Some("1.0"));
    }
    // With --json the error is a document too, and the run an event.
    let h = LockHolder::posix();
    let r = f.ward_json(&["updates", "install", "--classification", "all"], 2);
    assert_eq!(r["status"], "error", "{r:#}");
    assert!(
        r["reason"].as_str().unwrap().contains("lock is held"),
        "{r:#}"
    );
    drop(h);
    let ev = f.events("update");
    assert_eq!(ev.len(), 3, "{ev:#?}");
    assert!(ev.iter().all(|e| e["status"] == "error"), "{ev:#?}");
    // Released: the same run now works.
    let r = f.ward_json(
        &[
            "updates",
            "install",
            "--classification",
            "other",
            "--reboot",
            "never",
        ],
        0,
    );
    assert_eq!(package(&r, TOOL)["result"], "installed", "{r:#}");
}

#[test]
fn a_window_too_short_fails_with_what_was_done() {
    let f = Fixture::new();
    let started = Instant::now();
    // wardtest-lib's group runs first (groups go in source-name order) and
    // its postinst outlasts the window: it completes, the next is not started.
    let r = f.ward_json(
        &[
            "updates",
            "install",
            "--classification",
            "all",
            "--window",
            "5s",
            "--reboot",
            "always",
        ],
        1,
    );
    assert!(started.elapsed() >= Duration::from_secs(SLOW_POSTINST_S));
    assert_eq!(r["status"], "failed", "{r:#}");
    assert!(
        r["stopped"].as_str().unwrap().contains("window closed"),
        "{r:#}"
    );
    assert_eq!(package(&r, LIB)["result"], "installed");
    assert_eq!(package(&r, TOOL)["result"], "not_attempted");
    assert_eq!(r["window_s"], 5);
    assert_eq!(
        r["reboot"]["action"], "needed",
        "no reboot after the window"
    );
    assert!(!f.rebooted_marker().exists());
    assert_eq!(installed(LIB).as_deref(), Some("2.0"));
    assert_eq!(installed(TOOL).as_deref(), Some("1.0"));
    assert_eq!(installed(DEP), None);
}

#[test]
fn a_run_that_ends_past_the_window_is_failed() {
    let f = Fixture::new();
    // One group, started inside the window; its postinst outlasts it.
    let r = f.ward_json(
        &[
            "updates",
            "install",
            "--classification",
            "security",
            "--window",
            "5s",
            "--reboot",
            "never",
        ],
        1,
    );
    assert_eq!(r["status"], "failed", "{r:#}");
    assert!(
        r["stopped"]
            .as_str()
            .unwrap()
            .contains("past the maintenance window of 5 s"),
        "{r:#}"
    );
    assert!(r["duration_s"].as_f64().unwrap() > 5.0, "{r:#}");
    // Done, not cut short: the package is in and reported so.
    assert_eq!(package(&r, LIB)["result"], "installed");
    assert_eq!(installed(LIB).as_deref(), Some("2.0"));
    assert_eq!(f.events("update")[0]["status"], "failed");
}

#[test]
fn a_broken_repository_is_exit_2_and_changes_nothing() {
    let f = Fixture::new();
    // A package file gone from the pool: found when downloading, before any
    // package is installed.
    fs::remove_file(f.deb(TOOL, "2.0")).unwrap();
    let o = f.ward(&["updates", "install", "--classification", "all"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("download-only"), "{}", stderr(&o));
    assert_eq!(installed(LIB).as_deref(), Some("1.0"));
    assert_eq!(installed(TOOL).as_deref(), Some("1.0"));
    // An archive gone: the refresh fails.
    fs::remove_dir_all(f.path().join("repo/dists/wardtest-updates")).unwrap();
    let o = f.ward(&["updates", "assess", "--refresh"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("apt-get -q update failed"),
        "{}",
        stderr(&o)
    );
}

/// A running `ward watch`, killed on drop.
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn health_json_has_every_field() {
    let f = Fixture::new();
    let home = f.path().join("home");
    let tree = f.path().join("tree");
    fs::create_dir_all(&tree).unwrap();
    fs::create_dir_all(&home).unwrap();
    let health = |f: &Fixture| -> Value {
        let home = home.to_str().unwrap();
        f.ward_json(&["--home", home, "health", "--clamav-dir", home], 0)
    };
    let h = health(&f);
    for key in [
        "time",
        "host",
        "version",
        "home",
        "signatures",
        "realtime",
        "quarantine",
        "threats",
        "audit",
        "updates",
        "errors",
    ] {
        assert!(h.get(key).is_some(), "no {key} in {h:#}");
    }
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    assert!(h["signatures"]["builtin"].as_u64().unwrap() > 0);
    assert_eq!(h["realtime"]["running"], false);
    assert_eq!(h["quarantine"]["count"], 0);
    assert_eq!(h["threats"]["last_24h"], 0);
    assert_eq!(h["audit"], Value::Null, "never run");
    assert_eq!(h["updates"]["security"], 1, "{h:#}");
    assert_eq!(h["updates"]["other"], 1);
    assert_eq!(h["updates"]["reboot_required"], false);
    assert_eq!(h["errors"], serde_json::json!([]));

    // A watcher, an audit result, a ClamAV database header, a detection.
    let child = ward()
        .arg("--home")
        .arg(&home)
        .args(["watch", "--action", "report"])
        .arg(&tree)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let watch = Watch(child);
    let mut cvd =
        b"ClamAV-VDB:16 Sep 2021 08-32 -0400:62:6647427:90:X:X:sigmgr:1631795562".to_vec();
    cvd.resize(512, b' ');
    fs::write(home.join("main.cvd"), &cvd).unwrap();
    fs::write(
        home.join("audit-last.json"),
        r#"{"time":"2026-01-01T00:00:00Z","compliant":40,"non_compliant":2,"errors":1}"#,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let h = loop {
        let h = health(&f);
        if h["realtime"]["running"] == true || Instant::now() > deadline {
            break h;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(h["realtime"]["running"], true, "{h:#}");
    assert_eq!(h["realtime"]["pid"], watch.0.id());
    assert_eq!(h["realtime"]["trees"][0], tree.to_str().unwrap());
    assert_eq!(h["realtime"]["blocking"], false);
    assert_eq!(h["audit"]["non_compliant"], 2);
    let set = &h["signatures"]["sets"][0];
    assert_eq!(set["kind"], "clamav");
    assert_eq!(set["version"], 62);
    assert_eq!(set["signatures"], 6_647_427);
    assert!(set["age_days"].as_f64().unwrap() > 1000.0);

    fs::write(tree.join("eicar.txt"), crate::util::eicar()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let h = loop {
        let h = health(&f);
        if h["threats"]["last_24h"] == 1 || Instant::now() > deadline {
            break h;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(h["threats"]["last_24h"], 1, "{h:#}");
    assert_eq!(h["threats"]["total"], 1);
    // The detection is a `threat` event in the shared event log too.
    let ev = events(&home, "threat");
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0]["path"], tree.join("eicar.txt").to_str().unwrap());
    assert_eq!(ev[0]["result"], "reported");
    assert!(
        !ev[0]["signatures"].as_array().unwrap().is_empty(),
        "{ev:#?}"
    );

    drop(watch);
    let h = health(&f);
    assert_eq!(
        h["realtime"]["running"], false,
        "a stopped watcher is stale"
    );
}
