#!/usr/bin/env bash
# test_modbus_profiles.sh - every Modbus profile against someone else's
# server: pymodbus 3.0 serves the profile's register image
# (tests/fixtures/modbus/<profile>.image, encoded by Python's struct), one
# `evmon once` reads all seven devices at once, and every value in
# <profile>.expect comes out in the line protocol, with the device's tags;
# sentinels, NaN and "not implemented" scale factors give no value.
. tests/lib/common.sh
. tests/lib/modbus.sh

EVMON=${EVMON:-build/evmon}
FIX=tests/fixtures/modbus
profiles=(schneider-pm5xxx janitza-umg96rm carlo-gavazzi-em24 socomec-countis-e3x sunspec-meter-203
          vertiv-liebert-dcd liebert-icom-crah)

{
    echo "agent: {id: test-modbus, site: cambrai, hall: h1, profiles_dir: $PWD/config/profiles}"
    echo "devices:"
} >"$T/hall.yaml"
for p in "${profiles[@]}"; do
    start_pymodbus "pymodbus-$p" "$FIX/$p.image"
    role=facility
    [[ $p == vertiv* || $p == liebert* ]] && role=cooling
    echo "  - {name: $p, profile: $p, address: \"$PYMODBUS_EP\", role: $role, row: r01}" >>"$T/hall.yaml"
done

"$EVMON" once -c "$T/hall.yaml" >"$T/once.out" 2>"$T/once.err"
assert_eq "once exits 0 with every device answering" 0 "$?"
assert_eq "nothing on stderr" "" "$(cat "$T/once.err")"

# The value of FIELD on the line of device DEV carrying every tag of TAGS.
value_of() {
    local dev=$1 tags=$2 field=$3
    awk -v dev="device=$dev" -v tags="$tags" -v field="$field" '
        { split($1, t, ","); ok = 0
          for (i in t) if (t[i] == dev) ok = 1
          if (!ok) next
          if (tags != "-") { n = split(tags, want, ","); for (j = 1; j <= n; j++) {
              found = 0; for (i in t) if (t[i] == want[j]) found = 1
              if (!found) next } }
          n = split($2, f, ",")
          for (i = 1; i <= n; i++) { split(f[i], kv, "="); if (kv[1] == field) { print kv[2]; exit } } }' "$T/once.out"
}

for p in "${profiles[@]}"; do
    while read -r a b c d; do
        [ -n "$a" ] || continue
        if [ "$a" = absent ]; then
            assert_eq "$p: no $c for $b (no value)" "" "$(value_of "$p" "$b" "$c")"
        else
            assert_near "$p: $b $b $c" "$c" "$(value_of "$p" "$a" "$b")"
        fi
    done <"$FIX/$p.expect"
done

meter=$(grep 'device=schneider-pm5xxx' "$T/once.out" | grep 'phase=total')
for tag in site=cambrai hall=h1 row=r01 role=facility; do
    assert_contains "meter point tagged $tag" "$meter" "$tag"
done
check "cooling units write the cooling measurement" grep -q '^cooling,.*device=vertiv-liebert-dcd.*role=cooling' "$T/once.out"
check "every line has a nanosecond timestamp" \
    awk 'NF < 3 || length($NF) != 19 || $NF !~ /^[0-9]+$/ { exit 1 }' "$T/once.out"

# probe shows raw registers, decoded and scaled values and the plan.
"$EVMON" probe --profile sunspec-meter-203 "$(sed -n 's/.*name: sunspec-meter-203.*address: "\([^"]*\)".*/\1/p' "$T/hall.yaml")" \
    >"$T/probe.out" 2>&1
assert_eq "probe exits 0" 0 "$?"
probe=$(cat "$T/probe.out")
assert_contains "probe names transport and unit" "$probe" "Modbus TCP unit 1: ok"
assert_contains "probe shows the raw register and its image" "$probe" "1234 (0x04d2)"
assert_contains "probe shows the scaled value" "$probe" "12.34  power current_a phase=L1"
assert_contains "probe says why a value is missing" "$probe" "no value: sentinel -32768 (no sensor)"
assert_contains "probe shows the merged request plan" "$probe" "FC3   40072 x52, 24 values"
finish
