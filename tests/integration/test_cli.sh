#!/usr/bin/env bash
# test_cli.sh - the command line contract of build/evmon (no servers needed):
# --help everywhere exits 0, `version` works, an unknown command exits 2, and
# `evmon check` accepts tests/config/good/*.yaml (exit 0) and rejects
# tests/config/bad/*.yaml (exit 1) with FILE:LINE: diagnostics, at the lines
# each bad file's "# expect: LINE: message" comments name.
. tests/lib/common.sh

EVMON=${EVMON:-build/evmon}
# The test configs name the made-up profiles in tests/config/profiles.
export EVMON_PROFILES_DIR=${EVMON_PROFILES_DIR:-tests/config/profiles}

wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"

# run CMD...: sets OUT (stdout+stderr) and RC.
run() {
    RC=0
    OUT=$("$@" 2>&1) || RC=$?
}

run "$EVMON" --help
assert_eq "evmon --help exits 0" 0 "$RC"
assert_contains "evmon --help shows usage" "$OUT" "usage: evmon"
help=$OUT

run "$EVMON"
assert_eq "evmon without a command exits 2" 2 "$RC"

# Every subcommand listed under "commands:" in --help.
cmds=$(printf '%s\n' "$help" | sed -n '/^commands:/,$ s/^  \([a-z][a-z-]*\) .*/\1/p')
for c in agent once check probe version; do
    assert_contains "--help lists '$c'" " ${cmds//$'\n'/ } " " $c "
done
for c in $cmds; do
    run "$EVMON" "$c" --help
    assert_eq "evmon $c --help exits 0" 0 "$RC"
    assert_contains "evmon $c --help prints usage" "$OUT" "usage: evmon $c"
done

run "$EVMON" version
assert_eq "evmon version exits 0" 0 "$RC"
assert_contains "evmon version names evmon" "$OUT" "evmon "
run "$EVMON" --version
assert_eq "evmon --version exits 0" 0 "$RC"

run "$EVMON" no-such-command
assert_eq "unknown command exits 2" 2 "$RC"
assert_contains "unknown command is named" "$OUT" "no-such-command"

run "$EVMON" check
assert_eq "evmon check without -c is a usage error (exit 2)" 2 "$RC"

shopt -s nullglob
good=(tests/config/good/*.yaml)
bad=(tests/config/bad/*.yaml)
check "tests/config/good holds configs" test ${#good[@]} -gt 0
check "tests/config/bad holds configs" test ${#bad[@]} -gt 0

for f in "${good[@]}"; do
    run "$EVMON" check -c "$f"
    assert_eq "check accepts $f" 0 "$RC" || printf '%s\n' "$OUT" | head -n 5 | sed 's/^/    | /'
done

# bad_ok FILE: exit 1, and a FILE:LINE: line for every "# expect: LINE:"
# (or at least one FILE:LINE: when the file names none).
bad_ok() {
    local f=$1 want n
    run "$EVMON" check -c "$f"
    if [ "$RC" != 1 ]; then
        echo "exit $RC, want 1"; printf '%s\n' "$OUT"; return 1
    fi
    want=$(sed -n 's/^# expect: \([0-9][0-9]*\):.*/\1/p' "$f")
    if [ -z "$want" ]; then
        printf '%s\n' "$OUT" | grep -qF -- "$f:" && printf '%s\n' "$OUT" | grep -q -- ":[0-9][0-9]*: " ||
            { echo "no $f:LINE: diagnostic"; printf '%s\n' "$OUT"; return 1; }
        return 0
    fi
    for n in $want; do
        printf '%s\n' "$OUT" | grep -qF -- "$f:$n: " ||
            { echo "no diagnostic at $f:$n"; printf '%s\n' "$OUT"; return 1; }
    done
}
for f in "${bad[@]}"; do
    check "check rejects $f with FILE:LINE" bad_ok "$f"
done

run "$EVMON" check -c tests/config/does-not-exist.yaml
assert_eq "check on a missing file exits 1" 1 "$RC"
assert_contains "the missing file is named" "$OUT" "tests/config/does-not-exist.yaml"

finish
