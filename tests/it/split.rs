//! Large files are searched in pieces in parallel (`Scanner::split_large`, on
//! in `scan_tree`); the matches must be exactly those of one sequential search:
//! the same signatures, offsets and order, with and without `all_matches`.
//! The signatures are planted across the piece boundaries, reach back and
//! forward over them, recur in several pieces, and nearly match elsewhere.
//! Also here: the tree scan's job dispatch survives a panicking callback.

use std::ops::ControlFlow;
use std::sync::Arc;

use ward::{Event, Format, MatchKind, Scanner, SignatureSet, TreeOptions, Verdict, WalkOptions};

use crate::util::{Rng, hex};

const MIB: usize = 1 << 20;
/// Boundaries are planted around the multiples of the parallel search's piece size.
const PIECE: usize = ward::scan::SPLIT_PIECE;

/// A haystack of `len` random bytes and a signature set planted in it.
fn planted(len: usize, seed: u64) -> (Vec<u8>, String) {
    let mut rng = Rng::new(seed);
    let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    let mut sigs = String::new();
    let mut n = 0;
    let mut add = |sigs: &mut String, offset: &str, pattern: String| {
        n += 1;
        sigs.push_str(&format!("Split.{n}:0:{offset}:{pattern}\n"));
    };
    // A token that recurs in every piece: first-match must keep the earliest.
    let token = b"\x13\x37recurring-token\x42";
    for k in 0..len / PIECE {
        let at = k * PIECE + 1000 + rng.urange(0, 999);
        data[at..at + token.len()].copy_from_slice(token);
    }
    add(&mut sigs, "*", hex(token));
    for b in boundaries(len) {
        for d in [-9isize, -5, -3, -2, -1, 0, 1, 2, 3, 7] {
            let c = (b as isize + d) as usize;
            // Exact bytes straddling the boundary.
            add(&mut sigs, "*", hex(&data[c - 6..c + 6]));
            // A bounded gap across it.
            add(
                &mut sigs,
                "*",
                format!(
                    "{}{{5-9}}{}",
                    hex(&data[c - 11..c - 4]),
                    hex(&data[c + 3..c + 8])
                ),
            );
            // An alternation whose real branch is second.
            add(
                &mut sigs,
                "*",
                format!("(ffee|{}){}", hex(&data[c - 2..c]), hex(&data[c..c + 6])),
            );
            // Anchored at its absolute offset, and at a range around it.
            add(&mut sigs, &(c - 4).to_string(), hex(&data[c - 4..c + 4]));
            add(
                &mut sigs,
                &format!("{},20", c - 14),
                hex(&data[c - 4..c + 4]),
            );
            // A near miss: the last byte differs.
            let mut miss = data[c - 5..c + 5].to_vec();
            *miss.last_mut().unwrap() ^= 0x5a;
            add(&mut sigs, "*", hex(&miss));
        }
        // Unbounded gaps reaching a whole piece back and forth.
        let (x, y) = (
            b - PIECE / 2 - rng.urange(0, 999),
            b + PIECE / 3 + rng.urange(0, 999),
        );
        if y + 6 > len || x + 1_500_006 > len {
            continue;
        }
        add(
            &mut sigs,
            "*",
            format!("{}*{}", hex(&data[x..x + 6]), hex(&data[y..y + 6])),
        );
        add(
            &mut sigs,
            "*",
            format!(
                "{}{{-2000000}}{}",
                hex(&data[x + 100..x + 106]),
                hex(&data[x + 1_500_000..x + 1_500_006])
            ),
        );
    }
    // Anchored to the end, in the last piece.
    add(
        &mut sigs,
        &format!("EOF-{}", 40),
        hex(&data[len - 40..len - 30]),
    );
    (data, sigs)
}

/// The piece boundaries signatures are planted across.
fn boundaries(len: usize) -> impl Iterator<Item = usize> {
    (PIECE..len - 16).step_by(PIECE)
}

/// A set of `.ndb` signatures alone.
fn ndb_set(sigs: &str) -> SignatureSet {
    let set = SignatureSet::builder()
        .builtin(false)
        .text(Format::Ndb, "split.ndb", sigs)
        .build();
    set.unwrap()
}

type Found = Vec<(String, u64)>;

fn found(m: &[ward::Match]) -> Found {
    m.iter()
        .map(|m| match m.kind {
            MatchKind::Body { offset } => (m.name.to_string(), offset),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn sequential(set: &SignatureSet, data: &[u8], all: bool) -> Found {
    let mut sc = Scanner::new(set);
    sc.all_matches(all);
    found(&sc.scan_bytes(data))
}

fn pool() -> Option<Arc<rayon::ThreadPool>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build();
    Some(Arc::new(pool.unwrap()))
}

fn in_pieces(set: &SignatureSet, data: &[u8], all: bool) -> Found {
    let mut sc = Scanner::new(set);
    sc.all_matches(all).split_large(pool());
    found(&sc.scan_bytes(data))
}

#[test]
fn pieces_find_what_one_search_finds() {
    for (len, seed) in [(17 * MIB + 12345, 1u64), (9 * MIB, 2), (12 * MIB, 3)] {
        let (data, sigs) = planted(len, seed);
        let set = ndb_set(&sigs);
        for all in [true, false] {
            let want = sequential(&set, &data, all);
            let got = in_pieces(&set, &data, all);
            assert!(!want.is_empty());
            if all {
                // Each boundary planted 50 signatures that match.
                let n = boundaries(len).count();
                assert!(n >= 8 && want.len() > 50 * n, "{} matches", want.len());
            }
            assert_eq!(got, want, "len {len} all_matches {all}");
        }
    }
}

#[test]
fn few_atoms_meet_hits_in_the_same_order_across_piece_ends() {
    // Below 64 atoms the finder is an Aho-Corasick automaton, which reports
    // overlapping hits in order of their end: here `adbe` (starting at the
    // piece boundary) ends before `deadbeef` (starting one byte before it).
    let mut data = vec![0u8; 5 * MIB];
    data[PIECE - 1..PIECE + 3].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    for sigs in [
        "Long:0:*:deadbeef\nShort:0:*:adbe\n",
        "Same:0:*:deadbeef\nSame:0:*:adbe\n",
    ] {
        let set = ndb_set(sigs);
        for all in [true, false] {
            let want = sequential(&set, &data, all);
            assert_eq!(want.first().map(|m| m.1), Some(PIECE as u64 - 1), "{sigs}");
            assert_eq!(
                in_pieces(&set, &data, all),
                want,
                "{sigs} all_matches {all}"
            );
        }
    }
    // And the planted set cut below 64 atoms.
    let (data, sigs) = planted(9 * MIB, 6);
    let few: String = sigs.lines().step_by(12).map(|l| format!("{l}\n")).collect();
    let set = ndb_set(&few);
    assert!(set.info().atoms < 64 && set.info().automaton.contains("aho-corasick"));
    for all in [true, false] {
        let want = sequential(&set, &data, all);
        assert!(!want.is_empty());
        assert_eq!(in_pieces(&set, &data, all), want, "all_matches {all}");
    }
}

#[test]
fn scan_tree_splits_large_files_with_the_same_result() {
    let (data, sigs) = planted(10 * MIB + 777, 4);
    let set = ndb_set(&sigs);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, &data).unwrap();
    for all in [true, false] {
        let want = sequential(&set, &data, all);
        let walk = WalkOptions::new().walk([dir.path().to_path_buf()]).unwrap();
        let mut opts = TreeOptions::default();
        opts.threads = 3;
        opts.all_matches = all;
        let mut got = None;
        ward::scan_tree(&set, walk, &opts, |ev| {
            if let Event::File(r) = ev {
                match r.verdict {
                    Verdict::Infected(m) => got = Some(found(&m)),
                    other => panic!("{other:?}"),
                }
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(got.as_ref(), Some(&want), "all_matches {all}");
    }
}

#[test]
fn digests_beside_pieces_decide_as_before() {
    use md5::Digest as _;
    let (data, sigs) = planted(9 * MIB + 5, 5);
    let md5 = hex(&md5::Md5::digest(&data));
    let sha256 = hex(&sha2::Sha256::digest(&data));
    let hashes = format!("{md5}:{}:Split.Md5\n{sha256}:*:Split.Sha256\n", data.len());
    let other = "00112233445566778899aabbccddeeff:*:Split.Other\n";
    let allow = format!("{sha256}:{}:Allowed\n", data.len());
    let set = |with_hashes: &str, allowed: bool| {
        let mut b = SignatureSet::builder();
        b.builtin(false).text(Format::Ndb, "split.ndb", &sigs).text(
            Format::Hash,
            "split.hdb",
            with_hashes,
        );
        if allowed {
            b.text(Format::Allow, "split.sfp", &allow);
        }
        b.build().unwrap()
    };
    let with_hash = |set: &SignatureSet, all: bool, split: bool| {
        let mut sc = Scanner::new(set);
        sc.all_matches(all)
            .split_large(if split { pool() } else { None });
        sc.scan_bytes(&data)
            .iter()
            .map(|m| (m.name.to_string(), m.kind))
            .collect::<Vec<_>>()
    };
    for (hashes, allowed) in [
        (hashes.as_str(), false),
        (other, false),
        (hashes.as_str(), true),
    ] {
        let set = set(hashes, allowed);
        for all in [true, false] {
            let want = with_hash(&set, all, false);
            assert_eq!(
                with_hash(&set, all, true),
                want,
                "{hashes} allowed {allowed} all {all}"
            );
            match (allowed, hashes == other, all) {
                (true, _, _) => assert!(want.is_empty()),
                (false, false, false) => assert!(matches!(want[..], [(_, MatchKind::Hash { .. })])),
                (false, false, true) => assert!(
                    want.len() > 100
                        && want
                            .iter()
                            .take(2)
                            .all(|m| matches!(m.1, MatchKind::Hash { .. }))
                ),
                (false, true, _) => assert!(
                    !want.is_empty() && want.iter().all(|m| matches!(m.1, MatchKind::Body { .. }))
                ),
            }
        }
    }
}

#[test]
fn a_panicking_per_file_callback_ends_the_tree_scan_instead_of_hanging_it() {
    // More batches than the dispatcher keeps queued (4 per thread), each of
    // whose jobs panics: the panic must come out of scan_tree_with.
    let dir = tempfile::tempdir().unwrap();
    for i in 0..400 {
        std::fs::write(dir.path().join(format!("f{i}")), b"x").unwrap();
    }
    let root = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let set = SignatureSet::builder().builtin(true).build().unwrap();
        let walk = WalkOptions::new().walk([root]).unwrap();
        let mut opts = TreeOptions::default();
        opts.threads = 1;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ward::scan_tree_with(
                &set,
                walk,
                &opts,
                |_: &mut Scanner, _: &std::path::Path| -> ward::FileReport {
                    panic!("per-file failure")
                },
                |_| ControlFlow::Continue(()),
            )
        }));
        let _ = tx.send(outcome.is_err());
    });
    let panicked = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("scan_tree_with hung after its callback panicked");
    assert!(panicked);
}
