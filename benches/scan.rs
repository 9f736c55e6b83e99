//! Signature-set compile time and `Scanner::scan_bytes` throughput on generated
//! data (see `common`): 1k / 10k / 100k synthetic `.ndb` signatures over an 8 MiB
//! text/binary haystack, and 4 KiB / 64 KiB / 1 MiB inputs with 10k signatures;
//! a large input searched in parallel pieces on 1, 2, ... threads (up to the
//! cores there are); plus `star_gap`, one signature whose atom follows a `*`, on growing inputs (a
//! per-byte time that grows with the input size means quadratic verification).
//!
//! `cargo bench --bench scan` (about 2.5 minutes on an idle machine; add
//! `-- --quick` for a rough pass).

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use ward::{Database, Format, Scanner, SignatureSet};

const COUNTS: [usize; 3] = [1_000, 10_000, 100_000];
const HAYSTACK: usize = 8 << 20;
const SIG_SEED: u64 = 0x5eed_0001;
const HAY_SEED: u64 = 0x5eed_0002;

fn parse(text: &str) -> Database {
    let mut db = Database::new();
    db.load_bytes(Format::Ndb, Path::new("bench.ndb"), text.as_bytes())
        .expect("generated signatures parse");
    db
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(6));
    for n in COUNTS {
        let text = common::ndb(n, SIG_SEED);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("parse", n), &text, |b, t| {
            b.iter(|| parse(black_box(t)))
        });
        let db = parse(&text);
        let set = SignatureSet::compile(&db).expect("generated signatures compile");
        let info = set.info();
        eprintln!(
            "{n} sigs: {} atoms, automaton {}, ~{} KiB",
            info.atoms,
            info.automaton,
            info.memory >> 10
        );
        g.bench_with_input(BenchmarkId::new("compile", n), &db, |b, db| {
            b.iter(|| SignatureSet::compile(black_box(db)).unwrap())
        });
    }
    g.finish();
}

/// A scanner that reports every match, so each input is always scanned to the end
/// (a first-match scanner would stop early on a chance hit and look faster).
fn scanner(set: &SignatureSet) -> Scanner {
    let mut s = Scanner::new(set);
    s.all_matches(true);
    s
}

fn throughput(c: &mut Criterion) {
    let hay = common::haystack(HAYSTACK, HAY_SEED);
    let sets: Vec<(usize, SignatureSet)> = COUNTS
        .iter()
        .map(|&n| {
            (
                n,
                SignatureSet::compile(&parse(&common::ndb(n, SIG_SEED))).unwrap(),
            )
        })
        .collect();

    let mut g = c.benchmark_group("scan_8MiB");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Bytes(hay.len() as u64));
    for (n, set) in &sets {
        let mut s = scanner(set);
        eprintln!(
            "{n} sigs: {} matches in the 8 MiB haystack",
            s.scan_bytes(&hay).len()
        );
        g.bench_with_input(BenchmarkId::new("sigs", n), &hay, |b, hay| {
            b.iter(|| s.scan_bytes(black_box(hay)))
        });
    }
    g.finish();

    // One large file searched in 1 MiB pieces on a pool of 1, 2, ... threads
    // (`Scanner::split_large`, as `ward scan` does from 4 MiB on).
    let set = &sets[1].1;
    let mut g = c.benchmark_group("split_8MiB_10k_sigs");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Bytes(hay.len() as u64));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [1, 2, 4, 8, 16].into_iter().filter(|&t| t <= cores) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut s = scanner(set);
        s.split_large(Some(std::sync::Arc::new(pool)));
        g.bench_with_input(BenchmarkId::new("threads", threads), &hay, |b, hay| {
            b.iter(|| s.scan_bytes(black_box(hay)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("scan_10k_sigs");
    g.sample_size(20)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (label, len) in [("4KiB", 4 << 10), ("64KiB", 64 << 10), ("1MiB", 1 << 20)] {
        // Each iteration scans the next `len`-byte piece of the haystack, so every
        // size sees the same mix of content.
        let pieces: Vec<&[u8]> = hay.chunks_exact(len).collect();
        let mut next = 0;
        let mut s = scanner(set);
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(BenchmarkId::new("size", label), |b| {
            b.iter(|| {
                next = (next + 1) % pieces.len();
                s.scan_bytes(black_box(pieces[next]))
            })
        });
    }
    g.finish();
}

/// `(fffefd|fefdfc)20*74696f6e`: the only fixed run of more than one byte is
/// `tion`, after the `*`, so that is the atom whatever the atom scoring; it is
/// planted every 4 KiB and the prefix never occurs. Every atom hit searches
/// backwards through the `*` for the prefix.
fn star_gap(c: &mut Criterion) {
    let db = parse("Bench.Star:0:*:(fffefd|fefdfc)20*74696f6e");
    let set = SignatureSet::compile(&db).unwrap();
    let mut g = c.benchmark_group("star_gap");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (label, len) in [("256KiB", 256 << 10), ("1MiB", 1 << 20), ("2MiB", 2 << 20)] {
        let mut hay = common::haystack(len, HAY_SEED);
        for at in (100..len - 4).step_by(4096) {
            hay[at..at + 4].copy_from_slice(b"tion");
        }
        let mut s = scanner(&set);
        assert!(s.scan_bytes(&hay).is_empty(), "the prefix must not occur");
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("size", label), &hay, |b, hay| {
            b.iter(|| s.scan_bytes(black_box(hay)))
        });
    }
    g.finish();
}

criterion_group!(benches, compile, throughput, star_gap);
criterion_main!(benches);
