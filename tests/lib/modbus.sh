# tests/lib/modbus.sh - Modbus devices on loopback ports and pty pairs for
# one test (or the demo).
#
# `. tests/lib/modbus.sh` (after tests/lib/common.sh) gives:
#   start_pymodbus NAME IMAGE [UNIT]
#       someone else's server: the pymodbus 3.0 TCP server (Debian
#       python3-pymodbus, /usr/bin/python3, zero_mode=True so address N is
#       register N) on a free 127.0.0.1 port, every table filled from IMAGE
#       (tests/fixtures/modbus/README.md) by Python's struct, answering any
#       unit id. Sets PYMODBUS_EP and PYMODBUS_PID.
#   start_modbussim NAME ARGS...
#       our simulator (tests/sim/modbussim.c, libmodbus's server API) on a
#       port it binds itself on 127.0.0.1, with ARGS such as --image FILE,
#       --fault MODE, --log FILE. Sets MBSIM_EP and MBSIM_PID.
#   start_modbussim_rtu NAME TTY ARGS...
#       the same on one end of a serial line (--rtu TTY). Sets MBSIM_PID.
#   start_pty_pair NAME
#       socat joining two pseudo-terminals, a null-modem cable: sets PTY_A
#       (for evmon) and PTY_B (for the simulator), links under $T.
#   start_silent_tcp
#       a TCP port that accepts connections and never answers: sets
#       SILENT_TCP_EP.
# EVMON_SIM (default: next to $EVMON, build/sim/modbussim) is the simulator.

[ -n "${EV_LIB_DIR:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh"

EV_MODBUSSIM=${EVMON_MODBUSSIM:-$(dirname "${EVMON:-build/evmon}")/sim/modbussim}

# The pymodbus server; the image is parsed and encoded here, independently
# of evmon's own encoder.
ev_write_pymodbus() {
    cat >"$1" <<'PY'
import logging, struct, sys
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartTcpServer

FMT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "int64": ">q",
       "uint64": ">Q", "float32": ">f", "float64": ">d"}

def words(typ, order, value):
    v = float(value) if typ.startswith("float") else int(value, 0)
    b = struct.pack(FMT[typ], v)
    w = [b[i:i + 2] for i in range(0, len(b), 2)]
    if order in ("CDAB", "DCBA"):
        w.reverse()
    if order in ("BADC", "DCBA"):
        w = [x[::-1] for x in w]
    return [int.from_bytes(x, "big") for x in w]

tables = {n: [0] * 65536 for n in (1, 2, 3, 4)}
for line in open(sys.argv[2]):
    line = line.split("#")[0].split()
    if not line:
        continue
    fc, addr = int(line[0]), int(line[1], 0)
    ws = [int(x, 0) for x in line[3:]] if line[2] == "raw" else words(line[2], line[3].upper(), line[4])
    for i, w in enumerate(ws):
        tables[fc][addr + i] = w
store = ModbusSlaveContext(co=ModbusSequentialDataBlock(0, tables[1]), di=ModbusSequentialDataBlock(0, tables[2]),
                           hr=ModbusSequentialDataBlock(0, tables[3]), ir=ModbusSequentialDataBlock(0, tables[4]),
                           zero_mode=True)
logging.basicConfig(level=logging.WARNING)
StartTcpServer(context=ModbusServerContext(slaves=store, single=True), address=("127.0.0.1", int(sys.argv[1])))
PY
}

start_pymodbus() {
    local name=$1 image=$2 port
    port=$(free_port)
    ev_write_pymodbus "$T/pymodbus-server.py"
    spawn "$name" "$EV_PY" "$T/pymodbus-server.py" "$port" "$image"
    PYMODBUS_PID=$SPAWNED_PID
    PYMODBUS_EP=127.0.0.1:$port
    wait_until 30 "pymodbus ($name) listens on $PYMODBUS_EP" port_open "$port"
}

start_modbussim() {
    local name=$1
    shift
    rm -f "$T/$name.port"
    spawn "$name" "$EV_MODBUSSIM" --tcp 127.0.0.1:0 --port-file "$T/$name.port" "$@"
    MBSIM_PID=$SPAWNED_PID
    wait_until 10 "modbussim ($name) listens" test -s "$T/$name.port"
    MBSIM_EP=127.0.0.1:$(cat "$T/$name.port")
}

start_modbussim_rtu() {
    local name=$1 tty=$2
    shift 2
    spawn "$name" "$EV_MODBUSSIM" --rtu "$tty" "$@"
    MBSIM_PID=$SPAWNED_PID
}

start_pty_pair() {
    local name=$1
    PTY_A=$T/$name-a
    PTY_B=$T/$name-b
    spawn "$name" socat -d -d "pty,raw,echo=0,link=$PTY_A" "pty,raw,echo=0,link=$PTY_B"
    wait_until 10 "socat pty pair $name" test -e "$PTY_A" -a -e "$PTY_B"
}

start_silent_tcp() {
    local n=1
    while [ -e "$T/silent-tcp-$n.port" ]; do n=$((n + 1)); done
    spawn "silent-tcp-$n" "$EV_PY" -c "import os,socket,sys,time
s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(64)
f=sys.argv[1]; open(f+'.tmp','w').write(str(s.getsockname()[1])); os.rename(f+'.tmp',f)
conns=[]
while True: conns.append(s.accept())" "$T/silent-tcp-$n.port"
    wait_until 10 "silent TCP socket $n listens" test -s "$T/silent-tcp-$n.port"
    SILENT_TCP_EP="127.0.0.1:$(cat "$T/silent-tcp-$n.port")"
}
