/*
 * spool_dir.c - where each output's spool lives (output.h): the config's
 * spool.dir, else systemd's StateDirectory (STATE_DIRECTORY=/var/lib/evmon,
 * possibly a colon-separated list, of which the first), each output in a
 * subdirectory named after it; and opening it with the config's settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/outputs/output.h"
#include "agent/outputs/spool.h"

#define EV_DEFAULT_REPLAY_RATE 20000 /* points/s from the spool once the far end is back */

char *ev_output_spool_dir(const ev_config *cfg, const char *name)
{
    char *out = NULL;
    const char *state = getenv("STATE_DIRECTORY");
    int rc = -1;
    if (cfg->spool.dir && *cfg->spool.dir)
        rc = asprintf(&out, "%s/%s", cfg->spool.dir, name);
    else if (state && *state && *state != ':')
        rc = asprintf(&out, "%.*s/spool/%s", (int)strcspn(state, ":"), state, name);
    return rc < 0 ? NULL : out;
}

int ev_output_spool_open(const ev_config *cfg, const char *name, ev_spool **out, uint64_t *found_points,
                         unsigned *replay_rate)
{
    *out = NULL;
    *found_points = 0;
    *replay_rate = cfg->spool.replay_rate ? cfg->spool.replay_rate : EV_DEFAULT_REPLAY_RATE;
    char *dir = ev_output_spool_dir(cfg, name);
    if (!dir)
        return 0;
    ev_spool_opts so = {.max_bytes = cfg->spool.max_bytes, .fsync = (ev_fsync_policy)cfg->spool.fsync,
                        .fsync_interval_ms = cfg->spool.fsync_interval_ms};
    *out = ev_spool_open(dir, name, &so);
    free(dir);
    if (!*out)
        return -1;
    ev_spool_stats st;
    ev_spool_stats_get(*out, &st);
    *found_points = st.found_points;
    return 0;
}
