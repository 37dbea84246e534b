/*
 * cmd_check.c - `evmon check -c FILE`: validate a config and its profiles.
 *
 * Loads the file exactly as the agent would (config.h) and either prints a
 * one-line summary on stdout (exit 0) or every FILE:LINE: diagnostic on
 * stderr (exit 1). Usage errors exit 2. Meant for CI and for a systemd
 * ExecStartPre= line, so a bad config never replaces a running agent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/hub_config.h"
#include "agent/profile.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: evmon check -c FILE [--profiles DIR]\n"
            "\n"
            "Validate an agent config file and the device profiles it names.\n"
            "Prints 'FILE: ok: ...' and exits 0 when the file is good; otherwise\n"
            "prints every problem as FILE:LINE: message on stderr and exits 1.\n"
            "A hub's file (top-level hub: key) is checked as the hub reads it.\n"
            "\n"
            "  -c, --config FILE    the config to check\n"
            "  -p, --profiles DIR   profiles directory (overrides agent.profiles_dir)\n"
            "  -h, --help           this text\n");
}

static int cmp_ptr(const void *a, const void *b)
{
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    return (x > y) - (x < y);
}

/* Distinct profiles the devices use. */
static size_t profiles_in_use(const ev_config *c)
{
    const void **v = malloc((c->ndevices + 1) * sizeof *v);
    size_t n = 0, distinct = 0;

    if (!v)
        return 0;
    for (size_t i = 0; i < c->ndevices; i++)
        if (c->devices[i].profile)
            v[n++] = c->devices[i].profile;
    qsort(v, n, sizeof *v, cmp_ptr);
    for (size_t i = 0; i < n; i++)
        distinct += !i || v[i] != v[i - 1];
    free(v);
    return distinct;
}

static void summary(const ev_config *c, FILE *to)
{
    size_t np = profiles_in_use(c);
    fprintf(to, "%s: ok: %zu device%s, %zu profile%s, outputs:%s%s%s\n", c->path, c->ndevices,
            c->ndevices == 1 ? "" : "s", np, np == 1 ? "" : "s", c->influx.enabled ? " influxdb" : "",
            c->mqtt.enabled ? " mqtt" : "", c->influx.enabled || c->mqtt.enabled ? "" : " none");
}

int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"profiles", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *profiles = NULL;
    int opt;

    optind = 0; /* glibc: rescan from scratch, even if getopt ran before */
    while ((opt = getopt_long(argc, argv, "c:p:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'p':
            profiles = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "evmon check: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!path) {
        fprintf(stderr, "evmon check: no config file (use -c FILE)\n");
        usage(stderr);
        return 2;
    }

    if (ev_hub_config_detect(path)) /* a hub's file: top-level hub: key (docs/HUB.md) */
        return cmd_check_hub(path);
    ev_diag diag = {0};
    ev_config *c = ev_config_load_with_profiles(path, profiles, &diag);
    ev_diag_print(&diag, stderr);
    int rc = 0;
    if (c) {
        char warn[512];
        if (ev_config_secrets_exposed(c, warn, sizeof warn))
            fprintf(stderr, "%s\n", warn);
        summary(c, stdout);
    } else {
        fprintf(stderr, "%s: %zu problem%s found\n", path, diag.n, diag.n == 1 ? "" : "s");
        rc = 1;
    }
    ev_config_free(c);
    ev_diag_free(&diag);
    return rc;
}
