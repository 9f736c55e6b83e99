//! ClamAV's own databases as `-d`: the kinds ward does not run are skipped
//! with one warning per file, never fatally; a database that yields nothing is
//! an error; `.cvd`/`.cld`/`.cud` containers are checked and read.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{require, run, run_with_stdin, stderr, stdout, ward};

/// A file with the EICAR-free marker the test signatures look for.
fn target(dir: &Path) -> std::path::PathBuf {
    let f = dir.join("target.bin");
    fs::write(&f, b"header evil..code trailer").unwrap();
    f
}

#[test]
fn kinds_not_run_are_one_warning_each() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    fs::create_dir(&db).unwrap();
    fs::write(db.join("a.ndb"), "Gap.Sig:0:*:6576696c{2-4}636f6465\n").unwrap();
    // ClamAV's phishing allow list: the file that used to stop ward.
    fs::write(
        db.join("daily.wdb"),
        "X:.+\\.example\\.com([/?].*)?:.+\\.example\\.net([/?].*)?:17-\nM:a.example:b.example\n# c\n\n",
    )
    .unwrap();
    fs::write(db.join("daily.pdb"), "R:.+\\.bank\\.example\n").unwrap();
    fs::write(
        db.join("daily.ftm"),
        "0:0:504b0304:ZIP:CL_TYPE_ANY:CL_TYPE_ZIP\n",
    )
    .unwrap();
    fs::write(
        db.join("x.cbc"),
        "ClamBCaa`|``c``a```|`bjacflfafmfnfafhfafmfaef\n",
    )
    .unwrap();
    let f = target(dir.path());
    let o = run(ward()
        .args(["scan", "--no-summary", "--no-builtin", "-d"])
        .arg(&db)
        .arg(&f));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("Gap.Sig FOUND"));
    let err = stderr(&o);
    let wdb = format!(
        "{}: 2 phishing allow list (.wdb) entries skipped",
        db.join("daily.wdb").display()
    );
    assert!(err.contains(&wdb), "{err}");
    assert!(
        err.contains("1 phishing protected domain (.pdb/.gdb) entries skipped"),
        "{err}"
    );
    assert!(
        err.contains("1 file type magic (.ftm) entries skipped"),
        "{err}"
    );
    assert!(err.contains("1 bytecode (.cbc) entries skipped"), "{err}");
    assert_eq!(err.lines().count(), 4, "one line per file: {err}");
}

#[test]
fn databases_that_yield_nothing_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    fs::create_dir(&db).unwrap();
    let f = target(dir.path());
    // An empty directory, then one with only kinds ward does not run.
    for round in 0..2 {
        if round == 1 {
            fs::write(db.join("daily.pdb"), "R:.+\\.bank\\.example\n").unwrap();
        }
        let o = run(ward().args(["scan", "-d"]).arg(&db).arg(&f));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(o.stdout.is_empty());
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{}: no signatures loaded", db.display())),
            "{err}"
        );
    }
    // The same with something to run.
    fs::write(db.join("a.hdb"), "0123456789abcdef0123456789abcdef:5:H\n").unwrap();
    let o = run(ward().args(["scan", "-d"]).arg(&db).arg(&f));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn old_compiled_set_named_wdb_still_loads_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let ndb = dir.path().join("a.ndb");
    fs::write(&ndb, "Gap.Sig:0:*:6576696c{2-4}636f6465\n").unwrap();
    let set = dir.path().join("a.wardset");
    let o = run(ward()
        .args(["sigs", "compile", "-o"])
        .arg(&set)
        .arg("-d")
        .arg(&ndb));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let old = dir.path().join("old.wdb");
    fs::rename(&set, &old).unwrap();
    let f = target(dir.path());
    let o = run(ward()
        .args(["scan", "--no-summary", "--no-builtin", "-d"])
        .arg(&old)
        .arg(&f));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rename it to .wardset"),
        "{}",
        stderr(&o)
    );
}

/// Build `NAME.cud` version `version` with the real `sigtool --unsigned
/// --build` from `files` (name, text) in a directory of its own under `dir`.
pub fn sigtool_cud(dir: &Path, name: &str, version: u32, files: &[(&str, &str)]) -> PathBuf {
    require("sigtool", "--version", "clamav");
    let work = dir.join(format!("build-{name}-{version}"));
    fs::create_dir_all(&work).unwrap();
    fs::write(work.join("COPYING"), "test databases\n").unwrap();
    for (file, text) in files {
        fs::write(work.join(file), text).unwrap();
    }
    let o = run_with_stdin(
        Command::new("sigtool")
            .current_dir(&work)
            .arg(format!("--build={name}.cud"))
            .args(["--unsigned", "--no-cdiff"])
            .arg(format!("--cvd-version={version}"))
            .arg(format!("--datadir={}", work.display())),
        b"ward-tests\n",
    );
    let out = work.join(format!("{name}.cud"));
    assert!(
        out.is_file(),
        "sigtool --build: {}{}",
        stdout(&o),
        stderr(&o)
    );
    out
}

/// A container's header, space padded to 512 bytes.
fn header(fields: &[&str]) -> Vec<u8> {
    let mut h = fields.join(":").into_bytes();
    assert!(h.len() <= 512);
    h.resize(512, b' ');
    h
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The header fields of a container file.
fn fields_of(file: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(&file[..512])
        .trim_end()
        .split(':')
        .map(str::to_owned)
        .collect()
}

/// The container `cud` with its payload uncompressed (as freshclam leaves a
/// `.cld`) and its header's MD5 `X`; `edit` may change the tar first.
fn as_cld(cud: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    use std::io::Read;
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&cud[512..])
        .read_to_end(&mut tar)
        .unwrap();
    assert!(tar.starts_with(b"COPYING"));
    edit(&mut tar);
    let mut f = fields_of(cud);
    f[5] = "X".into();
    let f: Vec<&str> = f.iter().map(String::as_str).collect();
    let mut out = header(&f);
    out.extend_from_slice(&tar);
    out
}

const NDB: &str = "Gap.Sig:0:*:6576696c{2-4}636f6465\n";

#[test]
fn cud_built_by_sigtool_matches_like_its_loose_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = target(dir.path());
    let hdb = format!(
        "{}:{}:Whole.File\n",
        md5_hex(&fs::read(&f).unwrap()),
        fs::metadata(&f).unwrap().len()
    );
    let files = [
        ("test.ndb", NDB),
        ("test.hdb", hdb.as_str()),
        ("test.pdb", "R:.+\\.bank\\.example\n"),
    ];
    let cud = sigtool_cud(dir.path(), "test", 7, &files);
    let scan = |db: &Path| {
        run(ward()
            .args(["scan", "--no-summary", "--no-builtin", "-z", "-d"])
            .arg(db)
            .arg(&f))
    };
    let packed = scan(&cud);
    let loose = scan(cud.parent().unwrap());
    assert_eq!(packed.status.code(), Some(1), "{}", stderr(&packed));
    assert_eq!(stdout(&packed), stdout(&loose));
    assert!(stdout(&packed).contains("Whole.File FOUND"));
    assert!(stdout(&packed).contains("Gap.Sig FOUND"));
    let err = stderr(&packed);
    assert!(
        err.contains(&format!("{}: 1 phishing", cud.join("test.pdb").display())),
        "{err}"
    );
    // clamscan finds the same in the same container (naming what is not
    // from ClamAV's signed databases `.UNOFFICIAL`).
    let o = run(Command::new("clamscan")
        .args(["--no-summary", "-z", "-d"])
        .arg(&cud)
        .arg(&f));
    let theirs = stdout(&o).replace(".UNOFFICIAL FOUND", " FOUND");
    let mut a: Vec<&str> = theirs.lines().collect();
    let ours = stdout(&packed);
    let mut b: Vec<&str> = ours.lines().collect();
    a.sort();
    a.dedup();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn damaged_containers_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = target(dir.path());
    let cud = sigtool_cud(dir.path(), "test", 3, &[("test.ndb", NDB)]);
    let good = fs::read(&cud).unwrap();
    let refused = |name: &str, bytes: &[u8], why: &str| {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        let o = run(ward().args(["scan", "-d"]).arg(&p).arg(&f));
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{name}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{}: ", p.display())) && err.contains(why),
            "{name}: {err}"
        );
    };
    // One byte of the compressed payload changed: the header's MD5 no longer fits.
    let mut bad = good.clone();
    let last = bad.len() - 9;
    bad[last] ^= 1;
    refused("md5.cud", &bad, "MD5 mismatch");
    // Truncated inside the header.
    refused("short.cud", &good[..300], "too short");
    // The same bytes as a .cvd: it must carry ClamAV's signature. First as
    // sigtool left it (no signature), then with a well-formed one that is not
    // ClamAV's.
    refused("unsigned.cvd", &good, "digital signature does not verify");
    let mut f6 = fields_of(&good);
    f6[6] = "u1zx79ANlYhjROCU1oZTRrgWIeOzEKWpF0i3Qzz5jW9RRuLuW3pHDM2LB28kcAStuzM2lURMP9/diA0Q13qvK4Sx82+HS5aMKbOWtMz3OKPWrnk6A/KbAz+GG8N8bL3yRcTeGTHJn9d8zWL1Lb411Kpid+JYEwszbTMaUIi6xig".into();
    let f6: Vec<&str> = f6.iter().map(String::as_str).collect();
    let mut forged = header(&f6);
    forged.extend_from_slice(&good[512..]);
    refused("forged.cvd", &forged, "digital signature does not verify");
    // Uncompressed as freshclam leaves a .cld: loads; with one byte of a
    // member changed (the .info's SHA-256 no longer fits), refused.
    let raw = as_cld(&good, |_| {});
    let p = dir.path().join("raw.cud");
    fs::write(&p, &raw).unwrap();
    let o = run(ward()
        .args(["scan", "--no-summary", "--no-builtin", "-d"])
        .arg(&p)
        .arg(&f));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let changed = as_cld(&good, |tar| {
        let at = memchr::memmem::find(tar, b"6576696c").unwrap();
        tar[at] = b'7';
    });
    refused(
        "member.cud",
        &changed,
        "does not match its size and SHA-256",
    );
    // A .cld's .info must carry ClamAV's signature; sigtool's unsigned one
    // does not.
    refused("unsigned.cld", &raw, "no digital signature");
}

#[test]
fn newer_of_cvd_and_cld_wins() {
    let dir = tempfile::tempdir().unwrap();
    let f = target(dir.path());
    let db = dir.path().join("db");
    fs::create_dir(&db).unwrap();
    let v5 = fs::read(sigtool_cud(dir.path(), "daily", 5, &[("daily.ndb", NDB)])).unwrap();
    let v6 = fs::read(sigtool_cud(dir.path(), "daily", 6, &[("daily.ndb", NDB)])).unwrap();
    // Neither is signed by ClamAV, so whichever is loaded is refused, naming
    // it: that tells which one was chosen, and the other is not read.
    let cvd = db.join("daily.cvd");
    let cld = db.join("daily.cld");
    for (cvd_bytes, cld_bytes, loaded, left) in [(&v5, &v6, &cld, &cvd), (&v6, &v5, &cvd, &cld)] {
        fs::write(&cvd, cvd_bytes).unwrap();
        fs::write(&cld, as_cld(cld_bytes, |_| {})).unwrap();
        let o = run(ward().args(["scan", "--no-summary", "-d"]).arg(&db).arg(&f));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("{}: ", loaded.display())), "{err}");
        assert!(!err.contains(&left.display().to_string()), "{err}");
        assert!(err.contains("digital signature"), "{err}");
    }
}

/// `cud` rebuilt uncompressed with its build time (header and `.info`) set
/// `days` days back.
fn built_days_ago(cud: &[u8], days: u64) -> Vec<u8> {
    let f = fields_of(cud);
    let secs = f[8].clone();
    let old = (secs.parse::<u64>().unwrap() - days * 86400).to_string();
    assert_eq!(old.len(), secs.len());
    let mut out = as_cld(cud, |tar| {
        let at = memchr::memmem::find(tar, secs.as_bytes()).unwrap();
        tar[at..at + old.len()].copy_from_slice(old.as_bytes());
    });
    let at = memchr::memmem::find(&out[..512], secs.as_bytes()).unwrap();
    out[at..at + old.len()].copy_from_slice(old.as_bytes());
    out
}

#[test]
fn clamav_directory_is_loaded_without_flags() {
    let dir = tempfile::tempdir().unwrap();
    let f = target(dir.path());
    let clamdb = dir.path().join("clamav");
    fs::create_dir(&clamdb).unwrap();
    let cud = sigtool_cud(dir.path(), "daily", 42, &[("daily.ndb", NDB)]);
    fs::copy(&cud, clamdb.join("daily.cud")).unwrap();
    let scan = |extra: &[&str]| {
        run(ward()
            .env("WARD_CLAMAV_DB", &clamdb)
            .arg("scan")
            .args(extra)
            .arg(&f))
    };
    // No flags: the built-in set and the directory, named in the summary.
    let o = scan(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("target.bin: Gap.Sig FOUND"), "{out}");
    let line = format!(
        "Database: {}: version 42, built ",
        clamdb.join("daily.cud").display()
    );
    assert!(out.contains(&line), "{out}");
    let o = scan(&["--json"]);
    let summary: serde_json::Value =
        serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    assert_eq!(summary["databases"][0]["header"]["version"], 42);
    assert_eq!(summary["databases"][0]["kind"], "cud");
    // Left out on request, and when -d names other databases.
    let o = scan(&["--no-clamav-db"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("Database:"));
    let other = dir.path().join("other.hdb");
    fs::write(&other, "0123456789abcdef0123456789abcdef:5:H\n").unwrap();
    let o = scan(&["-d", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // `ward sigs info` names it too.
    let o = run(ward().env("WARD_CLAMAV_DB", &clamdb).args(["sigs", "info"]));
    assert!(stdout(&o).contains("database:     "), "{}", stdout(&o));
    assert!(stdout(&o).contains("version 42"), "{}", stdout(&o));
    // A directory without databases is not used, and is no error.
    fs::remove_file(clamdb.join("daily.cud")).unwrap();
    fs::write(clamdb.join("freshclam.dat"), b"state").unwrap();
    let o = scan(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn fail_if_cvd_older_than() {
    let dir = tempfile::tempdir().unwrap();
    let f = target(dir.path());
    let fresh = sigtool_cud(dir.path(), "daily", 9, &[("daily.ndb", NDB)]);
    let old = dir.path().join("old.cud");
    fs::write(&old, built_days_ago(&fs::read(&fresh).unwrap(), 10)).unwrap();
    let scan = |db: &Path, days: &str| {
        run(ward()
            .args([
                "scan",
                "--no-summary",
                "--fail-if-cvd-older-than",
                days,
                "-d",
            ])
            .arg(db)
            .arg(&f))
    };
    assert_eq!(scan(&fresh, "0").status.code(), Some(1));
    assert_eq!(scan(&old, "10").status.code(), Some(1));
    let o = scan(&old, "9");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}: version 9 was built", old.display())),
        "{err}"
    );
    assert!(err.contains("(10 days ago)"), "{err}");
}

#[test]
fn ignore_lists_by_name_by_entry_md5_and_old_style() {
    let dir = tempfile::tempdir().unwrap();
    let f = target(dir.path());
    let db = dir.path().join("db");
    fs::create_dir(&db).unwrap();
    let entries = [
        "Drop.By.Name:0:*:6576696c",
        "Drop.By.Md5:0:*:6576696c2e",
        "Kept.Other.Md5:0:*:2e636f6465",
        "Drop.Old.Style:0:*:636f6465",
        "Kept:0:*:6865616465",
    ];
    fs::write(db.join("a.ndb"), entries.join("\n") + "\n").unwrap();
    // Named so that they sort after a.ndb: ignore lists still load first.
    let ign2 = format!(
        "Drop.By.Name\nDrop.By.Md5:{}\nKept.Other.Md5:{}\n",
        md5_hex(entries[1].as_bytes()),
        md5_hex(b"something else")
    );
    fs::write(db.join("z.ign2"), ign2).unwrap();
    fs::write(db.join("z.ign"), "a.ndb:4:Drop.Old.Style\n").unwrap();
    let found = |tool: &mut Command| {
        let o = run(tool.arg(&f));
        let mut names: Vec<String> = stdout(&o)
            .lines()
            .filter_map(|l| l.strip_suffix(" FOUND"))
            .map(|l| l.rsplit(": ").next().unwrap().replace(".UNOFFICIAL", ""))
            .collect();
        names.sort();
        // clamscan -z may name a signature once per match.
        names.dedup();
        names
    };
    let ours = found(
        ward()
            .args(["scan", "--no-summary", "--no-builtin", "-z", "-d"])
            .arg(&db),
    );
    assert_eq!(ours, ["Kept", "Kept.Other.Md5"]);
    require("clamscan", "--version", "clamav");
    let theirs = found(
        Command::new("clamscan")
            .args(["--no-summary", "-z", "-d"])
            .arg(&db),
    );
    assert_eq!(ours, theirs);
    // A malformed MD5 is an error with its place.
    fs::write(db.join("z.ign2"), "Drop.By.Md5:xyz\n").unwrap();
    let o = run(ward().args(["sigs", "check"]).arg(&db));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:1:13: 'xyz' is not an MD5",
            db.join("z.ign2").display()
        )),
        "{err}"
    );
}

#[test]
fn pua_databases_only_with_detect_pua() {
    let dir = tempfile::tempdir().unwrap();
    let f = target(dir.path());
    let db = dir.path().join("db");
    fs::create_dir(&db).unwrap();
    fs::write(db.join("a.ndb"), "Plain.Sig:0:*:747261696c6572\n").unwrap();
    fs::write(db.join("p.ndu"), "PUA.Test.Body:0:*:6576696c\n").unwrap();
    let size = fs::metadata(&f).unwrap().len();
    let hdu = format!("{}:{size}:PUA.Test.Hash\n", md5_hex(&fs::read(&f).unwrap()));
    fs::write(db.join("p.hdu"), hdu).unwrap();
    let scan = |pua: bool| {
        let mut c = ward();
        c.args(["scan", "--no-summary", "--no-builtin", "-z"]);
        if pua {
            c.arg("--detect-pua");
        }
        let o = run(c.arg("-d").arg(&db).arg(&f));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        stdout(&o)
    };
    let without = scan(false);
    assert!(
        without.contains("Plain.Sig FOUND") && !without.contains("PUA."),
        "{without}"
    );
    let with = scan(true);
    assert!(with.contains("PUA.Test.Body FOUND"), "{with}");
    assert!(with.contains("PUA.Test.Hash FOUND"), "{with}");
    // As clamscan does.
    require("clamscan", "--version", "clamav");
    let o = run(Command::new("clamscan")
        .args(["--no-summary", "-z", "--detect-pua=yes", "-d"])
        .arg(&db)
        .arg(&f));
    let theirs = stdout(&o);
    assert!(
        theirs.contains("PUA.Test.Body.UNOFFICIAL FOUND"),
        "{theirs}"
    );
    assert!(
        theirs.contains("PUA.Test.Hash.UNOFFICIAL FOUND"),
        "{theirs}"
    );
}
