//! Logical signatures (`.ldb`) against clamscan: generated sets covering
//! `&`, `|`, parentheses, every count form on subsignatures and on blocks,
//! the `::i`, `::w`, `::a` modifiers, and patterns with wildcards, gaps and
//! alternatives; on files with planted instances (several of each, for the
//! counts) and near misses. Both scanners must report the same (file,
//! signature) pairs.
//!
//! Files are binary (they start with NULs; control and high bytes around the
//! instances), as ClamAV also scans a normalised or decoded copy of what it
//! takes for text, which ward does not.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{Rng, require, run_within, stderr, stdout, ward};

/// One subsignature: its text in the database, and how to make an instance
/// of it (or a near miss).
struct Sub {
    text: String,
    parts: Vec<Part>,
    nocase: bool,
    wide: bool,
}

enum Part {
    Byte(u8),
    Any,
    Gap(usize, usize),
    Alt(Vec<Vec<u8>>),
}

/// Letters and digits: never in the filler, so instances do not appear by
/// chance.
fn letter(rng: &mut Rng) -> u8 {
    const SET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789";
    SET[rng.below(SET.len() as u64) as usize]
}

fn filler(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| match rng.below(3) {
            0 => 0,
            1 => rng.below(0x20) as u8,
            _ => 0x80 + rng.below(0x80) as u8,
        })
        .collect()
}

fn gen_sub(rng: &mut Rng) -> Sub {
    let wide = rng.chance(15);
    let nocase = !wide && rng.chance(20);
    let mut parts = Vec::new();
    let mut text = String::new();
    // Runs of 2 or 3 fixed bytes, with a wildcard, a gap or an alternative
    // between two runs (ClamAV wants 2 fixed bytes on each side of a gap);
    // wide patterns are fixed bytes only.
    let runs = if wide { 1 } else { rng.urange(1, 3) };
    for r in 0..runs {
        if r > 0 {
            match rng.below(3) {
                0 => {
                    parts.push(Part::Any);
                    text.push_str("??");
                }
                1 => {
                    let (lo, hi) = (rng.urange(0, 3), rng.urange(3, 6));
                    parts.push(Part::Gap(lo, hi));
                    text.push_str(&format!("{{{lo}-{hi}}}"));
                }
                _ => {
                    let alts: Vec<Vec<u8>> =
                        (0..2).map(|_| vec![letter(rng), letter(rng)]).collect();
                    let hex: Vec<String> = alts
                        .iter()
                        .map(|a| a.iter().map(|b| format!("{b:02x}")).collect())
                        .collect();
                    text.push_str(&format!("({})", hex.join("|")));
                    parts.push(Part::Alt(alts));
                }
            }
        }
        for _ in 0..rng.urange(2, 3) + usize::from(wide) * 2 {
            let b = letter(rng);
            parts.push(Part::Byte(b));
            text.push_str(&format!("{b:02x}"));
        }
    }
    let mods = match (nocase, wide) {
        (true, _) => "::i",
        (_, true) if rng.chance(50) => "::wa",
        (_, true) => "::w",
        _ => "",
    };
    text.push_str(mods);
    let wide_only = mods == "::w";
    Sub {
        text,
        parts,
        nocase,
        wide: wide_only || (mods == "::wa" && rng.chance(50)),
    }
}

/// An instance of `s` (or, with `miss`, the same with its last byte changed).
fn instance(rng: &mut Rng, s: &Sub, miss: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for p in &s.parts {
        match p {
            Part::Byte(b) => {
                let b = if s.nocase && b.is_ascii_alphabetic() && rng.chance(50) {
                    b ^ 0x20
                } else {
                    *b
                };
                out.push(b);
            }
            Part::Any => out.push(letter(rng)),
            Part::Gap(lo, hi) => {
                let n = rng.urange(*lo, *hi);
                out.extend((0..n).map(|_| letter(rng)));
            }
            Part::Alt(alts) => out.extend_from_slice(&alts[rng.below(2) as usize]),
        }
    }
    if miss {
        let last = out.len() - 1;
        out[last] = b'!';
    }
    if s.wide {
        out = out.iter().flat_map(|&b| [b, 0]).collect();
    }
    out
}

/// A count on a subsignature or a block.
fn count(rng: &mut Rng, block: bool) -> String {
    let op = ["=", ">", "<"][rng.below(3) as usize];
    let n = rng.range(0, 3);
    if block && rng.chance(50) {
        format!("{op}{n},{}", rng.range(1, 2))
    } else {
        format!("{op}{n}")
    }
}

/// An expression over the subsignatures `ids`.
fn expr(rng: &mut Rng, ids: &[usize]) -> String {
    if ids.len() == 1 {
        return match rng.chance(30) {
            true => format!("{}{}", ids[0], count(rng, false)),
            false => ids[0].to_string(),
        };
    }
    let cut = rng.urange(1, ids.len() - 1);
    let op = if rng.chance(50) { "&" } else { "|" };
    let (l, r) = (expr(rng, &ids[..cut]), expr(rng, &ids[cut..]));
    match rng.below(4) {
        0 => format!("({l}{op}{r}){}", count(rng, true)),
        1 => format!("{l}{op}{r}"),
        _ => format!("({l}{op}{r})"),
    }
}

fn hits(out: &str, root: &Path) -> BTreeSet<(String, String)> {
    out.lines()
        .filter_map(|l| l.strip_suffix(" FOUND"))
        .filter_map(|l| {
            let (path, name) = l.rsplit_once(": ")?;
            let file = Path::new(path).strip_prefix(root).ok()?;
            let name = name.strip_suffix(".UNOFFICIAL").unwrap_or(name);
            Some((file.display().to_string(), name.to_owned()))
        })
        .collect()
}

#[test]
fn generated_logical_signatures_agree_with_clamscan() {
    require("clamscan", "--version", "clamav");
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    fs::create_dir(&files).unwrap();
    let mut total = 0;
    for seed in 0..12u64 {
        let mut rng = Rng::new(0x1db_0000 + seed);
        let mut lines = Vec::new();
        let mut sigs = Vec::new();
        for s in 0..40 {
            let k = rng.urange(1, 4);
            let subs: Vec<Sub> = (0..k).map(|_| gen_sub(&mut rng)).collect();
            let mut ids: Vec<usize> = (0..k).collect();
            rng.shuffle(&mut ids);
            let e = expr(&mut rng, &ids);
            let texts: Vec<&str> = subs.iter().map(|s| s.text.as_str()).collect();
            lines.push(format!(
                "Gen.{seed}.{s};Engine:81-255,Target:0;{e};{}",
                texts.join(";")
            ));
            sigs.push(subs);
        }
        let db = dir.path().join(format!("gen{seed}.ldb"));
        fs::write(&db, lines.join("\n") + "\n").unwrap();
        // Each file plants instances (0 to 3 of each) of one signature's
        // subsignatures, or near misses, or those of two signatures.
        for f in 0..30 {
            // Eight NULs first: ClamAV types the file as binary data (other
            // starts can make it UTF-16 text, scanned once more decoded).
            let mut data = vec![0u8; 8];
            for _ in 0..rng.urange(1, 2) {
                let subs = &sigs[rng.below(sigs.len() as u64) as usize];
                for s in subs {
                    for _ in 0..rng.range(0, 3) {
                        let miss = rng.chance(15);
                        let n = rng.urange(1, 12);
                        data.extend(filler(&mut rng, n));
                        data.extend(instance(&mut rng, s, miss));
                    }
                }
            }
            data.extend(filler(&mut rng, 8));
            fs::write(files.join(format!("s{seed}-f{f:02}")), data).unwrap();
        }
        let o = run_within(
            Command::new("clamscan")
                .args(["--no-summary", "-z", "-r", "-d"])
                .arg(&db)
                .arg(&files),
            std::time::Duration::from_secs(120),
        );
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "clamscan: {}",
            stderr(&o)
        );
        let theirs = hits(&stdout(&o), &files);
        let o = run_within(
            ward()
                .args(["scan", "--no-summary", "--no-builtin", "-z", "-d"])
                .arg(&db)
                .arg(&files),
            std::time::Duration::from_secs(120),
        );
        assert!(
            !stderr(&o).contains("warning"),
            "every generated signature is read: {}",
            stderr(&o)
        );
        let ours = hits(&stdout(&o), &files);
        let only_ours: Vec<_> = ours.difference(&theirs).collect();
        let only_theirs: Vec<_> = theirs.difference(&ours).collect();
        assert!(
            only_ours.is_empty() && only_theirs.is_empty(),
            "seed {seed}: only ward {only_ours:?}, only clamscan {only_theirs:?}\n{}",
            lines.join("\n")
        );
        total += ours.len();
        for f in fs::read_dir(&files).unwrap() {
            fs::remove_file(f.unwrap().path()).unwrap();
        }
    }
    // The sets are not trivially empty.
    assert!(total > 40, "only {total} detections");
}
