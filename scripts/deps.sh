#!/usr/bin/env bash
# scripts/deps.sh - install the Debian 12 packages evmon's build, tests and
# demo need (make deps; run by make check and make demo).
#
# Installs only what `dpkg-query` does not already find, running
# `apt-get update` once and only when something is missing. Runs as root, or
# through sudo otherwise. Installing mosquitto, influxdb and snmpd can start
# their system services on the default ports: those are kept from starting
# (policy-rc.d) or stopped and disabled afterwards. Nothing in evmon depends
# on them: tests and the demo start their own servers on free loopback ports.
set -euo pipefail

PKGS=(
    gcc make pkg-config                      # build
    libsnmp-dev libcurl4-openssl-dev libpaho-mqtt-dev libyaml-dev zlib1g-dev
    libcmocka-dev valgrind                   # unit tests
    mosquitto mosquitto-clients              # MQTT broker and clients (tests, demo)
    influxdb influxdb-client                 # InfluxDB 1.x (tests, demo)
    snmpsim snmpd snmp                       # SNMP simulator, agent, tools
    libmodbus-dev python3-pymodbus python3-serial python3-serial-asyncio socat  # Modbus RTU, simulators, pty pairs
    curl python3                             # test harness helpers
    openssl                                  # TLS tests: a throwaway CA and server certificate
    libjson-c-dev prometheus-alertmanager    # alerts: state file, webhook JSON; Alertmanager (tests)
    libsystemd-dev                           # sd_notify: READY, STATUS, WATCHDOG
    systemd man-db groff-base                # systemd-analyze security, man -l (install test)
    clang libclang-rt-14-dev                 # libFuzzer targets (make fuzz)
    libmicrohttpd-dev xxd                    # built-in HTTP server; page embedded at build time
    chromium prometheus                      # page test (headless), promtool check metrics
)
SERVICES=(mosquitto influxdb snmpd prometheus-alertmanager prometheus)
# `scripts/deps.sh bench` (make bench): the peers the fleet benchmark compares evmon with.
if [ "${1:-}" = bench ]; then
    PKGS=(collectd-core prometheus-snmp-exporter prometheus mosquitto-clients)
    SERVICES=(collectd prometheus-snmp-exporter prometheus)
fi

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${PKGS[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#PKGS[@]} packages present"
    exit 0
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# Keep the packages' services from starting during the install, unless the
# machine already has a policy (containers often do).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    "${SUDO[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"
    trap '"${SUDO[@]}" rm -f "$policy"' EXIT
fi

echo "deps: installing ${missing[*]}"
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

# Stop and disable the system services if they started anyway.
for s in "${SERVICES[@]}"; do
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        "${SUDO[@]}" systemctl disable --now "$s" >/dev/null 2>&1 || true
    elif command -v service >/dev/null; then
        "${SUDO[@]}" service "$s" stop >/dev/null 2>&1 || true
    fi
done
echo "deps: done"
