//! Differential test against ClamAV itself: the same `.ndb` signatures and the
//! same files go through `clamscan` (the reference) and `ward scan`, and the two
//! sets of (file, signature) detections must be equal.
//!
//! Two databases are generated from a fixed seed:
//!
//! - a sample of the real signatures in `benches/data/bench.ndb`, biased
//!   towards the ones using wildcards, nibbles and gaps;
//! - signatures made up here that use every hex feature ward supports (exact
//!   bytes, `??`, `a?`, `?a`, `*`, `{n}`, `{-n}`, `{n-}`, `{n-m}`, `(aa|bb)`,
//!   `(aabb|ccdd)`, `!(aa|bb)`, `!(aabb|ccdd)`, variable-length alternatives and
//!   alternatives with nibbles) under the offsets `*`, `n`, `n,shift`, `EOF-n`
//!   and `EOF-n,shift`.
//!
//! Then files of random bytes get concrete instances of 0-3 signatures planted
//! where their offsets allow, and near misses: one significant byte changed, a
//! negated window set to an excluded alternative, the instance one to three
//! bytes outside its offset range, only a prefix of it, or its last byte cut
//! off by the end of the file. A few files are larger than clamscan's 128 KiB
//! scan buffer. Every real instance must be found by clamscan, so the test
//! notices when the generator drifts from what ClamAV means.
//!
//! clamscan runs with every file-type handler off (`--scan-*=no`): otherwise it
//! retypes random binary data that happens to contain `<a href` or `<table`
//! as HTML and scans only the normalised text, missing raw matches.
//!
//! The generator stays inside what clamscan 1.4 loads and where it matches
//! correctly; [`clamav_quirks`] pins each ClamAV behaviour it steers around:
//!
//! - a gap whose upper bound is 0 (`{0}`, `{-0}`, `{0-0}`, `{n-0}`) is
//!   unbounded in ClamAV; ward reads `{0}`, `{-0}`, `{0-0}` as "no gap" and
//!   rejects `{n-0}` for n > 0 (generated upper bounds are ≥ 1);
//! - clamscan refuses a whole database when its prefilter cannot handle a part
//!   (see [`part_ok`]); ward accepts those signatures;
//! - a derivative alternation (`(aa|aabb)`) at the start of a part never
//!   matches in clamscan ("Unknown metatype 0xff00"), and one in any part but
//!   the last makes clamscan measure the following gap from the wrong end;
//! - after a variable-length alternation, clamscan reports a match whenever
//!   the buffer (the file, or a 128 KiB scan block) ends before the rest of the
//!   pattern, so such signatures get no cut-short near misses.
//!
//! `WARD_CLAMAV_DIFF_SEED=<u64>` runs another seed; a failing run keeps its
//! directory and prints the path.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ward::sig::hexpat::{self, Node, Tok};

use crate::util::{Rng, hex, require, run, run_within, stderr};

const DEFAULT_SEED: u64 = 0x5eed_c1a4_0d1f_f001;
/// Real signatures sampled from the bench database: with any of `?{(*` …
const BENCH_FEATURED: usize = 100;
/// … and plain ones.
const BENCH_PLAIN: usize = 200;
/// Signatures made up by the test.
const GENERATED: usize = 200;
/// Files scanned.
const FILES: usize = 300;
/// Most extra bytes an unbounded gap gets in an instance.
const STAR_EXTRA: u64 = 40;
/// How long one run of either scanner over all the files may take.
const SCAN_LIMIT: Duration = Duration::from_secs(300);

/// Where a match must start (the test's own reading of the offset field).
#[derive(Clone, Copy, Debug)]
enum Off {
    Any,
    Start { at: usize, shift: usize },
    End { back: usize, shift: usize },
}

impl Off {
    fn text(self) -> String {
        match self {
            Off::Any => "*".into(),
            Off::Start { at, shift: 0 } => format!("{at}"),
            Off::Start { at, shift } => format!("{at},{shift}"),
            Off::End { back, shift: 0 } => format!("EOF-{back}"),
            Off::End { back, shift } => format!("EOF-{back},{shift}"),
        }
    }
}

struct Sig {
    name: String,
    off: Off,
    pattern: String,
    nodes: Vec<Node>,
}

impl Sig {
    fn new(name: String, off: Off, pattern: String) -> Sig {
        let nodes = hexpat::parse(&pattern).unwrap_or_else(|e| panic!("{name}: {pattern}: {e}"));
        Sig {
            name,
            off,
            pattern,
            nodes,
        }
    }

    fn line(&self) -> String {
        format!("{}:0:{}:{}", self.name, self.off.text(), self.pattern)
    }

    /// Longest instance [`instantiate`] can make.
    fn max_len(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| match n.width() {
                (_, Some(hi)) => hi,
                (lo, None) => lo + STAR_EXTRA,
            })
            .sum::<u64>() as usize
    }
}

// ---------------------------------------------------------------------------
// Signatures

fn bench_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/bench.ndb")
}

fn sample_bench(rng: &mut Rng) -> Vec<Sig> {
    let path = bench_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nthe ClamAV differential test samples its real-world signatures from \
             this file, which is part of the repository",
            path.display()
        )
    });
    let (mut featured, mut plain): (Vec<&str>, Vec<&str>) = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .partition(|l| {
            let pattern = l.split(':').nth(3).unwrap_or("");
            pattern.contains(['?', '{', '(', '*'])
        });
    assert!(
        featured.len() >= BENCH_FEATURED && plain.len() >= BENCH_PLAIN,
        "{}: too few signatures",
        path.display()
    );
    rng.shuffle(&mut featured);
    rng.shuffle(&mut plain);
    featured[..BENCH_FEATURED]
        .iter()
        .chain(&plain[..BENCH_PLAIN])
        .map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            assert!(
                f.len() == 4 && f[1] == "0" && f[2] == "*",
                "{}: unexpected line {line}",
                path.display()
            );
            Sig::new(f[0].into(), Off::Any, f[3].into())
        })
        .collect()
}

/// Distinct random byte strings of one length.
fn distinct(rng: &mut Rng, count: usize, len: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    while out.len() < count {
        let s = rng.bytes(len);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn alt_text(negated: bool, alts: &[String]) -> String {
    format!("{}({})", if negated { "!" } else { "" }, alts.join("|"))
}

/// How ClamAV's load-time prefilter sees one element of a part.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A fixed byte, a nibble or a one-byte alternation (negated or not).
    Simple,
    /// `??`.
    Any,
    /// A multi-byte or generic alternation, which the prefilter stops at.
    Stop,
    /// A variable-length alternation with one alternative a prefix of another
    /// (`(aa|aabb)`): a `Stop` that must not begin a part (see [`part_ok`]).
    Derivative,
}

/// One element inside a part (never a gap), with how the prefilter sees it.
fn gen_element(rng: &mut Rng) -> (String, Vec<Class>) {
    let hexes = |v: Vec<Vec<u8>>| v.iter().map(|a| hex(a)).collect::<Vec<_>>();
    let simple = |n: usize| vec![Class::Simple; n];
    match rng.below(100) {
        0..=14 => {
            let n = rng.urange(1, 3);
            (hex(&rng.bytes(n)), simple(n))
        }
        15..=26 => {
            let n = rng.urange(1, 3);
            ("??".repeat(n), vec![Class::Any; n])
        }
        27..=36 => (format!("{:x}?", rng.below(16)), simple(1)),
        37..=46 => (format!("?{:x}", rng.below(16)), simple(1)),
        47..=58 => {
            let n = rng.urange(2, 4);
            (alt_text(false, &hexes(distinct(rng, n, 1))), simple(1))
        }
        59..=68 => {
            let (n, len) = (rng.urange(2, 3), rng.urange(2, 4));
            let text = alt_text(false, &hexes(distinct(rng, n, len)));
            (text, vec![Class::Stop])
        }
        69..=78 => {
            let n = rng.urange(1, 3);
            (alt_text(true, &hexes(distinct(rng, n, 1))), simple(1))
        }
        79..=86 => {
            let (n, len) = (rng.urange(1, 3), rng.urange(2, 3));
            let text = alt_text(true, &hexes(distinct(rng, n, len)));
            (text, vec![Class::Stop])
        }
        87..=93 => {
            // Alternatives of different lengths.
            let n = rng.urange(1, 3);
            let first = rng.bytes(n);
            let mut longer = first.clone();
            if rng.chance(50) {
                // Derivative: the longer one extends the shorter one.
                longer.push(rng.byte());
            } else {
                longer = rng.bytes(first.len() + 1);
            }
            let mut alts = vec![hex(&first), hex(&longer)];
            if rng.chance(50) {
                let n = rng.urange(1, 4);
                let third = hex(&rng.bytes(n));
                if !alts.contains(&third) {
                    alts.push(third);
                }
            }
            rng.shuffle(&mut alts);
            let derivative = alts
                .iter()
                .any(|a| alts.iter().any(|b| a != b && b.starts_with(a.as_str())));
            let class = if derivative {
                Class::Derivative
            } else {
                Class::Stop
            };
            (alt_text(false, &alts), vec![class])
        }
        _ => {
            // Alternatives with nibble or whole-byte wildcards.
            let n = rng.urange(2, 3);
            let alts: Vec<String> = distinct(rng, n, 2)
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let h = hex(a);
                    match (i, rng.below(3)) {
                        (0, 0) => format!("{}?{}", &h[..1], &h[2..]),
                        (0, 1) => format!("?{}", &h[1..]),
                        (0, _) => format!("{}??", &h[..2]),
                        _ => h,
                    }
                })
                .collect();
            (alt_text(false, &alts), vec![Class::Stop])
        }
    }
}

/// Whether clamscan handles a part as ward does:
///
/// - its load-time prefilter (`filter_add_acpatt`) needs, past any leading
///   multi-byte alternations, at least two simple elements before the next
///   one, and not only `????` pairs among them; clamscan refuses the whole
///   database otherwise ("cannot use filter for trie");
/// - a part must not begin with a derivative alternation: clamscan 1.4 loads
///   `(aa|aabb)1122334455` but then fails every match attempt with
///   "ac_findmatch: Unknown metatype 0xff00";
/// - only the last part may hold one at all: clamscan takes the end of a part
///   from the first way the part matches (the first listed alternative that
///   fits) and never revisits it when the gap to the next part does not fit,
///   so `11223344(aa|aabb){200}55667788` misses `11223344aabb`, 200 bytes,
///   `55667788` (and `(44|44aa)a?{137}…` misses `44aaa5`, 137 bytes, …).
///
/// (Both are ClamAV bugs, pinned by [`clamav_quirks`].)
fn part_ok(classes: &[Class], last_part: bool) -> bool {
    let stop = |c: Class| matches!(c, Class::Stop | Class::Derivative);
    let run: Vec<Class> = classes
        .iter()
        .copied()
        .skip_while(|&c| stop(c))
        .take_while(|&c| !stop(c))
        .collect();
    classes.first() != Some(&Class::Derivative)
        && (last_part || !classes.contains(&Class::Derivative))
        && run.len() >= 2
        && run.windows(2).any(|w| w != [Class::Any, Class::Any])
}

/// A run of elements with at least four consecutive fixed bytes (ClamAV needs
/// static bytes in every part between gaps) that passes [`part_ok`].
fn gen_part(rng: &mut Rng, last_part: bool) -> String {
    loop {
        let mut elements: Vec<(String, Vec<Class>)> =
            (0..rng.below(4)).map(|_| gen_element(rng)).collect();
        let n = rng.urange(4, 8);
        let anchor = (hex(&rng.bytes(n)), vec![Class::Simple; n]);
        let at = rng.urange(0, elements.len());
        elements.insert(at, anchor);
        let classes: Vec<Class> = elements.iter().flat_map(|(_, c)| c.clone()).collect();
        if part_ok(&classes, last_part) {
            return elements.into_iter().map(|(t, _)| t).collect();
        }
    }
}

/// A gap between two parts. Upper bounds are never 0 (see the module docs).
fn gen_gap(rng: &mut Rng) -> String {
    match rng.below(100) {
        0..=19 => "*".into(),
        20..=34 => format!("{{{}}}", rng.range(1, 16)),
        35..=39 => format!("{{{}}}", rng.range(120, 140)),
        40..=54 => format!("{{-{}}}", rng.range(1, 16)),
        55..=69 => format!("{{{}-}}", rng.range(0, 16)),
        _ => {
            let lo = rng.range(0, 10);
            let hi = rng.range(lo.max(1), lo + 24);
            format!("{{{lo}-{hi}}}")
        }
    }
}

fn generate(rng: &mut Rng) -> Vec<Sig> {
    (0..GENERATED)
        .map(|i| {
            let parts = rng.range(1, 3);
            let mut pattern = gen_part(rng, parts == 1);
            for p in 1..parts {
                pattern += &gen_gap(rng);
                pattern += &gen_part(rng, p + 1 == parts);
            }
            if rng.chance(10) {
                pattern = pattern.to_uppercase();
            }
            let name = format!("Gen.{i:03}");
            let mut sig = Sig::new(name, Off::Any, pattern);
            let max = sig.max_len();
            sig.off = match rng.below(100) {
                0..=44 => Off::Any,
                45..=59 => Off::Start {
                    at: rng.urange(0, 512),
                    shift: 0,
                },
                60..=74 => Off::Start {
                    at: rng.urange(0, 512),
                    shift: rng.urange(1, 48),
                },
                75..=89 => Off::End {
                    back: max + rng.urange(0, 300),
                    shift: 0,
                },
                _ => {
                    let shift = rng.urange(1, 48);
                    Off::End {
                        back: max + shift + rng.urange(0, 300),
                        shift,
                    }
                }
            };
            sig
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Files

/// A concrete instance of a signature.
struct Instance {
    bytes: Vec<u8>,
    /// Bytes checked against a fixed or half-fixed token: (position, token).
    checked: Vec<(usize, Tok)>,
    /// Windows of negated alternatives: (position, the alternatives).
    negated: Vec<(usize, Vec<Vec<Tok>>)>,
}

fn fill(rng: &mut Rng, t: Tok) -> u8 {
    (rng.byte() & !t.mask) | t.value
}

fn toks_match(toks: &[Tok], window: &[u8]) -> bool {
    toks.iter().zip(window).all(|(t, &b)| t.matches(b))
}

fn instantiate(rng: &mut Rng, nodes: &[Node]) -> Instance {
    let mut inst = Instance {
        bytes: Vec::new(),
        checked: Vec::new(),
        negated: Vec::new(),
    };
    for node in nodes {
        match node {
            Node::Tok(t) => {
                if t.mask != 0 {
                    inst.checked.push((inst.bytes.len(), *t));
                }
                let b = fill(rng, *t);
                inst.bytes.push(b);
            }
            Node::Alt {
                alts,
                negated: false,
            } => {
                let alt = &alts[rng.urange(0, alts.len() - 1)];
                for &t in alt {
                    let b = fill(rng, t);
                    inst.bytes.push(b);
                }
            }
            Node::Alt {
                alts,
                negated: true,
            } => {
                let len = alts[0].len();
                let window = loop {
                    let w = rng.bytes(len);
                    if !alts.iter().any(|a| toks_match(a, &w)) {
                        break w;
                    }
                };
                inst.negated.push((inst.bytes.len(), (**alts).clone()));
                inst.bytes.extend(window);
            }
            Node::Gap { min, max } => {
                let min = u64::from(*min);
                let len = match max {
                    Some(m) => rng.range(min, u64::from(*m)),
                    None => rng.range(min, min + STAR_EXTRA),
                };
                let gap = rng.bytes(len as usize);
                inst.bytes.extend(gap);
            }
        }
    }
    inst
}

enum Kind {
    /// A real instance where the offset allows it.
    Real,
    /// One checked byte changed so that its token no longer matches.
    Flipped { at: usize, from: u8, to: u8 },
    /// A negated window set to one of the excluded alternatives.
    Excluded { at: usize },
    /// A real instance placed `by` bytes outside the offset range.
    Misplaced { by: i64 },
    /// The instance without its last byte, at the very end of the file.
    CutShort,
    /// The first `keep` bytes of the instance, not at the end of the file.
    Fragment { keep: usize },
}

impl Kind {
    fn describe(&self) -> String {
        match self {
            Kind::Real => "real".into(),
            Kind::Flipped { at, from, to } => {
                format!("near miss: byte {at} of the instance {from:02x} -> {to:02x}")
            }
            Kind::Excluded { at } => {
                format!("near miss: negated window at byte {at} set to an excluded alternative")
            }
            Kind::Misplaced { by } => format!("near miss: {by:+} bytes outside the offset range"),
            Kind::CutShort => "near miss: last byte cut off by the end of the file".into(),
            Kind::Fragment { keep } => format!("near miss: only the first {keep} bytes"),
        }
    }
}

struct Plant {
    sig: usize,
    start: usize,
    bytes: Vec<u8>,
    kind: Kind,
}

struct TestFile {
    name: String,
    plants: Vec<Plant>,
    size: usize,
}

/// First bytes of a file: high, and no known magic (so both scanners see plain
/// binary data, with no file-type-specific normalisation).
fn safe_first_byte(b: u8) -> bool {
    (0x80..=0xbf).contains(&b) && b != 0x89
}

/// Make a plant (instance, near-miss kind) for signature `s`.
///
/// A signature with a variable-length alternation before its end gets no near
/// misses that clamscan would see cut off by the end of a buffer: none cut short
/// by the end of the file, and none at all in files large enough to be read in
/// several buffers. clamscan 1.4 reports a match when a buffer ends anywhere
/// after such an alternation, whatever the missing bytes would have been (a
/// ClamAV bug, pinned by [`clamav_quirks`]).
fn make_plant(rng: &mut Rng, sigs: &[Sig], s: usize, large: bool) -> (Instance, Kind) {
    let sig = &sigs[s];
    let mut inst = instantiate(rng, &sig.nodes);
    let cut_ok = !sig.var_alt_inside();
    let roll = if large && !cut_ok { 0 } else { rng.below(100) };
    let kind = if roll < 62 {
        Kind::Real
    } else if roll < 74 && !inst.checked.is_empty() {
        let (at, t) = inst.checked[rng.urange(0, inst.checked.len() - 1)];
        let from = inst.bytes[at];
        let to = from
            ^ loop {
                let x = rng.byte() & t.mask;
                if x != 0 {
                    break x;
                }
            };
        inst.bytes[at] = to;
        Kind::Flipped { at, from, to }
    } else if roll < 80 && !inst.negated.is_empty() {
        let (at, alts) = &inst.negated[rng.urange(0, inst.negated.len() - 1)];
        let alt = &alts[rng.urange(0, alts.len() - 1)];
        for (i, &t) in alt.iter().enumerate() {
            inst.bytes[at + i] = fill(rng, t);
        }
        Kind::Excluded { at: *at }
    } else if roll < 87 && !matches!(sig.off, Off::Any) {
        let by = rng.range(1, 3) as i64;
        Kind::Misplaced {
            by: if rng.chance(50) { -by } else { by },
        }
    } else if roll < 95 && inst.bytes.len() > 1 {
        let keep = rng.urange(1, inst.bytes.len() - 1);
        inst.bytes.truncate(keep);
        Kind::Fragment { keep }
    } else if inst.bytes.len() > 1 && sig.off_allows_tail() && cut_ok {
        Kind::CutShort
    } else {
        Kind::Real
    };
    (inst, kind)
}

impl Sig {
    /// Whether an instance may end exactly at the end of a file.
    fn off_allows_tail(&self) -> bool {
        matches!(self.off, Off::Any)
    }

    /// Whether a variable-length alternation comes before the last node.
    fn var_alt_inside(&self) -> bool {
        let n = self.nodes.len();
        self.nodes[..n - 1].iter().any(|node| {
            matches!(node, Node::Alt { alts, negated: false }
                if alts.iter().any(|a| a.len() != alts[0].len()))
        })
    }
}

fn overlaps(taken: &[(usize, usize)], lo: usize, hi: usize) -> bool {
    taken.iter().any(|&(a, b)| lo < b && a < hi)
}

fn build_file(
    rng: &mut Rng,
    sigs: &[Sig],
    queue: &mut Vec<usize>,
    index: usize,
) -> (TestFile, Vec<u8>) {
    // A few files span several of clamscan's 128 KiB scan buffers; the first
    // is past ward's mmap threshold (4 MiB).
    let huge = index == 0;
    let large = huge || rng.chance(2);
    let count = match rng.below(100) {
        _ if huge => 3,
        0..=9 => 0,
        10..=34 => 1,
        35..=69 => 2,
        _ => 3,
    };
    let mut planned: Vec<(usize, Instance, Kind)> = Vec::new();
    for _ in 0..count {
        // Sometimes the same signature again: two instances, or an instance
        // and a near miss, in one file.
        let s = match planned.last() {
            Some(&(prev, _, _)) if rng.chance(20) => prev,
            _ => queue.pop().expect("queue is refilled"),
        };
        let (inst, kind) = make_plant(rng, sigs, s, large);
        planned.push((s, inst, kind));
    }
    if queue.len() < 3 {
        let mut more: Vec<usize> = (0..sigs.len()).collect();
        rng.shuffle(&mut more);
        queue.extend(more);
    }
    // Offset-bound plants first: they have fewer places to go.
    planned.sort_by_key(|(s, _, _)| matches!(sigs[*s].off, Off::Any));

    let mut size = if huge {
        rng.urange(4_300_000, 4_700_000)
    } else if large {
        rng.urange(140_000, 300_000)
    } else {
        rng.urange(16, 4096)
    };
    for (s, inst, _) in &planned {
        let len = inst.bytes.len();
        size = size.max(match sigs[*s].off {
            Off::Any => len + 4,
            Off::Start { at, shift } => at + shift + len + 8,
            Off::End { back, shift } => back + shift + 8,
        });
    }
    let mut data = rng.bytes(size);
    data[0] = loop {
        let b = rng.byte();
        if safe_first_byte(b) {
            break b;
        }
    };

    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut plants = Vec::new();
    for (s, inst, kind) in planned {
        let len = inst.bytes.len();
        let mut bytes = inst.bytes;
        let mut place = None;
        for _ in 0..40 {
            let start: Option<i64> = match (&kind, sigs[s].off) {
                (Kind::CutShort, _) => Some((size - len + 1) as i64),
                (Kind::Misplaced { by }, Off::Start { at, shift }) => Some(if *by < 0 {
                    at as i64 + by
                } else {
                    (at + shift) as i64 + by
                }),
                (Kind::Misplaced { by }, Off::End { back, shift }) => {
                    let first = size as i64 - back as i64;
                    Some(if *by < 0 {
                        first + by
                    } else {
                        first + shift as i64 + by
                    })
                }
                (_, Off::Start { at, shift }) => Some(rng.urange(at, at + shift) as i64),
                (_, Off::End { back, shift }) => {
                    let room = back.checked_sub(len).map(|r| r.min(shift));
                    room.map(|r| (size - back + rng.urange(0, r)) as i64)
                }
                (_, Off::Any) => Some(match rng.below(10) {
                    0 if safe_first_byte(bytes[0]) => 0,
                    1 => (size - len) as i64,
                    _ => rng.urange(1, size - len) as i64,
                }),
            };
            let Some(start) = start else { break };
            let room = match kind {
                Kind::CutShort => size + 1,
                Kind::Fragment { .. } => size - 1,
                _ => size,
            };
            if start < 0 || start as usize + len > room {
                break;
            }
            let start = start as usize;
            let end = (start + len).min(size);
            if start == 0 && !safe_first_byte(bytes[0]) {
                continue;
            }
            if !overlaps(&taken, start, end) {
                place = Some((start, end));
                break;
            }
        }
        let Some((start, end)) = place else { continue };
        if matches!(kind, Kind::CutShort) {
            bytes.truncate(end - start);
        }
        data[start..end].copy_from_slice(&bytes);
        taken.push((start, end));
        plants.push(Plant {
            sig: s,
            start,
            bytes,
            kind,
        });
    }
    let file = TestFile {
        name: format!("f{index:03}.bin"),
        plants,
        size,
    };
    (file, data)
}

// ---------------------------------------------------------------------------
// Running the scanners

/// `clamscan`, after checking that it runs.
fn clamscan() -> Command {
    require("clamscan", "--version", "clamav");
    Command::new("clamscan")
}

/// ward's switches for the same raw-content scanning.
const WARD_RAW: &[&str] = &["--scan-archive=no", "--scan-mail=no", "--scan-html=no"];

const SCAN_TYPES_OFF: &[&str] = &[
    "--scan-archive=no",
    "--scan-elf=no",
    "--scan-html=no",
    "--scan-hwp3=no",
    "--scan-image=no",
    "--scan-mail=no",
    "--scan-ole2=no",
    "--scan-onenote=no",
    "--scan-pdf=no",
    "--scan-pe=no",
    "--scan-swf=no",
    "--scan-xmldocs=no",
];

fn clamscan_args(cmd: &mut Command, dbs: &[&Path], target: &Path) {
    cmd.args(["--no-summary", "--infected", "--allmatch"]);
    // Raw matching only: no unpacking and no file-type handlers. Without this,
    // clamscan retypes random binary data that contains an HTML-looking
    // fragment (`<a href`, `<table` …) as HTML and scans only the normalised
    // text, missing what is in the raw bytes; ward has no such handlers.
    cmd.args(SCAN_TYPES_OFF);
    for db in dbs {
        cmd.arg("-d").arg(db);
    }
    cmd.arg(target);
}

pub(crate) type Hits = BTreeSet<(String, String)>;

/// Parse `PATH: NAME FOUND` lines; anything else on stdout is an error.
pub(crate) fn parse_hits(who: &str, out: &Output, strip: &str) -> Hits {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut hits = Hits::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_suffix(" FOUND") else {
            panic!(
                "{who}: unexpected output line {line:?}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let (path, name) = rest
            .rsplit_once(": ")
            .unwrap_or_else(|| panic!("{who}: malformed line {line:?}"));
        let file = Path::new(path)
            .file_name()
            .unwrap_or_else(|| panic!("{who}: no file name in {line:?}"))
            .to_string_lossy()
            .into_owned();
        let name = name.strip_suffix(strip).unwrap_or(name);
        hits.insert((file, name.to_owned()));
    }
    let code = out.status.code();
    let expected = if hits.is_empty() { 0 } else { 1 };
    assert_eq!(
        code,
        Some(expected),
        "{who}: exit status {:?} with {} detections\nstderr:\n{}",
        out.status,
        hits.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    hits
}

/// clamscan refused the database: find the lines it refuses, one at a time.
fn explain_load_failure(sigs: &[Sig], dir: &Path, out: &Output) -> String {
    let mut msg = format!(
        "clamscan could not load the generated databases:\n{}\n",
        String::from_utf8_lossy(&out.stderr)
    );
    let probe = dir.join("probe.bin");
    std::fs::write(&probe, [0x80u8; 16]).unwrap();
    for sig in sigs {
        let db = dir.join("one.ndb");
        std::fs::write(&db, sig.line() + "\n").unwrap();
        let mut cmd = clamscan();
        clamscan_args(&mut cmd, &[&db], &probe);
        let o = run(&mut cmd);
        if o.status.code() == Some(2) {
            let _ = writeln!(msg, "refused: {}\n  {}", sig.line(), stderr(&o).trim());
        }
    }
    msg
}

fn describe_plant(p: &Plant, sigs: &[Sig]) -> String {
    let sig = &sigs[p.sig];
    let shown = if p.bytes.len() > 96 {
        format!("{}…", hex(&p.bytes[..96]))
    } else {
        hex(&p.bytes)
    };
    format!(
        "{} at {}..{} ({}): {}",
        sig.name,
        p.start,
        p.start + p.bytes.len(),
        p.kind.describe(),
        shown
    )
}

#[test]
fn clamav_diff() {
    let seed = std::env::var("WARD_CLAMAV_DIFF_SEED")
        .ok()
        .map(|s| s.parse::<u64>().expect("WARD_CLAMAV_DIFF_SEED: a u64"))
        .unwrap_or(DEFAULT_SEED);
    let mut clam = clamscan();
    let mut rng = Rng::new(seed);

    let mut sigs = sample_bench(&mut rng);
    let bench_count = sigs.len();
    sigs.extend(generate(&mut rng));
    let by_name: BTreeMap<&str, usize> = sigs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    assert_eq!(by_name.len(), sigs.len(), "signature names must be unique");

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let bench_db = root.join("bench-sample.ndb");
    let gen_db = root.join("generated.ndb");
    let lines = |sigs: &[Sig]| sigs.iter().map(|s| s.line() + "\n").collect::<String>();
    std::fs::write(&bench_db, lines(&sigs[..bench_count])).unwrap();
    std::fs::write(&gen_db, lines(&sigs[bench_count..])).unwrap();

    let files_dir = root.join("files");
    std::fs::create_dir(&files_dir).unwrap();
    let mut queue: Vec<usize> = Vec::new();
    for _ in 0..2 {
        let mut more: Vec<usize> = (0..sigs.len()).collect();
        rng.shuffle(&mut more);
        queue.extend(more);
    }
    let files: Vec<TestFile> = (0..FILES)
        .map(|i| {
            let (file, data) = build_file(&mut rng, &sigs, &mut queue, i);
            std::fs::write(files_dir.join(&file.name), data).unwrap();
            file
        })
        .collect();

    let dbs = [bench_db.as_path(), gen_db.as_path()];
    clamscan_args(&mut clam, &dbs, &files_dir);
    let clam_out = run_within(&mut clam, SCAN_LIMIT);
    if clam_out.status.code() == Some(2) {
        let msg = explain_load_failure(&sigs, root, &clam_out);
        let kept = tmp.keep();
        panic!("{msg}\n(files kept in {})", kept.display());
    }
    let clam_stderr = String::from_utf8_lossy(&clam_out.stderr);
    if clam_stderr.contains("LibClamAV Error") {
        let kept = tmp.keep();
        panic!(
            "clamscan reported errors while scanning, so its answer is not a reference:\n\
             {clam_stderr}\n(files kept in {})",
            kept.display()
        );
    }
    let clam_hits = parse_hits("clamscan", &clam_out, ".UNOFFICIAL");

    let mut ward = Command::new(env!("CARGO_BIN_EXE_ward"));
    ward.args([
        "scan",
        "--no-builtin",
        "--all-matches",
        "--no-summary",
        "-i",
    ])
    .args(WARD_RAW);
    for db in dbs {
        ward.arg("-d").arg(db);
    }
    ward.arg(&files_dir);
    let ward_out = run_within(&mut ward, SCAN_LIMIT);
    let ward_hits = parse_hits("ward", &ward_out, "");

    // Every real plant must be found by the reference, or the generator has
    // drifted from what ClamAV means.
    let real: Hits = files
        .iter()
        .flat_map(|f| {
            f.plants
                .iter()
                .filter(|p| matches!(p.kind, Kind::Real))
                .map(|p| (f.name.clone(), sigs[p.sig].name.clone()))
        })
        .collect();
    let missed: Vec<_> = real.difference(&clam_hits).collect();

    let only_clam: Vec<_> = clam_hits.difference(&ward_hits).collect();
    let only_ward: Vec<_> = ward_hits.difference(&clam_hits).collect();
    if only_clam.is_empty() && only_ward.is_empty() && missed.is_empty() {
        eprintln!(
            "clamav_diff: seed {seed}: {} signatures, {} files, {} plants ({} real), \
             {} detections, identical",
            sigs.len(),
            files.len(),
            files.iter().map(|f| f.plants.len()).sum::<usize>(),
            real.len(),
            clam_hits.len()
        );
        return;
    }

    let file_by_name: BTreeMap<&str, &TestFile> =
        files.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut msg = format!(
        "ward and clamscan disagree (seed {seed}): {} only in clamscan, {} only in ward; \
         {} real plants missed by clamscan\n",
        only_clam.len(),
        only_ward.len(),
        missed.len()
    );
    let sections = [
        ("only clamscan", &only_clam),
        ("only ward", &only_ward),
        ("real plant missed by clamscan", &missed),
    ];
    for (label, list) in sections {
        for (file, name) in list.iter() {
            let f = file_by_name[file.as_str()];
            let sig = &sigs[by_name[name.as_str()]];
            let _ = writeln!(msg, "\n[{label}] {file} ({} bytes): {}", f.size, sig.line());
            for p in &f.plants {
                let _ = writeln!(msg, "    planted {}", describe_plant(p, &sigs));
            }
        }
    }
    let kept = tmp.keep();
    let _ = write!(
        msg,
        "\nfiles and databases kept in {} (files/, bench-sample.ndb, generated.ndb)",
        kept.display()
    );
    panic!("{msg}");
}

/// Where clamscan 1.4 and ward knowingly part ways; [`clamav_diff`]'s
/// generator stays clear of each. If clamscan's side of this test starts
/// failing, ClamAV changed and the generator's exclusions can be revisited.
///
/// | signature | file | clamscan | ward |
/// |---|---|---|---|
/// | `11223344{0}55667788`, `11223344{-0}55667788` | 5 bytes between the halves | found: an upper bound of 0 means "no limit" | not found: exactly 0 / at most 0 bytes |
/// | `(ed\|ed8f)671d619b` | `ed8f671d619b` | not found, "ac_findmatch: Unknown metatype 0xff00" on stderr | found |
/// | `11223344(aa\|bbcc)dd` | ends `11223344bbcc` | found although `dd` is missing | not found |
/// | the same | `11223344bbcc` ends exactly at offset 131072 of a 300,000-byte file, then `80` | found | not found |
/// | `a1a2a3a4(aa\|aabb){200}b1b2b3b4` | `a1a2a3a4aabb`, 200 bytes, `b1b2b3b4` | not found: the gap is measured from the end of `aa`, the first alternative that fits | found |
#[test]
fn clamav_quirks() {
    let mut clam = clamscan();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("quirks.ndb");
    std::fs::write(
        &db,
        "Q.Brace0:0:*:11223344{0}55667788\n\
         Q.Dash0:0:*:11223344{-0}55667788\n\
         Q.LeadDerivative:0:*:(ed|ed8f)671d619b\n\
         Q.VarAltCut:0:*:11223344(aa|bbcc)dd\n\
         Q.DerivativeBeforeGap:0:*:a1a2a3a4(aa|aabb){200}b1b2b3b4\n",
    )
    .unwrap();
    let dir = tmp.path().join("files");
    std::fs::create_dir(&dir).unwrap();
    let pad = [0x80u8; 16];
    let file = |name: &str, parts: &[&[u8]]| {
        std::fs::write(dir.join(name), parts.concat()).unwrap();
    };
    file(
        "gap5.bin",
        &[
            &pad,
            &[0x11, 0x22, 0x33, 0x44],
            &[0x99; 5],
            &[0x55, 0x66, 0x77, 0x88],
            &pad,
        ],
    );
    file(
        "lead.bin",
        &[&pad, &[0xed, 0x8f, 0x67, 0x1d, 0x61, 0x9b], &pad],
    );
    file("eof.bin", &[&pad, &[0x11, 0x22, 0x33, 0x44, 0xbb, 0xcc]]);
    file(
        "split.bin",
        &[
            &pad,
            &[0xa1, 0xa2, 0xa3, 0xa4, 0xaa, 0xbb],
            &[0x99; 200],
            &[0xb1, 0xb2, 0xb3, 0xb4],
            &pad,
        ],
    );
    let mut rng = Rng::new(7);
    let mut big = rng.bytes(300_000);
    big[0] = 0x80;
    big[131_072 - 6..131_072].copy_from_slice(&[0x11, 0x22, 0x33, 0x44, 0xbb, 0xcc]);
    big[131_072] = 0x80;
    std::fs::write(dir.join("buffer.bin"), &big).unwrap();

    clamscan_args(&mut clam, &[&db], &dir);
    let clam_out = run_within(&mut clam, SCAN_LIMIT);
    let clam_hits = parse_hits("clamscan", &clam_out, ".UNOFFICIAL");
    let mut ward = Command::new(env!("CARGO_BIN_EXE_ward"));
    ward.args([
        "scan",
        "--no-builtin",
        "--all-matches",
        "--no-summary",
        "-i",
    ])
    .args(WARD_RAW)
    .arg("-d")
    .arg(&db)
    .arg(&dir);
    let ward_hits = parse_hits("ward", &run(&mut ward), "");
    let hits = |list: &[(&str, &str)]| -> Hits {
        list.iter()
            .map(|(f, n)| (f.to_string(), n.to_string()))
            .collect()
    };
    assert_eq!(
        clam_hits,
        hits(&[
            ("gap5.bin", "Q.Brace0"),
            ("gap5.bin", "Q.Dash0"),
            ("eof.bin", "Q.VarAltCut"),
            ("buffer.bin", "Q.VarAltCut"),
        ]),
        "clamscan's known quirks changed; stderr:\n{}",
        String::from_utf8_lossy(&clam_out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&clam_out.stderr).contains("Unknown metatype"),
        "clamscan no longer fails on a leading derivative alternation"
    );
    assert_eq!(
        ward_hits,
        hits(&[
            ("lead.bin", "Q.LeadDerivative"),
            ("split.bin", "Q.DerivativeBeforeGap")
        ]),
        "ward"
    );
}
