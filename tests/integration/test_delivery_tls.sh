#!/usr/bin/env bash
# test_delivery_tls.sh - the outputs over TLS with CA verification, against a
# CA and server certificate made here with openssl (tests/lib/tls.sh):
#   - MQTT to mosquitto's TLS listener with username/password: the right CA
#     and password deliver every point; the wrong CA fails with OpenSSL's
#     reason in the log; a wrong password fails with "bad user name or
#     password" in the log; no point is acknowledged in either case;
#   - InfluxDB over https: the right CA delivers every point; without it
#     (the system's CAs do not know ours) the certificate problem is logged
#     and nothing is sent;
#   - the hub over both: ssl:// with the CA and password, https to the store.
. tests/lib/common.sh
. tests/lib/tls.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh

EVMON=${EVMON:-build/evmon}
OUTSEND=${OUTSEND:-$(dirname "$EVMON")/tools/outsend}
wait_until 1 "$OUTSEND is built (make all)" test -x "$OUTSEND"

check "openssl makes a CA and a server certificate" make_test_ca "$T/ca"
CA=$T/ca/ca.pem

# ---- MQTT over TLS, username and password --------------------------------------
mosquitto_passwd -b -c "$T/passwd" evagent 's3cret-pw' >/dev/null 2>&1
chmod 644 "$T/passwd"
MQTT_TLS_CA=$CA MQTT_TLS_CERT=$T/ca/server.pem MQTT_TLS_KEY=$T/ca/server.key MQTT_PASSWD_FILE=$T/passwd \
    start_mosquitto tls-broker
assert_contains "the broker speaks TLS" "$MQTT_URL" "ssl://127.0.0.1:"

OUT=$("$OUTSEND" mqtt "$MQTT_URL" --ca-file "$CA" --user evagent --password 's3cret-pw' --agent-id tls1 \
    --devices 2 --points 5 --flush-ms 15000 2>"$T/mqtt-good.log")
assert_eq "right CA and password: every point acknowledged" "in=10 sent=10 dropped=0 queued=0 errors=0" "$OUT"
check "the password is not in the log" sh -c "! grep -q 's3cret-pw' '$T/mqtt-good.log'"

OUT=$("$OUTSEND" mqtt "$MQTT_URL" --ca-file "$T/ca/other-ca.pem" --user evagent --password 's3cret-pw' \
    --agent-id tls2 --devices 1 --points 3 --flush-ms 3000 2>"$T/mqtt-badca.log")
assert_contains "wrong CA: nothing acknowledged" "$OUT" "in=3 sent=0 "
check "wrong CA: the reason is logged (certificate verify failed)" grep -qi "certificate verify failed" "$T/mqtt-badca.log"

OUT=$("$OUTSEND" mqtt "$MQTT_URL" --ca-file "$CA" --user evagent --password 'wrong' --agent-id tls3 \
    --devices 1 --points 3 --flush-ms 3000 2>"$T/mqtt-badpw.log")
assert_contains "wrong password: nothing acknowledged" "$OUT" "in=3 sent=0 "
check "wrong password: the reason is logged" grep -q "bad user name or password\|not authorised" "$T/mqtt-badpw.log"
check "the broker saw the bad password" grep -qi "not authori[sz]ed\|bad user\|password" "$T/tls-broker.log"

# ---- InfluxDB over https ----------------------------------------------------------
INFLUX_TLS_CERT=$T/ca/server.pem INFLUX_TLS_KEY=$T/ca/server.key INFLUX_TLS_CA=$CA start_influxd
export INFLUX_TLS_CA=$CA
assert_contains "influxd speaks https" "$INFLUX_URL" "https://127.0.0.1:"
influx_create_db tls
OUT=$("$OUTSEND" influx "$INFLUX_URL" --db tls --ca-file "$CA" --devices 2 --points 10 2>"$T/influx-good.log")
assert_eq "https with the right CA: all sent" "in=20 sent=20 dropped=0 queued=0 errors=0" "$OUT"
assert_eq "InfluxDB holds them" 20 "$(influx_rows tls "SELECT count(energy_wh) FROM power" | cut -f2)"
OUT=$("$OUTSEND" influx "$INFLUX_URL" --db tls --devices 1 --points 2 --flush-ms 1500 2>"$T/influx-noca.log")
assert_contains "https with an unknown CA: nothing sent" "$OUT" "in=2 sent=0 "
check "the certificate problem is logged" grep -qi "certificate" "$T/influx-noca.log"

# ---- the hub over TLS: the same connection code as the agent's output --------------
cat >"$T/hub.yaml" <<EOF
hub:
  id: tlshub
mqtt:
  url: $MQTT_URL
  username: evagent
  password: s3cret-pw
  ca_file: $CA
influxdb:
  url: $INFLUX_URL
  database: tls
  ca_file: $CA
EOF
chmod 600 "$T/hub.yaml"
spawn hub "$EVMON" hub -c "$T/hub.yaml"
hub_online() {
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" --cafile "$CA" -u evagent -P 's3cret-pw' \
        -t evalley/hubs/tlshub/status -C 1 -W 2 2>/dev/null | grep -qx online
}
wait_until 20 "the hub connects over TLS and says online" hub_online
check "the hub's password is not in its log" sh -c "! grep -q 's3cret-pw' '$T/hub.log'"

finish
