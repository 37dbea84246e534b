/*
 * energy.c - the agent-facing energy model (see energy.h): the runtime tree
 * (topology.h), its per-cycle points (model.h), the hall summary
 * (summary.h) and the state file (state.h), tied to the outputs.
 */
#include "agent/energy/energy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/buf.h"
#include "agent/config_topology.h"
#include "agent/energy/model.h"
#include "agent/energy/state.h"
#include "agent/energy/summary.h"
#include "agent/energy/topology.h"
#include "agent/log.h"

struct ev_energy {
    ev_topo *topo;
    char *state_file;
    int64_t state_every_ns, saved_ns;
    ev_batch *pts;
    ev_buf summary;
    char topic[512];
};

static void load_state(ev_energy *e)
{
    char why[200];
    int rc = ev_state_load(e->topo, e->state_file, why, sizeof why);
    if (rc == 0)
        ev_notice("energy: state restored from %s", e->state_file);
    else if (rc == 1)
        ev_notice("energy: no state file %s yet: windows start now", e->state_file);
    else
        ev_warn("energy: state file %s refused (%s): windows start now", e->state_file, why);
}

static ev_energy *model_new(const ev_config *cfg)
{
    ev_energy *e = calloc(1, sizeof *e);
    if (!e || !(e->topo = ev_topo_build(cfg)) || !(e->pts = ev_batch_new())) {
        ev_err("energy: out of memory");
        ev_energy_free(e);
        return NULL;
    }
    ev_buf_init(&e->summary);
    snprintf(e->topic, sizeof e->topic, "%s/%s/summary", cfg->site, cfg->hall);
    e->state_every_ns = (int64_t)cfg->topology->state_interval_ms * 1000000;
    if (cfg->topology->state_file && !(e->state_file = strdup(cfg->topology->state_file))) {
        ev_energy_free(e);
        return NULL;
    }
    return e;
}

ev_energy *ev_energy_new(const ev_config *cfg)
{
    if (!cfg->topology)
        return NULL;
    ev_energy *e = model_new(cfg);
    if (e && e->state_file)
        load_state(e);
    else if (e)
        ev_notice("energy: no topology.state_file: energy windows restart from zero when the agent restarts");
    return e;
}

ev_energy *ev_energy_renew(ev_energy *old, const ev_config *nc)
{
    ev_energy *e = nc->topology ? model_new(nc) : NULL;
    if (e && old) {
        ev_buf b;
        char why[200];
        ev_buf_init(&b);
        ev_state_encode(old->topo, &b);
        if (b.oom || ev_state_decode(e->topo, b.p, b.len, why, sizeof why) < 0)
            ev_warn("energy: reload: the windows could not be carried over: they start now");
        e->saved_ns = old->saved_ns;
        ev_buf_free(&b);
    }
    ev_energy_free(old);
    return e;
}

static void save_state(ev_energy *e)
{
    if (e->state_file && ev_state_save(e->topo, e->state_file) < 0)
        ev_warn("energy: cannot write state file %s: %s", e->state_file, strerror(errno));
}

void ev_energy_free(ev_energy *e)
{
    if (!e)
        return;
    if (e->topo)
        save_state(e);
    ev_topo_free(e->topo);
    ev_batch_free(e->pts);
    ev_buf_free(&e->summary);
    free(e->state_file);
    free(e);
}

void ev_energy_feed(ev_energy *e, const char *device, const ev_batch *points)
{
    ev_model_feed(e->topo, device, points);
}

const ev_batch *ev_energy_cycle(ev_energy *e, int64_t ts_ns)
{
    ev_batch_clear(e->pts);
    ev_buf_reset(&e->summary);
    if (ev_model_points(e->topo, ts_ns, e->pts))
        ev_summary_payload(e->pts, &e->summary);
    if (ts_ns - e->saved_ns >= e->state_every_ns) {
        save_state(e);
        e->saved_ns = ts_ns;
    }
    return e->pts;
}

void ev_energy_publish_summary(ev_energy *e, ev_output *const *outputs, size_t noutputs)
{
    if (!e->summary.len || e->summary.oom)
        return;
    for (size_t i = 0; i < noutputs; i++)
        if (outputs[i]->publish && outputs[i]->publish(outputs[i], e->topic, e->summary.p, e->summary.len, true) < 0)
            ev_warn("energy: output %s refused the hall summary", outputs[i]->name);
}
