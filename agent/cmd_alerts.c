/*
 * cmd_alerts.c - `evmon alerts -c FILE`: list the active alerts.
 *
 * FILE is an agent's or a hub's configuration (told apart by its top-level
 * agent: or hub: key, hub_config.h); both have the same alerts: section
 * (alert_cfg.h). Reads its state file (alerts.state_file), which the
 * running agent or hub rewrites once per cycle after any change (the
 * hub's holds its cluster- and site-level alerts), and prints
 * one line per alert, crit first: severity, since, alertname, where
 * (tags), value/threshold, description. --json prints the file's alerts
 * as a JSON list. Exit 0 (also with none active), 1 when the config or
 * the state file cannot be read or FILE is neither an agent's nor a hub's,
 * 2 on usage errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/alert_cfg.h"
#include "agent/alert_state.h"
#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/hub_config.h"

static void usage(FILE *to)
{
    fprintf(to, "usage: evmon alerts -c FILE [--json]\n\n"
                "List the alerts active now, from the state file the agent or the hub\n"
                "keeps (alerts.state_file in FILE; a hub's are its cluster- and\n"
                "site-level alerts). Crit first, then warn.\n\n"
                "  -c, --config FILE   the agent's or the hub's configuration\n"
                "      --json          the alerts as a JSON list (the state file's form)\n"
                "  -h, --help          this text\n");
}

typedef struct {
    ev_alert_level want;
    size_t n;
    json_object *arr; /* --json */
} list_ctx;

static void print_one(void *ud, const ev_alert_record *r)
{
    list_ctx *lc = ud;
    char since[40];
    if (r->level != lc->want)
        return;
    lc->n++;
    printf("%-4s  %s  %-24s ", r->severity, ev_alert_rfc3339(r->starts_ns, since, sizeof since), r->alertname);
    for (size_t i = 0; i < r->ntags; i++)
        printf("%s%s=%s", i ? "," : "", r->tags[i].key, r->tags[i].val);
    if (r->missing)
        printf("  no data for >%gs", r->threshold);
    else
        printf("  value %g (threshold %g)", r->value, r->threshold);
    printf("  %s\n", r->description ? r->description : "");
}

static int list(const char *state_file, bool json)
{
    char err[256] = "";
    if (json) {
        json_object *root = json_object_from_file(state_file), *arr = NULL;
        if (!root && access(state_file, F_OK) != 0) {
            printf("[]\n");
            return 0;
        }
        if (!root || !json_object_object_get_ex(root, "alerts", &arr)) {
            fprintf(stderr, "evmon alerts: %s: unreadable state file\n", state_file);
            json_object_put(root);
            return 1;
        }
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return 0;
    }
    size_t total = 0;
    for (int l = EV_ALERT_CRIT; l >= EV_ALERT_WARN; l--) {
        list_ctx lc = {.want = (ev_alert_level)l};
        if (ev_alert_state_read(state_file, print_one, &lc, err, sizeof err) < 0) {
            fprintf(stderr, "evmon alerts: %s: %s\n", state_file, err);
            return 1;
        }
        total += lc.n;
    }
    if (!total)
        printf("no active alerts\n");
    return 0;
}

/* The alerts of c, read from path (the agent's or the hub's file: who). */
static int list_config(const ev_config *c, const char *path, const char *who, bool json)
{
    if (!c->alerts) {
        fprintf(stderr, "evmon alerts: %s has no 'alerts:' section: alerting is off\n", path);
        return 1;
    }
    if (!c->alerts->state_file) {
        fprintf(stderr, "evmon alerts: %s: alerts.state_file is not set: the %s keeps no list to read\n", path,
                who);
        return 1;
    }
    return list(c->alerts->state_file, json);
}

int cmd_alerts(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool json = false;
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!path || optind < argc) {
        usage(stderr);
        return 2;
    }
    ev_diag diag = {0};
    ev_config *agent = NULL;
    ev_hub_config *hub = NULL;
    const ev_config *c = NULL; /* the one holding the alerts: section */
    const char *who = "agent";
    switch (ev_config_kind_of(path)) {
    case EV_CONFIG_HUB:
        if ((hub = ev_hub_config_load(path, &diag)))
            c = hub->store;
        who = "hub";
        break;
    case EV_CONFIG_NEITHER:
        fprintf(stderr, "evmon alerts: %s is neither an agent's configuration (no top-level 'agent:')"
                        " nor a hub's (no 'hub:')\n", path);
        break;
    default: /* an agent's, or unreadable: the agent's loader says why */
        c = agent = ev_config_load(path, &diag);
    }
    ev_diag_print(&diag, stderr);
    ev_diag_free(&diag);
    int rc = c ? list_config(c, path, who, json) : 1;
    ev_config_free(agent);
    ev_hub_config_free(hub);
    return rc;
}
