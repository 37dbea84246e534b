#!/usr/bin/env bash
# test_hub_reload.sh - SIGHUP reloads the hub's file (docs/HUB.md "Reload"),
# against a real mosquitto and influxd, with a datagram socket standing in for
# systemd's $NOTIFY_SOCKET:
#   - a good file is applied live: cluster target, a site's grid capacity,
#     expected halls (a new one, a new site), stale_after and alert rules
#     show in the next roll-ups (retained cluster/site summaries, InfluxDB);
#   - the MQTT session and the InfluxDB writer are kept: same process, one
#     connect in the log, device points published before, during and after
#     the reloads all reach InfluxDB exactly once;
#   - a file with errors is rejected with its FILE:LINE errors in the log and
#     the previous one kept; an identity change (hub id, mqtt url, group) is
#     refused with a message naming the key; a changed InfluxDB url is kept
#     until a restart, with a warning;
#   - RELOADING=1 then READY=1 on the notify socket for every SIGHUP.
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh

EVMON=${EVMON:-build/evmon}
P=evreload
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"

start_mosquitto
start_influxd
influx_create_db evmon

cat >"$T/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
spawn notifyd "$EV_PY" "$T/notify.py" "$T/notify.sock" "$T/notify.txt"
wait_until 5 "notify socket is bound" test -S "$T/notify.sock"
touch "$T/notify.txt"

# hubfile ID URL GROUP INFLUX TARGET GRID STALE HALLS EXTRA: the hub's file
hubfile() {
    cat >"$T/hub.yaml" <<CONF
hub:
  id: $1
  interval: 1s
  stale_after: $7
mqtt:
  url: $2
  topic_prefix: $P
  group: $3
influxdb:
  url: $4
  database: evmon
cluster:
  name: hdf
  target: $5
sites:
  - name: s1
    grid_capacity: $6
    halls: [$8]
$9
CONF
}
RULES="alerts:
  rules: [$T/rules.yaml]
  state_file: $T/hub-alerts.json"
cat >"$T/rules.yaml" <<'CONF'
rules:
  - name: cluster_headroom_low
    measurement: headroom
    field: headroom_pct
    select: {scope: cluster}
    direction: below
    warn: 99.95
    for: 1 samples
CONF
hubfile hub-r "$MQTT_URL" ingest "$INFLUX_URL" 2GW 1GW 10m h1 ""

pub() { mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 "$@"; }
TS=$(date +%s%N)
pub -r -t "$P/agents/a1/status" -m online
pub -r -t "$P/s1/h1/summary" -m "headroom,agent=a1,hall=h1,scope=hall,site=s1 capacity_w=3000000,usable_w=2400000,demand_w=1000000,peak_w=1000000,headroom_w=1400000,headroom_pct=58,facility_power_w=1500000,it_power_w=1000000 $TS"
device_points() { # FROM TO: one power point each, on its own device topic
    local i
    for ((i = $1; i <= $2; i++)); do
        pub -t "$P/s1/h1/pdu-$i/power" -m "power,device=pdu-$i,hall=h1,site=s1 active_power_w=$i 1700000000000000000"
    done
}

spawn hub env NOTIFY_SOCKET="$T/notify.sock" "$EVMON" hub -c "$T/hub.yaml"
HUB_PID=$SPAWNED_PID
wait_until 10 "READY=1 reaches the notify socket" grep -q "^READY=1" "$T/notify.txt"

# field SCOPE_TOPIC MEASUREMENT FIELD: a field of the retained roll-up summary
field() {
    mqtt_get "$P/$1/summary" 2 | grep "^$2," | head -n 1 | tr ' ,' '\n\n' | sed -n "s/^$3=//p" | sed 's/i$//'
}
field_is() { [ "$(field "$1" "$2" "$3")" = "$4" ]; }
wait_until 15 "the cluster roll-up: target 2 GW" field_is cluster headroom capacity_w 2000000000
wait_until 5 "site s1: grid 1 GW" field_is s1 headroom capacity_w 1000000000
assert_eq "one hall expected" 1 "$(field cluster headroom halls_expected)"
assert_eq "and reporting" 1 "$(field cluster headroom halls_reporting)"
device_points 1 20

# ---- a good file: applied live ---------------------------------------------------
hubfile hub-r "$MQTT_URL" ingest "$INFLUX_URL" 1.5GW 800MW 3s "h1, h2" "  - {name: s2, grid_capacity: 100MW, halls: [h5]}
$RULES"
before=$(grep -c "^RELOADING=1" "$T/notify.txt")
kill -HUP "$HUB_PID"
wait_until 10 "the reload is applied" grep -q "reload: $T/hub.yaml applied" "$T/hub.log"
device_points 21 40
wait_until 10 "the cluster target is now 1.5 GW" field_is cluster headroom capacity_w 1500000000
wait_until 5 "site s1's grid is now 800 MW" field_is s1 headroom capacity_w 800000000
wait_until 5 "three halls expected (h1, h2 and s2/h5)" field_is cluster headroom halls_expected 3
wait_until 5 "site s2 is rolled up, its hall missing" field_is s2 headroom halls_reporting 0
# stale_after 3s: h1's summary is older than that by now
wait_until 10 "stale_after 3s: h1 counts as missing" field_is cluster headroom halls_reporting 0
wait_until 10 "the new alert rule fires on the cluster" grep -q "alert cluster_headroom_low FIRING" "$T/hub.log"
alert_point() { [ -n "$(influx_rows evmon "SELECT \"state\" FROM \"alert\" WHERE alertname = 'cluster_headroom_low'")" ]; }
wait_until 10 "its alert point reaches InfluxDB" alert_point
reloading_then_ready() { [ "$(grep -A1 "^RELOADING=1" "$T/notify.txt" | grep -c "^READY=1")" -gt "$before" ]; }
check "RELOADING=1 then READY=1 on the notify socket" reloading_then_ready

# ---- a bad file: rejected, FILE:LINE logged, the previous one kept ---------------
cp "$T/hub.yaml" "$T/good.yaml"
hubfile hub-r "$MQTT_URL" ingest "$INFLUX_URL" lots 800MW 3s "h1, h2" "bogus: 1"
kill -HUP "$HUB_PID"
wait_until 10 "the bad file is rejected" grep -q "reload: $T/hub.yaml has 2 problems; still running the previous" "$T/hub.log"
check "its errors are logged as FILE:LINE" grep -q "reload: $T/hub.yaml:14: cluster.target: bad power 'lots'" "$T/hub.log"
check "each of them" grep -q "reload: $T/hub.yaml:19: unknown key 'bogus'" "$T/hub.log"
n=$(grep -c "^$P/cluster/summary" <(mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -t "$P/cluster/summary" -C 2 -W 5 -v))
assert_eq "the roll-up goes on" 2 "$n"
assert_eq "on the previous file (1.5 GW)" 1500000000 "$(field cluster headroom capacity_w)"

# ---- identity: refused ---------------------------------------------------------------
for change in "hub-x|$MQTT_URL|ingest|hub.id changed from 'hub-r' to 'hub-x'" \
    "hub-r|tcp://127.0.0.1:1|ingest|mqtt.url changed from '$MQTT_URL' to 'tcp://127.0.0.1:1'" \
    "hub-r|$MQTT_URL|other|mqtt.group changed from 'ingest' to 'other'"; do
    IFS='|' read -r id url group msg <<<"$change"
    hubfile "$id" "$url" "$group" "$INFLUX_URL" 1GW 800MW 3s "h1, h2" "$RULES"
    n=$(grep -c "still running the previous" "$T/hub.log")
    kill -HUP "$HUB_PID"
    wait_until 10 "an identity change is refused: $msg" grep -q "reload: $msg: .*takes a restart; still running the previous" "$T/hub.log"
done
assert_eq "still on 1.5 GW" 1500000000 "$(field cluster headroom capacity_w)"

# ---- the InfluxDB url: kept until a restart ------------------------------------------------
hubfile hub-r "$MQTT_URL" ingest "http://127.0.0.1:1" 1GW 800MW 3s "h1, h2" "$RULES"
kill -HUP "$HUB_PID"
wait_until 10 "a changed influxdb.url is kept, with a warning" \
    grep -q "reload: influxdb.url changed: the running MQTT session and InfluxDB writer are kept" "$T/hub.log"
wait_until 10 "the rest of that file applies (1 GW)" field_is cluster headroom capacity_w 1000000000
device_points 41 60

count() { influx_rows evmon "SELECT count(active_power_w) FROM power" | cut -f2; }
all_there() { [ "$(count)" = 60 ]; }
wait_until 20 "the 60 device points published across the reloads reach InfluxDB (the old writer)" all_there
assert_eq "each once" 1830 "$(influx_rows evmon "SELECT sum(active_power_w) FROM power" | cut -f2)"
check "the hub is the same process" kill -0 "$HUB_PID"
assert_eq "the MQTT session was never re-opened (one connect)" 1 "$(grep -c "hub: connected to\|hub: reconnected to" "$T/hub.log")"
assert_eq "RELOADING=1 for each of the 6 SIGHUPs" 6 "$(grep -c "^RELOADING=1" "$T/notify.txt")"

kill -TERM "$HUB_PID"
wait_until 15 "the hub stops on SIGTERM" sh -c "! kill -0 $HUB_PID 2>/dev/null"
check "STOPPING=1 on the notify socket" grep -q "^STOPPING=1" "$T/notify.txt"
finish
