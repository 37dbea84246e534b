// app.js - the live page's logic: reads /api/v1/summary, /devices,
// /headroom and /alerts from the agent every few seconds and draws the
// headroom gauges, PUE cards, active alerts and the device table. The
// table's sort and filter live in the URL hash (#filter=apc&state=failing
// &sort=power_w&dir=desc), so a view can be bookmarked or shared.
// Served by the hub (summary.agent.role "hub"), the page shows the cluster:
// its roll-up's tiles, cluster/site/hall gauges and PUE, and no device table.
// Everything is drawn with textContent: device names and errors are data.
"use strict";

const REFRESH_MS = 5000;
const WINDOWS = ["15m", "1h", "24h", "30d", "ytd", "365d"]; // the PUE windows, shortest first
const view = { filter: "", state: "", sort: "name", dir: "asc" };
let devices = [];
let isHub = false; // served by `evmon hub` (summary.agent.role)

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 1 : digits });
}

function watts(v) {
  if (v === null || v === undefined) return "—";
  const a = Math.abs(v);
  if (a >= 1e9) return fmt(v / 1e9, 3) + " GW";
  if (a >= 1e6) return fmt(v / 1e6, 2) + " MW";
  if (a >= 1e4) return fmt(v / 1e3, 1) + " kW";
  return fmt(v, 0) + " W";
}

function ago(ms, now) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return s + " s ago";
  if (s < 7200) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}

async function get(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

// ---- URL hash <-> view -------------------------------------------------------

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  view.filter = p.get("filter") || "";
  view.state = p.get("state") || "";
  view.sort = p.get("sort") || "name";
  view.dir = p.get("dir") === "desc" ? "desc" : "asc";
  document.getElementById("filter").value = view.filter;
  document.getElementById("state").value = view.state;
}

function writeHash() {
  const p = new URLSearchParams();
  if (view.filter) p.set("filter", view.filter);
  if (view.state) p.set("state", view.state);
  if (view.sort !== "name") p.set("sort", view.sort);
  if (view.dir !== "asc") p.set("dir", view.dir);
  history.replaceState(null, "", p.toString() ? "#" + p.toString() : location.pathname);
}

// ---- summary tiles ---------------------------------------------------------------

// The hub's tiles: its cluster roll-up (headroom; halls from the shortest PUE window).
function hubTiles(s) {
  const scoped = (l) => l.find((p) => p.tags.scope === "cluster") || { tags: {}, fields: {} };
  const h = scoped(s.headroom).fields;
  const p = scoped([...s.pue].sort((x, y) => WINDOWS.indexOf(x.tags.window) - WINDOWS.indexOf(y.tags.window))).fields;
  return [
    ["cluster demand", watts(h.demand_w)],
    ["cluster peak", watts(h.peak_w)],
    ["cluster target", watts(h.usable_w)],
    ["halls reporting", p.halls_expected === undefined ? "—" : `${p.halls_reporting} / ${p.halls_expected}`],
    ["active alerts", s.alerts.active],
  ];
}

function drawSummary(s) {
  const a = s.agent;
  isHub = a.role === "hub";
  const cluster = (s.headroom.find((p) => p.tags.cluster) || s.pue.find((p) => p.tags.cluster) || { tags: {} }).tags.cluster;
  document.getElementById("devices-section").hidden = isHub;
  if (isHub) {
    document.getElementById("ident").textContent = `hub ${a.id} · cluster ${cluster || "(no roll-up yet)"}`;
    document.title = `evmon hub ${cluster || a.id}`;
    document.getElementById("overview").replaceChildren(
      ...hubTiles(s).map(([k, v]) => el("div", { class: "tile" }, el("div", { class: "muted" }, k), el("div", { class: "v" }, v))));
    drawPue(s.pue);
    return;
  }
  document.getElementById("ident").textContent = `${a.id} · ${a.site}/${a.hall}`;
  document.title = `evmon ${a.site}/${a.hall}`;
  const tiles = [
    ["IT power", watts(s.power_w.it)],
    ["facility power", watts(s.power_w.facility)],
    ["cooling power", watts(s.power_w.cooling)],
    ["devices ok", `${s.devices.ok} / ${s.devices.total}`],
    ["devices failing", s.devices.failing],
    ["active alerts", s.alerts.active],
    ["poll cycles", a.cycles],
  ];
  document.getElementById("overview").replaceChildren(
    ...tiles.map(([k, v]) => el("div", { class: "tile" }, el("div", { class: "muted" }, k), el("div", { class: "v" }, v))));
  drawPue(s.pue);
}

// ---- headroom gauges ---------------------------------------------------------------

function scopeLabel(t) {
  if (t.scope === "cluster") return "cluster " + (t.cluster || "");
  if (t.scope === "site") return "site " + (t.site || "");
  const parts = [t.scope || "hall"];
  if (isHub && t.site && t.hall) parts.push(`${t.site}/${t.hall}`); // the hub shows many halls
  for (const k of ["site", "hall", "row", "rack", "feed"]) if (t[k] && k !== "site" && k !== "hall") parts.push(t[k]);
  return parts.join(" ");
}

function gauge(pct) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 120 66");
  const arc = (cls, frac) => {
    const p = document.createElementNS(ns, "path");
    const f = Math.max(0, Math.min(1, frac));
    const ang = Math.PI * (1 - f);
    p.setAttribute("d", `M 10 60 A 50 50 0 0 1 ${60 + 50 * Math.cos(ang)} ${60 - 50 * Math.sin(ang)}`);
    p.setAttribute("class", cls);
    p.setAttribute("fill", "none");
    p.setAttribute("stroke-width", "10");
    return p;
  };
  svg.append(arc("track", 1));
  if (pct !== null && pct !== undefined && pct > 0) svg.append(arc("bar", pct / 100));
  return svg;
}

function drawHeadroom(h) {
  const box = document.getElementById("headroom");
  if (!h.length) {
    box.replaceChildren(el("div", { class: "empty" }, "no headroom published yet (needs the energy model and a topology)"));
    return;
  }
  const order = { cluster: 0, site: 1, hall: 2, row: 3, rack: 4, feed: 5 };
  h.sort((x, y) => (order[x.tags.scope] ?? 9) - (order[y.tags.scope] ?? 9) || scopeLabel(x.tags).localeCompare(scopeLabel(y.tags)));
  box.replaceChildren(...h.map((p) => {
    const f = p.fields, pct = f.headroom_pct;
    const cls = pct === null || pct === undefined ? "" : pct < 10 ? " bad" : pct < 20 ? " warn" : "";
    const days = f.days_to_exhaustion === undefined || f.days_to_exhaustion === null ? "no exhaustion in sight"
      : fmt(f.days_to_exhaustion, 0) + " days to exhaustion";
    return el("div", { class: "gauge" + cls, "data-scope": p.tags.scope || "" },
      el("div", {}, scopeLabel(p.tags)), gauge(pct),
      el("div", { class: "v" }, fmt(pct, 1) + " %"),
      el("div", { class: "muted" }, `${watts(f.headroom_w)} of ${watts(f.usable_w)} usable`),
      el("div", { class: "muted" }, `peak ${watts(f.peak_w)}`),
      el("div", { class: "muted" }, days));
  }));
}

// ---- PUE cards ---------------------------------------------------------------------

function drawPue(list) {
  const box = document.getElementById("pue");
  if (!list.length) {
    box.replaceChildren(el("div", { class: "empty" }, "no PUE published yet (needs IT and facility meters and the energy model)"));
    return;
  }
  const wins = WINDOWS;
  const order = { cluster: 0, site: 1, hall: 2 };
  const where = (t) => isHub ? scopeLabel(t) : t.scope || "hall";
  list.sort((x, y) => (order[x.tags.scope] ?? 9) - (order[y.tags.scope] ?? 9) ||
    where(x.tags).localeCompare(where(y.tags)) || wins.indexOf(x.tags.window) - wins.indexOf(y.tags.window));
  box.replaceChildren(...list.map((p) => {
    const f = p.fields, t = p.tags;
    const interim = t.window !== "365d" && t.category !== "0";
    const cov = f.coverage === undefined || f.coverage === null ? null : f.coverage * 100;
    return el("div", { class: "card", "data-window": t.window || "" },
      el("div", { class: "muted" }, `${where(t)} · ${t.window || "?"}${interim ? " (interim)" : ""}`),
      el("div", { class: "v" }, f.pue === undefined || f.pue === null ? "—" : fmt(f.pue, 3)),
      el("div", {}, el("span", { class: "badge" }, "category " + (t.category ?? "?")), " ",
        f.partial ? el("span", { class: "badge warn" }, "partial") : "",
        f.estimated ? el("span", { class: "badge warn" }, "estimated") : "",
        f.mixed_categories ? el("span", { class: "badge warn" }, "mixed categories") : ""),
      el("div", { class: "muted" }, `coverage ${fmt(cov, 0)} %` + (f.dcie ? ` · DCiE ${fmt(f.dcie, 3)}` : "") +
        (f.halls_expected !== undefined ? ` · halls ${f.halls_reporting}/${f.halls_expected}` : "")));
  }));
}

// ---- alerts ------------------------------------------------------------------------

function drawAlerts(list) {
  const box = document.getElementById("alerts");
  if (!list.length) {
    box.replaceChildren(el("div", { class: "empty" }, "no active alerts"));
    return;
  }
  box.replaceChildren(...list.map((p) => {
    const t = p.tags, f = p.fields;
    const sev = f.severity || t.severity || f.level || t.level || f.state || "";
    const what = t.rule || t.alertname || t.name || "alert";
    const where = Object.entries(t).filter(([k]) => !["rule", "alertname", "name", "severity", "level"].includes(k))
      .map(([k, v]) => `${k}=${v}`).join(" ");
    const text = f.description || f.summary || f.message || "";
    return el("div", { class: "alert " + sev }, el("b", {}, what), ` ${sev} `, el("span", { class: "muted" }, where),
      text ? el("div", {}, text) : "", el("div", { class: "muted" }, p.time || ""));
  }));
}

// ---- device table ------------------------------------------------------------------

function matches(d) {
  if (view.state === "failing" ? !(d.state === "timeout" || d.state === "error") : view.state && d.state !== view.state)
    return false;
  if (!view.filter) return true;
  const q = view.filter.toLowerCase();
  return [d.name, d.profile, d.address, d.role, d.row, d.rack, d.feed, d.state, d.last_error]
    .some((v) => v && String(v).toLowerCase().includes(q));
}

function compare(a, b) {
  const x = a[view.sort], y = b[view.sort];
  const nx = x === null || x === undefined, ny = y === null || y === undefined;
  let c;
  if (nx || ny) return nx && ny ? a.name.localeCompare(b.name) : nx ? 1 : -1; // unknowns last
  c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "en", { numeric: true });
  if (c === 0) c = a.name.localeCompare(b.name, "en", { numeric: true });
  return view.dir === "desc" ? -c : c;
}

function drawDevices(now) {
  const rows = devices.filter(matches).sort(compare);
  document.querySelector("#devices tbody").replaceChildren(...rows.map((d) => el("tr", { "data-device": d.name },
    el("td", {}, d.name),
    el("td", { class: "state-" + d.state }, d.state),
    el("td", { class: "num power" }, d.power_w === null ? "—" : fmt(d.power_w, 1)),
    el("td", {}, d.role || ""), el("td", {}, d.row || ""), el("td", {}, d.rack || ""), el("td", {}, d.feed || ""),
    el("td", {}, d.profile || ""),
    el("td", { title: d.last_poll || "" }, ago(d.last_poll_ms, now)),
    el("td", { class: "num" }, fmt(d.duration_ms, 1)),
    el("td", { class: "err", title: d.last_error_at || "" }, d.last_error ? `${d.last_error} (${ago(d.last_error_ms, now)})` : ""))));
  document.getElementById("count").textContent = `${rows.length} of ${devices.length} devices`;
  for (const th of document.querySelectorAll("#devices th")) {
    th.classList.toggle("sorted", th.dataset.key === view.sort);
    th.classList.toggle("asc", th.dataset.key === view.sort && view.dir === "asc");
    th.classList.toggle("desc", th.dataset.key === view.sort && view.dir === "desc");
  }
}

// ---- refresh loop --------------------------------------------------------------------

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [s, d, h, a] = await Promise.all([get("api/v1/summary"), get("api/v1/devices"), get("api/v1/headroom"),
      get("api/v1/alerts")]);
    devices = d.devices;
    drawSummary(s);
    drawHeadroom(h.headroom);
    drawAlerts(a.alerts);
    drawDevices(s.agent.now_ms);
    status.textContent = "updated " + new Date(s.agent.now_ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
    status.className = "muted";
    document.body.dataset.loaded = "1";
  } catch (e) {
    status.textContent = "cannot reach the agent: " + e.message;
    status.className = "state-error";
  }
}

function setup() {
  readHash();
  document.getElementById("filter").addEventListener("input", (e) => { view.filter = e.target.value; writeHash(); drawDevices(Date.now()); });
  document.getElementById("state").addEventListener("change", (e) => { view.state = e.target.value; writeHash(); drawDevices(Date.now()); });
  for (const th of document.querySelectorAll("#devices th")) {
    th.addEventListener("click", () => {
      view.dir = view.sort === th.dataset.key && view.dir === "asc" ? "desc" : "asc";
      view.sort = th.dataset.key;
      writeHash();
      drawDevices(Date.now());
    });
  }
  window.addEventListener("hashchange", () => { readHash(); drawDevices(Date.now()); });
  refresh();
  setInterval(refresh, REFRESH_MS);
}

setup();
