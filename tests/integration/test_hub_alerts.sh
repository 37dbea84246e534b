#!/usr/bin/env bash
# test_hub_alerts.sh - cluster-level alert rules on `evmon hub` against a
# real mosquitto, influxd and Debian's prometheus-alertmanager. The hub
# loads the shipped rule pack (config/rules/default.yaml) plus a file that
# retunes two of its rules by name to a 2-sample hold, and is fed one hall
# summary as an agent would publish it (mosquitto_pub, retained):
#   hall h1 of site s1: facility 1.8 MW over IT 1.0 MW (PUE 1.8), IT peak
#   1.0 MW -> facility peak 1.8 MW; s1's grid is 2 MW -> 10 % headroom.
# Asserts:
#   - headroom_low fires warn at site s1 (10 % < 20, not < 10) and
#     pue_interim_high fires crit on the cluster's (and s1's) 24 h PUE (1.8 > 1.7); the
#     cluster's own headroom (5 MW target: 64 %) does not fire;
#   - both reach Alertmanager (read back from its API with their labels),
#     the retained MQTT state under <prefix>/alerts/..., InfluxDB (`alert`
#     points) and the log;
#   - `evmon alerts -c hub.yaml` lists the firing cluster alert from the
#     hub's state file, as it lists an agent's (and --json too);
#   - a restart does not announce them again (state file);
#   - a new summary with a lower peak resolves headroom_low: the retained
#     message is cleared and Alertmanager drops it.
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh
. tests/lib/alertmanager.sh

EVMON=${EVMON:-build/evmon}
P=evtest
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"

start_mosquitto
start_influxd
influx_create_db evmon
start_alertmanager

cat >"$T/fast.yaml" <<'EOF'
# the shipped rules with a hold short enough for a test
rules:
  - name: headroom_low
    description: "{scope} {site} headroom {value}% below {threshold}%"
    measurement: headroom
    field: headroom_pct
    select: {scope: [hall, site, cluster]}
    direction: below
    warn: 20
    crit: 10
    clear: 22
    for: 2 samples
    labels: {team: capacity}
  - name: pue_interim_high
    measurement: pue
    field: pue
    select: {window: [24h, 30d]}
    direction: above
    warn: 1.5
    crit: 1.7
    clear: 1.45
    for: 2 samples
    labels: {team: energy}
EOF
cat >"$T/hub.yaml" <<EOF
hub: {id: hub-a, interval: 1s, stale_after: 10m}
mqtt: {url: $MQTT_URL, topic_prefix: $P}
influxdb: {url: $INFLUX_URL, database: evmon}
cluster: {name: hdf, target: 5MW}
sites:
  - {name: s1, grid_capacity: 2MW, halls: [h1]}
alerts:
  rules: [$PWD/config/rules/default.yaml, fast.yaml]
  state_file: hub-alerts.json
  webhook: [$AM_URL]
  resend: 1s
EOF
check "evmon check accepts the hub's alerts: section" "$EVMON" check -c "$T/hub.yaml"
printf 'hub: {id: h}\nalerts:\n  rules: [nope.yaml]\n' >"$T/bad.yaml"
OUT=$("$EVMON" check -c "$T/bad.yaml" 2>&1) && RC=0 || RC=$?
assert_eq "a hub file naming a missing rule file is refused" 1 "$RC"
assert_contains "naming the rule file and why" "$OUT" "$T/nope.yaml: cannot open rules file"

pub() { mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 "$@"; }
summary() { # FACILITY_W IT_W PEAK_W
    local ts
    ts=$(date +%s%N)
    printf '%s\n' \
        "pue,agent=a1,category=1,hall=h1,scope=hall,site=s1,window=24h facility_energy_wh=$(($1 * 24)),it_energy_wh=$(($2 * 24)),coverage=1,partial=false,meters_expected=4,meters_reporting=4 $ts" \
        "headroom,agent=a1,hall=h1,scope=hall,site=s1 capacity_w=3000000,usable_w=2400000,demand_w=$2,peak_w=$3,headroom_w=$((2400000 - $3)),headroom_pct=10,facility_power_w=$1,it_power_w=$2 $ts"
}
pub -r -t "$P/agents/a1/status" -m online
pub -r -t "$P/s1/h1/summary" -m "$(summary 1800000 1000000 1000000)"
mqtt_sub alerts "$P/alerts/#"
mqtt_sub rollups "$P/cluster/summary"

spawn hub1 "$EVMON" hub -c "$T/hub.yaml"
HUB_PID=$SPAWNED_PID

# ---- fire ------------------------------------------------------------------------
wait_until 30 "Alertmanager lists headroom_low for site s1 (warn)" \
    am_has_alert headroom_low scope=site site=s1 cluster=hdf severity=warn team=capacity
wait_until 10 "Alertmanager lists pue_interim_high for the cluster's 24 h PUE (crit)" \
    am_has_alert pue_interim_high scope=cluster window=24h category=1 severity=crit team=energy
check "the cluster's own headroom (64 %) does not fire" bash -c "! grep -q 'headroom_low FIRING.*scope=cluster' '$T/hub1.log'"
assert_contains "the description carries the site and the value" "$(am_alerts)" \
    '"description":"site s1 headroom 10% below 20%"'

HR_TOPIC="$P/alerts/s1/site/hdf/headroom_low"
retained_firing() { mqtt_get "$HR_TOPIC" 1 | grep -q '"state":"firing"'; }
wait_until 10 "retained firing state on $HR_TOPIC" retained_firing
msg=$(mqtt_get "$HR_TOPIC" 1)
assert_contains "the retained state carries the value" "$msg" '"value":10'
assert_contains "and the severity" "$msg" '"severity":"warn"'
wait_until 10 "the cluster PUE alert's retained state too" grep -q "^$P/alerts/cluster/.*/pue_interim_high {" "$T/alerts.log"
check "the log says FIRING" grep -q 'alert headroom_low FIRING warn' "$T/hub1.log"

# the hub's file names its state file (alerts.state_file) as an agent's does
lists_cluster_alert() { "$EVMON" alerts -c "$T/hub.yaml" | grep -q '^crit .*pue_interim_high .*scope=cluster'; }
wait_until 10 "evmon alerts -c hub.yaml lists the firing cluster alert (pue_interim_high, crit)" lists_cluster_alert
out=$("$EVMON" alerts -c "$T/hub.yaml")
assert_contains "and the site's headroom_low (warn)" "$(grep '^warn .*headroom_low' <<<"$out")" "site=s1"
assert_contains "evmon alerts --json on the hub's file" "$("$EVMON" alerts --json -c "$T/hub.yaml")" \
    '"alertname":"pue_interim_high"'

alert_point() {
    [ "$(influx_rows evmon "SELECT \"state\" FROM \"alert\" WHERE alertname = 'headroom_low' AND site = 's1'" | cut -f2 | tail -n 1)" = firing ]
}
wait_until 15 "an alert point (state firing) reaches InfluxDB" alert_point

# ---- restart: restored, not announced again ----------------------------------------
kill -TERM "$HUB_PID"
gone() { ! kill -0 "$HUB_PID" 2>/dev/null; }
wait_until 15 "hub 1 exits on SIGTERM" gone
check "the state file holds the active alerts" grep -q headroom_low "$T/hub-alerts.json"
spawn hub2 "$EVMON" hub -c "$T/hub.yaml"
HUB_PID=$SPAWNED_PID
wait_until 15 "hub 2 restores the three alerts (PUE at the cluster and site s1, headroom at s1)" \
    grep -q '3 active alert(s) restored' "$T/hub2.log"
rollups() { [ "$(grep -c "^$P/cluster/summary " "$T/rollups.log")" -ge "$1" ]; }
base=$(grep -c "^$P/cluster/summary " "$T/rollups.log")
wait_until 20 "hub 2 rolls up 3 more times" rollups $((base + 3))
assert_eq "hub 2 did not announce them again" 0 "$(grep -c FIRING "$T/hub2.log")"

# ---- resolve ----------------------------------------------------------------------------
pub -r -t "$P/s1/h1/summary" -m "$(summary 1800000 1000000 500000)" # facility peak 0.9 MW: 55 %
wait_until 20 "headroom_low resolves" grep -q 'alert headroom_low RESOLVED (was warn)' "$T/hub2.log"
retained_gone() { ! mqtt_get "$HR_TOPIC" 1 >/dev/null; }
wait_until 10 "its retained state is cleared" retained_gone
not_in_am() { ! am_has_alert headroom_low site=s1; }
wait_until 15 "Alertmanager no longer lists headroom_low" not_in_am
check "the PUE alert still fires (the PUE did not change)" am_has_alert pue_interim_high scope=cluster

finish
