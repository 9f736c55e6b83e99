//! ClamAV's own databases as `-d`: the kinds ward does not run are skipped
//! with one warning per file, never fatally; a database that yields nothing is
//! an error; `.cvd`/`.cld`/`.cud` containers are checked and read.

use std::fs;
use std::path::Path;

use crate::util::{run, stderr, stdout, ward};

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
