#!/usr/bin/env bash
# scripts/demo-fleet.sh - the simulated PDU fleet of `make demo`.
#
#   scripts/demo-fleet.sh OUTDIR COUNT PORT
#
# Takes every recorded walk in tests/fixtures/snmp/*.snmprec, finds the profile
# in config/profiles that reads it (the one whose OIDs cover most of the walk),
# and writes:
#   OUTDIR/snmp/<walk>.snmprec  a copy of the walk whose readings move: the
#       columns a profile maps to power, current and voltage fields jitter
#       around the recorded value, and energy counters count up at a plausible
#       rate (snmpsim's `numeric` variation module); -1/-410 sentinels, zeros
#       and everything else stay as recorded;
#   OUTDIR/devices.yaml  the `devices:` section for COUNT PDUs on 127.0.1.1..N
#       at PORT, two per rack (feeds A and B), taking the walks in turn: the
#       SNMP community of each chooses its walk (snmpsim serves one walk per
#       community);
#   OUTDIR/endpoints     the snmpsim endpoints (127.0.1.N:PORT), one a line.
# Devices are named pdu-NN (ups-NN when the profile is a UPS one). Walks no
# profile reads are left out (and said so on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 3 ] || { echo "usage: $0 OUTDIR COUNT PORT" >&2; exit 2; }
out=$1 count=$2 port=$3
mkdir -p "$out/snmp"

/usr/bin/python3 - "$out" "$count" "$port" tests/fixtures/snmp config/profiles <<'EOF'
import glob, os, re, sys

out, count, port, walks_dir, profiles_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

def load_profiles():
    """name -> list of {oid, field, scale, where} from each metric item.
    A line-level reading of the YAML: enough to find OIDs, fields, constant
    scales and index filters (the demo only decides which values to move)."""
    profiles = {}
    for path in sorted(glob.glob(os.path.join(profiles_dir, "*.yaml"))):
        name = os.path.splitext(os.path.basename(path))[0]
        items, cur = [], None
        for line in open(path, encoding="utf-8"):
            m = re.match(r"^name:\s*([^\s#]+)", line)
            if m:
                name = m.group(1)
            if re.match(r"^\s*-\s+name:", line):
                cur = {"oid": None, "field": "", "scale": 1.0, "where": []}
                items.append(cur)
            if cur is None:
                continue
            m = re.search(r"\{\s*index:\s*(\d+),\s*equals:\s*(\d+)\s*\}", line)
            if m:
                cur["where"].append((int(m.group(1)), m.group(2)))
            m = re.match(r"^\s*(?:-\s+)?(oid|field|scale):\s*\"?([^\s#\"]+)", line)
            if m:
                key, val = m.groups()
                if key == "scale":
                    try:
                        cur["scale"] = float(val)
                    except ValueError:
                        cur["scale"] = None  # digits read from another column
                elif key == "oid":
                    cur["oid"] = val.lstrip(".")
                else:
                    cur["field"] = val
        profiles[name] = [i for i in items if i["oid"]]
    return profiles

def under(oid, prefix):
    return oid == prefix or oid.startswith(prefix + ".")

def passes(oid, m):
    """The row's index (after the column OID) meets the metric's index filters."""
    index = oid[len(m["oid"]) + 1:].split(".")
    return all(n <= len(index) and index[n - 1] == v for n, v in m["where"])

def metric_for(oid, metrics):
    best = None
    for m in metrics:
        if under(oid, m["oid"]) and passes(oid, m) and (best is None or len(m["oid"]) > len(best["oid"])):
            best = m
    return best

def vary(oid, tag, value, m):
    """snmprec value with snmpsim's numeric variation, or None to keep it."""
    if m is None or tag not in ("2", "65", "66", "70") or not re.fullmatch(r"-?\d+", value):
        return None
    v = int(value)
    field = m["field"]
    if v <= 0:
        return None  # sentinels and idle readings stay as recorded
    if field.startswith("energy"):
        # ~2 kW per walk row, in the column's raw units per second (Wh when
        # the scale is read from the device).
        rate = 2000.0 / 3600.0 / (m["scale"] or 1.0)
        return "initial=%d,rate=%.6g,min=0,max=%d" % (v, rate, 2**32 - 1 if tag != "70" else 2**64 - 1)
    if re.match(r"(active_power|apparent_power|current)", field):
        dev = max(1, round(v * 0.05))
    elif re.match(r"(voltage|frequency)", field):
        dev = max(1, round(v * 0.004))
    else:
        return None
    return "initial=%d,rate=0,deviation=%d,min=%d" % (v, dev, max(0, v - 4 * dev))

profiles = load_profiles()
walks = []
for path in sorted(glob.glob(os.path.join(walks_dir, "*.snmprec"))):
    rows = []
    for line in open(path, encoding="utf-8", errors="replace"):
        parts = line.rstrip("\n").split("|", 2)
        if len(parts) == 3:
            rows.append(parts)
    # The profile whose OIDs cover most rows of the walk reads it.
    score = {n: sum(1 for r in rows if metric_for(r[0], ms)) for n, ms in profiles.items()}
    name = max(score, key=score.get) if score else None
    community = os.path.splitext(os.path.basename(path))[0]
    if not name or score[name] == 0:
        print("demo-fleet: no profile reads %s; left out" % path, file=sys.stderr)
        continue
    metrics = profiles[name]
    moved = 0
    with open(os.path.join(out, "snmp", community + ".snmprec"), "w") as f:
        for oid, tag, value in rows:
            spec = vary(oid, tag, value, metric_for(oid, metrics))
            if spec:
                moved += 1
                f.write("%s|%s:numeric|%s\n" % (oid, tag, spec))
            else:
                f.write("%s|%s|%s\n" % (oid, tag, value))
    walks.append((community, name))
    print("demo-fleet: %-28s -> profile %-14s (%d values move)" % (community, name, moved), file=sys.stderr)

if not walks:
    sys.exit("demo-fleet: no walk in %s matches a profile in %s" % (walks_dir, profiles_dir))

with open(os.path.join(out, "devices.yaml"), "w") as d, open(os.path.join(out, "endpoints"), "w") as e:
    d.write("devices:\n")
    for i in range(count):
        rack = i // 2                       # two PDUs (feeds A and B) per rack
        community, profile = walks[i % len(walks)]  # every model shows up
        ip = "127.0.1.%d" % (i + 1)
        kind = "ups" if "ups" in profile else "pdu"
        d.write("  - {name: %s-%02d, profile: %s, address: \"%s:%s\", role: it, "
                "row: row%d, rack: r%02d, feed: %s, snmp: {community: %s}}\n"
                % (kind, i + 1, profile, ip, port, rack // 4 + 1, rack + 1, "AB"[i % 2], community))
        e.write("%s:%s\n" % (ip, port))
EOF
