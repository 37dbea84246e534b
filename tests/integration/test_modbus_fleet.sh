#!/usr/bin/env bash
# test_modbus_fleet.sh - the Modbus TCP fleet simulator (tests/sim/modbusfleet) against the
# real evmon binary: 500 Schneider PM5xxx meters on their own loopback addresses, one range
# line in the config. `evmon once` reads the profile's 20 values from every answering meter,
# plausible ones (230 V, 50 Hz); the silent meters time out and the ones answering
# exceptions are reported as such, nothing else. The agent, polling every 2 s into a real
# InfluxDB, counts the silent and exception meters failed in a cycle and the rest ok, none
# late, stores every answering meter's values and sees energy counters count up; with
# faults turned off at run time (SIGUSR2) every meter is ok again.
# test-timeout: 120
. tests/lib/common.sh
. tests/lib/influxd.sh

EVMON=${EVMON:-build/evmon}
FLEET=${MODBUSFLEET:-$(dirname "$EVMON")/sim/modbusfleet}
PORT=$(free_port)
N=500
VALUES=20 # config/profiles/schneider-pm5xxx.yaml

spawn modbusfleet "$FLEET" --profile schneider-pm5xxx --count $N --base 127.205.0.1 --port "$PORT" \
    --silent 4 --error 3 --counter-rate 100
SIM_PID=$SPAWNED_PID
wait_until 10 "the Modbus fleet is ready" grep -q "ready:" "$T/modbusfleet.log"
silent=$(sed -n 's/.* \([0-9]*\) silent.*/\1/p' "$T/modbusfleet.log")
excs=$(sed -n 's/.* \([0-9]*\) exception 6$/\1/p' "$T/modbusfleet.log")
check "some meters are silent ($silent) and some answer exception 6 ($excs)" test "$silent" -gt 0 -a "$excs" -gt 0
answering=$((N - silent - excs))

start_influxd
influx_create_db evmon
cat >"$T/fleet.yaml" <<EOF
agent: {id: mbfleet, site: evalley, hall: h1, interval: 2s, profiles_dir: $PWD/config/profiles}
modbus: {timeout: 1s, retries: 0}
outputs:
  influxdb: {url: "$INFLUX_URL", database: evmon}
devices:
  - name: meter-{1}-{2:03}
    address: 127.205.[0-1].[1-250]:$PORT
    profile: schneider-pm5xxx
    role: it
    row: "{1}"
EOF
check "evmon check accepts the fleet" "$EVMON" check -c "$T/fleet.yaml"

# ---- evmon once ----
rc=0
"$EVMON" once -c "$T/fleet.yaml" >"$T/once.out" 2>"$T/once.err" || rc=$?
assert_eq "once exits 1: some meters did not answer" 1 "$rc"
values() { awk '{n += split($2, f, ",")} END {print n + 0}' "$1"; }
assert_eq "every answering meter gives the profile's $VALUES values" "$((answering * VALUES))" "$(values "$T/once.out")"
assert_eq "the silent meters time out" "$silent" "$(grep -c 'timeout after' "$T/once.err")"
assert_eq "the exception meters are reported" "$excs" "$(grep -c 'exception 6 (server device busy)' "$T/once.err")"
assert_eq "and nothing else goes wrong" "$((silent + excs))" "$(wc -l <"$T/once.err")"
field() { sed -n "s/.*[ ,]$1=\([-0-9.e+]*\).*/\1/p"; }
range() { awk -v lo="$2" -v hi="$3" '$1 < lo || $1 > hi {bad++} END {exit !(NR > 0 && !bad)}' "$1"; }
grep 'phase=L1,' "$T/once.out" | field voltage_v >"$T/v.txt"
check "phase voltages are 230 V +- 1 % on every meter" range "$T/v.txt" 227.7 232.3
grep 'phase=total,' "$T/once.out" | field frequency_hz >"$T/f.txt"
check "frequency is 50 Hz" range "$T/f.txt" 49.8 50.2
grep 'phase=total,' "$T/once.out" | field active_power_w >"$T/p.txt"
check "total active power is within the meters' load (5-21 kW)" range "$T/p.txt" 5000 21000
sdev=$(sed -n "s/^evmon once: device '\([^']*\)'.*timeout after.*/\1/p" "$T/once.err" | head -n 1)
dev=$(grep -o 'device=meter-[0-9-]*' "$T/once.out" | head -n 1 | cut -d= -f2)

# ---- the agent, every 2 s into InfluxDB ----
spawn agent "$EVMON" agent -c "$T/fleet.yaml"
q() { influx_rows evmon "$1" | cut -f2; }
cycle_is() { # OK FAILED: the last finished cycle counted so, and none late
    local r
    r=$(influx_rows evmon \
        "SELECT last(devices_ok), last(devices_failed), last(devices_late) FROM evmon WHERE device = ''" | cut -f2-)
    [ "$r" = "$1	$2	0" ]
}
# (the first cycle starts at once, the next on the wall-clock grid: the silent meters,
# still waiting for their timeout, may be late for that one)
wait_until 20 "a cycle counts $answering meters ok, $((silent + excs)) failed, none late" \
    cycle_is "$answering" "$((silent + excs))"
assert_eq "every answering meter's values reached InfluxDB" "$answering" \
    "$(influx_rows evmon "SHOW TAG VALUES FROM power WITH KEY = device" | wc -l)"
assert_eq "the silent meter $sdev polls failed" 0 "$(q "SELECT last(poll_ok) FROM evmon WHERE device = '$sdev'")"
assert_contains "its health point says why" "$(q "SELECT last(error) FROM evmon WHERE device = '$sdev'")" "timeout"
two_energies() { [ "$(q "SELECT count(energy_wh) FROM power WHERE device = '$dev'")" -ge 2 ]; }
wait_until 10 "two energy readings of $dev" two_energies
check "the energy counter of $dev counts up" \
    awk -v s="$(q "SELECT spread(energy_wh) FROM power WHERE device = '$dev'")" 'BEGIN {exit !(s > 0)}'

kill -USR2 "$SIM_PID" # faults off
wait_until 10 "the fleet turns faults off" grep -q "faults off" "$T/modbusfleet.log"
wait_until 20 "with faults off a cycle counts all $N meters ok" cycle_is "$N" 0
assert_eq "the meters that were silent answer again" 1 "$(q "SELECT last(poll_ok) FROM evmon WHERE device = '$sdev'")"
finish
