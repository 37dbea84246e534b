# tests/lib/mosquitto.sh - a private mosquitto broker for one test (or the demo).
#
# `. tests/lib/mosquitto.sh` (after tests/lib/common.sh) gives:
#   start_mosquitto [NAME]  start a broker on a free 127.0.0.1 port, config and
#                           log under $T (NAME.log, default "mosquitto"); sets
#                           MQTT_HOST, MQTT_PORT, MQTT_URL=tcp://127.0.0.1:PORT,
#                           MQTT_PID; returns once the port accepts.
#   mqtt_get TOPIC [SECS]   print the retained message of TOPIC (empty when none
#                           arrives within SECS, default 2); fails when none.
#   mqtt_sub NAME TOPIC...  spawn a subscriber writing "topic payload" lines to
#                           $T/NAME.log (read it after a wait_until).
# Nothing here uses the system's mosquitto service or port 1883.

[ -n "${EV_LIB_DIR:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# /usr/sbin is not on every user's PATH.
EV_MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}

start_mosquitto() {
    local name=${1:-mosquitto}
    MQTT_HOST=127.0.0.1
    MQTT_PORT=$(free_port) || return 1
    MQTT_URL="tcp://$MQTT_HOST:$MQTT_PORT"
    cat >"$T/$name.conf" <<CONF
# written by tests/lib/mosquitto.sh
listener $MQTT_PORT $MQTT_HOST
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp true
CONF
    spawn "$name" "$EV_MOSQUITTO" -c "$T/$name.conf"
    MQTT_PID=$SPAWNED_PID
    export MQTT_HOST MQTT_PORT MQTT_URL
    wait_until 10 "mosquitto ($name) accepts on $MQTT_HOST:$MQTT_PORT" port_open "$MQTT_PORT" "$MQTT_HOST"
}

mqtt_get() {
    local topic=$1 secs=${2:-2} out
    out=$(mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -t "$topic" --retained-only -C 1 -W "$secs" 2>/dev/null)
    printf '%s' "$out"
    [ -n "$out" ]
}

mqtt_sub() {
    local name=$1
    shift
    local args=() t
    for t in "$@"; do args+=(-t "$t"); done
    spawn "$name" mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -q 1 -v "${args[@]}"
}
