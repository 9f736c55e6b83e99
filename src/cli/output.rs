//! Output formats: clamscan-compatible text lines, JSON lines, and the escaping
//! of file names shown on a terminal.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde_json::{Value, json};
use ward::{FileReport, MatchKind, Verdict};

/// Escape a path for a terminal: control characters, bidi overrides and invalid
/// UTF-8 become `\xNN` / `\u{NNNN}`, a backslash becomes `\\`.
pub fn escape(path: &OsStr) -> String {
    let mut out = String::new();
    for chunk in path.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c == '\\' {
                out.push_str("\\\\");
            } else if c.is_control() || bidi {
                if (c as u32) < 0x80 {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                } else {
                    out.push_str(&format!("\\u{{{:04x}}}", c as u32));
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// How paths are shown in text output.
#[derive(Clone, Copy)]
pub struct TextStyle {
    /// Escape (stdout is a terminal) or print the bytes as they are.
    pub escape: bool,
    /// Only infected files (`-i`).
    pub infected_only: bool,
}

fn show(path: &Path, style: TextStyle) -> Vec<u8> {
    if style.escape {
        escape(path.as_os_str()).into_bytes()
    } else {
        path.as_os_str().as_bytes().to_vec()
    }
}

/// An error's text without the trailing " (os error N)".
pub fn reason(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_owned(),
        _ => s,
    }
}

/// Write one `PATH: TAIL` line.
pub fn write_line(
    w: &mut impl io::Write,
    path: &Path,
    tail: &str,
    style: TextStyle,
) -> io::Result<()> {
    w.write_all(&show(path, style))?;
    w.write_all(b": ")?;
    w.write_all(tail.as_bytes())?;
    w.write_all(b"\n")
}

/// Write a report as clamscan-style text lines.
pub fn write_text(w: &mut impl io::Write, r: &FileReport, style: TextStyle) -> io::Result<()> {
    let path = show(&r.path, style);
    let line = |w: &mut dyn io::Write, tail: &str| -> io::Result<()> {
        w.write_all(&path)?;
        w.write_all(b": ")?;
        w.write_all(tail.as_bytes())?;
        w.write_all(b"\n")
    };
    match &r.verdict {
        Verdict::Infected(ms) => ms
            .iter()
            .try_for_each(|m| line(w, &format!("{} FOUND", m.name))),
        Verdict::Error(e) => line(w, &format!("{} ERROR", reason(e))),
        Verdict::Clean if !style.infected_only => line(w, "OK"),
        Verdict::Skipped(s) if !style.infected_only => line(w, &format!("{s} SKIPPED")),
        _ => Ok(()),
    }
}

/// The JSON fields for a path: `path` (lossy UTF-8) and, when the path is not
/// UTF-8, `path_base64` with its exact bytes.
pub fn path_fields(path: &Path) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let (lossy, exact) = ward::encoding::json_path(path.as_os_str());
    m.insert("path".into(), Value::String(lossy));
    if let Some(b64) = exact {
        m.insert("path_base64".into(), Value::String(b64));
    }
    m
}

/// A match's place inside its file: `container`, the chain of names from
/// the file's own to the member matched (`["a.zip", "b.tar.gz", "x.exe"]`),
/// each exact when it is UTF-8; where one is not, `container_base64` has
/// every name's bytes.
fn container_fields(o: &mut Value, path: &Path, chain: &[Vec<u8>]) {
    let outer = path.file_name().unwrap_or(path.as_os_str()).as_bytes();
    let names: Vec<&[u8]> = std::iter::once(outer)
        .chain(chain.iter().map(Vec::as_slice))
        .collect();
    let lossy: Vec<Value> = names
        .iter()
        .map(|n| json!(String::from_utf8_lossy(n)))
        .collect();
    o["container"] = Value::Array(lossy);
    if names.iter().any(|n| std::str::from_utf8(n).is_err()) {
        let exact: Vec<Value> = names
            .iter()
            .map(|n| json!(ward::encoding::encode_path(OsStr::from_bytes(n))))
            .collect();
        o["container_base64"] = Value::Array(exact);
    }
}

/// One JSON object for a report.
pub fn json_report(r: &FileReport) -> Value {
    let mut m = path_fields(&r.path);
    m.insert("type".into(), json!("file"));
    let (status, extra) = match &r.verdict {
        Verdict::Clean => ("clean", None),
        Verdict::Infected(ms) => {
            let list: Vec<Value> = ms
                .iter()
                .map(|x| {
                    let mut o = json!({ "signature": &*x.name });
                    match x.kind {
                        MatchKind::Body { offset } => {
                            o["kind"] = json!("body");
                            o["offset"] = json!(offset);
                        }
                        MatchKind::Hash { hash } => {
                            o["kind"] = json!("hash");
                            o["hash"] = json!(hash.as_str());
                        }
                        MatchKind::Heuristic => o["kind"] = json!("heuristic"),
                        MatchKind::Logical => o["kind"] = json!("logical"),
                        _ => {}
                    }
                    if !x.container.is_empty() {
                        container_fields(&mut o, &r.path, &x.container);
                    }
                    o
                })
                .collect();
            ("infected", Some(("matches", Value::Array(list))))
        }
        Verdict::Skipped(s) => {
            if let ward::SkipReason::Incomplete { limit } = s {
                m.insert("incomplete".into(), json!(limit.name()));
            }
            ("skipped", Some(("reason", json!(s.to_string()))))
        }
        Verdict::Error(e) => ("error", Some(("error", json!(reason(e))))),
        _ => ("unknown", None),
    };
    m.insert("status".into(), json!(status));
    m.insert("scanned_bytes".into(), json!(r.scanned_bytes));
    if let Some((k, v)) = extra {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// Parse a size like `100`, `64K`, `25M`, `2G` (binary units).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size unit '{c}' (use K, M, G or T)")),
            };
            (&t[..i], mult)
        }
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("'{s}' is not a size"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn escapes_controls_bidi_and_bad_utf8() {
        let p = OsStr::from_bytes(b"a\nb\x1b[31m\xff\xe2\x80\xaec\\d \xc3\xa9");
        assert_eq!(escape(p), "a\\x0ab\\x1b[31m\\xff\\u{202e}c\\\\d \u{e9}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert!(parse_size("2X").is_err());
        assert!(parse_size("99999999999999T").is_err());
    }
}
