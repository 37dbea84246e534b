#!/usr/bin/env bash
# tests/bench/run.sh - the fleet benchmark (make bench): one simulated fleet of APC rPDU2
# PDUs (tests/sim/snmpfleet, 45 values each), polled in turn, at the same interval, by
#   evmon          the agent, outputs on (MQTT to mosquitto, InfluxDB 1.x), every device
#   evmon-silent   the same with 5 % of the devices silent (their polls time out)
#   collectd       collectd 5.12's snmp plugin (tests/bench/collectd-data.conf), mqtt out
#   snmp_exporter  prometheus-snmp-exporter 0.21 (tests/bench/snmp.yml), scraped by
#                  Prometheus at the same interval (a target per device)
#   evmon-modbus   the agent, outputs on, polling a Modbus TCP fleet instead
#                  (tests/sim/modbusfleet): Schneider PM5xxx meters, 20 values each, every
#                  BENCH_MODBUS_INTERVAL
# and prints, per poller: CPU-seconds per 1,000 device-polls, values per CPU-second, peak
# RSS, device-polls done / expected, failed and late ones, and evmon's ratio against each.
# Only the poller's own process is measured (not the simulator, broker, store or Prometheus;
# their CPU is shown apart). Each poller gets one interval to settle, then BENCH_SECONDS.
#
# Environment: BENCH_DEVICES (10000, a multiple of 250), BENCH_SECONDS (60),
# BENCH_INTERVAL (10), BENCH_SILENT (5, percent), BENCH_MODBUS_DEVICES (2000; up to 250 or a
# multiple of 250), BENCH_MODBUS_INTERVAL (5), BENCH_PEERS (which to run, default all five, e.g.
# "evmon collectd"), EVMON, SNMPFLEET, MODBUSFLEET (binaries). State and logs: BENCH_DIR
# (build/bench).
# Everything listens on loopback only: the SNMP fleet on 127.200.x.y, the Modbus fleet on
# 127.201.x.y, servers on 127.0.0.1.
set -u -o pipefail
cd "$(dirname "$0")/../.." || exit 2

N=${BENCH_DEVICES:-10000}
SECS=${BENCH_SECONDS:-60}
IV=${BENCH_INTERVAL:-10}
SILENT=${BENCH_SILENT:-5}
PEERS=${BENCH_PEERS:-evmon evmon-silent collectd snmp_exporter evmon-modbus}
MB_N=${BENCH_MODBUS_DEVICES:-2000}
MB_IV=${BENCH_MODBUS_INTERVAL:-5}
EVMON=$(realpath "${EVMON:-build/evmon}")
SIM=$(realpath "${SNMPFLEET:-build/sim/snmpfleet}")
MBSIM=$(realpath "${MODBUSFLEET:-build/sim/modbusfleet}")
VALUES=45 # per device: config/profiles/apc-rpdu2.yaml on tests/sim/walks/apc-rpdu2-3ph.snmprec
MB_VALUES=20 # per device: config/profiles/schneider-pm5xxx.yaml
[ $((N % 250)) = 0 ] && [ "$N" -gt 0 ] || { echo "bench: BENCH_DEVICES must be a multiple of 250" >&2; exit 2; }
[ "$MB_N" -gt 0 ] && { [ "$MB_N" -le 250 ] || [ $((MB_N % 250)) = 0 ]; } ||
    { echo "bench: BENCH_MODBUS_DEVICES must be 1..250 or a multiple of 250" >&2; exit 2; }

BENCH_DIR=${BENCH_DIR:-build/bench}
rm -rf "$BENCH_DIR"
EV_T_DIR=$BENCH_DIR
. tests/lib/common.sh
. tests/lib/mosquitto.sh
. tests/lib/influxd.sh
no_summary
ulimit -n "$(ulimit -Hn)" # thousands of sockets in the simulator and in each poller

BLOCKS=$((N / 250))
PORT=$(free_port)
ADDR_RANGE="127.200.[0-$((BLOCKS - 1))].[1-250]:$PORT"
RESULTS="$T/results.tsv"
: >"$RESULTS"

# ---- measuring ------------------------------------------------------------------

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null; }

# The fleet being polled: RUN_N devices every RUN_IV seconds (the SNMP fleet's unless the
# Modbus run says otherwise).
RUN_N=$N RUN_IV=$IV

# settle: let a poller start (sockets, sessions, connections) and run its first cycle.
settle() { sleep $((RUN_IV + 2)); }

# measure PID: settle, then CPU ticks over BENCH_SECONDS. Sets CPU_S, RSS_MB, T0/T1 (epoch
# seconds of the window). NO_SETTLE=1: the caller has settled already.
measure() {
    local pid=$1 c0 c1
    [ "${NO_SETTLE:-0}" = 1 ] || settle
    c0=$(cpu_ticks "$pid")
    T0=$(date +%s)
    sleep "$SECS" # the measurement window itself, not a wait for a condition
    c1=$(cpu_ticks "$pid")
    T1=$(date +%s)
    RSS_MB=$(peak_rss_mb "$pid")
    CPU_S=$(awk -v a="$c0" -v b="$c1" -v t="$ticks" 'BEGIN {printf "%.2f", (b - a) / t}')
}

# record NAME POLLS_DONE FAILED LATE VALUES [NOTE]
record() {
    local expected=$((RUN_N * SECS / RUN_IV))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$CPU_S" "$RSS_MB" "$expected" "$2" "$3" "$4" "$5" \
        "${6:-}" >>"$RESULTS"
    printf 'bench: %-14s cpu %6ss  rss %6s MB  polls %s/%s  failed %s  late %s  values %s %s\n' "$1" "$CPU_S" \
        "$RSS_MB" "$2" "$expected" "$3" "$4" "$5" "${6:-}"
}

# ---- the fleet --------------------------------------------------------------------

SIM_PID= sim_c0=0
if [ -n "$(printf '%s\n' $PEERS | grep -vx evmon-modbus)" ]; then # an SNMP peer runs
    echo "bench: $N simulated PDUs ($ADDR_RANGE), every ${IV}s, ${SECS}s measured per poller"
    spawn snmpfleet "$SIM" --walk tests/sim/walks/apc-rpdu2-3ph.snmprec --profile config/profiles/apc-rpdu2.yaml \
        --count "$N" --base 127.200.0.1 --port "$PORT" --silent "$SILENT" --faults-off --counter-rate 5
    SIM_PID=$SPAWNED_PID
    wait_until 60 "the simulator is ready" grep -q "ready:" "$T/snmpfleet.log"
    sim_c0=$(cpu_ticks "$SIM_PID")
fi

start_mosquitto
start_influxd
influx_create_db evmon

# ---- evmon ----------------------------------------------------------------------------

evmon_config() {
    cat >"$T/evmon.yaml" <<EOF
agent: {id: bench, site: evalley, hall: h1, interval: ${IV}s}
snmp: {community: public, timeout: 2s, retries: 1}
outputs:
  mqtt: {url: "$MQTT_URL", qos: 1}
  influxdb: {url: "$INFLUX_URL", database: evmon}
devices:
  - name: pdu-{1}-{2:03}
    address: $ADDR_RANGE
    profile: apc-rpdu2
    row: "{1}"
    rack: "R{1}-{2}"
EOF
    chmod 600 "$T/evmon.yaml" # it holds the community
}

# influx_num QUERY: the first number of the first row.
influx_num() {
    influx_rows evmon "$1" | awk -F'\t' '{for (i = 2; i <= NF; i++) if ($i != "") {print $i; exit}}'
}

run_evmon() {
    evmon_config
    measure_evmon "$1" "$VALUES"
}

# measure_evmon NAME VALUES_PER_POLL: run the agent on $T/evmon.yaml and record it.
measure_evmon() {
    local name=$1 per_poll=$2 t0 t1 polls failed late values p50 p99
    /usr/bin/time -f '%e' "$EVMON" check -c "$T/evmon.yaml" >"$T/check.out" 2>"$T/check.time" ||
        { cat "$T/check.out"; return 1; }
    echo "bench: evmon check of $RUN_N devices: $(tail -n 1 "$T/check.time") s"
    spawn "$name" "$EVMON" agent -c "$T/evmon.yaml"
    local pid=$SPAWNED_PID
    measure "$pid"
    t0=$((T0 * 1000000000)) t1=$((T1 * 1000000000))
    local w="time >= $t0 AND time < $t1"
    # A cycle's health point is written when its last device finishes: with silent devices
    # that is their timeout, after the window for its last cycle. Wait (bounded) until every
    # cycle of the window has reported, so that none is missing from the counts below.
    local deadline=$((SECONDS + RUN_IV + 10)) cycles
    while cycles=$(influx_num "SELECT count(devices_ok) FROM evmon WHERE $w AND device = ''") &&
        [ "${cycles:-0}" -lt $((SECS / RUN_IV)) ] && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.5
    done
    polls=$(influx_num "SELECT sum(devices_ok) FROM evmon WHERE $w AND device = ''")
    failed=$(influx_num "SELECT sum(devices_failed) FROM evmon WHERE $w AND device = ''")
    late=$(influx_num "SELECT sum(devices_late) FROM evmon WHERE $w AND device = ''")
    values=$((${polls:-0} * per_poll)) # an answered poll gives all the profile's values (counting
                                        # them in InfluxDB takes longer than the window at 10,000 devices)
    p50=$(influx_num "SELECT percentile(poll_duration_ms, 50) FROM evmon WHERE $w AND poll_ok = 1")
    p99=$(influx_num "SELECT percentile(poll_duration_ms, 99) FROM evmon WHERE $w AND poll_ok = 1")
    stop_spawned "$pid"
    record "$name" "${polls:-0}" "${failed:-0}" "${late:-0}" "$values" "ok-poll latency p50 ${p50:-?} ms p99 ${p99:-?} ms"
}

# ---- collectd -----------------------------------------------------------------------

run_collectd() {
    local conf="$T/collectd.conf" pid values
    python3 - "$conf" "$N" "$PORT" "$IV" "$MQTT_PORT" "$T" <<'EOF'
import sys
conf, n, port, iv, mport, t = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
data = open("tests/bench/collectd-data.conf").read()
names = [l.split('"')[1] for l in data.splitlines() if l.strip().startswith("<Data ")]
with open(conf, "w") as f:
    f.write(f'''# generated by tests/bench/run.sh
BaseDir "{t}/collectd"
PIDFile "{t}/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
Interval {iv}
# blocking SNMP reads: one thread per host in flight; enough threads for the fleet's latency
ReadThreads 64
WriteThreads 2
WriteQueueLimitHigh 1000000
WriteQueueLimitLow 800000
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File STDOUT
</Plugin>
LoadPlugin snmp
LoadPlugin mqtt
<Plugin mqtt>
  <Publish "bench">
    Host "127.0.0.1"
    Port {mport}
    ClientId "collectd-bench"
    QoS 1
    Prefix "collectd"
  </Publish>
</Plugin>
<Plugin snmp>
{data}
''')
    for i in range(n):
        f.write(f'''  <Host "pdu-{i // 250}-{1 + i % 250:03d}">
    Address "127.200.{i // 250}.{1 + i % 250}:{port}"
    Version 2
    Community "public"
    Collect {" ".join('"%s"' % x for x in names)}
    Interval {iv}
    Timeout 2
    Retries 1
  </Host>
''')
    f.write("</Plugin>\n")
EOF
    mkdir -p "$T/collectd"
    spawn collectd collectd -f -C "$conf"
    pid=$SPAWNED_PID
    settle
    # the values that reach the broker during the window (collectd publishes one per message)
    spawn collectd-sub mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -t 'collectd/#' -q 0
    local sub=$SPAWNED_PID
    NO_SETTLE=1 measure "$pid"
    stop_spawned "$sub"
    stop_spawned "$pid"
    values=$(wc -l <"$T/collectd-sub.log")
    # collectd cannot say which cycle a value belongs to: polls = values / 45; failures are
    # its logged timeouts and errors
    local polls=$((values / VALUES))
    local failed
    failed=$(grep -ci "timeout\|error" "$T/collectd.log" || true)
    local late=$((N * SECS / IV - polls - failed))
    [ "$late" -ge 0 ] || late=0
    record collectd "$polls" "$failed" "$late" "$values" "late = expected - done - failed"
}

# ---- snmp_exporter + Prometheus ---------------------------------------------------

run_snmp_exporter() {
    local eport pport pid prom values polls failed
    eport=$(free_port)
    pport=$(free_port)
    python3 - "$T/prometheus.yml" "$N" "$PORT" "$IV" "$eport" <<'EOF'
import sys
out, n, port, iv, eport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
with open(out, "w") as f:
    f.write(f'''# generated by tests/bench/run.sh: the snmp_exporter's documented set-up
global: {{scrape_interval: {iv}s, scrape_timeout: {iv - 1}s}}
scrape_configs:
  - job_name: snmp
    metrics_path: /snmp
    params: {{module: [apc_rpdu2]}}
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:{eport}"}}
    static_configs:
      - targets:
''')
    for i in range(n):
        f.write(f'          - "127.200.{i // 250}.{1 + i % 250}:{port}"\n')
EOF
    spawn snmp_exporter prometheus-snmp-exporter --config.file=tests/bench/snmp.yml \
        --web.listen-address="127.0.0.1:$eport" --log.level=warn
    pid=$SPAWNED_PID
    wait_until 20 "snmp_exporter listens" port_open "$eport"
    spawn prometheus prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
        --web.listen-address="127.0.0.1:$pport" --log.level=warn
    prom=$SPAWNED_PID
    wait_until 30 "prometheus listens" port_open "$pport"
    local pc0
    pc0=$(cpu_ticks "$prom")
    measure "$pid"
    local pcpu
    pcpu=$(awk -v a="$pc0" -v b="$(cpu_ticks "$prom")" -v t="$ticks" 'BEGIN {printf "%.1f", (b - a) / t}')
    local q="http://127.0.0.1:$pport/api/v1/query"
    prom_num() {
        curl -s --get "$q" --data-urlencode "query=$1" --data-urlencode "time=$T1" |
            python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)'
    }
    local w="${SECS}s"
    local m
    values=0
    for m in $(awk '/- \{name: rPDU2/ {sub(/,$/, "", $3); print $3}' tests/bench/snmp.yml); do
        values=$((values + $(prom_num "sum(count_over_time(${m}[$w]))")))
    done
    polls=$(prom_num "sum(sum_over_time(up[$w]))")
    failed=$(prom_num "sum(count_over_time(up[$w])) - sum(sum_over_time(up[$w]))")
    local late=$((N * SECS / IV - polls - failed))
    [ "$late" -ge 0 ] || late=0
    stop_spawned "$prom"
    stop_spawned "$pid"
    record snmp_exporter "$polls" "$failed" "$late" "$values" "(Prometheus itself: ${pcpu} CPU-s)"
}

# ---- evmon on a Modbus TCP fleet ------------------------------------------------------

# MB_N Schneider PM5xxx meters (20 values in 5 requests each: the profile's registers
# merged with the default max_gap 10) on 127.201.x.y, every MB_IV seconds, outputs on.
run_evmon_modbus() {
    local port sim c0
    local range="127.201.[0-$((MB_N / 250 - 1))].[1-250]" name='meter-{1}-{2:03}' row='{1}' rack='R{1}-{2}'
    [ "$MB_N" -gt 250 ] || # one range: {1} is the last octet
        range="127.201.0.[1-$MB_N]" name='meter-0-{1:03}' row=0 rack='R0-{1}'
    port=$(free_port)
    spawn modbusfleet "$MBSIM" --profile config/profiles/schneider-pm5xxx.yaml --count "$MB_N" \
        --base 127.201.0.1 --port "$port" --counter-rate 5
    sim=$SPAWNED_PID
    wait_until 60 "the Modbus fleet is ready" grep -q "ready:" "$T/modbusfleet.log"
    c0=$(cpu_ticks "$sim")
    cat >"$T/evmon.yaml" <<EOF
agent: {id: bench-modbus, site: evalley, hall: h1, interval: ${MB_IV}s}
modbus: {timeout: 1s, retries: 1}
outputs:
  mqtt: {url: "$MQTT_URL", qos: 1}
  influxdb: {url: "$INFLUX_URL", database: evmon}
devices:
  - name: $name
    address: $range:$port
    profile: schneider-pm5xxx
    row: "$row"
    rack: "$rack"
EOF
    RUN_N=$MB_N RUN_IV=$MB_IV
    measure_evmon evmon-modbus "$MB_VALUES"
    RUN_N=$N RUN_IV=$IV
    MB_SIM_CPU=$(awk -v a="$c0" -v b="$(cpu_ticks "$sim")" -v t="$ticks" 'BEGIN {printf "%.1f", (b - a) / t}')
    stop_spawned "$sim"
}

# ---- run ----------------------------------------------------------------------------

for p in $PEERS; do
    case $p in
    evmon) run_evmon evmon ;;
    evmon-silent)
        kill -USR1 "$SIM_PID" # faults on: BENCH_SILENT % of the devices stop answering
        run_evmon evmon-silent
        kill -USR2 "$SIM_PID"
        ;;
    collectd) run_collectd ;;
    snmp_exporter) run_snmp_exporter ;;
    evmon-modbus) run_evmon_modbus ;;
    *) echo "bench: unknown peer '$p'" >&2 ;;
    esac
done
sim_cpu=0
[ -z "$SIM_PID" ] || sim_cpu=$(awk -v a="$sim_c0" -v b="$(cpu_ticks "$SIM_PID")" -v t="$ticks" 'BEGIN {printf "%.1f", (b - a) / t}')

# ---- the table -----------------------------------------------------------------------

echo
python3 - "$RESULTS" "$N" "$IV" "$SECS" "$sim_cpu" "$MB_N" "$MB_IV" "${MB_SIM_CPU:-}" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
n, iv, secs, sim_cpu, mb_n, mb_iv, mb_sim = sys.argv[2:9]
if any(r[0] != "evmon-modbus" for r in rows):
    print(f"{n} PDUs x 45 values every {iv} s, {secs} s measured per poller (simulator: {sim_cpu} CPU-s in all)")
if any(r[0] == "evmon-modbus" for r in rows):
    print(f"evmon-modbus: {mb_n} Modbus TCP meters x 20 values every {mb_iv} s, {secs} s measured "
          f"(simulator: {mb_sim} CPU-s)")
hdr = ("poller", "CPU-s/1k polls", "values/CPU-s", "CPU % of 1 core", "peak RSS MB", "polls done/expected",
       "failed", "late", "note")
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
per = {}
for name, cpu, rss, exp, done, failed, late, values, note in rows:
    cpu, done, values = float(cpu), int(done), int(values)
    k = cpu / (done / 1000) if done else float("inf")
    vps = values / cpu if cpu else 0
    per[name] = (cpu / values if values else float("inf"))
    print(f"| {name} | {k:.3f} | {vps:,.0f} | {100 * cpu / float(secs):.1f} | {rss} | {done}/{exp} | {failed} "
          f"| {late} | {note} |")
if "evmon" in per:
    for peer in ("collectd", "snmp_exporter"):
        if peer in per and per["evmon"] > 0:
            print(f"evmon uses {per[peer] / per['evmon']:.1f}x less CPU per value than {peer}")
EOF
