/*
 * influx.h - knobs of the InfluxDB output that the config does not carry
 * (retry pacing). ev_influx_output_new() (output.h) uses the defaults;
 * tests shorten them to exercise retries quickly.
 */
#ifndef EVMON_INFLUX_H
#define EVMON_INFLUX_H

#include "agent/outputs/output.h"

#define EV_INFLUX_BACKOFF_BASE_MS 500u
#define EV_INFLUX_BACKOFF_MAX_MS 60000u
#define EV_INFLUX_LINGER_MS 200u

typedef struct {
    unsigned backoff_base_ms; /* first retry after ~this; 0: default */
    unsigned backoff_max_ms;  /* retries never further apart; 0: default */
    unsigned linger_ms;       /* wait for a fuller batch at most this; 0: default */
} ev_influx_tuning;

ev_output *ev_influx_output_new_tuned(const ev_config *cfg, const ev_influx_tuning *t);

#endif
