//! The normalised text view against clamscan with its normalisers on (no
//! `--scan-*=no` switch): text files in ASCII, UTF-8 and UTF-16 (either byte
//! order, with and without a byte-order mark) carry planted instances of
//! target type 0 and 7 signatures (and type 1, which never matches text),
//! taken from `benches/data/bench.ndb` and made up here, exact, in other
//! letter case, and with their spaces widened to runs of white space. Both
//! scanners must report the same (file, signature) set, and every instance
//! planted in a way the view keeps must be found.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::clamav_diff::{Hits, parse_hits};
use crate::util::{Rng, hex, require, run};

const SEED: u64 = 0x7e47_f1e3_5eed_0007;
const FILES: usize = 72;

struct Sig {
    name: String,
    target: u8,
    /// The signature's bytes (lower-case printable ASCII, single spaces).
    text: Vec<u8>,
}

fn word(rng: &mut Rng) -> Vec<u8> {
    let n = 2 + rng.below(8) as usize;
    (0..n).map(|_| b'a' + rng.below(26) as u8).collect()
}

fn signatures(rng: &mut Rng) -> Vec<Sig> {
    let mut sigs = Vec::new();
    // Real ones whose pattern is plain lower-case text.
    let bench = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/bench.ndb"),
    )
    .unwrap();
    let plain: Vec<Vec<u8>> = bench
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let bytes = (f.len() >= 4 && f[1] == "0" && f[2] == "*")
                .then(|| decode_hex(f[3]))
                .flatten()?;
            let ok = bytes.len() >= 6
                && bytes
                    .iter()
                    .all(|&b| (0x21..0x7f).contains(&b) && !b.is_ascii_uppercase() || b == b' ')
                && !bytes.windows(2).any(|w| w == b"  ")
                && bytes[0] != b' '
                && bytes[bytes.len() - 1] != b' ';
            ok.then_some(bytes)
        })
        .collect();
    assert!(plain.len() > 100, "bench.ndb has too few text signatures");
    for k in 0..24 {
        let text = plain[rng.below(plain.len() as u64) as usize].clone();
        let target = [0, 0, 7, 1][k % 4];
        sigs.push(Sig {
            name: format!("Bench{k}.T{target}"),
            target,
            text,
        });
    }
    // Made-up phrases of two or three words.
    for k in 0..24 {
        let mut text = word(rng);
        for _ in 0..1 + rng.below(2) {
            text.push(b' ');
            text.extend(word(rng));
        }
        let target = [0, 7, 7, 1][k % 4];
        sigs.push(Sig {
            name: format!("Made{k}.T{target}"),
            target,
            text,
        });
    }
    sigs
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    (s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
                .collect()
        })
        .flatten()
}

/// An instance of `text`: as it is, in other letter case, or with each space
/// widened to a run of white space.
fn variant(rng: &mut Rng, text: &[u8]) -> Vec<u8> {
    match rng.below(3) {
        0 => text.to_vec(),
        1 => text
            .iter()
            .map(|&b| match rng.below(2) {
                0 => b.to_ascii_uppercase(),
                _ => b,
            })
            .collect(),
        _ => {
            let mut out = Vec::new();
            for &b in text {
                match b {
                    b' ' => out
                        .extend_from_slice([&b" \t "[..], b"\r\n", b"   "][rng.below(3) as usize]),
                    _ => out.push(b),
                }
            }
            out
        }
    }
}

/// Filler text: words in mixed case, separated by white space.
fn filler(rng: &mut Rng, words: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..words {
        let mut w = word(rng);
        if rng.below(4) == 0 {
            w[0] = w[0].to_ascii_uppercase();
        }
        out.extend(w);
        out.extend_from_slice([&b" "[..], b"  ", b"\n", b"\t", b"\r\n"][rng.below(5) as usize]);
    }
    out
}

fn encode(kind: usize, text: &[u8]) -> Vec<u8> {
    let units = || text.iter().map(|&b| u16::from(b));
    match kind {
        0 => text.to_vec(),
        // UTF-8: an accented letter before each line break.
        1 => text
            .iter()
            .flat_map(|&b| match b {
                b'\n' => vec![0xc3, 0xa9, b'\n'],
                _ => vec![b],
            })
            .collect(),
        2 => [0xff, 0xfe]
            .into_iter()
            .chain(units().flat_map(u16::to_le_bytes))
            .collect(),
        3 => [0xfe, 0xff]
            .into_iter()
            .chain(units().flat_map(u16::to_be_bytes))
            .collect(),
        4 => units().flat_map(u16::to_le_bytes).collect(),
        _ => units().flat_map(u16::to_be_bytes).collect(),
    }
}

const KINDS: [&str; 6] = [
    "ascii",
    "utf8",
    "utf16le-bom",
    "utf16be-bom",
    "utf16le",
    "utf16be",
];

#[test]
fn text_views_agree_with_clamscan() {
    require("clamscan", "--version", "clamav");
    let mut rng = Rng::new(SEED);
    let sigs = signatures(&mut rng);
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let mut db = String::new();
    for s in &sigs {
        writeln!(db, "{}:{}:*:{}", s.name, s.target, hex(&s.text)).unwrap();
    }
    let db_path = dir.path().join("views.ndb");
    std::fs::write(&db_path, db).unwrap();

    // What the view must hold: (file, signature) for each instance the
    // normalised text keeps whole (every variant, since it lowers case and
    // collapses white space).
    let mut planted = Hits::new();
    for f in 0..FILES {
        let kind = f % KINDS.len();
        let mut text = b"note ".to_vec();
        let words = 20 + rng.below(300) as usize;
        text.extend(filler(&mut rng, words));
        for _ in 0..rng.below(4) {
            let s = &sigs[rng.below(sigs.len() as u64) as usize];
            text.extend(variant(&mut rng, &s.text));
            text.push(b' ');
            let words = rng.below(40) as usize;
            text.extend(filler(&mut rng, words));
            if s.target != 1 {
                planted.insert((format!("{f:02}.{}", KINDS[kind]), s.name.clone()));
            }
        }
        std::fs::write(
            files.join(format!("{f:02}.{}", KINDS[kind])),
            encode(kind, &text),
        )
        .unwrap();
    }

    let clam = run(Command::new("clamscan")
        .args(["--allmatch", "--no-summary", "-i", "-d"])
        .arg(&db_path)
        .arg(&files));
    let clam_hits = parse_hits("clamscan", &clam, ".UNOFFICIAL");
    let ward = run(Command::new(env!("CARGO_BIN_EXE_ward"))
        .args([
            "scan",
            "--no-builtin",
            "--all-matches",
            "--no-summary",
            "-i",
            "-d",
        ])
        .arg(&db_path)
        .arg(&files));
    let ward_hits = parse_hits("ward", &ward, "");

    let missing: Vec<_> = planted.difference(&clam_hits).collect();
    assert!(
        missing.is_empty(),
        "clamscan did not find planted {missing:?}"
    );
    let only_clam: Vec<_> = clam_hits.difference(&ward_hits).collect();
    let only_ward: Vec<_> = ward_hits.difference(&clam_hits).collect();
    assert!(
        only_clam.is_empty() && only_ward.is_empty(),
        "clamscan only: {only_clam:?}\nward only: {only_ward:?}"
    );
    let utf16 = clam_hits
        .iter()
        .filter(|(f, _)| f.contains("utf16"))
        .count();
    assert!(utf16 > 10, "too few detections in UTF-16 files: {utf16}");
    eprintln!(
        "text views: {} detections agree ({utf16} in UTF-16 files)",
        clam_hits.len()
    );
}
