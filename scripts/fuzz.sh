#!/usr/bin/env bash
# Fuzzes the domain parsers and every service's request validation (fuzz/, cargo-fuzz + libFuzzer): no input may
# panic or be answered INTERNAL. Installs cargo-fuzz if missing, builds every target once, runs each for a while
# and prints executions and time per target.
#
#   bash scripts/fuzz.sh                  smoke: 20 s per target (CI)
#   bash scripts/fuzz.sh --seconds 120    2 minutes per target
#   bash scripts/fuzz.sh --long           10 minutes per target
#   bash scripts/fuzz.sh --only email     one target (repeatable)
#   --sanitizer address                   build with AddressSanitizer (slower; default none: the suite forbids
#                                         unsafe code, and a panic is caught without a sanitizer)
#
# Seeds are fuzz/seeds/<target> (committed); what libFuzzer finds grows fuzz/corpus/<target> (not committed); a
# crashing input is written to fuzz/artifacts/<target>/ and the run fails. Reproduce one with
#   cargo +nightly fuzz run -s none <target> fuzz/artifacts/<target>/crash-…
# CARGO_LOCK_FILE=<file> makes the build wait for that lock (machines whose builds share a lock).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
sanitizer=none
only=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --long) seconds=600; shift ;;
        --only) only+=("$2"); shift 2 ;;
        --sanitizer) sanitizer="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fuzz.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --seconds takes a whole number" >&2; exit 2 ;; esac

# libFuzzer needs nightly's -Z flags: the nightly toolchain if installed, else stable allowed to use them.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo=(cargo +nightly)
else
    echo "fuzz.sh: no nightly toolchain; building on stable with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
    cargo=(cargo)
fi
if ! "${cargo[@]}" fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

lock=()
[ -n "${CARGO_LOCK_FILE:-}" ] && lock=(flock "$CARGO_LOCK_FILE")
targets=("${only[@]}")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <("${cargo[@]}" fuzz list)

# One build of every target (release, debug assertions on: an overflow is a panic too), in fuzz/'s own target dir.
target_dir="$PWD/fuzz/target"
build_start=$(date +%s)
build_args=(-s "$sanitizer" --debug-assertions --target-dir "$target_dir")
if [ ${#only[@]} -eq 0 ]; then
    "${lock[@]}" "${cargo[@]}" fuzz build "${build_args[@]}"
else
    for t in "${targets[@]}"; do
        "${lock[@]}" "${cargo[@]}" fuzz build "${build_args[@]}" "$t"
    done
fi
build_secs=$(( $(date +%s) - build_start ))
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="$target_dir/$triple/release"

rows=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/seeds/$t"
    log="fuzz/artifacts/$t/last-run.log"
    start=$(date +%s)
    status=ok
    "$bin_dir/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="fuzz/artifacts/$t/" "fuzz/corpus/$t" "fuzz/seeds/$t" >"$log" 2>&1 || status=CRASH
    took=$(( $(date +%s) - start ))
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n1; }
    runs=$(stat number_of_executed_units)
    rate=$(stat average_exec_per_sec)
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    rows+=("$(printf '%-24s %6s %12s %10s %8s  %s' "$t" "${took}s" "${runs:-?}" "${rate:-?}" "$corpus" "$status")")
    if [ "$status" != ok ]; then
        failed=1
        echo "== $t: crash; the input is in fuzz/artifacts/$t/, the log in $log" >&2
        grep -E "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | head -n5 >&2 || true
    fi
done

echo
echo "fuzz: build ${build_secs}s (with any wait for CARGO_LOCK_FILE), ${seconds}s per target, sanitizer $sanitizer"
printf '%-24s %6s %12s %10s %8s  %s\n' target time executions exec/s corpus result
printf '%s\n' "${rows[@]}"
exit "$failed"
