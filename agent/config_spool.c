/*
 * config_spool.c - the `spool:` section: where the outputs keep what they
 * cannot deliver (agent/outputs/spool.h), read with config_read.h.
 *
 *   spool:
 *     dir: /var/lib/evmon/spool   # one subdirectory per output
 *     max_size: 1GiB              # per output: bytes, or with kB/MB/GB/KiB/MiB/GiB
 *     fsync: 1s                   # always | never | a period (default 1s)
 *     replay_rate: 20000          # points per second sent from disk once the store is back
 */
#include "agent/config_spool.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/outputs/spool.h"

void cfg_spool_defaults(ev_spool_cfg *s)
{
    *s = (ev_spool_cfg){.max_bytes = 1ull << 30, .fsync = EV_FSYNC_PERIODIC,
                        .fsync_interval_ms = 1000, .replay_rate = 20000};
}

void cfg_spool_free(ev_spool_cfg *s)
{
    free(s->dir);
    s->dir = NULL;
}

/* "1048576", "512kB", "64MB", "1GiB": bytes, or 0 when not a size. */
static unsigned long long parse_size(const char *t)
{
    static const struct { const char *u; unsigned long long m; } units[] = {
        {"", 1}, {"B", 1}, {"kB", 1000ull}, {"KB", 1000ull}, {"MB", 1000000ull}, {"GB", 1000000000ull},
        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40},
    };
    char *end;
    if (!t || *t < '0' || *t > '9')
        return 0;
    unsigned long long n = strtoull(t, &end, 10);
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].u) == 0)
            return n > ~0ull / units[i].m ? 0 : n * units[i].m;
    return 0;
}

static void spool_max_size(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "a size");
    if (!t)
        return;
    unsigned long long n = parse_size(t);
    if (n < 65536)
        cfg_error(cx, cfg_line(v), "%s: bad size '%s' (expected at least 64KiB, e.g. 512MiB or 2GB)", label, t);
    else
        ((ev_spool_cfg *)obj)->max_bytes = n;
}

static void spool_fsync(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_spool_cfg *s = obj;
    const char *t = cfg_scalar(cx, k, v, label, "always, never or a period");
    if (!t)
        return;
    if (!strcasecmp(t, "always")) {
        s->fsync = EV_FSYNC_ALWAYS;
        return;
    }
    if (!strcasecmp(t, "never")) {
        s->fsync = EV_FSYNC_NEVER;
        return;
    }
    long long ms = ev_parse_duration_ms(t);
    if (ms < 10 || ms > 3600000) {
        cfg_error(cx, cfg_line(v), "%s: bad value '%s' (expected always, never or a period from 10ms to 1h,"
                  " e.g. 1s)", label, t);
        return;
    }
    s->fsync = EV_FSYNC_PERIODIC;
    s->fsync_interval_ms = (unsigned)ms;
}

static const cfg_field spool_fields[] = {
    {.key = "dir", .kind = K_STR, .off = offsetof(ev_spool_cfg, dir)},
    {.key = "max_size", .kind = K_CUSTOM, .fn = spool_max_size},
    {.key = "fsync", .kind = K_CUSTOM, .fn = spool_fsync},
    {.key = "replay_rate", .kind = K_UINT, .off = offsetof(ev_spool_cfg, replay_rate), .min = 1, .max = 10000000},
};
static const cfg_table spool_table = {FIELDS(spool_fields), NULL, NULL};

void cfg_top_spool(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_spool_cfg *s = &((ev_config *)obj)->spool;
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &spool_table, s, label, NULL);
    if (s->dir && !*s->dir)
        cfg_error(cx, cfg_line(k), "%s: dir must not be empty (leave it out to run without a spool)", label);
}
