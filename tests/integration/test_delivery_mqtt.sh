#!/usr/bin/env bash
# test_delivery_mqtt.sh - store and forward on MQTT with exact counts, driven
# by build/tools/outsend (the MQTT output with its spool), counted by a
# subscriber with a persistent session (QoS 1, clean session off) on a broker
# that keeps sessions across a restart:
#   - mosquitto stopped for a while under load, then restarted: every point
#     produced reaches the subscriber (counted once per series and timestamp,
#     as a store would keep it); the outage went to disk and was replayed;
#   - SIGTERM while the broker is down: the messages go to the spool; the
#     next start delivers them all;
#   - SIGKILL while the broker is down: every point produced before the kill
#     is delivered by the next start.
. tests/lib/common.sh
. tests/lib/mosquitto.sh

EVMON=${EVMON:-build/evmon}
OUTSEND=${OUTSEND:-$(dirname "$EVMON")/tools/outsend}
wait_until 1 "$OUTSEND is built (make all)" test -x "$OUTSEND"

MQTT_PERSIST=1 start_mosquitto broker
P=evd
spawn sub mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -c -i evcount -t "$P/#" -F '%t %x'
sub_ready() {
    mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -t "$P/probe" -m ping && grep -q "^$P/probe " "$T/sub.log"
}
wait_until 10 "the subscriber receives messages" sub_ready

# points SITE: distinct points (series + timestamp) of site SITE received; with
# "all", every line received (duplicates included).
points() {
    grep "^$P/$1/" "$T/sub.log" | cut -d' ' -f2 | "$EV_PY" -c '
import sys
seen, total = set(), 0
for h in sys.stdin:
    for line in bytes.fromhex(h.strip()).decode().splitlines():
        total += 1
        series, _, rest = line.partition(" ")
        seen.add((series, rest.rsplit(" ", 1)[-1]))
print(total if sys.argv[1] == "all" else len(seen))
' "${2:-distinct}"
}
points_are() { [ "$(points "$1")" = "$2" ]; }
wrote() { sed -n 's/^wrote \([0-9]*\)$/\1/p' "$1" | tail -n 1; }
wrote_at_least() { [ "$(wrote "$1")" -ge "$2" ] 2>/dev/null; }

# ---- the broker restarted under load --------------------------------------------
spawn load "$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --site outage --agent-id evload --spool "$T/spool-load" \
    --devices 10 --points 10 --rounds 40 --every 250 --flush-ms 60000 --replay-rate 5000
wait_until 20 "the first points arrive" sh -c "[ \$(grep -c '^$P/outage/' '$T/sub.log') -gt 0 ]"
stop_spawned "$MQTT_PID"
down_at=$(wrote "$T/load.log")
wait_until 20 "the output notices the broker is gone" grep -q "lost the connection" "$T/load.log"
wait_until 30 "12 more rounds produced while the broker is down" wrote_at_least "$T/load.log" $((down_at + 1200))
check "the messages went to disk meanwhile" sh -c "ls '$T/spool-load/mqtt/' | grep -q '^seg-'"
restart_mosquitto broker
wait_until 90 "outsend delivered everything and flushed" grep -q '^in=' "$T/load.log"
assert_eq "all 4000 points acknowledged, none dropped or left" "in=4000 sent=4000 dropped=0 queued=0" \
    "$(grep '^in=' "$T/load.log" | sed 's/ errors=.*//')"
wait_until 30 "the subscriber has all 4000 distinct points" points_are outage 4000
assert_eq "the subscriber has exactly the 4000 points produced" 4000 "$(points outage)"
check "the reconnect is logged" grep -q "reconnected to" "$T/load.log"

# ---- SIGTERM while the broker is down ------------------------------------------------
stop_spawned "$MQTT_PID"
spawn term "$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --site term --agent-id evterm --spool "$T/spool-term" \
    --devices 5 --points 20 --rounds 3 --flush-ms 300 --hold
TERM_PID=$SPAWNED_PID
wait_until 15 "outsend wrote 300 points and gave up flushing" grep -q '^in=300 ' "$T/term.log"
kill -TERM "$TERM_PID"
wait_until 15 "outsend stops on SIGTERM" sh -c "! kill -0 $TERM_PID 2>/dev/null"
check "it says the points are kept for the next start" grep -q "300 points for .* kept in the spool" "$T/term.log"
restart_mosquitto broker
OUT=$("$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --agent-id evterm --spool "$T/spool-term" --points 0 \
    --flush-ms 30000 2>"$T/term2.log")
assert_eq "the next start sends the 300 spooled points" "in=300 sent=300 dropped=0 queued=0 errors=0" "$OUT"
wait_until 20 "the subscriber has the 300" points_are term 300

# ---- SIGKILL while the broker is down ------------------------------------------------
stop_spawned "$MQTT_PID"
spawn kill "$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --site kill --agent-id evkill --spool "$T/spool-kill" \
    --devices 4 --points 10 --rounds 100000 --every 10 --flush-ms 100
KILL_PID=$SPAWNED_PID
wait_until 30 "1000 points produced" wrote_at_least "$T/kill.log" 1000
disown "$KILL_PID"
kill -KILL "$KILL_PID"
wait_until 5 "outsend is gone" sh -c "! kill -0 $KILL_PID 2>/dev/null"
produced=$(wrote "$T/kill.log")
restart_mosquitto broker
OUT=$("$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --agent-id evkill --spool "$T/spool-kill" --points 0 \
    --flush-ms 30000 2>"$T/kill2.log")
assert_eq "every point reported produced before the kill is sent" \
    "in=$produced sent=$produced dropped=0 queued=0 errors=0" "$OUT"
wait_until 20 "the subscriber has the $produced" points_are kill "$produced"

finish
