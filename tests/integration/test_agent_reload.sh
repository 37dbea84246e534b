#!/usr/bin/env bash
# test_agent_reload.sh - the daemon's lifecycle against real servers (snmpsim
# serving recorded PDU walks, a mosquitto that requires a password):
#   - secrets from files and the environment: the SNMP community of one PDU
#     comes from community_file, the MQTT password from password_env; both
#     work (readings arrive) and neither appears in the agent's log or in
#     `evmon check` output; the inline community of another device in a
#     world-readable file gets the warning;
#   - sd_notify over a real $NOTIFY_SOCKET: READY=1, STATUS= lines, WATCHDOG=1
#     pings (WATCHDOG_USEC=1s), RELOADING=1 on SIGHUP, STOPPING=1 on SIGTERM;
#   - SIGHUP with devices added, removed and changed: the unchanged PDU keeps
#     its SNMP socket (same local port: its session was not restarted) and its
#     new tags apply, the removed one stops publishing, the added one starts;
#     an unchanged Modbus meter (our simulator) keeps its TCP connection (same
#     local port) and takes its new tags; its health point carries its error
#     counters;
#   - a bad file on SIGHUP: FILE:LINE logged, old config kept, polling goes on;
#     a changed agent.hall is refused the same way.
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/snmp.sh
. tests/lib/modbus.sh

EVMON=${EVMON:-build/evmon}
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"
SITE=cambrai HALL=hall1

COMMUNITY=apc-Zq81secret # the PDU's community, only ever in a file
MQTT_PW=mq-Vx27secret    # the broker's password, only ever in the environment
mkdir -p "$T/snmp"
cp tests/fixtures/snmp/apc-ap8853.snmprec "$T/snmp/$COMMUNITY.snmprec"
cp tests/fixtures/snmp/servertech-sentry4.snmprec "$T/snmp/sentry4.snmprec"
cp tests/fixtures/snmp/vertiv-geist-mn03edr1.snmprec "$T/snmp/geist.snmprec"
SNMP_PORT=$(free_port)
start_snmpsim "$T/snmp" "127.0.0.1:$SNMP_PORT"
start_modbussim meter --image tests/fixtures/modbus/schneider-pm5xxx.image
MB_PORT=${MBSIM_EP##*:}
mosquitto_passwd -b -c "$T/mqtt.passwd" agent "$MQTT_PW" >/dev/null 2>&1
mosquitto_passwd -b "$T/mqtt.passwd" reader reader-pw >/dev/null 2>&1
chmod 644 "$T/mqtt.passwd"
MQTT_PASSWD_FILE=$T/mqtt.passwd start_mosquitto
printf '%s\n' "$COMMUNITY" >"$T/community"
chmod 600 "$T/community"

# A datagram socket standing in for systemd's: one line per message ('|' for newlines).
cat >"$T/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
spawn notifyd "$EV_PY" "$T/notify.py" "$T/notify.sock" "$T/notify.txt"
wait_until 5 "notify socket is bound" test -S "$T/notify.sock"
touch "$T/notify.txt"

# config HALL DEVICES...: the agent's config, devices given as YAML flow maps.
config() {
    local hall=$1 d
    shift
    cat <<EOF
agent: {id: reload-agent, site: $SITE, hall: $hall, interval: 1s}
snmp: {version: 2c, timeout: 1s, retries: 1}
outputs:
  mqtt: {url: "$MQTT_URL", username: agent, password_env: EVMON_TEST_MQTT_PW}
devices:
EOF
    for d in "$@"; do printf '  - %s\n' "$d"; done
}
APC_A="{name: pdu-apc, profile: apc-rpdu2, address: \"127.0.0.1:$SNMP_PORT\", rack: r01, snmp: {community_file: community}}"
APC_B="{name: pdu-apc, profile: apc-rpdu2, address: \"127.0.0.1:$SNMP_PORT\", rack: r05, snmp: {community_file: community}}"
SENTRY="{name: pdu-sentry, profile: servertech-sentry4, address: \"127.0.0.1:$SNMP_PORT\", snmp: {community: sentry4}}"
GEIST="{name: pdu-geist, profile: vertiv-geist-v5, address: \"127.0.0.1:$SNMP_PORT\", snmp: {community: geist}}"
MB_A="{name: meter-mb, profile: schneider-pm5xxx, address: \"$MBSIM_EP\", role: facility, rack: m01}"
MB_B="{name: meter-mb, profile: schneider-pm5xxx, address: \"$MBSIM_EP\", role: facility, rack: m02}"

config "$HALL" "$APC_A" "$SENTRY" "$MB_A" >"$T/evmon.yaml"
chmod 644 "$T/evmon.yaml" # holds the inline community 'sentry4'
export EVMON_TEST_MQTT_PW=$MQTT_PW
out=$("$EVMON" check -c "$T/evmon.yaml" 2>&1)
assert_contains "check accepts the config" "$out" "ok: 3 devices"
assert_contains "check warns: inline secret in a world-readable file" "$out" \
    "evmon.yaml:7: warning: this file holds a secret and is readable by every user (mode 0644)"

# mqtt_sub with the broker's password (a user of its own).
spawn mqtt mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -u reader -P reader-pw -q 1 -v -t 'evalley/#'
spawn agent env NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000 "$EVMON" agent -c "$T/evmon.yaml"
AGENT_PID=$SPAWNED_PID

count() { grep -c "$1" "$2" 2>/dev/null || true; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }
power_of() { printf '^evalley/%s/%s/%s/power ' "$SITE" "$1" "$2"; }

wait_until 10 "READY=1 reaches the notify socket" grep -q "READY=1" "$T/notify.txt"
wait_until 20 "pdu-apc (community from a file) publishes" grep -q "$(power_of "$HALL" pdu-apc)" "$T/mqtt.log"
wait_until 20 "pdu-sentry publishes" grep -q "$(power_of "$HALL" pdu-sentry)" "$T/mqtt.log"
wait_until 10 "watchdog pings every 0.5 s" at_least "^WATCHDOG=1" "$T/notify.txt" 3
wait_until 20 "meter-mb (Modbus) publishes" grep -q "$(power_of "$HALL" meter-mb).*rack=m01" "$T/mqtt.log"
wait_until 10 "a STATUS line after a cycle" grep -q "STATUS=3 devices every 1000 ms; last cycle: 3 ok" \
    "$T/notify.txt"
check "the agent warns about the world-readable inline secret" \
    grep -q "warning: this file holds a secret and is readable by every user" "$T/agent.log"

# The agent's UDP sockets (one per SNMP device): local ports.
udp_ports() { ss -uanp 2>/dev/null | grep "pid=$AGENT_PID," | awk '{print $4}' | sed 's/.*://' | sort; }
before=$(udp_ports)
assert_eq "two SNMP sockets before the reload" 2 "$(printf '%s\n' "$before" | grep -c .)"
# The agent's TCP connection to the Modbus simulator: its local port.
mb_conn() { ss -tnp 2>/dev/null | grep "pid=$AGENT_PID," | awk -v p="$MB_PORT" '{ n = split($5, a, ":"); if (a[n] == p) print $4 }'; }
mb_before=$(mb_conn)
assert_eq "one Modbus connection before the reload" 1 "$(printf '%s\n' "$mb_before" | grep -c .)"

# ---- SIGHUP: pdu-apc unchanged (but a new rack tag), pdu-sentry gone, pdu-geist new ----
config "$HALL" "$GEIST" "$APC_B" "$MB_B" >"$T/evmon.yaml"
kill -HUP "$AGENT_PID"
wait_until 10 "reload applied" grep -q "reload: .* applied: 3 devices" "$T/agent.log"
check "1 kept, 1 added, 0 changed, 1 removed" \
    grep -q "snmp: reconfigured: 1 device(s) kept, 1 added, 0 changed, 1 removed" "$T/agent.log"
reloading_then_ready() { grep -A1 "^RELOADING=1" "$T/notify.txt" | grep -q "^READY=1"; }
check "RELOADING=1 then READY=1 on the notify socket" reloading_then_ready
wait_until 20 "pdu-geist (added) publishes" grep -q "$(power_of "$HALL" pdu-geist)" "$T/mqtt.log"
wait_until 10 "pdu-apc publishes with its new rack tag" grep -q "$(power_of "$HALL" pdu-apc).*rack=r05" \
    "$T/mqtt.log"
sentry=$(count "$(power_of "$HALL" pdu-sentry)" "$T/mqtt.log")
geist=$(count "$(power_of "$HALL" pdu-geist)" "$T/mqtt.log")
wait_until 20 "three more cycles of pdu-geist" at_least "$(power_of "$HALL" pdu-geist)" "$T/mqtt.log" $((geist + 3))
assert_eq "pdu-sentry (removed) publishes no more" "$sentry" "$(count "$(power_of "$HALL" pdu-sentry)" "$T/mqtt.log")"
after=$(udp_ports)
assert_eq "two SNMP sockets after the reload" 2 "$(printf '%s\n' "$after" | grep -c .)"
assert_eq "exactly one socket kept: pdu-apc's session was not restarted" 1 \
    "$(comm -12 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep -c .)"
check "modbus: 1 kept, 0 added, 0 changed, 0 removed" \
    grep -q "modbus: reconfigured: 1 device(s) kept, 0 added, 0 changed, 0 removed" "$T/agent.log"
wait_until 10 "meter-mb publishes with its new rack tag" grep -q "$(power_of "$HALL" meter-mb).*rack=m02" "$T/mqtt.log"
assert_eq "meter-mb kept its Modbus connection (same local port)" "$mb_before" "$(mb_conn)"
check "meter-mb's health point carries its error counters, no reconnect" \
    grep -q "^evalley/$SITE/$HALL/meter-mb/evmon .*exceptions=0.*timeouts=0.*reconnects=0" "$T/mqtt.log"

# ---- a bad file: logged with FILE:LINE, the running config kept ----
printf 'agent: {id: reload-agent, site: %s, hall: %s, interval: 1s}\nsnmp: {retrys: 2}\n' "$SITE" "$HALL" \
    >"$T/evmon.yaml"
kill -HUP "$AGENT_PID"
wait_until 10 "a bad file is rejected" grep -q "still running the previous configuration" "$T/agent.log"
check "its problem is logged as FILE:LINE" grep -q "reload: $T/evmon.yaml:2: snmp: unknown key 'retrys'" \
    "$T/agent.log"
apc=$(count "$(power_of "$HALL" pdu-apc)" "$T/mqtt.log")
wait_until 10 "polling goes on under the old config" at_least "$(power_of "$HALL" pdu-apc)" "$T/mqtt.log" $((apc + 2))

# ---- a new hall: refused ----
config hall2 "$APC_B" >"$T/evmon.yaml"
kill -HUP "$AGENT_PID"
wait_until 10 "a changed hall is refused" grep -q "agent.hall changed from '$HALL' to 'hall2'" "$T/agent.log"
apc=$(count "$(power_of "$HALL" pdu-apc)" "$T/mqtt.log")
wait_until 10 "still publishing under hall $HALL" at_least "$(power_of "$HALL" pdu-apc)" "$T/mqtt.log" $((apc + 1))
check "kill -0: the agent is still running" kill -0 "$AGENT_PID"

# ---- secrets never printed ----
assert_eq "the community (from a file) is not in the agent's log" 0 "$(count "$COMMUNITY" "$T/agent.log")"
assert_eq "the MQTT password (from the environment) is not in the agent's log" 0 "$(count "$MQTT_PW" "$T/agent.log")"
out=$("$EVMON" check -c "$T/evmon.yaml" 2>&1)
assert_contains "check accepts the hall2 file" "$out" "ok: 1 device"
assert_eq "nor in evmon check output" "" "$(printf '%s' "$out" | grep -e "$COMMUNITY" -e "$MQTT_PW")"

# ---- SIGTERM ----
kill -TERM "$AGENT_PID"
gone() { ! kill -0 "$AGENT_PID" 2>/dev/null; }
wait_until 15 "agent exits after SIGTERM" gone
rc=0
wait "$AGENT_PID" || rc=$?
assert_eq "exit 0" 0 "$rc"
check "STOPPING=1 on the notify socket" grep -q "^STOPPING=1" "$T/notify.txt"

finish
