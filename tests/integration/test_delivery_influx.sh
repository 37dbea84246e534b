#!/usr/bin/env bash
# test_delivery_influx.sh - store and forward to a real influxd 1.x, with exact
# counts, driven by build/tools/outsend (the InfluxDB output with its spool):
#   - influxd stopped for 2 minutes (OUTAGE_S, default 120) while 200 points
#     every 0.5 s keep coming, then
#     restarted: every point produced is in InfluxDB, once (count = produced);
#     the spool filled on disk meanwhile and was replayed;
#   - SIGTERM while the store is down: what is in memory goes to the spool;
#     the next start delivers all of it;
#   - SIGKILL while the store is down, plus a torn record written after the
#     last good one (a kill in the middle of a write): the torn record is
#     detected and cut off on the next start, and every point produced
#     before the kill is delivered (count = produced: a kill loses at most
#     the write in progress, which was never reported as produced);
#   - the disk quota: the oldest points are dropped, the count reported is
#     exact (InfluxDB holds produced - dropped, the newest), logged once.
# OUTAGE_S=12 gives a quick run while developing; CI runs the full 2 minutes.
# test-timeout: 600
. tests/lib/common.sh
. tests/lib/influxd.sh

EVMON=${EVMON:-build/evmon}
OUTSEND=${OUTSEND:-$(dirname "$EVMON")/tools/outsend}
wait_until 1 "$OUTSEND is built (make all)" test -x "$OUTSEND"

start_influxd
DEAD_URL="http://127.0.0.1:$(free_port)" # nothing listens there

# count DB: points of `power` in DB (0 when none).
count() {
    local n
    n=$(influx_rows "$1" "SELECT count(energy_wh) FROM power" | cut -f2)
    echo "${n:-0}"
}
count_is() { [ "$(count "$1")" = "$2" ]; }
count_above() { [ "$(count "$1")" -gt "$2" ]; }
# wrote LOG: the last "wrote K" of an outsend log.
wrote() { sed -n 's/^wrote \([0-9]*\)$/\1/p' "$1" | tail -n 1; }
wrote_at_least() { [ "$(wrote "$1")" -ge "$2" ] 2>/dev/null; }

# ---- influxd down for OUTAGE_S under load, then back ---------------------------
OUTAGE_S=${OUTAGE_S:-120}
DOWN_ROUNDS=$((2 * OUTAGE_S))       # a round every 0.5 s
ROUNDS=$((DOWN_ROUNDS + 36))         # some before, some after
TOTAL=$((ROUNDS * 200))
influx_create_db outage
spawn load "$OUTSEND" influx "$INFLUX_URL" --db outage --spool "$T/spool-outage" \
    --devices 10 --points 20 --rounds "$ROUNDS" --every 500 --flush-ms 60000 --replay-rate 4000
wait_until 20 "the first points arrive" count_above outage 0
stop_spawned "$INFLUX_PID"
down_at=$(wrote "$T/load.log")
wait_until 20 "the output notices influxd is gone" grep -q "cannot reach" "$T/load.log"
wait_until $((OUTAGE_S + 30)) "$DOWN_ROUNDS more rounds produced while influxd is down" \
    wrote_at_least "$T/load.log" $((down_at + DOWN_ROUNDS * 200))
check "the points went to disk meanwhile" sh -c "ls '$T/spool-outage/influx/' | grep -q '^seg-'"
restart_influxd
wait_until 150 "outsend delivered everything and flushed" grep -q '^in=' "$T/load.log"
assert_eq "all $TOTAL points sent, none dropped or left" "in=$TOTAL sent=$TOTAL dropped=0 queued=0 errors=" \
    "$(grep '^in=' "$T/load.log" | sed 's/errors=.*/errors=/')"
assert_eq "InfluxDB holds exactly the $TOTAL points produced" "$TOTAL" "$(count outage)"
assert_eq "each of the 10 devices has its $((TOTAL / 10))" \
    "$(printf "device=dev-%s\t$((TOTAL / 10))\n" 0 1 2 3 4 5 6 7 8 9)" \
    "$(influx_rows outage "SELECT count(energy_wh) FROM power GROUP BY device" | cut -f1,3)"
check "the recovery was logged once" sh -c "[ \$(grep -c 'is back' '$T/load.log') = 1 ]"
check "the outage was logged once" sh -c "[ \$(grep -c 'cannot reach' '$T/load.log') = 1 ]"

# ---- SIGTERM while down: memory goes to the spool, delivered at the next start ---
influx_create_db term
spawn term "$OUTSEND" influx "$DEAD_URL" --db term --spool "$T/spool-term" --devices 5 --points 40 \
    --rounds 5 --flush-ms 300 --hold
TERM_PID=$SPAWNED_PID
wait_until 15 "outsend wrote 1000 points and gave up flushing" grep -q '^in=1000 ' "$T/term.log"
kill -TERM "$TERM_PID"
wait_until 15 "outsend stops on SIGTERM" sh -c "! kill -0 $TERM_PID 2>/dev/null"
check "it says the points are kept for the next start" grep -q "1000 points for .* kept in the spool" "$T/term.log"
OUT=$("$OUTSEND" influx "$INFLUX_URL" --db term --spool "$T/spool-term" --points 0 --flush-ms 30000 2>"$T/term2.log")
assert_eq "the next start sends the 1000 spooled points" "in=1000 sent=1000 dropped=0 queued=0 errors=0" "$OUT"
assert_eq "InfluxDB holds the 1000" 1000 "$(count term)"

# ---- SIGKILL while down, and a torn record ---------------------------------------
influx_create_db kill
spawn kill "$OUTSEND" influx "$DEAD_URL" --db kill --spool "$T/spool-kill" --devices 4 --points 25 \
    --rounds 100000 --every 10 --flush-ms 100
KILL_PID=$SPAWNED_PID
wait_until 30 "3000 points produced" wrote_at_least "$T/kill.log" 3000
disown "$KILL_PID"
kill -KILL "$KILL_PID"
wait_until 5 "outsend is gone" sh -c "! kill -0 $KILL_PID 2>/dev/null"
produced=$(wrote "$T/kill.log")
seg=$(ls "$T/spool-kill/influx"/seg-* | sort | tail -n 1)
# A record cut short: a whole header, then 10 of its 500 bytes.
printf 'EVR1\364\001\000\000\005\000\000\000\000\000\000\000power,devi' >>"$seg"
OUT=$("$OUTSEND" influx "$INFLUX_URL" --db kill --spool "$T/spool-kill" --points 0 --flush-ms 60000 2>"$T/kill2.log")
check "the torn record is found and cut off" grep -q "damaged or torn record at offset" "$T/kill2.log"
assert_eq "every point reported produced before the kill is sent" \
    "in=$produced sent=$produced dropped=0 queued=0 errors=0" "$OUT"
assert_eq "InfluxDB holds exactly the $produced points produced" "$produced" "$(count kill)"

# ---- the disk quota -----------------------------------------------------------------
influx_create_db quota
OUT=$("$OUTSEND" influx "$DEAD_URL" --db quota --spool "$T/spool-quota" --spool-max 65536 --devices 5 \
    --points 100 --rounds 10 --flush-ms 200 2>"$T/quota.log")
dropped=$(sed -n 's/.*dropped=\([0-9]*\).*/\1/p' <<<"$OUT")
check "the quota dropped points ($dropped of 5000)" test "${dropped:-0}" -gt 0
assert_contains "produced 5000, the rest queued" "$OUT" "in=5000 sent=0 dropped=$dropped queued=$((5000 - dropped))"
check "the quota is logged once" sh -c "[ \$(grep -c 'quota of 65536 bytes reached' '$T/quota.log') = 1 ]"
OUT=$("$OUTSEND" influx "$INFLUX_URL" --db quota --spool "$T/spool-quota" --points 0 --flush-ms 30000 2>"$T/quota2.log")
assert_eq "the next start sends what the quota kept" \
    "in=$((5000 - dropped)) sent=$((5000 - dropped)) dropped=0 queued=0 errors=0" "$OUT"
assert_eq "InfluxDB holds produced - dropped" "$((5000 - dropped))" "$(count quota)"
first=$(INFLUX_EPOCH=s influx_rows quota "SELECT first(energy_wh) FROM power" | cut -f1)
assert_eq "the oldest dropped: the first point kept is k = $dropped" "$((1700000000 + dropped))" "$first"
last=$(INFLUX_EPOCH=s influx_rows quota "SELECT last(energy_wh) FROM power" | cut -f1)
assert_eq "the newest kept: the last point is k = 4999" 1700004999 "$last"

finish
