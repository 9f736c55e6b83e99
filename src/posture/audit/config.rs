//! A key's value in a configuration file, in either common style: `key value`
//! (sshd, login.defs) or `key=value` (sysctl.conf, most `.conf` files). Lines
//! starting with `#` or `;` are comments; the first occurrence of the key
//! counts; keys compare case-sensitively unless told otherwise.

use std::path::{Path, PathBuf};

use crate::posture::finding::{Finding, Status};
use crate::posture::host::Host;

/// How keys and values are separated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separator {
    /// Whitespace: `key value`.
    Space,
    /// An equals sign, with optional spaces: `key = value`.
    Equals,
    /// Either.
    Any,
}

/// What the value must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueWant {
    /// One of these strings.
    OneOf(Vec<String>),
    /// The key must not be set.
    Unset,
}

/// A rule on a key in a file.
#[derive(Clone, Debug)]
pub struct ConfigCheck {
    /// The in-system file.
    pub path: PathBuf,
    /// The key.
    pub key: String,
    /// What it must be.
    pub want: ValueWant,
    /// How the file separates keys from values.
    pub separator: Separator,
    /// Compare keys without regard to case.
    pub ignore_case: bool,
    /// Whether a missing file (or a key not set) is compliant.
    pub missing_ok: bool,
}

impl ConfigCheck {
    /// The value of the key and its line, if set.
    pub fn lookup(&self, text: &str) -> Option<(String, usize)> {
        text.lines().enumerate().find_map(|(n, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                return None;
            }
            let (k, v) = split(line, self.separator)?;
            let same = match self.ignore_case {
                true => k.eq_ignore_ascii_case(&self.key),
                false => k == self.key,
            };
            same.then(|| (v.trim_matches('"').to_owned(), n + 1))
        })
    }

    /// Evaluate.
    pub fn run(&self, host: &Host) -> Finding {
        let expected = match &self.want {
            ValueWant::OneOf(v) => format!("{} {}", self.key, v.join(" or ")),
            ValueWant::Unset => format!("{} not set", self.key),
        };
        let shown = self.path.display();
        let text = match host.read(Path::new(&self.path)) {
            Ok(Some(t)) => t,
            Ok(None) if self.missing_ok || self.want == ValueWant::Unset => {
                return Finding::new(Status::Compliant, expected, format!("no {shown}"));
            }
            Ok(None) => return Finding::new(Status::NonCompliant, expected, format!("no {shown}")),
            Err(e) => return Finding::error(expected, format!("{shown}: {e}")),
        };
        match (self.lookup(&text), &self.want) {
            (None, ValueWant::Unset) => {
                Finding::new(Status::Compliant, expected, format!("not set in {shown}"))
            }
            (None, _) => Finding::judge(self.missing_ok, expected, format!("not set in {shown}")),
            (Some((v, line)), want) => {
                let ok = matches!(want, ValueWant::OneOf(allowed) if allowed.contains(&v));
                Finding::judge(ok, expected, format!("{} {v} ({shown}:{line})", self.key))
            }
        }
    }
}

fn split(line: &str, sep: Separator) -> Option<(&str, &str)> {
    let eq = || line.split_once('=').map(|(k, v)| (k.trim(), v.trim()));
    let space = || {
        let end = line.find(char::is_whitespace)?;
        Some((&line[..end], line[end..].trim()))
    };
    match sep {
        Separator::Equals => eq(),
        Separator::Space => space(),
        Separator::Any => {
            let first_eq = line.find('=');
            let first_ws = line.find(char::is_whitespace);
            match (first_eq, first_ws) {
                (Some(e), Some(w)) if w < e && !line[w..e].trim().is_empty() => space(),
                (Some(_), _) => eq(),
                (None, _) => space(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sep: Separator) -> ConfigCheck {
        ConfigCheck {
            path: "/x".into(),
            key: "Key".into(),
            want: ValueWant::OneOf(vec!["on".into()]),
            separator: sep,
            ignore_case: false,
            missing_ok: false,
        }
    }

    #[test]
    fn both_styles() {
        let any = check(Separator::Any);
        assert_eq!(
            any.lookup("# Key off\nKey  on\nKey off\n"),
            Some(("on".into(), 2))
        );
        assert_eq!(any.lookup("Key = on\n"), Some(("on".into(), 1)));
        assert_eq!(any.lookup("Key=\"on\"\n"), Some(("on".into(), 1)));
        assert_eq!(any.lookup("Key a=b\n"), Some(("a=b".into(), 1)));
        assert_eq!(check(Separator::Equals).lookup("Key on\n"), None);
        assert_eq!(check(Separator::Space).lookup("key on\n"), None);
    }
}
