#!/usr/bin/env bash
# scripts/demo.sh - `make demo`: evmon polling a simulated PDU fleet, live.
#
# Everything runs on loopback with its state under build/demo/: mosquitto and
# influxd on free ports (tests/lib helpers), snmpsim serving DEMO_PDUS (12)
# simulated PDUs on 127.0.1.1..N built from the recorded walks with moving
# values (scripts/demo-fleet.sh), two Modbus meters and two Modbus cooling
# units (tests/sim/modbussim.c serving tests/fixtures/modbus images), and
# `build/evmon agent` with both outputs.
# Every DEMO_INTERVAL seconds it prints the latest readings from InfluxDB and
# the last MQTT messages. Ctrl-C (or DEMO_SECONDS=N for a run that ends by
# itself) stops everything it started and exits 0; it exits 1 if the agent
# died or no reading reached InfluxDB.
#
#   DEMO_PDUS=12  DEMO_INTERVAL=5  DEMO_SECONDS=  EVMON=build/evmon
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

EVMON=${EVMON:-build/evmon}
PDUS=${DEMO_PDUS:-12}
INTERVAL=${DEMO_INTERVAL:-5}
SECS=${DEMO_SECONDS:-}
DB=evmon SITE=cambrai HALL=hall1 AGENT=demo-agent

if [ ! -x "$EVMON" ]; then
    echo "demo: $EVMON is not built; run 'make demo' (or 'make' first)" >&2
    exit 1
fi
[ "$PDUS" -ge 1 ] && [ "$PDUS" -le 250 ] || { echo "demo: DEMO_PDUS must be 1..250" >&2; exit 2; }

rm -rf build/demo
EV_T_DIR=build/demo
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh
. tests/lib/snmp.sh
no_summary
trap 'exit 0' INT TERM      # Ctrl-C while starting: the exit trap cleans up

say() { printf '\033[1m%s\033[0m\n' "$*"; }
[ -t 1 ] || say() { printf '%s\n' "$*"; }

# ---- servers and fleet --------------------------------------------------------

say "evmon demo: starting mosquitto, influxd and $PDUS simulated PDUs (state in $T)"
start_mosquitto
start_influxd
influx_create_db "$DB"
SNMP_PORT=$(free_port)
scripts/demo-fleet.sh "$T/fleet" "$PDUS" "$SNMP_PORT" || exit 1
mapfile -t endpoints <"$T/fleet/endpoints"
start_snmpsim "$T/fleet/snmp" "${endpoints[@]}"
# Beside the PDUs, Modbus meters and cooling units (tests/sim/modbussim.c
# serving the register images of tests/fixtures/modbus).
. tests/lib/modbus.sh
modbus_devices=()
for spec in "intake-1 socomec-countis-e3x facility" "ups-out-1 schneider-pm5xxx it" \
            "rdc-01 vertiv-liebert-dcd cooling" "crah-01 liebert-icom-crah cooling"; do
    read -r name profile role <<<"$spec"
    start_modbussim "modbus-$name" --image "tests/fixtures/modbus/$profile.image"
    modbus_devices+=("  - {name: $name, profile: $profile, address: \"$MBSIM_EP\", role: $role}")
done

cat >"$T/evmon.yaml" <<EOF
# evmon demo config, written by scripts/demo.sh
agent:
  id: $AGENT
  site: $SITE
  hall: $HALL
  interval: ${INTERVAL}s
snmp:
  version: 2c
  timeout: 2s
  retries: 1
outputs:
  influxdb:
    enabled: true
    url: $INFLUX_URL
    database: $DB
  mqtt:
    enabled: true
    url: $MQTT_URL
EOF
cat "$T/fleet/devices.yaml" >>"$T/evmon.yaml"
printf '%s\n' "${modbus_devices[@]}" >>"$T/evmon.yaml"
"$EVMON" check -c "$T/evmon.yaml" || { echo "demo: the generated config is rejected" >&2; exit 1; }

mqtt_sub mqtt "evalley/#"
spawn agent "$EVMON" agent -c "$T/evmon.yaml"
AGENT_PID=$SPAWNED_PID

# ---- live view ----------------------------------------------------------------

banner() {
    say "evmon demo: $PDUS PDUs -> evmon agent -> MQTT + InfluxDB (every ${INTERVAL}s)"
    echo "  InfluxDB  $INFLUX_URL  database '$DB'  (Grafana: add an InfluxDB data source with this URL)"
    echo "            curl -G $INFLUX_URL/query --data-urlencode db=$DB --data-urlencode \"q=SELECT * FROM power LIMIT 5\""
    echo "  MQTT      $MQTT_URL    mosquitto_sub -h $MQTT_HOST -p $MQTT_PORT -t 'evalley/#' -v"
    if compgen -G "dashboards/*.json" >/dev/null; then
        echo "  Grafana   dashboards: $(echo dashboards/*.json)"
    fi
    echo "  Config    $T/evmon.yaml   logs: $T/*.log"
    if [ -n "$SECS" ]; then
        echo "  Stops by itself after ${SECS}s; Ctrl-C stops everything."
    else
        echo "  Ctrl-C stops everything."
    fi
}

# The latest point of each device's total (or of each phase when a profile
# gives no total), from InfluxDB. No sum: the devices sit at different levels
# (a UPS output feeds the PDUs below it, the intake meter covers everything),
# so adding them would count the same load twice (the energy model's
# topology, docs/ENERGY.md, is what adds them up rightly).
table() {
    INFLUX_EPOCH=s influx_rows "$DB" \
        "SELECT active_power_w, energy_wh FROM power WHERE time > now() - 5m AND outlet = '' GROUP BY device, phase ORDER BY time DESC LIMIT 1" |
        /usr/bin/python3 -c '
import sys, time
rows = []
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    tags = dict(x.split("=", 1) for x in f if "=" in x)
    vals = [x for x in f if "=" not in x]
    t, p, e = (vals + ["", "", ""])[:3]
    rows.append((tags.get("device", "?"), tags.get("phase", ""), p, e, t))
totals = [r for r in rows if r[1] == "total"]
have_total = {r[0] for r in totals}
rows = totals + [r for r in rows if r[0] not in have_total]
rows.sort()
if not rows:
    print("  (no readings in InfluxDB yet)")
    sys.exit(0)
print("  %-10s %-6s %12s %14s  %s" % ("device", "phase", "power W", "energy kWh", "last"))
for d, ph, p, e, t in rows:
    pw = "%.0f" % float(p) if p else "-"
    kwh = "%.2f" % (float(e) / 1000) if e else "-"
    when = time.strftime("%H:%M:%S", time.localtime(int(t))) if t else "-"
    print("  %-10s %-6s %12s %14s  %s" % (d, ph, pw, kwh, when))
'
}

mqtt_tail() {
    grep -a '^evalley/' "$T/mqtt.log" 2>/dev/null | grep -v '/status ' | tail -n 4 | cut -c1-150 | sed 's/^/  /'
    local st
    st=$(grep -a "^evalley/agents/$AGENT/status " "$T/mqtt.log" 2>/dev/null | tail -n 1)
    [ -z "$st" ] || echo "  $st"
}

STOP=0
trap 'STOP=1' INT TERM      # from here the loop notices and stops cleanly
seen_data=0
agent_died=0
start=$SECONDS
next=$SECONDS
while [ "$STOP" = 0 ]; do
    if ! kill -0 "$AGENT_PID" 2>/dev/null; then
        agent_died=1
        echo "demo: the agent exited; its last log lines:" >&2
        tail -n 20 "$T/agent.log" >&2
        break
    fi
    if [ -n "$SECS" ] && [ $((SECONDS - start)) -ge "$SECS" ]; then
        break
    fi
    if [ "$SECONDS" -ge "$next" ]; then
        next=$((SECONDS + INTERVAL))
        view=$(table)
        [[ "$view" == *"no readings"* ]] || seen_data=1
        [ -t 1 ] && printf '\033[H\033[2J'
        banner
        echo
        say "Latest readings (InfluxDB) at $(date +%H:%M:%S)"
        printf '%s\n' "$view"
        echo
        say "Last MQTT messages"
        mqtt_tail
        echo
    fi
    sleep 0.2
done

echo "demo: stopping agent, snmpsim, influxd and mosquitto"
stop_spawned "$AGENT_PID" 10   # let it flush its queues
if [ "$agent_died" = 1 ]; then
    exit 1
fi
if [ "$seen_data" = 0 ]; then
    echo "demo: no reading reached InfluxDB; see $T/agent.log" >&2
    exit 1
fi
exit 0
