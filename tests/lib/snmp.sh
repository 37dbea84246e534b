# tests/lib/snmp.sh - SNMP agents on loopback ports for one test (or the demo).
#
# `. tests/lib/snmp.sh` (after tests/lib/common.sh) gives:
#   start_snmpsim DATADIR ENDPOINT...
#       snmpsim serving every DATADIR/*.snmprec (community = file name
#       without .snmprec) on each ENDPOINT (127.0.0.1:PORT). The data is
#       copied under $T (snmpsim drops root to nobody); returns once every
#       endpoint answers. Sets SNMPSIM_PID.
#   start_snmpd_v3 PORT USER AUTHPASS PRIVPASS [SNMPREC [NAME]]
#       Debian's real snmpd on 127.0.0.1:PORT with one SNMPv3 user,
#       authPriv SHA-256/AES (SNMPD_AUTH / SNMPD_PRIV in the environment
#       pick other protocols), engine ID "evmon<PORT>", numeric OIDs only
#       (MIBS empty), config and persistent state under $T. With SNMPREC,
#       the walk's enterprise subtree (.1.3.6.1.4.1) is served through
#       pass_persist, so a PDU profile can be read over real SNMPv3.
#       Returns once an authPriv GET answers. Sets SNMPD_PID.
#   start_silent_udp
#       sets SILENT_EP=127.0.0.1:PORT where nothing answers: a bound UDP
#       socket that never replies (so not even an ICMP port unreachable),
#       for timeout tests.
# Nothing here uses the system's snmpd service or port 161.

[ -n "${EV_LIB_DIR:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh"

EV_SNMPSIM=${SNMPSIM:-$(command -v snmpsim-command-responder || command -v snmpsimd || echo /usr/bin/snmpsimd)}
EV_SNMPD=${SNMPD:-$(command -v snmpd || echo /usr/sbin/snmpd)}

# snmp_answers ENDPOINT COMMUNITY: one quick v2c GETNEXT gets an answer.
snmp_answers() {
    MIBS= snmpgetnext -On -v2c -c "$2" -t 0.3 -r 0 "udp:$1" .1.3.6.1 >/dev/null 2>&1
}

start_snmpsim() {
    local src=$1
    shift
    local data="$T/snmpsim-data" cache="$T/snmpsim-cache" args=() ep first
    mkdir -p "$data" "$cache"
    cp "$src"/*.snmprec "$data"/
    chmod 755 "$data"
    chmod 644 "$data"/*.snmprec
    chmod 777 "$cache"
    for ep in "$@"; do args+=(--agent-udpv4-endpoint="$ep"); done
    spawn snmpsim "$EV_SNMPSIM" --data-dir="$data" --cache-dir="$cache" "${args[@]}" \
        --process-user=nobody --process-group=nogroup --logging-method=null
    SNMPSIM_PID=$SPAWNED_PID
    first=$(basename "$(ls "$data"/*.snmprec | head -n 1)" .snmprec)
    for ep in "$@"; do
        wait_until 60 "snmpsim answers on $ep" snmp_answers "$ep" "$first"
    done
}

# The pass_persist helper snmpd runs: serves an snmprec file's subtree.
ev_write_snmprec_pass() {
    cat >"$1" <<'PY'
import sys

TYPES = {"2": "integer", "4": "string", "4x": "octet", "6": "objectid", "64": "ipaddress",
         "65": "counter", "66": "gauge", "67": "timeticks", "70": "counter64"}

def key(oid):
    return tuple(int(x) for x in oid.strip(".").split("."))

rows = {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    parts = line.split("|", 2)
    if len(parts) != 3 or parts[1] not in TYPES:
        continue
    oid, tag, val = parts
    if not oid.startswith("1.3.6.1.4.1."):
        continue
    if tag == "4x":
        val = " ".join(val[i:i + 2] for i in range(0, len(val), 2))
    rows[key(oid)] = (oid, TYPES[tag], val)
order = sorted(rows)

def answer(k):
    oid, typ, val = rows[k]
    sys.stdout.write(".%s\n%s\n%s\n" % (oid, typ, val))

while True:
    cmd = sys.stdin.readline()
    if not cmd:
        break
    cmd = cmd.strip()
    if cmd == "PING":
        sys.stdout.write("PONG\n")
    elif cmd in ("get", "getnext"):
        k = key(sys.stdin.readline())
        if cmd == "get":
            if k in rows:
                answer(k)
            else:
                sys.stdout.write("NONE\n")
        else:
            nxt = next((r for r in order if r > k), None)
            if nxt is None:
                sys.stdout.write("NONE\n")
            else:
                answer(nxt)
    elif cmd == "set":
        sys.stdin.readline()
        sys.stdin.readline()
        sys.stdout.write("not-writable\n")
    sys.stdout.flush()
PY
}

# snmp_v3_answers PORT USER AUTHPASS PRIVPASS [AUTHPROTO PRIVPROTO]
snmp_v3_answers() {
    MIBS= snmpget -On -v3 -l authPriv -u "$2" -a "${5:-SHA-256}" -A "$3" -x "${6:-AES}" -X "$4" \
        -t 0.5 -r 0 "udp:127.0.0.1:$1" .1.3.6.1.2.1.1.3.0 >/dev/null 2>&1
}

start_snmpd_v3() {
    local port=$1 user=$2 apass=$3 ppass=$4 rec=${5:-} name=${6:-snmpd-$1}
    local dir="$T/$name" aproto=${SNMPD_AUTH:-SHA-256} pproto=${SNMPD_PRIV:-AES}
    mkdir -p "$dir/persist"
    {
        echo "# written by tests/lib/snmp.sh"
        echo "agentAddress udp:127.0.0.1:$port"
        echo "engineID evmon$port"
        echo "createUser $user $aproto \"$apass\" $pproto \"$ppass\""
        echo "rouser $user priv"
        echo "master no"
        echo "dontLogTCPWrappersConnects yes"
        if [ -n "$rec" ]; then
            ev_write_snmprec_pass "$dir/pass.py"
            echo "pass_persist .1.3.6.1.4.1 $EV_PY $dir/pass.py $rec"
        fi
    } >"$dir/snmpd.conf"
    spawn "$name" env MIBS= MIBDIRS= SNMP_PERSISTENT_DIR="$dir/persist" SNMPCONFPATH="$dir" \
        "$EV_SNMPD" -f -Lo -C -c "$dir/snmpd.conf" -p "$dir/snmpd.pid"
    SNMPD_PID=$SPAWNED_PID
    wait_until 20 "snmpd ($name) answers SNMPv3 on 127.0.0.1:$port" \
        snmp_v3_answers "$port" "$user" "$apass" "$ppass" "$aproto" "$pproto"
}

start_silent_udp() {
    local n=1
    while [ -e "$T/silent-$n.port" ] || [ -e "$T/silent-$n.log" ]; do n=$((n + 1)); done
    # The socket picks its own free port (bind to port 0), so no other
    # process can take it between choosing and binding.
    spawn "silent-$n" "$EV_PY" -c "import os,socket,sys,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',0))
f=sys.argv[1]; open(f+'.tmp','w').write(str(s.getsockname()[1])); os.rename(f+'.tmp',f)
while True: time.sleep(3600)" "$T/silent-$n.port"
    wait_until 10 "silent UDP socket $n bound" test -s "$T/silent-$n.port"
    SILENT_EP="127.0.0.1:$(cat "$T/silent-$n.port")"
}
