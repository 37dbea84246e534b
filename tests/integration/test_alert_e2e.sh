#!/usr/bin/env bash
# test_alert_e2e.sh - alerting against real servers: snmpsim serving the APC
# rPDU2 walk (1140 W total), `evmon agent` polling it every second with a rule
# whose threshold the PDU exceeds, a real mosquitto and Debian's real
# prometheus-alertmanager. Asserts: the alert reaches Alertmanager through
# POST /api/v2/alerts and is read back from its API with the PDU's labels;
# the retained MQTT state under evalley/alerts/... (JSON) and the `alert`
# point on the device's stream; `evmon alerts` lists it; a restart with the
# same rules does not announce it again; a restart with a second config
# (threshold above 1140 W, same state file) resolves it: the retained
# message is cleared, Alertmanager no longer lists it, `evmon alerts` is empty.
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/snmp.sh
. tests/lib/alertmanager.sh

EVMON=${EVMON:-build/evmon}
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"

APC=$(sed -n 's/^name:[[:space:]]*\([^[:space:]#]*\).*/\1/p' config/profiles/apc-rpdu2.yaml)
mkdir -p "$T/snmp"
cp tests/fixtures/snmp/apc-ap8853.snmprec "$T/snmp/apc.snmprec"
SNMP_PORT=$(free_port)
start_snmpsim "$T/snmp" "127.0.0.1:$SNMP_PORT"
start_mosquitto
start_alertmanager

# rules FILE WARN: one rule on the APC's total active power.
rules() {
    cat >"$1" <<EOF
rules:
  - name: apc_power
    description: "{device} draws {value} W, above {threshold} W"
    measurement: power
    field: active_power_w
    select: {device: "pdu-*", phase: total}
    direction: above
    warn: $2
    clear: $(($2 - 100))
    for: 2s
    labels: {team: electrical}
EOF
}
rules "$T/low.yaml" 1000   # 1140 W fires
rules "$T/high.yaml" 2000  # 1140 W is at or below clear: resolves

# config FILE RULES
config() {
    cat >"$1" <<EOF
agent: {id: alert-agent, site: cambrai, hall: hall1, interval: 1s}
snmp: {version: 2c, timeout: 1s, retries: 1}
outputs:
  mqtt: {enabled: true, url: $MQTT_URL}
alerts:
  rules: [$2]
  state_file: state/alerts.json
  webhook: [$AM_URL]
  resend: 1s
devices:
  - {name: pdu-apc, profile: $APC, address: "127.0.0.1:$SNMP_PORT", role: it, row: row1, rack: r01, feed: A, snmp: {community: apc}}
EOF
}
mkdir -p "$T/state"
config "$T/fire.yaml" low.yaml
config "$T/clear.yaml" high.yaml
check "evmon check accepts the alerting config" "$EVMON" check -c "$T/fire.yaml"

TOPIC=evalley/alerts/cambrai/hall1/pdu-apc/total/apc_power
mqtt_sub stream 'evalley/cambrai/hall1/pdu-apc/#'

# ---- fire ---------------------------------------------------------------------

spawn agent1 "$EVMON" agent -c "$T/fire.yaml"
AGENT_PID=$SPAWNED_PID
wait_until 30 "Alertmanager lists apc_power for pdu-apc" \
    am_has_alert apc_power device=pdu-apc severity=warn site=cambrai team=electrical phase=total
am=$(am_alerts)
assert_contains "the alert's description reached Alertmanager" "$am" '"description":"pdu-apc draws 1140 W, above 1000 W"'

retained_firing() { mqtt_get "$TOPIC" 1 | grep -q '"state":"firing"'; }
wait_until 10 "retained firing state on $TOPIC" retained_firing
msg=$(mqtt_get "$TOPIC" 1)
assert_contains "retained state is JSON with the value" "$msg" '"value":1140'
assert_contains "retained state names the severity" "$msg" '"severity":"warn"'
wait_until 10 "an alert point on the device stream" grep -q '^evalley/cambrai/hall1/pdu-apc/alert alert,' "$T/stream.log"
check "the alert point says firing" grep -q 'alertname=apc_power.*state="firing"' "$T/stream.log"
check "the log says FIRING" grep -q 'alert apc_power FIRING warn' "$T/agent1.log"

# The hold: the first power sample came at least 2 s before the alert.
first=$(grep -m1 -o 'active_power_w=[^ ]* [0-9]*$' "$T/stream.log" | awk '{print $2}')
fired=$(grep -m1 '^evalley/cambrai/hall1/pdu-apc/alert ' "$T/stream.log" | awk '{print $NF}')
check "fired no earlier than the 2 s hold after the first sample" test $((fired - first)) -ge 2000000000

state_lists() { "$EVMON" alerts -c "$T/fire.yaml" | grep -q 'warn .*apc_power .*device=pdu-apc'; }
wait_until 10 "evmon alerts lists apc_power" state_lists

# ---- restart, same rules: not announced again -----------------------------------

kill -TERM "$AGENT_PID"
gone() { ! kill -0 "$AGENT_PID" 2>/dev/null; }
wait_until 15 "agent 1 exits after SIGTERM" gone
spawn agent2 "$EVMON" agent -c "$T/fire.yaml"
AGENT_PID=$SPAWNED_PID
wait_until 15 "agent 2 restored the alert" grep -q '1 active alert(s) restored' "$T/agent2.log"
# Let agent 2 poll well past the hold time: count its power messages.
before=$(grep -c '^evalley/cambrai/hall1/pdu-apc/power ' "$T/stream.log")
polled() { [ "$(grep -c '^evalley/cambrai/hall1/pdu-apc/power ' "$T/stream.log")" -ge $((before + 4)) ]; }
wait_until 20 "agent 2 polled 4 more times" polled
assert_eq "agent 2 did not announce the firing alert again" 0 "$(grep -c 'FIRING' "$T/agent2.log")"
check "Alertmanager still lists it (re-sent)" am_has_alert apc_power device=pdu-apc

# ---- restart with the second config: resolved -------------------------------------

kill -TERM "$AGENT_PID"
wait_until 15 "agent 2 exits after SIGTERM" gone
spawn agent3 "$EVMON" agent -c "$T/clear.yaml"
AGENT_PID=$SPAWNED_PID
wait_until 20 "agent 3 resolves the alert" grep -q 'alert apc_power RESOLVED (was warn)' "$T/agent3.log"
retained_gone() { ! mqtt_get "$TOPIC" 1 >/dev/null; }
wait_until 10 "retained state cleared on $TOPIC" retained_gone
not_in_am() { ! am_has_alert apc_power device=pdu-apc; }
wait_until 15 "Alertmanager no longer lists apc_power" not_in_am
check "the alert point says resolved" grep -q 'alertname=apc_power.*state="resolved"' "$T/stream.log"
no_alerts() { "$EVMON" alerts -c "$T/clear.yaml" | grep -qx 'no active alerts'; }
wait_until 10 "evmon alerts lists none" no_alerts

finish
