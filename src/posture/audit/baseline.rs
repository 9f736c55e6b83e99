//! The built-in `linux-baseline`, rule by rule, each with how it differs from
//! Azure's Linux security baseline (Azure OSConfig `SecurityBaseline`,
//! `src/common/asb/Asb.c`) and why.
//!
//! The general choice: file modes are upper bounds ("at most 0644"), as in
//! the CIS benchmarks, OpenSCAP and Lynis, where Azure demands the exact mode.
//! Taking a permission away never weakens what the rule protects; a mode so
//! tight that it breaks something (`/etc/passwd` at 0600 stops non-root
//! programs from resolving user names) shows up as a fault, not a risk.

use super::accounts::AccountsCheck;
use super::files::{TreeCheck, TreeKind};
use super::perms::{FileCheck, Presence};
use super::sshd::SshdCheck;
use super::sysctl::SysctlCheck;
use super::{BASELINE, Check, Rule};
use crate::posture::finding::Severity;

const AT_MOST: &str = "Azure demands exactly this mode; ward accepts it or anything more \
                       restrictive, as CIS, OpenSCAP and Lynis do.";

fn rule(id: &str, severity: Severity, title: &str, check: Check) -> Rule {
    Rule {
        id: id.into(),
        title: title.into(),
        severity,
        rationale: String::new(),
        remediation: String::new(),
        azure: None,
        source: BASELINE.into(),
        check,
    }
}

impl Rule {
    fn why(mut self, rationale: &str, remediation: &str) -> Rule {
        self.rationale = rationale.into();
        self.remediation = remediation.into();
        self
    }

    fn azure(mut self, note: &str) -> Rule {
        self.azure = Some(note.into());
        self
    }
}

/// Every built-in rule, in the order they are shown.
pub(super) fn rules() -> Vec<Rule> {
    let mut v = file_rules();
    v.extend(sshd_rules());
    v.extend(account_rules());
    v.extend(kernel_rules());
    v.extend(tree_rules());
    v
}

fn file_rules() -> Vec<Rule> {
    let mut v = Vec::new();
    let plain = [
        ("perms-passwd", "/etc/passwd", Presence::Required, "0644"),
        (
            "perms-passwd-backup",
            "/etc/passwd-",
            Presence::Optional,
            "0644",
        ),
        ("perms-group", "/etc/group", Presence::Required, "0644"),
        (
            "perms-group-backup",
            "/etc/group-",
            Presence::Optional,
            "0644",
        ),
    ];
    for (id, path, presence, _) in plain {
        let mut r = rule(
            id,
            Severity::High,
            &format!("{path} is at most 0644 and owned by root:root"),
            Check::File(FileCheck::root_owned(path, 0o644, &["root"], presence)),
        )
        .why(
            "Anyone who can write the account database can give themselves root.",
            &format!("chown root:root {path} && chmod 0644 {path}"),
        )
        .azure(AT_MOST);
        if id == "perms-passwd-backup" {
            r = r.azure(
                "Azure's older documentation wanted 0600 for /etc/passwd-, its code now 0644 \
                 exactly; ward accepts 0644 or more restrictive.",
            );
        }
        v.push(r);
    }
    let secret = [
        ("perms-shadow", "/etc/shadow", Presence::Required),
        ("perms-shadow-backup", "/etc/shadow-", Presence::Optional),
        ("perms-gshadow", "/etc/gshadow", Presence::Required),
        ("perms-gshadow-backup", "/etc/gshadow-", Presence::Optional),
    ];
    for (id, path, presence) in secret {
        v.push(
            rule(
                id,
                Severity::High,
                &format!("{path} is at most 0640, owned by root, group shadow or root"),
                Check::File(FileCheck::root_owned(
                    path,
                    0o640,
                    &["shadow", "root"],
                    presence,
                )),
            )
            .why(
                "Password hashes readable by others can be cracked offline.",
                &format!("chown root:shadow {path} && chmod 0640 {path}"),
            )
            .azure(
                "Azure demands exactly 0400, which Debian's and Ubuntu's default (0640 \
                 root:shadow) fails; ward accepts at most 0640 with group shadow or root, \
                 because the shadow group is how unix_chkpwd and screen lockers check \
                 passwords without root, and group read grants nothing beyond that group.",
            ),
        );
    }
    v.push(
        rule(
            "perms-sshd-config",
            Severity::Medium,
            "/etc/ssh/sshd_config is at most 0600 and owned by root:root",
            Check::File(FileCheck::root_owned(
                "/etc/ssh/sshd_config",
                0o600,
                &["root"],
                Presence::Optional,
            )),
        )
        .why(
            "sshd's configuration reveals how to get in and must only be changed by root.",
            "chown root:root /etc/ssh/sshd_config && chmod 0600 /etc/ssh/sshd_config",
        )
        .azure(AT_MOST),
    );
    v.push(
        rule(
            "perms-crontab",
            Severity::Medium,
            "/etc/crontab is at most 0600 and owned by root:root",
            Check::File(FileCheck::root_owned(
                "/etc/crontab",
                0o600,
                &["root"],
                Presence::Optional,
            )),
        )
        .why(
            "Whoever can write the system crontab runs commands as root.",
            "chown root:root /etc/crontab && chmod 0600 /etc/crontab",
        )
        .azure(
            "Azure checks /etc/anacrontab (0600) rather than /etc/crontab; ward checks \
             /etc/crontab, as CIS does, at most 0600.",
        ),
    );
    for d in ["d", "hourly", "daily", "weekly", "monthly"] {
        let path = format!("/etc/cron.{d}");
        v.push(
            rule(
                &format!("perms-cron-{d}"),
                Severity::Medium,
                &format!("{path} is at most 0700 and owned by root:root"),
                Check::File(FileCheck::root_owned(
                    &path,
                    0o700,
                    &["root"],
                    Presence::Optional,
                )),
            )
            .why(
                "Jobs in the cron directories run as root; others should not even list them.",
                &format!("chown root:root {path} && chmod 0700 {path}"),
            )
            .azure(AT_MOST),
        );
    }
    for (id, path) in [
        ("perms-hosts-allow", "/etc/hosts.allow"),
        ("perms-hosts-deny", "/etc/hosts.deny"),
        ("perms-issue", "/etc/issue"),
        ("perms-issue-net", "/etc/issue.net"),
        ("perms-motd", "/etc/motd"),
    ] {
        v.push(
            rule(
                id,
                Severity::Low,
                &format!("{path} is at most 0644 and owned by root:root"),
                Check::File(FileCheck::root_owned(
                    path,
                    0o644,
                    &["root"],
                    Presence::Optional,
                )),
            )
            .why(
                "Access rules and login banners must only be changed by root.",
                &format!("chown root:root {path} && chmod 0644 {path}"),
            )
            .azure(AT_MOST),
        );
    }
    v
}

fn sshd_rules() -> Vec<Rule> {
    let fix = |key: &str, value: &str| {
        format!(
            "Set '{key} {value}' in /etc/ssh/sshd_config (before any Match block, or in a file \
             it includes), then reload sshd"
        )
    };
    vec![
        rule(
            "sshd-permit-root-login",
            Severity::High,
            "sshd refuses logins as root",
            Check::Sshd(SshdCheck::one_of(
                "PermitRootLogin",
                &["no"],
                "prohibit-password",
            )),
        )
        .why(
            "Logging in as an ordinary user first leaves a trail and an extra barrier.",
            &fix("PermitRootLogin", "no"),
        )
        .azure(
            "As Azure: only 'no' passes, so OpenSSH's default (prohibit-password, key-only \
             root logins) fails here too.",
        ),
        rule(
            "sshd-permit-empty-passwords",
            Severity::High,
            "sshd refuses accounts with empty passwords",
            Check::Sshd(SshdCheck::one_of("PermitEmptyPasswords", &["no"], "no")),
        )
        .why(
            "An account without a password must not be reachable from the network.",
            &fix("PermitEmptyPasswords", "no"),
        ),
        rule(
            "sshd-ignore-rhosts",
            Severity::Medium,
            "sshd ignores .rhosts and .shosts files",
            Check::Sshd(SshdCheck::one_of("IgnoreRhosts", &["yes"], "yes")),
        )
        .why(
            "Host-based trust files let one machine's compromise spread to the next.",
            &fix("IgnoreRhosts", "yes"),
        ),
        rule(
            "sshd-hostbased-authentication",
            Severity::Medium,
            "sshd refuses host-based authentication",
            Check::Sshd(SshdCheck::one_of("HostbasedAuthentication", &["no"], "no")),
        )
        .why(
            "Trusting a client host for its users' identity is as weak as that host.",
            &fix("HostbasedAuthentication", "no"),
        ),
        rule(
            "sshd-max-auth-tries",
            Severity::Medium,
            "sshd allows at most 6 authentication attempts per connection",
            Check::Sshd(SshdCheck::range("MaxAuthTries", 1, 6, "6")),
        )
        .why(
            "Few attempts per connection slow down password guessing.",
            &fix("MaxAuthTries", "4"),
        )
        .azure("The same bound as Azure (at most 6); CIS asks for 4 or fewer."),
        rule(
            "sshd-client-alive-interval",
            Severity::Low,
            "sshd checks idle sessions (ClientAliveInterval between 1 and 300 s)",
            Check::Sshd(SshdCheck::range("ClientAliveInterval", 1, 300, "0")),
        )
        .why(
            "An abandoned session is a logged-in terminal anyone near it can use.",
            &fix("ClientAliveInterval", "300"),
        )
        .azure(
            "Azure's rule covers ClientAliveInterval with ClientAliveCountMax; ward bounds the \
             interval alone at 1 to 300 s, as CIS does, and leaves CountMax to a policy (a \
             config rule on /etc/ssh/sshd_config).",
        ),
    ]
}

fn account_rules() -> Vec<Rule> {
    vec![
        rule(
            "accounts-empty-passwords",
            Severity::Critical,
            "No account has an empty password",
            Check::Accounts(AccountsCheck::EmptyPasswords),
        )
        .why(
            "An empty password field lets anyone log in as that account.",
            "passwd -l USER (lock it) or set a password",
        )
        .azure(
            "Azure looks for '::' in /etc/shadow only; ward also flags an empty password \
             field in /etc/passwd, which is just as open.",
        ),
        rule(
            "accounts-uid0-root-only",
            Severity::Critical,
            "Only root has UID 0",
            Check::Accounts(AccountsCheck::Uid0),
        )
        .why(
            "A second UID 0 account is a second root, often a backdoor.",
            "Remove the account or give it an unused UID (usermod -u)",
        ),
        rule(
            "accounts-unique-uids",
            Severity::Medium,
            "No two accounts share a UID",
            Check::Accounts(AccountsCheck::DuplicateUids),
        )
        .why(
            "Accounts sharing a UID share every file and cannot be told apart in logs.",
            "Give each account its own UID (usermod -u) and fix file ownership",
        )
        .azure("Azure also checks duplicate GIDs and group names; ward does not yet."),
        rule(
            "accounts-unique-names",
            Severity::Medium,
            "No account name is used twice",
            Check::Accounts(AccountsCheck::DuplicateNames),
        )
        .why(
            "Duplicate names make logins ambiguous.",
            "Remove or rename the duplicates with vipw",
        ),
    ]
}

fn kernel_rules() -> Vec<Rule> {
    let persist = |s: &str| {
        format!("sysctl -w {s}, and put it in /etc/sysctl.d/60-ward.conf to keep it after reboot")
    };
    vec![
        rule(
            "sysctl-ip-forward",
            Severity::Medium,
            "The host does not route IPv4 packets",
            Check::Sysctl(SysctlCheck::all(&["net.ipv4.ip_forward"], "0")),
        )
        .why(
            "A server that forwards packets can be used to reach networks behind it.",
            &persist("net.ipv4.ip_forward=0"),
        )
        .azure(
            "Not among Azure's network settings; CIS has it. Container hosts and routers \
             need forwarding: turn this rule off in a policy there.",
        ),
        rule(
            "sysctl-accept-redirects",
            Severity::Medium,
            "ICMP redirects are not accepted",
            Check::Sysctl(SysctlCheck::all(
                &[
                    "net.ipv4.conf.all.accept_redirects",
                    "net.ipv4.conf.default.accept_redirects",
                    "net.ipv6.conf.all.accept_redirects",
                    "net.ipv6.conf.default.accept_redirects",
                ],
                "0",
            )),
        )
        .why(
            "Redirects let anyone on the link change the host's routes.",
            &persist("net.ipv4.conf.all.accept_redirects=0 (and the others named)"),
        )
        .azure("Azure also checks secure_redirects; ward leaves that to a policy."),
        rule(
            "sysctl-send-redirects",
            Severity::Medium,
            "ICMP redirects are not sent",
            Check::Sysctl(SysctlCheck::all(
                &[
                    "net.ipv4.conf.all.send_redirects",
                    "net.ipv4.conf.default.send_redirects",
                ],
                "0",
            )),
        )
        .why(
            "Only routers send redirects; a server sending them is misconfigured or abused.",
            &persist("net.ipv4.conf.all.send_redirects=0"),
        ),
        rule(
            "sysctl-source-route",
            Severity::Medium,
            "Source-routed packets are refused",
            Check::Sysctl(SysctlCheck::all(
                &[
                    "net.ipv4.conf.all.accept_source_route",
                    "net.ipv4.conf.default.accept_source_route",
                    "net.ipv6.conf.all.accept_source_route",
                    "net.ipv6.conf.default.accept_source_route",
                ],
                "0",
            )),
        )
        .why(
            "Source routing lets a sender choose a path around firewalls.",
            &persist("net.ipv4.conf.all.accept_source_route=0 (and the others named)"),
        ),
        rule(
            "sysctl-randomize-va-space",
            Severity::High,
            "Address space layout randomization is full (2)",
            Check::Sysctl(SysctlCheck::all(&["kernel.randomize_va_space"], "2")),
        )
        .why(
            "Randomized addresses make memory corruption much harder to exploit.",
            &persist("kernel.randomize_va_space=2"),
        )
        .azure(
            "Azure accepts 1 or 2; ward wants 2, the kernel's default, since 1 leaves the \
             heap unrandomized.",
        ),
    ]
}

fn tree_rules() -> Vec<Rule> {
    let dirs = || {
        ["/etc", "/usr", "/bin", "/sbin", "/lib"]
            .map(Into::into)
            .to_vec()
    };
    vec![
        rule(
            "files-world-writable",
            Severity::High,
            "No world-writable files in /etc, /usr, /bin, /sbin, /lib",
            Check::Tree(TreeCheck {
                kind: TreeKind::WorldWritable,
                dirs: dirs(),
            }),
        )
        .why(
            "A system file anyone can write is a file anyone can turn into a backdoor.",
            "chmod o-w on each file named",
        )
        .azure(
            "Not in Azure's baseline, which checks only users' dot files; CIS has it. ward \
             checks the system directories, accepts sticky directories and does not follow \
             symbolic links.",
        ),
        rule(
            "files-unowned",
            Severity::Medium,
            "No files in /etc, /usr, /bin, /sbin, /lib without a known owner and group",
            Check::Tree(TreeCheck {
                kind: TreeKind::Unowned,
                dirs: dirs(),
            }),
        )
        .why(
            "A file whose owner was deleted is given to whoever next gets that UID.",
            "chown a known user and group on each file named",
        )
        .azure("Not in Azure's baseline; CIS has it. ward checks the system directories."),
    ]
}
