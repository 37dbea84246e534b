/*
 * cmd_hub.c - `evmon hub -c FILE`: run the hub (hub.h) in the foreground
 * until SIGTERM/SIGINT, then flush InfluxDB and say "offline". Also
 * `evmon check` on a hub file (cmd_check_hub). Signals arrive through a
 * signalfd on the event loop, as in the agent.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent/cmd.h"
#include "agent/hub.h"
#include "agent/hub_config.h"
#include "agent/hub_reload.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/sdnotify.h"

#define FLUSH_ON_EXIT_MS 5000

static void usage(FILE *to)
{
    fprintf(to, "usage: evmon hub -c FILE [--log-level LEVEL]\n\n"
                "Subscribe to the agents' MQTT topics (a shared subscription, so several hubs\n"
                "split the ingest), write every point to InfluxDB, and publish the cluster and\n"
                "site roll-up (energy-weighted PUE, coverage, demand and headroom against the\n"
                "cluster target) to InfluxDB and as retained <prefix>/cluster/summary and\n"
                "<prefix>/<site>/summary. Runs until SIGTERM or SIGINT; SIGHUP reloads FILE\n"
                "(sites, capacities, cluster target, stale_after, interval, alert rules).\n"
                "See docs/HUB.md.\n\n"
                "  -c, --config FILE     the hub's configuration (YAML, with a top-level hub: key)\n"
                "      --log-level L     err, warning, notice, info (default), debug\n");
}

/* What the signal handler works on. cfg is the file the hub runs on; a
 * reload replaces it. */
typedef struct {
    ev_loop *loop;
    ev_hub *hub;
    ev_hub_config *cfg;
} hub_run;

static void notify_ready(const hub_run *r)
{
    char st[200];
    snprintf(st, sizeof st, "hub %s: cluster '%s', %zu site%s, roll-up every %u ms", r->cfg->id,
             r->cfg->cluster_name, r->cfg->nsites, r->cfg->nsites == 1 ? "" : "s", r->cfg->interval_ms);
    ev_notify_ready(st);
}

/* Load the file again and apply it (hub_reload.h says what may change),
 * or keep the running one. */
static int apply_reload(hub_run *r)
{
    ev_diag diag = {0};
    ev_hub_config *nc = ev_hub_config_load(r->cfg->path, &diag);
    if (!nc) {
        ev_err("reload: %s has %zu problem%s; still running the previous configuration", r->cfg->path, diag.n,
               diag.n == 1 ? "" : "s");
        for (size_t i = 0; i < diag.n; i++)
            ev_err("reload: %s", diag.msgs[i]);
        ev_diag_free(&diag);
        return -1;
    }
    ev_diag_free(&diag);
    ev_hub_reload_plan plan;
    ev_hub_reload_plan_make(r->cfg, nc, &plan);
    if (plan.refuse || ev_hub_reload(r->hub, nc) < 0) {
        ev_err("reload: %s; still running the previous configuration", plan.refuse ? plan.why : "out of memory");
        ev_hub_config_free(nc);
        return -1;
    }
    if (plan.kept_key)
        ev_warn("reload: %s changed: the running MQTT session and InfluxDB writer are kept (nothing queued is "
                "lost); restart the hub to apply it", plan.kept_key);
    ev_hub_config_free(r->cfg);
    r->cfg = nc;
    ev_notice("reload: %s applied", nc->path);
    return 0;
}

static void on_signal(ev_loop *l, int fd, int events, void *ud)
{
    hub_run *r = ud;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            ev_notice("SIGHUP: reloading %s", r->cfg->path);
            ev_notify_reloading();
            apply_reload(r);
            notify_ready(r);
            continue;
        }
        ev_notice("%s: stopping", strsignal((int)si.ssi_signo));
        ev_loop_stop(l);
    }
}

/* systemd's watchdog (WatchdogSec= in evmon-hub.service): pinged from a
 * loop timer, so a stuck loop stops the pings. */
static void on_watchdog(ev_loop *l, uint64_t id, void *ud)
{
    ev_notify_watchdog();
    ev_loop_after(l, ev_notify_watchdog_interval_ms(), on_watchdog, ud);
}

/* Run the hub on *cfgp until a stop signal; *cfgp is then the file in use
 * (a reload may have replaced it). */
static int run(ev_hub_config **cfgp)
{
    hub_run r = {.loop = ev_loop_new(), .cfg = *cfgp};
    int sigfd = r.loop ? ev_loop_watch_signals(r.loop, on_signal, &r) : -1;
    r.hub = sigfd >= 0 ? ev_hub_new(r.cfg, r.loop) : NULL;
    if (!r.hub) {
        if (sigfd < 0)
            ev_err("hub: cannot set up the event loop and signals");
        if (sigfd >= 0)
            close(sigfd);
        ev_loop_free(r.loop);
        return 1;
    }
    if (ev_notify_watchdog_interval_ms())
        ev_loop_after(r.loop, ev_notify_watchdog_interval_ms(), on_watchdog, NULL);
    notify_ready(&r);
    ev_loop_run(r.loop);
    ev_notify_stopping();

    ev_hub_stats st;
    ev_hub_get_stats(r.hub, &st);
    ev_notice("hub: %llu messages, %llu points, %llu malformed, %llu roll-ups", (unsigned long long)st.messages,
              (unsigned long long)st.points, (unsigned long long)st.malformed, (unsigned long long)st.rollups);
    ev_hub_free(r.hub, FLUSH_ON_EXIT_MS);
    ev_loop_unwatch(r.loop, sigfd);
    close(sigfd);
    ev_loop_free(r.loop);
    *cfgp = r.cfg;
    return 0;
}

int cmd_hub(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int opt, level;

    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'l':
            if ((level = ev_log_parse_level(optarg)) < 0) {
                fprintf(stderr, "evmon hub: bad log level '%s'\n", optarg);
                return 2;
            }
            ev_log_set_level(level);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !path) {
        fprintf(stderr, optind < argc ? "evmon hub: unexpected argument '%s'\n" : "evmon hub: no config file (use -c FILE)\n",
                optind < argc ? argv[optind] : "");
        usage(stderr);
        return 2;
    }
    ev_diag diag = {0};
    ev_hub_config *cfg = ev_hub_config_load(path, &diag);
    ev_diag_print(&diag, stderr);
    ev_diag_free(&diag);
    if (!cfg)
        return 1;
    int rc = run(&cfg);
    ev_hub_config_free(cfg);
    return rc;
}

int cmd_check_hub(const char *path)
{
    ev_diag diag = {0};
    ev_hub_config *c = ev_hub_config_load(path, &diag);
    int rc = c ? 0 : 1;
    ev_diag_print(&diag, stderr);
    if (c) {
        size_t halls = 0;
        for (size_t i = 0; i < c->nsites; i++)
            halls += c->sites[i].nhalls;
        printf("%s: ok: hub '%s', cluster '%s' (target %.6g MW), %zu site%s, %zu expected hall%s\n", c->path, c->id,
               c->cluster_name, c->target_w / 1e6, c->nsites, c->nsites == 1 ? "" : "s", halls, halls == 1 ? "" : "s");
    } else {
        fprintf(stderr, "%s: %zu problem%s found\n", path, diag.n, diag.n == 1 ? "" : "s");
    }
    ev_diag_free(&diag);
    ev_hub_config_free(c);
    return rc;
}
