/*
 * cmd_agent.c - `evmon agent`: the daemon's main loop.
 *
 * Loads the config, opens the outputs, hands every device (SNMP, Modbus)
 * to the collectors, and polls on a fixed schedule aligned to the wall clock
 * (every 10 s at :00, :10, ...), so that every agent stamps a cycle with
 * the same timestamp and a replayed point lands on the same series and
 * time in the store. Each device's points go to every output as soon as
 * that device finishes; the agent's own health goes out as the `evmon`
 * measurement. Everything published also feeds the alert rules (alert.h),
 * whose missing-data timers tick at each cycle start. SIGTERM/SIGINT stop
 * it after flushing the outputs;
 * SIGHUP reloads the config (reload.h says what may change): devices are
 * handed to the collector's reconfigure op, so unchanged devices keep
 * polling and nothing queued is lost; a bad file is logged and ignored.
 * Signals arrive through a signalfd on the event loop: no handler state.
 * systemd hears READY/RELOADING/STOPPING, a STATUS line per cycle and,
 * under WatchdogSec=, pings from a loop timer while cycles keep running.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent/alert.h"
#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/devstatus.h"
#include "agent/energy/energy.h"
#include "agent/http.h"
#include "agent/latest.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/outputs/output.h"
#include "agent/reload.h"
#include "agent/sdnotify.h"
#include "collectors/collector.h"

#define MAX_OUTPUTS 4
#define FLUSH_ON_EXIT_MS 5000

typedef struct {
    ev_config *cfg;
    ev_loop *loop;
    ev_collector *snmp;
    const ev_device_cfg **devices;
    ev_output *outputs[MAX_OUTPUTS];
    size_t noutputs;
    ev_batch *health; /* scratch batch for the agent's own points */
    ev_devstatus *status; /* each device's last poll (HTTP API, /metrics) */
    ev_latest *latest;    /* the last pue/headroom/alert points published (HTTP API) */
    ev_httpd_view view;
    ev_alerts *alerts;    /* NULL without an alerts: section (alert.h) */
    ev_httpd *httpd;      /* NULL without an http: section */
    ev_energy *energy;    /* PUE and headroom; NULL without a topology: section */
    int sigfd;

    /* the cycle in progress */
    uint64_t next_cycle_ms; /* monotonic time of the next cycle */
    int64_t cycle_ts_ns;
    uint64_t cycle_start_us;
    size_t cycle_expected, cycle_done, cycle_ok, cycle_failed, cycle_late;
    uint64_t cycles, late_total;
    uint64_t cycle_timer;    /* the pending on_cycle timer */
    uint64_t last_cycle_us;  /* when a cycle last began (watchdog health) */
    uint64_t watchdog_ms;    /* ping period, 0 without WatchdogSec= */
    bool watchdog_stalled;   /* logged once per stall */
} agent;

static void usage(FILE *to)
{
    fprintf(to, "usage: evmon agent -c FILE [--log-level LEVEL]\n\n"
                "Poll every configured device each interval and publish the readings to the\n"
                "configured outputs (MQTT, InfluxDB). Runs in the foreground until SIGTERM or\n"
                "SIGINT, then flushes what is queued. Logs go to stderr (journald-ready).\n\n"
                "  -c, --config FILE     configuration (YAML); see `evmon check`\n"
                "      --log-level L     err, warning, notice, info (default), debug\n");
}

/* Encoded once, the same text to every output (output.h write_lp). */
static void write_outputs(agent *a, const ev_batch *b)
{
    ev_latest_feed(a->latest, b);
    ev_lp_text t;
    bool encoded = a->noutputs && ev_lp_encode(&t, b) == 0;
    for (size_t i = 0; i < a->noutputs; i++) {
        ev_output *o = a->outputs[i];
        if (encoded && o->write_lp)
            o->write_lp(o, &t);
        else
            o->write(o, b);
    }
    if (encoded)
        ev_lp_text_free(&t);
}

/* Where alert points go (alert.h): the outputs, not back into the rules. */
static void emit_alert_points(void *ud, const ev_batch *b)
{
    write_outputs(ud, b);
}

static void publish(agent *a, const ev_batch *b)
{
    if (!b->n)
        return;
    write_outputs(a, b);
    if (a->alerts)
        ev_alerts_feed(a->alerts, b);
}

/* Agent-health point for one device poll: which device is slow or failing. */
static void add_device_health(agent *a, const ev_poll_result *r)
{
    ev_point *p = ev_batch_add(a->health, "evmon", a->cycle_ts_ns);
    if (!p)
        return;
    ev_point_tag(a->health, p, "agent", a->cfg->agent_id);
    ev_point_tag(a->health, p, "site", a->cfg->site);
    ev_point_tag(a->health, p, "hall", a->cfg->hall);
    ev_point_tag(a->health, p, "device", r->dev->name);
    ev_point_float(a->health, p, "poll_ok", r->status == EV_POLL_OK || r->status == EV_POLL_PARTIAL);
    ev_point_float(a->health, p, "poll_duration_ms", (double)r->duration_us / 1000.0);
    ev_point_float(a->health, p, "requests", r->requests);
    ev_point_float(a->health, p, "points", r->points ? (double)r->points->n : 0);
    if (r->counters) { /* the device's protocol error totals (collector.h) */
        ev_point_float(a->health, p, "exceptions", (double)r->counters->exceptions);
        ev_point_float(a->health, p, "bad_replies", (double)r->counters->bad_replies);
        ev_point_float(a->health, p, "crc_errors", (double)r->counters->crc_errors);
        ev_point_float(a->health, p, "timeouts", (double)r->counters->timeouts);
        ev_point_float(a->health, p, "reconnects", (double)r->counters->reconnects);
    }
    if (r->status != EV_POLL_OK && r->error)
        ev_point_str(a->health, p, "error", r->error);
}

static void add_cycle_health(agent *a)
{
    ev_point *p = ev_batch_add(a->health, "evmon", a->cycle_ts_ns);
    if (!p)
        return;
    ev_point_tag(a->health, p, "agent", a->cfg->agent_id);
    ev_point_tag(a->health, p, "site", a->cfg->site);
    ev_point_tag(a->health, p, "hall", a->cfg->hall);
    ev_point_float(a->health, p, "devices", (double)a->cfg->ndevices);
    ev_point_float(a->health, p, "devices_ok", (double)a->cycle_ok);
    ev_point_float(a->health, p, "devices_failed", (double)a->cycle_failed);
    ev_point_float(a->health, p, "devices_late", (double)a->cycle_late);
    ev_point_float(a->health, p, "cycle_duration_ms", (double)(ev_now_us() - a->cycle_start_us) / 1000.0);
    for (size_t i = 0; i < a->noutputs; i++) {
        ev_output_stats st;
        char key[64];
        a->outputs[i]->stats(a->outputs[i], &st);
        snprintf(key, sizeof key, "%s_points_sent", a->outputs[i]->name);
        ev_point_float(a->health, p, key, (double)st.points_sent);
        snprintf(key, sizeof key, "%s_points_dropped", a->outputs[i]->name);
        ev_point_float(a->health, p, key, (double)st.points_dropped);
        snprintf(key, sizeof key, "%s_points_queued", a->outputs[i]->name);
        ev_point_float(a->health, p, key, (double)st.points_queued);
        const struct { const char *k; uint64_t v; } spool[] = {
            {"spool_bytes", st.spool_bytes}, {"spool_records", st.spool_records},
            {"spool_points", st.spool_points}, {"spool_dropped", st.spool_dropped},
            {"spool_replayed", st.spool_replayed},
        };
        for (size_t j = 0; j < sizeof spool / sizeof spool[0]; j++) {
            snprintf(key, sizeof key, "%s_%s", a->outputs[i]->name, spool[j].k);
            ev_point_float(a->health, p, key, (double)spool[j].v);
        }
    }
}

/* Once the cycle's devices finished: the pue and headroom points, and the
 * retained hall summary (agent/energy/energy.h). */
static void energy_cycle(agent *a)
{
    if (!a->energy)
        return;
    publish(a, ev_energy_cycle(a->energy, a->cycle_ts_ns));
    ev_energy_publish_summary(a->energy, a->outputs, a->noutputs);
}

/* Collector sink: one device finished (answered, failed or timed out). */
static void on_poll_result(void *ud, const ev_poll_result *r)
{
    agent *a = ud;
    ev_devstatus_record(a->status, r, ev_wall_ns());
    if (r->points)
        publish(a, r->points);
    if (a->energy && r->points)
        ev_energy_feed(a->energy, r->dev->name, r->points);
    ev_batch_clear(a->health);
    add_device_health(a, r);
    if (r->status == EV_POLL_OK || r->status == EV_POLL_PARTIAL)
        a->cycle_ok++;
    else
        a->cycle_failed++;
    if (++a->cycle_done == a->cycle_expected) {
        add_cycle_health(a);
        energy_cycle(a);
        ev_notify_status("%zu devices every %u ms; last cycle: %zu ok, %zu failed, %zu late", a->cfg->ndevices,
                         a->cfg->interval_ms, a->cycle_ok, a->cycle_failed, a->cycle_late);
    }
    publish(a, a->health);
}

static void schedule_next_cycle(agent *a);

static void on_cycle(ev_loop *l, uint64_t id, void *ud)
{
    agent *a = ud;
    uint64_t interval_ns = (uint64_t)a->cfg->interval_ms * 1000000ULL;
    int64_t now = ev_wall_ns();
    a->cycle_timer = 0;
    a->cycle_ts_ns = now - (int64_t)((uint64_t)now % interval_ns); /* aligned slot */
    if (a->alerts)
        ev_alerts_tick(a->alerts, a->cycle_ts_ns); /* missing data, webhook resend, state file */
    a->cycle_start_us = a->last_cycle_us = ev_now_us();
    a->cycle_late = ev_collector_busy(a->snmp);
    a->late_total += a->cycle_late;
    ev_devstatus_cycle(a->status, a->cycle_ts_ns, a->cycle_late);
    if (a->cycle_late)
        ev_warn("cycle %llu: %zu device(s) still busy from the last cycle, skipped this time",
                (unsigned long long)a->cycles, a->cycle_late);
    a->cycle_expected = a->cfg->ndevices - a->cycle_late;
    a->cycle_done = a->cycle_ok = a->cycle_failed = 0;
    a->cycles++;
    schedule_next_cycle(a);
    ev_collector_poll(a->snmp, a->cycle_ts_ns);
}

/* Next slot on the wall-clock grid, timed on the monotonic clock. */
static void schedule_next_cycle(agent *a)
{
    uint64_t interval_ns = (uint64_t)a->cfg->interval_ms * 1000000ULL;
    uint64_t into_slot_ns = (uint64_t)ev_wall_ns() % interval_ns;
    uint64_t wait_ms = (interval_ns - into_slot_ns) / 1000000ULL + 1;
    a->cycle_timer = ev_loop_after(a->loop, wait_ms, on_cycle, a);
}

/* Ping systemd's watchdog only while poll cycles keep starting: a loop
 * that runs timers but lost its schedule is not healthy. */
static void on_watchdog(ev_loop *l, uint64_t id, void *ud)
{
    agent *a = ud;
    uint64_t since_ms = (ev_now_us() - a->last_cycle_us) / 1000;
    if (since_ms <= 2ULL * a->cfg->interval_ms + 5000) {
        ev_notify_watchdog();
        a->watchdog_stalled = false;
    } else if (!a->watchdog_stalled) {
        ev_err("watchdog: no poll cycle for %llu s; not pinging systemd's watchdog",
               (unsigned long long)(since_ms / 1000));
        a->watchdog_stalled = true;
    }
    ev_loop_after(l, a->watchdog_ms, on_watchdog, a);
}

static void warn_exposed_secrets(const ev_config *c)
{
    char msg[512];
    if (ev_config_secrets_exposed(c, msg, sizeof msg))
        ev_warn("%s", msg);
}

static void notify_ready(agent *a)
{
    char st[160];
    snprintf(st, sizeof st, "%zu devices every %u ms, %zu output(s)", a->cfg->ndevices, a->cfg->interval_ms,
             a->noutputs);
    ev_notify_ready(st);
}

/* Load the file again and apply it, or keep the running config. */
static int apply_reload(agent *a)
{
    ev_diag diag = {0};
    ev_config *nc = ev_config_load(a->cfg->path, &diag);
    if (!nc) {
        ev_err("reload: %s has %zu problem%s; still running the previous configuration", a->cfg->path,
               diag.n, diag.n == 1 ? "" : "s");
        for (size_t i = 0; i < diag.n; i++)
            ev_err("reload: %s", diag.msgs[i]);
        ev_diag_free(&diag);
        return -1;
    }
    ev_diag_free(&diag);
    ev_reload_plan plan;
    ev_reload_plan_make(a->cfg, nc, &plan);
    const ev_device_cfg **devs = plan.refuse ? NULL : calloc(nc->ndevices ? nc->ndevices : 1, sizeof *devs);
    for (size_t i = 0; devs && i < nc->ndevices; i++)
        devs[i] = &nc->devices[i];
    if (plan.refuse || !devs || ev_collector_reconfigure(a->snmp, nc, devs, nc->ndevices) < 0) {
        ev_err("reload: %s; still running the previous configuration", plan.refuse ? plan.why : "out of memory");
        free(devs);
        ev_config_free(nc);
        return -1;
    }
    if (plan.outputs_key)
        ev_warn("reload: %s changed: the running outputs are kept (nothing queued is lost); "
                "restart the agent to apply it", plan.outputs_key);
    ev_config *old = a->cfg;
    free(a->devices);
    a->devices = devs;
    a->cfg = nc;
    if (plan.interval_changed && a->cycle_timer) {
        ev_loop_cancel(a->loop, a->cycle_timer);
        schedule_next_cycle(a);
    }
    ev_devstatus_reconfigure(a->status, nc);
    a->energy = ev_energy_renew(a->energy, nc);
    a->view.cfg = nc;
    if (old->alerts || nc->alerts)
        a->alerts = ev_alerts_reload(a->alerts, nc->alerts, a->outputs, a->noutputs, emit_alert_points, a,
                                     ev_wall_ns());
    ev_config_free(old);
    warn_exposed_secrets(a->cfg);
    ev_notice("reload: %s applied: %zu devices every %u ms", a->cfg->path, a->cfg->ndevices, a->cfg->interval_ms);
    return 0;
}

static void reload(agent *a)
{
    ev_notify_reloading();
    apply_reload(a);
    notify_ready(a);
}

static void on_signal(ev_loop *l, int fd, int events, void *ud)
{
    agent *a = ud;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            ev_notice("SIGHUP: reloading %s", a->cfg->path);
            reload(a);
            continue;
        }
        ev_notice("%s: stopping", strsignal((int)si.ssi_signo));
        ev_loop_stop(a->loop);
    }
}

static int open_outputs(agent *a)
{
    if (a->cfg->influx.enabled) {
        ev_output *o = ev_influx_output_new(a->cfg);
        if (!o)
            return -1;
        a->outputs[a->noutputs++] = o;
    }
    if (a->cfg->mqtt.enabled) {
        ev_output *o = ev_mqtt_output_new(a->cfg);
        if (!o)
            return -1;
        a->outputs[a->noutputs++] = o;
    }
    if (!a->noutputs)
        ev_warn("no outputs configured: readings are polled but go nowhere (try `evmon once`)");
    return 0;
}

/* The device registry and last-points store, and the HTTP server (API,
 * /metrics, the live page) when the config has an http: section. */
static int open_http(agent *a)
{
    static const char *const kept[] = {"pue", "headroom", "alert", NULL};
    a->status = ev_devstatus_new(a->cfg);
    a->latest = ev_latest_new(kept, 10000);
    if (!a->status || !a->latest)
        return -1;
    a->view = (ev_httpd_view){.role = "agent", .cfg = a->cfg, .status = a->status, .latest = a->latest,
                              .outputs = a->outputs, .noutputs = a->noutputs};
    if (a->cfg->http.enabled && !(a->httpd = ev_httpd_start(a->loop, a->cfg->http.listen, &a->view)))
        return -1;
    return 0;
}

static int start(agent *a, const char *path)
{
    ev_diag diag = {0};
    a->cfg = ev_config_load(path, &diag);
    if (!a->cfg) {
        ev_diag_print(&diag, stderr);
        ev_diag_free(&diag);
        return -1;
    }
    ev_diag_free(&diag);
    a->loop = ev_loop_new();
    a->health = ev_batch_new();
    a->devices = calloc(a->cfg->ndevices ? a->cfg->ndevices : 1, sizeof *a->devices);
    if (!a->loop || !a->health || !a->devices || (a->sigfd = ev_loop_watch_signals(a->loop, on_signal, a)) < 0) {
        ev_err("agent: cannot start: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < a->cfg->ndevices; i++)
        a->devices[i] = &a->cfg->devices[i];
    if (open_outputs(a) < 0 || open_http(a) < 0)
        return -1;
    if (a->cfg->alerts && !(a->alerts = ev_alerts_new(a->cfg->alerts, a->outputs, a->noutputs,
                                                      emit_alert_points, a, ev_wall_ns())))
        return -1;
    if (a->cfg->topology && !(a->energy = ev_energy_new(a->cfg)))
        return -1;
    /* every device, SNMP and Modbus, behind one collector (collectors/collectors.c) */
    a->snmp = ev_collectors_new(a->loop, a->cfg, a->devices, a->cfg->ndevices, on_poll_result, a);
    if (!a->snmp)
        return -1;
    ev_notice("agent %s (site %s, hall %s): %zu devices every %u ms, %zu output(s)", a->cfg->agent_id,
              a->cfg->site, a->cfg->hall, a->cfg->ndevices, a->cfg->interval_ms, a->noutputs);
    warn_exposed_secrets(a->cfg);
    a->last_cycle_us = ev_now_us();
    a->cycle_timer = ev_loop_after(a->loop, 0, on_cycle, a); /* first poll now, then on the grid */
    if ((a->watchdog_ms = ev_notify_watchdog_interval_ms()))
        ev_loop_after(a->loop, a->watchdog_ms, on_watchdog, a);
    notify_ready(a);
    return 0;
}

static void stop(agent *a)
{
    ev_notify_stopping();
    ev_alerts_free(a->alerts); /* saves the alert state; before the outputs go */
    ev_httpd_stop(a->httpd);
    if (a->snmp)
        ev_collector_free(a->snmp);
    for (size_t i = 0; i < a->noutputs; i++) {
        if (a->outputs[i]->flush(a->outputs[i], FLUSH_ON_EXIT_MS) != 0)
            ev_warn("output %s: not everything was delivered before exit", a->outputs[i]->name);
        a->outputs[i]->free(a->outputs[i]);
    }
    if (a->sigfd > 0)
        close(a->sigfd);
    ev_energy_free(a->energy);
    ev_batch_free(a->health);
    ev_devstatus_free(a->status);
    ev_latest_free(a->latest);
    ev_loop_free(a->loop);
    free(a->devices);
    ev_config_free(a->cfg);
}

int cmd_agent(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'L':
            if (ev_log_parse_level(optarg) < 0) {
                fprintf(stderr, "evmon agent: unknown log level '%s'\n", optarg);
                return 2;
            }
            ev_log_set_level(ev_log_parse_level(optarg));
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    agent a = {.sigfd = -1};
    int rc = 1;
    if (start(&a, path) == 0) {
        ev_loop_run(a.loop);
        rc = 0;
    }
    stop(&a);
    return rc;
}
