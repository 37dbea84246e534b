# tests/lib/fixture_fleet.sh - a small hall of simulated devices from the
# recorded walks, for tests that need a realistic, known fleet (dashboards,
# HTTP API, the live page).
#
# `. tests/lib/fixture_fleet.sh` (after common.sh and snmp.sh) gives:
#   start_fixture_fleet [WALKDIR]
#       snmpsim serving every WALKDIR/*.snmprec (default tests/fixtures/snmp;
#       scripts/demo-fleet.sh makes copies whose values move) on one loopback
#       port (community = walk name), plus a silent UDP endpoint (a device
#       that never answers), and writes $T/fleet-devices.yaml: the devices:
#       section of an agent config, one device per walk with its profile,
#       row/rack/feed tags and a role (the UPS is facility, the rest IT),
#       and `pdu-silent` at the silent endpoint. Sets FLEET_PORT.
#   fixture_fleet_topology
#       prints a `topology:` section that fits the fleet (rows row1/row2,
#       racks r01..r04, feeds A/B), so the energy model publishes pue and
#       headroom points.
# The values each device reads are those in tests/fixtures/snmp/README.md
# (e.g. pdu-apc: 1140 W total). Names below are the tests' contract.

[ -n "${EV_LIB_DIR:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# name|walk|profile|role|row|rack|feed
EV_FLEET=(
    "pdu-apc|apc-ap8853|apc-rpdu2|it|row1|r01|A"
    "pdu-sentry|servertech-sentry4|servertech-sentry4|it|row1|r01|B"
    "pdu-geist|vertiv-geist-mn03edr1|vertiv-geist-v5|it|row1|r02|A"
    "pdu-raritan|raritan-px3|raritan-pdu2|it|row1|r02|B"
    "pdu-eaton|eaton-epdu|eaton-epdu|it|row2|r03|A"
    "sensor-r03|entity-sensor|entity-sensor|it|row2|r03|B"
    "ups-1|ups-mib|ups-mib|facility|||"
)

start_fixture_fleet() {
    local walks=${1:-tests/fixtures/snmp} line name walk profile role row rack feed extra
    FLEET_PORT=$(free_port)
    start_snmpsim "$walks" "127.0.0.1:$FLEET_PORT"
    start_silent_udp
    {
        echo "devices:"
        for line in "${EV_FLEET[@]}"; do
            IFS='|' read -r name walk profile role row rack feed <<<"$line"
            extra=""
            [ -z "$row" ] || extra="$extra, row: $row"
            [ -z "$rack" ] || extra="$extra, rack: $rack"
            [ -z "$feed" ] || extra="$extra, feed: $feed"
            echo "  - {name: $name, profile: $profile, address: \"127.0.0.1:$FLEET_PORT\", role: $role$extra, snmp: {community: $walk}}"
        done
        echo "  - {name: pdu-silent, profile: apc-rpdu2, address: \"$SILENT_EP\", role: it, row: row2, rack: r04, feed: A, snmp: {timeout: 300ms, retries: 0}}"
    } >"$T/fleet-devices.yaml"
    export FLEET_PORT
}

fixture_fleet_topology() {
    local ab='[{name: A, breaker: 32, voltage: 400, phases: 3}, {name: B, breaker: 32, voltage: 400, phases: 3}]'
    cat <<EOF
topology:
  hall: {capacity: 200kW, redundancy: N}
  rows:
    - name: row1
      capacity: 50kW
      racks:
        - {name: r01, feeds: $ab}
        - {name: r02, feeds: $ab}
    - name: row2
      capacity: 50kW
      racks:
        - {name: r03, feeds: $ab}
        - {name: r04, feeds: [{name: A, breaker: 16, voltage: 230, phases: 1}]}
EOF
}
