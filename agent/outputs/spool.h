/*
 * spool.h - a bounded on-disk FIFO of records, where an output keeps what
 * it could not deliver (store and forward).
 *
 * One directory per output. Records are appended to segment files
 * (seg-<16 hex digits>.evs, append-only); each record carries its length,
 * the number of points it holds and a CRC-32 (zlib) of both and of its
 * bytes, so a record torn by a crash (kill -9 or power loss mid-write) is
 * detected on open, logged and cut off. The reader takes records from the
 * oldest segment (ev_spool_peek) and consumes them only once the far end
 * acknowledged them (ev_spool_ack); a segment is deleted once read through.
 * The read position is kept in a small "cursor" file so that a restart does
 * not send again what was already acknowledged (it may, after a crash, send
 * the last batch twice: InfluxDB keeps one point per series and timestamp).
 *
 * The quota bounds the bytes of all segments: an append that would pass it
 * deletes the oldest segment first, counting its unread points as dropped
 * (logged once per episode). The fsync policy (ev_spool_fsync) decides when
 * appended bytes are forced to the disk; a process crash never loses
 * written bytes (they are in the kernel's page cache), only a power loss
 * or a kernel crash can.
 *
 * Thread-safe: one internal lock; the writer thread and write() share it.
 * A lock file (flock) keeps two processes from sharing one directory.
 */
#ifndef EVMON_SPOOL_H
#define EVMON_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    EV_FSYNC_PERIODIC, /* at most every interval_ms (default 1 s), and on close: the default */
    EV_FSYNC_NEVER,    /* leave it to the kernel (~30 s of dirty pages) */
    EV_FSYNC_ALWAYS,   /* after every append: safest, slowest */
} ev_fsync_policy;

typedef struct {
    uint64_t max_bytes;       /* quota for all segments; default 1 GiB */
    uint64_t segment_bytes;   /* roll to a new segment past this; 0: max_bytes/8, 4 KiB..64 MiB */
    ev_fsync_policy fsync;      /* zeroed options: periodic */
    unsigned fsync_interval_ms; /* 0: 1000 */
} ev_spool_opts;

typedef struct ev_spool ev_spool;

/* One record read back: bytes (NUL-terminated for convenience), points. */
typedef struct {
    uint32_t npoints;
    uint32_t len;
    char data[];
} ev_spool_rec;

/* Where the reader stands: a peek returns the position after its records. */
typedef struct {
    uint64_t seg, off; /* segment id, offset after the records */
    uint64_t nrec;     /* records the peek returned */
} ev_spool_pos;

typedef struct {
    uint64_t bytes;          /* on disk now, all segments */
    uint64_t records;        /* unread */
    uint64_t points;         /* unread */
    uint64_t dropped_points; /* deleted by the quota (and records too big for it) */
    uint64_t replayed_points;/* acknowledged through ev_spool_ack */
    uint64_t torn;           /* damaged records cut off on open */
    uint64_t found_points;   /* unread points found on open (a previous run's) */
} ev_spool_stats;

/* Open (creating) dir; name labels log lines ("influx"). Scans every
 * segment, cutting off a torn tail. NULL with a logged reason. */
ev_spool *ev_spool_open(const char *dir, const char *name, const ev_spool_opts *o);
/* Sync and close. NULL is fine. */
void ev_spool_close(ev_spool *s);

/* Append one record. 0, or -1 when it could not be written (logged;
 * its points are counted as dropped). */
int ev_spool_append(ev_spool *s, const void *data, size_t len, uint32_t npoints);

/* Copy the oldest unread records into out[] (the caller frees each), at
 * most max_recs and, beyond the first, at most max_points points in all;
 * never across a segment. *next is where the reader stands after them.
 * Returns how many (0 when the spool is empty). */
size_t ev_spool_peek(ev_spool *s, ev_spool_rec **out, size_t max_recs, uint64_t max_points,
                     ev_spool_pos *next);
/* Consume what a peek returned (npoints points) once delivered. When the
 * quota deleted those records meanwhile, their points are moved back from
 * dropped to replayed (they were delivered after all). */
void ev_spool_ack(ev_spool *s, ev_spool_pos next, uint64_t npoints);

/* The size a record should stay under (half a segment), so that the
 * quota drops old data in small steps: writers cut their data to it. */
size_t ev_spool_record_max(const ev_spool *s);

/* fsync now if there are unsynced appends (the periodic policy calls it). */
void ev_spool_sync(ev_spool *s);
/* When the periodic policy wants the next fsync, in ms from now (-1: none due). */
long ev_spool_sync_due_ms(ev_spool *s);

bool ev_spool_empty(ev_spool *s);
void ev_spool_stats_get(ev_spool *s, ev_spool_stats *st);

#endif
