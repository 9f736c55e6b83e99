#!/usr/bin/env python3
"""Builds src/compile/bigrams.bin: how often each byte pair occurs in ordinary
files, for choosing rare atoms (src/compile/atoms.rs).

Output: 65,536 bytes; entry b0 * 256 + b1 is round(8 * log2(1 + count)) capped at
255, where count is the number of times byte b0 is followed by byte b1.

The training files must not overlap the benchmark corpus (benches/make-corpus.py
copies /usr/lib/x86_64-linux-gnu, /usr/bin, /usr/share/doc, /usr/share/man,
/usr/lib/python3, /usr/share/perl, /usr/include), so the default sources are other
parts of a Debian system: compilers, the JVM, helper programs, vim and locale data,
JavaScript modules. At most 256 KiB is read from each file, 160 MiB in all.

Usage: scripts/bigram-table.py [DIR...]
"""
import math
import os
import sys

DEFAULT = ['/usr/lib/gcc', '/usr/lib/jvm', '/usr/libexec', '/usr/lib/git-core',
           '/usr/lib/postgresql', '/usr/share/vim', '/usr/share/i18n', '/usr/lib/node_modules',
           '/usr/sbin']
PER_FILE = 256 << 10
TOTAL = 160 << 20


def main():
    dirs = sys.argv[1:] or DEFAULT
    counts = [0] * 65536
    total = 0
    for top in dirs:
        for root, _, files in sorted(os.walk(top)):
            for name in sorted(files):
                path = os.path.join(root, name)
                if total >= TOTAL or os.path.islink(path) or not os.path.isfile(path):
                    continue
                try:
                    with open(path, 'rb') as f:
                        data = f.read(PER_FILE)
                except OSError:
                    continue
                total += len(data)
                pairs = memoryview(data)
                for i in range(len(pairs) - 1):
                    counts[pairs[i] << 8 | pairs[i + 1]] += 1
    out = bytes(min(255, round(8 * math.log2(1 + c))) for c in counts)
    dest = os.path.join(os.path.dirname(__file__), '..', 'src', 'compile', 'bigrams.bin')
    with open(dest, 'wb') as f:
        f.write(out)
    print(f'{total} bytes read, table written to {dest}')


if __name__ == '__main__':
    main()
