/*
 * modbus_coll.h - the Modbus collector's own state, shared by the file
 * that polls (modbus.c: devices, request plans, poll cycles, results) and
 * the file that applies a reload (modbus_reload.c: which devices, links
 * and lines carry over). Nothing outside collectors/modbus*.c includes it.
 */
#ifndef EVMON_MODBUS_COLL_H
#define EVMON_MODBUS_COLL_H

#include "collectors/modbus.h"
#include "collectors/modbus_int.h"
#include "collectors/modbus_plan.h"
#include "collectors/pace.h"

/* Starts (pace.c) in rounds 10 ms apart: 20 devices a round at the
 * minimum rate. One device every 0.5 ms made every answer wake the loop
 * alone: +40-80 % CPU per poll against starting the whole fleet at once,
 * where rounds of 20 cost about what the burst did (docs/PERFORMANCE.md). */
#define MB_PACE_TICK_MS 10

/* The transports of a device set: TCP links by address, serial lines by
 * path. Each array holds at most as many entries as there are devices. */
typedef struct {
    mb_tcp_link **links;
    size_t nlinks;
    mb_rtu_line **lines;
    size_t nlines;
} mb_transports;

/* A running device during a reload; a zombie waits for its job (modbus_reload.c). */
typedef enum { MB_R_GONE, MB_R_KEPT, MB_R_REPLACED, MB_R_ZOMBIE } mb_reload_mark;

typedef struct mb_dev {
    struct mb_collector *c;
    const ev_device_cfg *cfg;
    const ev_mb_read *reads;
    size_t nreads;
    ev_mb_plan merged, single;
    const ev_mb_plan *plan;
    bool want_single;      /* a merged request hit a hole: unmerge next poll */
    uint16_t *buf;         /* answers, request after request (the transports write into it) */
    size_t *req_at;        /* per request: where its answer starts in buf */
    uint8_t *req_ok;
    ev_tagset base;
    mb_tcp_link *link;     /* one of these two, not owned */
    mb_rtu_line *line;
    mb_job job;
    size_t next;           /* next request of the plan */
    bool busy;             /* due this cycle: queued or polling */
    bool queued;           /* due, its first request not yet submitted (the pacer's) */
    int64_t ts_ns;
    uint64_t started_us;
    unsigned requests, ok_reqs, nerr;
    char err[320];
    ev_modbus_stats st;
    bool polled_before;    /* for logging state changes */
    ev_poll_status last_status;
    char last_err[320];
    mb_reload_mark mark;   /* during a reload */
    struct mb_dev *next_zombie; /* removed while a serial worker runs its job */
} mb_dev;

typedef struct mb_collector {
    ev_collector base; /* first: the generic interface */
    ev_loop *loop;
    const ev_config *cfg;
    mb_dev **devs;
    size_t ndevs, busy;
    mb_transports tr;
    mb_dev *zombies;   /* freed when their job comes back (modbus_reload.c) */
    ev_sink_fn sink;
    void *ud;
    ev_modbus_observer obs;
    ev_modbus_stats stats;
    ev_batch *batch; /* scratch: the finishing device's points */
    ev_pace pace;      /* this cycle's starts (pace.c) */
    size_t next_start; /* devs[] position the pacer looks at next */
    uint64_t pace_timer;
} mb_collector;

/* ---- modbus.c ---- */
/* A device set up for cfg (site and hall tags from agent), its link or
 * line found in tr, else taken over from old (may be NULL) into tr, else
 * made and added to tr. NULL when out of memory. */
mb_dev *mb_dev_new(mb_collector *c, const ev_config *agent, const ev_device_cfg *cfg, mb_transports *tr,
                   const mb_transports *old);
void mb_dev_delete(mb_dev *d);
/* Point a device at a new config with the same settings: tags again. */
void mb_dev_rebind(mb_dev *d, const ev_config *agent, const ev_device_cfg *cfg);
/* The poll in flight (or queued) ends now with status st and error why,
 * no points. */
void mb_dev_report(mb_dev *d, ev_poll_status st, const char *why);
/* The device set changed (a reload): start the queued devices that are
 * left, from the first, through this cycle's bucket. */
void mb_pace_rescan(mb_collector *c);
int mb_transports_alloc(mb_transports *tr, size_t n);
bool mb_transports_has_link(const mb_transports *tr, const mb_tcp_link *l);
bool mb_transports_has_line(const mb_transports *tr, const mb_rtu_line *l);
/* Free the links and lines of tr that are not in keep (may be NULL), then
 * tr's arrays. */
void mb_transports_free(mb_transports *tr, const mb_transports *keep);

/* ---- modbus_reload.c ---- */
/* A job came back for a device removed by a reload: free it; true if d was one. */
bool mb_zombie_done(mb_collector *c, mb_dev *d);
void mb_zombies_free(mb_collector *c);

#endif
