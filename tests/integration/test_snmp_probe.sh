#!/usr/bin/env bash
# test_snmp_probe.sh - `evmon probe` reads the recorded PDU walks served by
# snmpsim and gives the values a correct reading gives (fixtures/README.md);
# v1 (GETNEXT) and tiny GETBULKs give the same values; a silent address is
# a clean timeout; usage errors exit 2.
. tests/lib/common.sh
. tests/lib/snmp.sh

EVMON=${EVMON:-build/evmon}
PORT=$(free_port)
EP=127.0.0.1:$PORT
start_snmpsim tests/fixtures/snmp "$EP"

# value_of OUTPUT METRIC [TEXT]: the VALUE column of the first table row of
# METRIC that contains TEXT. Rows are METRIC OID RAW (TYPE) VALUE POINT...,
# so VALUE is the word after "(Type)".
value_of() {
    printf '%s\n' "$1" | awk -v m="$2" -v t="${3:-}" '
        $1 == m && index($0, t) { for (i = 3; i <= NF; i++) if ($i ~ /^\(.*\)$/) { print $(i + 1); exit } }'
}

probe() { "$EVMON" probe --timeout 1000 --retries 1 "$@"; }

# --- APC AP8853 (rPDU2) ---
out=$(probe --profile apc-rpdu2 -c apc-ap8853 "$EP" 2>&1)
rc=$?
assert_eq "probe APC exits 0" 0 "$rc"
assert_near "APC device active power 1140 W" 1140 "$(value_of "$out" device_power)"
assert_near "APC device energy 3512800 Wh (35128 tenths of kWh)" 3512800 "$(value_of "$out" device_energy)"
assert_near "APC phase L1 current 4.9 A" 4.9 "$(value_of "$out" phase_current phase=L1)"
assert_near "APC power factor 0.96" 0.96 "$(value_of "$out" device_power_factor)"
assert_contains "APC raw value and type shown" "$out" "35128 (Integer32)"
assert_contains "APC absent temperature probe is a sentinel, not a value" "$out" "sentinel -1"
assert_contains "APC request timing listed" "$out" "GETBULK"

# --- ServerTech Sentry4 ---
out=$(probe --profile servertech-sentry4 -c servertech-sentry4 "$EP" 2>&1)
assert_eq "probe Sentry4 exits 0" 0 "$?"
assert_near "Sentry4 cord active power 1701 W" 1701 "$(value_of "$out" cord_power)"
assert_near "Sentry4 cord energy 893700 Wh" 893700 "$(value_of "$out" cord_energy)"
assert_near "Sentry4 L2 current 3.69 A" 3.69 "$(value_of "$out" line_current phase=L2)"
assert_contains "Sentry4 -410 temperature is no value" "$out" "sentinel -410"

# --- Vertiv/Geist MN03EDR1 ---
out=$(probe --profile vertiv-geist-v5 -c vertiv-geist-mn03edr1 "$EP" 2>&1)
assert_eq "probe Geist exits 0" 0 "$?"
assert_near "Geist first phase real power 1434 W" 1434 "$(value_of "$out" phase_power)"
assert_contains "Geist Gauge32 type shown" "$out" "(Gauge32)"

# --- the same APC values over SNMPv1 (GETNEXT) and with 1-row GETBULKs ---
out=$(probe --profile apc-rpdu2 -v 1 -c apc-ap8853 "$EP" 2>&1)
assert_eq "probe APC over v1 exits 0" 0 "$?"
assert_near "v1: APC active power 1140 W" 1140 "$(value_of "$out" device_power)"
assert_contains "v1 walks with GETNEXT" "$out" "GETNEXT"
out=$(probe --profile apc-rpdu2 -R 1 -c apc-ap8853 "$EP" 2>&1)
assert_near "max-repetitions 1: APC energy 3512800 Wh" 3512800 "$(value_of "$out" device_energy)"
nreq=$(printf '%s\n' "$out" | grep -c ' GETBULK ')
check "max-repetitions 1 takes several GETBULKs (got $nreq)" test "$nreq" -gt 1

# --- wrong community on snmpsim: silence, reported as a timeout ---
t0=$(ev_now_ms)
out=$("$EVMON" probe --profile apc-rpdu2 -c nosuchcommunity --timeout 300 --retries 1 "$EP" 2>&1)
rc=$?
t1=$(ev_now_ms)
assert_eq "probe with a wrong community exits 1" 1 "$rc"
assert_contains "timeout names tries and per-try time" "$out" "timeout after 2 tries (300 ms each)"
check "timeout took about 2 x 300 ms ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 550 -a $((t1 - t0)) -lt 3000

# --- usage ---
check "probe --help exits 0" "$EVMON" probe --help
out=$("$EVMON" probe --profile no-such-profile "$EP" 2>&1)
assert_eq "unknown profile exits 2" 2 "$?"
assert_contains "unknown profile is named, known ones listed" "$out" "no profile named 'no-such-profile'"
assert_contains "known profiles listed" "$out" "apc-rpdu2"
"$EVMON" probe "$EP" >/dev/null 2>&1
assert_eq "missing --profile exits 2" 2 "$?"
"$EVMON" probe --profile apc-rpdu2 -v 3 "$EP" >/dev/null 2>&1
assert_eq "v3 without a user exits 2" 2 "$?"

finish
