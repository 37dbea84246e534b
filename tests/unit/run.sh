#!/usr/bin/env bash
# tests/unit/run.sh - run cmocka unit-test binaries and add up their results.
#
#   tests/unit/run.sh [--valgrind] BIN...    (make unit / make valgrind / make asan)
#
# Each binary runs from the repo root (tests open fixtures by relative path),
# under `timeout 300`, and with --valgrind under memcheck (definite and
# indirect leaks and any memory error fail the binary). cmocka's own
# "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" lines are summed; a
# binary that crashes, times out or fails valgrind without a failed cmocka test
# counts as one failed test. A passing binary prints one line; a failing one
# prints its whole output. The last line is "N passed, N failed"; the exit
# status is non-zero on any failure. With no BIN, runs build/tests/test_*.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

valgrind=0
if [ "${1:-}" = --valgrind ]; then
    valgrind=1
    shift
fi
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
    shopt -s nullglob
    bins=(build/tests/test_*)
fi
if [ ${#bins[@]} -eq 0 ]; then
    echo "tests/unit/run.sh: no unit-test binaries given or found in build/tests" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

wrap=()
if [ "$valgrind" = 1 ]; then
    wrap=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect
          --show-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30)
    [ -f tests/unit/valgrind.supp ] && wrap+=(--suppressions=tests/unit/valgrind.supp)
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# cmocka's default output is the one whose summary lines are parsed here.
unset CMOCKA_MESSAGE_OUTPUT

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Sum "[  TAG  ] N test(s)" lines of one run's output.
count() { sed -n "s/^\[  $1  \] \([0-9][0-9]*\) test(s).*/\1/p" "$out" | awk '{s += $1} END {print s + 0}'; }

total_pass=0 total_fail=0 bad_bins=()
for bin in "${bins[@]}"; do
    rc=0
    timeout 300 "${wrap[@]}" "$bin" >"$out" 2>&1 || rc=$?
    pass=$(count PASSED)
    fail=$(count FAILED)
    if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
        fail=1 # crashed, timed out (124), leaked, or a sanitizer stopped it
    fi
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
    if [ "$rc" = 0 ] && [ "$fail" = 0 ] && [ "$pass" -gt 0 ]; then
        printf 'ok    %s (%d tests)\n' "$bin" "$pass"
    else
        [ "$pass" -gt 0 ] || [ "$fail" -gt 0 ] || { fail=1; total_fail=$((total_fail + 1)); }
        bad_bins+=("$bin")
        printf 'FAIL  %s (exit %d)\n' "$bin" "$rc"
        sed 's/^/    /' "$out"
    fi
done

[ ${#bad_bins[@]} -eq 0 ] || printf 'failed binaries: %s\n' "${bad_bins[*]}"
printf '%d passed, %d failed\n' "$total_pass" "$total_fail"
[ "$total_fail" = 0 ]
