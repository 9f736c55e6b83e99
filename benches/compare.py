#!/usr/bin/env python3
"""Scan one corpus with ward and its peers, in one run, and print wall times,
throughput and ratios.

    benches/compare.py CORPUS [--ndb SIGS.ndb ...] [--hash SIGS.hsb ...] [--with-hashes]
                       [--yar RULES.yar] [-j THREADS] [--runs N] [--ward [NAME=]PATH ...]
                       [--no-peers]

The signatures default to the set carried in the repository (benches/data/, see
its README): --ndb benches/data/bench.ndb and --yar benches/data/bench.yar;
--with-hashes adds its hash signatures, benches/data/bench.hsb and bench.hdb.
An --ndb given on the command line replaces the default one.

Peers run when installed: clamscan (one thread; it has no other mode), yara -p N,
yr (YARA-X) scan -p N. A plain parallel read of every file (cat) gives the floor.
Every command runs once to warm the page cache, then N times, the runs of all
commands interleaved; the median wall time is reported. Ratios are peer time / ward time, so 10x means ward is ten
times faster. Detections are not compared here (tests/it/clamav_diff.rs does).

--ward may be given several times (NAME=PATH, or PATH, then named by its path)
to time several ward builds side by side in the same interleaved runs, for
example the build before a change and the one after it; each gets a row at -j N
and at -j 1, and a last table gives each one's median and its ratio to the first
--ward (new time / old time: below 1.0 is faster). --no-peers leaves out the other
scanners and the plain read. --scaling times the first --ward only.

With --scaling 1,2,4,8,16 it instead runs ward, yr, yara and the plain read at each
thread count and prints throughput, speed-up over one thread and the ratio to YARA-X
(the multi-core table in the README).

Example (the headline figures in the README):
    benches/make-corpus.py /tmp/corpus
    cargo build --release
    benches/compare.py /tmp/corpus -j 2
    benches/compare.py /tmp/corpus --with-hashes -j 2

Before and after a change (the first --ward is the reference):
    benches/compare.py /tmp/corpus -j 2 --runs 10 --no-peers \
        --ward before=/tmp/ward-before --ward after=target/release/ward
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
DEFAULT_WARD = os.path.join(os.path.dirname(__file__), '..', 'target', 'release', 'ward')


def corpus_size(root):
    total = files = 0
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
                files += 1
    return total, files


def once(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, shell=isinstance(cmd, str))
    return time.perf_counter() - t


def timed_all(cmds, runs, warm=True):
    """(median, min, max) for each command. The runs are interleaved (every
    command once, then again), so that a shared machine's drift affects every
    command alike and the ratios stay fair. With `warm`, every command first
    runs once untimed (pass False when the caller has already run them)."""
    for cmd in cmds if warm else []:
        once(cmd)
    times = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            times[i].append(once(cmd))
    return [(statistics.median(t), min(t), max(t)) for t in times]


def timed(cmd, runs):
    return timed_all([cmd], runs)[0]


def yr_compile(args):
    """Precompiled rules, so that rule compilation is not counted against YARA-X."""
    compiled = os.path.join(tempfile.mkdtemp(), 'rules.yarc')
    subprocess.run([args.yr, 'compile', '-o', compiled, args.yar], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return compiled


def read_all(corpus, procs):
    q = corpus.replace("'", "'\\''")
    return f"find '{q}' -type f -print0 | xargs -0 -P {procs} -n 256 cat > /dev/null"


def scaling(args, size, files, dbs):
    counts = [int(n) for n in args.scaling.split(',')]
    have_yr = bool(args.yar and shutil.which(args.yr))
    have_yara = bool(args.yar and shutil.which('yara'))
    compiled = yr_compile(args) if have_yr else None
    print(f'corpus: {args.corpus}: {files} files, {size / 2**20:.0f} MiB; cores: {os.cpu_count()}; '
          f'signatures: {" ".join(args.ndb + args.hash)}; {args.runs} runs each, median', flush=True)
    head = f'{"threads":>7} {"ward s":>8} {"MB/s":>7} {"speed-up":>8} {"read s":>7}'
    if have_yr:
        head += f' {"yr s":>7} {"ward vs yr":>10}'
    if have_yara:
        head += f' {"yara s":>7} {"ward vs yara":>10}'
    print(head, flush=True)
    base = None
    for n in counts:
        j = str(n)
        cmds = [[args.ward, 'scan', '-j', j, '--no-builtin', '-i', '--no-summary', *raw_flags(args.ward), *dbs,
                 args.corpus],
                read_all(args.corpus, j)]
        if have_yr:
            cmds.append([args.yr, 'scan', '-r', '-p', j, '-C', compiled, args.corpus])
        if have_yara:
            cmds.append(['yara', '-r', '-p', j, args.yar, args.corpus])
        medians = [t[0] for t in timed_all(cmds, args.runs)]
        ward, read = medians[0], medians[1]
        base = base or ward * n
        line = f'{n:7} {ward:8.3f} {size / ward / 1e6:7.0f} {base / ward:7.1f}x {read:7.3f}'
        for peer in medians[2:]:
            line += f' {peer:7.2f} {peer / ward:9.1f}x'
        print(line, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('corpus')
    ap.add_argument('--ndb', action='append',
                    help='body signatures (ward, clamscan; default: benches/data/bench.ndb)')
    ap.add_argument('--hash', action='append', default=[], help='hash signatures .hsb/.hdb (ward, clamscan)')
    ap.add_argument('--with-hashes', action='store_true',
                    help='add the hash signatures benches/data/bench.hsb and bench.hdb')
    ap.add_argument('--yar', default=os.path.join(DATA, 'bench.yar'),
                    help='the same body patterns as YARA rules (yara, yr; default: benches/data/bench.yar)')
    ap.add_argument('-j', '--threads', type=int, default=os.cpu_count())
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--scaling', help='comma-separated thread counts: print a scaling table instead')
    ap.add_argument('--yr', default='yr', help='the YARA-X command (default: yr on PATH)')
    ap.add_argument('--ward', action='append', metavar='[NAME=]PATH',
                    help='a ward binary; repeat to compare builds, the first is the reference '
                         '(default: target/release/ward)')
    ap.add_argument('--no-peers', action='store_true', help='time only ward: no other scanners, no plain read')
    args = ap.parse_args()
    args.wards = [ward_arg(w) for w in args.ward or [DEFAULT_WARD]]
    args.ward = args.wards[0][1]
    if len({name for name, _ in args.wards}) < len(args.wards):
        ap.error('two --ward builds with one name: name them, NAME=PATH')
    if args.ndb is None:
        args.ndb = [os.path.join(DATA, 'bench.ndb')]
    if args.with_hashes:
        args.hash += [os.path.join(DATA, 'bench.hsb'), os.path.join(DATA, 'bench.hdb')]

    size, files = corpus_size(args.corpus)
    dbs = [x for d in args.ndb + args.hash for x in ('-d', d)]
    if args.scaling:
        return scaling(args, size, files, dbs)
    j = str(args.threads)
    runs = []
    for name, ward in args.wards:
        raw = raw_flags(ward)
        runs.append((name, [ward, 'scan', '-j', j, '--no-builtin', '-i', '--no-summary', *raw, *dbs,
                            args.corpus]))
        runs.append((f'{name} -j 1', [ward, 'scan', '-j', '1', '--no-builtin', '-i', '--no-summary', *raw,
                                      *dbs, args.corpus]))
    if shutil.which('clamscan') and not args.no_peers:
        # Raw-content scanning, as ward does: no archive, document or HTML normalisers.
        off = [f'--scan-{k}=no' for k in ('archive', 'pe', 'elf', 'ole2', 'pdf', 'html', 'mail', 'swf',
                                           'xmldocs', 'hwp3', 'onenote')]
        runs.append(('clamscan (1 thread)', ['clamscan', '-r', '-i', '--no-summary', *off, *dbs, args.corpus]))
    if args.yar and shutil.which('yara') and not args.no_peers:
        runs.append((f'yara -p {j}', ['yara', '-r', '-p', j, args.yar, args.corpus]))
    if args.yar and shutil.which(args.yr) and not args.no_peers:
        # Precompiled rules, so that rule compilation is not counted against YARA-X.
        compiled = yr_compile(args)
        runs.append((f'yr (YARA-X) -p {j}', [args.yr, 'scan', '-r', '-p', j, '-C', compiled, args.corpus]))
    if not args.no_peers:
        runs.append((f'read only (cat, {j} procs)', read_all(args.corpus, j)))

    print(f'corpus: {args.corpus}: {files} files, {size / 2**20:.0f} MiB; '
          f'signatures: {" ".join(args.ndb + args.hash)}; {args.runs} runs each, median')
    results = [(name, *t) for (name, _), t in zip(runs, timed_all([c for _, c in runs], args.runs))]
    ward_time = results[0][1]
    print(f'{"scanner":28} {"median s":>9} {"min-max s":>13} {"MB/s":>8} {"vs ward":>8}')
    for name, med, lo, hi in results:
        print(f'{name:28} {med:9.3f} {lo:6.2f}-{hi:<6.2f} {size / med / 1e6:8.0f} {med / ward_time:7.1f}x')
    if len(args.wards) > 1:
        builds(args, results)


def builds(args, results):
    """Each ward build's medians and their ratio to the first build's (new / old)."""
    med = {name: m for name, m, _, _ in results}
    ref = args.wards[0][0]
    print(f'\nward builds, median s (ratio to {ref}: below 1.0 is faster)')
    print(f'{"build":20} {"-j " + str(args.threads):>16} {"-j 1":>16}')
    for name, _ in args.wards:
        cols = [(med[n], med[n] / med[r]) for n, r in ((name, ref), (f'{name} -j 1', f'{ref} -j 1'))]
        print(f'{name:20}' + ''.join(f' {m:8.3f} {q:6.3f}x' for m, q in cols))


def raw_flags(ward):
    """Raw-content scanning, as clamscan and yara are run here: a ward that
    unpacks containers (the corpus holds 22,000 gzipped man pages), opens mail
    or matches normalised text views is told not to; containers are timed by
    benches/containers.py."""
    out = subprocess.run([ward, 'scan', '--help'], capture_output=True, text=True).stdout
    return [f'--scan-{k}=no' for k in ('archive', 'mail', 'html') if f'--scan-{k}' in out]


def ward_arg(arg):
    """(name, path) from NAME=PATH or PATH."""
    name, sep, path = arg.partition('=')
    return (name, path) if sep and name else (arg, arg)


if __name__ == '__main__':
    sys.exit(main())
