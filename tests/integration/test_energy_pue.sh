#!/usr/bin/env bash
# test_energy_pue.sh - the energy model end to end (issue 4, agent half):
# snmpsim serves test meters of known constant power whose energy counters
# rise at a known rate (tests/fixtures/energy: snmpsim's numeric variation
# module), `evmon agent` with a topology polls them every second, and a real
# mosquitto and influxd receive what it computes. Facility 1.5 MW against IT
# (two UPS outputs, category 1) 1.2 MW gives PUE 1.25 exactly; the facility
# counter starts just below the Counter32 top and wraps during the test, so
# a wrong wrap (a "reset") would show as estimated energy. A third UPS that
# never answers makes coverage 3/4. Headroom of the hall (N+1 of 4 UPS), a
# row, a dual-fed rack (ARC) and a feed are checked against hand-computed
# values, in InfluxDB and in the retained hall summary; then a restart
# keeps the windows (state file).
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh
. tests/lib/snmp.sh

EVMON=${EVMON:-build/evmon}
SITE=cambrai HALL=hall1 AGENT=energy-agent DB=evmon
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"

SNMP_PORT=$(free_port)
start_snmpsim tests/fixtures/energy/snmp "127.0.0.1:$SNMP_PORT"
start_mosquitto
start_influxd
influx_create_db "$DB"

EP="127.0.0.1:$SNMP_PORT"
cat >"$T/evmon.yaml" <<EOF2
agent: {id: $AGENT, site: $SITE, hall: $HALL, interval: 1s, profiles_dir: $PWD/tests/fixtures/energy/profiles}
snmp: {version: 2c, timeout: 500ms, retries: 0}
outputs:
  influxdb: {url: $INFLUX_URL, database: $DB}
  mqtt: {url: $MQTT_URL}
topology:
  hall: {capacity: 2MW, redundancy: N+1, units: 4, it_category: 1}
  state_file: $T/energy.state
  state_interval: 1s
  rows:
    - name: row1
      capacity: 100kW
      racks:
        - name: r01
          feeds:
            - {name: A, breaker: 32, voltage: 400, phases: 3}
            - {name: B, breaker: 32, voltage: 400, phases: 3}
        - name: r02
          feeds: [{name: A, breaker: 16, voltage: 230, phases: 1}]
devices:
  - {name: util1, profile: test-meter, address: "$EP", role: facility, snmp: {community: fac}}
  - {name: ups1, profile: test-meter, address: "$EP", role: it, category: 1, snmp: {community: ups1}}
  - {name: ups2, profile: test-meter, address: "$EP", role: it, category: 1, snmp: {community: ups2}}
  - {name: ups3, profile: test-meter, address: "$EP", role: it, category: 1, snmp: {community: gone, timeout: 200ms}}
  - {name: pdu-r01a, profile: test-meter, address: "$EP", role: it, rack: r01, feed: A, snmp: {community: pdu5k}}
  - {name: pdu-r01b, profile: test-meter, address: "$EP", role: it, rack: r01, feed: B, snmp: {community: pdu5k}}
  - {name: pdu-r02a, profile: test-meter, address: "$EP", role: it, rack: r02, feed: A, snmp: {community: pdu8k}}
EOF2
check "evmon check accepts the topology" "$EVMON" check -c "$T/evmon.yaml"

spawn agent "$EVMON" agent -c "$T/evmon.yaml"
AGENT_PID=$SPAWNED_PID

# ---- the facility counter wraps, and the IT energy accumulates ------------------
q() { influx_rows "$DB" "$1"; }
last() { q "SELECT last($1) FROM $2 WHERE $3" | cut -f2; }
counter_wrapped() {
    local v
    v=$(last energy_wh power "device='util1' AND time > now() - 5s")
    [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v < 1000000) }'
}
wait_until 60 "the facility counter wrapped past 2^32 (read back from InfluxDB)" counter_wrapped
it_enough() {
    local v
    v=$(last it_energy_wh pue "window='15m' AND time > now() - 3s")
    [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 3000) }'
}
wait_until 30 "15m window holds IT energy of several cycles" it_enough

# ---- PUE in InfluxDB --------------------------------------------------------------
W="scope='hall' AND window='15m' AND category='1'"
assert_near "15m PUE = 1.5 MW / 1.2 MW = 1.25 (3 significant digits)" 1.25 "$(last pue pue "$W")" 0.005
assert_near "15m DCiE = 0.8" 0.8 "$(last dcie pue "$W")" 0.004
assert_near "coverage 3 of 4 expected meters (ups3 never answers)" 0.75 "$(last coverage pue "$W")"
assert_eq "partial is true below full coverage" True "$(last partial pue "$W")"
assert_eq "counter-based energy is not estimated (the wrap was a wrap, not a reset)" "" \
    "$(q "SELECT estimated FROM pue WHERE $W AND estimated = true")"
for w in 1h 24h 30d ytd 365d; do
    assert_near "$w PUE 1.25" 1.25 "$(last pue pue "scope='hall' AND window='$w'")" 0.005
done
assert_near "instant PUE (category 0) from facility/IT power" 1.25 \
    "$(last pue pue "window='instant' AND category='0'")"

# ---- headroom in InfluxDB ---------------------------------------------------------
H="scope='hall'"
assert_near "hall capacity 2 MW" 2000000 "$(last capacity_w headroom "$H")"
assert_near "hall usable: N+1 of 4 units = 3/4 x 2 MW" 1500000 "$(last usable_w headroom "$H")"
assert_near "hall demand = category-1 IT power 1.2 MW" 1200000 "$(last demand_w headroom "$H")"
assert_near "hall peak (15-min average of constant power)" 1200000 "$(last peak_w headroom "$H")"
assert_near "hall headroom 300 kW" 300000 "$(last headroom_w headroom "$H")"
assert_near "hall headroom 20 %" 20 "$(last headroom_pct headroom "$H")"
assert_near "hall facility power 1.5 MW" 1500000 "$(last facility_power_w headroom "$H")"
assert_eq "no days to exhaustion for flat demand" "" "$(q "SELECT days_to_exhaustion FROM headroom WHERE $H")"
R="scope='row' AND row='row1'"
assert_near "row usable 80 % of 100 kW" 80000 "$(last usable_w headroom "$R")"
assert_near "row demand = its PDUs 5+5+8 kW" 18000 "$(last demand_w headroom "$R")"
K="scope='rack' AND rack='r01'"
assert_near "dual-fed rack capacity A+B = 2 x 400 V x 32 A x sqrt(3)" 44340.50067 "$(last capacity_w headroom "$K")" 0.01
assert_near "dual-fed rack usable = one side x 80 %" 17736.20027 "$(last usable_w headroom "$K")" 0.01
assert_near "dual-fed rack demand = A+B" 10000 "$(last demand_w headroom "$K")"
assert_near "ARC = capacity/2 - load" 12170.25034 "$(last arc_w headroom "$K")" 0.01
assert_near "single-feed rack r02 over its derated breaker: negative headroom" -5056 \
    "$(last headroom_w headroom "scope='rack' AND rack='r02'")" 0.01
assert_near "feed r01/A headroom = 17736.20 - 5000" 12736.20027 \
    "$(last headroom_w headroom "scope='feed' AND rack='r01' AND feed='A'")" 0.01

# ---- the retained hall summary ------------------------------------------------------
SUM=evalley/$SITE/$HALL/summary
wait_until 10 "retained $SUM" mqtt_get "$SUM" 1
summary=$(mqtt_get "$SUM" 1)
assert_eq "summary has 6 pue lines and 1 headroom line" 7 "$(printf '%s\n' "$summary" | grep -c .)"
for w in 15m 1h 24h 30d ytd 365d; do
    assert_contains "summary pue line for $w" "$summary" \
        "pue,agent=$AGENT,category=1,hall=$HALL,scope=hall,site=$SITE,window=$w facility_energy_wh="
done
line15=$(printf '%s\n' "$summary" | grep 'window=15m ')
field() { printf '%s' "$1" | tr ' ,' '\n\n' | sed -n "s/^$2=//p"; }
assert_near "summary 15m pue" 1.25 "$(field "$line15" pue)" 0.005
assert_eq "summary 15m partial" true "$(field "$line15" partial)"
assert_eq "summary 15m meters_expected" 4 "$(field "$line15" meters_expected)"
assert_eq "summary 15m meters_reporting" 3 "$(field "$line15" meters_reporting)"
hline=$(printf '%s\n' "$summary" | grep '^headroom,')
assert_contains "summary headroom line tags" "$hline" "headroom,agent=$AGENT,hall=$HALL,scope=hall,site=$SITE "
assert_near "summary headroom_w" 300000 "$(field "$hline" headroom_w)"
assert_near "summary it_power_w" 1200000 "$(field "$hline" it_power_w)"
check "summary numbers are floats (no i/u suffix)" bash -c "! grep -Eq '=[0-9.e+-]+[iu]( |,|$)' <<<\"\$1\"" _ "$summary"

# ---- restart: the state file keeps the windows ----------------------------------------
before=$(field "$line15" it_energy_wh)
kill -TERM "$AGENT_PID"
gone() { ! kill -0 "$AGENT_PID" 2>/dev/null; }
wait_until 15 "agent exits on SIGTERM" gone
check "state file ends with its checksum line" grep -Eq '^end [0-9a-f]{8}$' "$T/energy.state"
stopped_ns=$(($(date +%s) * 1000000000))
spawn agent2 "$EVMON" agent -c "$T/evmon.yaml"
fresh_summary() {
    local ts
    ts=$(mqtt_get "$SUM" 1 | grep 'window=15m ' | awk '{print $NF}')
    [ -n "$ts" ] && [ "$ts" -gt "$stopped_ns" ]
}
wait_until 20 "a summary from the restarted agent" fresh_summary
after=$(field "$(mqtt_get "$SUM" 1 | grep 'window=15m ')" it_energy_wh)
check "the 15m window kept its energy across the restart ($before -> $after Wh)" \
    awk -v b="$before" -v a="$after" 'BEGIN { exit !(a >= b && b > 0) }'
check "the agent said it restored the state" grep -q "state restored from" "$T/agent2.log"

finish
