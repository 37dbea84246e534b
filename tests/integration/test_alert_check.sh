#!/usr/bin/env bash
# test_alert_check.sh - `evmon check` validates alert rules: every bad file in
# tests/config/rules-bad/ named by a config's alerts.rules makes check exit 1
# with each "# expect: LINE: text" of that file as FILE:LINE: text on stderr;
# the shipped pack (alerts: without rules) passes; `evmon alerts` without a
# state file, without an alerts: section, and on a file that is neither an
# agent's nor a hub's, says why.
. tests/lib/common.sh

EVMON=${EVMON:-build/evmon}
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"
export EVMON_PROFILES_DIR=tests/config/profiles

cat >"$T/default.yaml" <<EOF
agent: {id: a1, site: s, hall: h}
alerts: {state_file: $T/alerts.json}
EOF
rc=0
out=$("$EVMON" check -c "$T/default.yaml" 2>&1) || rc=$?
assert_eq "the shipped rule pack passes evmon check" 0 "$rc"
assert_contains "check's summary line" "$out" "$T/default.yaml: ok"

for f in tests/config/rules-bad/*.yaml; do
    printf 'agent: {id: a1, site: s, hall: h}\nalerts:\n  rules: [%s]\n' "$PWD/$f" >"$T/bad.yaml"
    rc=0
    out=$("$EVMON" check -c "$T/bad.yaml" 2>&1) || rc=$?
    assert_eq "$(basename "$f"): evmon check exits 1" 1 "$rc"
    while IFS= read -r line; do
        exp=${line#\# expect: }
        assert_contains "$(basename "$f"): reports line ${exp%%:*}" "$out" "$PWD/$f:$exp"
    done < <(grep '^# expect: ' "$f")
done

out=$("$EVMON" alerts -c "$T/default.yaml" 2>&1)
assert_eq "evmon alerts with no state file yet" "no active alerts" "$out"
printf 'agent: {id: a1, site: s, hall: h}\n' >"$T/none.yaml"
rc=0
out=$("$EVMON" alerts -c "$T/none.yaml" 2>&1) || rc=$?
assert_eq "evmon alerts without alerts: exits 1" 1 "$rc"
assert_contains "and says why" "$out" "has no 'alerts:' section"
printf 'rules: []\n' >"$T/rules.yaml"
rc=0
out=$("$EVMON" alerts -c "$T/rules.yaml" 2>&1) || rc=$?
assert_eq "evmon alerts on a file that is neither an agent's nor a hub's exits 1" 1 "$rc"
assert_contains "and says so" "$out" "$T/rules.yaml is neither an agent's configuration"

finish
