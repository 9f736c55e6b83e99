#!/usr/bin/env bash
# Runs ward's test suite on a fresh Debian machine: installs what the tests need
# (ClamAV and its test files, for the differential and clam.exe tests; cpio and
# xz, for the package fixtures; clamdscan and pyclamd, for the daemon), then
# runs formatting, lint and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v clamscan >/dev/null || need+=(clamav)
[ -f /usr/share/clamav-testfiles/clam.exe ] || need+=(clamav-testfiles)
[ -x /usr/bin/time ] || need+=(time)          # peak memory of one child
command -v strace >/dev/null || need+=(strace) # fsync order of new directories
command -v setpriv >/dev/null || need+=(util-linux)
command -v mount >/dev/null || need+=(mount)     # a tmpfs of a test's own
[ -x /usr/bin/python3 ] || need+=(python3)    # container fixtures (tests/fixtures)
command -v cpio >/dev/null || need+=(cpio)       # cpio archives in every format
command -v xz >/dev/null || need+=(xz-utils)     # xz payloads, raw LZMA for hand-made 7z
command -v 7zz >/dev/null || command -v 7z >/dev/null || need+=(7zip) # 7z archives
command -v gcab >/dev/null || need+=(gcab)       # cabinets
command -v clamdscan >/dev/null || need+=(clamav-daemon) # the daemon's real client
[ -d /usr/lib/python3/dist-packages/pyclamd ] || need+=(python3-pyclamd) # and pyclamd
command -v systemd-analyze >/dev/null || need+=(systemd) # checks contrib/'s units
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
# clamav-daemon's own services are not needed (each test starts ward on
# sockets of its own): keep clamd and freshclam from running beside the tests.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $(if [ "$(id -u)" -ne 0 ]; then echo sudo; fi) systemctl disable --now \
        clamav-daemon.service clamav-daemon.socket clamav-freshclam.service >/dev/null 2>&1 || true
fi

cargo fmt --all -- --check
cargo clippy --all-targets --release -- -D warnings
cargo test --release
