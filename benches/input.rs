//! Reading a file versus mapping it, to choose
//! [`ward::scan::input::MMAP_THRESHOLD`] by measurement. Files of 64 KiB to
//! 64 MiB are written to a temporary directory and scanned with a warm page cache.
//! The machine should be otherwise idle: both paths are memory-bound.
//!
//! - `scan_file/{read,mmap}/SIZE`: `Scanner::scan_file` with `mmap(false)` /
//!   `mmap(true)` and 1k generated signatures, at 64 KiB, 1, 4, 16 and 64 MiB:
//!   what users get. Below the current threshold both modes read, so there the
//!   two figures differ only by noise.
//! - `load/{read,mmap}/SIZE`: the two input paths at every size, whatever the
//!   threshold: `input::load` into a reused buffer, or a map taken under a read
//!   lease as `scan::mmap` does, each followed by a scan with one signature so
//!   the cost of getting the bytes dominates. Where `mmap` starts to win is the
//!   crossover.
//!
//! `cargo bench --bench input` (about two minutes; add `-- --quick` for a rough
//! pass).

#[path = "common/mod.rs"]
mod common;

use std::fs::File;
use std::hint::black_box;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use ward::scan::input::{self, OpenOutcome, Opened};
use ward::{Format, Scanner, SignatureSet};

const SIZES: [(&str, usize); 7] = [
    ("64KiB", 64 << 10),
    ("256KiB", 256 << 10),
    ("1MiB", 1 << 20),
    ("2MiB", 2 << 20),
    ("4MiB", 4 << 20),
    ("16MiB", 16 << 20),
    ("64MiB", 64 << 20),
];

/// The test files, one per size, with the same content prefix.
fn files(dir: &Path) -> Vec<(&'static str, usize, PathBuf)> {
    let data = common::haystack(SIZES[SIZES.len() - 1].1, 0x5eed_0003);
    SIZES
        .iter()
        .map(|&(label, len)| {
            let path = dir.join(format!("{label}.bin"));
            std::fs::write(&path, &data[..len]).expect("write bench file");
            (label, len, path)
        })
        .collect()
}

fn set(count: usize) -> SignatureSet {
    SignatureSet::builder()
        .text(Format::Ndb, "bench.ndb", common::ndb(count, 0x5eed_0001))
        .build()
        .expect("generated signatures compile")
}

fn open(path: &Path) -> Opened {
    match input::open(path).expect("open bench file") {
        OpenOutcome::Regular(o) => o,
        OpenOutcome::Special(_) => panic!("bench file is not regular"),
    }
}

/// Map `file` under a read lease, scan the map and release the lease: what
/// `scan::mmap::map_leased` and `LeasedMap`'s drop do, at any size.
fn scan_mapped(scanner: &mut Scanner, file: &File) -> usize {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl F_SETLEASE on a valid descriptor; no memory is passed.
    assert_eq!(
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) },
        0,
        "no lease"
    );
    let len = file.metadata().expect("fstat").len() as usize;
    // SAFETY: read-only private map of a file nobody writes while the lease is held.
    let map = unsafe { memmap2::MmapOptions::new().len(len).map(file) }.expect("mmap");
    let hits = scanner.scan_bytes(&map).len();
    drop(map);
    // SAFETY: as above.
    unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
    hits
}

fn bench_group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

fn input_paths(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = files(dir.path());

    let one = set(1);
    let mut g = bench_group(c, "load");
    for (label, len, path) in &files {
        g.throughput(Throughput::Bytes(*len as u64));
        let mut scanner = Scanner::new(&one);
        let mut buf = Vec::new();
        g.bench_with_input(BenchmarkId::new("read", label), path, |b, path| {
            b.iter(|| {
                let opened = open(path);
                let data = input::load(&opened, &mut buf, u64::MAX, false).expect("read");
                black_box(scanner.scan_bytes(data.bytes()).len())
            })
        });
        g.bench_with_input(BenchmarkId::new("mmap", label), path, |b, path| {
            b.iter(|| black_box(scan_mapped(&mut scanner, &open(path).file)))
        });
    }
    g.finish();

    let sigs = set(1000);
    let mut g = bench_group(c, "scan_file");
    for (label, len, path) in files.iter().filter(|f| !matches!(f.0, "256KiB" | "2MiB")) {
        g.throughput(Throughput::Bytes(*len as u64));
        for (mode, mmap) in [("read", false), ("mmap", true)] {
            let mut scanner = Scanner::new(&sigs);
            scanner.mmap(mmap).all_matches(true);
            g.bench_with_input(BenchmarkId::new(mode, label), path, |b, path| {
                b.iter(|| scanner.scan_file(black_box(path)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, input_paths);
criterion_main!(benches);
