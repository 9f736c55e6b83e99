//! Target type 4 (mail) signatures, `.ndb` and `.ldb`, against clamscan:
//! they match the raw bytes of a file ClamAV types as mail (a header line
//! at its start, or header pairs in its text) and nothing else: not a near
//! miss (headers ClamAV types as MHTML, a lower-case header), not the same
//! bytes in text or binary data, not a part decoded from a message, unless
//! that part is a message itself.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::clamav_diff::{Hits, parse_hits};
use crate::util::{hex, require, run, ward};

const MARKER: &[u8] = b"WARD-MAIL-TARGET-MARKER";

fn base64(data: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::new();
    for line in text.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

/// (name, bytes, whether type 4 signatures match it).
fn files() -> Vec<(&'static str, Vec<u8>, bool)> {
    let body = [
        b"Hello,\n\nthe code is ".as_slice(),
        MARKER,
        b" as agreed.\n",
    ]
    .concat();
    let with = |head: &[u8]| [head, &body].concat();
    let mut late = b"X-Junk: ".to_vec();
    late.extend([b'x'; 1000]);
    late.extend(b"\nFrom: a@example.com\n");
    late.extend([b'y'; 900]);
    late.extend(b"\nMIME-Version: 1.0\n\n");
    late.extend(&body);
    let multipart = |ctype: &str, part: &[u8]| {
        let mut m = format!(
            "X-Mailer: y\nSubject: s\nMIME-Version: 1.0\n\
             Content-Type: multipart/mixed; boundary=\"BB\"\n\n\
             --BB\nContent-Type: text/plain\n\nsee below\n\
             --BB\nContent-Type: {ctype}\nContent-Transfer-Encoding: base64\n\n"
        )
        .into_bytes();
        m.extend(base64(part));
        m.extend(b"--BB--\n");
        m
    };
    let inner = with(b"From: c@example.com\nSubject: inner\n\n");
    vec![
        (
            "magic.eml",
            with(b"From: a@example.com\nTo: b@example.com\n\n"),
            true,
        ),
        (
            "received.eml",
            with(b"Received: from x by y\nSubject: s\n\n"),
            true,
        ),
        (
            "inbox.mbox",
            with(b"From a@example.com Mon Jan  1 00:00:00 2024\nFrom: a\n\n"),
            true,
        ),
        (
            "pair.eml",
            with(b"X-Mailer: y\nFrom: a@example.com\nMIME-Version: 1.0\n\n"),
            true,
        ),
        ("late.txt", late, true),
        ("forward.eml", multipart("message/rfc822", &inner), true),
        // Near misses.
        (
            "mhtml.eml",
            with(b"X-Mailer: y\nFrom: a\nMIME-Version: 1.0\nContent-Type: text/plain\n\n"),
            false,
        ),
        (
            "lower.txt",
            with(b"from: a@example.com\nsubject: s\n\n"),
            false,
        ),
        ("attached.eml", multipart("text/plain", &body), false),
        // The same bytes, not mail.
        ("plain.txt", body.clone(), false),
        (
            "binary.bin",
            [b"\x01\x02\x03".as_slice(), &body].concat(),
            false,
        ),
    ]
}

fn scan_both(dir: &Path, dbs: &[&Path], extra: &[&str]) -> (Hits, Hits) {
    let mut clam = Command::new("clamscan");
    clam.args(["--allmatch", "--no-summary", "-i"]).args(extra);
    let mut ours = ward();
    ours.args([
        "scan",
        "--no-builtin",
        "--all-matches",
        "--no-summary",
        "-i",
    ])
    .args(extra);
    for db in dbs {
        clam.arg("-d").arg(db);
        ours.arg("-d").arg(db);
    }
    (
        parse_hits("clamscan", &run(clam.arg(dir)), ".UNOFFICIAL"),
        parse_hits("ward", &run(ours.arg(dir)), ""),
    )
}

#[test]
fn mail_target_signatures_agree_with_clamscan() {
    require("clamscan", "--version", "clamav");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("files");
    std::fs::create_dir(&dir).unwrap();
    let files = files();
    for (name, data, _) in &files {
        std::fs::write(dir.join(name), data).unwrap();
    }
    let ndb = tmp.path().join("mail.ndb");
    let h = hex(MARKER);
    std::fs::write(&ndb, format!("Mail4:4:*:{h}\nAny0:0:*:{h}\n")).unwrap();
    let ldb = tmp.path().join("mail.ldb");
    std::fs::write(&ldb, format!("Mail4L;Engine:51-255,Target:4;0;{h}\n")).unwrap();

    let (clam, ours) = scan_both(&dir, &[&ndb, &ldb], &[]);
    let expected: Hits = files
        .iter()
        .flat_map(|(name, _, mail)| {
            let mut names = vec!["Any0"];
            if *mail {
                names.extend(["Mail4", "Mail4L"]);
            }
            names.into_iter().map(|s| (name.to_string(), s.to_owned()))
        })
        .collect();
    assert_eq!(clam, expected, "clamscan");
    assert_eq!(ours, expected, "ward");

    // Without mail parsing ClamAV types text as mail by its first KiB only.
    let (clam, ours) = scan_both(&dir, &[&ndb], &["--scan-mail=no"]);
    let mail: BTreeSet<&str> = ours
        .iter()
        .filter(|(_, s)| s == "Mail4")
        .map(|(f, _)| f.as_str())
        .collect();
    assert_eq!(
        mail,
        BTreeSet::from(["magic.eml", "received.eml", "inbox.mbox", "pair.eml"])
    );
    assert_eq!(clam, ours);
}
