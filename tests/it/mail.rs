//! Mail: messages and mboxes built by Python's email package
//! (`tests/fixtures/mail.py`), their parts decoded and scanned through the
//! binary and the library, named in the container chain; damaged, deep and
//! huge messages within the limits.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::util::{python_fixtures, run, stdout, ward};

const MARKER: &str = "WARD-MAIL-TEST-MARKER";

pub(crate) fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| python_fixtures("mail", "mail.py", MARKER))
}

/// `ward scan --json` with the marker signature on one fixture: the exit
/// code and the file's JSON object.
fn scan(name: &str, args: &[&str]) -> (Option<i32>, Value) {
    let dir = fixtures();
    let out = run(ward()
        .args(["scan", "--json", "--no-summary", "-d"])
        .arg(dir.join("marker.ndb"))
        .args(args)
        .arg(dir.join(name)));
    let line = stdout(&out).lines().next().unwrap_or_default().to_owned();
    let v = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (out.status.code(), v)
}

fn chain(v: &Value) -> &Value {
    &v["matches"][0]["container"]
}

#[test]
fn an_attachment_is_found_and_named() {
    let (code, v) = scan("attached.eml", &[]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["matches"][0]["signature"], "Eicar-Test-Signature", "{v}");
    assert_eq!(chain(&v), &json!(["attached.eml", "part 2: eicar.com"]));
}

#[test]
fn quoted_printable_is_decoded_before_matching() {
    let raw = std::fs::read(fixtures().join("qp.eml")).unwrap();
    assert!(!raw.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()));
    let (code, v) = scan("qp.eml", &[]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(chain(&v), &json!(["qp.eml", "part 1"]));
}

#[test]
fn forwarded_messages_zips_and_mboxes_nest() {
    let (_, v) = scan("forwarded.eml", &[]);
    assert_eq!(
        chain(&v),
        &json!(["forwarded.eml", "part 2", "part 2: eicar.com"])
    );
    let (_, v) = scan("zip.eml", &[]);
    assert_eq!(
        chain(&v),
        &json!(["zip.eml", "part 2: eicar_com.zip", "eicar.com"])
    );
    let (_, v) = scan("inbox.mbox", &[]);
    assert_eq!(
        chain(&v),
        &json!(["inbox.mbox", "message 2", "part 2: eicar.com"])
    );
    let (_, v) = scan("uu.eml", &[]);
    assert_eq!(chain(&v), &json!(["uu.eml", "part 2: eicar.com"]));
}

#[test]
fn scan_mail_no_leaves_mail_undecoded() {
    // --scan-archive=no leaves mail alone, as in clamscan.
    let (code, _) = scan("attached.eml", &["--scan-archive=no"]);
    assert_eq!(code, Some(1));
    let (code, v) = scan("attached.eml", &["--scan-mail=no"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["status"], "clean", "{v}");
}

#[test]
fn deep_and_huge_messages_stop_at_a_limit_never_clean() {
    let (code, v) = scan("nested-10.eml", &[]);
    assert_eq!(code, Some(1), "{v}");
    // Past 32 nested multiparts the rest is not opened: not clean.
    let (_, v) = scan("nested-40.eml", &[]);
    assert_eq!(v["status"], "skipped", "{v}");
    assert_eq!(v["incomplete"], "MaxRecursion", "{v}");
    let (_, v) = scan("parts.eml", &[]);
    assert_eq!(v["incomplete"], "MaxFiles", "{v}");
    let (code, v) = scan("parts.eml", &["--alert-exceeds-max"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        v["matches"][0]["signature"],
        "Heuristics.Limits.Exceeded.MaxFiles"
    );
}

#[test]
fn the_library_scans_into_mail() {
    let set = ward::SignatureSet::builtin();
    let mut sc = ward::Scanner::new(&set);
    let mail = std::fs::read(fixtures().join("forwarded.eml")).unwrap();
    let found = sc.scan_bytes(&mail);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].container,
        vec![b"part 2".to_vec(), b"part 2: eicar.com".to_vec()]
    );
}
