/*
 * influx_priv.h - the InfluxDB output's state, shared by influx.c (the
 * writer: batches, HTTP, retries) and influx_spool.c (store and forward:
 * lines to disk while the store is down, read back for replay). Private to
 * agent/outputs/influx*.c.
 */
#ifndef EVMON_INFLUX_PRIV_H
#define EVMON_INFLUX_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "agent/outputs/backoff.h"
#include "agent/outputs/httppost.h"
#include "agent/outputs/lineq.h"
#include "agent/outputs/output.h"
#include "agent/outputs/spool.h"

typedef struct {
    ev_output base; /* first: the ev_output * is this struct */
    char *url;      /* the base URL, for log lines */
    char *db;       /* 1.x database, or 2.x bucket */
    char *write_url;
    unsigned batch_size;
    unsigned linger_ms;
    unsigned replay_rate; /* points/s from the spool */
    bool gzip;
    ev_http *http;
    ev_spool *spool; /* NULL: memory only */
    atomic_int stop;

    pthread_t writer;
    bool writer_started;
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* writer: lines queued, or stop */
    pthread_cond_t settled; /* flush(): lines left the queue */

    /* Under mu. */
    ev_lineq q;           /* q.reserved = live lines in flight, not yet settled */
    ev_line **flight;     /* flight_cap slots; [flight_pos, flight_pos + flight_left) live */
    size_t flight_cap;
    size_t flight_pos, flight_left;
    bool flight_replay;   /* the flight came from the spool (still on disk until acked) */
    ev_spool_pos replay_pos;
    uint64_t replay_pts, replay_settled;
    bool spilling;        /* the store is down: write() appends to the spool */
    unsigned flushing;    /* flush() callers waiting: do not linger, do not pace */
    uint64_t in, sent, dropped, errors;
    bool drop_logged;     /* "queue full" said once per episode */

    /* Writer thread only. */
    ev_backoff backoff;
    bool down;            /* last attempt failed */
    bool ever_up;
    int down_key;         /* what the last logged failure was */
    unsigned down_attempts;
    struct timespec down_since;
    struct timespec linger_until, replay_at;
    bool lingering;
} ev_influx;

/* influx_spool.c; the ones marked "under mu" expect o->mu held. */
/* Lines (owned, freed) to disk as records of at most batch_size lines and
 * ev_spool_record_max() bytes. Under mu. */
void ev_influx_spill_lines(ev_influx *o, ev_line **lines, size_t n);
/* The memory queue to disk. Under mu. */
void ev_influx_spill_memory(ev_influx *o);
/* Encoded text, lines ending at ends[0..n), to disk. Under mu. */
void ev_influx_spill_text(ev_influx *o, const char *text, const size_t *ends, size_t n);
/* The store is down: the memory queue to disk, and write() after it. Under mu. */
void ev_influx_start_spilling(ev_influx *o);
/* The oldest spooled records as the flight. false when none. Under mu. */
bool ev_influx_load_replay(ev_influx *o);
/* The spool, when a directory is configured. -1 when it cannot be used. */
int ev_influx_open_spool(ev_influx *o, const ev_config *cfg);
/* At free(), the writer stopped: memory to disk, or report what is lost. */
void ev_influx_keep_or_report(ev_influx *o);

#endif
