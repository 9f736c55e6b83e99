#!/usr/bin/env bash
# Build every fuzz target, then run each for SECONDS (default 20) on a temporary
# copy of its seed corpus (fuzz/corpus/<target>), so the inputs libFuzzer
# generates never pile up in the repository. Exits 1 when any target crashes,
# panics, leaks or hangs (-timeout); the failing input is kept in
# fuzz/artifacts/<target>/ and the command to reproduce it is printed.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz passes nightly-only
# flags (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 makes a stable toolchain
# accept them.
set -euo pipefail

secs=${1:-20}
shift || true
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    if [ -d "corpus/$t" ]; then
        cp -R "corpus/$t/." "$work/$t/"
    fi
    echo "=== $t: ${secs}s"
    start=$SECONDS
    if cargo fuzz run "$t" "$work/$t" -- \
        -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        >"$work/$t.log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units)' "$work/$t.log" || true
        echo "=== $t: ok ($((SECONDS - start))s)"
    else
        tail -n 60 "$work/$t.log"
        echo "=== $t: FAILED; reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run $t fuzz/artifacts/$t/<file>"
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz targets failed: ${failed[*]}" >&2
    exit 1
fi
echo "all fuzz targets ran ${secs}s without a crash"
