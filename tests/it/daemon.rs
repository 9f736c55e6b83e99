//! `ward daemon` against real clamd clients (clamdscan from clamav-daemon,
//! pyclamd) and raw conversations: every command, the three framings, the
//! error replies, sessions with pipelined requests, hostile clients, a
//! client of another user, reloads. Each daemon has its own sockets in a
//! temporary directory (never the system clamd's).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Drain, eicar, require, run, stderr, stdout, ward};

const EICAR_NAME: &str = "Eicar-Test-Signature";

/// A running `ward daemon` with a unix socket and a TCP port of its own.
struct Daemon {
    child: Child,
    log: Option<Drain>,
    dir: tempfile::TempDir,
    sock: PathBuf,
    port: u16,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Daemon {
    /// Start with `conf` added to a clamd.conf naming the sockets, and `args`.
    fn start(conf: &str, args: &[&str]) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("ward-daemon")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let sock = dir.path().join("clamd.sock");
        let port = free_port();
        let file = dir.path().join("clamd.conf");
        std::fs::write(
            &file,
            format!("LocalSocket {}\nTCPSocket {port}\n{conf}", sock.display()),
        )
        .unwrap();
        let mut child = ward()
            .env("WARD_HOME", dir.path().join("home"))
            .arg("daemon")
            .arg("--config-file")
            .arg(&file)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Drain::new(child.stderr.take().unwrap());
        let d = Daemon {
            child,
            log: Some(log),
            dir,
            sock,
            port,
        };
        let start = Instant::now();
        while d.try_talk(b"zPING\0").as_deref() != Some(b"PONG\0".as_slice()) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "daemon did not answer PING: {}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    fn log(&self) -> String {
        self.log.as_ref().map(Drain::text).unwrap_or_default()
    }

    /// Wait for `needle` in the log (written before the first PONG, but
    /// read from the pipe by a thread of its own).
    fn wait_log(&self, needle: &str) -> String {
        let start = Instant::now();
        while !self.log().contains(needle) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no {needle:?} in: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.log()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A clamdscan configuration for the unix socket (or TCP).
    fn client_conf(&self, tcp: bool) -> PathBuf {
        let p = self.path(if tcp { "tcp.conf" } else { "unix.conf" });
        let text = match tcp {
            true => format!("TCPSocket {}\nTCPAddr 127.0.0.1\n", self.port),
            false => format!("LocalSocket {}\n", self.sock.display()),
        };
        std::fs::write(&p, text).unwrap();
        p
    }

    fn connect(&self) -> UnixStream {
        let s = UnixStream::connect(&self.sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    fn try_talk(&self, request: &[u8]) -> Option<Vec<u8>> {
        let mut s = UnixStream::connect(&self.sock).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        s.write_all(request).ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).ok()?;
        Some(out)
    }

    /// Send `request` over the unix socket; everything the daemon answers
    /// until it closes.
    fn talk(&self, request: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(request).unwrap();
        read_all(&mut s)
    }

    fn talk_tcp(&self, request: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(request).unwrap();
        read_all(&mut s)
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on the pid of a child this test spawned.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0);
    }

    /// Wait for the daemon to exit; its log.
    fn wait_exit(mut self) -> (std::process::ExitStatus, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = self
                    .log
                    .take()
                    .unwrap()
                    .finish(Duration::from_secs(10), "log");
                return (status, String::from_utf8_lossy(&log).into_owned());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "daemon did not exit: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_all(s: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A tree: `clean.txt`, `sub/eicar.com`, `sub/also.com` (EICAR too).
fn tree(d: &Daemon) -> PathBuf {
    let top = d.path("tree");
    std::fs::create_dir_all(top.join("sub")).unwrap();
    std::fs::write(top.join("clean.txt"), b"nothing to see").unwrap();
    std::fs::write(top.join("sub/eicar.com"), eicar()).unwrap();
    std::fs::write(top.join("sub/also.com"), eicar()).unwrap();
    for p in [&top, &top.join("sub")] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    top
}

fn clamdscan(d: &Daemon, tcp: bool, args: &[&str], paths: &[&Path]) -> (Option<i32>, String) {
    require("clamdscan", "--help", "clamav-daemon");
    let o = run(Command::new("clamdscan")
        .arg("--config-file")
        .arg(d.client_conf(tcp))
        .args(args)
        .args(paths));
    (o.status.code(), stdout(&o) + &stderr(&o))
}

/// An INSTREAM request: the command, `data` in chunks of `chunk`, the end.
fn instream(cmd: &[u8], data: &[u8], chunk: usize) -> Vec<u8> {
    let mut req = cmd.to_vec();
    for c in data.chunks(chunk) {
        req.extend_from_slice(&(c.len() as u32).to_be_bytes());
        req.extend_from_slice(c);
    }
    req.extend_from_slice(&[0, 0, 0, 0]);
    req
}

#[test]
fn clamdscan_every_mode_over_the_unix_socket() {
    let d = Daemon::start("", &[]);
    let top = tree(&d);
    let (a, b) = (top.join("sub/also.com"), top.join("sub/eicar.com"));
    for args in [
        &[][..],
        &["--multiscan"],
        &["--stream"],
        &["--fdpass"],
        &["--multiscan", "--fdpass"],
    ] {
        let (code, out) = clamdscan(&d, false, args, &[&top]);
        assert_eq!(code, Some(1), "{args:?}: {out}");
        for f in [&a, &b] {
            let line = format!("{}: {EICAR_NAME} FOUND", f.display());
            assert!(out.contains(&line), "{args:?}: {line} missing: {out}");
        }
        assert!(out.contains("Infected files: 2"), "{args:?}: {out}");
    }
    // Clean: exit 0 and a summary; --no-summary: nothing but the findings.
    let (code, out) = clamdscan(&d, false, &[], &[&top.join("clean.txt")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Infected files: 0"), "{out}");
    let (code, out) = clamdscan(&d, false, &["--no-summary"], &[&b]);
    assert_eq!(
        (code, out.as_str()),
        (
            Some(1),
            format!("{}: {EICAR_NAME} FOUND\n", b.display()).as_str()
        )
    );
    // Errors only: exit 2.
    let (code, out) = clamdscan(&d, false, &["--no-summary"], &[&top.join("missing")]);
    assert_eq!(code, Some(2), "{out}");
}

#[test]
fn clamdscan_allmatch_reports_every_signature() {
    let sigs = tempfile::tempdir().unwrap();
    let extra = sigs.path().join("more.ndb");
    std::fs::write(&extra, "Test.Second:0:*:4549434152\n").unwrap();
    let d = Daemon::start("", &["-d", extra.to_str().unwrap()]);
    let f = tree(&d).join("sub/eicar.com");
    let (code, out) = clamdscan(&d, false, &["--allmatch", "--no-summary"], &[&f]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("{}: {EICAR_NAME} FOUND", f.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!("{}: Test.Second FOUND", f.display())),
        "{out}"
    );
    let (_, first) = clamdscan(&d, false, &["--no-summary"], &[&f]);
    assert_eq!(
        first.lines().count(),
        1,
        "without --allmatch one name: {first}"
    );
    let off = Daemon::start("AllowAllMatchScan no\n", &[]);
    assert_eq!(
        text(&off.talk(format!("zALLMATCHSCAN {}\0", f.display()).as_bytes())),
        format!(
            "{}: ALLMATCHSCAN command disabled by clamd configuration. ERROR\0",
            f.display()
        )
    );
}

#[test]
fn clamdscan_over_tcp_streams_and_path_commands_are_off() {
    let d = Daemon::start("", &[]);
    let top = tree(&d);
    let f = top.join("sub/eicar.com");
    let (code, out) = clamdscan(&d, true, &["--stream", "--no-summary"], &[&f]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("{}: {EICAR_NAME} FOUND", f.display())),
        "{out}"
    );
    let reply = d.talk_tcp(format!("zSCAN {}\0", f.display()).as_bytes());
    assert_eq!(reply, b"COMMAND UNAVAILABLE\0");
    let d2 = Daemon::start("", &["--tcp-path-commands"]);
    let reply = d2.talk_tcp(format!("zSCAN {}\0", f.display()).as_bytes());
    assert_eq!(
        text(&reply),
        format!("{}: {EICAR_NAME} FOUND\0", f.display())
    );
}

#[test]
fn pyclamd_scans_files_and_streams() {
    require("/usr/bin/python3", "--version", "python3");
    let d = Daemon::start("StreamMaxLength 64K\n", &[]);
    let top = tree(&d);
    let script = format!(
        r#"
import pyclamd, sys
c = pyclamd.ClamdUnixSocket({sock:?})
print("ping", c.ping())
print("version", c.version())
print("file", c.scan_file({f:?}))
print("clean", c.scan_file({clean:?}))
print("multi", sorted(c.multiscan_file({top:?}).items()))
e = open({f:?}, "rb").read()
print("stream", c.scan_stream(e))
print("cleanstream", c.scan_stream(b"harmless"))
try:
    c.scan_stream(b"x" * (256 << 10))
    print("over: accepted")
except pyclamd.BufferTooLongError as x:
    print("over", x)
"#,
        sock = d.sock.to_str().unwrap(),
        f = top.join("sub/eicar.com").to_str().unwrap(),
        clean = top.join("clean.txt").to_str().unwrap(),
        top = top.to_str().unwrap(),
    );
    let o = run(Command::new("/usr/bin/python3").arg("-c").arg(&script));
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let f = top.join("sub/eicar.com");
    let a = top.join("sub/also.com");
    let expect = [
        "ping True".to_owned(),
        format!("version ClamAV {}-ward/1/", env!("CARGO_PKG_VERSION")),
        format!("file {{'{}': ('FOUND', '{EICAR_NAME}')}}", f.display()),
        "clean None".to_owned(),
        format!(
            "multi [('{}', ('FOUND', '{EICAR_NAME}')), ('{}', ('FOUND', '{EICAR_NAME}'))]",
            a.display(),
            f.display()
        ),
        format!("stream {{'stream': ('FOUND', '{EICAR_NAME}')}}"),
        "cleanstream None".to_owned(),
        "over INSTREAM size limit exceeded. ERROR".to_owned(),
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), expect.len(), "{out}");
    for (line, want) in lines.iter().zip(&expect) {
        assert!(
            line.starts_with(want.as_str()),
            "got {line:?}, want {want:?}\n{out}"
        );
    }
}

#[test]
fn raw_commands_and_framings() {
    let d = Daemon::start("", &[]);
    let top = tree(&d);
    assert_eq!(d.talk(b"zPING\0"), b"PONG\0");
    assert_eq!(d.talk(b"nPING\n"), b"PONG\n");
    assert_eq!(d.talk(b"PING"), b"PONG\n");
    assert_eq!(d.talk(b"PING\n"), b"PONG\n");
    assert_eq!(d.talk(b"nPING \n"), b"UNKNOWN COMMAND\n");
    assert_eq!(d.talk(b"zBOGUS\0"), b"UNKNOWN COMMAND\0");
    assert_eq!(d.talk(b"zEND\0"), b"UNKNOWN COMMAND\0");
    assert_eq!(d.talk(b"nSTREAM\n"), b"UNKNOWN COMMAND\n");
    assert_eq!(d.talk(b"VERSIONCOMMANDS\n"), b"UNKNOWN COMMAND\n");
    let v = text(&d.talk(b"nVERSION\n"));
    let prefix = format!("ClamAV {}-ward/1/", env!("CARGO_PKG_VERSION"));
    assert!(
        v.starts_with(&prefix) && v.ends_with('\n') && v.matches('/').count() == 2,
        "{v:?}"
    );
    let vc = text(&d.talk(b"zVERSIONCOMMANDS\0"));
    assert!(vc.starts_with(&prefix), "{vc:?}");
    assert!(
        vc.ends_with("| COMMANDS: SCAN QUIT RELOAD SELFCHECK PING CONTSCAN VERSIONCOMMANDS VERSION END SHUTDOWN MULTISCAN FILDES STATS IDSESSION INSTREAM DETSTATSCLEAR DETSTATS ALLMATCHSCAN\0"),
        "{vc:?}"
    );
    assert_eq!(d.talk(b"zDETSTATS\0"), b"");
    assert_eq!(d.talk(b"nDETSTATSCLEAR\n"), b"");
    assert_eq!(d.talk(b"zSELFCHECK\0"), b"DBUPTODATE\0");
    let stats = text(&d.talk(b"nSTATS\n"));
    assert!(
        stats.starts_with("POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 10  idle "),
        "{stats:?}"
    );
    assert!(
        stats.contains("\nQUEUE: 0 items\n") && stats.ends_with("\nEND\n"),
        "{stats:?}"
    );
    // Path commands.
    let f = top.join("sub/eicar.com");
    let clean = top.join("clean.txt");
    let found = format!("{}: {EICAR_NAME} FOUND", f.display());
    assert_eq!(
        text(&d.talk(format!("zSCAN {}\0", f.display()).as_bytes())),
        format!("{found}\0")
    );
    assert_eq!(
        text(&d.talk(format!("SCAN {}\n", f.display()).as_bytes())),
        format!("{found}\n")
    );
    assert_eq!(
        text(&d.talk(format!("nCONTSCAN {}\n", clean.display()).as_bytes())),
        format!("{}: OK\n", clean.display())
    );
    let scan_tree = text(&d.talk(format!("zSCAN {}\0", top.display()).as_bytes()));
    assert_eq!(
        scan_tree.matches(" FOUND\0").count(),
        1,
        "SCAN stops at the first: {scan_tree:?}"
    );
    let cont_tree = text(&d.talk(format!("zCONTSCAN {}\0", top.display()).as_bytes()));
    assert_eq!(cont_tree.matches(" FOUND\0").count(), 2, "{cont_tree:?}");
    let missing = top.join("missing");
    assert_eq!(
        text(&d.talk(format!("zSCAN {}\0", missing.display()).as_bytes())),
        format!(
            "{}: File path check failure: No such file or directory. ERROR\0",
            missing.display()
        )
    );
    let empty = top.join("empty");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(
        text(&d.talk(format!("zSCAN {}\0", empty.display()).as_bytes())),
        format!("{0}: Empty file\0{0}: OK\0", empty.display())
    );
    // INSTREAM in chunks, clean and infected, z and n framing.
    assert_eq!(
        d.talk(&instream(b"zINSTREAM\0", &eicar(), 7)),
        format!("stream: {EICAR_NAME} FOUND\0").as_bytes()
    );
    assert_eq!(
        d.talk(&instream(b"nINSTREAM\n", b"all good", 3)),
        b"stream: OK\n"
    );
    assert_eq!(
        d.talk(&instream(b"INSTREAM\n", b"all good", 3)),
        b"UNKNOWN COMMAND\n"
    );
    // FILDES with nothing passed.
    assert_eq!(
        d.talk(b"zFILDES\0x"),
        b"No file descriptor received. ERROR\0"
    );
    // RELOAD answers at once; the reload runs behind it.
    assert_eq!(d.talk(b"zRELOAD\0"), b"RELOADING\0");
}

#[test]
fn fildes_scans_the_passed_descriptor() {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg};
    let d = Daemon::start("", &[]);
    let top = tree(&d);
    let send_fd = |file: &std::fs::File, cmd: &[u8]| {
        let mut s = d.connect();
        s.write_all(cmd).unwrap();
        let fds = [std::os::fd::AsFd::as_fd(file)];
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut anc = SendAncillaryBuffer::new(&mut space);
        assert!(anc.push(SendAncillaryMessage::ScmRights(&fds)));
        sendmsg(
            &s,
            &[std::io::IoSlice::new(b"\0")],
            &mut anc,
            SendFlags::empty(),
        )
        .unwrap();
        text(&read_all(&mut s))
    };
    let bad = std::fs::File::open(top.join("sub/eicar.com")).unwrap();
    let r = send_fd(&bad, b"zFILDES\0");
    assert!(
        r.starts_with("fd[") && r.ends_with(&format!("]: {EICAR_NAME} FOUND\0")),
        "{r:?}"
    );
    let clean = std::fs::File::open(top.join("clean.txt")).unwrap();
    let r = send_fd(&clean, b"nFILDES\n");
    assert!(r.starts_with("fd[") && r.ends_with("]: OK\n"), "{r:?}");
    let dir = std::fs::File::open(&top).unwrap();
    let r = send_fd(&dir, b"zFILDES\0");
    assert!(r.ends_with("]: Not a regular file ERROR\0"), "{r:?}");
    let r = send_fd(&clean, b"zPING\0");
    assert_eq!(
        r,
        "PROTOCOL ERROR: ancillary data sent without FILDES. ERROR\0"
    );
    // The threat list names the file the descriptor was opened as.
    let o = run(ward()
        .env("WARD_HOME", d.dir.path().join("home"))
        .args(["threats", "list", "--json"]));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list[0]["path"], top.join("sub/eicar.com").to_str().unwrap());
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list:#}");
}

#[test]
fn detections_go_to_the_threat_list_with_the_client() {
    let d = Daemon::start("", &[]);
    let top = tree(&d);
    let bad = top.join("sub/eicar.com");
    let r = d.talk(format!("zSCAN {}\0", bad.display()).as_bytes());
    assert!(text(&r).ends_with(" FOUND\0"), "{}", text(&r));
    let mut s = d.connect();
    s.write_all(&instream(b"zINSTREAM\0", &eicar(), 7)).unwrap();
    assert_eq!(
        text(&read_all(&mut s)),
        format!("stream: {EICAR_NAME} FOUND\0")
    );
    // A clean file is not recorded.
    let clean = top.join("clean.txt");
    assert_eq!(
        text(&d.talk(format!("zSCAN {}\0", clean.display()).as_bytes())),
        format!("{}: OK\0", clean.display())
    );
    let o = run(ward()
        .env("WARD_HOME", d.dir.path().join("home"))
        .args(["threats", "list", "--json"]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:#?}");
    let me = format!("pid {}", std::process::id());
    for (t, path) in list.iter().zip([bad.to_str().unwrap(), "stream"]) {
        assert_eq!(t["path"], path, "{t:#}");
        assert_eq!(t["signatures"][0], EICAR_NAME, "{t:#}");
        assert_eq!(t["action"], "report", "{t:#}");
        assert_eq!(t["result"], "reported", "{t:#}");
        assert!(t["client"].as_str().unwrap().contains(&me), "{t:#}");
    }
    let events = std::fs::read_to_string(d.dir.path().join("home/events.jsonl")).unwrap();
    assert_eq!(events.matches("\"kind\":\"threat\"").count(), 2, "{events}");
}

#[test]
fn idsession_answers_pipelined_requests_by_number() {
    let d = Daemon::start("", &[]);
    let top = tree(&d);
    let f = top.join("sub/eicar.com");
    let mut req = Vec::new();
    req.extend_from_slice(b"zIDSESSION\0zPING\0");
    req.extend_from_slice(format!("zSCAN {}\0", f.display()).as_bytes());
    req.extend_from_slice(&instream(b"zINSTREAM\0", b"clean bytes", 4));
    req.extend_from_slice(b"zVERSION\0nPING\nzEND\0");
    let out = text(&d.talk(&req));
    let mut replies: Vec<&str> = out.split(['\0', '\n']).filter(|r| !r.is_empty()).collect();
    replies.sort();
    assert_eq!(replies.len(), 5, "{out:?}");
    assert_eq!(replies[0], "1: PONG");
    assert_eq!(
        replies[1],
        format!("2: {}: {EICAR_NAME} FOUND", f.display())
    );
    assert_eq!(replies[2], "3: stream: OK");
    assert!(replies[3].starts_with("4: ClamAV "), "{out:?}");
    assert_eq!(replies[4], "5: PONG");
    assert!(
        out.contains("5: PONG\n"),
        "n-framed request, n-framed reply: {out:?}"
    );
    // Commands a session does not take, and old-style ones.
    let out = d.talk(b"zIDSESSION\0zPING\0zCONTSCAN /\0zPING\0");
    assert_eq!(
        text(&out),
        "1: PONG\x002: Command invalid inside IDSESSION. ERROR\0"
    );
    let out = d.talk(b"zIDSESSION\0PING\n");
    assert_eq!(
        text(&out),
        "1: Only nCMDS\\n and zCMDS\\0 are accepted inside IDSESSION. ERROR\n"
    );
}

#[test]
fn hostile_clients() {
    let d = Daemon::start(
        "CommandReadTimeout 1\nReadTimeout 2\nIdleTimeout 2\nMaxThreads 2\nMaxQueue 3\nStreamMaxLength 1M\n",
        &[],
    );
    // A command trickling in a byte at a time still has to arrive in time.
    let mut slow = d.connect();
    let start = Instant::now();
    let mut got = Vec::new();
    for b in b"zPIN".iter().cycle() {
        if slow.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if start.elapsed() > Duration::from_secs(5) {
            break;
        }
        slow.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        if let Ok(n) = slow.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
            if n == 0 || got.ends_with(b"\n") {
                break;
            }
        }
        slow.set_nonblocking(false).unwrap();
    }
    assert_eq!(text(&got), "COMMAND READ TIMED OUT\n");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    // Many idle connections: the idlest make room, PING is answered.
    let idle: Vec<UnixStream> = (0..40).map(|_| d.connect()).collect();
    assert_eq!(d.talk(b"zPING\0"), b"PONG\0");
    drop(idle);
    // An endless stream is cut at StreamMaxLength with clamd's error.
    let mut s = d.connect();
    s.write_all(b"zINSTREAM\0").unwrap();
    let chunk = vec![b'a'; 64 << 10];
    let mut sent = 0usize;
    while sent < (4 << 20) {
        let mut c = (chunk.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(&chunk);
        if s.write_all(&c).is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert_eq!(read_all(&mut s), b"INSTREAM size limit exceeded. ERROR\0");
    // A chunk announced larger than the limit is refused before its data.
    let mut s = d.connect();
    s.write_all(b"nINSTREAM\n\x7f\xff\xff\xff").unwrap();
    assert_eq!(read_all(&mut s), b"INSTREAM size limit exceeded. ERROR\n");
    // A stream that stops arriving times out.
    let mut s = d.connect();
    s.write_all(b"zINSTREAM\0\0\0\0\x10abc").unwrap();
    let start = Instant::now();
    assert_eq!(read_all(&mut s), b"");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(d.talk(b"zPING\0"), b"PONG\0");
}

#[test]
fn a_path_scan_stops_when_its_client_goes() {
    let d = Daemon::start("MaxThreads 1\n", &[]);
    let top = d.path("many");
    std::fs::create_dir(&top).unwrap();
    let files = 4000;
    for i in 0..files {
        std::fs::write(top.join(format!("f{i}")), vec![b'x'; 4096]).unwrap();
    }
    let mut s = d.connect();
    s.write_all(format!("zCONTSCAN {}\0", top.display()).as_bytes())
        .unwrap();
    drop(s);
    let start = Instant::now();
    while !d.log().contains("client went away") {
        assert!(start.elapsed() < Duration::from_secs(30), "{}", d.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = d.log();
    let line = log
        .lines()
        .find(|l| l.contains("client went away"))
        .unwrap();
    let n: u64 = line
        .split("after ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(n < files, "{line}");
    assert_eq!(d.talk(b"zPING\0"), b"PONG\0");
}

#[test]
fn a_client_of_another_user_scans_only_what_it_could_read() {
    require("setpriv", "--version", "util-linux");
    assert_eq!(
        rustix::process::geteuid().as_raw(),
        0,
        "this test runs as root (CI does)"
    );
    let d = Daemon::start("", &[]);
    let top = tree(&d);
    let secret = d.path("secret");
    std::fs::create_dir(&secret).unwrap();
    std::fs::write(secret.join("eicar.com"), eicar()).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o700)).unwrap();
    let unreadable = top.join("private.com");
    std::fs::write(&unreadable, eicar()).unwrap();
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o600)).unwrap();
    let as_nobody = |cmd: String| {
        let o = run(Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c"])
            .arg(format!(
                "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect({:?})\ns.sendall({cmd:?}.encode())\n\
                 out=b''\nwhile True:\n    b=s.recv(4096)\n    if not b: break\n    out+=b\nsys.stdout.write(out.decode())",
                d.sock.to_str().unwrap()
            )));
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let inside = secret.join("eicar.com");
    assert_eq!(
        as_nobody(format!("nSCAN {}\n", secret.display())),
        format!("{}: Access denied. ERROR\n", secret.display())
    );
    let r = as_nobody(format!("nSCAN {}\n", inside.display()));
    assert_eq!(
        r,
        format!(
            "{}: File path check failure: Permission denied. ERROR\n",
            inside.display()
        )
    );
    let r = as_nobody(format!("nCONTSCAN {}\n", top.display()));
    assert!(
        r.contains(&format!("{}: Access denied. ERROR\n", unreadable.display())),
        "{r}"
    );
    assert!(
        r.contains(&format!(
            "{}: {EICAR_NAME} FOUND\n",
            top.join("sub/eicar.com").display()
        )),
        "{r}"
    );
    let r = as_nobody(format!("nMULTISCAN {}\n", top.display()));
    assert!(
        r.contains(&format!("{}: Access denied. ERROR\n", unreadable.display())),
        "{r}"
    );
    // Root's own client reads everything.
    let r = text(&d.talk(format!("nSCAN {}\n", inside.display()).as_bytes()));
    assert_eq!(r, format!("{}: {EICAR_NAME} FOUND\n", inside.display()));
}

#[test]
fn config_warnings_flags_and_reload() {
    let sigs_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        sigs_dir.path().join("a.ndb"),
        "Test.Before:0:*:6265666f7265\n",
    )
    .unwrap();
    let d = Daemon::start(
        &format!(
            "StreamMaxLength 10\nLogVerbose yes\nNoSuchOption 3\nDatabaseDirectory {}\n",
            sigs_dir.path().display()
        ),
        &["--stream-max-length", "1K"],
    );
    let log = d.wait_log("listening on");
    assert!(
        log.contains("clamd.conf: clamd options ward does not use, ignored: LogVerbose (line 4)"),
        "{log}"
    );
    assert!(
        log.contains("clamd.conf:5: unknown option NoSuchOption; ignored"),
        "{log}"
    );
    // The flag's 1K, not the file's 10 bytes.
    assert_eq!(
        d.talk(&instream(b"zINSTREAM\0", b"well before", 100)),
        b"stream: Test.Before FOUND\0"
    );
    assert_eq!(
        d.talk(&instream(b"zINSTREAM\0", &[b'x'; 2000], 100)),
        b"INSTREAM size limit exceeded. ERROR\0"
    );
    // SIGHUP reloads the DatabaseDirectory; then RELOAD does.
    std::fs::write(sigs_dir.path().join("b.ndb"), "Test.After:0:*:6166746572\n").unwrap();
    d.signal(libc::SIGHUP);
    let wait_for = |want: &[u8]| {
        let start = Instant::now();
        while d.talk(&instream(b"zINSTREAM\0", b"after", 100)) != want {
            assert!(start.elapsed() < Duration::from_secs(20), "{}", d.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for(b"stream: Test.After FOUND\0");
    assert!(text(&d.talk(b"zVERSION\0")).contains("-ward/2/"));
    std::fs::remove_file(sigs_dir.path().join("b.ndb")).unwrap();
    assert_eq!(d.talk(b"zRELOAD\0"), b"RELOADING\0");
    wait_for(b"stream: OK\0");
    // A bad value is an error naming file and line.
    let bad = d.path("bad.conf");
    std::fs::write(&bad, "\n\nMaxThreads lots\n").unwrap();
    let o = run(ward().args(["daemon", "--config-file"]).arg(&bad));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.conf:3: MaxThreads: 'lots' is not a number"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn shutdown_and_sigterm_stop_the_daemon() {
    let d = Daemon::start("", &[]);
    let sock = d.sock.clone();
    assert_eq!(d.talk(b"zSHUTDOWN\0"), b"");
    let (status, log) = d.wait_exit();
    assert!(status.success(), "{log}");
    assert!(!sock.exists(), "socket removed at exit");
    let d = Daemon::start("EnableShutdownCommand no\n", &[]);
    assert_eq!(d.talk(b"zSHUTDOWN\0"), b"COMMAND UNAVAILABLE\0");
    // SIGTERM with a session open: its scans answer, then the daemon stops.
    let mut s = d.connect();
    s.write_all(b"zIDSESSION\0zPING\0").unwrap();
    let mut buf = [0u8; 8];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"1: PONG\0");
    d.signal(libc::SIGTERM);
    let (status, log) = d.wait_exit();
    assert!(status.success(), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn takes_its_sockets_from_systemd() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("activated.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let fd = listener.as_raw_fd();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" daemon --no-config")
        .arg(env!("CARGO_BIN_EXE_ward"))
        .env(crate::util::NO_CLAMAV_DB.0, crate::util::NO_CLAMAV_DB.1)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: dup2 is async-signal-safe; it puts the listening socket at
    // descriptor 3 (without close-on-exec), as systemd passes it.
    unsafe {
        cmd.pre_exec(move || {
            let moved = match fd {
                3 => libc::fcntl(3, libc::F_SETFD, 0),
                _ => libc::dup2(fd, 3),
            };
            match moved {
                -1 => Err(std::io::Error::last_os_error()),
                _ => Ok(()),
            }
        });
    }
    let mut child = cmd.spawn().unwrap();
    let log = Drain::new(child.stderr.take().unwrap());
    drop(listener);
    let start = Instant::now();
    let pong = loop {
        let mut s = UnixStream::connect(&sock).unwrap_or_else(|e| panic!("{e}: {}", log.text()));
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"nPING\n").unwrap();
        let got = read_all(&mut s);
        if !got.is_empty() || start.elapsed() > Duration::from_secs(20) {
            break got;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let listening = format!("listening on {}", sock.display());
    while !log.text().contains(&listening) && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(pong, b"PONG\n", "{}", log.text());
    assert!(log.text().contains(&listening), "{}", log.text());
}

/// Unmounts a test's own mount when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("--lazy").arg(&self.0).status();
    }
}

#[test]
fn exclusions_links_and_other_filesystems_answer_as_clamd() {
    let d = Daemon::start(
        "ExcludePath /skipme\nCrossFilesystems no\nFollowFileSymlinks no\n",
        &[],
    );
    let top = tree(&d);
    let skipped = top.join("skipme");
    std::fs::create_dir(&skipped).unwrap();
    std::fs::write(skipped.join("x.com"), eicar()).unwrap();
    let link = top.join("link.com");
    std::os::unix::fs::symlink(top.join("sub/eicar.com"), &link).unwrap();
    let mnt = top.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let o = run(Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&mnt));
    assert!(
        o.status.success(),
        "mount (this test runs as root): {}",
        stderr(&o)
    );
    let _mounted = Mounted(mnt.clone());
    std::fs::write(mnt.join("y.com"), eicar()).unwrap();
    let out = text(&d.talk(format!("nCONTSCAN {}\n", top.display()).as_bytes()));
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    let mut want = vec![
        format!("{}: Excluded", skipped.display()),
        format!("{}: Excluded (another filesystem)", mnt.display()),
        format!(
            "{}: {EICAR_NAME} FOUND",
            top.join("sub/eicar.com").display()
        ),
        format!("{}: {EICAR_NAME} FOUND", top.join("sub/also.com").display()),
    ];
    want.sort();
    assert_eq!(lines, want, "the link is left out, as clamd does: {out}");
    // A link named as the path is followed and answered under the real
    // path (clamd answers with realpath() too); the detection is logged.
    let real = top.join("sub/eicar.com");
    let r = text(&d.talk(format!("zSCAN {}\0", link.display()).as_bytes()));
    assert_eq!(r, format!("{}: {EICAR_NAME} FOUND\0", real.display()));
    d.wait_log(&format!(
        "{}: {EICAR_NAME} FOUND (for uid 0 pid ",
        real.display()
    ));
}

/// The units in contrib/ are ones systemd accepts, with this build's binary
/// in their `ExecStart`, and the services stay fenced in: systemd's own
/// offline review rates their exposure "OK" (below 4.0 of 10; a service with
/// no hardening rates 9.6).
#[test]
fn systemd_units_verify_and_are_hardened() {
    require("systemd-analyze", "--version", "systemd");
    let dir = tempfile::tempdir().unwrap();
    let contrib = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib");
    let units = [
        "ward-daemon.socket",
        "ward-daemon.service",
        "ward-watch.service",
    ];
    for unit in units {
        let text = std::fs::read_to_string(contrib.join(unit)).unwrap();
        assert!(
            !unit.ends_with(".service") || text.contains("ExecStart=/usr/local/bin/ward "),
            "{unit}"
        );
        let text = text.replace("/usr/local/bin/ward", env!("CARGO_BIN_EXE_ward"));
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    let paths: Vec<PathBuf> = units.iter().map(|u| dir.path().join(u)).collect();
    // A misspelt key is only a warning to systemd (status 0): any output fails.
    let o = run(Command::new("systemd-analyze").arg("verify").args(&paths));
    let said = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(o.status.success() && said.trim().is_empty(), "{said}");
    for unit in &paths[1..] {
        let o = run(Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(unit));
        let out = text(&o.stdout);
        let level: f64 = out
            .split("Overall exposure level for ")
            .nth(1)
            .and_then(|rest| rest.split(": ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in: {out}{}", text(&o.stderr)));
        assert!(level < 4.0, "{}: exposure {level}\n{out}", unit.display());
    }
}
