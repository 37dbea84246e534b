#!/usr/bin/env bash
# test_http_api.sh - the agent's HTTP API and /metrics against a real fleet:
# snmpsim serving the recorded walks (tests/lib/fixture_fleet.sh) plus one
# device that never answers, a real influxd as an output, and `evmon agent`
# with an http: section. Asserts what /api/v1/devices says of each device
# (state, power from the fixture values, last poll time and duration, the
# silent device's timeout as its last error), the ?state= filter, the
# summary's counts and power by role, that headroom and alerts are lists
# (empty until the energy model and alerts publish), that `promtool check
# metrics` accepts /metrics and that it carries the poll histogram, the
# per-device errors and the per-output counters; 404/405 for the rest; and
# that a port already taken stops the agent with a clear error.
. tests/lib/common.sh
. tests/lib/influxd.sh
. tests/lib/snmp.sh
. tests/lib/fixture_fleet.sh

EVMON=${EVMON:-build/evmon}
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"
wait_until 1 "promtool is installed (package prometheus; make deps)" command -v promtool

start_fixture_fleet
start_influxd
influx_create_db evmon
HTTP_PORT=$(free_port)
BASE="http://127.0.0.1:$HTTP_PORT"
cat >"$T/evmon.yaml" <<EOF
agent: {id: api-agent, site: cambrai, hall: hall1, interval: 1s}
snmp: {timeout: 1s, retries: 1}
outputs:
  influxdb: {url: $INFLUX_URL, database: evmon}
http:
  listen: 127.0.0.1:$HTTP_PORT
EOF
cat "$T/fleet-devices.yaml" >>"$T/evmon.yaml"
chmod 600 "$T/evmon.yaml"
check "evmon check accepts the config with an http: section" "$EVMON" check -c "$T/evmon.yaml"
spawn agent "$EVMON" agent -c "$T/evmon.yaml"

# js URL EXPR: EXPR (python, over the parsed JSON `d`) of a GET's body.
js() {
    curl -sf --max-time 5 "$BASE$1" | "$EV_PY" -c "import json,sys; d=json.load(sys.stdin); r=($2); print(r if not isinstance(r,(dict,list)) else json.dumps(r))"
}
dev() { js /api/v1/devices "[x for x in d['devices'] if x['name']=='$1'][0]['$2']"; }
state_is() { [ "$(dev "$1" state)" = "$2" ]; }

wait_until 20 "the HTTP server answers on $BASE" port_open "$HTTP_PORT"
wait_until 20 "pdu-apc is ok in /api/v1/devices" state_is pdu-apc ok
wait_until 20 "pdu-silent times out in /api/v1/devices" state_is pdu-silent timeout
wait_until 20 "every other device is ok" test "$(js '/api/v1/devices?state=ok' "len(d['devices'])")" = 7

# ---- /api/v1/devices ------------------------------------------------------------

assert_eq "8 devices listed" 8 "$(js /api/v1/devices "len(d['devices'])")"
assert_near "pdu-apc power 1140 W (fixture)" 1140 "$(dev pdu-apc power_w)"
assert_near "pdu-sentry power 1701 W (fixture)" 1701 "$(dev pdu-sentry power_w)"
assert_near "pdu-geist power 4299 W (its phase=total point)" 4299 "$(dev pdu-geist power_w)"
assert_near "ups-1 power 9320 W (output side only)" 9320 "$(dev ups-1 power_w)"
assert_eq "pdu-apc carries its tags" "apc-rpdu2 it row1 r01 A" \
    "$(js /api/v1/devices "' '.join([x[k] for x in d['devices'] if x['name']=='pdu-apc' for k in ('profile','role','row','rack','feed')])")"
assert_contains "pdu-apc last poll is an RFC 3339 UTC time" "$(dev pdu-apc last_poll)" "Z"
check "pdu-apc last poll duration is a positive number of ms" \
    "$EV_PY" -c "import sys; v=float(sys.argv[1]); sys.exit(not (0 < v < 5000))" "$(dev pdu-apc duration_ms)"
assert_eq "pdu-apc has no error" None "$(dev pdu-apc last_error)"
assert_contains "pdu-silent's last error says timeout" "$(dev pdu-silent last_error)" "timeout"
assert_eq "pdu-silent has no power (no stale value)" None "$(dev pdu-silent power_w)"
check "pdu-silent counts consecutive failures" test "$(dev pdu-silent consecutive_failures)" -ge 1
assert_eq "?state=failing lists only pdu-silent" '["pdu-silent"]' \
    "$(js '/api/v1/devices?state=failing' "[x['name'] for x in d['devices']]")"

# ---- summary, headroom, alerts ------------------------------------------------------

assert_eq "summary: agent identity" "api-agent cambrai hall1 agent" \
    "$(js /api/v1/summary "' '.join(d['agent'][k] for k in ('id','site','hall','role'))")"
assert_eq "summary: 8 devices, 7 ok, 1 failing" "8 7 1" \
    "$(js /api/v1/summary "'%d %d %d' % (d['devices']['total'], d['devices']['ok'], d['devices']['failing'])")"
assert_near "summary: facility power is the UPS's 9320 W" 9320 "$(js /api/v1/summary "d['power_w']['facility']")"
check "summary: cycles are counted" test "$(js /api/v1/summary "d['agent']['cycles']")" -ge 1
assert_eq "summary: pue, headroom are lists; alerts has a count" "list list int" \
    "$(js /api/v1/summary "' '.join(type(x).__name__ for x in (d['pue'], d['headroom'], d['alerts']['active']))")"
assert_eq "summary: the influx output's counters" influx "$(js /api/v1/summary "d['outputs'][0]['name']")"
assert_eq "/api/v1/headroom is a list" list "$(js /api/v1/headroom "type(d['headroom']).__name__")"
assert_eq "/api/v1/alerts is a list" list "$(js /api/v1/alerts "type(d['alerts']).__name__")"

# ---- /metrics ---------------------------------------------------------------------

sent_some() { curl -sf "$BASE/metrics" | grep -Eq '^evmon_output_points_sent_total\{output="influx"\} [1-9]'; }
wait_until 20 "/metrics counts points sent to influxd" sent_some
curl -sf -D "$T/metrics.head" "$BASE/metrics" >"$T/metrics.txt"
check "promtool check metrics accepts /metrics" sh -c "promtool check metrics <'$T/metrics.txt'"
assert_contains "/metrics is the Prometheus text format" "$(cat "$T/metrics.head")" "text/plain; version=0.0.4"
m=$(cat "$T/metrics.txt")
assert_contains "poll duration histogram" "$m" '# TYPE evmon_poll_duration_seconds histogram'
assert_contains "histogram +Inf bucket" "$m" 'evmon_poll_duration_seconds_bucket{le="+Inf"}'
assert_contains "pdu-silent is down" "$m" 'evmon_device_up{device="pdu-silent"} 0'
assert_contains "pdu-apc is up" "$m" 'evmon_device_up{device="pdu-apc"} 1'
check "pdu-silent's errors are counted" grep -Eq '^evmon_device_poll_errors_total\{device="pdu-silent"\} [1-9]' "$T/metrics.txt"
check "points produced are counted" grep -Eq '^evmon_points_produced_total [1-9]' "$T/metrics.txt"
for fam in points_dropped_total points_queued send_errors_total; do
    assert_contains "per-output evmon_output_$fam" "$m" "evmon_output_$fam{output=\"influx\"}"
done

# ---- the rest -----------------------------------------------------------------------

assert_eq "unknown path: 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/nope")"
assert_eq "POST: 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/api/v1/summary")"
assert_eq "the page is served at /" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/")"
assert_contains "app.js is served as JavaScript" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$BASE/app.js")" "text/javascript"

# A second agent on the same port: a clear error and a non-zero exit.
rc=0
timeout 20 "$EVMON" agent -c "$T/evmon.yaml" >"$T/second.out" 2>&1 || rc=$?
assert_eq "a second agent on a taken port exits 1" 1 "$rc"
assert_contains "and says why" "$(cat "$T/second.out")" "http: cannot listen on 127.0.0.1:$HTTP_PORT"

finish
