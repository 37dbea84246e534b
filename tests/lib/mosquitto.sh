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
#   MQTT_TLS_CA, MQTT_TLS_CERT, MQTT_TLS_KEY: when set before start_mosquitto,
#                           the listener speaks TLS (MQTT_URL=ssl://...).
#   MQTT_PASSWD_FILE:       when set, anonymous clients are refused and
#                           users come from that mosquitto_passwd file.
#   MQTT_PERSIST=1:         the broker keeps sessions, subscriptions and
#                           queued messages across a restart (in $T/NAME-data/;
#                           restart with restart_mosquitto NAME).
#   restart_mosquitto NAME  start NAME again after stop_spawned "$MQTT_PID",
#                           same port and config.
# Nothing here uses the system's mosquitto service or port 1883.

[ -n "${EV_LIB_DIR:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# /usr/sbin is not on every user's PATH.
EV_MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}

start_mosquitto() {
    local name=${1:-mosquitto}
    MQTT_HOST=127.0.0.1
    MQTT_PORT=$(free_port) || return 1
    MQTT_URL="tcp://$MQTT_HOST:$MQTT_PORT"
    local extra="allow_anonymous true"
    if [ -n "${MQTT_PASSWD_FILE:-}" ]; then
        extra="allow_anonymous false
password_file $MQTT_PASSWD_FILE"
    fi
    if [ -n "${MQTT_TLS_CERT:-}" ]; then
        MQTT_URL="ssl://$MQTT_HOST:$MQTT_PORT"
        extra="$extra
cafile $MQTT_TLS_CA
certfile $MQTT_TLS_CERT
keyfile $MQTT_TLS_KEY"
    fi
    local persist="persistence false"
    if [ "${MQTT_PERSIST:-0}" = 1 ]; then
        mkdir -p "$T/$name-data"
        chmod 777 "$T/$name-data"
        persist="persistence true
persistence_location $T/$name-data/"
    fi
    cat >"$T/$name.conf" <<CONF
# written by tests/lib/mosquitto.sh
listener $MQTT_PORT $MQTT_HOST
$extra
$persist
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

restart_mosquitto() {
    local name=${1:-mosquitto}
    spawn "$name-again" "$EV_MOSQUITTO" -c "$T/$name.conf"
    MQTT_PID=$SPAWNED_PID
    wait_until 10 "mosquitto ($name) accepts again on $MQTT_HOST:$MQTT_PORT" port_open "$MQTT_PORT" "$MQTT_HOST"
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
