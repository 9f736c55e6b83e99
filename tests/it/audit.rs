//! `ward audit`, `ward watch --audit` and `ward audit history` through the
//! binary, on a fake root of real files: compliant, then broken one rule at a
//! time (modes, a missing file, sshd includes, accounts, kernel settings,
//! policy rules of every kind), fixed with `--fix`, and watched for drift
//! with real inotify.
//!
//! As root the tree is owned by root:root (root:shadow for the shadow files)
//! as on a real system. As another user the tree's own `/etc/passwd` and
//! `/etc/group` name that user `root`: ownership is judged by the audited
//! system's names, so every rule but the ownership fix means the same.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Drain, eicar, run, stderr, stdout, ward};

/// How long a test waits for a line before calling the watcher hung.
const WAIT: Duration = Duration::from_secs(15);
/// How soon a drift line must follow the change that causes it.
/// The shadow group's id in the fake root (as on Debian).
const SHADOW_GID: u32 = 42;

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// A fake root that meets every built-in rule, and a home for ward.
struct Fake {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
}

impl Fake {
    fn new() -> Fake {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap().join("root");
        let home = tmp.path().join("home");
        let f = Fake {
            _tmp: tmp,
            root,
            home,
        };
        f.build();
        f
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    fn write(&self, rel: &str, text: &str, mode: u32) {
        let p = self.p(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        self.chmod(rel, mode);
    }

    fn dir(&self, rel: &str, mode: u32) {
        fs::create_dir_all(self.p(rel)).unwrap();
        self.chmod(rel, mode);
    }

    fn chmod(&self, rel: &str, mode: u32) {
        fs::set_permissions(self.p(rel), fs::Permissions::from_mode(mode)).unwrap();
    }

    fn mode(&self, rel: &str) -> u32 {
        fs::metadata(self.p(rel)).unwrap().permissions().mode() & 0o7777
    }

    fn build(&self) {
        let (uid, gid) = match euid() {
            0 => (0, 0),
            u => (u, rustix::process::getegid().as_raw()),
        };
        let passwd = format!(
            "root:x:{uid}:{gid}:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n\
             alice:x:3000:3000::/home/alice:/bin/bash\n"
        );
        let group = match uid {
            0 => format!("root:x:0:\ndaemon:x:1:\nshadow:x:{SHADOW_GID}:\nalice:x:3000:\n"),
            _ => format!("root:x:{gid}:\ndaemon:x:1:\nalice:x:3000:\n"),
        };
        let shadow = "root:$y$j9T$abc:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n\
                      alice:!:19000:0:99999:7:::\n";
        for (name, text) in [("passwd", &passwd), ("group", &group)] {
            self.write(&format!("etc/{name}"), text, 0o644);
            self.write(&format!("etc/{name}-"), text, 0o644);
        }
        for name in ["shadow", "gshadow"] {
            for f in [format!("etc/{name}"), format!("etc/{name}-")] {
                self.write(&f, shadow, 0o640);
                if uid == 0 {
                    std::os::unix::fs::chown(self.p(&f), Some(0), Some(SHADOW_GID)).unwrap();
                }
            }
        }
        self.write(
            "etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nMaxAuthTries 4\n\
             ClientAliveInterval 300\n",
            0o600,
        );
        self.dir("etc/ssh/sshd_config.d", 0o755);
        self.write("etc/crontab", "# m h dom mon dow user command\n", 0o600);
        for d in ["d", "hourly", "daily", "weekly", "monthly"] {
            self.dir(&format!("etc/cron.{d}"), 0o700);
        }
        for f in ["hosts.allow", "hosts.deny", "issue", "issue.net", "motd"] {
            self.write(&format!("etc/{f}"), "\n", 0o644);
        }
        for (k, v) in [
            ("net/ipv4/ip_forward", "0"),
            ("net/ipv4/conf/all/accept_redirects", "0"),
            ("net/ipv4/conf/default/accept_redirects", "0"),
            ("net/ipv4/conf/all/send_redirects", "0"),
            ("net/ipv4/conf/default/send_redirects", "0"),
            ("net/ipv4/conf/all/accept_source_route", "0"),
            ("net/ipv4/conf/default/accept_source_route", "0"),
            ("kernel/randomize_va_space", "2"),
        ] {
            self.write(&format!("proc/sys/{k}"), &format!("{v}\n"), 0o644);
        }
        self.write("usr/bin/tool", "#!/bin/sh\n", 0o755);
        self.dir("etc", 0o755);
    }

    fn audit(&self, args: &[&str]) -> Output {
        run(ward()
            .arg("--home")
            .arg(&self.home)
            .arg("audit")
            .arg("--root")
            .arg(&self.root)
            .args(args))
    }

    /// `ward audit --json`: the rule objects by id, and the summary.
    fn audit_json(&self, args: &[&str]) -> (Option<i32>, Vec<Value>, Value) {
        let o = self.audit(&[&["--json"], args].concat());
        let mut lines: Vec<Value> = stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let summary = lines.pop().expect("a summary line");
        assert_eq!(summary["type"], "summary", "{summary}");
        assert!(lines.iter().all(|l| l["type"] == "rule"));
        (o.status.code(), lines, summary)
    }
}

fn rule<'a>(rules: &'a [Value], id: &str) -> &'a Value {
    rules
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no rule {id}"))
}

/// The text table's line for a rule.
fn line<'a>(out: &'a str, id: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .unwrap_or_else(|| panic!("no line for {id} in:\n{out}"))
}

#[test]
fn a_compliant_tree_exits_0_and_records_the_result() {
    let f = Fake::new();
    let o = f.audit(&[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(line(&out, "perms-passwd").contains("COMPLIANT"), "{out}");
    assert!(line(&out, "sshd-permit-root-login").contains("PermitRootLogin no"));
    assert!(out.contains(" 0 non-compliant, "), "{out}");
    let (code, rules, summary) = f.audit_json(&[]);
    assert_eq!(code, Some(0));
    assert!(
        rules
            .iter()
            .all(|r| r["status"] == "compliant" || r["status"] == "not_applicable")
    );
    assert_eq!(summary["non_compliant"], 0);
    assert_eq!(summary["baseline"], serde_json::json!(["linux-baseline"]));
    assert!(
        rule(&rules, "perms-shadow")["azure"]
            .as_str()
            .unwrap()
            .contains("0400")
    );
    let last: Value =
        serde_json::from_slice(&fs::read(f.home.join("audit-last.json")).unwrap()).unwrap();
    assert_eq!(last["non_compliant"], 0);
    assert_eq!(last["compliant"], summary["compliant"]);
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn chmod_666_on_passwd_is_non_compliant_with_the_reason() {
    let f = Fake::new();
    f.chmod("etc/passwd", 0o666);
    let o = f.audit(&[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let l = line(&out, "perms-passwd");
    assert!(l.contains("NON-COMPLIANT"), "{l}");
    assert!(
        l.contains("expected at most 0644 root:root, found 0666 root:root"),
        "{l}"
    );
    let (code, rules, summary) = f.audit_json(&[]);
    assert_eq!(code, Some(1));
    assert_eq!(rule(&rules, "perms-passwd")["status"], "non_compliant");
    assert_eq!(rule(&rules, "perms-group")["status"], "compliant");
    // World-writable, too.
    assert_eq!(rule(&rules, "files-world-writable")["found"], "/etc/passwd");
    assert_eq!(summary["non_compliant"], 2);
    // More restrictive passes (a decision documented per rule).
    f.chmod("etc/passwd", 0o600);
    assert_eq!(f.audit(&[]).status.code(), Some(0));
}

#[test]
fn a_missing_file_is_a_finding_not_a_crash() {
    let f = Fake::new();
    fs::remove_file(f.p("etc/shadow")).unwrap();
    fs::remove_file(f.p("etc/issue.net")).unwrap();
    fs::remove_dir_all(f.p("etc/ssh")).unwrap();
    let (code, rules, _) = f.audit_json(&[]);
    assert_eq!(code, Some(1));
    let shadow = rule(&rules, "perms-shadow");
    assert_eq!(shadow["status"], "non_compliant");
    assert_eq!(shadow["found"], "missing");
    assert_eq!(rule(&rules, "perms-issue-net")["status"], "not_applicable");
    assert_eq!(
        rule(&rules, "sshd-permit-root-login")["status"],
        "not_applicable"
    );
}

#[test]
fn fix_restores_modes_and_ownership_and_nothing_else() {
    let f = Fake::new();
    f.chmod("etc/passwd", 0o666);
    f.chmod("etc/cron.d", 0o755);
    f.chmod("etc/shadow", 0o644);
    f.write(
        "etc/ssh/sshd_config.d/50-bad.conf",
        "PermitRootLogin yes\n",
        0o600,
    );
    if euid() == 0 {
        std::os::unix::fs::chown(f.p("etc/group"), Some(3000), Some(3000)).unwrap();
    }
    let o = f.audit(&["--fix"]);
    let out = stdout(&o);
    assert!(
        out.contains("fixed: /etc/passwd: mode 0666 -> 0644"),
        "{out}"
    );
    assert!(
        out.contains("fixed: /etc/cron.d: mode 0755 -> 0700"),
        "{out}"
    );
    assert!(
        out.contains("fixed: /etc/shadow: mode 0644 -> 0640"),
        "{out}"
    );
    assert_eq!(
        (
            f.mode("etc/passwd"),
            f.mode("etc/cron.d"),
            f.mode("etc/shadow")
        ),
        (0o644, 0o700, 0o640)
    );
    if euid() == 0 {
        assert!(
            out.contains("fixed: /etc/group: owner alice:alice -> root:root"),
            "{out}"
        );
        let m = fs::metadata(f.p("etc/group")).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((m.uid(), m.gid()), (0, 0));
    }
    // The sshd rule is not a mode: left alone, still reported.
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(line(&out, "sshd-permit-root-login").contains("NON-COMPLIANT"));
    assert!(line(&out, "perms-passwd").contains(" COMPLIANT"));
    assert_eq!(
        fs::read_to_string(f.p("etc/ssh/sshd_config.d/50-bad.conf")).unwrap(),
        "PermitRootLogin yes\n"
    );
    // Never by default.
    f.chmod("etc/passwd", 0o666);
    assert_eq!(f.audit(&[]).status.code(), Some(1));
    assert_eq!(f.mode("etc/passwd"), 0o666);
}

#[test]
fn fix_evaluates_every_rule_again() {
    // A world-writable /etc/passwd fails its own rule and the tree walk:
    // after the fix neither may be reported, on screen or in the record.
    let f = Fake::new();
    f.chmod("etc/passwd", 0o666);
    let o = f.audit(&[]);
    assert!(line(&stdout(&o), "files-world-writable").contains("NON-COMPLIANT"));
    let o = f.audit(&["--fix"]);
    let out = stdout(&o);
    assert!(
        out.contains("fixed: /etc/passwd: mode 0666 -> 0644"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        line(&out, "files-world-writable").contains(" COMPLIANT"),
        "{out}"
    );
    assert!(out.contains(" 0 non-compliant, "), "{out}");
    let last: Value =
        serde_json::from_slice(&fs::read(f.home.join("audit-last.json")).unwrap()).unwrap();
    assert_eq!(last["non_compliant"], 0, "{last}");
    f.chmod("etc/passwd", 0o666);
    let (code, rules, summary) = f.audit_json(&["--fix"]);
    assert_eq!(code, Some(0));
    assert_eq!(rule(&rules, "files-world-writable")["status"], "compliant");
    assert_eq!(
        rule(&rules, "perms-passwd")["fixed"][0],
        "/etc/passwd: mode 0666 -> 0644"
    );
    assert_eq!(summary["non_compliant"], 0);
}

#[test]
fn fix_leaves_a_file_with_a_hard_link_outside_the_root_alone() {
    let f = Fake::new();
    let outside = f.root.parent().unwrap().join("outside");
    fs::write(&outside, fs::read(f.p("etc/passwd")).unwrap()).unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o666)).unwrap();
    fs::remove_file(f.p("etc/passwd")).unwrap();
    fs::hard_link(&outside, f.p("etc/passwd")).unwrap();
    let o = f.audit(&["--fix"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        stderr(&o).contains("perms-passwd: not fixed: /etc/passwd: it has more than one hard link"),
        "{}",
        stderr(&o)
    );
    assert!(!out.contains("fixed: /etc/passwd"), "{out}");
    assert!(
        line(&out, "perms-passwd").contains("NON-COMPLIANT"),
        "{out}"
    );
    let mode = fs::metadata(&outside).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o666);
}

#[test]
fn sshd_values_come_from_includes_first_and_skip_match_blocks() {
    let f = Fake::new();
    f.write(
        "etc/ssh/sshd_config.d/10-root.conf",
        "# local\npermitrootlogin=yes\n",
        0o600,
    );
    let mut main = fs::read_to_string(f.p("etc/ssh/sshd_config")).unwrap();
    main.push_str("Match User backup\n    MaxAuthTries 50\n");
    f.write("etc/ssh/sshd_config", &main, 0o600);
    let (code, rules, _) = f.audit_json(&[]);
    assert_eq!(code, Some(1));
    let root = rule(&rules, "sshd-permit-root-login");
    assert_eq!(root["status"], "non_compliant");
    let found = root["found"].as_str().unwrap();
    assert!(
        found.starts_with("PermitRootLogin yes (/etc/ssh/sshd_config.d/10-root.conf:2)"),
        "{found}"
    );
    assert!(found.contains("1 Match block(s) not evaluated"), "{found}");
    assert_eq!(rule(&rules, "sshd-max-auth-tries")["status"], "compliant");
    // Not set anywhere: OpenSSH's default, which fails this rule.
    f.write("etc/ssh/sshd_config.d/10-root.conf", "\n", 0o600);
    f.write(
        "etc/ssh/sshd_config",
        "PermitRootLogin no\nMaxAuthTries 3\n",
        0o600,
    );
    let (_, rules, _) = f.audit_json(&[]);
    let alive = rule(&rules, "sshd-client-alive-interval");
    assert_eq!(alive["status"], "non_compliant");
    assert_eq!(alive["found"], "ClientAliveInterval 0 (OpenSSH default)");
}

#[test]
fn accounts_and_kernel_settings() {
    let f = Fake::new();
    let mut passwd = fs::read_to_string(f.p("etc/passwd")).unwrap();
    passwd.push_str("toor:x:0:0::/root:/bin/sh\nbob:x:3000:3000::/:/bin/sh\n");
    f.write("etc/passwd", &passwd, 0o644);
    let mut shadow = fs::read_to_string(f.p("etc/shadow")).unwrap();
    shadow.push_str("bob::19000:0:99999:7:::\n");
    f.write("etc/shadow", &shadow, 0o640);
    f.write("proc/sys/net/ipv4/ip_forward", "1\n", 0o644);
    f.write("proc/sys/kernel/randomize_va_space", "1\n", 0o644);
    let (code, rules, _) = f.audit_json(&[]);
    assert_eq!(code, Some(1));
    let uid0 = rule(&rules, "accounts-uid0-root-only");
    assert_eq!(
        (uid0["status"].as_str(), uid0["found"].as_str()),
        (Some("non_compliant"), Some("toor"))
    );
    assert_eq!(rule(&rules, "accounts-empty-passwords")["found"], "bob");
    assert!(
        rule(&rules, "accounts-unique-uids")["found"]
            .as_str()
            .unwrap()
            .contains("3000 (alice, bob)")
    );
    let fwd = rule(&rules, "sysctl-ip-forward");
    assert_eq!(
        fwd["reason"],
        "expected net.ipv4.ip_forward=0, found net.ipv4.ip_forward=1"
    );
    assert_eq!(
        rule(&rules, "sysctl-randomize-va-space")["status"],
        "non_compliant"
    );
    // IPv6 settings absent from this tree are named, not failed.
    let redirects = rule(&rules, "sysctl-accept-redirects");
    assert_eq!(redirects["status"], "compliant");
    assert!(
        redirects["found"]
            .as_str()
            .unwrap()
            .contains("not present: net.ipv6.conf.all.accept_redirects")
    );
}

#[test]
fn world_writable_and_unowned_files_are_named() {
    let f = Fake::new();
    f.write("usr/lib/x/evil.sh", "echo\n", 0o777);
    f.dir("usr/tmp", 0o1777);
    let (_, rules, _) = f.audit_json(&[]);
    let ww = rule(&rules, "files-world-writable");
    assert_eq!(ww["status"], "non_compliant");
    assert_eq!(ww["found"], "/usr/lib/x/evil.sh");
    if euid() == 0 {
        std::os::unix::fs::chown(f.p("usr/bin/tool"), Some(4242), None).unwrap();
        let (_, rules, _) = f.audit_json(&[]);
        assert_eq!(rule(&rules, "files-unowned")["found"], "/usr/bin/tool");
    }
}

const POLICY: &str = r#"name = "web"
disable = ["perms-motd"]

[[rule]]
id = "app-conf-mode"
kind = "file"
path = "/etc/app/app.conf"
mode = "0640"
owner = "root"

[[rule]]
id = "no-rhosts"
kind = "file"
path = "/root/.rhosts"
present = false

[[rule]]
id = "app-debug-off"
kind = "config"
path = "/etc/app/app.conf"
key = "debug"
value = ["false", "off"]
severity = "high"

[[rule]]
id = "syncookies"
kind = "sysctl"
name = "net.ipv4.tcp_syncookies"
value = "1"

[[rule]]
id = "ssh-server"
kind = "package"
name = "openssh-server"

[[rule]]
id = "no-telnetd"
kind = "package"
name = "telnetd"
installed = false
"#;

#[test]
fn policy_rules_of_every_kind() {
    let f = Fake::new();
    f.write(
        "etc/app/app.conf",
        "# app\nname = shop\ndebug = false\n",
        0o640,
    );
    f.write("proc/sys/net/ipv4/tcp_syncookies", "1\n", 0o644);
    let dpkg = "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2\n\n\
                Package: telnetd\nStatus: deinstall ok config-files\nVersion: 0.17-44\n";
    f.write("var/lib/dpkg/status", dpkg, 0o644);
    f.write("tmp/web.toml", POLICY, 0o644);
    let policy = f.p("tmp/web.toml");
    let policy = policy.to_str().unwrap();
    f.chmod("etc/motd", 0o664); // disabled by the policy
    let (code, rules, summary) = f.audit_json(&["--policy", policy]);
    assert_eq!(code, Some(0), "{rules:#?}");
    assert_eq!(
        summary["baseline"],
        serde_json::json!(["linux-baseline", "web"])
    );
    assert!(rules.iter().all(|r| r["id"] != "perms-motd"));
    for id in [
        "app-conf-mode",
        "no-rhosts",
        "app-debug-off",
        "syncookies",
        "ssh-server",
        "no-telnetd",
    ] {
        assert_eq!(rule(&rules, id)["status"], "compliant", "{id}");
        assert_eq!(rule(&rules, id)["source"], "web");
    }
    // Break every one.
    f.write("etc/app/app.conf", "debug=true\n", 0o600);
    f.write("root/.rhosts", "+ +\n", 0o600);
    f.write("proc/sys/net/ipv4/tcp_syncookies", "0\n", 0o644);
    f.write(
        "var/lib/dpkg/status",
        &dpkg
            .replace("deinstall ok config-files", "install ok installed")
            .replacen("install ok installed", "deinstall ok config-files", 1),
        0o644,
    );
    let (code, rules, summary) = f.audit_json(&["--policy", policy]);
    assert_eq!(code, Some(1));
    assert_eq!(summary["non_compliant"], 6, "{rules:#?}");
    let reason = |id: &str| rule(&rules, id)["reason"].as_str().unwrap().to_owned();
    assert_eq!(
        reason("app-conf-mode"),
        "expected 0640 root:*, found 0600 root:root"
    );
    assert!(reason("no-rhosts").starts_with("expected absent, found present"));
    assert_eq!(
        reason("app-debug-off"),
        "expected debug false or off, found debug true (/etc/app/app.conf:1)"
    );
    assert_eq!(
        reason("syncookies"),
        "expected net.ipv4.tcp_syncookies=1, found net.ipv4.tcp_syncookies=0"
    );
    assert_eq!(
        reason("ssh-server"),
        "expected openssh-server installed, found openssh-server not installed"
    );
    assert_eq!(
        reason("no-telnetd"),
        "expected telnetd not installed, found telnetd installed"
    );
    assert_eq!(rule(&rules, "app-debug-off")["severity"], "high");
}

#[test]
fn a_malformed_policy_is_an_error_naming_file_line_and_column() {
    let f = Fake::new();
    let cases = [
        (
            "[[rule]]\nid = \"x\"\nkind = \"file\"\npath = \"/etc/x\"\nmax_mode = \"0x9\"\n",
            ":5:12: '0x9' is not an octal mode",
        ),
        (
            "[[rule]]\nid = \"x\"\nkind = \"file\"\npath = \"/etc/x\"\nmode = \"0644\n",
            ":5:13: invalid basic string",
        ),
        (
            "[[rule]]\nid = \"x\"\nkind = \"sysctl\"\nname = \"a.b\"\nvalue = \"1\"\nkey = \"k\"\n",
            ":6:7: 'key' does not apply to a sysctl rule",
        ),
        (
            "disable = [\"no-such-rule\"]\n",
            ":1:12: no rule 'no-such-rule' to disable",
        ),
        (
            "[[rule]]\nid = \"perms-passwd\"\nkind = \"package\"\nname = \"x\"\n",
            ":1:1: rule id 'perms-passwd' is already used",
        ),
        (
            "\n\n[[rule]]\nid = \"x\"\nkind = \"file\"\npath = \"relative\"\n",
            ":6:8: the path must be absolute",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let name = format!("tmp/p{i}.toml");
        f.write(&name, text, 0o644);
        let path = f.p(&name);
        let o = f.audit(&["--policy", path.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(
            err.contains(&format!("{}{want}", path.display())),
            "{text}\nwanted {want}\ngot {err}"
        );
        assert!(stdout(&o).is_empty());
    }
    let o = f.audit(&["--policy", "/nonexistent/p.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/p.toml: "),
        "{}",
        stderr(&o)
    );
}

/// A running `ward watch --audit`, killed on drop.
struct Watch {
    child: Child,
    err: Drain,
}

impl Watch {
    fn start(f: &Fake, extra: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
            .env(crate::util::NO_CLAMAV_DB.0, crate::util::NO_CLAMAV_DB.1)
            .arg("--home")
            .arg(&f.home)
            .args(["watch", "--audit", "--root"])
            .arg(&f.root)
            .args(extra)
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ward watch --audit");
        let err = Drain::new(child.stderr.take().unwrap());
        let w = Watch { child, err };
        w.wait_lines("auditing ", 1);
        w
    }

    fn wait_lines(&self, needle: &str, n: usize) {
        let start = Instant::now();
        loop {
            let log = self.err.text();
            if log.lines().filter(|l| l.contains(needle)).count() >= n {
                return;
            }
            assert!(
                start.elapsed() < WAIT,
                "no {n} lines with {needle:?} within {WAIT:?}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Watch {
    /// Wait for the `n`th drift line holding `needle` (how soon it comes is
    /// measured by `benches/audit.rs`, not here).
    fn drift_line(&self, needle: &str, n: usize) {
        self.wait_lines(needle, n);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn history(f: &Fake) -> Vec<Value> {
    let o = run(ward()
        .arg("--home")
        .arg(&f.home)
        .args(["audit", "history", "--json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn the_watcher_logs_drift_and_the_return_to_compliance() {
    let f = Fake::new();
    let w = Watch::start(&f, &[]);
    assert!(
        w.err.text().contains("(37 compliant, 0 non-compliant"),
        "{}",
        w.err.text()
    );
    let drift = "/etc/passwd: perms-passwd NON-COMPLIANT (was COMPLIANT); expected at most 0644 root:root, found 0666 root:root";
    f.chmod("etc/passwd", 0o666);
    w.drift_line(drift, 1);
    f.chmod("etc/passwd", 0o644);
    w.drift_line(
        "/etc/passwd: perms-passwd COMPLIANT (was NON-COMPLIANT); 0644 root:root",
        1,
    );
    // A file renamed over the watched one, as editors and dpkg do.
    f.write(
        "etc/passwd.new",
        &fs::read_to_string(f.p("etc/passwd")).unwrap(),
        0o666,
    );
    fs::rename(f.p("etc/passwd.new"), f.p("etc/passwd")).unwrap();
    w.drift_line(drift, 2);
    // A change of reason within one state is not an event.
    f.chmod("etc/passwd", 0o777);
    // A new sshd include, in a directory the rules found by a glob.
    f.write(
        "etc/ssh/sshd_config.d/99-x.conf",
        "PermitRootLogin yes\n",
        0o600,
    );
    w.drift_line("sshd-permit-root-login NON-COMPLIANT (was COMPLIANT); expected PermitRootLogin no, found PermitRootLogin yes (/etc/ssh/sshd_config.d/99-x.conf:1)", 1);
    // A kernel setting in the tree's /proc/sys.
    fs::write(f.p("proc/sys/net/ipv4/ip_forward"), "1\n").unwrap();
    w.drift_line("sysctl-ip-forward NON-COMPLIANT (was COMPLIANT)", 1);
    // A missing directory appearing later: cron.hourly, removed and made again.
    fs::remove_dir(f.p("etc/cron.hourly")).unwrap();
    w.drift_line("perms-cron-hourly N/A (was COMPLIANT)", 1);
    f.dir("etc/cron.hourly", 0o755);
    w.drift_line("perms-cron-hourly NON-COMPLIANT (was N/A)", 1);
    let events = history(&f);
    let ids: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["rule"].as_str().unwrap(), e["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("perms-passwd", "non_compliant"),
            ("perms-passwd", "compliant"),
            ("perms-passwd", "non_compliant"),
            ("sshd-permit-root-login", "non_compliant"),
            ("sysctl-ip-forward", "non_compliant"),
            ("perms-cron-hourly", "not_applicable"),
            ("perms-cron-hourly", "non_compliant"),
        ]
    );
    let e = &events[0];
    assert_eq!(
        (e["kind"].as_str(), e["previous"].as_str()),
        (Some("audit"), Some("compliant"))
    );
    assert_eq!(
        e["reason"],
        "expected at most 0644 root:root, found 0666 root:root"
    );
    assert_eq!(e["root"], f.root.to_str().unwrap());
    assert!(!e["host"].as_str().unwrap().is_empty());
    let o = run(ward().arg("--home").arg(&f.home).args(["audit", "history"]));
    let text = stdout(&o);
    assert!(
        text.lines().nth(1).unwrap().contains("perms-passwd"),
        "{text}"
    );
    assert!(text.contains("COMPLIANT -> NON-COMPLIANT"), "{text}");
}

#[test]
fn the_audit_runs_beside_the_malware_watch_in_one_process() {
    let f = Fake::new();
    let scan = f.root.parent().unwrap().join("upload");
    fs::create_dir(&scan).unwrap();
    let w = Watch::start(&f, &["--action", "report", scan.to_str().unwrap()]);
    w.wait_lines("watching 1 tree", 1);
    fs::write(scan.join("x.com"), eicar()).unwrap();
    w.wait_lines("x.com: Eicar-Test-Signature FOUND", 1);
    f.chmod("etc/group", 0o664);
    w.wait_lines("/etc/group: perms-group NON-COMPLIANT (was COMPLIANT)", 1);
}

#[test]
fn audit_options_of_watch_need_audit() {
    let o = run(ward().args(["watch", "--policy", "/x.toml", "/tmp"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--policy and --root need --audit"),
        "{}",
        stderr(&o)
    );
    let root = Path::new("/nonexistent-root");
    let tmp = tempfile::tempdir().unwrap();
    let o = run(ward()
        .arg("--home")
        .arg(tmp.path())
        .args(["audit", "--root"])
        .arg(root));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent-root: "), "{}", stderr(&o));
}

#[test]
fn kernel_settings_are_also_checked_on_the_period() {
    let f = Fake::new();
    // Written through a hard link outside the watched directory: no event
    // there, as for procfs, so only the periodic check can see it.
    let other = f.root.parent().unwrap().join("fwd");
    fs::remove_file(f.p("proc/sys/net/ipv4/ip_forward")).unwrap();
    fs::write(&other, "0\n").unwrap();
    fs::hard_link(&other, f.p("proc/sys/net/ipv4/ip_forward")).unwrap();
    let w = Watch::start(&f, &["--audit-interval", "1s"]);
    fs::write(&other, "1\n").unwrap();
    w.wait_lines(
        "net.ipv4.ip_forward: sysctl-ip-forward NON-COMPLIANT (was COMPLIANT)",
        1,
    );
}
#[test]
fn drift_is_seen_through_a_symlinked_directory_in_the_tree() {
    // /etc/ssh is a link to /opt/ssh inside the tree (absolute, so it would
    // lead elsewhere if followed outside it).
    let f = Fake::new();
    fs::create_dir_all(f.p("opt")).unwrap();
    fs::rename(f.p("etc/ssh"), f.p("opt/ssh")).unwrap();
    std::os::unix::fs::symlink(Path::new("/").join("opt/ssh"), f.p("etc/ssh")).unwrap();
    assert_eq!(
        f.audit(&[]).status.code(),
        Some(0),
        "the link is followed in the tree"
    );
    let w = Watch::start(&f, &[]);
    assert!(!w.err.text().contains("ward: error"), "{}", w.err.text());
    fs::set_permissions(
        f.p("opt/ssh/sshd_config"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    w.drift_line(
        "/etc/ssh/sshd_config: perms-sshd-config NON-COMPLIANT (was COMPLIANT)",
        1,
    );
    fs::write(
        f.p("opt/ssh/sshd_config.d/99-x.conf"),
        "PermitRootLogin yes\n",
    )
    .unwrap();
    w.drift_line("sshd-permit-root-login NON-COMPLIANT (was COMPLIANT)", 1);
}

fn health(f: &Fake) -> Value {
    let empty = f.root.parent().unwrap().join("no-clamav");
    fs::create_dir_all(&empty).unwrap();
    let o = run(ward()
        .arg("--home")
        .arg(&f.home)
        .args(["health", "--json", "--no-updates", "--clamav-dir"])
        .arg(&empty));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn watch_audit_alone_is_not_real_time_malware_protection() {
    let f = Fake::new();
    let w = Watch::start(&f, &[]);
    f.chmod("etc/group", 0o664);
    w.drift_line("/etc/group: perms-group NON-COMPLIANT (was COMPLIANT)", 1);
    let h = health(&f);
    assert_eq!(h["realtime"]["running"], false, "{h:#}");
    assert_eq!(h["realtime"]["pid"], Value::Null, "{h:#}");
    assert!(!f.home.join("watch.json").exists());
}
#[test]
fn health_names_the_tree_the_last_audit_was_of() {
    let f = Fake::new();
    f.chmod("etc/passwd", 0o666);
    assert_eq!(f.audit(&[]).status.code(), Some(1));
    let h = health(&f);
    assert_eq!(h["audit"]["root"], f.root.to_str().unwrap(), "{h:#}");
    assert_eq!(h["audit"]["non_compliant"], 2, "{h:#}");
    let empty = f.root.parent().unwrap().join("no-clamav");
    let o = run(ward()
        .arg("--home")
        .arg(&f.home)
        .args(["health", "--no-updates", "--clamav-dir"])
        .arg(&empty));
    let text = stdout(&o);
    let last = text
        .lines()
        .find(|l| l.starts_with("last audit"))
        .unwrap_or_else(|| panic!("no last audit line in:\n{text}"));
    assert!(
        last.contains(&format!(" of {}: ", f.root.display())) && last.contains("2 non-compliant"),
        "{text}"
    );
}
