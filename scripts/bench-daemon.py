#!/usr/bin/python3
"""ward daemon side by side with clamd (from clamav-daemon), same signatures.

Measures, for each daemon: the time from start to the first PONG; INSTREAM
of 10 KiB and 1 MiB payloads with 1, 8 and 64 concurrent clients (requests
per second, p50 and p99 latency); RSS at rest and its peak during a RELOAD.
Prints a Markdown table.

    cargo build --release --example daemon-load
    scripts/bench-daemon.py [--ward target/release/ward] [--sigs FILE.ndb] [--corpus DIR]
                            [--seconds 5] [--threads 16] [--client PATH]

The INSTREAM loads are driven by examples/daemon-load.rs when it has been
built (--client names it; default target/release/examples/daemon-load):
a client in Python spends more CPU per 10 KiB request than the daemons do,
so on a small machine it would measure itself. Without it, Python threads
send the requests, and the table says so.

The signatures default to benches/data/bench.ndb when present (see
benches/data/README), else a generated set of 5,000 random literals. Run as
root or as a user who may start clamd with a config of its own.
"""

import argparse
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time


def ping(path, timeout=1.0):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(b"zPING\0")
        return s.recv(16) == b"PONG\0"
    except OSError:
        return False
    finally:
        s.close()


def instream(path, payload):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(path)
    msg = bytearray(b"zINSTREAM\0")
    for i in range(0, len(payload), 1 << 16):
        chunk = payload[i : i + (1 << 16)]
        msg += struct.pack("!L", len(chunk)) + chunk
    msg += b"\0\0\0\0"
    s.sendall(msg)
    out = b""
    while not out.endswith(b"\0"):
        b = s.recv(4096)
        if not b:
            break
        out += b
    s.close()
    if not out.startswith(b"stream: "):
        raise RuntimeError(out)


def path_scan(path, cmd, top):
    """Wall time of a path command over the unix socket, and its answer lines."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(3600)
    s.connect(path)
    t = time.monotonic()
    s.sendall(f"z{cmd} {top}\0".encode())
    out = b""
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        out += b
    s.close()
    return time.monotonic() - t, [l for l in out.split(b"\0") if l]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def load_native(client, path, payload, clients, seconds):
    with tempfile.NamedTemporaryFile() as f:
        f.write(payload)
        f.flush()
        out = subprocess.run([client, path, f.name, str(clients), f"{seconds:g}"],
                             check=True, capture_output=True, text=True).stdout
    rate, p50, p99 = (float(x) for x in out.split())
    return rate, p50, p99


def load(path, payload, clients, seconds, client=None):
    if client:
        return load_native(client, path, payload, clients, seconds)
    lat = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run():
        mine = []
        while time.monotonic() < stop:
            t = time.perf_counter()
            instream(path, payload)
            mine.append(time.perf_counter() - t)
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=run) for _ in range(clients)]
    start = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.monotonic() - start
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    return len(lat) / took, pct(0.50), pct(0.99)


def start(name, argv, sock):
    t = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ping(sock, 0.2):
        if p.poll() is not None:
            sys.exit(f"{name} exited: {argv}")
        time.sleep(0.005)
    return p, time.monotonic() - t


def reload_peak(p, sock):
    """RSS just before a RELOAD, its peak while reloading, and RSS after."""
    before = rss_kib(p.pid)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(b"zRELOAD\0")
    s.recv(64)
    s.close()
    peak, end = 0, time.monotonic() + 5
    while time.monotonic() < end:
        peak = max(peak, rss_kib(p.pid))
        time.sleep(0.005)
    return before, peak, rss_kib(p.pid)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", default=os.path.join(here, "..", "target", "release", "ward"))
    ap.add_argument("--sigs", default=os.path.join(here, "..", "benches", "data", "bench.ndb"))
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--corpus", help="also time CONTSCAN and MULTISCAN of this directory")
    ap.add_argument("--no-instream", action="store_true", help="skip the INSTREAM loads")
    ap.add_argument("--client", default=os.path.join(here, "..", "target", "release", "examples", "daemon-load"),
                    help="the load generator (examples/daemon-load.rs); Python threads when it is missing")
    a = ap.parse_args()
    client = a.client if os.access(a.client, os.X_OK) else None
    tmp = tempfile.mkdtemp(prefix="ward-bench-daemon")
    db = os.path.join(tmp, "db")
    os.mkdir(db)
    if os.path.exists(a.sigs):
        shutil.copy(a.sigs, os.path.join(db, "bench.ndb"))
    else:
        rnd = random.Random(7)
        with open(os.path.join(db, "bench.ndb"), "w") as f:
            for i in range(5000):
                f.write(f"Bench.Gen.{i}:0:*:{rnd.randbytes(12).hex()}\n")
    daemons = {}
    for name in ("clamd", "ward"):
        sock = os.path.join(tmp, f"{name}.sock")
        conf = os.path.join(tmp, f"{name}.conf")
        with open(conf, "w") as f:
            f.write(
                f"LocalSocket {sock}\nDatabaseDirectory {db}\nMaxThreads {a.threads}\n"
                "MaxQueue 200\nStreamMaxLength 10M\n"
            )
            if name == "clamd":
                f.write("Foreground yes\nUser root\nLogFile /dev/null\n")
        argv = (
            ["clamd", f"--config-file={conf}"]
            if name == "clamd"
            else [a.ward, "daemon", "--config-file", conf]
        )
        daemons[name] = (argv, sock)
    if a.corpus:
        # Read the corpus once so that neither daemon pays for a cold cache.
        for d, _, files in os.walk(a.corpus):
            for f in files:
                try:
                    with open(os.path.join(d, f), "rb") as fh:
                        while fh.read(1 << 20):
                            pass
                except OSError:
                    pass
    rows = {}
    payloads = {"10 KiB": random.Random(1).randbytes(10 << 10), "1 MiB": random.Random(2).randbytes(1 << 20)}
    for name, (argv, sock) in daemons.items():
        p, startup = start(name, argv, sock)
        r = rows[name] = {"start": startup}
        time.sleep(1)
        r["rest"] = rss_kib(p.pid)
        r["rest reload"] = reload_peak(p, sock)
        for label, data in payloads.items():
            for c in (1, 8, 64):
                if not a.no_instream:
                    r[(label, c)] = load(sock, data, c, a.seconds, client)
        if a.corpus:
            for cmd in ("CONTSCAN", "MULTISCAN"):
                r[cmd] = path_scan(sock, cmd, os.path.abspath(a.corpus))
        time.sleep(1)
        r["after"] = rss_kib(p.pid)
        r["reload"] = reload_peak(p, sock)
        p.terminate()
        p.wait()
    print(f"signatures: {os.path.basename(a.sigs) if os.path.exists(a.sigs) else '5,000 generated'}, "
          f"MaxThreads {a.threads}, {a.seconds:g} s per load, {os.cpu_count()} CPUs, "
          f"client {'examples/daemon-load' if client else 'Python threads'}\n")
    print("| measure | clamd | ward daemon | ward / clamd |")
    print("|---|---:|---:|---:|")
    c, w = rows["clamd"], rows["ward"]
    print(f"| start-up to first PONG | {c['start']*1000:.0f} ms | {w['start']*1000:.0f} ms | {w['start']/c['start']:.2f} |")
    for label in payloads if not a.no_instream else []:
        for n in (1, 8, 64):
            (cr, c50, c99), (wr, w50, w99) = c[(label, n)], w[(label, n)]
            print(f"| INSTREAM {label}, {n} clients: req/s | {cr:.0f} | {wr:.0f} | {wr/cr:.2f} |")
            print(f"| INSTREAM {label}, {n} clients: p50 / p99 ms | {c50:.1f} / {c99:.1f} | {w50:.1f} / {w99:.1f} | {w99/c99:.2f} (p99) |")
    if a.corpus:
        files = sum(len(f) for _, _, f in os.walk(a.corpus))
        for cmd in ("CONTSCAN", "MULTISCAN"):
            (ct, cl), (wt, wl) = c[cmd], w[cmd]
            kinds = lambda ls: "{} FOUND, {} ERROR".format(
                sum(l.endswith(b" FOUND") for l in ls), sum(l.endswith(b" ERROR") for l in ls))
            print(f"| {cmd} of {files:,} files: wall s ({kinds(cl)} / {kinds(wl)}) | {ct:.1f} | {wt:.1f} | {ct/wt:.1f}x faster |")
            if os.environ.get("SHOW_LINES"):
                sys.stderr.write(b"\n".join(cl + [b"----"] + wl).decode(errors="replace") + "\n")
    mib = lambda k: k / 1024
    print(f"| RSS at rest | {mib(c['rest']):.0f} MiB | {mib(w['rest']):.0f} MiB | {w['rest']/c['rest']:.2f} |")
    for key, when in (("rest reload", "at rest"), ("reload", "after the loads")):
        (cb, cp, ca), (wb, wp, wa) = c[key], w[key]
        print(f"| RELOAD {when}: RSS before / peak / 5 s after, MiB | {mib(cb):.0f} / {mib(cp):.0f} / {mib(ca):.0f} "
              f"| {mib(wb):.0f} / {mib(wp):.0f} / {mib(wa):.0f} | |")
        print(f"| RELOAD {when}: peak / RSS before | {cp/cb:.2f} | {wp/wb:.2f} | |")
    print(f"| RSS 1 s after the loads | {mib(c['after']):.0f} MiB | {mib(w['after']):.0f} MiB | |")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
