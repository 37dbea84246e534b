#!/usr/bin/env python3
"""tests/integration/dashboards.py - check Grafana dashboards against a real influxd.

    dashboards.py INFLUX_URL DB dashboards/*.json

For each dashboard: its shape (uid, title, a `datasource` variable of type
datasource for InfluxDB, every panel and target on ${datasource}, unique
panel ids, raw InfluxQL targets); then its query variables are resolved the
way Grafana does, by running their SHOW TAG VALUES query and taking the first
value ("All" for a variable that has it, as Grafana shows first), and every
panel's every query is run with $timeFilter, $__interval and the variables
substituted. A query that errors fails, and so does one that returns no
series: the test fleet produces every measurement of the data contract
(cooling included, from its Modbus cooling units), so an empty answer is a
panel reading a field, tag or measurement nothing writes. The failure says
which: a measurement outside the contract (a typo), one missing from the
database, or a query that matched nothing. Prints one line per check,
tab-separated: ok|fail, what, detail.
"""
import json
import re
import sys
import urllib.parse
import urllib.request

CONTRACT = {"power", "cooling", "environment", "ups", "pue", "headroom", "alert", "evmon"}
TIME_FILTER = "time > now() - 1h"
INTERVAL = "1s"  # the agent in the test polls every second


def query(url, db, q):
    qs = urllib.parse.urlencode({"db": db, "q": q})
    with urllib.request.urlopen("%s/query?%s" % (url, qs), timeout=20) as r:
        doc = json.load(r)
    res = doc.get("results", [{}])[0]
    if "error" in res or "error" in doc:
        raise RuntimeError(res.get("error") or doc.get("error"))
    return res.get("series", [])


def say(status, what, detail=""):
    print("%s\t%s\t%s" % (status, what, detail.replace("\t", " ").replace("\n", " ")))


def substitute(q, values):
    q = q.replace("$timeFilter", TIME_FILTER).replace("$__interval", INTERVAL)
    for name in sorted(values, key=len, reverse=True):  # $row before $r...
        q = q.replace("${%s}" % name, values[name]).replace("$" + name, values[name])
    return q


def measurements_of(q):
    return set(re.findall(r'\bFROM\s+"([^"]+)"', q, re.I))


def check_shape(name, d):
    ok = True
    for key in ("uid", "title", "panels", "templating", "schemaVersion"):
        if key not in d:
            say("fail", "%s has %s" % (name, key)); ok = False
    variables = d.get("templating", {}).get("list", [])
    dsv = [v for v in variables if v.get("type") == "datasource"]
    if not (dsv and dsv[0].get("name") == "datasource" and dsv[0].get("query") == "influxdb"):
        say("fail", "%s: a datasource variable for InfluxDB named datasource" % name); ok = False
    ids = [p.get("id") for p in d.get("panels", [])]
    if len(ids) != len(set(ids)):
        say("fail", "%s: panel ids are unique" % name); ok = False
    for p in d.get("panels", []):
        if p.get("type") == "row":
            continue
        if "gridPos" not in p or not p.get("targets"):
            say("fail", "%s / %s: has gridPos and targets" % (name, p.get("title"))); ok = False
        for t in [p] + p.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}":
                say("fail", "%s / %s: datasource is ${datasource}" % (name, p.get("title"))); ok = False
        for t in p.get("targets", []):
            if not (t.get("rawQuery") and t.get("query")):
                say("fail", "%s / %s / %s: raw InfluxQL query" % (name, p.get("title"), t.get("refId"))); ok = False
    if ok:
        say("ok", "%s: import-ready shape (datasource variable, ids, raw InfluxQL targets)" % name)


def resolve_variables(url, db, name, d):
    values = {}
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = substitute(v["query"], values)
        try:
            series = query(url, db, q)
        except Exception as e:  # noqa: BLE001 - reported
            say("fail", "%s: variable $%s query runs" % (name, v["name"]), "%s: %s" % (q, e))
            continue
        vals = [row[1] for s in series for row in s.get("values", [])]
        if not vals:
            say("fail", "%s: variable $%s has values" % (name, v["name"]), q)
            continue
        # What Grafana shows first: "All" (allValue) when the variable has
        # it, else the first value (regex-escaped, as Grafana does).
        if v.get("includeAll") and v.get("allValue"):
            values[v["name"]] = v["allValue"]
        else:
            values[v["name"]] = re.escape(vals[0])
        say("ok", "%s: variable $%s has values (%s...), set to %s" % (name, v["name"], vals[0], values[v["name"]]))
    return values


def check_queries(url, db, name, d, values, existing):
    for p in d.get("panels", []):
        for t in p.get("targets", []):
            what = "%s / %s / %s" % (name, p.get("title"), t.get("refId"))
            q = substitute(t["query"], values)
            if re.search(r"\$(\{|\w)", q):  # a variable left ($name, ${name}); not a regex's $
                say("fail", what + ": every variable substituted", q)
                continue
            try:
                series = query(url, db, q)
            except Exception as e:  # noqa: BLE001 - reported
                say("fail", what + ": runs", "%s: %s" % (q, e))
                continue
            if series:
                say("ok", what, "%d series" % len(series))
                continue
            meas = measurements_of(q)
            unknown = meas - CONTRACT
            missing = meas - existing
            if unknown:
                say("fail", what + ": reads contract measurements", "unknown: %s" % ", ".join(sorted(unknown)))
            elif missing:
                say("fail", what + ": returns series", "nothing in the fleet wrote %s: %s" % (", ".join(sorted(missing)), q))
            else:
                say("fail", what + ": returns series", q)


def main():
    url, db, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    existing = {row[0] for s in query(url, db, "SHOW MEASUREMENTS") for row in s.get("values", [])}
    for path in files:
        name = path.rsplit("/", 1)[-1]
        try:
            d = json.load(open(path, encoding="utf-8"))
        except ValueError as e:
            say("fail", "%s is JSON" % name, str(e))
            continue
        check_shape(name, d)
        values = resolve_variables(url, db, name, d)
        check_queries(url, db, name, d, values, existing)


if __name__ == "__main__":
    main()
