#!/usr/bin/env bash
# test_agent_e2e.sh - the whole data path against real servers: snmpsim serving
# the recorded PDU walks (tests/fixtures/snmp), `evmon agent` polling them every
# second, a real mosquitto and a real influxd. Asserts the values the fixtures'
# README says a correct reading gives, as stored in InfluxDB and as published on
# MQTT, the tags every point carries, and the agent's status topic: retained
# "online" while it runs, "offline" (the last will) after a kill -9, and a clean
# exit 0 on SIGTERM.
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh
. tests/lib/snmp.sh

EVMON=${EVMON:-build/evmon}
SITE=cambrai HALL=hall1 AGENT=e2e-agent DB=evmon
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"

# profile_for TEXT: the profile in config/profiles whose file mentions TEXT
# (the MIB's enterprise subtree), by its `name:` (else its file name).
profile_for() {
    local f
    f=$(grep -lF -- "$1" config/profiles/*.yaml 2>/dev/null | sort | head -n 1)
    [ -n "$f" ] || return 1
    sed -n 's/^name:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$f" | grep . || basename "$f" .yaml
}
APC=$(profile_for 318.1.1.26) || APC=
SENTRY=$(profile_for 1718.4.1) || SENTRY=
GEIST=$(profile_for 21239.5.2) || GEIST=
check "config/profiles has an APC rPDU2 profile" test -n "$APC"
check "config/profiles has a Sentry4 profile" test -n "$SENTRY"
check "config/profiles has a Geist V5 profile" test -n "$GEIST"

# One walk per community.
mkdir -p "$T/snmp"
cp tests/fixtures/snmp/apc-ap8853.snmprec "$T/snmp/apc.snmprec"
cp tests/fixtures/snmp/servertech-sentry4.snmprec "$T/snmp/sentry4.snmprec"
cp tests/fixtures/snmp/vertiv-geist-mn03edr1.snmprec "$T/snmp/geist.snmprec"
SNMP_PORT=$(free_port)
start_snmpsim "$T/snmp" "127.0.0.1:$SNMP_PORT"
start_mosquitto
start_influxd
influx_create_db "$DB"

cat >"$T/evmon.yaml" <<EOF
agent:
  id: $AGENT
  site: $SITE
  hall: $HALL
  interval: 1s
snmp:
  version: 2c
  timeout: 1s
  retries: 1
outputs:
  influxdb:
    enabled: true
    url: $INFLUX_URL
    database: $DB
  mqtt:
    enabled: true
    url: $MQTT_URL
devices:
  - {name: pdu-apc, profile: $APC, address: "127.0.0.1:$SNMP_PORT", role: it, row: row1, rack: r01, feed: A, snmp: {community: apc}}
  - {name: pdu-sentry, profile: $SENTRY, address: "127.0.0.1:$SNMP_PORT", role: it, row: row1, rack: r02, feed: B, snmp: {community: sentry4}}
  - {name: pdu-geist, profile: $GEIST, address: "127.0.0.1:$SNMP_PORT", role: it, row: row2, rack: r03, feed: A, snmp: {community: geist}}
EOF
check "evmon check accepts the generated config" "$EVMON" check -c "$T/evmon.yaml"

mqtt_sub mqtt 'evalley/#'
spawn agent "$EVMON" agent -c "$T/evmon.yaml"
AGENT_PID=$SPAWNED_PID

# ---- InfluxDB ---------------------------------------------------------------

# q SELECT...: rows of a query on $DB (tab-separated, tags first).
q() { influx_rows "$DB" "$1"; }
# last_of FIELD DEVICE PHASE: the last value of one series (time column dropped).
last_of() { q "SELECT last($1) FROM power WHERE device='$2' AND phase='$3'" | cut -f2; }
has_rows() { [ -n "$(q "$1")" ]; }

for d in pdu-apc pdu-sentry pdu-geist; do
    wait_until 30 "power points of $d reach InfluxDB" has_rows "SELECT * FROM power WHERE device='$d' LIMIT 1"
done

assert_near "APC total active power 1140 W" 1140 "$(last_of active_power_w pdu-apc total)"
assert_near "APC total energy 3512800 Wh (35128 tenths of kWh)" 3512800 "$(last_of energy_wh pdu-apc total)"
assert_near "APC apparent power 1190 VA" 1190 "$(last_of apparent_power_va pdu-apc total)"
assert_near "APC power factor 0.96" 0.96 "$(last_of power_factor pdu-apc total)"
assert_near "APC L1 current 4.9 A" 4.9 "$(last_of current_a pdu-apc L1)"
assert_near "APC L1 voltage 242 V" 242 "$(last_of voltage_v pdu-apc L1)"

assert_near "Sentry4 total active power 1701 W" 1701 "$(last_of active_power_w pdu-sentry total)"
assert_near "Sentry4 energy 893700 Wh" 893700 "$(last_of energy_wh pdu-sentry total)"
assert_near "Sentry4 frequency 60 Hz" 60 "$(last_of frequency_hz pdu-sentry total)"

# Geist phases, whatever the phase tags are called: every expected value is
# among the last values of the device's per-phase series (line and delta).
phase_values() {
    q "SELECT last($1) FROM power WHERE device='pdu-geist' AND phase =~ /./ AND phase != 'total' GROUP BY *" |
        awk -F'\t' '{printf " %.10g", $NF} END {print " "}'
}
# has_values DESC FIELD VALUE...
has_values() {
    local desc=$1 field=$2 v got
    shift 2
    got=$(phase_values "$field")
    for v in "$@"; do
        assert_contains "Geist $desc $v" "$got" " $v "
    done
}
has_values "phase active power W" active_power_w 1434 1440 1425
has_values "phase voltage V" voltage_v 206.8 207.9 206.2
has_values "phase current A" current_a 7.12 7.11 7.08
has_values "phase energy Wh" energy_wh 5047296 5123811 5031780
has_values "phase power factor" power_factor 0.97

# No reading from a "no probe" sentinel (-1, -410) anywhere.
assert_eq "no negative temperature or humidity stored" "" \
    "$(q "SELECT * FROM environment WHERE temperature_c < 0 OR humidity_pct < 0")"

series=$(influx_query "$DB" "SHOW SERIES FROM power")
# series_has DEVICE TAG=VALUE...: every tag on the device's first series.
series_has() {
    local d=$1 line tag
    shift
    line=$(printf '%s' "$series" | tr '"' '\n' | grep -F "device=$d," | head -n 1)
    for tag in "$@"; do
        assert_contains "$d series carries $tag" "$line," ",$tag,"
    done
}
series_has pdu-apc "site=$SITE" "hall=$HALL" row=row1 rack=r01 feed=A role=it
series_has pdu-sentry "site=$SITE" "hall=$HALL" row=row1 rack=r02 feed=B role=it
series_has pdu-geist "site=$SITE" "hall=$HALL" row=row2 rack=r03 feed=A role=it

# ---- MQTT ---------------------------------------------------------------------

wait_until 15 "a power message of pdu-apc on MQTT" \
    grep -q "^evalley/$SITE/$HALL/pdu-apc/power power," "$T/mqtt.log"
msg=$(grep -A20 "^evalley/$SITE/$HALL/pdu-apc/power " "$T/mqtt.log" | head -n 20)
assert_contains "MQTT power payload is line protocol with the device tag" "$msg" "device=pdu-apc"
check "MQTT power payload carries active_power_w=1140" \
    grep -Eq "[ ,]active_power_w=1140(\.0*)?([, ]|$)" <<<"$msg"
wait_until 15 "a power message of pdu-geist on MQTT" \
    grep -q "^evalley/$SITE/$HALL/pdu-geist/power power," "$T/mqtt.log"

STATUS=evalley/agents/$AGENT/status
status_is() { [ "$(mqtt_get "$STATUS" 1)" = "$1" ]; }
wait_until 10 "retained $STATUS = online" status_is online
assert_eq "retained status while running" online "$(mqtt_get "$STATUS" 1)"

# kill -9: no goodbye, so the broker publishes the last will.
disown "$AGENT_PID" # no "Killed" notice from bash
kill -9 "$AGENT_PID"
wait_until 10 "retained $STATUS = offline after kill -9 (last will)" status_is offline
assert_eq "retained status after kill -9" offline "$(mqtt_get "$STATUS" 1)"

# ---- clean stop -------------------------------------------------------------

spawn agent2 "$EVMON" agent -c "$T/evmon.yaml"
AGENT_PID=$SPAWNED_PID
wait_until 15 "restarted agent is online again" status_is online
kill -TERM "$AGENT_PID"
gone() { ! kill -0 "$AGENT_PID" 2>/dev/null; }
wait_until 15 "agent exits after SIGTERM" gone
rc=0
wait "$AGENT_PID" || rc=$?
assert_eq "agent exits 0 on SIGTERM" 0 "$rc"
wait_until 10 "retained $STATUS = offline after SIGTERM" status_is offline

finish
