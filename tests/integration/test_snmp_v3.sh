#!/usr/bin/env bash
# test_snmp_v3.sh - SNMPv3 against Debian's real snmpd (the APC walk served
# through pass_persist): authPriv SHA-256/AES reads the right values, every
# auth/priv protocol pair works, and in one `evmon once` a wrong auth
# password, a wrong priv password and a silent v3 address each get a clear
# error of their own while the good v3 device and a v2c device report, the
# whole run taking about one timeout (engine discovery never blocks).
. tests/lib/common.sh
. tests/lib/snmp.sh

EVMON=${EVMON:-build/evmon}
REC=$PWD/tests/fixtures/snmp/apc-ap8853.snmprec
U=evmon AP=authpass-good PP=privpass-good

PA=$(free_port)
start_snmpd_v3 "$PA" "$U" "$AP" "$PP" "$REC" snmpd-good
PB=$(free_port)
start_snmpd_v3 "$PB" "$U" "other-auth-pass" "other-priv-pass" "$REC" snmpd-badauth
PC=$(free_port)
start_snmpd_v3 "$PC" "$U" "$AP" "other-priv-pass" "$REC" snmpd-badpriv
PS=$(free_port)
start_snmpsim tests/fixtures/snmp "127.0.0.1:$PS"
start_silent_udp
SILENT=$SILENT_EP

value_of() {
    printf '%s\n' "$1" | awk -v m="$2" '
        $1 == m { for (i = 3; i <= NF; i++) if ($i ~ /^\(.*\)$/) { print $(i + 1); exit } }'
}

# --- probe over SNMPv3 authPriv ---
out=$("$EVMON" probe --profile apc-rpdu2 -v 3 -u "$U" -l authPriv -a SHA-256 -A "$AP" -x AES -X "$PP" \
    --timeout 1000 "127.0.0.1:$PA" 2>&1)
assert_eq "v3 authPriv probe exits 0" 0 "$?"
assert_near "v3: APC active power 1140 W" 1140 "$(value_of "$out" device_power)"
assert_near "v3: APC energy 3512800 Wh" 3512800 "$(value_of "$out" device_energy)"
assert_contains "v3 probe shows the engine discovery request" "$out" "discovery"

out=$("$EVMON" probe --profile apc-rpdu2 -v 3 -u "$U" -a MD5 -A "$AP" -x AES -X "$PP" \
    --timeout 1000 "127.0.0.1:$PA" 2>&1)
assert_eq "wrong auth protocol exits 1" 1 "$?"
assert_contains "wrong auth protocol is an authentication failure" "$out" \
    "SNMPv3 authentication failure for user '$U' (wrong password or auth protocol?)"
out=$("$EVMON" probe --profile apc-rpdu2 -v 3 -u nobody -a SHA-256 -A "$AP" -x AES -X "$PP" \
    --timeout 1000 "127.0.0.1:$PA" 2>&1)
assert_contains "unknown user is named" "$out" "unknown user 'nobody'"

# --- every auth and priv protocol ---
for combo in MD5:DES SHA:AES SHA-224:AES-192 SHA-384:AES-256 SHA-512:AES-256; do
    a=${combo%:*} x=${combo#*:}
    p=$(free_port)
    SNMPD_AUTH=$a SNMPD_PRIV=$x start_snmpd_v3 "$p" "$U" "$AP" "$PP" "$REC" "snmpd-$a-$x"
    out=$("$EVMON" probe --profile apc-rpdu2 -v 3 -u "$U" -a "$a" -A "$AP" -x "$x" -X "$PP" \
        --timeout 1000 "127.0.0.1:$p" 2>&1)
    assert_near "v3 $a/$x: APC active power 1140 W" 1140 "$(value_of "$out" device_power)"
    stop_spawned "$SNMPD_PID"
done

# --- once: good v3, wrong auth password, wrong priv password, silent v3, v2c ---
cat >"$T/v3.yaml" <<EOF
agent:
  id: test-v3
  site: cambrai
  hall: h1
  profiles_dir: $PWD/config/profiles
snmp:
  version: 3
  user: $U
  auth_protocol: SHA-256
  auth_password: $AP
  priv_protocol: AES
  priv_password: $PP
  timeout: 1s
  retries: 1
devices:
  - name: v3-silent
    profile: apc-rpdu2
    address: $SILENT
  - name: v3-good
    profile: apc-rpdu2
    address: 127.0.0.1:$PA
  - name: v3-badauth
    profile: apc-rpdu2
    address: 127.0.0.1:$PB
  - name: v3-badpriv
    profile: apc-rpdu2
    address: 127.0.0.1:$PC
  - name: v2c-sentry
    profile: servertech-sentry4
    address: 127.0.0.1:$PS
    snmp: {version: 2c, community: servertech-sentry4}
EOF
t0=$(ev_now_ms)
"$EVMON" once -v -c "$T/v3.yaml" >"$T/v3.out" 2>"$T/v3.err"
rc=$?
elapsed=$(($(ev_now_ms) - t0))
err=$(cat "$T/v3.err")
assert_eq "once exits 1 (some v3 devices fail)" 1 "$rc"
assert_contains "good v3 device reports" "$(grep 'device=v3-good' "$T/v3.out" | grep phase=total)" \
    "active_power_w=1140"
assert_contains "v2c device reports alongside" "$(grep 'device=v2c-sentry' "$T/v3.out" | grep phase=total)" \
    "active_power_w=1701"
assert_contains "wrong auth password: clear per-device error" "$err" \
    "device 'v3-badauth' (127.0.0.1:$PB): SNMPv3 authentication failure for user '$U' (wrong password or auth protocol?)"
assert_contains "wrong priv password: clear per-device error" "$err" \
    "device 'v3-badpriv' (127.0.0.1:$PC): timeout after 2 tries (1000 ms each) on GETBULK: the device answered SNMPv3 discovery but not the encrypted request (wrong priv password or priv protocol?)"
assert_contains "silent v3 device: timeout during discovery" "$err" \
    "device 'v3-silent' ($SILENT): timeout after 2 tries (1000 ms each) during SNMPv3 engine ID discovery"
check "no points from failed devices" bash -c "! grep -Eq 'device=v3-(bad|silent)' '$T/v3.out'"
check "whole run about one timeout (${elapsed} ms), not one per device" \
    test "$elapsed" -ge 1900 -a "$elapsed" -lt 4500
# The silent v3 device is first in the file and its engine discovery never
# answers: the v2c device and the good v3 device are not held up by it.
for d in v2c-sentry v3-good; do
    ms=$(sed -n "s/.*device '$d' ([^)]*): ok in \([0-9.]*\) ms.*/\1/p" "$T/v3.err")
    check "$d done in ${ms:-?} ms, not after the silent device's timeout" \
        awk -v ms="${ms:-99999}" 'BEGIN { exit !(ms < 900) }'
done

# --- two devices reporting one engine ID with different credentials ---
cat >"$T/dup.yaml" <<EOF
agent: {id: test-dup, site: cambrai, hall: h1, profiles_dir: $PWD/config/profiles}
snmp: {version: 3, user: $U, auth_protocol: SHA-256, priv_protocol: AES, timeout: 1s, retries: 0}
devices:
  - {name: dup-a, profile: apc-rpdu2, address: "127.0.0.1:$PA", snmp: {auth_password: $AP, priv_password: $PP}}
  - {name: dup-b, profile: apc-rpdu2, address: "127.0.0.1:$PA", snmp: {auth_password: not-the-password, priv_password: $PP}}
EOF
"$EVMON" once -c "$T/dup.yaml" >/dev/null 2>"$T/dup.err"
assert_contains "same engine ID and user with other credentials is named" "$(cat "$T/dup.err")" \
    "is already in use by another device with different credentials"

finish
