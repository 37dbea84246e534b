#!/usr/bin/env bash
# test_modbus_agent.sh - `evmon agent` publishes Modbus readings exactly
# like SNMP ones: a meter and a rear-door cooler served by our simulator,
# polled every second, reach a real InfluxDB and a real mosquitto with the
# device's tags. A device answering exceptions is logged once, not every
# cycle. A meter whose map has a hole inside a merged request answers
# "illegal data address" to it; from the next cycle on it is read one
# value per request and every value arrives. Each device's health point
# carries its error counters (exceptions, timeouts...).
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh
. tests/lib/modbus.sh

EVMON=${EVMON:-build/evmon}
SITE=cambrai HALL=hall1 DB=evmon
FIX=tests/fixtures/modbus

start_modbussim meter --image "$FIX/socomec-countis-e3x.image"
METER=$MBSIM_EP
start_modbussim dcd --image "$FIX/vertiv-liebert-dcd.image"
DCD=$MBSIM_EP
start_modbussim busy --fault exception:6
BUSY=$MBSIM_EP
{ cat "$FIX/schneider-pm5xxx.image"; echo "hole 3 3025"; } >"$T/holey.image"
start_modbussim holey --image "$T/holey.image" --log "$T/holey.req"
HOLEY=$MBSIM_EP
start_mosquitto
start_influxd
influx_create_db "$DB"

cat >"$T/evmon.yaml" <<EOF
agent: {id: mb-agent, site: $SITE, hall: $HALL, interval: 1s, profiles_dir: $PWD/config/profiles}
modbus: {timeout: 500ms}
outputs:
  influxdb: {enabled: true, url: $INFLUX_URL, database: $DB}
  mqtt: {enabled: true, url: $MQTT_URL}
devices:
  - {name: intake-1, profile: socomec-countis-e3x, address: "$METER", role: facility, row: utility}
  - {name: rdc-01, profile: vertiv-liebert-dcd, address: "$DCD", role: cooling, row: r01, rack: r01-01}
  - {name: busy, profile: socomec-countis-e3x, address: "$BUSY", role: facility}
  - {name: holey, profile: schneider-pm5xxx, address: "$HOLEY", role: facility}
EOF
check "evmon check accepts the Modbus config" "$EVMON" check -c "$T/evmon.yaml"
mqtt_sub mqtt 'evalley/#'
spawn agent "$EVMON" agent -c "$T/evmon.yaml"

q() { influx_rows "$DB" "$1"; }
has_rows() { [ -n "$(q "$1")" ]; }
wait_until 30 "meter points reach InfluxDB" has_rows "SELECT * FROM power WHERE device='intake-1' LIMIT 1"
wait_until 30 "cooling points reach InfluxDB" has_rows "SELECT * FROM cooling WHERE device='rdc-01' LIMIT 1"
assert_near "meter total power 8120 W" 8120 \
    "$(q "SELECT last(active_power_w) FROM power WHERE device='intake-1' AND phase='total'" | cut -f2)"
assert_near "meter energy 45678000 Wh" 45678000 \
    "$(q "SELECT last(energy_wh) FROM power WHERE device='intake-1' AND phase='total'" | cut -f2)"
assert_near "DCD supply air 24.6 C" 24.6 "$(q "SELECT last(supply_air_temperature_c) FROM cooling WHERE device='rdc-01'" | cut -f2)"
assert_eq "DCD return water absent (0xFFFF): never stored" "" \
    "$(q "SELECT * FROM cooling WHERE device='rdc-01' AND return_water_temperature_c > -1000")"
series=$(influx_query "$DB" "SHOW SERIES FROM cooling")
for tag in "site=$SITE" "hall=$HALL" row=r01 rack=r01-01 role=cooling device=rdc-01; do
    assert_contains "cooling series tagged $tag" "$series" "$tag"
done

wait_until 15 "cooling message of rdc-01 on MQTT" grep -q "^evalley/$SITE/$HALL/rdc-01/cooling cooling," "$T/mqtt.log"
wait_until 15 "power message of intake-1 on MQTT" grep -q "^evalley/$SITE/$HALL/intake-1/power power," "$T/mqtt.log"

# The hole: the first cycle's merged request 3019 x14 (voltages) is refused; later
# cycles ask one value per request and every value arrives.
wait_until 15 "the holey meter is read one value per request" grep -q '^1 3 3021 2$' "$T/holey.req"
wait_until 15 "holey meter's voltage L2 reaches InfluxDB" \
    has_rows "SELECT * FROM power WHERE device='holey' AND phase='L2' AND voltage_v > 0"
assert_contains "the switch is logged" "$(cat "$T/agent.log")" \
    "device 'holey': merged read FC3 3019 x14 refused (illegal data address)"

# Several cycles later the busy device's error is still logged only once.
busy_cycles() { local n; n=$(q "SELECT count(poll_ok) FROM evmon WHERE device='busy'" | cut -f2); [ "${n:-0}" -ge 3 ]; }
wait_until 15 "three cycles of the busy device" busy_cycles
assert_eq "busy device's error logged once" 1 "$(grep -c "device 'busy'.*exception 6 (server device busy)" "$T/agent.log")"
health=$(q "SELECT last(error) FROM evmon WHERE device='busy'")
assert_contains "the agent's health names the device's error" "$health" "exception 6 (server device busy)"
# ... and counts it: every request of every cycle drew the exception.
exc=$(q "SELECT last(exceptions) FROM evmon WHERE device='busy'" | cut -f2)
check "the health point counts the busy device's exceptions (${exc:-none} >= 3)" test "${exc%.*}" -ge 3
tmo=$(q "SELECT last(timeouts) FROM evmon WHERE device='intake-1'" | cut -f2)
assert_eq "and no timeouts for a device that answers" 0 "${tmo%.*}"

finish
