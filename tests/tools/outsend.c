/*
 * outsend.c - push a synthetic batch through one output (InfluxDB or MQTT)
 * without the agent, for the output integration tests
 * (tests/integration/test_output_*.sh).
 *
 *   outsend influx URL [--db NAME] [--user U --password P] [--no-gzip]
 *                      [--batch-size N] [--max-queue N]
 *                      [--token T] [--org O] [--bucket B]   (InfluxDB 2.x API)
 *   outsend mqtt URL   [--prefix P] [--client-id ID] [--qos N]
 *   common: [--agent-id ID] [--site S] [--hall H] [--devices N] [--points N]
 *           [--device-name NAME] [--evmon] [--flush-ms MS] [--hold] [--debug]
 *           [--ca-file F] [--spool DIR] [--spool-max BYTES] [--replay-rate N]
 *           [--rounds N --every MS]
 *
 * --rounds writes N batches (rounds) of devices*points points, one every
 * --every ms, the point numbers k (and so the timestamps) running on from
 * round to round, and prints "wrote K" (points written so far) after each,
 * so a test that kill -9s it knows how many points were produced.
 *
 * The batch: for k = 0 .. devices*points-1, one `power` point tagged
 * site, hall, device=dev-<k / points> (or --device-name for the first
 * device), phase=L1, with active_power_w = 1000 + k/2, energy_wh = 10 k and
 * timestamp 1700000000 s + k s; --evmon adds one `evmon` point without a
 * device tag (points_polled = N). After write() and flush(--flush-ms),
 * prints "in=.. sent=.. dropped=.. queued=.. errors=.." and, with --hold,
 * waits for SIGTERM or SIGINT before free() (a graceful stop). Exit status
 * 0 when flush() reported everything sent, 1 when not, 2 on bad usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/config.h"
#include "agent/log.h"
#include "agent/outputs/output.h"
#include "agent/point.h"

#define T0_NS 1700000000000000000LL

typedef struct {
    const char *kind, *url;
    unsigned devices, points, flush_ms;
    const char *device_name;
    int evmon, hold, debug;
    unsigned rounds, every_ms;
} opts;

static void usage(void)
{
    fprintf(stderr,
            "usage: outsend influx URL [--db NAME] [--user U --password P] [--no-gzip]\n"
            "                          [--batch-size N] [--max-queue N]\n"
            "       outsend mqtt URL [--prefix P] [--client-id ID] [--qos N]\n"
            "  common: [--agent-id ID] [--site S] [--hall H] [--devices N] [--points N]\n"
            "          [--device-name NAME] [--evmon] [--flush-ms MS] [--hold] [--debug]\n"
            "          [--ca-file F] [--spool DIR] [--spool-max BYTES] [--replay-rate N]\n"
            "          [--rounds N --every MS]   influx: [--token T] [--org O] [--bucket B]\n");
}

static unsigned num(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0') {
        fprintf(stderr, "outsend: '%s' is not a number\n", s);
        exit(2);
    }
    return (unsigned)v;
}

static int parse(int argc, char **argv, opts *o, ev_config *c)
{
    if (argc < 3)
        return -1;
    o->kind = argv[1];
    o->url = argv[2];
    o->devices = 3;
    o->points = 4;
    o->flush_ms = 10000;
    o->rounds = 1;
    c->agent_id = "outsend";
    c->site = "site1";
    c->hall = "hall1";
    c->influx = (ev_influx_cfg){.enabled = true, .database = "evmon", .batch_size = 5000,
                                .timeout_ms = 5000, .gzip = true, .max_queue = 100000};
    c->mqtt = (ev_mqtt_cfg){.enabled = true, .topic_prefix = "evalley", .qos = 1};
    c->spool = (ev_spool_cfg){.max_bytes = 1ull << 30, .fsync_interval_ms = 1000, .replay_rate = 20000};
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (OPT("--db")) c->influx.database = (char *)v;
        else if (OPT("--user")) c->influx.username = c->mqtt.username = (char *)v;
        else if (OPT("--password")) c->influx.password = c->mqtt.password = (char *)v;
        else if (strcmp(a, "--no-gzip") == 0) c->influx.gzip = false;
        else if (OPT("--batch-size")) c->influx.batch_size = num(v);
        else if (OPT("--max-queue")) c->influx.max_queue = num(v);
        else if (OPT("--token")) c->influx.token = (char *)v;
        else if (OPT("--org")) c->influx.org = (char *)v;
        else if (OPT("--bucket")) c->influx.bucket = (char *)v;
        else if (OPT("--ca-file")) c->influx.ca_file = c->mqtt.ca_file = (char *)v;
        else if (OPT("--spool")) c->spool.dir = (char *)v;
        else if (OPT("--spool-max")) c->spool.max_bytes = num(v);
        else if (OPT("--replay-rate")) c->spool.replay_rate = num(v);
        else if (OPT("--rounds")) o->rounds = num(v);
        else if (OPT("--every")) o->every_ms = num(v);
        else if (OPT("--prefix")) c->mqtt.topic_prefix = (char *)v;
        else if (OPT("--client-id")) c->mqtt.client_id = (char *)v;
        else if (OPT("--qos")) c->mqtt.qos = (int)num(v);
        else if (OPT("--agent-id")) c->agent_id = (char *)v;
        else if (OPT("--site")) c->site = (char *)v;
        else if (OPT("--hall")) c->hall = (char *)v;
        else if (OPT("--devices")) o->devices = num(v);
        else if (OPT("--points")) o->points = num(v);
        else if (OPT("--device-name")) o->device_name = v;
        else if (OPT("--flush-ms")) o->flush_ms = num(v);
        else if (strcmp(a, "--evmon") == 0) o->evmon = 1;
        else if (strcmp(a, "--hold") == 0) o->hold = 1;
        else if (strcmp(a, "--debug") == 0) o->debug = 1;
        else {
            fprintf(stderr, "outsend: unknown or incomplete option '%s'\n", a);
            return -1;
        }
#undef OPT
    }
    c->influx.url = c->mqtt.url = (char *)o->url;
    return strcmp(o->kind, "influx") == 0 || strcmp(o->kind, "mqtt") == 0 ? 0 : -1;
}

static ev_batch *make_batch(const opts *o, const ev_config *c, unsigned round)
{
    ev_batch *b = ev_batch_new();
    unsigned n = o->devices * o->points;
    for (unsigned k = round * n; k < (round + 1) * n; k++) {
        char dev[64];
        unsigned d = (k % n) / o->points;
        if (d == 0 && o->device_name)
            snprintf(dev, sizeof dev, "%s", o->device_name);
        else
            snprintf(dev, sizeof dev, "dev-%u", d);
        ev_point *p = ev_batch_add(b, "power", T0_NS + (int64_t)k * 1000000000LL);
        ev_point_tag(b, p, "site", c->site);
        ev_point_tag(b, p, "hall", c->hall);
        ev_point_tag(b, p, "device", dev);
        ev_point_tag(b, p, "phase", "L1");
        ev_point_float(b, p, "active_power_w", 1000 + k / 2.0);
        ev_point_float(b, p, "energy_wh", 10.0 * k);
    }
    if (o->evmon) {
        ev_point *p = ev_batch_add(b, "evmon", T0_NS);
        ev_point_tag(b, p, "site", c->site);
        ev_point_tag(b, p, "hall", c->hall);
        ev_point_float(b, p, "points_polled", n);
    }
    return b;
}

int main(int argc, char **argv)
{
    opts o = {0};
    ev_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (parse(argc, argv, &o, &cfg) < 0) {
        usage();
        return 2;
    }
    ev_log_set_level(o.debug ? EV_LOG_DEBUG : EV_LOG_INFO);

    /* Block the stop signals before any output thread exists, so that only
     * sigwait() below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    ev_output *out = strcmp(o.kind, "influx") == 0 ? ev_influx_output_new(&cfg)
                                                   : ev_mqtt_output_new(&cfg);
    if (!out)
        return 1;
    int rc = 0;
    for (unsigned r = 0; r < o.rounds && rc == 0; r++) {
        if (r > 0 && o.every_ms)
            nanosleep(&(struct timespec){o.every_ms / 1000, (long)(o.every_ms % 1000) * 1000000L}, NULL);
        ev_batch *b = make_batch(&o, &cfg, r);
        rc = b->n ? out->write(out, b) : 0;
        ev_batch_free(b);
        if (o.rounds > 1) {
            printf("wrote %u\n", (r + 1) * o.devices * o.points);
            fflush(stdout);
        }
    }
    if (rc == 0)
        rc = out->flush(out, o.flush_ms);
    ev_output_stats st;
    out->stats(out, &st);
    printf("in=%llu sent=%llu dropped=%llu queued=%llu errors=%llu\n",
           (unsigned long long)st.points_in, (unsigned long long)st.points_sent,
           (unsigned long long)st.points_dropped, (unsigned long long)st.points_queued,
           (unsigned long long)st.errors);
    fflush(stdout);
    if (o.hold) {
        int sig;
        sigwait(&stop, &sig);
        fprintf(stderr, "outsend: signal %d, stopping\n", sig);
    }
    out->free(out);
    return rc == 0 ? 0 : 1;
}
