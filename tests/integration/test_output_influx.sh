#!/usr/bin/env bash
# test_output_influx.sh - the InfluxDB output against a real influxd 1.x,
# driven by build/tools/outsend (no agent needed):
#   - influxd holds exactly the points written: counts per device, sums,
#     one point's values and timestamp, the agent's own point; gzip on and
#     several POSTs (batch_size below the batch), then gzip off;
#   - a missing database: the hint "database 'x' not found on URL: create it
#     with CREATE DATABASE x" is logged once however many retries, the points
#     are kept, and all arrive once the database is created.
. tests/lib/common.sh
. tests/lib/influxd.sh

EVMON=${EVMON:-build/evmon}
OUTSEND=${OUTSEND:-$(dirname "$EVMON")/tools/outsend}
wait_until 1 "$OUTSEND is built (make all)" test -x "$OUTSEND"

start_influxd
export INFLUX_EPOCH=ns

# rows DB QUERY: influx_rows with the rows joined by '|' (one line).
rows() { influx_rows "$1" "$2" | paste -sd'|'; }

# ---- exactly the points written (gzip, 7 POSTs of <= 40 lines) ---------------
influx_create_db evtest
OUT=$("$OUTSEND" influx "$INFLUX_URL" --db evtest --devices 5 --points 50 --batch-size 40 \
    --evmon 2>"$T/send.log")
assert_eq "251 points sent, none dropped or left" "in=251 sent=251 dropped=0 queued=0 errors=0" "$OUT"
assert_eq "influxd holds 250 power points" "0	250" \
    "$(rows evtest "SELECT count(active_power_w) FROM power")"
assert_eq "50 points for each of the 5 devices" \
    "device=dev-0	0	50|device=dev-1	0	50|device=dev-2	0	50|device=dev-3	0	50|device=dev-4	0	50" \
    "$(rows evtest "SELECT count(active_power_w) FROM power GROUP BY device")"
# sum over k < 250 of 1000 + k/2, and of 10 k
assert_eq "the values add up (active power, energy)" "0	265562.5	311250" \
    "$(rows evtest "SELECT sum(active_power_w), sum(energy_wh) FROM power")"
assert_eq "one point read back exactly (k = 123: dev-2, 1061.5 W, 1230 Wh, its timestamp)" \
    "1700000123000000000	1061.5	1230	L1	hall1	site1" \
    "$(rows evtest "SELECT active_power_w, energy_wh, phase, hall, site FROM power WHERE device = 'dev-2' AND time = 1700000123000000000")"
assert_eq "the agent's own point (no device tag) is there too" "1700000000000000000	250" \
    "$(rows evtest "SELECT points_polled FROM evmon")"

# ---- gzip off ----------------------------------------------------------------
influx_create_db evplain
OUT=$("$OUTSEND" influx "$INFLUX_URL" --db evplain --devices 2 --points 3 --no-gzip 2>>"$T/send.log")
assert_eq "without gzip: all sent" "in=6 sent=6 dropped=0 queued=0 errors=0" "$OUT"
assert_eq "without gzip: influxd holds them" "0	6" \
    "$(rows evplain "SELECT count(energy_wh) FROM power")"

# ---- a missing database: hint once, points kept, delivered once created --------
spawn late "$OUTSEND" influx "$INFLUX_URL" --db evlate --devices 2 --points 10 --flush-ms 60000 --debug
failures() { [ "$(grep -c 'next attempt in' "$T/late.log")" -ge "$1" ]; }
wait_until 20 "outsend retries the missing database 3 times" failures 3
assert_contains "the 404 gives the CREATE DATABASE hint" "$(cat "$T/late.log")" \
    "database 'evlate' not found on $INFLUX_URL: create it with CREATE DATABASE evlate"
assert_eq "the hint is logged once, not at every retry" 1 "$(grep -c 'not found on' "$T/late.log")"
influx_create_db evlate
wait_until 60 "outsend delivers once the database exists" grep -q '^in=' "$T/late.log"
check "all 20 queued points were sent" grep -q '^in=20 sent=20 dropped=0 queued=0 errors=' "$T/late.log"
check "the recovery is logged" grep -q "is back (database 'evlate')" "$T/late.log"
assert_eq "influxd holds the 20 points" "0	20" \
    "$(rows evlate "SELECT count(active_power_w) FROM power")"

finish
