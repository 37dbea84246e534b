/*
 * cmd_once.c - `evmon once -c FILE`: poll every device once, print line
 * protocol.
 *
 * Loads the config as the agent would, starts every device on one event
 * loop without waiting for any other (collectors/snmp.c paces large fleets
 * over a quarter of the interval; collectors/modbus.c), and when all have finished prints
 * their points as InfluxDB line protocol on stdout, device by device in
 * config order; per-device problems go to stderr. Exit 0 when every
 * device answered (a partial answer counts, with a warning), 1 when any
 * did not, 2 on a usage or config error. Like `telegraf --test`: nothing
 * is published.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/buf.h"
#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/lineproto.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "collectors/collector.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: evmon once -c FILE [-v]\n"
            "\n"
            "Poll every device of the config once, concurrently, and print\n"
            "their points as InfluxDB line protocol on stdout (nothing is published).\n"
            "Per-device errors go to stderr. Exits 0 when every device answered,\n"
            "1 when any did not, 2 on a usage or config error.\n"
            "\n"
            "  -c, --config FILE   the agent config\n"
            "  -s, --seconds       timestamps in seconds (default nanoseconds)\n"
            "  -v, --verbose       log more (twice: debug)\n"
            "  -h, --help          this text\n");
}

typedef struct {
    const ev_config *cfg;
    ev_buf *out;      /* one per device, printed in config order */
    ev_precision prec;
    size_t failed, partial, points;
} once_state;

static void on_result(void *ud, const ev_poll_result *r)
{
    once_state *s = ud;
    size_t i = (size_t)(r->dev - s->cfg->devices);
    const char *name = r->dev->name, *addr = r->dev->address;
    static const char *const status[] = {"ok", "partial", "timeout", "error"};
    size_t npts = r->points ? r->points->n : 0;
    if (npts && i < s->cfg->ndevices)
        s->points += ev_lp_batch(&s->out[i], r->points, s->prec);
    ev_info("device '%s' (%s): %s in %.1f ms, %u requests, %zu points", name, addr,
            status[r->status], (double)r->duration_us / 1000.0, r->requests, npts);
    switch (r->status) {
    case EV_POLL_OK:
        break;
    case EV_POLL_PARTIAL:
        s->partial++;
        fprintf(stderr, "evmon once: device '%s' (%s): partly read: %s\n", name, addr, r->error);
        break;
    default:
        s->failed++;
        fprintf(stderr, "evmon once: device '%s' (%s): %s\n", name, addr,
                r->error ? r->error : "failed");
        break;
    }
}

static int run(const ev_config *cfg, ev_precision prec)
{
    once_state s = {.cfg = cfg, .prec = prec};
    const ev_device_cfg **devs = calloc(cfg->ndevices + 1, sizeof *devs);
    s.out = calloc(cfg->ndevices + 1, sizeof *s.out);
    ev_loop *loop = ev_loop_new();
    ev_collector *c = NULL;
    int rc = 1;
    if (!devs || !s.out || !loop) {
        fprintf(stderr, "evmon once: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < cfg->ndevices; i++) {
        devs[i] = &cfg->devices[i];
        ev_buf_init(&s.out[i]);
    }
    c = ev_collectors_new(loop, cfg, devs, cfg->ndevices, on_result, &s); /* SNMP and Modbus */
    if (!c) {
        fprintf(stderr, "evmon once: cannot set up the collectors\n");
        goto out;
    }
    uint64_t t0 = ev_now_us();
    ev_collector_poll(c, ev_wall_ns());
    while (ev_collector_busy(c) > 0)
        ev_loop_once(loop, 1000);
    for (size_t i = 0; i < cfg->ndevices; i++)
        if (s.out[i].len)
            fwrite(s.out[i].p, 1, s.out[i].len, stdout);
    fflush(stdout);
    ev_info("once: %zu devices, %zu failed, %zu partial, %zu points in %.3f s", cfg->ndevices,
            s.failed, s.partial, s.points, (double)(ev_now_us() - t0) / 1e6);
    rc = s.failed ? 1 : 0;
out:
    ev_collector_free(c);
    ev_loop_free(loop);
    if (s.out)
        for (size_t i = 0; i < cfg->ndevices; i++)
            ev_buf_free(&s.out[i]);
    free(s.out);
    free(devs);
    return rc;
}

int cmd_once(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"seconds", no_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *path = NULL;
    ev_precision prec = EV_PREC_NS;
    int verbose = 0, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:svh", opts, NULL)) != -1) {
        switch (o) {
        case 'c': path = optarg; break;
        case 's': prec = EV_PREC_S; break;
        case 'v': verbose++; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    /* Device errors are printed once each below; the collector's own log
     * lines would repeat them. */
    ev_log_set_level(verbose >= 2 ? EV_LOG_DEBUG : verbose ? EV_LOG_INFO : EV_LOG_ERR);

    ev_diag diag = {0};
    ev_config *cfg = ev_config_load(path, &diag);
    if (!cfg) {
        ev_diag_print(&diag, stderr);
        ev_diag_free(&diag);
        return 2;
    }
    ev_diag_free(&diag);
    int rc = run(cfg, prec);
    ev_config_free(cfg);
    return rc;
}
