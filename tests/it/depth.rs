//! Files at any depth: below a path longer than `PATH_MAX`, a file is found,
//! quarantined, listed and restored; a tree 100,000 levels deep is walked with
//! a handful of descriptors and no recursion.
//!
//! The trees are built and read with `openat` relative to the last directory,
//! since no path to their bottom can be handed to the kernel.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{CWD, Mode, OFlags};
use serde_json::Value;

use crate::util::{eicar, os, run, stdout, ward, ward_in};

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// The directory `depth` levels of `d` below `root`, opened.
pub(crate) fn descend(root: &Path, depth: usize, create: bool) -> OwnedFd {
    let mut fd = rustix::fs::openat(CWD, root, DIR_FLAGS, Mode::empty()).unwrap();
    for _ in 0..depth {
        if create {
            rustix::fs::mkdirat(&fd, "d", Mode::from_raw_mode(0o755)).unwrap();
        }
        fd = rustix::fs::openat(&fd, "d", DIR_FLAGS, Mode::empty()).unwrap();
    }
    fd
}

/// `root/d/d/…/d/name` with `depth` directories: the path ward prints.
pub(crate) fn deep_path(root: &Path, depth: usize, name: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    p.push("d/".repeat(depth));
    p.push(name);
    p
}

pub(crate) fn write_at(dir: &OwnedFd, name: &str, bytes: &[u8]) {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o640)).unwrap();
    assert_eq!(rustix::io::write(&fd, bytes).unwrap(), bytes.len());
}

/// The bytes of `name` in `dir`, or `None` when there is no such file.
pub(crate) fn read_at(dir: &OwnedFd, name: &str) -> Option<Vec<u8>> {
    let fd = match rustix::fs::openat(dir, name, OFlags::RDONLY, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return None,
        Err(e) => panic!("{name}: {e}"),
    };
    Some(
        std::io::read_to_string(std::fs::File::from(fd))
            .unwrap()
            .into_bytes(),
    )
}

/// Remove a deep tree: `rm` walks by descriptor too (std's `remove_dir_all`
/// would recurse once per level). Removing 100,000 levels is slow work for
/// the filesystem, much slower on a loaded machine: it gets ten minutes.
pub(crate) fn remove_tree(root: &Path) {
    let out = crate::util::run_within(
        std::process::Command::new("rm").arg("-rf").arg(root),
        std::time::Duration::from_secs(600),
    );
    assert!(out.status.success(), "rm -rf {}", root.display());
}

/// Removes a deep tree when dropped, before the temporary directory that
/// holds it is removed recursively, also when a test fails: otherwise the
/// failure would end in a stack overflow of the test process, its message
/// lost.
pub(crate) struct RemoveOnDrop(pub PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rm")
            .arg("-rf")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn eicar_below_path_max_is_found_quarantined_listed_and_restored() {
    const DEPTH: usize = 3000;
    let tmp = tempfile::tempdir().unwrap();
    let (root, home) = (tmp.path().join("tree"), tmp.path().join("home"));
    std::fs::create_dir(&root).unwrap();
    let _cleanup = RemoveOnDrop(root.clone());
    let bottom = descend(&root, DEPTH, true);
    write_at(&bottom, "eicar.com", &eicar());
    let expect = deep_path(&root, DEPTH, "eicar.com");
    assert!(
        expect.as_os_str().len() > 4096,
        "the path must exceed PATH_MAX"
    );

    // The tree walk finds it, and prints its path whole.
    let out = run(ward().arg("scan").arg("--no-summary").arg(&root));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let found = format!("{}: Eicar-Test-Signature FOUND\n", expect.display());
    assert_eq!(stdout(&out), found);

    // So does the path itself, given on the command line, and the JSON report
    // carries it exactly.
    let out = run(ward().args(["scan", "--json", "--no-summary"]).arg(&expect));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let line: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(line["path"], expect.to_str().unwrap(), "{line}");

    // Quarantined: gone from the tree, listed in the vault under its path.
    let out = ward_in(&home, &[os("scan"), os("--quarantine"), root.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(read_at(&bottom, "eicar.com"), None, "still in the tree");
    let out = ward_in(&home, &[os("quarantine"), os("list"), os("--json")]);
    assert!(out.status.success());
    let list: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["path"], expect.to_str().unwrap());

    // Restored byte for byte, with its mode.
    let id = list[0]["id"].as_str().unwrap();
    let out = ward_in(&home, &[os("quarantine"), os("restore"), OsStr::new(id)]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert_eq!(read_at(&bottom, "eicar.com"), Some(eicar()));
    let st = rustix::fs::statat(&bottom, "eicar.com", rustix::fs::AtFlags::empty()).unwrap();
    assert_eq!(st.st_mode & 0o7777, 0o640);
    drop(bottom);
    remove_tree(&root);
}

#[test]
fn a_tree_100000_levels_deep_is_walked_with_64_descriptors() {
    const DEPTH: usize = 100_000;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    std::fs::create_dir(&root).unwrap();
    let _cleanup = RemoveOnDrop(root.clone());
    let bottom = descend(&root, DEPTH, true);
    write_at(&bottom, "eicar.com", &eicar());
    drop(bottom);
    // A file half way down, met on the way down, and one at the top, met
    // after coming back up through every level.
    write_at(
        &descend(&root, DEPTH / 2, false),
        "clean.txt",
        b"nothing here",
    );
    write_at(&descend(&root, 1, false), "top.txt", b"nor here");

    // With at most 64 descriptors, a walk that held one per level would fail
    // at level ~60; one that recursed per level would overflow its stack.
    // A generous deadline: the tree's paths add up to 10 GB of text to
    // build, and the machine may be busy with other tests.
    let out = crate::util::run_within(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -n 64 && exec "$0" scan --json "$1""#)
            .arg(env!("CARGO_BIN_EXE_ward"))
            .arg(&root)
            .env(crate::util::NO_CLAMAV_DB.0, crate::util::NO_CLAMAV_DB.1),
        std::time::Duration::from_secs(300),
    );
    assert_eq!(out.status.code(), Some(1), "{}", crate::util::stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(
        summary["scanned_directories"],
        DEPTH as u64 + 1,
        "{summary}"
    );
    assert_eq!(summary["scanned_files"], 3, "{summary}");
    let infected: Vec<&Value> = lines.iter().filter(|l| l["status"] == "infected").collect();
    assert_eq!(infected.len(), 1, "{lines:?}");
    let expect = deep_path(&root, DEPTH, "eicar.com");
    assert_eq!(infected[0]["path"], expect.to_str().unwrap());

    // The library's walk: never more than `HELD` descriptors, every directory
    // and file seen once, no errors.
    let mut walk = ward::WalkOptions::new().walk([root.clone()]).unwrap();
    let (mut dirs, mut files, mut most) = (0, 0, 0);
    while let Some(entry) = walk.next() {
        most = most.max(walk.held());
        match entry {
            ward::walk::Entry::Dir(_) => dirs += 1,
            ward::walk::Entry::File(_) => files += 1,
            ward::walk::Entry::Other(p) => panic!("{}: not a regular file", p.display()),
            ward::walk::Entry::Error(p, e) => panic!("{}: {e}", p.display()),
        }
    }
    assert_eq!((dirs, files), (DEPTH + 1, 3));
    assert_eq!(most, ward::walk::HELD);
    remove_tree(&root);
}

/// Every entry of a library walk, errors as text.
fn walk_all(walk: &mut ward::walk::Walk) -> (usize, Vec<PathBuf>, Vec<String>) {
    let (mut dirs, mut files, mut errors) = (0, Vec::new(), Vec::new());
    while let Some(entry) = walk.next() {
        assert!(walk.held() <= ward::walk::HELD);
        match entry {
            ward::walk::Entry::Dir(_) => dirs += 1,
            ward::walk::Entry::File(p) | ward::walk::Entry::Other(p) => files.push(p),
            ward::walk::Entry::Error(p, e) => errors.push(format!("{}: {e}", p.display())),
        }
    }
    (dirs, files, errors)
}

#[test]
fn a_deep_tree_below_a_followed_link_is_walked_back_up() {
    // root/u holds a file and a link to a chain 60 levels deep: coming back up
    // from it, `u` cannot be reopened as `..` of the link's target (that is
    // the target's own parent) and is reopened from the root down.
    let tmp = tempfile::tempdir().unwrap();
    let (root, chain) = (tmp.path().join("root"), tmp.path().join("chain"));
    std::fs::create_dir_all(root.join("u")).unwrap();
    std::fs::write(root.join("u/a.txt"), b"a").unwrap();
    std::fs::create_dir(&chain).unwrap();
    write_at(&descend(&chain, 60, true), "z.txt", b"z");
    std::os::unix::fs::symlink(&chain, root.join("u/l")).unwrap();
    std::fs::write(root.join("b.txt"), b"b").unwrap();

    let mut opts = ward::WalkOptions::new();
    let (dirs, mut files, errors) =
        walk_all(&mut opts.follow_symlinks(true).walk([root.clone()]).unwrap());
    files.sort();
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(
        dirs,
        1 + 1 + 1 + 60,
        "root, u, the link's target, its chain"
    );
    let mut expect = vec![
        root.join("b.txt"),
        root.join("u/a.txt"),
        deep_path(&root.join("u/l"), 60, "z.txt"),
    ];
    expect.sort();
    assert_eq!(files, expect);

    // Not following it, the link is reported as what it is.
    let (dirs, files, _) = walk_all(&mut ward::WalkOptions::new().walk([root.clone()]).unwrap());
    assert_eq!(dirs, 2);
    assert!(files.contains(&root.join("u/l")), "{files:?}");
}

#[test]
fn a_directory_moved_during_the_walk_is_reported_not_misread() {
    // Walk 40 levels below root/a/b, then move b away: going back up, `a`
    // (whose descriptor was let go) would be reopened as `..` of b, which is
    // now another directory. The walk must say so, not walk that one as `a`.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::create_dir(root.join("c")).unwrap();
    drop(descend(&root.join("a/b"), 40, true));
    let mut walk = ward::WalkOptions::new().walk([root.clone()]).unwrap();
    let bottom = deep_path(&root.join("a/b"), 40, "");
    let bottom = bottom.to_str().unwrap().trim_end_matches('/');
    loop {
        match walk.next().expect("the walk ended before the bottom") {
            ward::walk::Entry::Dir(p) if p == Path::new(bottom) => break,
            ward::walk::Entry::Error(p, e) => panic!("{}: {e}", p.display()),
            _ => {}
        }
    }
    std::fs::rename(root.join("a/b"), root.join("c/b")).unwrap();
    let (_, _, errors) = walk_all(&mut walk);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("moved or replaced during the walk"),
        "{errors:?}"
    );
}
