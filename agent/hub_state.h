/*
 * hub_state.h - what the hub knows of each hall and agent: the latest hall
 * summary (per-window energies, coverage, headroom) and each agent's
 * online/offline status. Fed by hub.c from MQTT; read by hub_rollup.c.
 * Pure data and logic, no I/O: unit-tested.
 *
 * A hall is expected when the hub's config lists it or once it has
 * reported; it is live (reporting) when it has sent a summary, its agent
 * is not offline (status / last will) and its newest summary is at most
 * stale_after old by the hub's clock. Expected but not live = missing.
 */
#ifndef EVMON_HUB_STATE_H
#define EVMON_HUB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/hub_config.h"
#include "agent/point.h"

#define EV_HUB_NWIN 6
/* The PUE windows of the hall summary contract, in this order. */
extern const char *const ev_hub_windows[EV_HUB_NWIN];

typedef struct {
    bool have;
    double facility_wh, it_wh;
    double meters_expected, meters_reporting;
    int category; /* -1 when the summary gave none */
    bool estimated;
} ev_hub_win;

typedef struct {
    char *site, *hall, *agent; /* agent: from the summary's agent tag, NULL until one arrives */
    bool configured;           /* listed under sites[].halls */
    bool seen;                 /* a summary with at least one usable point arrived */
    int64_t ts_ns;             /* the newest summary's timestamp */
    ev_hub_win win[EV_HUB_NWIN];
    bool have_headroom;
    double capacity_w, usable_w, demand_w, peak_w, headroom_w, facility_power_w, it_power_w;
    double days_to_exhaustion; /* < 0: none given */
} ev_hub_hall;

typedef struct {
    char *id;
    bool online;
} ev_hub_agent;

typedef struct {
    ev_hub_hall *halls;
    size_t nhalls, cap_halls;
    ev_hub_agent *agents;
    size_t nagents, cap_agents;
} ev_hub_state;

/* Start with the halls the config expects. 0, or -1 out of memory. */
int ev_hub_state_init(ev_hub_state *st, const ev_hub_config *cfg);
void ev_hub_state_free(ev_hub_state *st);
/* A reloaded config: the halls it lists are expected (added when new); a
 * hall it no longer lists stays while it has reported (a reporting hall is
 * expected anyway) and goes when it never did. What the halls reported is
 * kept. 0, or -1 out of memory with the expected halls unchanged. */
int ev_hub_state_reconfigure(ev_hub_state *st, const ev_hub_config *cfg);

/* The hall, created when new (NULL only when out of memory). */
ev_hub_hall *ev_hub_hall_get(ev_hub_state *st, const char *site, const char *hall);

/* Take a hall summary published for <site>/<hall> (its points parsed).
 * Replaces what the hall reported before. Points other than pue/headroom
 * with scope=hall are ignored. Returns the number of points that break the
 * contract (wrong site/hall tag, missing energy field, ...), the first
 * described in why; the others are taken. now_ns stamps points without a
 * timestamp. */
size_t ev_hub_take_summary(ev_hub_state *st, const char *site, const char *hall, const ev_batch *b, int64_t now_ns,
                           char *why, size_t len);

/* "online" / "offline" from <prefix>/agents/<id>/status. 0, or -1 out of memory. */
int ev_hub_agent_status(ev_hub_state *st, const char *agent, bool online);

/* The agent of a hall, by the hall's agent tag (for naming a source in logs). */
const char *ev_hub_agent_of(const ev_hub_state *st, const char *site, const char *hall);

bool ev_hub_hall_live(const ev_hub_state *st, const ev_hub_hall *h, int64_t now_ns, int64_t stale_ns);

#endif
