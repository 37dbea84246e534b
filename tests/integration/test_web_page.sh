#!/usr/bin/env bash
# test_web_page.sh - the built-in live page in headless Chromium against a
# running agent on the fixture fleet (tests/lib/fixture_fleet.sh: the
# recorded walks on snmpsim plus one silent device). Loads the page the
# agent serves, lets its JavaScript run (--virtual-time-budget) and checks
# the DOM it built: real values in the device table (pdu-apc 1,140 W, the
# silent device's timeout and error), sorting and filtering (driven by the
# URL hash, the same code the column clicks and filter box use), the
# overview tiles, and the headroom/PUE/alert sections: the agent runs with
# a topology (the energy model publishes pue and headroom) and an alert
# rule that fires on pdu-apc, so the page draws a gauge per headroom
# point, a card per PUE window and the alert (each section would show its
# "none yet" text without them). Saves
# a screenshot as build/artifacts/web-dashboard.png. Also checks the page
# pulls in nothing from outside the agent.
. tests/lib/common.sh
. tests/lib/snmp.sh
. tests/lib/fixture_fleet.sh

EVMON=${EVMON:-build/evmon}
CHROMIUM=${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}
ARTIFACTS=${ARTIFACTS:-build/artifacts}
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"
wait_until 1 "chromium is installed (make deps)" test -x "$CHROMIUM"

start_fixture_fleet
HTTP_PORT=$(free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
cat >"$T/evmon.yaml" <<EOF
agent: {id: web-agent, site: cambrai, hall: hall1, interval: 1s}
snmp: {timeout: 1s, retries: 1}
http: {listen: "127.0.0.1:$HTTP_PORT"}
alerts:
  rules: [$T/rules.yaml]
  state_file: $T/alerts.json
EOF
fixture_fleet_topology >>"$T/evmon.yaml"
cat "$T/fleet-devices.yaml" >>"$T/evmon.yaml"
printf '%s\n' "rules:" "  - name: apc_power_high" "    description: \"{device} draws {value} W\"" \
    "    measurement: power" "    field: active_power_w" "    select: {phase: total, device: pdu-apc}" \
    "    direction: above" "    warn: 500" >"$T/rules.yaml"
chmod 600 "$T/evmon.yaml"
spawn agent "$EVMON" agent -c "$T/evmon.yaml"

polled() {
    curl -sf "$BASE/api/v1/summary" |
        "$EV_PY" -c "import json,sys; d=json.load(sys.stdin)['devices']; sys.exit(not (d['ok']==7 and d['failing']==1))"
}
wait_until 30 "the agent has polled every device (7 ok, 1 failing)" polled
# The fleet's topology has 11 levels with a reading (hall, 2 rows, racks r01-r03,
# feeds r01 A/B, r02 A/B, r03 A); levels appear as their devices first report,
# so wait for all of them before the page is loaded.
LEVELS=11
published() {
    curl -sf "$BASE/api/v1/summary" | "$EV_PY" -c "import json,sys; d=json.load(sys.stdin)
sys.exit(not (d['pue'] and d['headroom'] and d['alerts']['active'] == 1))" &&
        [ "$(curl -sf "$BASE/api/v1/headroom" | "$EV_PY" -c "import json,sys; print(len(json.load(sys.stdin)['headroom']))")" = "$LEVELS" ]
}
wait_until 30 "the agent publishes PUE, headroom at all $LEVELS levels, and the alert" published

CHROME_FLAGS=(--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run
    --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir="$T/chromium")

# dom NAME URL: the DOM after the page's scripts ran, in $T/NAME.html.
dom() {
    timeout 120 "$CHROMIUM" "${CHROME_FLAGS[@]}" --virtual-time-budget=5000 --dump-dom "$2" \
        >"$T/$1.html" 2>>"$T/chromium.log"
}

# rows NAME: the device table as "device<TAB>state<TAB>power<TAB>...<TAB>last error", one row a line.
rows() {
    "$EV_PY" - "$T/$1.html" <<'PY'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.rows = []; self.cell = None; self.tbody = False
    def handle_starttag(self, tag, attrs):
        if tag == "tbody": self.tbody = True
        elif tag == "tr" and self.tbody: self.rows.append([])
        elif tag == "td" and self.tbody: self.cell = ""
    def handle_endtag(self, tag):
        if tag == "tbody": self.tbody = False
        elif tag == "td" and self.cell is not None: self.rows[-1].append(self.cell); self.cell = None
    def handle_data(self, data):
        if self.cell is not None: self.cell += data
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
for r in p.rows: print("\t".join(r))
PY
}
col() { cut -f"$1" | paste -sd' ' -; }

# ---- the default view ----------------------------------------------------------------

dom all "$BASE/"
check "the page finished loading (data-loaded set by app.js)" grep -q 'data-loaded="1"' "$T/all.html"
rows all >"$T/all.rows"
assert_eq "every device is a row, sorted by name" \
    "pdu-apc pdu-eaton pdu-geist pdu-raritan pdu-sentry pdu-silent sensor-r03 ups-1" "$(col 1 <"$T/all.rows")"
assert_eq "pdu-apc: ok, 1,140 W" "pdu-apc	ok	1,140" "$(grep '^pdu-apc' "$T/all.rows" | cut -f1-3)"
assert_eq "pdu-sentry: 1,701 W" "1,701" "$(grep '^pdu-sentry' "$T/all.rows" | cut -f3)"
assert_eq "ups-1: facility, 9,320 W" "9,320	facility" "$(grep '^ups-1' "$T/all.rows" | cut -f3-4)"
assert_eq "pdu-silent: timeout, no power" "timeout	—" "$(grep '^pdu-silent' "$T/all.rows" | cut -f2-3)"
assert_contains "pdu-silent shows its last error" "$(grep '^pdu-silent' "$T/all.rows" | cut -f11)" "timeout after"
assert_contains "pdu-apc's last poll is shown as an age" "$(grep '^pdu-apc' "$T/all.rows" | cut -f9)" "ago"
assert_contains "the device count" "$(cat "$T/all.html")" "8 of 8 devices"
assert_contains "the overview shows the agent" "$(cat "$T/all.html")" "web-agent · cambrai/hall1"
assert_contains "the overview shows the failing count" "$(cat "$T/all.html")" \
    '<div class="muted">devices failing</div><div class="v">1</div>'
assert_contains "the overview shows the active alert" "$(cat "$T/all.html")" \
    '<div class="muted">active alerts</div><div class="v">1</div>'

# Headroom, PUE, alerts: drawn from what the agent publishes (the energy
# model and the alert engine); each section shows its points or says none.
api_len() { curl -sf "$BASE/api/v1/$1" | "$EV_PY" -c "import json,sys; print(len(json.load(sys.stdin)['$2']))"; }
n=$(api_len headroom headroom)
if [ "$n" -gt 0 ]; then
    assert_eq "one headroom gauge per published level" "$n" "$(grep -o 'data-scope=' "$T/all.html" | wc -l)"
    assert_contains "the hall's gauge comes first" "$(grep -o 'data-scope="[a-z]*"' "$T/all.html" | head -n 1)" hall
    assert_contains "gauges show usable capacity" "$(cat "$T/all.html")" "usable"
else
    assert_contains "no headroom yet: the section says so" "$(cat "$T/all.html")" "no headroom published yet"
fi
n=$(api_len summary pue)
if [ "$n" -gt 0 ]; then
    assert_eq "one PUE card per published window" "$n" "$(grep -o 'data-window=' "$T/all.html" | wc -l)"
    assert_contains "PUE cards show the category" "$(cat "$T/all.html")" "category "
    assert_contains "PUE cards show the coverage" "$(cat "$T/all.html")" "coverage "
else
    assert_contains "no PUE yet: the section says so" "$(cat "$T/all.html")" "no PUE published yet"
fi
n=$(api_len alerts alerts)
if [ "$n" -gt 0 ]; then
    assert_eq "one line per active alert" "$n" "$(grep -o 'class="alert ' "$T/all.html" | wc -l)"
    assert_contains "the alert's name and text" "$(cat "$T/all.html")" "apc_power_high"
    assert_contains "the alert's description" "$(cat "$T/all.html")" "pdu-apc draws 1140 W"
else
    assert_contains "no alerts: the section says so" "$(cat "$T/all.html")" "no active alerts"
fi

# ---- sorting and filtering ------------------------------------------------------------

dom by-power "$BASE/#sort=power_w&dir=desc"
assert_eq "sorted by power, highest first, unknown power last" \
    "ups-1 pdu-geist pdu-eaton pdu-sentry pdu-apc pdu-raritan pdu-silent sensor-r03" "$(rows by-power | col 1)"
dom by-rack "$BASE/#sort=rack"
assert_eq "sorted by rack, the rackless UPS last" "r01 r01 r02 r02 r03 r03 r04 -" \
    "$(rows by-rack | awk -F'\t' '{print ($6 == "" ? "-" : $6)}' | paste -sd' ' -)"
dom filtered "$BASE/#filter=geist"
assert_eq "the filter box keeps matching rows only" "pdu-geist" "$(rows filtered | col 1)"
assert_contains "and says how many" "$(cat "$T/filtered.html")" "1 of 8 devices"
dom failing "$BASE/#state=failing"
assert_eq "the state filter: failing devices only" "pdu-silent" "$(rows failing | col 1)"
dom row2 "$BASE/#filter=row2&sort=name&dir=desc"
assert_eq "filter by row, sorted by name descending" "sensor-r03 pdu-silent pdu-eaton" "$(rows row2 | col 1)"

# ---- self-contained, and a screenshot ---------------------------------------------------

page=$(curl -sf "$BASE/"; curl -sf "$BASE/app.js"; curl -sf "$BASE/style.css")
assert_eq "no external scripts, styles or fetches (no CDN)" "" \
    "$(printf '%s' "$page" | grep -Eo '(src|href)="(https?:)?//[^"]*|fetch\("https?:[^"]*|@import[^;]*' || true)"

mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS/web-dashboard.png"
timeout 120 "$CHROMIUM" "${CHROME_FLAGS[@]}" --virtual-time-budget=5000 --window-size=1400,1700 \
    --hide-scrollbars --screenshot="$ARTIFACTS/web-dashboard.png" "$BASE/" >>"$T/chromium.log" 2>&1
check "screenshot saved as $ARTIFACTS/web-dashboard.png (a PNG)" \
    sh -c "head -c 8 '$ARTIFACTS/web-dashboard.png' | od -An -c | grep -q 'P   N   G'"

finish
