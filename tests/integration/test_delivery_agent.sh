#!/usr/bin/env bash
# test_delivery_agent.sh - the real agent polling snmpsim every second while
# its InfluxDB is down, with exact counts. MQTT stays up throughout and is the
# record of what the agent produced (the agent hands each batch to the
# InfluxDB output before the MQTT one, so whatever reached MQTT was already
# in the InfluxDB output's spool):
#   - SIGTERM: the agent exits 0 and keeps every point in its spool; the next
#     start, with influxd back, delivers them: InfluxDB holds exactly the
#     power points MQTT saw before the stop;
#   - SIGKILL: the same after kill -9 (nothing written is lost: only a write
#     in progress could be, and that one never reached MQTT either);
#   - the `evmon` self-metrics carry the spool's counters (points replayed).
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh
. tests/lib/snmp.sh

EVMON=${EVMON:-build/evmon}
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"
AGENT=spool-agent DB=evmon

mkdir -p "$T/snmp"
cp tests/fixtures/snmp/apc-ap8853.snmprec "$T/snmp/apc.snmprec"
cp tests/fixtures/snmp/servertech-sentry4.snmprec "$T/snmp/sentry4.snmprec"
SNMP_PORT=$(free_port)
start_snmpsim "$T/snmp" "127.0.0.1:$SNMP_PORT"
start_mosquitto
start_influxd
influx_create_db "$DB"
stop_spawned "$INFLUX_PID" # down from the start; restart_influxd brings it back

APC=$(sed -n 's/^name:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$(grep -lF 318.1.1.26 config/profiles/*.yaml | head -n 1)")
SENTRY=$(sed -n 's/^name:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$(grep -lF 1718.4.1 config/profiles/*.yaml | head -n 1)")
cat >"$T/evmon.yaml" <<EOF2
agent: {id: $AGENT, site: s1, hall: h1, interval: 1s}
snmp: {version: 2c, timeout: 1s, retries: 1}
outputs:
  influxdb: {url: $INFLUX_URL, database: $DB, timeout: 2s}
  mqtt: {url: $MQTT_URL}
spool:
  dir: $T/spool
  fsync: 200ms
devices:
  - {name: pdu-apc, profile: $APC, address: "127.0.0.1:$SNMP_PORT", snmp: {community: apc}}
  - {name: pdu-sentry, profile: $SENTRY, address: "127.0.0.1:$SNMP_PORT", snmp: {community: sentry4}}
EOF2
check "evmon check accepts the config with a spool" "$EVMON" check -c "$T/evmon.yaml"

# distinct power points (series + timestamp) MQTT has seen in LOG, and the
# earliest and latest timestamps among them.
mqtt_points() {
    "$EV_PY" - "$1" <<'PY'
import sys
seen, first, last = set(), None, 0
for line in open(sys.argv[1], errors="replace"):
    if not line.startswith("power,"):
        continue
    series, _, rest = line.rstrip("\n").partition(" ")
    ts = int(rest.rsplit(" ", 1)[-1])
    seen.add((series, ts))
    last = max(last, ts)
    first = ts if first is None else min(first, ts)
print(len(seen), first, last)
PY
}
cycles_seen() { [ "$(grep -c "^evalley/s1/h1/pdu-apc/power " "$T/$1.log")" -ge "$2" ]; }
# influx_count FROM TO: power points (rows: series + time) in InfluxDB with
# timestamps in [FROM, TO] (ns).
influx_count() {
    influx_rows "$DB" "SELECT * FROM power WHERE time >= $1 AND time <= $2" | wc -l
}
influx_count_is() { [ "$(influx_count "$1" "$2")" = "$3" ]; }
# spool_metrics: the spool's counters are fields of the agent's evmon points.
spool_metrics() {
    INFLUX_EPOCH=ns influx_query "$DB" "SELECT * FROM evmon WHERE agent='$AGENT' LIMIT 1" | "$EV_PY" -c '
import json, sys
cols = json.load(sys.stdin)["results"][0]["series"][0]["columns"]
need = ["influx_spool_" + k for k in ("bytes", "records", "points", "dropped", "replayed")]
missing = [n for n in need if n not in cols]
print("missing:", missing) if missing else print("all there")
sys.exit(1 if missing else 0)'
}

# run_outage NAME SIGNAL: the agent runs 4 cycles with InfluxDB down, gets
# SIGNAL; prints "produced last_ts" as MQTT saw them.
run_outage() {
    local name=$1 sig=$2 pid
    mqtt_sub "mqtt-$name" 'evalley/s1/#'
    sub_ready() {
        mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -t evalley/s1/probe -m x && grep -q probe "$T/mqtt-$name.log"
    }
    wait_until 10 "subscriber $name is ready" sub_ready
    spawn "agent-$name" "$EVMON" agent -c "$T/evmon.yaml"
    pid=$SPAWNED_PID
    wait_until 30 "4 cycles of the agent ($name) on MQTT" cycles_seen "mqtt-$name" 4
    [ "$sig" != KILL ] || disown "$pid" # no "Killed" notice from bash
    kill "-$sig" "$pid"
    wait_until 15 "the agent ($name) is gone after SIG$sig" sh -c "! kill -0 $pid 2>/dev/null"
    local rc=0
    [ "$sig" = KILL ] || wait "$pid" 2>/dev/null || rc=$?
    echo "$rc" >"$T/$name.rc"
    tr -d '\r' <"$T/mqtt-$name.log" | sed 's/^evalley[^ ]* //' >"$T/$name.lines"
}

# ---- SIGTERM -----------------------------------------------------------------
run_outage term TERM
assert_eq "the agent exits 0 on SIGTERM" 0 "$(cat "$T/term.rc")"
read -r produced first last <<<"$(mqtt_points "$T/term.lines")"
check "the stopped agent produced power points ($produced)" test "$produced" -gt 0
check "it kept them in the spool" grep -q "points for .* kept in the spool for the next start" "$T/agent-term.log"
restart_influxd
spawn agent-after-term "$EVMON" agent -c "$T/evmon.yaml"
AFTER=$SPAWNED_PID
wait_until 30 "the next start delivers the $produced points to InfluxDB" influx_count_is "$first" "$last" "$produced"
assert_eq "InfluxDB holds exactly the $produced power points produced before SIGTERM" "$produced" \
    "$(influx_count "$first" "$last")"
replayed() { [ "$(influx_rows "$DB" "SELECT max(influx_spool_replayed) FROM evmon WHERE agent='$AGENT'" | cut -f2)" -ge 1 ] 2>/dev/null; }
wait_until 20 "the evmon self-metrics report points replayed from the spool" replayed
check "the evmon self-metrics carry every spool counter" spool_metrics
stop_spawned "$AFTER" 15
stop_spawned "$INFLUX_PID"

# ---- SIGKILL -----------------------------------------------------------------
run_outage kill KILL
read -r produced first last <<<"$(mqtt_points "$T/kill.lines")"
check "the killed agent produced power points ($produced)" test "$produced" -gt 0
restart_influxd
spawn agent-after-kill "$EVMON" agent -c "$T/evmon.yaml"
wait_until 30 "the next start delivers the $produced points to InfluxDB" influx_count_is "$first" "$last" "$produced"
assert_eq "InfluxDB holds exactly the $produced power points produced before SIGKILL" "$produced" \
    "$(influx_count "$first" "$last")"

finish
