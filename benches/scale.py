#!/usr/bin/python3
"""Signature loading at ClamAV's scale: ward against clamscan, in one run.

Generates a database shaped like ClamAV's official one (hash signatures with
ClamAV-style names and sizes, .ndb body signatures, .ldb logical signatures),
packs it as a .cud with `sigtool --unsigned --build` (offline: an unsigned
container needs no signing server), and measures the wall time and peak RSS
(`/usr/bin/time`) of loading it:

  * ward: `ward sigs info --no-builtin -d DB` (load and compile, no scan);
  * clamscan: `clamscan --no-summary -d DB EMPTY-FILE` (load, compile, scan
    one empty file).

Rows: the hashes alone as text (the "3M hashes in 1 s" goal), the same as a
compiled set (`ward sigs compile`, goal 100 ms), the .ldb alone (compile time
of logical signatures, goal 2 s), and the full set as loose files and as a
.cud. Every command runs --runs times (default 3), the runs interleaved; the
median wall time, the median CPU time (user + system) and the largest peak
RSS are reported, with the ratios clamscan / ward (10x means ward loads ten
times faster, or in a tenth of the memory). On a machine shared with other
work, the CPU time is the steadier figure.

    cargo build --release
    benches/scale.py [--ward target/release/ward] [--md5 4500000] [--sha256 1500000]
                     [--ndb 100000] [--ldb 40000] [--hash-only 3000000] [--runs 3]
                     [--dir DIR] [--keep]

Section hashes (.mdb/.msb) are not generated: ward counts and skips those
files today, so clamscan would load signatures ward does not, and the ratio
would flatter ward. Needs python3 (standard library), clamscan and sigtool
(Debian's clamav), and /usr/bin/time.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

FLEVEL_ENGINE = "Engine:51-255"


def md5ish(rng, nbytes):
    return "%0*x" % (nbytes * 2, rng.getrandbits(nbytes * 8))


def write_hashes(path, rng, count, nbytes, family, start):
    """Lines `digest:size:Family.Name-N-0`, as in main.hdb / daily.hsb."""
    families = ["Win.Trojan.Agent", "Win.Malware.Zusy", "Doc.Dropper.Agent",
                "Html.Phishing.Bank", "Unix.Trojan.Mirai", "Win.Adware.Generic"]
    with open(path, "w") as f:
        lines = []
        for n in range(count):
            name = "%s.%s-%d-0" % (rng.choice(families), family, start + n)
            lines.append("%s:%d:%s\n" % (md5ish(rng, nbytes), rng.randint(64, 4 << 20), name))
            if len(lines) == 100000:
                f.write("".join(lines))
                lines = []
        f.write("".join(lines))


def hexbytes(rng, n):
    return md5ish(rng, n)


def body_pattern(rng):
    """A hex pattern of 2 to 4 literal runs joined by wildcards and gaps."""
    parts = [hexbytes(rng, rng.randint(6, 20))]
    for _ in range(rng.randint(1, 3)):
        parts.append(rng.choice(["??", "*", "{%d-%d}" % (rng.randint(0, 4), rng.randint(5, 40))]))
        parts.append(hexbytes(rng, rng.randint(4, 16)))
    return "".join(parts)


def write_ndb(path, rng, count):
    with open(path, "w") as f:
        for n in range(count):
            f.write("Win.Trojan.Body-%d-0:0:*:%s\n" % (n, body_pattern(rng)))


def write_ldb(path, rng, count):
    """Logical signatures of 2 to 4 subsignatures, with &, | and counts."""
    with open(path, "w") as f:
        for n in range(count):
            k = rng.randint(2, 4)
            subs = [hexbytes(rng, rng.randint(6, 16)) for _ in range(k)]
            if k == 2:
                expr = rng.choice(["0&1", "0|1", "(0|1)>1"])
            elif k == 3:
                expr = rng.choice(["0&1&2", "(0|1)&2", "0&(1|2)=1"])
            else:
                expr = rng.choice(["(0&1)|(2&3)", "0&1&2&3", "(0|1|2)>1&3"])
            f.write("Win.Trojan.Logic-%d-0;%s,Target:0;%s;%s\n"
                    % (n, FLEVEL_ENGINE, expr, ";".join(subs)))


def generate(d, args):
    rng = random.Random(20261202)
    files = {}
    print("generating in %s ..." % d, file=sys.stderr)
    write_hashes(os.path.join(d, "main.hdb"), rng, args.md5, 16, "Md5", 1000000)
    write_hashes(os.path.join(d, "main.hsb"), rng, args.sha256, 32, "Sha256", 9000000)
    write_ndb(os.path.join(d, "main.ndb"), rng, args.ndb)
    write_ldb(os.path.join(d, "main.ldb"), rng, args.ldb)
    for name in ["main.hdb", "main.hsb", "main.ndb", "main.ldb"]:
        files[name] = os.path.join(d, name)
    hash_only = os.path.join(d, "hashes.hdb")
    write_hashes(hash_only, rng, args.hash_only, 16, "Md5", 20000000)
    return files, hash_only


def build_cud(d, files):
    """`sigtool --unsigned --build` in a directory of its own: main.cud."""
    work = os.path.join(d, "cud")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "COPYING"), "w") as f:
        f.write("generated benchmark database\n")
    for name, path in files.items():
        os.link(path, os.path.join(work, name))
    subprocess.run(["sigtool", "--build=main.cud", "--unsigned", "--no-cdiff",
                    "--cvd-version=1", "--datadir=" + work],
                   cwd=work, input=b"ward-bench\n", stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, check=True)
    return os.path.join(work, "main.cud")


def timed(cmd):
    """(wall seconds, peak RSS in KiB, CPU seconds, stdout) of one run of `cmd`."""
    r = subprocess.run(["/usr/bin/time", "-f", "@@time %e %M %U %S"] + cmd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = [l for l in r.stderr.splitlines() if l.startswith("@@time ")]
    if not line or r.returncode not in (0, 1):
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr[-2000:]))
    _, wall, rss, user, sys_ = line[-1].split()
    return float(wall), int(rss), float(user) + float(sys_), r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ward", default="target/release/ward")
    ap.add_argument("--md5", type=int, default=4500000)
    ap.add_argument("--sha256", type=int, default=1500000)
    ap.add_argument("--ndb", type=int, default=100000)
    ap.add_argument("--ldb", type=int, default=40000)
    ap.add_argument("--hash-only", type=int, default=3000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", help="work directory (default: a temporary one); a database "
                    "generated there before is used again")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    for tool in ["clamscan", "sigtool", "/usr/bin/time"]:
        if not shutil.which(tool):
            sys.exit("%s is needed (apt-get install clamav time)" % tool)
    ward = os.path.abspath(args.ward)
    d = args.dir or tempfile.mkdtemp(prefix="ward-scale-")
    os.makedirs(d, exist_ok=True)
    try:
        cud = os.path.join(d, "cud", "main.cud")
        if args.dir and os.path.exists(cud):
            print("reusing the database in %s" % d, file=sys.stderr)
            files = {n: os.path.join(d, n) for n in ["main.hdb", "main.hsb", "main.ndb", "main.ldb"]}
            hash_only = os.path.join(d, "hashes.hdb")
        else:
            files, hash_only = generate(d, args)
            print("packing main.cud with sigtool ...", file=sys.stderr)
            cud = build_cud(d, files)
        loose = os.path.join(d, "loose")
        os.makedirs(loose, exist_ok=True)
        for name, path in files.items():
            if not os.path.exists(os.path.join(loose, name)):
                os.link(path, os.path.join(loose, name))
        empty = os.path.join(d, "empty")
        open(empty, "w").close()
        wardset = os.path.join(d, "hashes.wardset")
        subprocess.run([ward, "sigs", "compile", "-d", hash_only, "-o", wardset],
                       stdout=subprocess.DEVNULL, check=True)
        info = [ward, "sigs", "info", "--json", "--no-builtin", "-d"]
        clam = ["clamscan", "--no-summary", "-d"]
        rows = [
            ("%d MD5 (.hdb text)" % args.hash_only, info + [hash_only], clam + [hash_only, empty]),
            ("the same, compiled set", info + [wardset], None),
            ("%d .ldb" % args.ldb, info + [files["main.ldb"]], clam + [files["main.ldb"], empty]),
            ("full set, loose files", info + [loose], clam + [loose, empty]),
            ("full set, main.cud", info + [cud], clam + [cud, empty]),
        ]
        results = {}
        for run in range(args.runs + 1):  # the first run warms the page cache
            for label, wcmd, ccmd in rows:
                for who, cmd in (("ward", wcmd), ("clamscan", ccmd)):
                    if cmd is None:
                        continue
                    wall, rss, cpu, out = timed(cmd)
                    if run == 0:
                        continue
                    r = results.setdefault((label, who), {"wall": [], "rss": [], "cpu": [], "build": []})
                    r["wall"].append(wall)
                    r["rss"].append(rss)
                    r["cpu"].append(cpu)
                    if who == "ward":
                        b = json.loads(out)["build_time"]
                        r["build"].append(b["secs"] + b["nanos"] / 1e9)
        sigs = args.md5 + args.sha256 + args.ndb + args.ldb
        print("\n%d MD5 + %d SHA-256 + %d .ndb + %d .ldb = %d signatures; %d runs, median wall, peak RSS\n"
              % (args.md5, args.sha256, args.ndb, args.ldb, sigs, args.runs))
        print("| load | ward wall s | ward CPU s | ward compile s | ward MiB "
              "| clamscan wall s | clamscan CPU s | clamscan MiB | wall ratio | memory ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, _, ccmd in rows:
            w = results[(label, "ward")]
            ws, wc = statistics.median(w["wall"]), statistics.median(w["cpu"])
            wm, wb = max(w["rss"]) / 1024, statistics.median(w["build"])
            if ccmd is None:
                print("| %s | %.2f | %.2f | %.2f | %.0f | | | | | |" % (label, ws, wc, wb, wm))
                continue
            c = results[(label, "clamscan")]
            cs, cc = statistics.median(c["wall"]), statistics.median(c["cpu"])
            cm = max(c["rss"]) / 1024
            print("| %s | %.2f | %.2f | %.2f | %.0f | %.2f | %.2f | %.0f | %.1fx | %.1fx |"
                  % (label, ws, wc, wb, wm, cs, cc, cm, cs / max(ws, 0.01), cm / wm))
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
