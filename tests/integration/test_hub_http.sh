#!/usr/bin/env bash
# test_hub_http.sh - the built-in page and HTTP API served by `evmon hub`
# (an http: section in the hub's file), against a real mosquitto and
# influxd, the hub fed two hall summaries as two agents would publish them:
#   s1/h1: facility 1.5 MW, IT 1.2 MW, IT peak 1.3 MW (category 1)
#   s2/h2: facility 0.8 MW, IT 0.5 MW, IT peak 0.6 MW (category 2)
# Asserts with curl: /api/v1/summary says role "hub" with the hub's id and
# no devices; the cluster PUE (energy-weighted 2.3/1.7 = 1.35, category 1,
# mixed_categories, coverage 1) and the cluster and site headroom points
# (5 MW target: 48.3 %; s1 against its 2 MW grid: 18.75 %) with the halls'
# own; /api/v1/alerts lists the active cluster-level alert (a rule on site
# headroom below 20 %); /metrics passes `promtool check metrics`. Then the
# page in headless Chromium: the hub's tiles, a gauge per cluster/site/hall
# headroom point, PUE cards with category and coverage, the alert, no
# device table; a screenshot in build/artifacts/web-hub.png.
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh

EVMON=${EVMON:-build/evmon}
CHROMIUM=${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}
ARTIFACTS=${ARTIFACTS:-build/artifacts}
P=evtest
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"
wait_until 1 "promtool is installed (package prometheus; make deps)" command -v promtool
wait_until 1 "chromium is installed (make deps)" test -x "$CHROMIUM"

start_mosquitto
start_influxd
influx_create_db evmon
HTTP_PORT=$(free_port)
BASE="http://127.0.0.1:$HTTP_PORT"

cat >"$T/rules.yaml" <<'EOF'
rules:
  - name: site_headroom_low
    description: "site {site} headroom {value}% below {threshold}%"
    measurement: headroom
    field: headroom_pct
    select: {scope: site}
    direction: below
    warn: 20
EOF
cat >"$T/hub.yaml" <<EOF
hub: {id: hub-web, interval: 1s, stale_after: 10m}
mqtt: {url: $MQTT_URL, topic_prefix: $P}
influxdb: {url: $INFLUX_URL, database: evmon}
cluster: {name: hdf, target: 5MW}
sites:
  - {name: s1, grid_capacity: 2MW, halls: [h1]}
  - {name: s2, halls: [h2]}
http: {listen: "127.0.0.1:$HTTP_PORT"}
alerts: {rules: [rules.yaml]}
EOF
check "evmon check accepts the hub's http: section" "$EVMON" check -c "$T/hub.yaml"

pub() { mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 "$@"; }
summary() { # AGENT SITE HALL CATEGORY FAC_W IT_W PEAK_W
    local ts
    ts=$(date +%s%N)
    printf '%s\n' \
        "pue,agent=$1,category=$4,hall=$3,scope=hall,site=$2,window=24h facility_energy_wh=$(($5 * 24)),it_energy_wh=$(($6 * 24)),coverage=1,partial=false,meters_expected=4,meters_reporting=4,pue=$(awk "BEGIN{print $5/$6}") $ts" \
        "headroom,agent=$1,hall=$3,scope=hall,site=$2 capacity_w=3000000,usable_w=2400000,demand_w=$6,peak_w=$7,headroom_w=$((2400000 - $7)),headroom_pct=$(((2400000 - $7) / 24000)),facility_power_w=$5,it_power_w=$6 $ts"
}
pub -r -t "$P/agents/a1/status" -m online
pub -r -t "$P/agents/a2/status" -m online
pub -r -t "$P/s1/h1/summary" -m "$(summary a1 s1 h1 1 1500000 1200000 1300000)"
pub -r -t "$P/s2/h2/summary" -m "$(summary a2 s2 h2 2 800000 500000 600000)"

spawn hub "$EVMON" hub -c "$T/hub.yaml"

# py EXPR: evaluate EXPR on the JSON of stdin (as d), print the result.
py() { "$EV_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
api() { curl -sf "$BASE/api/v1/$1"; }
# the first point of LIST (summary's pue/headroom) with tags K=V...: FIELD
point() { # ENDPOINT LIST FIELD K=V...
    local ep=$1 list=$2 field=$3
    shift 3
    api "$ep" | "$EV_PY" -c '
import json, sys
list, field, want = sys.argv[1], sys.argv[2], dict(kv.split("=", 1) for kv in sys.argv[3:])
for p in json.load(sys.stdin)[list]:
    if all(p["tags"].get(k) == v for k, v in want.items()):
        print(p["fields"].get(field)); break' "$list" "$field" "$@"
}
two_halls() { [ "$(point summary pue halls_reporting scope=cluster window=24h)" = 2 ]; }
wait_until 20 "the hub's API shows the cluster PUE over two halls" two_halls

S=$(api summary)
assert_eq "summary: role hub, the hub's id, no devices" "hub hub-web 0" \
    "$(printf '%s' "$S" | py 'd["agent"]["role"], d["agent"]["id"], d["devices"]["total"]' | tr -d "(),'")"
assert_eq "cluster PUE, energy-weighted: 1.35" 1.35 \
    "$(point summary pue pue scope=cluster window=24h | awk '{printf "%.3g", $1}')"
assert_eq "cluster PUE carries the lowest category, mixed" "1 True" \
    "$(api summary | py '" ".join(str(x) for p in d["pue"] if p["tags"].get("scope") == "cluster" for x in (p["tags"].get("category"), p["fields"].get("mixed_categories")))')"
assert_eq "cluster PUE coverage: 1" 1 "$(point summary pue coverage scope=cluster window=24h)"
assert_eq "site s2's PUE: 1.6" 1.6 "$(point summary pue pue scope=site site=s2 window=24h | awk '{printf "%.3g", $1}')"
assert_eq "the halls' own PUE is shown too (h1: 1.25)" 1.25 "$(point summary pue pue scope=hall hall=h1 window=24h)"
assert_eq "cluster headroom against the 5 MW target: 48.3 %" 48.3 \
    "$(point headroom headroom headroom_pct scope=cluster | awk '{printf "%.3g", $1}')"
assert_eq "site s1 headroom against its 2 MW grid: 18.8 %" 18.8 \
    "$(point headroom headroom headroom_pct scope=site site=s1 | awk '{printf "%.3g", $1}')"
assert_eq "hall h2's headroom as its agent published it" 75 "$(point headroom headroom headroom_pct scope=hall hall=h2)"
assert_eq "no devices: /api/v1/devices is empty" 0 "$(api devices | py 'len(d["devices"])')"

alert_listed() { [ "$(api alerts | py 'len(d["alerts"])')" = 1 ]; }
wait_until 15 "/api/v1/alerts lists the cluster-level alert" alert_listed
assert_eq "the alert: site_headroom_low at s1, warn" "site_headroom_low s1 warn" \
    "$(api alerts | py 'd["alerts"][0]["tags"]["alertname"], d["alerts"][0]["tags"]["site"], d["alerts"][0]["fields"]["severity"]' | tr -d "(),'")"
assert_eq "the summary counts it" 1 "$(api summary | py 'd["alerts"]["active"]')"

curl -sf "$BASE/metrics" >"$T/metrics.txt"
check "promtool check metrics accepts the hub's /metrics" sh -c "promtool check metrics <'$T/metrics.txt'"
check "/metrics names the hub's role and id" grep -q 'evmon_build_info{.*role="hub",agent="hub-web"' "$T/metrics.txt"

# ---- the page in headless Chromium -------------------------------------------------
CHROME_FLAGS=(--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run
    --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir="$T/chromium")
timeout 120 "$CHROMIUM" "${CHROME_FLAGS[@]}" --virtual-time-budget=5000 --dump-dom "$BASE/" \
    >"$T/page.html" 2>>"$T/chromium.log"
HTML=$(cat "$T/page.html")
check "the page finished loading (data-loaded set by app.js)" grep -q 'data-loaded="1"' "$T/page.html"
assert_contains "the header names the hub and the cluster" "$HTML" "hub hub-web · cluster hdf"
assert_contains "tile: the cluster's demand (1.5 + 0.8 MW)" "$HTML" \
    '<div class="muted">cluster demand</div><div class="v">2.3 MW</div>'
assert_contains "tile: halls reporting" "$HTML" '<div class="muted">halls reporting</div><div class="v">2 / 2</div>'
assert_eq "a gauge per headroom point: cluster, 2 sites, 2 halls" "cluster site site hall hall" \
    "$(grep -o 'data-scope="[a-z]*"' "$T/page.html" | sed 's/data-scope="\(.*\)"/\1/' | paste -sd' ' -)"
assert_contains "the cluster gauge is named and shows 48.3 %" "$HTML" \
    '<div>cluster hdf</div><svg'
assert_contains "the cluster gauge's value" "$HTML" '<div class="v">48.3 %</div>'
assert_contains "site s1's gauge" "$HTML" '<div>site s1</div>'
assert_contains "hall gauges name their site and hall" "$HTML" '<div>hall s2/h2</div>'
assert_contains "a PUE card for the cluster's 24 h window, interim" "$HTML" 'cluster hdf · 24h (interim)'
assert_contains "the cluster PUE value" "$HTML" '<div class="v">1.353</div>'
assert_contains "with its category" "$HTML" 'category 1'
assert_contains "flagged mixed categories" "$HTML" 'mixed categories'
assert_contains "with its coverage and halls" "$HTML" 'coverage 100 % · DCiE 0.739 · halls 2/2'
assert_contains "the active alert" "$HTML" 'site s1 headroom 18.75% below 20%'
check "no device table on the hub's page" grep -q '<section id="devices-section" aria-labelledby="h-devices" hidden' "$T/page.html"

mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS/web-hub.png"
timeout 120 "$CHROMIUM" "${CHROME_FLAGS[@]}" --virtual-time-budget=5000 --window-size=1400,1100 \
    --hide-scrollbars --screenshot="$ARTIFACTS/web-hub.png" "$BASE/" >>"$T/chromium.log" 2>&1
check "screenshot saved as $ARTIFACTS/web-hub.png (a PNG)" \
    sh -c "head -c 8 '$ARTIFACTS/web-hub.png' | od -An -c | grep -q 'P   N   G'"

finish
