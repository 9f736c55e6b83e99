#!/usr/bin/env python3
"""Scan one mbox of 10,000 messages with attachments, with ward and clamscan in
the same run; print the median wall times, the ratio, and whether both found
the same signatures.

    benches/mail.py [--cache DIR] [--messages N] [--runs N] [--ndb SIGS.ndb] [--ward PATH]

The mbox is built once into the cache directory (default:
target/bench-mail in the repository) from this machine's own files, in sorted
order, so the same machine image gives the same mbox:

- each message carries one attachment: a file of at most 48 KiB from
  /usr/bin, /usr/lib/x86_64-linux-gnu, /usr/share/doc and /usr/lib/python3
  (text and binaries, as a mail gateway sees them), used again from the
  first when there are fewer such files than messages;
- the transfer encodings are mixed as in real mail: base64 for most parts,
  quoted-printable for text files, and every 50th attachment uuencoded in the
  body; every 10th message forwards another one (message/rfc822 inside
  multipart/mixed), every 25th nests a multipart/alternative.

Both get limits that let them open every part (one mbox holds more parts
than the default 10,000 files and 400 MiB per file). Both scanners take the same body signatures (--no-builtin -d benches/data/bench.ndb
for ward, -d for clamscan) and run with all matches on (-z), so that each
looks at every part. clamscan's mail decoder is on, its decoders of other
formats off, as in compare.py. Both run twice: with their text normalisers
on (the defaults: ward's normalised text view, clamscan's HTML and text
normalisers) and with both off (--scan-html=no), which leaves the mail
decoders alone to compare. Every command runs once to warm the page
cache (that run also collects the detections), then N times interleaved. The
goal: clamscan / ward at least 10x.
"""
import argparse, base64, binascii, email.utils, os, quopri, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SOURCES = ['/usr/bin', '/usr/lib/x86_64-linux-gnu', '/usr/share/doc', '/usr/lib/python3']
MAX_ATTACHMENT = 48 << 10


def attachments(count):
    """`count` regular files of at most MAX_ATTACHMENT bytes, taken in turn from the sources."""
    lists = []
    for root in SOURCES:
        found = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                p = os.path.join(dirpath, name)
                if not os.path.islink(p) and os.path.isfile(p) and 0 < os.path.getsize(p) <= MAX_ATTACHMENT:
                    found.append(p)
        lists.append(found)
    order, i = [], 0
    while any(lists):
        src = lists[i % len(lists)]
        if src:
            order.append(src.pop(0))
        i += 1
    # A small machine has fewer files than messages: they come round again.
    return [order[n % len(order)] for n in range(count)] if order else []


def wrap(data, width=76):
    return b'\n'.join(data[i:i + width] for i in range(0, len(data), width))


def uuencode(name, data):
    lines = [b'begin 644 ' + name.encode()]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i:i + 45]).rstrip(b'\n'))
    lines += [b'`', b'end']
    return b'\n'.join(lines)


def is_text(data):
    return b'\0' not in data[:4096]


def part(path, data, n):
    name = os.path.basename(path)
    if is_text(data) and n % 3 == 0:
        body = quopri.encodestring(data)
        cte, ctype = 'quoted-printable', 'text/plain; charset=utf-8'
    else:
        body = wrap(base64.b64encode(data))
        cte, ctype = 'base64', 'application/octet-stream'
    head = (f'Content-Type: {ctype}; name="{name}"\nContent-Transfer-Encoding: {cte}\n'
            f'Content-Disposition: attachment; filename="{name}"\n\n')
    return head.encode() + body


def message(n, path, data, inner=None):
    b = f'b{n:05d}'
    date = email.utils.formatdate(1700000000 + n * 60)
    head = (f'From: sender{n % 97}@example.org\nTo: ops@example.com\nDate: {date}\n'
            f'Subject: report {n}\nMessage-ID: <{n}@example.org>\nMIME-Version: 1.0\n'
            f'Content-Type: multipart/mixed; boundary="{b}"\n\n').encode()
    text = f'Please find report {n} attached.\n'.encode()
    if n % 50 == 0:
        text += b'\n' + uuencode(os.path.basename(path), data) + b'\n'
    parts = [b'Content-Type: text/plain\n\n' + text]
    if n % 25 == 0:
        a = f'a{n:05d}'
        parts[0] = (f'Content-Type: multipart/alternative; boundary="{a}"\n\n--{a}\n'.encode()
                    + b'Content-Type: text/plain\n\n' + text + f'\n--{a}\n'.encode()
                    + b'Content-Type: text/html\n\n<p>' + text + f'</p>\n--{a}--\n'.encode())
    if n % 50 != 0:
        parts.append(part(path, data, n))
    if inner is not None:
        parts.append(b'Content-Type: message/rfc822\n\n' + inner)
    body = b''.join(f'--{b}\n'.encode() + p + b'\n' for p in parts) + f'--{b}--\n'.encode()
    return head + body


def build(mbox, count):
    files = attachments(count)
    if not files:
        sys.exit('no file to attach found')
    tmp = mbox + '.tmp'
    with open(tmp, 'wb') as out:
        prev = None
        for n, path in enumerate(files):
            with open(path, 'rb') as f:
                data = f.read()
            msg = message(n, path, data, inner=prev if n % 10 == 9 else None)
            # mboxrd: a body line starting "From " would start a new message.
            msg = msg.replace(b'\nFrom ', b'\n>From ')
            out.write(f'From sender@example.org {time.asctime(time.gmtime(1700000000 + n * 60))}\n'.encode())
            out.write(msg + b'\n')
            prev = message(n, path, data)
    os.replace(tmp, mbox)


def run(argv):
    t = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    took = time.monotonic() - t
    if p.returncode not in (0, 1):
        sys.exit(f'{argv[0]} exited {p.returncode}')
    return took, p.stdout.decode(errors='replace')


def names(out):
    found = {l.rsplit(' ', 2)[-2] for l in out.splitlines() if l.endswith(' FOUND')}
    return {n.removesuffix('.UNOFFICIAL') for n in found}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cache', default=os.path.join(ROOT, 'target', 'bench-mail'))
    ap.add_argument('--messages', type=int, default=10000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--ndb', default=os.path.join(ROOT, 'benches', 'data', 'bench.ndb'))
    ap.add_argument('--ward', default=os.path.join(ROOT, 'target', 'release', 'ward'))
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    mbox = os.path.join(a.cache, f'bench-{a.messages}.mbox')
    if not os.path.exists(mbox):
        build(mbox, a.messages)
    size = os.path.getsize(mbox)
    if not shutil.which('clamscan'):
        sys.exit('clamscan not found (apt-get install clamav)')
    ward = [a.ward, 'scan', '-z', '--no-summary', '--no-builtin', '--no-clamav-db', '-d', a.ndb,
            '--max-scansize', '4G', '--max-files', '100000']
    clam = ['clamscan', '-z', '--no-summary', '-d', a.ndb, '--scan-pe=no', '--scan-elf=no',
            '--scan-ole2=no', '--scan-pdf=no', '--scan-swf=no', '--scan-xmldocs=no', '--scan-hwp3=no',
            '--scan-onenote=no', '--scan-image=no', '--max-scansize=4000M', '--max-filesize=4000M',
            '--max-files=100000', '--max-scantime=0']
    cmds = {
        ('ward -j 2', 'on'): ward + [mbox],
        ('clamscan', 'on'): clam + [mbox],
        ('ward -j 2', 'off'): ward + ['--scan-html=no', mbox],
        ('clamscan', 'off'): clam + ['--scan-html=no', mbox],
    }
    found = {k: names(run(c)[1]) for k, c in cmds.items()}
    times = {k: [] for k in cmds}
    for _ in range(a.runs):
        for k, c in cmds.items():
            times[k].append(run(c)[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f'mbox: {mbox}, {a.messages} messages, {size / 2**20:.0f} MiB; median of {a.runs}')
    print('| text normalisers | scanner | wall | MB/s | signature names found |')
    print('|---|---|---:|---:|---:|')
    for (who, norm) in cmds:
        k = (who, norm)
        print(f'| {norm} | {who} | {med[k]:.2f} s | {size / 1e6 / med[k]:.0f} | {len(found[k])} |')
    for norm in ('on', 'off'):
        w, c = ('ward -j 2', norm), ('clamscan', norm)
        print(f'normalisers {norm}: clamscan / ward {med[c] / med[w]:.1f}x (goal >= 10x); ', end='')
        if found[w] == found[c]:
            print('the same signature names found')
        else:
            print(f'ward only {sorted(found[w] - found[c])}, clamscan only {sorted(found[c] - found[w])}')


if __name__ == '__main__':
    main()
