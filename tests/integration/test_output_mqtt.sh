#!/usr/bin/env bash
# test_output_mqtt.sh - the MQTT output against a real mosquitto, driven by
# build/tools/outsend (no agent needed):
#   - one message per (device, measurement) on <prefix>/<site>/<hall>/<device>/
#     <measurement>, the agent's own points on <prefix>/agents/<id>/<measurement>,
#     each carrying that group's line protocol; unsafe topic characters -> '_';
#   - every point acknowledged at QoS 1 before flush() returns;
#   - <prefix>/agents/<id>/status: retained "online" while connected,
#     retained "offline" after a graceful stop (a clean DISCONNECT, so that
#     "offline" is ours, not the will) and after kill -9 (the last will);
#   - a broker that is down at start: messages are buffered and delivered
#     once it is up; after a broker restart the output reconnects by itself
#     and republishes "online".
. tests/lib/common.sh
. tests/lib/mosquitto.sh

EVMON=${EVMON:-build/evmon}
OUTSEND=${OUTSEND:-$(dirname "$EVMON")/tools/outsend}
wait_until 1 "$OUTSEND is built (make all)" test -x "$OUTSEND"

P=evtest
AG=ag1
STATUS="$P/agents/$AG/status"

start_mosquitto
BROKER_LOG="$T/mosquitto.log"

# One "topic hex-payload" line per message (payloads hold several lines).
spawn sub mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -t "$P/#" -F '%t %x'
sub_ready() {
    mosquitto_pub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -t "$P/probe" -m ping &&
        grep -q "^$P/probe " "$T/sub.log"
}
wait_until 10 "the subscriber receives messages" sub_ready

# Print "topic lines" for every message on TOPIC-PATTERN (grep -E), sorted.
messages() {
    grep -E "^$1 " "$T/sub.log" | "$EV_PY" -c '
import sys
for line in sys.stdin:
    topic, _, hexp = line.rstrip("\n").partition(" ")
    payload = bytes.fromhex(hexp).decode()
    print(topic, payload.count("\n"))
' | sort
}
# The payload of the first message on TOPIC (exact), decoded.
payload_of() {
    grep -F "$1 " "$T/sub.log" | head -n 1 | cut -d' ' -f2 | "$EV_PY" -c '
import sys; sys.stdout.write(bytes.fromhex(sys.stdin.read().strip()).decode())'
}
count_data() { [ "$(messages "$P/(s1/[^ ]+|agents/$AG/evmon)" | wc -l)" -ge "$1" ]; }
status_is() { [ "$(mqtt_get "$STATUS" 1)" = "$1" ]; }

# ---- data on the right topics, acknowledged --------------------------------
spawn send "$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --agent-id "$AG" --site s1 --hall h1 \
    --devices 3 --points 4 --evmon --device-name 'rack+7/pdu#B' --hold
SEND_PID=$SPAWNED_PID
wait_until 15 "outsend flushed" grep -q '^in=' "$T/send.log"
assert_eq "all 13 points acknowledged before flush() returned" \
    "in=13 sent=13 dropped=0 queued=0 errors=0" "$(grep '^in=' "$T/send.log")"
wait_until 10 "4 data messages reach the subscriber" count_data 4
assert_eq "one message per device and measurement, with that group's lines" \
    "$(printf '%s\n' "$P/agents/$AG/evmon 1" "$P/s1/h1/dev-1/power 4" "$P/s1/h1/dev-2/power 4" \
        "$P/s1/h1/rack_7_pdu_B/power 4")" \
    "$(messages "$P/(s1/[^ ]+|agents/$AG/evmon)")"
assert_eq "a message carries its points as line protocol, in order" \
    "$(printf '%s\n' \
        "power,device=dev-1,hall=h1,phase=L1,site=s1 active_power_w=1002,energy_wh=40 1700000004000000000" \
        "power,device=dev-1,hall=h1,phase=L1,site=s1 active_power_w=1002.5,energy_wh=50 1700000005000000000" \
        "power,device=dev-1,hall=h1,phase=L1,site=s1 active_power_w=1003,energy_wh=60 1700000006000000000" \
        "power,device=dev-1,hall=h1,phase=L1,site=s1 active_power_w=1003.5,energy_wh=70 1700000007000000000")" \
    "$(payload_of "$P/s1/h1/dev-1/power")"
assert_contains "the unsafe device name keeps its text in the tag" \
    "$(payload_of "$P/s1/h1/rack_7_pdu_B/power")" "device=rack+7/pdu#B,"

# ---- presence ----------------------------------------------------------------
wait_until 5 "status is retained \"online\" while connected" status_is online
assert_eq "status is retained \"online\" while connected" online "$(mqtt_get "$STATUS" 1)"
kill -TERM "$SEND_PID"
wait_until 10 "outsend stops on SIGTERM" sh -c "! kill -0 $SEND_PID 2>/dev/null"
wait_until 5 "status is retained \"offline\" after a graceful stop" status_is offline
assert_eq "status is retained \"offline\" after a graceful stop" offline "$(mqtt_get "$STATUS" 1)"
check "the graceful stop was a clean DISCONNECT (so \"offline\" was not the will)" \
    grep -q "Client $AG disconnected\." "$BROKER_LOG"

# A graceful stop with data not yet flushed (flush-ms 0: the last rounds may
# still be in Paho's hands): every message reaches the broker, and all of
# them before the retained "offline".
spawn unflushed "$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --agent-id ag3 --site s3 --hall h3 \
    --devices 10 --points 1 --rounds 20 --every 50 --flush-ms 0 --hold
UNF_PID=$SPAWNED_PID
wait_until 10 "outsend wrote its 20 rounds" grep -q '^in=' "$T/unflushed.log"
wait_until 10 "ag3 is connected (\"online\")" grep -q "^$P/agents/ag3/status 6f6e6c696e65" "$T/sub.log"
kill -TERM "$UNF_PID"
wait_until 10 "outsend stops on SIGTERM" sh -c "! kill -0 $UNF_PID 2>/dev/null"
wait_until 5 "ag3's status is retained \"offline\"" grep -q "^$P/agents/ag3/status 6f66666c696e65" "$T/sub.log"
assert_eq "all 200 messages delivered at a graceful stop" 200 "$(grep -c "^$P/s3/h3/" "$T/sub.log")"
assert_eq "and all of them before \"offline\"" 200 \
    "$(sed -n "1,/^${P//\//\\/}\/agents\/ag3\/status 6f66666c696e65/p" "$T/sub.log" | grep -c "^$P/s3/h3/")"

spawn send2 "$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --agent-id "$AG" --devices 1 --points 1 --hold
SEND_PID=$SPAWNED_PID
wait_until 10 "status is \"online\" again after reconnecting" status_is online
kill -KILL "$SEND_PID"
wait "$SEND_PID" 2>/dev/null # reaped quietly (no "Killed" line from bash)
wait_until 10 "status is retained \"offline\" after kill -9 (the last will)" status_is offline
assert_eq "status is retained \"offline\" after kill -9 (the last will)" offline \
    "$(mqtt_get "$STATUS" 1)"
check "the broker published the will (no clean disconnect this time)" \
    sh -c "[ \$(grep -c 'Client $AG disconnected\.' '$BROKER_LOG') = 1 ]"

# ---- a broker down at start: buffered, then delivered; a broker restart ------
start_mosquitto late-broker
LATE_PORT=$MQTT_PORT
stop_spawned "$MQTT_PID"
spawn late "$OUTSEND" mqtt "$MQTT_URL" --prefix "$P" --agent-id ag2 --devices 2 --points 3 \
    --flush-ms 30000 --hold
LATE_PID=$SPAWNED_PID
wait_until 10 "outsend reports the broker unreachable" grep -q "cannot connect" "$T/late.log"
spawn late-broker2 "$EV_MOSQUITTO" -c "$T/late-broker.conf"
BROKER_PID=$SPAWNED_PID
wait_until 10 "the broker is up on port $LATE_PORT" port_open "$LATE_PORT" 127.0.0.1
wait_until 30 "buffered points delivered once the broker is up" grep -q '^in=' "$T/late.log"
assert_eq "every buffered point acknowledged" "in=6 sent=6 dropped=0 queued=0 errors=0" \
    "$(grep '^in=' "$T/late.log")"
assert_eq "the unreachable broker was logged once, not every retry" 1 \
    "$(grep -c "cannot connect" "$T/late.log")"

STATUS=$P/agents/ag2/status
wait_until 5 "ag2 is \"online\"" status_is online
stop_spawned "$BROKER_PID" # a broker restart: it forgets retained messages (no persistence)
spawn late-broker3 "$EV_MOSQUITTO" -c "$T/late-broker.conf"
wait_until 10 "the broker is back on port $LATE_PORT" port_open "$LATE_PORT" 127.0.0.1
wait_until 20 "after the restart the output reconnects and says \"online\" again" status_is online
assert_eq "status \"online\" republished on reconnect" online "$(mqtt_get "$STATUS" 1)"
check "the reconnect is logged" grep -q "reconnected to $MQTT_URL" "$T/late.log"
check "the lost connection is logged once" sh -c "[ \$(grep -c 'lost the connection' '$T/late.log') = 1 ]"
kill -TERM "$LATE_PID"
wait_until 10 "outsend stops on SIGTERM" sh -c "! kill -0 $LATE_PID 2>/dev/null"
assert_eq "and \"offline\" after its graceful stop" offline "$(mqtt_get "$STATUS" 1)"

finish
