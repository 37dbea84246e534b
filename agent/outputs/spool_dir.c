/*
 * spool_dir.c - where each output's spool lives (output.h): the config's
 * spool.dir, else systemd's StateDirectory (STATE_DIRECTORY=/var/lib/evmon,
 * possibly a colon-separated list, of which the first), each output in a
 * subdirectory named after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/outputs/output.h"

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
