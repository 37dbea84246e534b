#!/usr/bin/env bash
# tests/fuzz/run.sh - run each libFuzzer target for a fixed time (make fuzz).
#
#   tests/fuzz/run.sh SECONDS BIN...
#
# Each target BIN (fuzz_NAME) starts from its seeds in tests/fuzz/corpus/NAME
# (read only) and writes what it finds to a scratch corpus next to BIN, kept
# between runs. A crash, leak, sanitizer report or timeout stops that target,
# leaves the input as BIN-artifacts/crash-* and makes the script exit 1; the
# last line is "N passed, N failed", as the other test runners print.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

secs=${1:?usage: tests/fuzz/run.sh SECONDS BIN...}
shift
pass=0 fail=0
for bin in "$@"; do
    name=$(basename "$bin")
    seeds=tests/fuzz/corpus/$name
    work=$bin-corpus
    art=$bin-artifacts/
    mkdir -p "$work" "$art"
    log=$bin.log
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -artifact_prefix="$art" -print_final_stats=1 "$work" "$seeds" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        printf '  ok    %s: %s runs in %ss, no crash\n' "$name" "${runs:-?}" "$secs"
        pass=$((pass + 1))
    else
        printf '  FAIL  %s: see %s and %s\n' "$name" "$log" "$art"
        grep -E "ERROR|SUMMARY|runtime error|==[0-9]+==" "$log" | head -n 8 | sed 's/^/    | /'
        fail=$((fail + 1))
    fi
done
printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" = 0 ]
