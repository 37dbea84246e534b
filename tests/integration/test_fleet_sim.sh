#!/usr/bin/env bash
# test_fleet_sim.sh - the SNMP fleet simulator (tests/sim/snmpfleet) against the real evmon
# binary: 100 PDUs on their own loopback addresses, configured by one address range and one
# CSV import; every answering device read with the profile's 45 values; the silent and
# genErr shares reported as such (and nothing else); energy counters that count up between
# two polls; faults turned off at run time (SIGUSR2) bring every device back; Net-SNMP's
# own snmpbulkwalk reads the simulator too.
. tests/lib/common.sh

EVMON=${EVMON:-build/evmon}
SIM=${SNMPFLEET:-$(dirname "$EVMON")/sim/snmpfleet}
PORT=$(free_port)

spawn snmpfleet "$SIM" --walk tests/sim/walks/apc-rpdu2-3ph.snmprec --profile config/profiles/apc-rpdu2.yaml \
    --count 100 --base 127.203.0.1 --port "$PORT" --silent 10 --error 5 --counter-rate 50
SIM_PID=$SPAWNED_PID
wait_until 10 "the simulator is ready" grep -q "ready:" "$T/snmpfleet.log"
silent=$(sed -n 's/.* \([0-9]*\) silent.*/\1/p' "$T/snmpfleet.log")
generr=$(sed -n 's/.* \([0-9]*\) genErr.*/\1/p' "$T/snmpfleet.log")
check "some devices are silent and some answer genErr" test "$silent" -gt 0 -a "$generr" -gt 0

# 60 devices from a range, 40 from a DCIM export
{
    echo "Asset,Name,Address,Profile,Row,Rack,Feed"
    for i in $(seq 61 100); do echo "A$i,csv-$i,127.203.0.$i:$PORT,apc-rpdu2,R2,R2-$i,B"; done
} >"$T/dcim.csv"
cat >"$T/fleet.yaml" <<EOF
agent: {id: t1, site: evalley, hall: h1}
snmp: {timeout: 500ms, retries: 0}
devices:
  - name: pdu-{n:03}
    address: 127.203.0.[1-60]:$PORT
    profile: apc-rpdu2
    rack: "R1-{1}"
  - csv: dcim.csv
EOF
check "evmon check accepts the range and the CSV" "$EVMON" check -c "$T/fleet.yaml"

"$EVMON" once -c "$T/fleet.yaml" >"$T/once1.out" 2>"$T/once1.err"
answering=$((100 - silent - generr))
# fields per line protocol line: the field set is the second space-separated part
values() { awk '{n += split($2, f, ",")} END {print n + 0}' "$1"; }
assert_eq "every answering device gives 45 values" "$((answering * 45))" "$(values "$T/once1.out")"
assert_eq "the silent devices time out" "$silent" "$(grep -c 'timeout' "$T/once1.err")"
assert_eq "the genErr devices are reported" "$generr" "$(grep -c 'genErr' "$T/once1.err")"
assert_contains "CSV devices carry their rack and feed" "$(cat "$T/once1.out")" "feed=B"
check "range devices are named from the template (pdu-NNN)" grep -qE 'device=pdu-[0-9]{3},' "$T/once1.out"

energy() { grep "device=$1,.*phase=total" "$2" | sed -n 's/.*energy_wh=\([0-9.e+]*\).*/\1/p'; }
dev=$(grep -o 'device=pdu-[0-9]*' "$T/once1.out" | head -n 1 | cut -d= -f2)
e1=$(energy "$dev" "$T/once1.out")
kill -USR2 "$SIM_PID" # faults off
wait_until 5 "the simulator turns faults off" grep -q "faults off" "$T/snmpfleet.log"
"$EVMON" once -c "$T/fleet.yaml" >"$T/once2.out" 2>"$T/once2.err"
e2=$(energy "$dev" "$T/once2.out")
check "the energy counter counts up ($e1 -> $e2 Wh)" awk -v a="$e1" -v b="$e2" 'BEGIN {exit !(b > a)}'
assert_eq "with faults off every device answers" 4500 "$(values "$T/once2.out")"

walk=$(MIBS= snmpbulkwalk -v2c -c public -On -t 1 -r 0 "127.203.0.1:$PORT" .1.3.6.1.4.1.318.1.1.26.6.3.1.6)
assert_eq "snmpbulkwalk reads three phase voltages" 3 "$(printf '%s\n' "$walk" | grep -c INTEGER)"
check "a wrong community gets no answer" \
    bash -c "! MIBS= snmpget -v2c -c wrong -t 0.3 -r 0 127.203.0.1:$PORT .1.3.6.1.2.1.1.1.0"
finish
