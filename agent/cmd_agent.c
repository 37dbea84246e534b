/*
 * cmd_agent.c - `evmon agent`: the daemon's main loop.
 *
 * Loads the config, opens the outputs, hands every SNMP device to the
 * collector, and polls on a fixed schedule aligned to the wall clock
 * (every 10 s at :00, :10, ...), so that every agent stamps a cycle with
 * the same timestamp and a replayed point lands on the same series and
 * time in the store. Each device's points go to every output as soon as
 * that device finishes; the agent's own health goes out as the `evmon`
 * measurement. SIGTERM/SIGINT stop it after flushing the outputs.
 * Signals arrive through a signalfd on the event loop: no handler state.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/outputs/output.h"
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
    int sigfd;

    /* the cycle in progress */
    uint64_t next_cycle_ms; /* monotonic time of the next cycle */
    int64_t cycle_ts_ns;
    uint64_t cycle_start_us;
    size_t cycle_expected, cycle_done, cycle_ok, cycle_failed, cycle_late;
    uint64_t cycles, late_total;
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

static int parse_level(const char *s)
{
    static const struct { const char *n; int l; } lv[] = {
        {"err", EV_LOG_ERR}, {"error", EV_LOG_ERR}, {"warning", EV_LOG_WARNING},
        {"notice", EV_LOG_NOTICE}, {"info", EV_LOG_INFO}, {"debug", EV_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof lv / sizeof lv[0]; i++)
        if (!strcmp(s, lv[i].n))
            return lv[i].l;
    return -1;
}

static void publish(agent *a, const ev_batch *b)
{
    if (!b->n)
        return;
    for (size_t i = 0; i < a->noutputs; i++)
        a->outputs[i]->write(a->outputs[i], b);
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
    }
}

/* Collector sink: one device finished (answered, failed or timed out). */
static void on_poll_result(void *ud, const ev_poll_result *r)
{
    agent *a = ud;
    if (r->points)
        publish(a, r->points);
    ev_batch_clear(a->health);
    add_device_health(a, r);
    if (r->status == EV_POLL_OK || r->status == EV_POLL_PARTIAL)
        a->cycle_ok++;
    else
        a->cycle_failed++;
    if (++a->cycle_done == a->cycle_expected)
        add_cycle_health(a);
    publish(a, a->health);
}

static void schedule_next_cycle(agent *a);

static void on_cycle(ev_loop *l, uint64_t id, void *ud)
{
    agent *a = ud;
    uint64_t interval_ns = (uint64_t)a->cfg->interval_ms * 1000000ULL;
    int64_t now = ev_wall_ns();
    a->cycle_ts_ns = now - (int64_t)((uint64_t)now % interval_ns); /* aligned slot */
    a->cycle_start_us = ev_now_us();
    a->cycle_late = ev_collector_busy(a->snmp);
    a->late_total += a->cycle_late;
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
    ev_loop_after(a->loop, wait_ms, on_cycle, a);
}

static void on_signal(ev_loop *l, int fd, int events, void *ud)
{
    agent *a = ud;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            ev_notice("SIGHUP: configuration reload is not supported yet; restart to apply changes");
            continue;
        }
        ev_notice("%s: stopping", strsignal((int)si.ssi_signo));
        ev_loop_stop(a->loop);
    }
}

static int open_signals(agent *a)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (a->sigfd < 0)
        return -1;
    return ev_loop_watch(a->loop, a->sigfd, EV_READ, on_signal, a);
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
    if (!a->loop || !a->health || !a->devices || open_signals(a) < 0) {
        ev_err("agent: cannot start: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < a->cfg->ndevices; i++)
        a->devices[i] = &a->cfg->devices[i];
    if (open_outputs(a) < 0)
        return -1;
    a->snmp = ev_snmp_collector_new(a->loop, a->cfg, a->devices, a->cfg->ndevices, on_poll_result, a);
    if (!a->snmp)
        return -1;
    ev_notice("agent %s (site %s, hall %s): %zu devices every %u ms, %zu output(s)", a->cfg->agent_id,
              a->cfg->site, a->cfg->hall, a->cfg->ndevices, a->cfg->interval_ms, a->noutputs);
    ev_loop_after(a->loop, 0, on_cycle, a); /* first poll now, then on the grid */
    return 0;
}

static void stop(agent *a)
{
    if (a->snmp)
        ev_collector_free(a->snmp);
    for (size_t i = 0; i < a->noutputs; i++) {
        if (a->outputs[i]->flush(a->outputs[i], FLUSH_ON_EXIT_MS) != 0)
            ev_warn("output %s: not everything was delivered before exit", a->outputs[i]->name);
        a->outputs[i]->free(a->outputs[i]);
    }
    if (a->sigfd > 0)
        close(a->sigfd);
    ev_batch_free(a->health);
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
            if (parse_level(optarg) < 0) {
                fprintf(stderr, "evmon agent: unknown log level '%s'\n", optarg);
                return 2;
            }
            ev_log_set_level(parse_level(optarg));
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
