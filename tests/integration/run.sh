#!/usr/bin/env bash
# tests/integration/run.sh - run the integration tests against real servers.
#
#   tests/integration/run.sh [PATTERN]     (make integration)
#
# Runs each tests/integration/test_*.sh whose name contains PATTERN, with bash,
# from the repo root, one at a time, each under `timeout 300` (or its own
# "# test-timeout: SECONDS" line). Each script
# sources tests/lib/common.sh and ends with its own "N passed, N failed" line;
# those are added up. A script that prints no such line or exits non-zero
# without a counted failure counts one failure. Whatever a script spawned and
# left running (it was killed, say) is stopped afterwards. The last line is
# "N passed, N failed"; the exit status is non-zero on any failure.
#
# EVMON (default build/evmon) names the binary under test, e.g.
# EVMON=build/asan/evmon tests/integration/run.sh agent
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

pattern=${1:-}
export EVMON=${EVMON:-build/evmon}
limit=${EVMON_TEST_TIMEOUT:-300}

shopt -s nullglob
scripts=()
for s in tests/integration/test_*.sh; do
    [[ -z "$pattern" || "$(basename "$s")" == *"$pattern"* ]] && scripts+=("$s")
done
if [ ${#scripts[@]} -eq 0 ]; then
    echo "tests/integration/run.sh: no test script matches '${pattern}'" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/evmon-itest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Stop what a script's spawn left behind: each pid leads its own session.
reap_leftovers() {
    local pid sid
    [ -f "$1" ] || return 0
    while read -r pid; do
        [ -r "/proc/$pid/stat" ] || continue
        sid=$(awk '{print $6}' "/proc/$pid/stat" 2>/dev/null)
        if [ "$sid" = "$pid" ]; then
            echo "  (stopping leftover process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-80))"
            kill -KILL -- "-$pid" 2>/dev/null
        fi
    done <"$1"
}

total_pass=0 total_fail=0 failed=()
for s in "${scripts[@]}"; do
    name=$(basename "$s" .sh)
    out="$work/$name.out"
    echo "=== $s"
    start=$SECONDS
    # a script that needs longer says so in a "# test-timeout: SECONDS" line
    lim=$(sed -n 's/^# test-timeout: \([0-9][0-9]*\)$/\1/p' "$s" | head -n 1)
    EV_PIDS_FILE="$work/$name.pids" timeout -k 20 "${lim:-$limit}" bash "$s" </dev/null 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    reap_leftovers "$work/$name.pids"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    pass=0 fail=0
    if [ -n "$line" ]; then
        read -r pass _ fail _ <<<"${line//,/}"
    fi
    if [ "$rc" = 124 ] || { [ "$rc" = 137 ] && [ $((SECONDS - start)) -ge "$limit" ]; }; then
        echo "  FAIL  $s timed out after ${limit}s"
        [ "$fail" -gt 0 ] || fail=1
    elif [ "$rc" -gt 128 ] && [ "$fail" = 0 ]; then
        echo "  FAIL  $s was killed by signal $((rc - 128))"
        fail=1
    elif [ -z "$line" ]; then
        echo "  FAIL  $s printed no 'N passed, N failed' line (exit $rc)"
        fail=$((fail + 1))
    elif [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
        echo "  FAIL  $s exited $rc without a counted failure"
        fail=1
    fi
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
    [ "$fail" = 0 ] || failed+=("$name")
    echo "--- $name: $pass passed, $fail failed ($((SECONDS - start))s)"
done

[ ${#failed[@]} -eq 0 ] || echo "failed scripts: ${failed[*]}"
printf '%d passed, %d failed\n' "$total_pass" "$total_fail"
[ "$total_fail" = 0 ]
