/*
 * output.h - where points go: the interface every output implements.
 *
 * The agent encodes each batch to line protocol once (lineproto.h
 * ev_lp_encode) and hands every output the same text (write_lp); write()
 * is for callers without it. An output queues the text in its own bounded
 * queue and sends from its own thread (Paho's for MQTT, a
 * writer thread for HTTP), so a slow or dead store never delays polling
 * and one failing output never holds back another (collectd's shared
 * write queue does). Outputs know nothing of devices.
 */
#ifndef EVMON_OUTPUT_H
#define EVMON_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../config.h"
#include "../lineproto.h"
#include "../point.h"

typedef struct {
    uint64_t points_in;      /* accepted by write() */
    uint64_t points_sent;    /* acknowledged by the far end */
    uint64_t points_dropped; /* given up (queue full, rejected by server) */
    uint64_t points_queued;  /* waiting now */
    uint64_t errors;         /* failed sends */
    /* The on-disk spool (all 0 without one). Its points are part of
     * points_queued; its drops part of points_dropped. */
    uint64_t spool_bytes;    /* on disk now */
    uint64_t spool_records;  /* unread records */
    uint64_t spool_points;   /* unread points */
    uint64_t spool_dropped;  /* points the quota dropped (oldest first) */
    uint64_t spool_replayed; /* points sent from the spool */
} ev_output_stats;

typedef struct ev_output ev_output;
struct ev_output {
    const char *name;
    /* Queue the batch (copied). Never blocks. 0, or -1 if all dropped. */
    int (*write)(ev_output *o, const ev_batch *b);
    /* The same, from the batch already encoded (the text is copied). */
    int (*write_lp)(ev_output *o, const ev_lp_text *t);
    /* Send what is queued, waiting at most timeout_ms (used at shutdown
     * and by `once`). 0 when everything was sent. */
    int (*flush)(ev_output *o, unsigned timeout_ms);
    void (*stats)(const ev_output *o, ev_output_stats *st);
    /* Publish one message on `topic` below the output's topic prefix
     * ("<site>/<hall>/summary" -> "evalley/<site>/<hall>/summary"): hall
     * summaries, alert state. The payload is copied; never blocks. NULL
     * on outputs that have no topics (InfluxDB). 0, or -1 when refused. */
    int (*publish)(ev_output *o, const char *topic, const void *payload, size_t len, bool retained);
    void (*free)(ev_output *o);
};

/* NULL with a logged reason when the output cannot be set up. Each keeps
 * what it cannot deliver in <spool dir>/<name> (ev_output_spool_dir). */
ev_output *ev_influx_output_new(const ev_config *cfg);
ev_output *ev_mqtt_output_new(const ev_config *cfg);

/* The spool directory of output `name` (malloc'd): <spool.dir>/<name>, else
 * $STATE_DIRECTORY/spool/<name> under systemd; NULL when neither is set
 * (the output then queues in memory only). */
char *ev_output_spool_dir(const ev_config *cfg, const char *name);

struct ev_spool;
/* Open output `name`'s spool as cfg->spool says (directory, quota, fsync).
 * Returns 0 with *out NULL when no spool directory is configured, 0 with
 * *out open (and *found_points = points a previous run left unsent), or -1
 * when the directory cannot be used. *replay_rate: points/s to replay at. */
int ev_output_spool_open(const ev_config *cfg, const char *name, struct ev_spool **out,
                         uint64_t *found_points, unsigned *replay_rate);

#endif
