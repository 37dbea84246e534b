# tests/lib/influxd.sh - a private InfluxDB 1.x server for one test (or the demo).
#
# `. tests/lib/influxd.sh` (after tests/lib/common.sh) gives:
#   start_influxd [NAME]     start influxd with its data under $T/NAME (default
#                            "influxd"), HTTP and RPC on free 127.0.0.1 ports,
#                            log in $T/NAME.log; sets INFLUX_PORT, INFLUX_URL,
#                            INFLUX_PID; returns once /ping answers 204.
#   influx_query DB "INFLUXQL"  print the JSON of GET /query (times in RFC 3339,
#                            or set INFLUX_EPOCH=s|ms|ns for epoch numbers).
#   influx_create_db DB      CREATE DATABASE.
#   influx_rows DB "INFLUXQL"  print each result row as tab-separated values,
#                            preceded by the series' tags as key=value fields:
#                            handy for assert_eq / assert_contains.
#   restart_influxd [NAME]   start NAME again after stop_spawned "$INFLUX_PID",
#                            same port, same data; returns once /ping answers.
#   INFLUX_TLS_CERT, INFLUX_TLS_KEY: when set before start_influxd, it serves
#                            https:// with them (INFLUX_URL says so; queries
#                            trust INFLUX_TLS_CA).
# Nothing here uses the system's influxdb service or port 8086.

[ -n "${EV_LIB_DIR:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh"

start_influxd() {
    local name=${1:-influxd} rpc dir
    dir="$T/$name"
    mkdir -p "$dir"
    INFLUX_PORT=$(free_port) || return 1
    rpc=$(free_port) || return 1
    INFLUX_URL="http://127.0.0.1:$INFLUX_PORT"
    local tls=""
    if [ -n "${INFLUX_TLS_CERT:-}" ]; then
        INFLUX_URL="https://127.0.0.1:$INFLUX_PORT"
        tls="  https-enabled = true
  https-certificate = \"$INFLUX_TLS_CERT\"
  https-private-key = \"$INFLUX_TLS_KEY\""
    fi
    cat >"$dir/influxd.conf" <<CONF
# written by tests/lib/influxd.sh
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
  logging-enabled = false
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "10s"
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
  pprof-enabled = false
$tls
[logging]
  level = "warn"
  suppress-logo = true
[continuous_queries]
  enabled = false
CONF
    spawn "$name" influxd run -config "$dir/influxd.conf"
    INFLUX_PID=$SPAWNED_PID
    export INFLUX_PORT INFLUX_URL
    wait_until 20 "influxd ($name) answers /ping on $INFLUX_URL" ev_influx_ping
}

restart_influxd() {
    local name=${1:-influxd}
    spawn "$name-again" influxd run -config "$T/$name/influxd.conf"
    INFLUX_PID=$SPAWNED_PID
    wait_until 20 "influxd ($name) answers /ping again on $INFLUX_URL" ev_influx_ping
}

# curl's TLS options for the test server (none on http).
ev_influx_curl_tls() {
    [ -z "${INFLUX_TLS_CA:-}" ] || printf '%s\n' --cacert "$INFLUX_TLS_CA"
}

ev_influx_ping() {
    [ "$(curl -s $(ev_influx_curl_tls) -o /dev/null -w '%{http_code}' --max-time 1 "$INFLUX_URL/ping")" = 204 ]
}

influx_query() {
    local db=$1 q=$2 epoch=()
    [ -z "${INFLUX_EPOCH:-}" ] || epoch=(--data-urlencode "epoch=$INFLUX_EPOCH")
    curl -sS $(ev_influx_curl_tls) --max-time 10 -G "$INFLUX_URL/query" \
        --data-urlencode "db=$db" --data-urlencode "q=$q" "${epoch[@]}"
}

influx_create_db() {
    curl -sS $(ev_influx_curl_tls) --max-time 10 -o /dev/null -f -XPOST "$INFLUX_URL/query" \
        --data-urlencode "q=CREATE DATABASE \"$1\""
}

influx_rows() {
    influx_query "$1" "$2" | "$EV_PY" -c '
import json, sys
def fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)
doc = json.load(sys.stdin)
for res in doc.get("results", []):
    if "error" in res:
        sys.exit("influx: " + res["error"])
    for s in res.get("series", []):
        tags = ["%s=%s" % kv for kv in sorted((s.get("tags") or {}).items())]
        for row in s.get("values", []):
            print("\t".join(tags + [fmt(v) for v in row]))
'
}
