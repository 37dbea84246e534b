/*
 * snmp_int.h - private interface between the SNMP collector's files.
 *
 *   snmp.c          the collector: devices, poll cycles, event-loop glue,
 *                   results to the sink, one log line per state change.
 *   snmp_session.c  Net-SNMP set-up: library init (no MIBs, no files),
 *                   one single session per device (v1/v2c/v3, key cache),
 *                   asynchronous SNMPv3 engine-ID discovery, error texts.
 *   snmp_walk.c     the request plan: scalars by GET, columns together by
 *                   GETBULK (GETNEXT for v1), answers into an ev_rowset.
 *   snmp_slot.c     rowsets and walks lent to devices while they are polled.
 *
 * Starts are paced by pace.c (pace.h), which the Modbus collector shares.
 * Nothing here is visible outside collectors/snmp*.c.
 */
#ifndef EVMON_SNMP_INT_H
#define EVMON_SNMP_INT_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

/* Net-SNMP #defines these two names (as errstat/errindex, which GETBULK
 * reuses); they would rename evmon's own fields, such as
 * ev_snmp_cfg.max_repetitions. PDUs are set through errstat/errindex. */
#undef non_repeaters
#undef max_repetitions

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/profile.h"
#include "collectors/pace.h"

/* Starts (pace.c) in rounds 1 ms apart: a datagram each, 0.5 ms apart at
 * the minimum rate (docs/PERFORMANCE.md). */
#define EV_SNMP_PACE_TICK_MS 1
/* Rows kept per column and poll; more is an agent gone wrong. */
#define EV_SNMP_MAX_ROWS 4096
/* Scalars asked per GET before any tooBig shrinks it. */
#define EV_SNMP_GET_CHUNK 48
/* What one more request costs, counted in varbinds, when the first GETBULK
 * is planned from the columns' lengths (snmp_walk.c). */
#define EV_SNMP_REQUEST_COST 8

/* ---- snmp_session.c ---- */

/* Initialise Net-SNMP once per process: no MIB loading, no config or
 * persistent files, library log lines routed to evmon's log at debug. */
void ev_snmp_lib_init(void);

/* Localised-key material is derived from passwords with a deliberately
 * slow hash (1 MB per password): one cache per collector, so a thousand
 * devices sharing credentials pay for it once. */
typedef struct ev_snmp_keys ev_snmp_keys;
ev_snmp_keys *ev_snmp_keys_new(void);
void ev_snmp_keys_free(ev_snmp_keys *k);

/* Open a single (not global-list) session for dev. SNMPv3 sessions never
 * probe at open; discovery is asynchronous (below). NULL with a message
 * in err on failure. */
void *ev_snmp_open(const ev_device_cfg *dev, ev_snmp_keys *keys, netsnmp_callback cb,
                   void *magic, char *err, size_t errlen);
int ev_snmp_fd(void *sess);
bool ev_snmp_needs_discovery(void *sess);
/* An empty noAuthNoPriv GET that makes an SNMPv3 agent answer with a
 * Report carrying its engine ID, boots and time (RFC 3414 4). */
netsnmp_pdu *ev_snmp_discovery_pdu(void);
/* After the discovery Report: localise the keys for the engine found.
 * 0, or -1 with a message (e.g. engine ID shared with other credentials). */
int ev_snmp_localize(void *sess, const char *device, char *err, size_t errlen);
/* Drop the engine ID so the next poll discovers it again. */
void ev_snmp_forget_engine(void *sess);
/* Text for an SNMPv3 Report type (SNMPERR_*), naming the user. */
void ev_snmp_report_text(int report, const ev_device_cfg *dev, char *buf, size_t len);
/* The library's last error on this session. */
void ev_snmp_sess_errtext(void *sess, char *buf, size_t len);
/* "tooBig", "genErr", ... for a PDU error-status. */
const char *ev_snmp_errstat_name(long errstat);

/* ---- snmp_walk.c ---- */

typedef void (*ev_snmp_vb_fn)(void *ud, const ev_oid *oid, const char *type);

typedef struct {
    /* the plan: fixed for the profile */
    const ev_fetch *fetch;
    size_t *scalars, nscalars; /* fetch-list positions */
    size_t *cols, ncols;       /* fetch-list positions */
    bool v1;                   /* GETNEXT instead of GETBULK */
    unsigned max_reps;
    ev_snmp_vb_fn on_varbind;  /* optional, for `evmon probe` */
    void *vb_ud;

    /* per poll */
    size_t scalar_pos;  /* next scalar to ask */
    unsigned get_chunk; /* scalars per GET */
    uint8_t *skip;      /* per scalar: left out after v1 noSuchName */
    ev_oid *cursor;     /* per column: last OID returned */
    uint8_t *done;      /* per column */
    unsigned reps;      /* GETBULK max-repetitions now */
    unsigned reps_cap;  /* max_reps, lowered for good by tooBig */
    unsigned reps_hint; /* longest column last poll + 1 (0: no poll yet) */
    uint16_t *col_rows; /* per column: rows it had (last poll, then this one) */
    unsigned reps_next; /* planned repetitions for the columns left after the
                           first GETBULK (0: none planned) */
    size_t longest;     /* rows in the longest column this poll */
    size_t max_cols;    /* columns per GETBULK now */
    unsigned nerrors;   /* problems that leave the poll partial */
    char err[256];      /* the first of them */

    /* the request in flight */
    const char *req_kind;  /* "GET", "GETNEXT", "GETBULK" */
    bool req_scalars;
    size_t *req, nreq;     /* scalar or column positions, varbind order */
    unsigned req_reps;
    unsigned resp_vbs;     /* varbinds in the answer */
    const char *outcome;   /* "ok", "tooBig", ... */

    char *str;             /* scratch for OCTET STRING values */
    size_t strcap;
} ev_snmp_walk;

int ev_snmp_walk_init(ev_snmp_walk *w, const ev_profile *p, unsigned max_reps, bool v1);

/* What a device's polls have taught its walk (kept with the device while
 * the walk itself is lent out between polls, snmp_slot.c). */
typedef struct {
    unsigned reps_cap, reps_hint, get_chunk;
    size_t max_cols;
    uint16_t *col_rows; /* ncols entries, or NULL (out of memory: no plan) */
    size_t ncols;
} ev_snmp_learned;

/* A device's starting point: nothing learned yet. */
void ev_snmp_learned_init(ev_snmp_learned *l, const ev_profile *p, unsigned max_reps);
void ev_snmp_learned_free(ev_snmp_learned *l);
/* Make w the device's walk: its version, max-repetitions and what it learned. */
void ev_snmp_walk_resume(ev_snmp_walk *w, const ev_snmp_learned *l, unsigned max_reps, bool v1);
/* Keep what this poll taught, for the device's next one. */
void ev_snmp_walk_learned(const ev_snmp_walk *w, ev_snmp_learned *l);
void ev_snmp_walk_free(ev_snmp_walk *w);
/* Forget the last poll's progress (keeps what tooBig taught us). */
void ev_snmp_walk_start(ev_snmp_walk *w);
/* The next request, or NULL when everything has been read. */
netsnmp_pdu *ev_snmp_walk_next(ev_snmp_walk *w);
/* Store the answer to the request in flight into rs. */
void ev_snmp_walk_response(ev_snmp_walk *w, const netsnmp_pdu *resp, ev_rowset *rs);
/* Record a problem that leaves the poll partial. */
void ev_snmp_walk_error(ev_snmp_walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- snmp_slot.c ---- */

typedef struct ev_snmp_slot {
    struct ev_snmp_slot *next; /* on its profile's free list */
    const ev_profile *p;       /* built for; NULL once a reload re-bound it */
    ev_rowset *rs;
    ev_snmp_walk walk;
} ev_snmp_slot;

typedef struct ev_snmp_slots ev_snmp_slots;

ev_snmp_slots *ev_snmp_slots_new(void);
/* An idle slot for profile p, or a new one; NULL when out of memory. */
ev_snmp_slot *ev_snmp_slot_take(ev_snmp_slots *s, const ev_profile *p);
/* Back to p's free list; freed instead when it was not built for p. */
void ev_snmp_slot_put(ev_snmp_slots *s, ev_snmp_slot *slot, const ev_profile *p);
/* Free every idle slot (before the profiles they were built for go). */
void ev_snmp_slots_drain(ev_snmp_slots *s);
/* Slots alive, idle or lent out. */
size_t ev_snmp_slots_total(const ev_snmp_slots *s);
void ev_snmp_slots_free(ev_snmp_slots *s);

#endif
