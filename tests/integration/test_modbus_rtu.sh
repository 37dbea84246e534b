#!/usr/bin/env bash
# test_modbus_rtu.sh - Modbus RTU for real over a serial line: socat joins
# two pseudo-terminals, our simulator (libmodbus's RTU server) answers as
# unit 7 at 19200 8E1 on one end, evmon (libmodbus's RTU client on a worker
# thread) reads the other. Two devices share the line one request at a
# time (unit 9 is absent and times out); then a line with CRC errors and
# one answering exceptions; and `evmon probe` over RTU.
. tests/lib/common.sh
. tests/lib/modbus.sh

EVMON=${EVMON:-build/evmon}
FIX=tests/fixtures/modbus

start_pty_pair line1
start_modbussim_rtu sim1 "$PTY_B" --baud 19200 --parity E --unit 7 --image "$FIX/carlo-gavazzi-em24.image" \
    --log "$T/sim1.req"
start_pty_pair line2
start_modbussim_rtu sim2 "$PTY_B" --baud 9600 --parity N --unit 1 --fault crc
LINE2=$PTY_A
start_pty_pair line3
start_modbussim_rtu sim3 "$PTY_B" --unit 1 --fault exception:2
LINE3=$PTY_A
LINE1=$T/line1-a

cat >"$T/hall.yaml" <<EOF
agent: {id: test-rtu, site: cambrai, hall: h1, profiles_dir: $PWD/config/profiles}
modbus: {transport: rtu, serial: $LINE1, baud: 19200, parity: even, timeout: 300ms, retries: 1}
devices:
  - {name: em24, profile: carlo-gavazzi-em24, role: facility, modbus: {unit_id: 7}}
  - {name: absent, profile: carlo-gavazzi-em24, modbus: {unit_id: 9}}
  - {name: crc, profile: carlo-gavazzi-em24, modbus: {serial: $LINE2, baud: 9600, parity: none, unit_id: 1}}
  - {name: exc, profile: carlo-gavazzi-em24, modbus: {serial: $LINE3, unit_id: 1}}
EOF
check "evmon check accepts RTU devices without an address" "$EVMON" check -c "$T/hall.yaml"

# The simulator opens its end when it starts: wait until it answers.
rtu_answers() { "$EVMON" once -c "$T/one.yaml" >/dev/null 2>&1; }
sed '/name: absent/d;/name: crc/d;/name: exc/d' "$T/hall.yaml" >"$T/one.yaml"
wait_until 20 "the RTU simulator answers on $LINE1" rtu_answers

"$EVMON" once -v -c "$T/hall.yaml" >"$T/once.out" 2>"$T/once.err"
assert_eq "once exits 1 (some devices fail)" 1 "$?"
out=$(cat "$T/once.out")
err=$(cat "$T/once.err")
total=$(grep 'device=em24' "$T/once.out" | grep 'phase=total')
assert_contains "EM24 over RTU: system power, INT32 low word first" "$total" "active_power_w=8543.2"
assert_contains "EM24 over RTU: energy" "$total" "energy_wh=123456700"
assert_contains "EM24 over RTU: L2 power negative" "$(grep 'device=em24' "$T/once.out" | grep 'phase=L2,')" \
    "active_power_w=-123.4"
assert_contains "EM24 point tagged facility" "$total" "role=facility"
assert_contains "absent unit times out" "$err" "device 'absent' ($LINE1): FC4 0 x54: timeout after 2 tries (300 ms each)"
assert_contains "CRC errors named" "$err" "device 'crc' ($LINE2): FC4 0 x54: CRC error in the answer"
assert_contains "exceptions over RTU named" "$err" "device 'exc' ($LINE3): FC4 0 x54: exception 2 (illegal data address)"
check "only the answering device has points" bash -c "! grep -Eq 'device=(absent|crc|exc)' '$T/once.out'"
# One line, one request at a time: the simulator saw unit 7's requests
# (unit 9's go unanswered on the same line).
check "the simulator was asked for unit 7" grep -q '^7 4 0 54$' "$T/sim1.req"

"$EVMON" probe --profile carlo-gavazzi-em24 --unit 7 --baud 19200 --parity even "$LINE1" >"$T/probe.out" 2>&1
assert_eq "probe over RTU exits 0" 0 "$?"
probe=$(cat "$T/probe.out")
assert_contains "probe names RTU and the unit" "$probe" "Modbus RTU unit 7: ok"
assert_contains "probe shows the word-swapped raw value" "$probe" "-1234 (0xfffffb2e)"
assert_contains "probe shows the plan" "$probe" "FC4   0 x54, 20 values"
finish
