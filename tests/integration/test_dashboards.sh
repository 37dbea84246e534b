#!/usr/bin/env bash
# test_dashboards.sh - every query of every Grafana dashboard in dashboards/
# against a real influxd filled the way a site is: `evmon agent` publishes
# to a real mosquitto and `evmon hub` writes it to influxd and adds the
# site and cluster roll-up. The agent polls the fixture fleet (tests/lib/fixture_fleet.sh: the recorded walks on snmpsim,
# made to move by scripts/demo-fleet.sh so energy counters count up, plus a
# device that never answers, so the agent-health panels have a failing
# device), with a topology (the energy model writes pue and headroom) and
# an alert rule that fires (alert points), a facility meter, and two
# cooling units on pymodbus (a Liebert DCD rear door and an iCOM CRAH,
# tests/fixtures/modbus/*.image), so every measurement of the contract is
# written; then tests/integration/dashboards.py checks each dashboard's
# shape, resolves its variables and runs each panel query. A query that
# errors or returns no series fails. The data comes from the agent, never
# from this test.
. tests/lib/common.sh
. tests/lib/influxd.sh
. tests/lib/mosquitto.sh
. tests/lib/snmp.sh
. tests/lib/fixture_fleet.sh
. tests/lib/modbus.sh

EVMON=${EVMON:-build/evmon}
DB=evmon
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"

scripts/demo-fleet.sh "$T/moving" 1 0 2>"$T/demo-fleet.log" >&2
start_fixture_fleet "$T/moving/snmp"
start_pymodbus pymodbus-dcd tests/fixtures/modbus/vertiv-liebert-dcd.image
DCD_EP=$PYMODBUS_EP
start_pymodbus pymodbus-crah tests/fixtures/modbus/liebert-icom-crah.image
CRAH_EP=$PYMODBUS_EP
start_influxd
influx_create_db "$DB"
start_mosquitto
cat >"$T/evmon.yaml" <<EOF
agent: {id: dash-agent, site: cambrai, hall: hall1, interval: 1s}
snmp: {timeout: 1s, retries: 1}
outputs:
  mqtt: {url: $MQTT_URL}
alerts:
  rules: [$T/rules.yaml]
  state_file: $T/alerts.json
EOF
fixture_fleet_topology >>"$T/evmon.yaml"
cat "$T/fleet-devices.yaml" >>"$T/evmon.yaml"
# A facility meter with an energy counter (the Eaton walk), so that PUE has both sides.
echo "  - {name: meter-intake, profile: eaton-epdu, address: \"127.0.0.1:$FLEET_PORT\", role: facility, snmp: {community: eaton-epdu}}" \
    >>"$T/evmon.yaml"
# The cooling units: a rear door on rack r01 and a room CRAH, both Modbus TCP.
echo "  - {name: rdc-r01, profile: vertiv-liebert-dcd, address: \"$DCD_EP\", role: cooling, row: row1, rack: r01}" \
    >>"$T/evmon.yaml"
echo "  - {name: crah-1, profile: liebert-icom-crah, address: \"$CRAH_EP\", role: cooling}" >>"$T/evmon.yaml"
printf '%s\n' "rules:" "  - name: apc_power_high" "    description: \"{device} draws {value} W\"" \
    "    measurement: power" "    field: active_power_w" "    select: {phase: total, device: pdu-apc}" \
    "    direction: above" "    warn: 500" >"$T/rules.yaml"
chmod 600 "$T/evmon.yaml"
cat >"$T/hub.yaml" <<EOF
hub: {id: dash-hub, interval: 1s}
mqtt: {url: $MQTT_URL}
influxdb: {url: $INFLUX_URL, database: $DB}
cluster: {name: hauts-de-france, target: 2GW}
sites:
  - {name: cambrai, grid_capacity: 1GW, halls: [hall1]}
EOF
spawn hub "$EVMON" hub -c "$T/hub.yaml"
# The hub subscribes before the agent starts: state-change points (the
# alert) are published once, and not retained.
wait_until 20 "the hub subscribed" grep -q "subscribed to" "$T/hub.log"
spawn agent "$EVMON" agent -c "$T/evmon.yaml"

has_rows() { [ -n "$(influx_rows "$DB" "$1")" ]; }
wait_until 30 "power points of every answering device in influxd" \
    has_rows "SELECT count(active_power_w) FROM power WHERE device='pdu-apc' OR device='ups-1'"
wait_until 30 "environment points in influxd" has_rows "SELECT * FROM environment LIMIT 1"
wait_until 30 "the rear door's cooling points in influxd" has_rows "SELECT * FROM cooling WHERE device='rdc-r01' LIMIT 1"
wait_until 30 "the CRAH's cooling points in influxd" has_rows "SELECT * FROM cooling WHERE device='crah-1' LIMIT 1"
wait_until 30 "the energy model's PUE in influxd" has_rows "SELECT last(pue) FROM pue"
wait_until 30 "the energy model's headroom in influxd" has_rows "SELECT last(headroom_pct) FROM headroom"
wait_until 30 "the alert in influxd" has_rows "SELECT * FROM alert LIMIT 1"
wait_until 30 "the hub's site headroom in influxd" has_rows "SELECT last(headroom_pct) FROM headroom WHERE scope='site'"
wait_until 30 "the silent device's failed poll in influxd" has_rows "SELECT * FROM evmon WHERE poll_ok = 0 LIMIT 1"
# Three cycles of health points, so differences and derivatives have something to work on.
cycles_stored() { [ "$(influx_rows "$DB" "SELECT count(devices_ok) FROM evmon" | cut -f2)" -ge 3 ] 2>/dev/null; }
wait_until 30 "three cycles of agent health in influxd" cycles_stored

shopt -s nullglob
boards=(dashboards/*.json)
check "dashboards/ holds the Cluster, Hall, Cooling and Agent health dashboards" \
    test -f dashboards/cluster.json -a -f dashboards/hall.json -a -f dashboards/cooling.json -a -f dashboards/agent-health.json
"$EV_PY" tests/integration/dashboards.py "$INFLUX_URL" "$DB" "${boards[@]}" >"$T/dashboards.out" 2>&1 || true
while IFS=$'\t' read -r status what detail; do
    case "$status" in
    ok) ev_pass "$what" ;;
    fail) ev_fail "$what"; [ -z "$detail" ] || printf '    %s\n' "$detail" ;;
    *) ev_fail "dashboards.py: $status $what $detail" ;;
    esac
done <"$T/dashboards.out"
check "dashboards.py checked some queries" grep -q '^ok' "$T/dashboards.out"

finish
