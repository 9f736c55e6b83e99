//! The quarantine vault, through the binary and the library: acting on the
//! scanned descriptor, crash safety, neutralised payloads, exact metadata,
//! restore rules and hostile vaults.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use ward::quarantine::{RestoreOptions, Target, TargetOpen, Vault};
use ward::{Scanner, SignatureSet, VaultError, Verdict};

use crate::util::{Tmpfs, cannot_run, eicar, hex, os, require, run, stderr, stdout, ward, ward_in};

/// EICAR with a trailer of spaces and tabs that spells `n`: still detected,
/// but every file's bytes are different.
fn eicar_variant(n: u32) -> Vec<u8> {
    let mut v = eicar();
    v.extend((0..16).map(|bit| if n >> bit & 1 == 1 { b'\t' } else { b' ' }));
    v
}

fn list_json(home: &Path) -> Vec<Value> {
    let o = ward_in(home, &[os("quarantine"), os("list"), os("--json")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Quarantine one file through the binary; returns its entry id.
fn quarantine_one(home: &Path, file: &Path) -> String {
    let o = ward_in(
        home,
        &[
            os("scan"),
            os("--quarantine"),
            os("--no-summary"),
            file.as_os_str(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let id = out
        .lines()
        .find_map(|l| {
            l.split_once(": quarantined as ")
                .map(|(_, id)| id.to_owned())
        })
        .unwrap_or_else(|| panic!("no id in {out:?}"));
    assert!(!file.exists(), "{} still exists", file.display());
    id
}

fn builtin_scanner() -> Scanner {
    Scanner::new(&SignatureSet::builtin())
}

#[test]
fn scan_quarantine_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let files = dir.path().join("files");
    fs::create_dir(&files).unwrap();
    fs::write(files.join("bad.com"), eicar()).unwrap();
    fs::write(files.join("good.txt"), b"hello").unwrap();
    let o = ward_in(&home, &[os("scan"), os("--quarantine"), files.as_os_str()]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let bad = files.join("bad.com");
    let found = format!("{}: Eicar-Test-Signature FOUND\n", bad.display());
    let moved = format!("{}: quarantined as ", bad.display());
    let at = out.find(&found).expect(&out);
    assert!(out[at + found.len()..].starts_with(&moved), "{out}");
    assert!(out.contains("Quarantined files: 1"), "{out}");
    assert!(!bad.exists());
    assert_eq!(fs::read(files.join("good.txt")).unwrap(), b"hello");

    let list = list_json(&home);
    assert_eq!(list.len(), 1);
    let e = &list[0];
    for key in [
        "id",
        "path",
        "signatures",
        "size",
        "sha256",
        "quarantined_at",
    ] {
        assert!(e.get(key).is_some(), "{key} missing in {e}");
    }
    assert_eq!(e["path"], bad.to_str().unwrap());
    assert_eq!(e["signatures"][0], "Eicar-Test-Signature");
    assert_eq!(e["size"], 68);
    let t = e["quarantined_at"].as_str().unwrap();
    assert!(
        t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
        "{t}"
    );

    let id = e["id"].as_str().unwrap();
    let o = ward_in(&home, &[os("quarantine"), os("show"), os(id)]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains(&format!("path: {}", bad.display())));
    assert!(stdout(&o).contains("sha256: "));
    let o = ward_in(&home, &[os("quarantine"), os("list")]);
    assert!(stdout(&o).contains(id), "{}", stdout(&o));

    // JSON lines carry the id.
    fs::write(&bad, eicar()).unwrap();
    let o = ward_in(
        &home,
        &[
            os("scan"),
            os("--quarantine"),
            os("--json"),
            bad.as_os_str(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let first: Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(first["status"], "infected");
    let qid = first["quarantine"]["id"].as_str().unwrap();
    assert_eq!(qid.len(), 16);
    assert_ne!(qid, id);
    let summary: Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    assert_eq!(summary["quarantined_files"], 1);
}

#[test]
fn vault_is_private_and_neutralised_for_ward_and_clamscan() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let files = dir.path().join("files");
    fs::create_dir(&files).unwrap();
    let sample = dir.path().join("sample.com");
    fs::write(&sample, eicar()).unwrap();
    for i in 0..5 {
        let f = files.join(format!("x{i}.com"));
        fs::write(&f, eicar_variant(i)).unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let o = ward_in(&home, &[os("scan"), os("--quarantine"), files.as_os_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let vault = home.join("quarantine");
    let meta = fs::symlink_metadata(&vault).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.mode() & 0o7777, 0o700);
    let mut payloads = 0;
    for f in fs::read_dir(&vault).unwrap() {
        let f = f.unwrap();
        let m = f.metadata().unwrap();
        assert_eq!(m.mode() & 0o7777, 0o600, "{:?}", f.path());
        let bytes = fs::read(f.path()).unwrap();
        assert!(
            !bytes.windows(20).any(|w| w == &eicar()[..20]),
            "{:?}",
            f.path()
        );
        if f.path().extension() == Some(OsStr::new("bin")) {
            payloads += 1;
        }
    }
    assert_eq!(payloads, 5);

    // ward finds nothing in the vault.
    let o = run(ward().arg("scan").arg(&vault));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // clamscan, given an EICAR signature, finds the sample but nothing in the vault.
    let db = dir.path().join("eicar.ndb");
    fs::write(&db, format!("Test.Eicar.Ndb:0:0:{}\n", hex(&eicar()))).unwrap();
    require("clamscan", "--version", "clamav");
    let clam = |target: &Path| -> Output {
        run(Command::new("clamscan")
            .args(["--no-summary", "--infected", "-r", "-d"])
            .arg(&db)
            .arg(target))
    };
    let o = clam(&sample);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    // clamscan appends ".UNOFFICIAL" to third-party signature names.
    assert!(stdout(&o).contains(": Test.Eicar.Ndb"), "{}", stdout(&o));
    let o = clam(&vault);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(!stdout(&o).contains("FOUND"), "{}", stdout(&o));
}

#[test]
fn odd_names_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let names: [&[u8]; 4] = [
        b"plain.com",
        b"not-utf8-\xff\xfe.com",
        b"new\nline.com",
        b"esc\x1b[31mred\x1b[0m \xe2\x80\xae.com",
    ];
    for name in names {
        let f = dir.path().join(OsStr::from_bytes(name));
        fs::write(&f, eicar()).unwrap();
        let id = quarantine_one(&home, &f);
        let vault = Vault::open(&home).unwrap();
        assert_eq!(vault.get(&id).unwrap().path, f);
        drop(vault);
        let o = ward_in(&home, &[os("quarantine"), os("list"), os("--json")]);
        let list: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
        let e = list.iter().find(|e| e["id"] == id.as_str()).unwrap();
        if std::str::from_utf8(name).is_err() {
            assert!(e["path_base64"].is_string(), "{e}");
        }
        let o = ward_in(&home, &[os("quarantine"), os("restore"), os(&id)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(fs::read(&f).unwrap(), eicar(), "{:?}", f);
    }
}

#[test]
fn restore_keeps_mode_mtime_owner_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let f = dir.path().join("tool.com");
    fs::write(&f, eicar_variant(7)).unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o751)).unwrap();
    let mtime = SystemTime::UNIX_EPOCH + Duration::new(1_000_000_000, 123_456_789);
    fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let root = fs::metadata(dir.path()).unwrap().uid() == 0;
    if root {
        std::os::unix::fs::chown(&f, Some(1234), Some(5678)).unwrap();
    }
    let id = quarantine_one(&home, &f);

    // Something new appeared where the file was: refused, exit 2, untouched.
    fs::write(&f, b"new content").unwrap();
    let o = ward_in(&home, &[os("quarantine"), os("restore"), os(&id)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(fs::read(&f).unwrap(), b"new content");
    assert!(home.join(format!("quarantine/{id}.json")).exists());

    // Elsewhere with --to, then it is gone from the vault.
    let other = dir.path().join("restored.com");
    let o = ward_in(
        &home,
        &[
            os("quarantine"),
            os("restore"),
            os(&id),
            os("--to"),
            other.as_os_str(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read(&other).unwrap(), eicar_variant(7));
    let m = fs::metadata(&other).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o751);
    assert_eq!(m.modified().unwrap(), mtime);
    if root {
        assert_eq!((m.uid(), m.gid()), (1234, 5678));
    }
    assert!(list_json(&home).is_empty());
    let o = ward_in(&home, &[os("quarantine"), os("restore"), os(&id)]);
    assert_eq!(o.status.code(), Some(2));

    // --force replaces.
    let id = quarantine_one(&home, &other);
    fs::write(&other, b"in the way").unwrap();
    let o = ward_in(
        &home,
        &[os("quarantine"), os("restore"), os(&id), os("--force")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read(&other).unwrap(), eicar_variant(7));
}

#[test]
fn restore_never_follows_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    let f = d.join("a/evil.com");
    fs::create_dir(d.join("a")).unwrap();
    fs::write(&f, eicar()).unwrap();
    let id = quarantine_one(&home, &f);

    // The original directory is now a link to somewhere else.
    let elsewhere = d.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::remove_dir(d.join("a")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, d.join("a")).unwrap();
    for force in [false, true] {
        let mut args = vec![os("quarantine"), os("restore"), os(&id)];
        if force {
            args.push(os("--force"));
        }
        let o = ward_in(&home, &args);
        assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
        assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    }
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);

    // The destination itself is a link: refused without --force; with it, the
    // link is replaced and its target left alone.
    let victim = d.join("victim.txt");
    fs::write(&victim, b"precious").unwrap();
    let dest = d.join("dest.com");
    std::os::unix::fs::symlink(&victim, &dest).unwrap();
    let to = [os("--to"), dest.as_os_str()];
    let o = ward_in(
        &home,
        &[&[os("quarantine"), os("restore"), os(&id)], &to[..]].concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    let o = ward_in(
        &home,
        &[
            &[os("quarantine"), os("restore"), os(&id), os("--force")],
            &to[..],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert!(
        !fs::symlink_metadata(&dest)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(&dest).unwrap(), eicar());
}

#[test]
fn restore_checks_the_sha256_first() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let f = dir.path().join("x.com");
    fs::write(&f, eicar()).unwrap();
    let id = quarantine_one(&home, &f);
    let payload = home.join(format!("quarantine/{id}.bin"));
    let mut bytes = fs::read(&payload).unwrap();
    bytes[10] ^= 1;
    fs::write(&payload, bytes).unwrap();
    let o = ward_in(&home, &[os("quarantine"), os("restore"), os(&id)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("does not match its sha256"),
        "{}",
        stderr(&o)
    );
    assert!(!f.exists());
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
    assert_eq!(list_json(&home).len(), 1, "the entry stays");
}

#[test]
fn restored_with_allow_is_not_reported_again() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let f = dir.path().join("x.com");
    fs::write(&f, eicar_variant(3)).unwrap();
    let id = quarantine_one(&home, &f);
    let o = ward_in(
        &home,
        &[os("quarantine"), os("restore"), os(&id), os("--allow")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let allow = fs::read_to_string(home.join("allow.sfp")).unwrap();
    assert!(allow.starts_with(&format!(
        "{}:{}:",
        list_sha(&eicar_variant(3)),
        eicar_variant(3).len()
    )));
    let o = ward_in(&home, &[os("scan"), f.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains(": OK"));
    // Another EICAR file is still found, and so is this one under another home.
    let g = dir.path().join("y.com");
    fs::write(&g, eicar()).unwrap();
    let o = ward_in(&home, &[os("scan"), g.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    let o = ward_in(&dir.path().join("other"), &[os("scan"), f.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    // An allow list others can write is not used.
    fs::set_permissions(home.join("allow.sfp"), fs::Permissions::from_mode(0o666)).unwrap();
    let o = ward_in(&home, &[os("scan"), f.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not using the allow list"),
        "{}",
        stderr(&o)
    );
}

fn list_sha(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(data))
}

#[test]
fn delete_purge_and_bad_ids() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut ids = Vec::new();
    for i in 0..3 {
        let f = dir.path().join(format!("{i}.com"));
        fs::write(&f, eicar()).unwrap();
        ids.push(quarantine_one(&home, &f));
    }
    let o = ward_in(&home, &[os("quarantine"), os("delete"), os(&ids[0])]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!home.join(format!("quarantine/{}.bin", ids[0])).exists());
    assert_eq!(list_json(&home).len(), 2);
    for bad in ["../../etc/passwd", "0123", &ids[0]] {
        let o = ward_in(&home, &[os("quarantine"), os("show"), os(bad)]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
    }
    let o = ward_in(
        &home,
        &[os("quarantine"), os("purge"), os("--older-than"), os("30d")],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(list_json(&home).len(), 2);
    let o = ward_in(
        &home,
        &[os("quarantine"), os("purge"), os("--older-than"), os("0s")],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).lines().count(), 2);
    assert!(list_json(&home).is_empty());
    assert_eq!(fs::read_dir(home.join("quarantine")).unwrap().count(), 0);
    let o = ward_in(
        &home,
        &[os("quarantine"), os("purge"), os("--older-than"), os("3x")],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// Runs `ward scan --quarantine` on one EICAR file with a prepared home and
/// expects a refusal that names `what`; the file stays.
fn expect_refused(dir: &Path, home: &Path, what: &str) {
    let f = dir.join("keep.com");
    fs::write(&f, eicar()).unwrap();
    let o = ward_in(home, &[os("scan"), os("--quarantine"), f.as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains(what), "{}", stderr(&o));
    assert!(stderr(&o).contains("refusing"), "{}", stderr(&o));
    assert_eq!(fs::read(&f).unwrap(), eicar());
    let o = ward_in(home, &[os("quarantine"), os("list")]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn hostile_vaults_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    fs::create_dir(&home).unwrap();
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();

    // The vault is a link to a directory an attacker chose.
    let trap = d.join("trap");
    fs::create_dir(&trap).unwrap();
    std::os::unix::fs::symlink(&trap, home.join("quarantine")).unwrap();
    expect_refused(d, &home, "symbolic link");
    assert_eq!(fs::read_dir(&trap).unwrap().count(), 0);
    fs::remove_file(home.join("quarantine")).unwrap();

    // The vault is world-writable.
    fs::create_dir(home.join("quarantine")).unwrap();
    fs::set_permissions(home.join("quarantine"), fs::Permissions::from_mode(0o777)).unwrap();
    expect_refused(d, &home, "writable by group or others");
    fs::set_permissions(home.join("quarantine"), fs::Permissions::from_mode(0o700)).unwrap();

    // The home is group-writable.
    fs::set_permissions(&home, fs::Permissions::from_mode(0o770)).unwrap();
    expect_refused(d, &home, "writable by group or others");
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();

    // The home is a link.
    let link = d.join("home-link");
    std::os::unix::fs::symlink(&home, &link).unwrap();
    expect_refused(d, &link, "symbolic link");

    // The vault belongs to someone else (needs root to arrange).
    if fs::metadata(d).unwrap().uid() == 0 {
        std::os::unix::fs::chown(home.join("quarantine"), Some(65534), None).unwrap();
        expect_refused(d, &home, "owned by uid 65534");
        std::os::unix::fs::chown(home.join("quarantine"), Some(0), None).unwrap();
    }

    // Repaired, it works.
    let id = quarantine_one(&home, &d.join("keep.com"));
    assert_eq!(id.len(), 16);
    assert!(matches!(
        Vault::open(&link),
        Err(VaultError::Symlink { .. })
    ));
}

/// Open and scan `path` the way the vault does; the target and its matches.
fn scan_target(sc: &mut Scanner, path: &Path) -> (Target, Vec<ward::Match>) {
    let TargetOpen::File(t) = Target::open(path).unwrap() else {
        panic!("not a file")
    };
    let report = sc.scan_opened(t.opened(), path);
    let Verdict::Infected(m) = report.verdict else {
        panic!("not infected: {report:?}")
    };
    (t, m)
}

/// The layout of the race: `base/dir/evil.com` is scanned; `base/victim/` holds
/// a precious file of the same name.
fn race_layout(base: &Path) -> (PathBuf, PathBuf) {
    fs::create_dir_all(base.join("dir")).unwrap();
    fs::create_dir_all(base.join("victim")).unwrap();
    fs::write(base.join("dir/evil.com"), eicar()).unwrap();
    fs::write(base.join("victim/evil.com"), b"precious").unwrap();
    (base.join("dir/evil.com"), base.join("victim/evil.com"))
}

/// Swap the parent directory for a link to `victim/`, and put another file
/// where the scanned one was in the moved directory.
fn swap(base: &Path) {
    fs::rename(base.join("dir"), base.join("moved")).unwrap();
    std::os::unix::fs::symlink(base.join("victim"), base.join("dir")).unwrap();
    fs::rename(base.join("moved/evil.com"), base.join("moved/scanned.com")).unwrap();
    fs::write(base.join("moved/evil.com"), b"innocent").unwrap();
}

fn assert_untouched(base: &Path) {
    assert_eq!(fs::read(base.join("victim/evil.com")).unwrap(), b"precious");
    assert!(
        fs::symlink_metadata(base.join("dir"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(base.join("moved/evil.com")).unwrap(), b"innocent");
    assert_eq!(fs::read(base.join("moved/scanned.com")).unwrap(), eicar());
}

#[test]
fn swap_between_scan_and_quarantine_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("t");
    let (path, _) = race_layout(&base);
    let vault = Vault::open(dir.path().join("home")).unwrap();
    let mut sc = builtin_scanner();
    let (target, matches) = scan_target(&mut sc, &path);
    swap(&base);
    let err = vault.quarantine(&target, &matches).unwrap_err();
    assert!(matches!(err, VaultError::Changed { .. }), "{err}");
    assert_untouched(&base);
    assert!(vault.list().unwrap().is_empty(), "the entry is rolled back");
}

#[test]
fn swap_inside_the_action_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("t");
    let (path, _) = race_layout(&base);
    let mut vault = Vault::open(dir.path().join("home")).unwrap();
    let b = base.clone();
    vault.set_before_remove_hook(move |_| swap(&b));
    let o = vault.scan_and_quarantine(&mut builtin_scanner(), &path);
    assert!(o.report.is_infected());
    let err = o.quarantine.unwrap().unwrap_err();
    assert!(matches!(err, VaultError::Changed { .. }), "{err}");
    assert_untouched(&base);
    assert!(vault.list().unwrap().is_empty());
}

#[test]
fn parent_swapped_for_a_link_still_takes_only_the_scanned_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("t");
    let (path, victim) = race_layout(&base);
    let mut vault = Vault::open(dir.path().join("home")).unwrap();
    let b = base.clone();
    vault.set_before_remove_hook(move |_| {
        fs::rename(b.join("dir"), b.join("moved")).unwrap();
        std::os::unix::fs::symlink(b.join("victim"), b.join("dir")).unwrap();
    });
    let o = vault.scan_and_quarantine(&mut builtin_scanner(), &path);
    let id = o.quarantine.unwrap().unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert!(
        !base.join("moved/evil.com").exists(),
        "the scanned file went"
    );
    assert_eq!(vault.read(&id).unwrap(), eicar());
}

#[test]
fn symlinked_parents_are_not_walked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("real")).unwrap();
    fs::write(d.join("real/evil.com"), eicar()).unwrap();
    std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
    let err = Target::open(&d.join("link/evil.com")).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    std::os::unix::fs::symlink(d.join("real/evil.com"), d.join("file-link")).unwrap();
    assert!(matches!(
        Target::open(&d.join("file-link")).unwrap(),
        TargetOpen::Special(_)
    ));
    let vault = Vault::open(d.join("home")).unwrap();
    let o = vault.scan_and_quarantine(&mut builtin_scanner(), &d.join("link/evil.com"));
    assert!(matches!(o.report.verdict, Verdict::Error(_)));
    assert!(o.quarantine.is_none());
    assert_eq!(fs::read(d.join("real/evil.com")).unwrap(), eicar());
}

#[test]
fn leftovers_are_cleaned_and_interrupted_entries_completed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    let f = d.join("evil.com");
    fs::write(&f, eicar()).unwrap();
    // A run that committed the entry and died before removing the original.
    let mut vault = Vault::open(&home).unwrap();
    vault.set_before_remove_hook(|_| panic!("simulated crash"));
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        vault.scan_and_quarantine(&mut builtin_scanner(), &f)
    }));
    assert!(crashed.is_err());
    drop(vault);
    assert_eq!(fs::read(&f).unwrap(), eicar());
    // And the debris of others: temporary files, a payload without metadata.
    let q = home.join("quarantine");
    fs::write(q.join(".tmp-00112233aabbccdd.bin"), b"x").unwrap();
    fs::write(q.join("00112233aabbccdd.bin"), b"x").unwrap();
    fs::write(q.join("ffeeddccbbaa0099.json"), b"{}").unwrap();

    let vault = Vault::open(&home).unwrap();
    let mut names: Vec<String> = fs::read_dir(&q)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    let first = vault.list().unwrap();
    assert_eq!(first.len(), 1);
    let o = vault.scan_and_quarantine(&mut builtin_scanner(), &f);
    assert_eq!(
        o.quarantine.unwrap().unwrap(),
        first[0].id,
        "completed, not stored twice"
    );
    assert!(!f.exists());
    assert_eq!(vault.list().unwrap().len(), 1);
}

/// The vault on a tmpfs of the test's own, the file on the temporary
/// directory's filesystem: quarantined by copying, restored the same way.
#[test]
fn works_across_filesystems() {
    let vault_fs = match Tmpfs::mount(16 << 20) {
        Ok(fs) => fs,
        Err(why) => return cannot_run(&why),
    };
    let home = vault_fs.path().join("home");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("evil.com");
    fs::write(&f, eicar()).unwrap();
    assert_ne!(
        fs::metadata(vault_fs.path()).unwrap().dev(),
        fs::metadata(dir.path()).unwrap().dev(),
        "the vault and the file are on different filesystems"
    );
    let id = quarantine_one(&home, &f);
    let o = ward_in(&home, &[os("quarantine"), os("restore"), os(&id)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read(&f).unwrap(), eicar());
}

/// `kill -9` in the middle of quarantining 1,500 files, then a rerun: every
/// file is either in place and intact or in the vault and restorable.
#[test]
fn kill_9_during_quarantine_loses_nothing() {
    const N: u32 = 1500;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let files = dir.path().join("files");
    let path = |i: u32| files.join(format!("{}/f{i}.com", i % 10));
    for i in 0..N {
        let p = path(i);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, eicar_variant(i)).unwrap();
    }
    let q = home.join("quarantine");
    let mut child = ward()
        .arg("--home")
        .arg(&home)
        .args(["scan", "--quarantine", "--no-summary", "-j", "4"])
        .arg(&files)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once a few dozen files are in: well inside the run.
    let start = Instant::now();
    while fs::read_dir(&q).map(|r| r.count()).unwrap_or(0) < 60
        && child.try_wait().unwrap().is_none()
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_micros(200));
    }
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(running, "ward finished before it could be killed");
    check_nothing_lost(&home, N, &path, false);

    // The rerun takes the rest; nothing is stored twice.
    let o = ward_in(
        &home,
        &[
            os("scan"),
            os("--quarantine"),
            os("--no-summary"),
            os("-i"),
            files.as_os_str(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    check_nothing_lost(&home, N, &path, true);
}

fn check_nothing_lost(home: &Path, n: u32, path: &dyn Fn(u32) -> PathBuf, all_in_vault: bool) {
    let vault = Vault::open(home).unwrap(); // finishes or cleans leftovers
    for name in fs::read_dir(vault.path()).unwrap() {
        let name = name.unwrap().file_name();
        let s = name.to_string_lossy();
        assert!(!s.starts_with(".tmp-"), "leftover {s}");
        let (id, ext) = s.split_once('.').unwrap();
        let other = if ext == "bin" { "json" } else { "bin" };
        assert!(
            vault.path().join(format!("{id}.{other}")).exists(),
            "half entry {s}"
        );
    }
    let entries = vault.list().unwrap();
    let mut by_path = std::collections::HashMap::new();
    for e in &entries {
        by_path
            .entry(e.path.clone())
            .or_insert_with(Vec::new)
            .push(e.id.clone());
    }
    for i in 0..n {
        let p = path(i);
        match fs::read(&p) {
            Ok(bytes) => {
                assert!(!all_in_vault, "{} was not taken", p.display());
                assert_eq!(bytes, eicar_variant(i), "{} damaged", p.display());
            }
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
                let ids = by_path
                    .get(&p)
                    .unwrap_or_else(|| panic!("{} lost", p.display()));
                assert_eq!(ids.len(), 1, "{} stored twice", p.display());
                assert_eq!(vault.read(&ids[0]).unwrap(), eicar_variant(i));
            }
        }
    }
    if all_in_vault {
        assert_eq!(entries.len(), n as usize);
        // Every entry restores to identical bytes.
        for e in entries.iter().step_by(97) {
            let back = vault.restore(&e.id, &RestoreOptions::new()).unwrap();
            assert_eq!(back, e.path);
            let i: u32 = e.path.file_stem().unwrap().to_str().unwrap()[1..]
                .parse()
                .unwrap();
            assert_eq!(fs::read(&back).unwrap(), eicar_variant(i));
        }
    }
}

// ---------------------------------------------------------------------------
// Files still being written

/// A writer holds the file open for writing (it wrote the signature and appends
/// more once told to) while `ward scan --quarantine` runs: the file is found but
/// not moved, the refusal is reported, and every byte the writer wrote is in the
/// file afterwards.
#[test]
fn file_open_for_writing_is_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    let file = d.join("growing.com");
    let head = d.join("head");
    let go = d.join("go");
    fs::write(&head, eicar()).unwrap();
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg(
            "cat \"$1\"; while [ ! -e \"$2\" ]; do sleep 0.02; done; \
             head -c 15000 /dev/zero | tr '\\0' x",
        )
        .arg("sh")
        .arg(&head)
        .arg(&go)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&file).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while fs::metadata(&file).unwrap().len() < eicar().len() as u64 {
        assert!(Instant::now() < deadline, "the writer never wrote");
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = ward_in(
        &home,
        &[
            os("scan"),
            os("--quarantine"),
            os("--no-summary"),
            file.as_os_str(),
        ],
    );
    fs::write(&go, b"").unwrap();
    assert!(writer.wait().unwrap().success());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!("{}: Eicar-Test-Signature FOUND\n", file.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}: quarantine failed: {}: file is open for writing; not moved ERROR\n",
            file.display(),
            file.display()
        )),
        "{out}"
    );
    let mut want = eicar();
    want.extend(std::iter::repeat_n(b'x', 15_000));
    assert_eq!(fs::read(&file).unwrap(), want, "nothing lost");
    assert!(list_json(&home).is_empty());
}

/// A writer that opens the file while it is being quarantined (here, between
/// the commit and the unlink) breaks the lease: the entry is rolled back and
/// the file stays.
#[test]
fn writer_opening_during_the_action_removes_nothing() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("evil.com");
    fs::write(&file, eicar()).unwrap();
    let mut vault = Vault::open(d.join("home")).unwrap();
    vault.set_before_remove_hook(|p| {
        // The lease makes a blocking open wait for it; a non-blocking one fails
        // at once but still starts the break, as any writer's open would.
        let opened = fs::OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(p);
        assert_eq!(
            opened.unwrap_err().raw_os_error(),
            Some(libc::EWOULDBLOCK),
            "the lease is held during the action"
        );
    });
    let o = vault.scan_and_quarantine(&mut builtin_scanner(), &file);
    assert!(o.report.is_infected());
    let err = o.quarantine.unwrap().unwrap_err();
    assert!(matches!(err, VaultError::InUse { .. }), "{err}");
    assert_eq!(fs::read(&file).unwrap(), eicar());
    assert!(vault.list().unwrap().is_empty(), "the entry is rolled back");
}

/// Append `n` bytes to `path` (opening and closing it).
fn append(path: &Path, n: usize) {
    use std::io::Write;
    let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(&vec![b'x'; n]).unwrap();
}

/// A file that grows between the scan and the action is not taken: what would
/// be copied is not what was scanned.
#[test]
fn file_grown_between_scan_and_action_is_not_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("evil.com");
    fs::write(&file, eicar()).unwrap();
    let vault = Vault::open(d.join("home")).unwrap();
    let mut sc = builtin_scanner();
    let (target, matches) = scan_target(&mut sc, &file);
    append(&file, 15_000);
    let err = vault.quarantine(&target, &matches).unwrap_err();
    assert!(matches!(err, VaultError::Changed { .. }), "{err}");
    assert_eq!(fs::metadata(&file).unwrap().len(), 68 + 15_000);
    assert!(vault.list().unwrap().is_empty());
}

/// Where no lease can be had, a file that grows between the copy and the
/// unlink is still not removed: its size, mtime and ctime are checked again.
#[test]
fn file_grown_during_the_action_is_not_removed_without_a_lease() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("evil.com");
    fs::write(&file, eicar()).unwrap();
    let mut vault = Vault::open(d.join("home")).unwrap();
    vault.set_use_leases(false);
    vault.set_before_remove_hook(|p| append(p, 15_000));
    let o = vault.scan_and_quarantine(&mut builtin_scanner(), &file);
    let err = o.quarantine.unwrap().unwrap_err();
    assert!(matches!(err, VaultError::Changed { .. }), "{err}");
    let mut want = eicar();
    want.extend(std::iter::repeat_n(b'x', 15_000));
    assert_eq!(fs::read(&file).unwrap(), want);
    assert!(vault.list().unwrap().is_empty(), "the entry is rolled back");
}

// ---------------------------------------------------------------------------
// Permissions

/// As an unprivileged user with a vault of their own: a file below
/// traverse-only (0711) directories is quarantined as it can be removed by
/// path, and restored into a directory the user may write and search but not
/// read.
#[test]
fn quarantine_below_traverse_only_directories_as_nobody() {
    use std::os::unix::fs::chown;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    mode(d, 0o711);
    let bin = d.join("ward");
    fs::copy(env!("CARGO_BIN_EXE_ward"), &bin).unwrap();
    mode(&bin, 0o755);
    let locked = d.join("locked");
    let files = locked.join("files");
    let back = locked.join("back");
    let home = d.join("home");
    for p in [&files, &back, &home] {
        fs::create_dir_all(p).unwrap();
        chown(p, Some(65534), Some(65534)).unwrap();
    }
    mode(&locked, 0o711);
    mode(&home, 0o700);
    mode(&back, 0o300);
    let file = files.join("evil.com");
    fs::write(&file, eicar()).unwrap();
    chown(&file, Some(65534), Some(65534)).unwrap();
    let as_nobody = |args: &[&OsStr]| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .arg("--home")
            .arg(&home)
            .args(args)
            .env(crate::util::NO_CLAMAV_DB.0, crate::util::NO_CLAMAV_DB.1)
            .current_dir("/");
        run(&mut c)
    };
    let o = as_nobody(&[
        os("scan"),
        os("--quarantine"),
        os("--no-summary"),
        file.as_os_str(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let id = out
        .lines()
        .find_map(|l| l.split_once(": quarantined as ").map(|(_, id)| id))
        .unwrap_or_else(|| panic!("not quarantined: {out}"));
    assert!(!file.exists());
    let to = back.join("evil.com");
    let o = as_nobody(&[
        os("quarantine"),
        os("restore"),
        os(id),
        os("--to"),
        to.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(fs::read(&to).unwrap(), eicar());
}

/// Every directory made for the home and the vault is made durable: after each
/// successful `mkdir`, the directory that holds it is fsynced (seen with
/// `strace`, which `scripts/test.sh` installs).
#[test]
fn created_home_and_vault_directories_are_fsynced_in_their_parent() {
    require("strace", "-V", "strace");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("a/b/home");
    let log = d.join("strace.log");
    let o = run(Command::new("strace")
        .args(["-f", "-y", "-qq", "-e", "trace=mkdir,mkdirat,fsync", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_ward"))
        .arg("--home")
        .arg(&home)
        .args(["quarantine", "list"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(home.join("quarantine").is_dir());
    let text = fs::read_to_string(&log).unwrap();
    // `mkdir("P", …) = 0`, `mkdirat(AT_FDCWD, "P", …) = 0` or
    // `mkdirat(N</DIR>, "NAME", …) = 0`; `fsync(N</DIR>) = 0`.
    let quoted = |s: &str| s.split('"').nth(1).map(str::to_owned);
    let fd_path = |s: &str| {
        let start = s.find('<')? + 1;
        Some(s[start..start + s[start..].find('>')?].to_owned())
    };
    let mut made = Vec::new();
    let mut synced = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if !line.ends_with("= 0") {
            continue;
        }
        let call = line.split_once(' ').map_or(line, |(_, c)| c).trim_start();
        if call.starts_with("mkdir(") || call.starts_with("mkdirat(AT_FDCWD,") {
            made.push((i, PathBuf::from(quoted(call).unwrap())));
        } else if call.starts_with("mkdirat(") {
            let at = PathBuf::from(fd_path(call).unwrap());
            made.push((i, at.join(quoted(call).unwrap())));
        } else if call.starts_with("fsync(") {
            synced.push((i, PathBuf::from(fd_path(call).unwrap())));
        }
    }
    let want: Vec<PathBuf> = ["a", "a/b", "a/b/home", "a/b/home/quarantine"]
        .iter()
        .map(|p| d.join(p))
        .collect();
    let made_paths: Vec<&PathBuf> = made.iter().map(|(_, p)| p).collect();
    assert_eq!(made_paths, want.iter().collect::<Vec<_>>(), "{text}");
    for (i, p) in &made {
        let parent = p.parent().unwrap();
        assert!(
            synced.iter().any(|(j, s)| j > i && s == parent),
            "{} is not fsynced after {} was made:\n{text}",
            parent.display(),
            p.display()
        );
    }
}
