#!/usr/bin/env bash
# The benchmark, in one command: installs its tools, builds `portal` and `portal-bench`, and runs the benchmark
# on SQLite and PostgreSQL (see BENCHMARKS.md). Arguments go to portal-bench, e.g. `--backend sqlite`, `--overload`,
# `--seconds 10`. `--smoke` makes the short run CI makes, in the debug build the tests already made.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bench-tools.sh
profile=release
for arg in "$@"; do
    [[ $arg == --smoke ]] && profile=debug
done
if [[ $profile == release ]]; then
    cargo build --release --locked -p portal -p portal-bench
else
    cargo build --locked -p portal -p portal-bench
fi
exec "${CARGO_TARGET_DIR:-target}/$profile/portal-bench" "$@"
