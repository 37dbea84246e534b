#!/usr/bin/env bash
# test_snmp_once.sh - `evmon once` polls every device of a config at the
# same time: three PDUs served by snmpsim plus three silent addresses
# finish in about one timeout (not one per silent device), the good
# devices' points come out as line protocol with the config's tags, each
# silent device gets its own error on stderr, and the exit status is 1.
. tests/lib/common.sh
. tests/lib/snmp.sh

EVMON=${EVMON:-build/evmon}
PORT=$(free_port)
EP=127.0.0.1:$PORT
start_snmpsim tests/fixtures/snmp "$EP"
start_silent_udp
SILENT1=$SILENT_EP
start_silent_udp
SILENT2=$SILENT_EP
# The third silent address has nothing bound at all.
SILENT3=127.0.0.1:$(free_port)

cat >"$T/hall.yaml" <<EOF
agent:
  id: test-once
  site: cambrai
  hall: h1
  profiles_dir: $PWD/config/profiles
snmp:
  version: 2c
  timeout: 1s
  retries: 1
devices:
  - name: pdu-apc
    profile: apc-rpdu2
    address: $EP
    role: it
    row: r01
    rack: r01-01
    feed: A
    snmp: {community: apc-ap8853}
  - name: dead-1
    profile: apc-rpdu2
    address: $SILENT1
  - name: pdu-sentry
    profile: servertech-sentry4
    address: $EP
    feed: B
    snmp: {community: servertech-sentry4}
  - name: dead-2
    profile: servertech-sentry4
    address: $SILENT2
  - name: pdu-geist
    profile: vertiv-geist-v5
    address: $EP
    snmp: {community: vertiv-geist-mn03edr1}
  - name: dead-3
    profile: vertiv-geist-v5
    address: $SILENT3
EOF

t0=$(ev_now_ms)
"$EVMON" once -c "$T/hall.yaml" >"$T/once.out" 2>"$T/once.err"
rc=$?
t1=$(ev_now_ms)
elapsed=$((t1 - t0))
out=$(cat "$T/once.out")
err=$(cat "$T/once.err")

assert_eq "once exits 1 when a device does not answer" 1 "$rc"
# Three silent devices at 2 x 1 s each: concurrently ~2 s, one after the
# other 6 s.
check "all devices polled at once: ${elapsed} ms for three 2 s timeouts" \
    test "$elapsed" -ge 1900 -a "$elapsed" -lt 4000

apc=$(grep '^power,' "$T/once.out" | grep 'device=pdu-apc' | grep 'phase=total')
assert_contains "APC total power in line protocol" "$apc" "active_power_w=1140"
assert_contains "APC energy in line protocol" "$apc" "energy_wh=3512800"
for tag in site=cambrai hall=h1 row=r01 rack=r01-01 feed=A role=it; do
    assert_contains "APC point tagged $tag" "$apc" "$tag"
done
sentry=$(grep '^power,' "$T/once.out" | grep 'device=pdu-sentry' | grep 'phase=total')
assert_contains "Sentry4 cord power in line protocol" "$sentry" "active_power_w=1701"
assert_contains "Sentry4 energy in line protocol" "$sentry" "energy_wh=893700"
assert_contains "Geist first phase power in line protocol" \
    "$(grep 'device=pdu-geist' "$T/once.out" | grep 'phase=L1-L2')" "active_power_w=1434"
check "every line has a nanosecond timestamp" \
    awk 'NF < 3 || length($NF) != 19 || $NF !~ /^[0-9]+$/ { exit 1 }' "$T/once.out"
check "no points from silent devices" bash -c "! grep -q 'device=dead' '$T/once.out'"

for d in dead-1 dead-2 dead-3; do
    assert_contains "$d error on stderr" "$err" "device '$d'"
done
assert_contains "timeout error names tries and per-try time" "$err" "timeout after 2 tries (1000 ms each)"
check "good devices report no error" bash -c "! grep -q \"device 'pdu-\" '$T/once.err'"

# -v: one line per device with its own duration; a good device's is not
# held up by the silent ones.
"$EVMON" once -v -c "$T/hall.yaml" >/dev/null 2>"$T/once-v.err"
apc_ms=$(sed -n "s/.*device 'pdu-apc' ([^)]*): ok in \([0-9.]*\) ms.*/\1/p" "$T/once-v.err")
check "APC answered in well under the silent devices' timeout (${apc_ms:-?} ms)" \
    awk -v ms="${apc_ms:-99999}" 'BEGIN { exit !(ms < 900) }'

# All good: exit 0, nothing on stderr.
sed '/name: dead-1/,$d' "$T/hall.yaml" >"$T/good.yaml"
"$EVMON" once -c "$T/good.yaml" >"$T/good.out" 2>"$T/good.err"
assert_eq "once exits 0 when every device answered" 0 "$?"
assert_eq "nothing on stderr when all answered" "" "$(cat "$T/good.err")"
check "points printed" grep -q 'device=pdu-apc' "$T/good.out"

# Usage and config errors exit 2.
"$EVMON" once >/dev/null 2>&1
assert_eq "once without -c exits 2" 2 "$?"
printf 'agent: {id: x}\n' >"$T/bad.yaml"
"$EVMON" once -c "$T/bad.yaml" >/dev/null 2>"$T/bad.err"
assert_eq "once with a bad config exits 2" 2 "$?"
assert_contains "config error names the file" "$(cat "$T/bad.err")" "$T/bad.yaml"
check "once --help exits 0" "$EVMON" once --help

finish
