//! Policy files: custom rules in TOML, and built-in rules turned off.
//!
//! ```toml
//! name = "web-servers"              # default: the file's name without .toml
//! disable = ["perms-motd"]          # built-in (or earlier policies') rule ids
//!
//! [[rule]]
//! id = "app-config"
//! kind = "file"                     # file, config, sysctl or package
//! path = "/etc/app/app.conf"
//! max_mode = "0640"                 # or mode = "0640" for exactly that
//! owner = "root"
//! group = ["app", "root"]           # one of these
//! present = true                    # false: the file must not exist
//!
//! [[rule]]
//! id = "app-debug-off"
//! kind = "config"
//! path = "/etc/app/app.conf"
//! key = "debug"
//! value = "false"                   # or a list; or unset = true
//! separator = "any"                 # space, equals or any (the default)
//!
//! [[rule]]
//! id = "syncookies"
//! kind = "sysctl"
//! name = "net.ipv4.tcp_syncookies"
//! value = "1"
//!
//! [[rule]]
//! id = "no-telnetd"
//! kind = "package"
//! name = "telnetd"
//! installed = false
//! ```
//!
//! Every rule may also have `title`, `severity` (low, medium, high, critical;
//! default medium), `rationale` and `remediation`. Any mistake (bad TOML, an
//! unknown key, a key that does not fit the rule's kind, a bad mode) is an
//! error naming the file, line and column.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::config::{ConfigCheck, Separator, ValueWant};
use super::packages::PackageCheck;
use super::perms::{FileCheck, ModeSpec, Presence};
use super::sysctl::SysctlCheck;
use super::{Check, Rule};
use crate::posture::finding::Severity;

/// A policy file that could not be read or is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// It could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Its text is wrong.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Line, 1-based.
        line: usize,
        /// Column (in characters), 1-based.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// A parsed policy.
#[derive(Debug)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    text: String,
    pub(super) rules: Vec<Rule>,
    pub(super) rule_at: Vec<Range<usize>>,
    pub(super) disable: Vec<(String, Range<usize>)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    name: Option<String>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    rule: Vec<Spanned<RuleDoc>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Words {
    One(String),
    Many(Vec<String>),
}

impl Words {
    fn list(self) -> Vec<String> {
        match self {
            Words::One(s) => vec![s],
            Words::Many(v) => v,
        }
    }
}

type S<T> = Option<Spanned<T>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    id: Spanned<String>,
    kind: Spanned<String>,
    title: Option<String>,
    severity: S<String>,
    rationale: Option<String>,
    remediation: Option<String>,
    path: S<String>,
    mode: S<String>,
    max_mode: S<String>,
    owner: S<Words>,
    group: S<Words>,
    present: S<bool>,
    key: S<String>,
    value: S<Words>,
    unset: S<bool>,
    separator: S<String>,
    ignore_case: S<bool>,
    missing_ok: S<bool>,
    name: S<String>,
    installed: S<bool>,
}

/// Line and column (1-based, in characters) of a byte offset.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

impl Policy {
    /// Read and check a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Policy::parse(path, text)
    }

    /// Check a policy's text; `path` names it in errors.
    pub fn parse(path: &Path, text: String) -> Result<Policy, PolicyError> {
        let mut p = Policy {
            name: String::new(),
            path: path.to_owned(),
            text,
            rules: Vec::new(),
            rule_at: Vec::new(),
            disable: Vec::new(),
        };
        let doc: Doc = match toml::from_str(&p.text) {
            Ok(d) => d,
            Err(e) => {
                let at = e.span().unwrap_or(0..0);
                let msg = e.message().trim().to_owned();
                return Err(p.error(at, msg));
            }
        };
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        p.name = doc.name.or(stem).unwrap_or_else(|| "policy".into());
        p.disable = doc
            .disable
            .into_iter()
            .map(|d| {
                let span = d.span();
                (d.into_inner(), span)
            })
            .collect();
        for r in doc.rule {
            let span = r.span();
            let rule = p.rule(r.into_inner())?;
            p.rules.push(rule);
            p.rule_at.push(span);
        }
        Ok(p)
    }

    /// An error at a span of the text.
    pub(super) fn error(&self, at: Range<usize>, message: impl Into<String>) -> PolicyError {
        let (line, column) = line_col(&self.text, at.start);
        PolicyError::Invalid {
            path: self.path.clone(),
            line,
            column,
            message: message.into(),
        }
    }

    fn rule(&self, d: RuleDoc) -> Result<Rule, PolicyError> {
        let id = d.id.get_ref().trim().to_owned();
        if id.is_empty() || id.contains(char::is_whitespace) {
            return Err(self.error(d.id.span(), "a rule id must be one word"));
        }
        let severity = match &d.severity {
            None => Severity::Medium,
            Some(s) => Severity::parse(s.get_ref()).ok_or_else(|| {
                self.error(s.span(), "severity must be low, medium, high or critical")
            })?,
        };
        let (title, rationale, remediation) =
            (d.title.clone(), d.rationale.clone(), d.remediation.clone());
        let check = match d.kind.get_ref().as_str() {
            "file" => self.file(d)?,
            "config" => self.config(d)?,
            "sysctl" => self.sysctl(d)?,
            "package" => self.package(d)?,
            _ => {
                return Err(self.error(
                    d.kind.span(),
                    "kind must be file, config, sysctl or package",
                ));
            }
        };
        Ok(Rule {
            title: title.unwrap_or_else(|| format!("{} ({})", id, check.target())),
            id,
            severity,
            rationale: rationale.unwrap_or_default(),
            remediation: remediation.unwrap_or_default(),
            azure: None,
            source: self.name.clone(),
            check,
        })
    }

    /// Refuse the keys that do not belong to a kind.
    fn only(&self, d: &RuleDoc, allowed: &[&str]) -> Result<(), PolicyError> {
        let given: [(&str, Option<Range<usize>>); 14] = [
            ("path", d.path.as_ref().map(Spanned::span)),
            ("mode", d.mode.as_ref().map(Spanned::span)),
            ("max_mode", d.max_mode.as_ref().map(Spanned::span)),
            ("owner", d.owner.as_ref().map(Spanned::span)),
            ("group", d.group.as_ref().map(Spanned::span)),
            ("present", d.present.as_ref().map(Spanned::span)),
            ("key", d.key.as_ref().map(Spanned::span)),
            ("value", d.value.as_ref().map(Spanned::span)),
            ("unset", d.unset.as_ref().map(Spanned::span)),
            ("separator", d.separator.as_ref().map(Spanned::span)),
            ("ignore_case", d.ignore_case.as_ref().map(Spanned::span)),
            ("missing_ok", d.missing_ok.as_ref().map(Spanned::span)),
            ("name", d.name.as_ref().map(Spanned::span)),
            ("installed", d.installed.as_ref().map(Spanned::span)),
        ];
        for (key, span) in given {
            if let Some(span) = span
                && !allowed.contains(&key)
            {
                let kind = d.kind.get_ref();
                return Err(self.error(span, format!("'{key}' does not apply to a {kind} rule")));
            }
        }
        Ok(())
    }

    fn need<'a, T>(
        &self,
        d: &RuleDoc,
        v: &'a S<T>,
        key: &str,
    ) -> Result<&'a Spanned<T>, PolicyError> {
        v.as_ref().ok_or_else(|| {
            let kind = d.kind.get_ref();
            self.error(d.kind.span(), format!("a {kind} rule needs '{key}'"))
        })
    }

    fn abs_path(&self, p: &Spanned<String>) -> Result<PathBuf, PolicyError> {
        match p.get_ref().starts_with('/') {
            true => Ok(PathBuf::from(p.get_ref())),
            false => Err(self.error(p.span(), "the path must be absolute")),
        }
    }

    fn mode(&self, m: &Spanned<String>) -> Result<u32, PolicyError> {
        let s = m.get_ref();
        let digits = s.strip_prefix("0o").unwrap_or(s);
        match u32::from_str_radix(digits, 8) {
            Ok(v) if v <= 0o7777 && !digits.is_empty() => Ok(v),
            _ => Err(self.error(
                m.span(),
                format!("'{s}' is not an octal mode such as \"0644\""),
            )),
        }
    }

    fn file(&self, d: RuleDoc) -> Result<Check, PolicyError> {
        self.only(
            &d,
            &["path", "mode", "max_mode", "owner", "group", "present"],
        )?;
        let path = self.abs_path(self.need(&d, &d.path, "path")?)?;
        let mode = match (&d.mode, &d.max_mode) {
            (Some(_), Some(m)) => {
                return Err(self.error(m.span(), "give mode or max_mode, not both"));
            }
            (Some(m), None) => Some(ModeSpec::Exact(self.mode(m)?)),
            (None, Some(m)) => Some(ModeSpec::AtMost(self.mode(m)?)),
            (None, None) => None,
        };
        let present = d.present.as_ref().is_none_or(|p| *p.get_ref());
        if !present && let Some(at) = [&d.mode, &d.max_mode].into_iter().flatten().next() {
            return Err(self.error(at.span(), "a file that must be absent has no mode"));
        }
        let words =
            |w: Option<Spanned<Words>>| w.map(|w| w.into_inner().list()).unwrap_or_default();
        Ok(Check::File(FileCheck {
            path,
            presence: if present {
                Presence::Required
            } else {
                Presence::Absent
            },
            mode,
            owners: words(d.owner),
            groups: words(d.group),
        }))
    }

    fn config(&self, d: RuleDoc) -> Result<Check, PolicyError> {
        self.only(
            &d,
            &[
                "path",
                "key",
                "value",
                "unset",
                "separator",
                "ignore_case",
                "missing_ok",
            ],
        )?;
        let path = self.abs_path(self.need(&d, &d.path, "path")?)?;
        let key = self.need(&d, &d.key, "key")?.get_ref().clone();
        let unset = d.unset.as_ref().is_some_and(|u| *u.get_ref());
        let want = match (d.value, unset) {
            (Some(v), true) => {
                return Err(self.error(v.span(), "give value or unset = true, not both"));
            }
            (Some(v), false) => ValueWant::OneOf(v.into_inner().list()),
            (None, true) => ValueWant::Unset,
            (None, false) => {
                return Err(self.error(
                    d.kind.span(),
                    "a config rule needs 'value' (or unset = true)",
                ));
            }
        };
        let separator = match &d.separator {
            None => Separator::Any,
            Some(s) => match s.get_ref().as_str() {
                "space" => Separator::Space,
                "equals" => Separator::Equals,
                "any" => Separator::Any,
                _ => return Err(self.error(s.span(), "separator must be space, equals or any")),
            },
        };
        Ok(Check::Config(ConfigCheck {
            path,
            key,
            want,
            separator,
            ignore_case: d.ignore_case.is_some_and(|b| b.into_inner()),
            missing_ok: d.missing_ok.is_some_and(|b| b.into_inner()),
        }))
    }

    fn sysctl(&self, d: RuleDoc) -> Result<Check, PolicyError> {
        self.only(&d, &["name", "value"])?;
        let name = self.need(&d, &d.name, "name")?;
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if name.get_ref().is_empty()
            || !name.get_ref().chars().all(ok)
            || name.get_ref().contains("..")
        {
            return Err(self.error(
                name.span(),
                "not a kernel setting name such as net.ipv4.ip_forward",
            ));
        }
        let name = name.get_ref().clone();
        self.need(&d, &d.value, "value")?;
        let values = d.value.map(|v| v.into_inner().list()).unwrap_or_default();
        Ok(Check::Sysctl(SysctlCheck {
            settings: vec![(name, values)],
        }))
    }

    fn package(&self, d: RuleDoc) -> Result<Check, PolicyError> {
        self.only(&d, &["name", "installed"])?;
        let name = self.need(&d, &d.name, "name")?.get_ref().clone();
        Ok(Check::Package(PackageCheck {
            name,
            installed: d.installed.is_none_or(|b| b.into_inner()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Policy::parse(Path::new("p.toml"), text.into())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        let e = err("[[rule]]\nid = \"x\"\nkind = \"file\"\npath = \"/etc/x\"\nmode = \"9\"\n");
        assert_eq!(e, "p.toml:5:8: '9' is not an octal mode such as \"0644\"");
        let e = err(
            "[[rule]]\nid = \"x\"\nkind = \"sysctl\"\nname = \"a.b\"\nvalue = \"1\"\npath = \"/x\"\n",
        );
        assert!(e.starts_with("p.toml:6:8: 'path' does not apply"), "{e}");
        let e = err("[[rule]]\nid = \"x\"\nkind = \"bogus\"\n");
        assert!(e.starts_with("p.toml:3:8: kind must be"), "{e}");
        let e = err("[[rule]]\nid = \"x\"\nkind = \"file\"\npath = \"/x\"\ncolour = 1\n");
        assert!(e.starts_with("p.toml:5:1: unknown field"), "{e}");
        let e = err("name = \"a\"\n[[rule]\n");
        assert!(e.starts_with("p.toml:2:"), "{e}");
    }

    #[test]
    fn every_kind_parses() {
        let text = r#"
disable = ["perms-motd"]
[[rule]]
id = "f"
kind = "file"
path = "/etc/f"
max_mode = "0640"
group = ["app", "root"]
[[rule]]
id = "c"
kind = "config"
path = "/etc/c"
key = "debug"
value = ["no", "off"]
[[rule]]
id = "s"
kind = "sysctl"
name = "net.ipv4.tcp_syncookies"
value = "1"
[[rule]]
id = "p"
kind = "package"
name = "telnetd"
installed = false
"#;
        let p = Policy::parse(Path::new("/x/web.toml"), text.into()).unwrap();
        assert_eq!(p.name, "web");
        assert_eq!(p.rules.len(), 4);
        assert_eq!(p.disable[0].0, "perms-motd");
        match &p.rules[0].check {
            Check::File(f) => {
                assert_eq!((f.mode, f.groups.len()), (Some(ModeSpec::AtMost(0o640)), 2))
            }
            other => panic!("{other:?}"),
        }
    }
}
