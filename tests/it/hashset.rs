//! Hash signatures at scale: the same answers from text databases, from a
//! compiled set mapped in place, and from one read into memory (a set others
//! can write is not mapped); `*` sizes, every digest kind, the `.fp`/`.sfp`
//! allow lists and `.ign2` names, inside the set and beside it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use md5::Digest;

use crate::util::{Rng, hex, run, stderr, stdout, ward};

fn md5(b: &[u8]) -> String {
    hex(&md5::Md5::digest(b))
}
fn sha1(b: &[u8]) -> String {
    hex(&sha1::Sha1::digest(b))
}
fn sha256(b: &[u8]) -> String {
    hex(&sha2::Sha256::digest(b))
}

/// Scan `dir`'s files `f*` with `dbs`; the sorted `file: name` lines found.
fn found(dir: &Path, dbs: &[&Path]) -> Vec<String> {
    let mut cmd = ward();
    cmd.args(["scan", "--no-summary", "--no-builtin", "--all-matches"]);
    for d in dbs {
        cmd.arg("-d").arg(d);
    }
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('f'))
        .collect();
    files.sort();
    let o = run(cmd.args(&files));
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let mut lines: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.ends_with(" FOUND"))
        .map(|l| {
            let name = Path::new(l.split(':').next().unwrap()).file_name().unwrap();
            format!(
                "{}:{}",
                name.to_string_lossy(),
                l.split_once(": ").unwrap().1
            )
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn text_mapped_and_read_sets_agree() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = Rng::new(13);
    let files: Vec<Vec<u8>> = (0..6).map(|i| rng.bytes(100 + i * 37)).collect();
    for (i, f) in files.iter().enumerate() {
        fs::write(d.join(format!("f{i}")), f).unwrap();
    }
    // Noise around the real entries, so that lookups search a sorted table.
    let mut hdb = String::new();
    for n in 0..5000 {
        hdb += &format!("{}:{}:Noise.{n}\n", hex(&rng.bytes(16)), rng.below(400));
    }
    let (f0, f1, f2, f3, f4, f5) = (
        &files[0], &files[1], &files[2], &files[3], &files[4], &files[5],
    );
    hdb += &format!("{}:{}:Md5.Sized\n", md5(f0), f0.len());
    hdb += &format!("{}:*:Md5.Any:1\n", md5(f0));
    hdb += &format!("{}:{}:Md5.WrongSize\n", md5(f1), f1.len() + 1);
    hdb += &format!("{}:{}:Md5.Ignored\n", md5(f4), f4.len());
    hdb += &format!("{}:{}:Md5.TooNew:99999\n", md5(f5), f5.len());
    fs::write(d.join("a.hdb"), hdb).unwrap();
    let hsb = format!(
        "{}:*:Sha256.Any\n{}:{}:Sha1.Sized\n{}:{}:Sha1.Allowed\n",
        sha256(f1),
        sha1(f2),
        f2.len(),
        sha1(f3),
        f3.len()
    );
    fs::write(d.join("b.hsb"), hsb).unwrap();
    fs::write(d.join("c.sfp"), format!("{}:*:Clean\n", sha256(f3))).unwrap();
    fs::write(d.join("d.ign2"), "Md5.Ignored\n").unwrap();
    let want = [
        "f0:Md5.Any FOUND",
        "f0:Md5.Sized FOUND",
        "f1:Sha256.Any FOUND",
        "f2:Sha1.Sized FOUND",
    ];
    let text: Vec<_> = ["a.hdb", "b.hsb", "c.sfp", "d.ign2"]
        .iter()
        .map(|n| d.join(n))
        .collect();
    let text_refs: Vec<&Path> = text.iter().map(|p| p.as_path()).collect();
    assert_eq!(found(d, &text_refs), want);

    // Everything in one compiled set.
    let set = d.join("all.wardset");
    let mut cmd = ward();
    cmd.args(["sigs", "compile", "-o"]).arg(&set);
    for p in &text {
        cmd.arg("-d").arg(p);
    }
    let o = run(&mut cmd);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(found(d, &[&set]), want, "mapped");
    let info = run(ward()
        .args(["sigs", "info", "--json", "--no-builtin", "-d"])
        .arg(&set));
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(
        (v["md5"].as_u64(), v["sha1"].as_u64()),
        (Some(5003), Some(2))
    );
    assert_eq!(
        (v["sha256"].as_u64(), v["allow"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(v["ignored"].as_u64(), Some(1));
    // Writable by others: read, not mapped, with the same answers.
    fs::set_permissions(&set, fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(found(d, &[&set]), want, "read");

    // The hashes alone in a set; the allow list and the ignore list beside it.
    let hashes = d.join("hashes.wardset");
    let o = run(ward()
        .args(["sigs", "compile", "-o"])
        .arg(&hashes)
        .arg("-d")
        .arg(&text[0])
        .arg("-d")
        .arg(&text[1]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut beside = vec!["f0:Md5.Any FOUND", "f0:Md5.Sized FOUND"];
    beside.extend(["f1:Sha256.Any FOUND", "f2:Sha1.Sized FOUND"]);
    beside.extend(["f3:Sha1.Allowed FOUND", "f4:Md5.Ignored FOUND"]);
    assert_eq!(found(d, &[&hashes]), beside);
    assert_eq!(found(d, &[&hashes, &text[2], &text[3]]), want);
}

#[test]
fn bad_hash_lines_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let hdb = dir.path().join("bad.hdb");
    let good = "0123456789abcdef0123456789abcdef:5:Good\n";
    fs::write(
        &hdb,
        format!("{good}# comment\n0123456789abcdef0123456789abcdeg:5:Bad\n{good}0123456789abcdef0123456789abcdef:x:Bad\n"),
    )
    .unwrap();
    let o = run(ward().args(["sigs", "check"]).arg(&hdb));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let at = |l: &str| format!("{}:{l}", hdb.display());
    assert!(err.contains(&at("3:32: 'g' is not a hex digit")), "{err}");
    assert!(
        err.contains(&at("5:34: file size 'x' is not a number or '*'")),
        "{err}"
    );
}
