#!/usr/bin/env python3
"""Scan the benchmark corpus packed in one zip and in one tar.gz, with ward and
clamscan, beside the time it takes only to decompress them; print wall times,
throughput and the ratios ward's container goals are stated in.

    benches/containers.py CORPUS [--cache DIR] [--ndb SIGS.ndb] [--runs N] [--ward PATH]

CORPUS is a directory from benches/make-corpus.py. The archives are built once
into the cache directory (default: target/bench-containers in the repository)
and rebuilt when the corpus' file count or size changes:
corpus.zip (Python's zipfile, deflate level 6, files in sorted order) and
corpus.tar.gz (tar -czf, gzip's default level 6).

Timed, every command once to warm the page cache (that run also counts the
detections), then N times with the runs of all commands interleaved; the median
wall time is reported:

  ward scan -j 2 and -j 1        on corpus.zip, on corpus.tar.gz, and on CORPUS itself
  clamscan (one thread)          on corpus.zip and on corpus.tar.gz
  unzip -p corpus.zip            > /dev/null: the floor, decompressing with nothing scanned
  tar -xzOf corpus.tar.gz        > /dev/null: the same for the tar.gz (gzip decompresses)

Both scanners take the same body signatures (--no-builtin -d benches/data/bench.ndb
for ward). The corpus is larger than both scanners' default limits for one
container (400 MiB taken out, 10,000 members), so ward gets --max-scansize 4G
--max-files 100000 and clamscan --max-scansize=4000M --max-files=100000
--max-filesize=4000M --max-scantime=0, so that both scan every member; both get
--alert-exceeds-max, so that a scan a limit still stops says so (the "stopped
at" column). Both run with all matches on
(-z): with first match only, the first member that matches ends the scan of the
whole archive. clamscan's normalisers other than the archive ones are off, as
in compare.py (raw content scanning, as ward does).

MB/s is the corpus' own size (uncompressed) per second. FOUND counts the
detection lines, names the distinct signature names among them; the names
ward and clamscan find in the zip are compared (clamscan -z repeats a name for
every match in a member, ward names it once per member, so only the names
compare). The goals: clamscan / ward on the zip at least 10x; ward -j 1 / ward
-j 2 on the zip at least 1.7x (two threads used on one archive); ward on the
tar.gz at most 1.5x the time tar -xzOf takes. A ratio whose scan stopped at a
limit is marked not comparable.

Example:
    benches/make-corpus.py /tmp/corpus
    cargo build --release
    benches/containers.py /tmp/corpus --runs 3
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile

sys.dont_write_bytecode = True  # no __pycache__ in benches/ from the import below
from compare import DATA, DEFAULT_WARD, corpus_size, timed_all

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
# Raw-content scanning, as ward does: every normaliser but the archive ones off.
CLAM_OFF = [f'--scan-{k}=no' for k in ('pe', 'elf', 'ole2', 'pdf', 'html', 'mail', 'swf', 'xmldocs',
                                        'hwp3', 'onenote')]
WARD_LIMITS = ['--max-scansize', '4G', '--max-files', '100000', '--alert-exceeds-max']
# The same for ward: containers, and nothing else (no mail, no text views).
WARD_OFF = ['--scan-mail=no', '--scan-html=no']
CLAM_LIMITS = ['--max-scansize=4000M', '--max-files=100000', '--max-filesize=4000M', '--max-scantime=0',
               '--alert-exceeds-max']
# What a scan stopped by a limit reports, with --alert-exceeds-max.
LIMIT = 'Heuristics.Limits.Exceeded.'
GOALS = (  # (what, numerator row, denominator row, goal, at least?)
    ('clamscan / ward -j 2, zip', 'clamscan, zip', 'ward -j 2, zip', 10.0, True),
    ('ward -j 1 / ward -j 2, zip', 'ward -j 1, zip', 'ward -j 2, zip', 1.7, True),
    ('ward -j 2 / tar -xzOf, tar.gz', 'ward -j 2, tar.gz', 'tar -xzOf (floor), tar.gz', 1.5, False),
)


def build_cache(corpus, cache, size, files):
    """corpus.zip and corpus.tar.gz of `corpus` in `cache`, built unless the
    ones there were built from a corpus of the same file count and size."""
    os.makedirs(cache, exist_ok=True)
    stamp_path = os.path.join(cache, 'stamp.json')
    stamp = {'corpus': os.path.realpath(corpus), 'files': files, 'bytes': size}
    zip_path, tgz_path = os.path.join(cache, 'corpus.zip'), os.path.join(cache, 'corpus.tar.gz')
    try:
        with open(stamp_path) as f:
            if json.load(f) == stamp and os.path.exists(zip_path) and os.path.exists(tgz_path):
                return zip_path, tgz_path
    except (OSError, ValueError):
        pass
    print(f'building {zip_path} and {tgz_path} ...', flush=True)
    t = time.perf_counter()
    write_zip(corpus, zip_path + '.tmp')
    subprocess.run(['tar', '-czf', tgz_path + '.tmp', '--sort=name', '-C', corpus, '.'], check=True)
    os.replace(zip_path + '.tmp', zip_path)
    os.replace(tgz_path + '.tmp', tgz_path)
    with open(stamp_path, 'w') as f:
        json.dump(stamp, f)
    print(f'built in {time.perf_counter() - t:.0f} s', flush=True)
    return zip_path, tgz_path


def write_zip(corpus, path):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for dirpath, dirnames, names in os.walk(corpus):
            dirnames.sort()
            for n in sorted(names):
                p = os.path.join(dirpath, n)
                if os.path.isfile(p) and not os.path.islink(p):
                    z.write(p, os.path.relpath(p, corpus))


def commands(args, zip_path, tgz_path):
    """(row name, command) for every row, in the order they are printed."""
    dbs = [x for d in args.ndb for x in ('-d', d)]

    def ward(j, target):
        return [args.ward, 'scan', '-j', str(j), '--no-builtin', '-i', '-z', '--no-summary',
                *WARD_LIMITS, *WARD_OFF, *dbs, target]

    rows = []
    for label, path in (('zip', zip_path), ('tar.gz', tgz_path)):
        rows += [(f'ward -j 2, {label}', ward(2, path)), (f'ward -j 1, {label}', ward(1, path))]
        if args.clamscan:
            rows.append((f'clamscan, {label}',
                         ['clamscan', '-i', '-z', '--no-summary', *CLAM_OFF, *CLAM_LIMITS, *dbs, path]))
    rows.append(('unzip -p (floor), zip', f'unzip -p {quote(zip_path)} > /dev/null'))
    rows.append(('tar -xzOf (floor), tar.gz', f'tar -xzOf {quote(tgz_path)} > /dev/null'))
    rows += [('ward -j 2, directory', ward(2, args.corpus)), ('ward -j 1, directory', ward(1, args.corpus))]
    return rows


def quote(path):
    return "'" + path.replace("'", "'\\''") + "'"


def detections(cmd):
    """Run `cmd` once (the warm-up run) and return the names on its lines
    ending in FOUND (clamscan's .UNOFFICIAL suffix taken off)."""
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         shell=isinstance(cmd, str)).stdout
    names = []
    for line in out.decode(errors='replace').splitlines():
        if line.endswith(' FOUND'):
            name = line[:-len(' FOUND')].rpartition(': ')[2]
            names.append(name.removesuffix('.UNOFFICIAL'))
    return names


def report(rows, results, found, size):
    med = {name: m for (name, _), (m, _, _) in zip(rows, results)}
    sigs = {name: [n for n in names if not n.startswith(LIMIT)] for name, names in found.items()}
    limits = {name: sorted({n[len(LIMIT):] for n in names if n.startswith(LIMIT)}) for name, names in found.items()}
    print(f'{"command":28} {"median s":>9} {"min-max s":>13} {"MB/s":>7} {"FOUND":>6} {"names":>6}  stopped at')
    for (name, _), (m, lo, hi) in zip(rows, results):
        counts = '' if 'floor' in name else f'{len(sigs[name]):6} {len(set(sigs[name])):6}  {" ".join(limits[name])}'
        print(f'{name:28} {m:9.3f} {lo:6.2f}-{hi:<6.2f} {size / m / 1e6:7.0f} {counts}')
    print(f'\n{"goal":32} {"ratio":>7} {"goal":>8}  met')
    for what, num, den, goal, at_least in GOALS:
        if num not in med:
            continue
        ratio = med[num] / med[den]
        met = 'yes' if (ratio >= goal if at_least else ratio <= goal) else 'no'
        if limits[num] or limits[den]:
            met = 'n/a: not comparable, a scan stopped at a limit (see "stopped at")'
        print(f'{what:32} {ratio:6.2f}x {">=" if at_least else "<="}{goal:5.1f}x  {met}')
    if 'clamscan, zip' in found:
        w, c = sigs['ward -j 2, zip'], sigs['clamscan, zip']
        same = 'the same' if set(w) == set(c) else f'{len(set(w) & set(c))} in common'
        print(f'\ndetections on the zip: ward {len(w)} FOUND lines, clamscan {len(c)}; '
              f'distinct names: ward {len(set(w))}, clamscan {len(set(c))}, {same}')
        print('(ward names a signature once per member, clamscan -z once per match, so the distinct '
              'names are what compare)')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('corpus')
    ap.add_argument('--cache', default=os.path.join(REPO, 'target', 'bench-containers'),
                    help='where corpus.zip and corpus.tar.gz are kept (default: target/bench-containers)')
    ap.add_argument('--ndb', action='append', help='body signatures (default: benches/data/bench.ndb)')
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--ward', default=DEFAULT_WARD, help='the ward binary (default: target/release/ward)')
    args = ap.parse_args()
    args.ndb = args.ndb or [os.path.join(DATA, 'bench.ndb')]
    args.clamscan = bool(shutil.which('clamscan'))
    if not shutil.which(args.ward):
        ap.error(f'no ward binary at {args.ward}: cargo build --release, or --ward PATH')
    for tool in ('unzip', 'tar'):
        if not shutil.which(tool):
            ap.error(f'{tool} is needed for the decompression floors')

    size, files = corpus_size(args.corpus)
    zip_path, tgz_path = build_cache(args.corpus, args.cache, size, files)
    rows = commands(args, zip_path, tgz_path)
    print(f'corpus: {args.corpus}: {files} files, {size / 2**20:.0f} MiB uncompressed; '
          f'corpus.zip {os.path.getsize(zip_path) / 2**20:.0f} MiB, '
          f'corpus.tar.gz {os.path.getsize(tgz_path) / 2**20:.0f} MiB')
    print(f'signatures: {" ".join(args.ndb)}; limits raised so that everything is scanned: '
          f'ward {" ".join(WARD_LIMITS)}, clamscan {" ".join(CLAM_LIMITS)}; all matches (-z)')
    if not args.clamscan:
        print('clamscan not found: its rows are left out')
    print(f'{args.runs} runs each, interleaved, median; warm-up run first', flush=True)
    found = {name: detections(cmd) for name, cmd in rows}
    results = timed_all([cmd for _, cmd in rows], args.runs, warm=False)
    report(rows, results, found, size)


if __name__ == '__main__':
    sys.exit(main())
