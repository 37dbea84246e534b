/*
 * spool.c - the on-disk FIFO of an output (see spool.h).
 *
 * A record on disk: a 16-byte header {magic "EVR1", length, points, CRC-32
 * of length, points and bytes} in host byte order, then the bytes. The
 * segments are kept in memory as a list (id, size, records, points); the
 * reader's head is an offset into the oldest one. Everything under mu.
 */
#include "agent/outputs/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "agent/log.h"

#define REC_MAGIC 0x31525645u /* "EVR1" little-endian */
#define HDR_LEN 16u
#define CURSOR_FMT "%020" PRIu64 " %020" PRIu64 "\n"
#define CURSOR_LEN 42

typedef struct {
    uint32_t magic, len, npoints, crc;
} rec_hdr;

typedef struct {
    uint64_t id, bytes, records, points;
} seg_info;

struct ev_spool {
    pthread_mutex_t mu;
    char *dir, *name;
    ev_spool_opts o;
    int dirfd, lockfd, curfd;
    int wfd;           /* the last segment, open for appending; -1 when none */
    seg_info *segs;    /* oldest first */
    size_t nsegs, cap;
    uint64_t next_id;
    uint64_t head_off, head_recs, head_pts; /* read through, in segs[0] */
    uint64_t total_bytes;
    bool dirty, drop_logged, fail_logged;
    struct timespec last_sync;
    ev_spool_stats st;
};

/* ---- helpers ------------------------------------------------------------ */

static uint32_t rec_crc(uint32_t len, uint32_t npoints, const void *data)
{
    uint32_t meta[2] = {len, npoints};
    uLong c = crc32(0L, (const Bytef *)meta, sizeof meta);
    return (uint32_t)crc32(c, (const Bytef *)data, len);
}

static void seg_name(char *buf, size_t n, uint64_t id)
{
    snprintf(buf, n, "seg-%016" PRIx64 ".evs", id);
}

static uint64_t elapsed_ms(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
    return ms < 0 ? 0 : (uint64_t)ms;
}

static int full_pread(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Read and check the record at off of a file of size bytes. Returns its
 * total length (header included), or 0 when it is damaged or torn. With
 * out, the record is copied there (malloc'd). */
static uint64_t read_rec(int fd, uint64_t off, uint64_t size, ev_spool_rec **out)
{
    rec_hdr h;
    if (size - off < HDR_LEN || full_pread(fd, &h, HDR_LEN, off) < 0)
        return 0;
    if (h.magic != REC_MAGIC || h.len > size - off - HDR_LEN)
        return 0;
    ev_spool_rec *r = malloc(sizeof *r + h.len + 1);
    if (!r)
        return 0;
    if (full_pread(fd, r->data, h.len, off + HDR_LEN) < 0 || rec_crc(h.len, h.npoints, r->data) != h.crc) {
        free(r);
        return 0;
    }
    r->len = h.len;
    r->npoints = h.npoints;
    r->data[h.len] = '\0';
    if (out)
        *out = r;
    else
        free(r);
    return HDR_LEN + (uint64_t)h.len;
}

static void write_cursor(ev_spool *s)
{
    char buf[CURSOR_LEN + 1];
    uint64_t seg = s->nsegs ? s->segs[0].id : s->next_id;
    snprintf(buf, sizeof buf, CURSOR_FMT, seg, s->head_off);
    if (s->curfd >= 0 && pwrite(s->curfd, buf, CURSOR_LEN, 0) != CURSOR_LEN)
        ev_debug("spool %s: cannot write the cursor: %s", s->name, strerror(errno));
}

/* ---- segments ------------------------------------------------------------ */

static void close_writer(ev_spool *s)
{
    if (s->wfd < 0)
        return;
    if (s->dirty && s->o.fsync != EV_FSYNC_NEVER)
        fdatasync(s->wfd);
    close(s->wfd);
    s->wfd = -1;
}

/* Delete the oldest segment. */
static void remove_oldest(ev_spool *s)
{
    char fn[64];
    if (s->nsegs == 1)
        close_writer(s);
    seg_name(fn, sizeof fn, s->segs[0].id);
    if (unlinkat(s->dirfd, fn, 0) < 0 && errno != ENOENT)
        ev_warn("spool %s: cannot delete %s/%s: %s", s->name, s->dir, fn, strerror(errno));
    s->total_bytes -= s->segs[0].bytes;
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
    s->nsegs--;
    s->head_off = s->head_recs = s->head_pts = 0;
}

/* The quota: drop the oldest segment, counting its unread points. */
static void drop_oldest(ev_spool *s)
{
    uint64_t pts = s->segs[0].points - s->head_pts;
    uint64_t recs = s->segs[0].records - s->head_recs;
    s->st.dropped_points += pts;
    if (!s->drop_logged) {
        s->drop_logged = true;
        ev_err("spool %s: quota of %" PRIu64 " bytes reached in %s: dropping the oldest points"
               " (%" PRIu64 " now; counted in evmon.%s_spool_dropped; said once until the spool drains)",
               s->name, s->o.max_bytes, s->dir, pts, s->name);
    }
    ev_debug("spool %s: dropped a segment of %" PRIu64 " records, %" PRIu64 " points", s->name, recs, pts);
    remove_oldest(s);
    write_cursor(s);
}

static int add_seg(ev_spool *s, seg_info si)
{
    if (s->nsegs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        seg_info *n = realloc(s->segs, cap * sizeof *n);
        if (!n)
            return -1;
        s->segs = n;
        s->cap = cap;
    }
    s->segs[s->nsegs++] = si;
    return 0;
}

/* Start a new last segment, open for appending. */
static int new_segment(ev_spool *s)
{
    char fn[64];
    close_writer(s);
    seg_name(fn, sizeof fn, s->next_id);
    int fd = openat(s->dirfd, fn, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0 || add_seg(s, (seg_info){.id = s->next_id}) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    s->next_id++;
    s->wfd = fd;
    return 0;
}

/* ---- open: scan what a previous run left ------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Segment ids found in the directory, sorted. */
static uint64_t *list_segments(ev_spool *s, size_t *n)
{
    DIR *d = fdopendir(dup(s->dirfd));
    uint64_t *ids = NULL;
    size_t cap = 0;
    *n = 0;
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t id;
        char tail[8];
        if (sscanf(e->d_name, "seg-%16" SCNx64 ".%7s", &id, tail) != 2 || strcmp(tail, "evs") != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *m = realloc(ids, cap * sizeof *m);
            if (!m)
                break;
            ids = m;
        }
        ids[(*n)++] = id;
    }
    closedir(d);
    if (*n)
        qsort(ids, *n, sizeof *ids, cmp_u64);
    return ids;
}

/* Check every record of one segment; cut a damaged tail off. Fills si. */
static void scan_segment(ev_spool *s, uint64_t id, seg_info *si)
{
    char fn[64];
    seg_name(fn, sizeof fn, id);
    *si = (seg_info){.id = id};
    int fd = openat(s->dirfd, fn, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        ev_warn("spool %s: cannot read %s/%s: %s; skipped", s->name, s->dir, fn, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    uint64_t size = (uint64_t)st.st_size, off = 0, n;
    while (off < size && (n = read_rec(fd, off, size, NULL)) > 0) {
        rec_hdr h;
        full_pread(fd, &h, HDR_LEN, off);
        si->records++;
        si->points += h.npoints;
        off += n;
    }
    if (off < size) {
        s->st.torn++;
        ev_warn("spool %s: %s/%s: damaged or torn record at offset %" PRIu64 " (a crash mid-write?):"
                " cut off the last %" PRIu64 " bytes; %" PRIu64 " good records kept",
                s->name, s->dir, fn, off, size - off, si->records);
        if (ftruncate(fd, (off_t)off) < 0)
            ev_warn("spool %s: cannot truncate %s: %s", s->name, fn, strerror(errno));
    }
    si->bytes = off;
    close(fd);
}

/* The reader's position from the cursor file, if it names a record
 * boundary of the oldest segment (else the oldest segment's start). */
static void restore_head(ev_spool *s)
{
    char buf[CURSOR_LEN + 1] = {0};
    uint64_t seg, off;
    if (pread(s->curfd, buf, CURSOR_LEN, 0) != CURSOR_LEN || sscanf(buf, "%" SCNu64 " %" SCNu64, &seg, &off) != 2)
        return;
    /* Segments before the cursor's were read through (a crash between the
     * acknowledgement and the delete). */
    while (s->nsegs && s->segs[0].id < seg)
        remove_oldest(s);
    if (!s->nsegs || s->segs[0].id != seg || off > s->segs[0].bytes)
        return;
    char fn[64];
    seg_name(fn, sizeof fn, seg);
    int fd = openat(s->dirfd, fn, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    uint64_t at = 0, recs = 0, pts = 0, n;
    while (at < off && (n = read_rec(fd, at, s->segs[0].bytes, NULL)) > 0) {
        rec_hdr h;
        full_pread(fd, &h, HDR_LEN, at);
        recs++;
        pts += h.npoints;
        at += n;
    }
    close(fd);
    if (at == off) {
        s->head_off = off;
        s->head_recs = recs;
        s->head_pts = pts;
    }
}

static int open_dir(ev_spool *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", s->dir);
    for (char *p = path + 1; *p; p++) { /* mkdir -p */
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        return -1;
    s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0)
        return -1;
    s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->lockfd < 0)
        return -1;
    if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            errno = EBUSY;
        return -1;
    }
    s->curfd = openat(s->dirfd, "cursor", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    return s->curfd < 0 ? -1 : 0;
}

static void set_defaults(ev_spool_opts *o)
{
    if (!o->max_bytes)
        o->max_bytes = 1ull << 30;
    if (!o->segment_bytes) {
        o->segment_bytes = o->max_bytes / 8;
        if (o->segment_bytes < 4096)
            o->segment_bytes = 4096;
        if (o->segment_bytes > (64ull << 20))
            o->segment_bytes = 64ull << 20;
    }
    if (o->fsync == EV_FSYNC_PERIODIC && !o->fsync_interval_ms)
        o->fsync_interval_ms = 1000;
}

ev_spool *ev_spool_open(const char *dir, const char *name, const ev_spool_opts *o)
{
    ev_spool *s = calloc(1, sizeof *s);
    if (!s || pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        ev_err("spool %s: out of memory", name);
        return NULL;
    }
    s->dirfd = s->lockfd = s->curfd = s->wfd = -1;
    s->dir = strdup(dir);
    s->name = strdup(name);
    s->o = *o;
    set_defaults(&s->o);
    clock_gettime(CLOCK_MONOTONIC, &s->last_sync);
    if (!s->dir || !s->name || open_dir(s) < 0) {
        if (errno == EBUSY)
            ev_err("spool %s: %s is in use by another process (its lock file is held): give each"
                   " agent its own spool dir", name, dir);
        else
            ev_err("spool %s: cannot use %s: %s", name, dir, strerror(errno));
        ev_spool_close(s);
        return NULL;
    }
    size_t n;
    uint64_t *ids = list_segments(s, &n);
    for (size_t i = 0; i < n; i++) {
        seg_info si;
        scan_segment(s, ids[i], &si);
        s->next_id = ids[i] + 1;
        char fn[64];
        seg_name(fn, sizeof fn, ids[i]);
        if (si.bytes == 0)
            unlinkat(s->dirfd, fn, 0);
        else if (add_seg(s, si) == 0)
            s->total_bytes += si.bytes;
    }
    free(ids);
    restore_head(s);
    if (s->nsegs && s->head_off >= s->segs[0].bytes)
        remove_oldest(s);
    write_cursor(s);
    ev_spool_stats_get(s, &s->st); /* fills records/points */
    s->st.found_points = s->st.points;
    if (s->st.points)
        ev_notice("spool %s: %" PRIu64 " points in %" PRIu64 " records left by a previous run in %s:"
                  " they will be sent", name, s->st.points, s->st.records, dir);
    return s;
}

void ev_spool_close(ev_spool *s)
{
    if (!s)
        return;
    if (s->wfd >= 0)
        ev_spool_sync(s);
    close_writer(s);
    if (s->curfd >= 0)
        close(s->curfd);
    if (s->lockfd >= 0)
        close(s->lockfd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    pthread_mutex_destroy(&s->mu);
    free(s->segs);
    free(s->dir);
    free(s->name);
    free(s);
}

static void sync_locked(ev_spool *s);

/* ---- append ------------------------------------------------------------------ */

static int write_all(int fd, const struct iovec *iov_in, int niov)
{
    struct iovec iov[2];
    memcpy(iov, iov_in, (size_t)niov * sizeof *iov);
    struct iovec *v = iov;
    while (niov > 0) {
        ssize_t w = writev(fd, v, niov);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        while (niov > 0 && (size_t)w >= v->iov_len) {
            w -= (ssize_t)v->iov_len;
            v++;
            niov--;
        }
        if (niov > 0) {
            v->iov_base = (char *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static int append_locked(ev_spool *s, const void *data, size_t len, uint32_t npoints)
{
    uint64_t reclen = HDR_LEN + (uint64_t)len;
    if (len > UINT32_MAX || reclen > s->o.max_bytes) {
        ev_err("spool %s: a record of %zu bytes (%u points) is larger than the quota of %" PRIu64
               " bytes: dropped", s->name, len, npoints, s->o.max_bytes);
        s->st.dropped_points += npoints;
        return -1;
    }
    while (s->nsegs && s->total_bytes + reclen > s->o.max_bytes)
        drop_oldest(s);
    seg_info *last = s->nsegs ? &s->segs[s->nsegs - 1] : NULL;
    if (!last || s->wfd < 0 || (last->bytes > 0 && last->bytes + reclen > s->o.segment_bytes)) {
        if (new_segment(s) < 0)
            goto fail;
        last = &s->segs[s->nsegs - 1];
    }
    rec_hdr h = {REC_MAGIC, (uint32_t)len, npoints, rec_crc((uint32_t)len, npoints, data)};
    struct iovec iov[2] = {{&h, HDR_LEN}, {(void *)(uintptr_t)data, len}};
    if (write_all(s->wfd, iov, 2) < 0) {
        int e = errno;
        if (ftruncate(s->wfd, (off_t)last->bytes) < 0) /* no half record left behind */
            ev_debug("spool %s: cannot truncate: %s", s->name, strerror(errno));
        errno = e;
        goto fail;
    }
    last->bytes += reclen;
    last->records++;
    last->points += npoints;
    s->total_bytes += reclen;
    s->dirty = true;
    s->fail_logged = false;
    if (s->o.fsync == EV_FSYNC_ALWAYS)
        sync_locked(s);
    return 0;
fail:
    if (!s->fail_logged) {
        s->fail_logged = true;
        ev_err("spool %s: cannot write to %s: %s: dropping points until it can", s->name, s->dir,
               strerror(errno));
    }
    s->st.dropped_points += npoints;
    return -1;
}

int ev_spool_append(ev_spool *s, const void *data, size_t len, uint32_t npoints)
{
    pthread_mutex_lock(&s->mu);
    int rc = append_locked(s, data, len, npoints);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- read ---------------------------------------------------------------------- */

size_t ev_spool_peek(ev_spool *s, ev_spool_rec **out, size_t max_recs, uint64_t max_points,
                     ev_spool_pos *next)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    if (!s->nsegs || s->head_off >= s->segs[0].bytes) {
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    seg_info *seg = &s->segs[0];
    char fn[64];
    seg_name(fn, sizeof fn, seg->id);
    int fd = openat(s->dirfd, fn, O_RDONLY | O_CLOEXEC);
    uint64_t off = s->head_off, pts = 0;
    while (fd >= 0 && n < max_recs && off < seg->bytes) {
        ev_spool_rec *r = NULL;
        uint64_t len = read_rec(fd, off, seg->bytes, &r);
        if (!len) {
            /* Damaged after it was written (disk error): the rest of this
             * segment cannot be trusted. */
            ev_err("spool %s: %s/%s: unreadable record at offset %" PRIu64 ": dropping the rest of"
                   " that segment", s->name, s->dir, fn, off);
            if (n == 0) {
                close(fd);
                fd = -1;
                drop_oldest(s);
            }
            break;
        }
        if (n > 0 && pts + r->npoints > max_points) {
            free(r);
            break;
        }
        out[n++] = r;
        pts += r->npoints;
        off += len;
    }
    if (fd >= 0)
        close(fd);
    if (n) {
        next->seg = seg->id;
        next->off = off;
        next->nrec = n;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

void ev_spool_ack(ev_spool *s, ev_spool_pos next, uint64_t npoints)
{
    pthread_mutex_lock(&s->mu);
    s->st.replayed_points += npoints;
    if (!s->nsegs || next.seg < s->segs[0].id) {
        /* The quota deleted them while they were being sent. */
        s->st.dropped_points -= npoints <= s->st.dropped_points ? npoints : s->st.dropped_points;
    } else if (next.seg == s->segs[0].id && next.off > s->head_off) {
        s->head_off = next.off;
        s->head_recs += next.nrec;
        s->head_pts += npoints;
        if (s->head_off >= s->segs[0].bytes)
            remove_oldest(s);
        write_cursor(s);
    }
    if (!s->nsegs)
        s->drop_logged = false;
    pthread_mutex_unlock(&s->mu);
}

/* ---- fsync, stats ---------------------------------------------------------------- */

static void sync_locked(ev_spool *s)
{
    if (!s->dirty)
        return;
    if (s->wfd >= 0 && fdatasync(s->wfd) < 0)
        ev_warn("spool %s: fsync: %s", s->name, strerror(errno));
    fsync(s->dirfd); /* new segment names */
    s->dirty = false;
    clock_gettime(CLOCK_MONOTONIC, &s->last_sync);
}

void ev_spool_sync(ev_spool *s)
{
    pthread_mutex_lock(&s->mu);
    sync_locked(s);
    pthread_mutex_unlock(&s->mu);
}

long ev_spool_sync_due_ms(ev_spool *s)
{
    long due = -1;
    pthread_mutex_lock(&s->mu);
    if (s->dirty && s->o.fsync == EV_FSYNC_PERIODIC) {
        uint64_t e = elapsed_ms(&s->last_sync);
        due = e >= s->o.fsync_interval_ms ? 0 : (long)(s->o.fsync_interval_ms - e);
    }
    pthread_mutex_unlock(&s->mu);
    return due;
}

size_t ev_spool_record_max(const ev_spool *s)
{
    return (size_t)(s->o.segment_bytes / 2);
}

bool ev_spool_empty(ev_spool *s)
{
    pthread_mutex_lock(&s->mu);
    bool empty = !s->nsegs || (s->nsegs == 1 && s->head_off >= s->segs[0].bytes);
    pthread_mutex_unlock(&s->mu);
    return empty;
}

void ev_spool_stats_get(ev_spool *s, ev_spool_stats *st)
{
    pthread_mutex_lock(&s->mu);
    *st = s->st;
    st->bytes = s->total_bytes;
    st->records = st->points = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        st->records += s->segs[i].records;
        st->points += s->segs[i].points;
    }
    if (s->nsegs) {
        st->records -= s->head_recs;
        st->points -= s->head_pts;
    }
    pthread_mutex_unlock(&s->mu);
}
