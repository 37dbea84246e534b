#!/usr/bin/env bash
# test_modbus_faults.sh - Modbus TCP against our simulator (libmodbus's
# server API) misbehaving in every way: one `evmon once` polls good devices
# next to a silent one, one answering exceptions, one sending short
# replies, one resetting the connection and an address where nothing
# listens. Each failure is reported with its cause; the good devices are
# read in full and are not held up by the silent one (their own poll time
# is measured); requests are counted on the server side (merging); two unit
# ids behind one gateway address are both read.
. tests/lib/common.sh
. tests/lib/modbus.sh

EVMON=${EVMON:-build/evmon}
IMG=tests/fixtures/modbus/schneider-pm5xxx.image

start_modbussim good --image "$IMG" --log "$T/good.req"
GOOD=$MBSIM_EP
start_modbussim gateway --image "$IMG" --log "$T/gateway.req"
GW=$MBSIM_EP
start_modbussim exc --image "$IMG" --fault exception:6
EXC=$MBSIM_EP
start_modbussim short --image "$IMG" --fault short
SHORT=$MBSIM_EP
start_modbussim reset --image "$IMG" --fault reset
RESET=$MBSIM_EP
start_silent_tcp
SILENT=$SILENT_TCP_EP
REFUSED=127.0.0.1:$(free_port)

cat >"$T/hall.yaml" <<EOF
agent: {id: test-faults, site: cambrai, hall: h1, profiles_dir: $PWD/config/profiles}
modbus: {timeout: 1s, retries: 1}
devices:
  - {name: good, profile: schneider-pm5xxx, address: "$GOOD", role: facility}
  - {name: silent, profile: schneider-pm5xxx, address: "$SILENT"}
  - {name: gw-unit1, profile: schneider-pm5xxx, address: "$GW", modbus: {unit_id: 1}}
  - {name: gw-unit2, profile: schneider-pm5xxx, address: "$GW", modbus: {unit_id: 2}}
  - {name: busy, profile: schneider-pm5xxx, address: "$EXC"}
  - {name: short, profile: schneider-pm5xxx, address: "$SHORT"}
  - {name: reset, profile: schneider-pm5xxx, address: "$RESET"}
  - {name: refused, profile: schneider-pm5xxx, address: "$REFUSED"}
EOF

t0=$(ev_now_ms)
"$EVMON" once -v -c "$T/hall.yaml" >"$T/once.out" 2>"$T/once.err"
rc=$?
elapsed=$(($(ev_now_ms) - t0))
err=$(cat "$T/once.err")
assert_eq "once exits 1 when devices fail" 1 "$rc"

# The silent device: two tries of 1 s; everything else runs meanwhile.
check "all devices polled at once: ${elapsed} ms for one silent device (2 x 1 s)" \
    test "$elapsed" -ge 1900 -a "$elapsed" -lt 3500
assert_contains "silent device times out, tries and time named" "$err" \
    "device 'silent' ($SILENT): FC3 2999 x8: timeout after 2 tries (1000 ms each)"
for d in good gw-unit1 gw-unit2; do
    ms=$(sed -n "s/.*device '$d' ([^)]*): ok in \([0-9.]*\) ms.*/\1/p" "$T/once.err")
    check "$d answered in well under the silent device's timeout (${ms:-?} ms)" \
        awk -v ms="${ms:-99999}" 'BEGIN { exit !(ms < 300) }'
done

assert_contains "exception code named" "$err" "device 'busy' ($EXC): FC3 2999 x8: exception 6 (server device busy)"
assert_contains "short reply named" "$err" "device 'short' ($SHORT): FC3 2999 x8: wrong length"
assert_contains "connection reset named" "$err" "device 'reset' ($RESET): FC3 2999 x8: Connection reset by peer"
assert_contains "refused connection named" "$err" "device 'refused' ($REFUSED): FC3 2999 x8: Connection refused"
check "no points from failed devices" bash -c "! grep -Eq 'device=(silent|busy|short|reset|refused)' '$T/once.out'"

good=$(grep 'device=good,' "$T/once.out" | grep 'phase=total')
assert_contains "good device read in full" "$good" "active_power_w=27500"
assert_contains "good device energy" "$good" "energy_wh=98765432101"

# Merging, counted on the server: 20 values in 5 requests with max_gap 10.
assert_eq "5 requests for 20 values" 5 "$(wc -l <"$T/good.req")"
assert_eq "first request merges currents A, B, C, N" "1 3 2999 8" "$(head -n 1 "$T/good.req")"
# Both unit ids behind the gateway address were asked.
assert_eq "gateway asked for unit 1 and unit 2" "1 2" \
    "$(awk '{print $1}' "$T/gateway.req" | sort -u | tr '\n' ' ' | sed 's/ $//')"
check "both gateway devices have points" \
    bash -c "grep -q device=gw-unit1 '$T/once.out' && grep -q device=gw-unit2 '$T/once.out'"

# No merging at all: one request per value.
sed 's/modbus: {timeout: 1s, retries: 1}/modbus: {timeout: 1s, retries: 1, max_gap: 0, max_registers: 2}/' \
    "$T/hall.yaml" | sed '/name: silent/d;/name: busy/d;/name: short/d;/name: reset/d;/name: refused/d;/name: gw-/d' \
    >"$T/nomerge.yaml"
: >"$T/good.req"
"$EVMON" once -c "$T/nomerge.yaml" >"$T/nomerge.out" 2>&1
assert_eq "once without merging exits 0" 0 "$?"
assert_eq "20 values, max_registers 2: 20 requests" 20 "$(wc -l <"$T/good.req")"
finish
