# tests/lib/alertmanager.sh - a private Prometheus Alertmanager for one test.
#
# `. tests/lib/alertmanager.sh` (after tests/lib/common.sh) gives:
#   start_alertmanager [NAME]  Debian's prometheus-alertmanager on a free
#                              127.0.0.1 port, clustering off, storage and a
#                              minimal config (one "null" receiver) under
#                              $T/NAME, log in $T/NAME.log; sets AM_PORT,
#                              AM_URL, AM_PID; returns once /-/ready answers.
#   am_alerts                  print GET /api/v2/alerts (active alerts, JSON).
#   am_has_alert NAME [K=V...] true when an active alert named NAME carries
#                              every label K=V given.
# Nothing here uses the system's alertmanager service or port 9093.

[ -n "${EV_LIB_DIR:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh"

EV_ALERTMANAGER=${ALERTMANAGER:-$(command -v prometheus-alertmanager || echo /usr/bin/prometheus-alertmanager)}

start_alertmanager() {
    local name=${1:-alertmanager} dir
    dir="$T/$name"
    mkdir -p "$dir/data"
    AM_PORT=$(free_port) || return 1
    AM_URL="http://127.0.0.1:$AM_PORT"
    cat >"$dir/alertmanager.yml" <<CONF
# written by tests/lib/alertmanager.sh
route:
  receiver: "null"
receivers:
  - name: "null"
CONF
    spawn "$name" "$EV_ALERTMANAGER" --config.file="$dir/alertmanager.yml" --storage.path="$dir/data" \
        --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=
    AM_PID=$SPAWNED_PID
    export AM_PORT AM_URL
    wait_until 20 "alertmanager ($name) ready on $AM_URL" curl -sf "$AM_URL/-/ready"
}

am_alerts() {
    curl -sf "$AM_URL/api/v2/alerts"
}

am_has_alert() {
    local name=$1
    shift
    am_alerts | "$EV_PY" -c '
import json, sys
name, want = sys.argv[1], dict(kv.split("=", 1) for kv in sys.argv[2:])
alerts = json.load(sys.stdin)
ok = any(a["labels"].get("alertname") == name and all(a["labels"].get(k) == v for k, v in want.items())
         for a in alerts)
sys.exit(0 if ok else 1)' "$name" "$@"
}
