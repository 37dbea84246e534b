# tests/lib/common.sh - the shell test harness every integration test sources.
#
# `. tests/lib/common.sh` at the top of a test script (run from the repo root)
# gives a fresh temp dir $T, background processes that are always cleaned up
# (spawn), waiting on a condition with a deadline (wait_until), and checks that
# are counted (check, assert_eq, assert_contains) and summed up by `finish` as
# the "N passed, N failed" line tests/integration/run.sh adds up.
# Servers live in tests/lib/mosquitto.sh, influxd.sh and snmp.sh, which build
# on this file.
#
# Environment: KEEP=1 keeps $T after a passing run (it is always kept after a
# failing one). A script may set EV_T_DIR before sourcing to use a fixed
# directory as $T (scripts/demo.sh uses build/demo); that one is never removed.

set -u -o pipefail

EV_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EV_PY=/usr/bin/python3
[ -x "$EV_PY" ] || EV_PY=python3

EV_PASS=0
EV_FAIL=0
EV_FINISHED=0
EV_SUMMARY=1        # 0 after no_summary: not a test, no "N passed" lines
EV_PIDS=()          # spawned pids (each leads its own process group)
EV_AT_EXIT=()       # extra cleanup commands (at_exit), run before the kills
SPAWNED_PID=

if [ -n "${EV_T_DIR:-}" ]; then
    EV_T_OWNED=0
    T=$EV_T_DIR
    mkdir -p "$T"
else
    EV_T_OWNED=1
    T=$(mktemp -d "${TMPDIR:-/tmp}/evmon-$(basename "$0" .sh).XXXXXX")
fi
T=$(cd "$T" && pwd)
# Readable by the servers that drop root (snmpsim runs as nobody, mosquitto
# as mosquitto): mktemp makes it 0700.
chmod 755 "$T"
export T

# no_summary: for a script that uses the harness but is not a test
# (scripts/demo.sh): no "N passed, N failed" line, no failure counted at exit.
no_summary() { EV_SUMMARY=0; }

# ---- output helpers -------------------------------------------------------

# Tail every log in $T, for a failure's context.
ev_dump_logs() {
    local f
    for f in "$T"/*.log; do
        [ -f "$f" ] || continue
        printf '    --- %s (last 20 lines) ---\n' "${f#"$T"/}"
        tail -n 20 "$f" | sed 's/^/    | /'
    done
}

ev_pass() {
    EV_PASS=$((EV_PASS + 1))
    printf '  ok    %s\n' "$1"
}

ev_fail() {
    EV_FAIL=$((EV_FAIL + 1))
    printf '  FAIL  %s\n' "$1"
}

# The status a check returns: its own, except under `set -e`, where a failed
# check must not end the script (checks are counted, the script goes on).
ev_status() {
    [[ $- == *e* ]] && return 0
    return "$1"
}

# ---- cleanup ----------------------------------------------------------------

# at_exit CMD ARGS...: run CMD when the script exits (before spawned
# processes are stopped). For state that is not a process, e.g. a file to restore.
at_exit() { EV_AT_EXIT+=("$(printf '%q ' "$@")"); }

# Stop one spawned process group: TERM, up to SECS (3) for it to go, then KILL.
ev_stop_pid() {
    local pid=$1 secs=${2:-3} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 0
}

# stop_spawned PID [SECS]: stop one process started with spawn now (the exit
# trap would do it anyway): SIGTERM to its group, SIGKILL after SECS (default
# 3). Returns once it is gone.
stop_spawned() {
    local p kept=()
    ev_stop_pid "$1" "${2:-3}"
    for p in "${EV_PIDS[@]}"; do
        [ "$p" = "$1" ] || kept+=("$p")
    done
    EV_PIDS=("${kept[@]}")
}

ev_on_exit() {
    local status=$? i
    trap - EXIT INT TERM
    set +e
    for ((i = ${#EV_AT_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${EV_AT_EXIT[i]}" || true
    done
    for ((i = ${#EV_PIDS[@]} - 1; i >= 0; i--)); do
        ev_stop_pid "${EV_PIDS[i]}"
    done
    if [ "$EV_FINISHED" = 0 ] && [ "$EV_SUMMARY" = 1 ]; then
        # The script ended without `finish` (an error, a signal, a failed
        # wait_until): count that as a failure so no runner mistakes it for a pass.
        ev_fail "$(basename "$0") ended early (exit status $status)"
        printf '%d passed, %d failed\n' "$EV_PASS" "$EV_FAIL"
        [ "$status" != 0 ] || status=1
    fi
    if [ "$EV_T_OWNED" = 1 ]; then
        if [ "$status" != 0 ] || [ "$EV_FAIL" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then
            printf 'kept test dir: %s\n' "$T" >&2
        else
            rm -rf "$T"
        fi
    fi
    exit "$status"
}
trap ev_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- processes ----------------------------------------------------------------

# spawn NAME CMD ARGS...: start CMD in the background in its own process
# group, stdout and stderr to $T/NAME.log; sets SPAWNED_PID (the pid of CMD
# itself, so `kill -9 $SPAWNED_PID` hits the program, not a wrapper).
# When EV_PIDS_FILE is set (tests/integration/run.sh sets it) the pid is also
# appended there, so the runner can stop what a killed script left behind.
spawn() {
    local name=$1
    shift
    setsid "$@" >"$T/$name.log" 2>&1 </dev/null &
    SPAWNED_PID=$!
    EV_PIDS+=("$SPAWNED_PID")
    [ -z "${EV_PIDS_FILE:-}" ] || echo "$SPAWNED_PID" >>"$EV_PIDS_FILE"
}

# ---- ports --------------------------------------------------------------------

# free_port: print a port free for both TCP and UDP on every local address,
# chosen at random below the kernel's ephemeral range (so a client's source
# port cannot take it before the server binds) and never twice in one test.
free_port() {
    local taken="$T/.ports"
    touch "$taken"
    "$EV_PY" - "$taken" <<'EOF'
import random, socket, sys
taken = set(open(sys.argv[1]).read().split())
def free(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
        finally:
            s.close()
    return True
for _ in range(500):
    p = random.randint(20000, 32000)
    if str(p) not in taken and free(p):
        open(sys.argv[1], "a").write("%d\n" % p)
        print(p)
        sys.exit(0)
sys.exit("free_port: no free port found")
EOF
}

# port_open PORT [HOST]: true when a TCP connect succeeds.
port_open() {
    local port=$1 host=${2:-127.0.0.1}
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# ---- waiting ----------------------------------------------------------------

ev_now_ms() { local t=${EPOCHREALTIME/./}; printf '%s' $((t / 1000)); }

# wait_until SECONDS DESCRIPTION CMD ARGS...: re-run CMD every ~50 ms until it
# succeeds. On the deadline the test fails: DESCRIPTION, the last attempt's
# output and the tail of every $T/*.log are printed and the script ends.
wait_until() {
    local secs=$1 desc=$2
    shift 2
    local deadline=$(($(ev_now_ms) + secs * 1000))
    while :; do
        if "$@" >"$T/.wait.out" 2>&1; then
            return 0
        fi
        if [ "$(ev_now_ms)" -ge "$deadline" ]; then
            ev_fail "$desc (not within ${secs}s)"
            if [ -s "$T/.wait.out" ]; then
                echo "    --- last attempt of: $* ---"
                tail -n 10 "$T/.wait.out" | sed 's/^/    | /'
            fi
            ev_dump_logs
            EV_FINISHED=1
            [ "$EV_SUMMARY" = 0 ] || printf '%d passed, %d failed\n' "$EV_PASS" "$EV_FAIL"
            exit 1
        fi
        sleep 0.05
    done
}

# ---- checks -----------------------------------------------------------------

# check DESCRIPTION CMD ARGS...: run CMD; pass when it exits 0. On a failure
# its output is shown. The script goes on either way; returns CMD's status
# (0 under `set -e`). assert_eq/assert_contains likewise return 0 or 1.
check() {
    local desc=$1 rc=0
    shift
    "$@" >"$T/.check.out" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
        ev_pass "$desc"
    else
        ev_fail "$desc (exit $rc: $*)"
        tail -n 15 "$T/.check.out" | sed 's/^/    | /'
    fi
    ev_status "$rc"
}

# assert_eq DESCRIPTION EXPECTED ACTUAL
assert_eq() {
    if [ "$2" = "$3" ]; then
        ev_pass "$1"
    else
        ev_fail "$1"
        printf '    expected: %s\n    actual:   %s\n' "$2" "$3"
        ev_status 1
    fi
}

# assert_contains DESCRIPTION HAYSTACK NEEDLE (a fixed string, not a pattern)
assert_contains() {
    if [[ "$2" == *"$3"* ]]; then
        ev_pass "$1"
    else
        ev_fail "$1"
        printf '    looked for: %s\n    in:         %s\n' "$3" "$(printf '%s' "$2" | head -c 1500)"
        ev_status 1
    fi
}

# assert_near DESCRIPTION EXPECTED ACTUAL [TOLERANCE]: numbers equal within
# TOLERANCE (default 1e-6 relative to EXPECTED, or absolute when EXPECTED is 0),
# so 3512800 matches 3512800.0000000005 as scaled device values come out.
assert_near() {
    local tol=${4:-}
    if awk -v e="$2" -v a="$3" -v t="$tol" 'BEGIN {
            if (a !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) exit 1
            if (t == "") t = (e == 0) ? 1e-6 : 1e-6 * (e < 0 ? -e : e)
            d = a - e; if (d < 0) d = -d
            exit !(d <= t) }'; then
        ev_pass "$1"
    else
        ev_fail "$1"
        printf '    expected: %s (within %s)\n    actual:   %s\n' "$2" "${tol:-1e-6 relative}" "$3"
        ev_status 1
    fi
}

# finish: print "N passed, N failed" for this script; exit 1 on any failure.
finish() {
    EV_FINISHED=1
    printf '%d passed, %d failed\n' "$EV_PASS" "$EV_FAIL"
    [ "$EV_FAIL" = 0 ] || exit 1
    exit 0
}
