#!/usr/bin/env bash
# test-timeout: 240
# test_hub_delivery.sh - the hub's writer goes through the disk spool
# (spool: in the hub's file, docs/HUB.md "Delivery"), with exact counts,
# against a real mosquitto and influxd. Two "agents" (build/tools/outsend,
# the agent's MQTT output) publish device streams at 1000 points/s in all:
#   A. influxd stopped under load, then restarted: the hub spools what it
#      cannot write and replays it; InfluxDB ends with exactly the points
#      published, none doubled (the sum of a field checks each is there once).
#   B. influxd stopped, the hub SIGKILLed mid-outage while the agents keep
#      publishing, restarted (the broker kept the QoS 1 messages of its
#      persistent session; the spool kept what it had accepted), then
#      influxd restarted: InfluxDB ends with the points published, less at
#      most the messages that were in flight in the killed hub (Paho acks a
#      QoS 1 message before handing it over); the loss is printed.
#   C. the same with SIGTERM: exactly the points published (the hub writes
#      what the broker had handed over before it stops; the rest waits in
#      the broker).
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh

EVMON=${EVMON:-build/evmon}
OUTSEND=${OUTSEND:-$(dirname "$EVMON")/tools/outsend}
wait_until 1 "$EVMON and $OUTSEND are built (make all)" test -x "$OUTSEND"
P=evhd
ROUND=100 # points per agent per round: 10 devices (messages) x 10 points

start_mosquitto
start_influxd
influx_create_db evmon
HTTP_PORT=$(free_port)
cat >"$T/hub.yaml" <<CONF
hub: {id: hub-d, interval: 1s}
http: {listen: "127.0.0.1:$HTTP_PORT"}
mqtt: {url: $MQTT_URL, topic_prefix: $P, group: ingest}
influxdb: {url: $INFLUX_URL, database: evmon, timeout: 2s}
spool: {dir: $T/spool, replay_rate: 5000}
CONF
start_hub() {
    spawn "$1" "$EVMON" hub -c "$T/hub.yaml"
    HUB_PID=$SPAWNED_PID
    wait_until 15 "the hub ($1) subscribes" grep -q "subscribed to" "$T/$1.log"
}
start_hub hub1
check "the spool is where spool.dir says" test -d "$T/spool/influx"

# agents SITE ROUNDS: two agents publishing SITE's device streams, ROUNDS rounds every 200 ms
agents() {
    local a
    for a in a1 a2; do
        spawn "$1-$a" "$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --site "$1" --hall "$a" --agent-id "$1-$a" \
            --devices 10 --points 10 --rounds "$2" --every 200 --flush-ms 60000
    done
}
published() { grep -q "^in=$(($2 * ROUND)) sent=$(($2 * ROUND)) dropped=0" "$T/$1-a1.log" &&
    grep -q "^in=$(($2 * ROUND)) sent=$(($2 * ROUND)) dropped=0" "$T/$1-a2.log"; }
wrote() { sed -n 's/^wrote \([0-9]*\)$/\1/p' "$T/$1.log" | tail -n 1; }
# in_store SITE: power points of SITE in InfluxDB
in_store() { influx_rows evmon "SELECT count(active_power_w) FROM power WHERE site = '$1'" | cut -f2; }
store_has() { [ "$(in_store "$1")" = "$2" ]; }
# spooled SITE: points of SITE in the hub's spool files (line protocol inside the records)
spooled() { cat "$T"/spool/influx/seg-*.evs 2>/dev/null | grep -ao "site=$1 " | wc -l; }
spooled_at_least() { [ "$(spooled "$1")" -ge "$2" ]; }

# ---- A: influxd down under load, then back: exactly what was published ------------------
stop_spawned "$INFLUX_PID"
agents outage 40
wait_until 30 "the agents published 40 rounds each, all acknowledged by the broker" published outage 40
N=$((2 * 40 * ROUND))
wait_until 20 "the hub spooled all $N points" spooled_at_least outage $N
restart_influxd
wait_until 60 "InfluxDB has the $N points" store_has outage $N
assert_eq "exactly the $N points published" $N "$(in_store outage)"
# energy_wh = 10 k for k = 0..3999 in each agent's stream: each point once gives 2 x 10 x 3999 x 4000 / 2
assert_eq "each of them once (sum of energy_wh)" $((2 * 10 * 3999 * 4000 / 2)) \
    "$(influx_rows evmon "SELECT sum(energy_wh) FROM power WHERE site = 'outage'" | cut -f2)"
check "the outage was logged" grep -q "influx: cannot reach .*points are kept on disk" "$T/hub1.log"
check "and the store's return" grep -q "influx: $INFLUX_URL is back" "$T/hub1.log"

# ---- B: SIGKILL mid-outage ---------------------------------------------------------------
stop_spawned "$INFLUX_PID"
agents kill 60
wait_until 30 "the hub spooled 1500 points of the outage" spooled_at_least kill 1500
disown "$HUB_PID"
kill -KILL "$HUB_PID"
wait_until 5 "the hub is gone" sh -c "! kill -0 $HUB_PID 2>/dev/null"
at_kill=$(spooled kill)
k1=$(wrote kill-a1)
more() { [ "$(wrote kill-a1)" -ge $((k1 + 1500)) ]; }
wait_until 20 "the agents published 15 more rounds while the hub was dead" more
start_hub hub2
wait_until 40 "the agents published 60 rounds each, all acknowledged by the broker" published kill 60
N=$((2 * 60 * ROUND))
restart_influxd
# settled: the whole outage is in InfluxDB, or the hub's writer has nothing left (/metrics)
queued() { curl -s --max-time 2 "http://127.0.0.1:$HTTP_PORT/metrics" |
    sed -n 's/^evmon_output_points_queued{output="influx"} //p'; }
settled() { [ "$(in_store kill)" = $N ] || [ "$(queued)" = 0 ]; }
wait_until 90 "InfluxDB settles on the killed hub's outage" settled
got=$(in_store kill)
echo "    published $N; $at_kill spooled at the kill; InfluxDB has $got: $((N - got)) lost in flight"
check "never more than published (nothing doubled)" test "$got" -le $N
check "lost at most the messages in flight in the killed hub (one round of each agent: $((2 * ROUND)))" \
    test $((N - got)) -le $((2 * ROUND))
found=$(sed -n 's/.*spool influx: \([0-9]*\) points in .* left by a previous run.*/\1/p' "$T/hub2.log")
# (the spool also holds the hub's own evmon points, one per roll-up)
check "the restarted hub found what the killed one had spooled ($found points)" test "${found:-0}" -ge "$at_kill"

# ---- C: SIGTERM mid-outage: nothing lost --------------------------------------------------
stop_spawned "$INFLUX_PID"
agents term 40
wait_until 30 "the hub spooled 1000 points of the outage" spooled_at_least term 1000
kill -TERM "$HUB_PID"
wait_until 15 "the hub stops on SIGTERM" sh -c "! kill -0 $HUB_PID 2>/dev/null"
start_hub hub3
wait_until 40 "the agents published 40 rounds each, all acknowledged by the broker" published term 40
N=$((2 * 40 * ROUND))
restart_influxd
wait_until 60 "InfluxDB has the $N points" store_has term $N
assert_eq "SIGTERM mid-outage: exactly the $N points published" $N "$(in_store term)"
finish
