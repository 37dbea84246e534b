#!/usr/bin/env bash
# test_hub_e2e.sh - `evmon hub` against a real mosquitto and influxd, fed
# as two agents would feed it (mosquitto_pub: retained hall summaries and
# status, a device stream, malformed messages):
#   - cluster PUE read back from InfluxDB is energy-weighted, to 3
#     significant digits: (1.5 + 0.8) / (1.2 + 0.5) MW = 1.35 (not the
#     average of 1.25 and 1.6); each site's own; coverage 1;
#   - cluster and site headroom against the target and the grid, to 3
#     significant digits, and the retained <prefix>/cluster/summary and
#     <prefix>/<site>/summary on MQTT;
#   - device points are written to InfluxDB as they came;
#   - malformed messages are counted and logged once per agent, never fatal;
#   - an agent's "offline" (its last will) drops the cluster coverage and
#     the halls reporting, and the PUE keeps to the halls that report;
#   - `evmon headroom` answers from InfluxDB (table, --json, --csv), least
#     headroom first; `evmon check` validates the hub's file;
#   - on SIGTERM the hub flushes and leaves a retained "offline".
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh

EVMON=${EVMON:-build/evmon}
P=evtest

start_mosquitto
start_influxd
influx_create_db evmon

cat >"$T/hub.yaml" <<EOF
hub:
  id: hub-1
  interval: 1s
  stale_after: 10m
mqtt:
  url: $MQTT_URL
  topic_prefix: $P
influxdb:
  url: $INFLUX_URL
  database: evmon
cluster:
  name: hdf
  target: 5MW
sites:
  - name: s1
    grid_capacity: 2MW
    halls: [h1]
  - name: s2
    halls: [h2]
EOF
check "evmon check validates the hub's file" "$EVMON" check -c "$T/hub.yaml"
check "the example hub file is valid" "$EVMON" check -c config/examples/hub.yaml
printf 'hub:\n  id: h\ncluster:\n  target: 2 GWh\n' >"$T/bad-hub.yaml"
OUT=$("$EVMON" check -c "$T/bad-hub.yaml" 2>&1) && RC=0 || RC=$?
assert_eq "a bad hub file: evmon check exits 1" 1 "$RC"
assert_contains "and says FILE:LINE: field: problem" "$OUT" "$T/bad-hub.yaml:4: cluster.target: bad power '2 GWh'"
assert_contains "evmon check says what it read" "$("$EVMON" check -c "$T/hub.yaml")" \
    "ok: hub 'hub-1', cluster 'hdf' (target 5 MW), 2 sites, 2 expected halls"

pub() { mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 "$@"; }

# A hall summary per the contract (window 1h, so energy in Wh = power in W).
summary() { # AGENT SITE HALL CATEGORY FAC_W IT_W PEAK_W HEADROOM_W DAYS
    local ts days=""
    ts=$(date +%s%N)
    [ "$9" = 0 ] || days=",days_to_exhaustion=$9"
    printf '%s\n' \
        "pue,agent=$1,category=$4,hall=$3,scope=hall,site=$2,window=1h facility_energy_wh=$5,it_energy_wh=$6,coverage=1,partial=false,meters_expected=4,meters_reporting=4 $ts" \
        "pue,agent=$1,category=$4,hall=$3,scope=hall,site=$2,window=24h facility_energy_wh=$(($5 * 24)),it_energy_wh=$(($6 * 24)),coverage=1,partial=false,meters_expected=4,meters_reporting=4 $ts" \
        "headroom,agent=$1,hall=$3,scope=hall,site=$2 capacity_w=3000000,usable_w=2400000,demand_w=$6,peak_w=$7,headroom_w=$8,headroom_pct=10,facility_power_w=$5,it_power_w=$6$days $ts"
}

pub -r -t "$P/agents/a1/status" -m online
pub -r -t "$P/agents/a2/status" -m online
pub -r -t "$P/s1/h1/summary" -m "$(summary a1 s1 h1 1 1500000 1200000 1300000 200000 100)"
pub -r -t "$P/s2/h2/summary" -m "$(summary a2 s2 h2 1 800000 500000 600000 100000 0)"

spawn hub "$EVMON" hub -c "$T/hub.yaml"
HUB_PID=$SPAWNED_PID

# latest FIELD of a cluster/site series: latest MEASUREMENT FIELD WHERE...
latest() {
    influx_rows evmon "SELECT \"$2\" FROM \"$1\" WHERE $3 ORDER BY time DESC LIMIT 1" | cut -f2
}
sig3() { awk -v v="$1" 'BEGIN { printf "%.3g", v }'; }
CL="scope = 'cluster' AND \"window\" = '1h'"
reporting_is() { [ "$(latest pue halls_reporting "$CL")" = "$1" ]; }
wait_until 20 "the cluster PUE of two halls reaches InfluxDB" reporting_is 2

assert_eq "cluster PUE is energy-weighted: (1.5+0.8)/(1.2+0.5) = 1.35" 1.35 "$(sig3 "$(latest pue pue "$CL")")"
assert_eq "cluster DCiE = 1.7/2.3 = 0.739" 0.739 "$(sig3 "$(latest pue dcie "$CL")")"
assert_eq "cluster coverage is 1 with both halls reporting" 1 "$(latest pue coverage "$CL")"
assert_eq "the 24 h window is rolled up too: 1.35" 1.35 \
    "$(sig3 "$(latest pue pue "scope = 'cluster' AND \"window\" = '24h'")")"
assert_eq "site s1's PUE is its hall's: 1.25" 1.25 "$(sig3 "$(latest pue pue "scope = 'site' AND site = 's1' AND \"window\" = '1h'")")"
assert_eq "site s2's PUE is its hall's: 1.6" 1.6 "$(sig3 "$(latest pue pue "scope = 'site' AND site = 's2' AND \"window\" = '1h'")")"

H="scope = 'cluster'"
# facility peaks: 1.3 MW x 1.5/1.2 = 1.625 MW, 0.6 MW x 0.8/0.5 = 0.96 MW
assert_eq "cluster peak at facility level: 2.585 MW -> 2.58e+06" 2.58e+06 "$(sig3 "$(latest headroom peak_w "$H")")"
assert_eq "cluster demand: 1.5 + 0.8 MW" 2.3e+06 "$(sig3 "$(latest headroom demand_w "$H")")"
assert_eq "cluster headroom against the 5 MW target: 2.415 MW" 2.42e+06 "$(sig3 "$(latest headroom headroom_w "$H")")"
assert_eq "cluster headroom: 48.3 %" 48.3 "$(sig3 "$(latest headroom headroom_pct "$H")")"
assert_eq "cluster days to exhaustion: 2.415 MW / 2.5 kW a day = 966" 966 \
    "$(sig3 "$(latest headroom days_to_exhaustion "$H")")"
assert_eq "site s1 headroom against its 2 MW grid: 18.75 %" 18.8 \
    "$(sig3 "$(latest headroom headroom_pct "scope = 'site' AND site = 's1'")")"

CLUSTER_SUMMARY=$(mqtt_get "$P/cluster/summary" 3)
assert_contains "retained cluster summary on MQTT carries the cluster PUE" "$CLUSTER_SUMMARY" \
    "pue,category=1,cluster=hdf,scope=cluster,window=1h pue=1.35294117647"
assert_contains "and the cluster headroom" "$CLUSTER_SUMMARY" "headroom,cluster=hdf,scope=cluster "
assert_contains "retained site summary on MQTT" "$(mqtt_get "$P/s1/summary" 3)" \
    "pue,category=1,cluster=hdf,scope=site,site=s1,window=1h pue=1.25,"

# ---- device streams and malformed messages ------------------------------------
pub -t "$P/s1/h1/pdu-1/power" -m "power,device=pdu-1,hall=h1,site=s1,phase=total active_power_w=4321.5,energy_wh=99i 1700000000000000000"
pub -t "$P/s1/h1/pdu-2/power" -m "power,device=pdu-2 active_power_w=oops"
pub -t "$P/s1/h1/pdu-2/power" -m "power,device=pdu-2 active_power_w=1,"
pub -t "$P/s2/h2/pdu-9/power" -m "$(printf 'power,device=pdu-9 active_power_w=7 1700000000000000000\nbroken')"
device_point() { [ -n "$(latest power active_power_w "device = 'pdu-1'")" ]; }
wait_until 20 "a device point reaches InfluxDB through the hub" device_point
assert_eq "the device point as published" 4321.5 "$(latest power active_power_w "device = 'pdu-1'")"
pdu9() { [ "$(latest power active_power_w "device = 'pdu-9'")" = 7 ]; }
wait_until 20 "the good line of a partly malformed message is kept" pdu9
logged() { [ "$(grep -c 'malformed message from' "$T/hub.log")" -ge 2 ]; }
wait_until 10 "malformed messages are logged" logged
assert_eq "logged once per agent: once for a1 (two bad messages), once for a2" 2 \
    "$(grep -c 'malformed message from' "$T/hub.log")"
assert_contains "the log names agent, topic, line, column and what is wrong" "$(cat "$T/hub.log")" \
    "malformed message from a1 on $P/s1/h1/pdu-2/power: 1 bad line; line 1, col 35: field 'active_power_w': bad value 'oops'"
check "the hub is still running" kill -0 "$HUB_PID"
health() { [ "$(latest evmon malformed "hub = 'hub-1'")" = 3 ]; }
wait_until 10 "the hub's own evmon point counts the 3 malformed messages" health

# ---- an agent goes offline: coverage drops -------------------------------------
pub -r -t "$P/agents/a2/status" -m offline
wait_until 20 "the cluster shows one hall of two reporting" reporting_is 1
assert_eq "cluster coverage drops to 4 of 8 meters" 0.5 "$(latest pue coverage "$CL")"
assert_eq "the roll-up is flagged partial" True "$(latest pue partial "$CL")"
assert_eq "the cluster PUE keeps to the hall that reports: 1.25" 1.25 "$(sig3 "$(latest pue pue "$CL")")"
assert_eq "the silent hall's last known peak still counts in the headroom" 2.58e+06 \
    "$(sig3 "$(latest headroom peak_w "$H")")"
assert_eq "the cluster's demand now is the reporting hall's" 1.5e+06 "$(sig3 "$(latest headroom demand_w "$H")")"

# ---- the planner query -----------------------------------------------------------
TABLE=$("$EVMON" headroom --influx "$INFLUX_URL" --db evmon --level site 2>&1)
assert_contains "headroom table: s1 with its capacity and headroom" "$TABLE" "s1"
assert_eq "headroom table: least headroom first (s1 with a grid, then s2 without)" "s1 s2" \
    "$(printf '%s\n' "$TABLE" | awk 'NR > 1 { printf "%s%s", (NR > 2 ? " " : ""), $1 }')"
JSON=$("$EVMON" headroom --influx "$INFLUX_URL" --db evmon --json)
assert_eq "headroom --json: the cluster's headroom" "hdf 2.42e+06 48.3" \
    "$(printf '%s' "$JSON" | "$EV_PY" -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["node"], "%.3g" % r["headroom_w"], "%.3g" % r["headroom_pct"])')"
assert_contains "headroom --csv: header and the cluster's row" \
    "$("$EVMON" headroom -c "$T/hub.yaml" --csv)" "cluster,capacity_w,usable_w,peak_w,headroom_w,headroom_pct,days_to_exhaustion,time
hdf,5000000,5000000,2585000"

# ---- stop -------------------------------------------------------------------------
kill -TERM "$HUB_PID"
wait_until 15 "the hub stops on SIGTERM" sh -c "! kill -0 $HUB_PID 2>/dev/null"
assert_eq "the hub leaves a retained \"offline\"" offline "$(mqtt_get "$P/hubs/hub-1/status" 3)"
check "the hub's exit summary counts the malformed messages" grep -q "3 malformed" "$T/hub.log"
check "InfluxDB took every point the hub wrote (no rejected line)" bash -c "! grep -q rejected '$T/hub.log'"

finish
