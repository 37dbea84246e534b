#!/usr/bin/env bash
# test_hub_shared.sh - two hubs in one shared-subscription group split the
# agents' device streams: every point reaches InfluxDB exactly once, each
# hub takes a share, and both still see every retained hall summary (a
# non-shared subscription) and publish the same cluster roll-up.
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh

EVMON=${EVMON:-build/evmon}
P=evshared
N=40
PIDS=()

start_mosquitto
start_influxd
influx_create_db evmon

for id in hub-a hub-b; do
    cat >"$T/$id.yaml" <<CONF
hub:
  id: $id
  interval: 1s
mqtt:
  url: $MQTT_URL
  topic_prefix: $P
  group: ingest
influxdb:
  url: $INFLUX_URL
  database: evmon
CONF
    spawn "$id" "$EVMON" hub -c "$T/$id.yaml"
    PIDS+=("$SPAWNED_PID")
done
subscribed() { grep -q "subscribed to \$share/ingest/$P/" "$T/hub-a.log" && grep -q "subscribed to \$share/ingest/$P/" "$T/hub-b.log"; }
wait_until 15 "both hubs subscribed with the shared group" subscribed

ts=$(date +%s%N)
mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -r -t "$P/s1/h1/summary" -m \
    "pue,agent=a1,category=2,hall=h1,scope=hall,site=s1,window=1h facility_energy_wh=150,it_energy_wh=120,meters_expected=2,meters_reporting=2 $ts"
for i in $(seq 1 $N); do
    mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -t "$P/s1/h1/pdu-$i/power" \
        -m "power,device=pdu-$i,hall=h1,site=s1 active_power_w=$i 1700000000000000000"
done
count() { influx_rows evmon "SELECT count(active_power_w) FROM power" | cut -f2; }
all_there() { [ "$(count)" = "$N" ]; }
wait_until 20 "all $N device points reach InfluxDB" all_there
assert_eq "each device point once" "$N" "$(count)"
assert_eq "their sum" $((N * (N + 1) / 2)) "$(influx_rows evmon "SELECT sum(active_power_w) FROM power" | cut -f2)"
both_rolled() { [ "$(influx_rows evmon "SELECT count(pue) FROM pue WHERE scope = 'cluster' GROUP BY *" | wc -l)" -ge 1 ] &&
    [ -n "$(mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -t "$P/cluster/summary" --retained-only -C 1 -W 2)" ]; }
wait_until 20 "the cluster roll-up is published" both_rolled

kill -TERM "${PIDS[@]}"
stopped() { ! kill -0 "${PIDS[@]}" 2>/dev/null; }
wait_until 15 "both hubs stop" stopped
points() { sed -n 's/.*hub: [0-9]* messages, \([0-9]*\) points.*/\1/p' "$T/$1.log"; }
A=$(points hub-a) B=$(points hub-b)
echo "    hub-a wrote $A points, hub-b $B (each also wrote the summary's)"
# each hub also writes the retained summary it received (non-shared): 1 point each
assert_eq "the device points were split between the hubs, none twice" $((N + 2)) $((A + B))
check "hub-a took a share" test "$A" -gt 1
check "hub-b took a share" test "$B" -gt 1
finish
