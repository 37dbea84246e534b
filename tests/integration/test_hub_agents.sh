#!/usr/bin/env bash
# test_hub_agents.sh - the whole chain of issue 4: two real agents, each
# polling simulated meters of known constant power (snmpsim) for its hall,
# one hub, mosquitto and influxd.
#   hall h1 (agent a1, site s1): facility 1.5 MW, IT 2 x 0.6 MW -> PUE 1.25
#   hall h2 (agent a2, site s2): facility 0.8 MW, IT 0.5 MW     -> PUE 1.6
# Read back from InfluxDB, to 3 significant digits: each site's PUE; the
# cluster's, energy-weighted from the same roll-up's site energies (the
# halls' windows are as long as each agent has run, so the exact ratio is
# (1.5 t1 + 0.8 t2) / (1.2 t1 + 0.5 t2), ~1.353, never the 1.425 average);
# the cluster peak at facility level 1.2 MW x 1.25 + 0.5 MW x 1.6 = 2.3 MW
# and its headroom against a 5 MW target. Then agent a2 is killed (-9): its
# last will says "offline" and the cluster coverage drops from 5/5 meters
# to 3/5, one hall of two reporting.
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh
. tests/lib/snmp.sh

EVMON=${EVMON:-build/evmon}
DB=evmon
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"

mkdir -p "$T/walks"
cp tests/fixtures/energy/snmp/fac.snmprec tests/fixtures/energy/snmp/ups1.snmprec \
    tests/fixtures/energy/snmp/ups2.snmprec tests/fixtures/hub/snmp/*.snmprec "$T/walks/"
SNMP_PORT=$(free_port)
start_snmpsim "$T/walks" "127.0.0.1:$SNMP_PORT"
start_mosquitto
start_influxd
influx_create_db "$DB"
EP="127.0.0.1:$SNMP_PORT"

agent_config() { # ID SITE HALL DEVICES...
    local id=$1 site=$2 hall=$3
    shift 3
    printf '%s\n' \
        "agent: {id: $id, site: $site, hall: $hall, interval: 1s, profiles_dir: $PWD/tests/fixtures/energy/profiles}" \
        "snmp: {version: 2c, timeout: 500ms, retries: 0}" \
        "outputs:" \
        "  mqtt: {url: $MQTT_URL}" \
        "topology:" \
        "  hall: {capacity: 3MW, it_category: 1}" \
        "  state_file: $T/$id.state" \
        "devices:" "$@" >"$T/$id.yaml"
}
agent_config a1 s1 h1 \
    "  - {name: util1, profile: test-meter, address: \"$EP\", role: facility, snmp: {community: fac}}" \
    "  - {name: ups1, profile: test-meter, address: \"$EP\", role: it, category: 1, snmp: {community: ups1}}" \
    "  - {name: ups2, profile: test-meter, address: \"$EP\", role: it, category: 1, snmp: {community: ups2}}"
agent_config a2 s2 h2 \
    "  - {name: util2, profile: test-meter, address: \"$EP\", role: facility, snmp: {community: fac2}}" \
    "  - {name: ups9, profile: test-meter, address: \"$EP\", role: it, category: 1, snmp: {community: it2}}"
cat >"$T/hub.yaml" <<CONF
hub: {id: hub-1, interval: 1s, stale_after: 30s}
mqtt: {url: $MQTT_URL}
influxdb: {url: $INFLUX_URL, database: $DB}
cluster: {name: hdf, target: 5MW}
sites:
  - {name: s1, grid_capacity: 2MW, halls: [h1]}
  - {name: s2, grid_capacity: 1MW, halls: [h2]}
CONF
for f in a1 a2 hub; do
    check "evmon check accepts $f.yaml" "$EVMON" check -c "$T/$f.yaml"
done

spawn hub "$EVMON" hub -c "$T/hub.yaml"
spawn a1 "$EVMON" agent -c "$T/a1.yaml"
spawn a2 "$EVMON" agent -c "$T/a2.yaml"
A2_PID=$SPAWNED_PID

# FIELDS of the newest point matching WHERE, tab-separated (time first).
newest() { influx_rows "$DB" "SELECT $2 FROM \"$1\" WHERE $3 ORDER BY time DESC LIMIT 1"; }
sig3() { awk -v v="$1" 'BEGIN { printf "%.3g", v }'; }
CL="scope = 'cluster' AND \"window\" = '15m'"
# a roll-up of both halls with enough energy in that a few ms of polling
# jitter and whole-Wh counters stay well below the third digit (~20 s)
ready() {
    local row
    row=$(newest pue "halls_reporting, it_energy_wh" "$CL") || return 1
    [ "$(cut -f2 <<<"$row")" = 2 ] && awk -v v="$(cut -f3 <<<"$row")" 'BEGIN { exit !(v > 10000) }'
}
wait_until 90 "the hub rolls up both halls' energy" ready

ts=$(INFLUX_EPOCH=ns newest pue halls_reporting "$CL" | cut -f1)
at() { influx_rows "$DB" "SELECT $2 FROM pue WHERE $1 AND \"window\" = '15m' AND time = $ts" | cut -f2-; }
read -r F I P <<<"$(at "scope = 'cluster'" "facility_energy_wh, it_energy_wh, pue")"
read -r F1 I1 P1 <<<"$(at "scope = 'site' AND site = 's1'" "facility_energy_wh, it_energy_wh, pue")"
read -r F2 I2 P2 <<<"$(at "scope = 'site' AND site = 's2'" "facility_energy_wh, it_energy_wh, pue")"
echo "    roll-up at $ts: s1 $F1/$I1 Wh, s2 $F2/$I2 Wh, cluster PUE $P"
assert_near "site s1 PUE from its agent's counters: 1.5/1.2 = 1.25" 1.25 "$P1" 0.005
assert_near "site s2 PUE from its agent's counters: 0.8/0.5 = 1.6" 1.6 "$P2" 0.005
assert_near "cluster facility energy = the sites' sum (same roll-up)" "$(awk -v a="$F1" -v b="$F2" 'BEGIN { print a + b }')" "$F"
assert_near "cluster IT energy = the sites' sum" "$(awk -v a="$I1" -v b="$I2" 'BEGIN { print a + b }')" "$I"
assert_eq "cluster PUE is energy-weighted: (F1+F2)/(I1+I2), 3 significant digits" \
    "$(sig3 "$(awk -v a="$F1" -v b="$F2" -v c="$I1" -v d="$I2" 'BEGIN { print (a + b) / (c + d) }')")" "$(sig3 "$P")"
check "cluster PUE lies between the halls', near 1.353, far from the 1.425 average of ratios" \
    awk -v p="$P" 'BEGIN { exit !(p > 1.33 && p < 1.38) }'
assert_eq "cluster coverage: all 5 meters of both halls" 1 "$(newest pue coverage "$CL" | cut -f2)"

H="scope = 'cluster'"
peak_settled() { [ "$(sig3 "$(newest headroom peak_w "$H" | cut -f2)")" = 2.3e+06 ]; }
wait_until 20 "the cluster peak settles at 2.3 MW" peak_settled
assert_eq "cluster peak at facility level: 1.2 x 1.25 + 0.5 x 1.6 = 2.3 MW" 2.3e+06 \
    "$(sig3 "$(newest headroom peak_w "$H" | cut -f2)")"
assert_eq "cluster demand (facility power now): 1.5 + 0.8 = 2.3 MW" 2.3e+06 \
    "$(sig3 "$(newest headroom demand_w "$H" | cut -f2)")"
assert_eq "cluster headroom against the 5 MW target: 2.7 MW" 2.7e+06 \
    "$(sig3 "$(newest headroom headroom_w "$H" | cut -f2)")"
assert_eq "cluster headroom: 54 %" 54 "$(sig3 "$(newest headroom headroom_pct "$H" | cut -f2)")"
assert_eq "site s1 headroom against its 2 MW grid: 25 %" 25 \
    "$(sig3 "$(newest headroom headroom_pct "scope = 'site' AND site = 's1'" | cut -f2)")"

# ---- an agent dies: its last will, the coverage drops ----------------------------
kill -KILL "$A2_PID"
wait "$A2_PID" 2>/dev/null
one_hall() { [ "$(newest pue halls_reporting "$CL" | cut -f2)" = 1 ]; }
wait_until 30 "after kill -9 of a2, one hall of two reports" one_hall
assert_eq "cluster coverage drops to 3 of 5 meters" 0.6 "$(newest pue coverage "$CL" | cut -f2)"
assert_eq "the cluster roll-up is partial" True "$(newest pue partial "$CL" | cut -f2)"
assert_near "the cluster PUE is now hall h1's alone" 1.25 "$(newest pue pue "$CL" | cut -f2)" 0.005
check "the hub logged the agent going offline" grep -q "agent a2 is offline" "$T/hub.log"
finish
