/*
 * influx.c - the InfluxDB 1.x output: POST /write?db=..&precision=ns.
 *
 * write() encodes the batch to line protocol on the caller's thread and
 * appends the lines to a bounded queue (lineq.h): it never waits for the
 * network. One writer thread per output takes up to batch_size lines (after
 * lingering up to EV_INFLUX_LINGER_MS for a full batch, as the agent writes
 * device by device; flush() cuts the wait short),
 * POSTs them (gzip when enabled) over a reused keep-alive connection
 * (httppost.h) and settles them by what the server answered
 * (influx_resp.h):
 *   - sent, or rejected by a 400 (counted, logged, never retried);
 *   - 413: the batch is split in halves, each retried;
 *   - anything else (429, 5xx, 401/403, 404, no answer): the same lines
 *     are retried, in order, after an exponential backoff with jitter that
 *     honours Retry-After (backoff.h). Nothing is lost meanwhile except
 *     what the queue bound drops (oldest first, counted).
 * The output is either up or down; each change is logged once, not every
 * retry. Counters obey points_in = sent + dropped + queued.
 */
#include "agent/outputs/influx.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/buf.h"
#include "agent/lineproto.h"
#include "agent/log.h"
#include "agent/outputs/backoff.h"
#include "agent/outputs/gzip.h"
#include "agent/outputs/httppost.h"
#include "agent/outputs/influx_resp.h"
#include "agent/outputs/lineq.h"

typedef struct {
    ev_output base; /* first: the ev_output * is this struct */
    char *url;      /* the base URL, for log lines */
    char *db;
    char *write_url;
    unsigned batch_size;
    unsigned linger_ms;
    bool gzip;
    ev_http *http;
    atomic_int stop;

    pthread_t writer;
    bool writer_started;
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* writer: lines queued, or stop */
    pthread_cond_t settled; /* flush(): lines left the queue */

    /* Under mu. */
    ev_lineq q;           /* q.reserved = lines in flight, not yet settled */
    ev_line **flight;     /* batch_size slots; [flight_pos, +q.reserved) live */
    size_t flight_pos;
    unsigned flushing;    /* flush() callers waiting: do not linger */
    uint64_t in, sent, dropped, errors;
    bool drop_logged;     /* "queue full" said once per episode */

    /* Writer thread only. */
    ev_backoff backoff;
    bool down;            /* last attempt failed */
    bool ever_up;
    int down_key;         /* what the last logged failure was */
    unsigned down_attempts;
    struct timespec down_since;
} ev_influx;

/* ---- time ------------------------------------------------------------- */

static struct timespec mono_after(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static double secs_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- up/down, logged once per change ------------------------------------ */

static void note_up(ev_influx *o)
{
    if (o->down) {
        ev_notice("influx: %s is back (database '%s') after %u failed attempt%s in %.1f s",
                  o->url, o->db, o->down_attempts, o->down_attempts == 1 ? "" : "s",
                  secs_since(&o->down_since));
    } else if (!o->ever_up) {
        ev_info("influx: writing to %s, database '%s'", o->url, o->db);
    }
    o->down = false;
    o->ever_up = true;
    o->down_attempts = 0;
    ev_backoff_reset(&o->backoff);
    pthread_mutex_lock(&o->mu);
    o->drop_logged = false;
    pthread_mutex_unlock(&o->mu);
}

/* Log why the store is down, unless this very reason was already logged. */
static void note_down(ev_influx *o, ev_inf_verdict v, const ev_http_result *r)
{
    int key = (int)v; /* 503 then 500 then a timeout: still one "down" */
    if (!o->down) {
        o->down = true;
        clock_gettime(CLOCK_MONOTONIC, &o->down_since);
    } else if (key == o->down_key) {
        o->down_attempts++;
        return;
    }
    o->down_key = key;
    o->down_attempts++;

    char err[300];
    ev_inf_error_text(r->body.p, r->body.len, err, sizeof err);
    switch (v) {
    case EV_INF_NO_DB:
        if (strstr(err, "database not found"))
            ev_err("influx: database '%s' not found on %s: create it with CREATE DATABASE %s"
                   " (retrying; points are kept)", o->db, o->url, o->db);
        else
            ev_err("influx: %s answered HTTP 404 (%s): is this an InfluxDB 1.x URL?"
                   " (retrying; points are kept)", o->write_url, err);
        break;
    case EV_INF_AUTH:
        ev_err("influx: %s refused the credentials (HTTP %ld: %s): check influx username and"
               " password, and the user's WRITE privilege on '%s' (retrying; points are kept)",
               o->url, r->status, err, o->db);
        break;
    default:
        if (r->status == 0)
            ev_warn("influx: cannot reach %s: %s (retrying with backoff; points are kept)",
                    o->url, r->error);
        else
            ev_warn("influx: %s answered HTTP %ld%s%s (retrying with backoff; points are kept)",
                    o->url, r->status, *err ? ": " : "", err);
        break;
    }
}

/* ---- the batch in flight ------------------------------------------------- */

/* Settle the first n lines in flight: sent of them acknowledged, the rest
 * rejected. Wakes flush(). */
static void settle(ev_influx *o, size_t n, size_t sent)
{
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < n; i++)
        free(o->flight[o->flight_pos + i]);
    o->flight_pos += n;
    o->q.reserved -= n;
    if (o->q.reserved == 0)
        o->flight_pos = 0;
    o->sent += sent;
    o->dropped += n - sent;
    pthread_cond_broadcast(&o->settled);
    pthread_mutex_unlock(&o->mu);
}

static void count_error(ev_influx *o)
{
    pthread_mutex_lock(&o->mu);
    o->errors++;
    pthread_mutex_unlock(&o->mu);
}

/* Sleep for the backoff, waking early only to stop. */
static void backoff_wait(ev_influx *o, const ev_http_result *r)
{
    unsigned ms = ev_backoff_next(&o->backoff, r->retry_after_ms);
    ev_debug("influx: attempt %u failed (HTTP %ld%s%s); next attempt in %u ms", o->down_attempts,
             r->status, *r->error ? ", " : "", r->error, ms);
    struct timespec until = mono_after(ms);
    pthread_mutex_lock(&o->mu);
    while (!atomic_load(&o->stop))
        if (pthread_cond_timedwait(&o->wake, &o->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&o->mu);
}

/* POST lines[0..n) and return the server's answer in r. */
static void post_lines(ev_influx *o, ev_line **lines, size_t n, ev_buf *body, ev_buf *gz,
                       ev_http_result *r)
{
    ev_buf_reset(body);
    for (size_t i = 0; i < n; i++)
        ev_buf_put(body, lines[i]->s, lines[i]->len);
    if (body->oom) {
        ev_buf_free(body); /* clears the sticky flag for the next try */
        ev_buf_reset(&r->body);
        r->status = 0;
        r->retry_after_ms = -1;
        snprintf(r->error, sizeof r->error, "out of memory building the request");
        return;
    }
    if (o->gzip && ev_gzip(gz, body->p, body->len) == 0)
        ev_http_post(o->http, gz->p, gz->len, true, r);
    else
        ev_http_post(o->http, body->p, body->len, false, r);
}

/* Send everything in flight, retrying until it is settled or we stop. */
static void send_flight(ev_influx *o, ev_buf *body, ev_buf *gz, ev_http_result *r)
{
    size_t chunk = o->q.reserved; /* halved on 413, for this batch only */
    for (;;) {
        pthread_mutex_lock(&o->mu);
        size_t left = o->q.reserved;
        ev_line **lines = o->flight + o->flight_pos;
        pthread_mutex_unlock(&o->mu);
        if (left == 0 || atomic_load(&o->stop))
            return;
        size_t n = chunk < left ? chunk : left;
        post_lines(o, lines, n, body, gz, r);
        if (atomic_load(&o->stop))
            return;
        ev_inf_verdict v = ev_inf_classify(r->status);
        switch (v) {
        case EV_INF_OK:
            note_up(o);
            settle(o, n, n);
            break;
        case EV_INF_REJECTED: {
            char err[768];
            ev_inf_error_text(r->body.p, r->body.len, err, sizeof err);
            size_t rejected = ev_inf_rejected(err, n);
            note_up(o);
            ev_warn("influx: %s rejected %zu of %zu points (HTTP 400, not retried): %s",
                    o->url, rejected, n, err);
            settle(o, n, n - rejected);
            break;
        }
        case EV_INF_TOO_LARGE:
            note_up(o);
            if (n == 1) {
                ev_err("influx: %s refused a single line of %u bytes as too large (HTTP 413);"
                       " dropped", o->url, lines[0]->len);
                settle(o, 1, 0);
            } else {
                chunk = (n + 1) / 2;
                ev_info("influx: %s: %zu lines too large a request (HTTP 413), splitting in"
                        " batches of %zu", o->url, n, chunk);
            }
            break;
        default:
            count_error(o);
            note_down(o, v, r);
            backoff_wait(o, r);
            break;
        }
    }
}

static void *writer_main(void *arg)
{
    ev_influx *o = arg;
    ev_buf body, gz;
    ev_buf_init(&body);
    ev_buf_init(&gz);
    ev_http_result r;
    ev_http_result_init(&r);
    for (;;) {
        pthread_mutex_lock(&o->mu);
        while (!atomic_load(&o->stop) && ev_lineq_len(&o->q) == 0)
            pthread_cond_wait(&o->wake, &o->mu);
        struct timespec until = mono_after(o->linger_ms);
        while (!atomic_load(&o->stop) && !o->flushing && ev_lineq_len(&o->q) < o->batch_size)
            if (pthread_cond_timedwait(&o->wake, &o->mu, &until) == ETIMEDOUT)
                break;
        if (atomic_load(&o->stop)) {
            pthread_mutex_unlock(&o->mu);
            break;
        }
        o->flight_pos = 0;
        o->q.reserved = ev_lineq_take(&o->q, o->flight, o->batch_size);
        pthread_mutex_unlock(&o->mu);
        send_flight(o, &body, &gz, &r);
    }
    ev_http_result_free(&r);
    ev_buf_free(&body);
    ev_buf_free(&gz);
    return NULL;
}

/* ---- the ev_output interface ---------------------------------------------- */

static int influx_write(ev_output *base, const ev_batch *b)
{
    ev_influx *o = (ev_influx *)base;
    if (!b || b->n == 0)
        return 0;
    /* Encode outside the lock: the writer thread is never held up by it. */
    ev_buf text;
    ev_buf_init(&text);
    size_t *ends = malloc(b->n * sizeof *ends), nlines = 0;
    if (!ends) {
        ev_err("influx: out of memory queueing %zu points", b->n);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        size_t before = text.len;
        if (ev_lp_point(&text, &b->pts[i], EV_PREC_NS) == 0)
            ends[nlines++] = text.len;
        else
            text.len = before; /* no field to write, or out of memory */
    }
    size_t accepted = 0, dropped = 0;
    bool warn_full = false;
    pthread_mutex_lock(&o->mu);
    size_t start = 0;
    for (size_t i = 0; i < nlines; i++) {
        ev_lineq_result rc = ev_lineq_push(&o->q, text.p + start, ends[i] - start);
        start = ends[i];
        accepted += rc == EV_LINEQ_QUEUED || rc == EV_LINEQ_DROPPED_OLDEST;
        dropped += rc != EV_LINEQ_QUEUED;
    }
    o->in += nlines;
    o->dropped += dropped;
    if (dropped && !o->drop_logged) {
        o->drop_logged = true;
        warn_full = true;
    }
    pthread_cond_signal(&o->wake);
    pthread_mutex_unlock(&o->mu);
    if (warn_full)
        ev_warn("influx: queue full (%zu points) while %s is unavailable: dropping the oldest",
                o->q.max, o->url);
    ev_buf_free(&text);
    free(ends);
    return nlines && !accepted ? -1 : 0;
}

static int influx_flush(ev_output *base, unsigned timeout_ms)
{
    ev_influx *o = (ev_influx *)base;
    struct timespec until = mono_after(timeout_ms);
    pthread_mutex_lock(&o->mu);
    o->flushing++;
    pthread_cond_signal(&o->wake); /* stop lingering: send now */
    while (ev_lineq_len(&o->q) + o->q.reserved > 0)
        if (pthread_cond_timedwait(&o->settled, &o->mu, &until) == ETIMEDOUT)
            break;
    o->flushing--;
    int rc = ev_lineq_len(&o->q) + o->q.reserved == 0 ? 0 : -1;
    pthread_mutex_unlock(&o->mu);
    return rc;
}

static void influx_stats(const ev_output *base, ev_output_stats *st)
{
    ev_influx *o = (ev_influx *)base;
    pthread_mutex_lock(&o->mu);
    st->points_in = o->in;
    st->points_sent = o->sent;
    st->points_dropped = o->dropped;
    st->points_queued = ev_lineq_len(&o->q) + o->q.reserved;
    st->errors = o->errors;
    pthread_mutex_unlock(&o->mu);
}

static void influx_free(ev_output *base)
{
    ev_influx *o = (ev_influx *)base;
    if (!o)
        return;
    if (o->writer_started) {
        pthread_mutex_lock(&o->mu);
        atomic_store(&o->stop, 1);
        pthread_cond_broadcast(&o->wake);
        pthread_mutex_unlock(&o->mu);
        pthread_join(o->writer, NULL);
    }
    size_t left = ev_lineq_len(&o->q) + o->q.reserved;
    if (left)
        ev_warn("influx: %zu points not sent to %s at shutdown", left, o->url);
    for (size_t i = 0; i < o->q.reserved; i++)
        free(o->flight[o->flight_pos + i]);
    o->q.reserved = 0;
    ev_lineq_free(&o->q);
    free(o->flight);
    ev_http_free(o->http);
    pthread_cond_destroy(&o->wake);
    pthread_cond_destroy(&o->settled);
    pthread_mutex_destroy(&o->mu);
    free(o->url);
    free(o->db);
    free(o->write_url);
    free(o);
    curl_global_cleanup();
}

/* ---- construction ------------------------------------------------------------ */

/* How many c end s. */
static size_t strspn_end(const char *s, char c)
{
    size_t len = strlen(s), n = 0;
    while (n < len && s[len - 1 - n] == c)
        n++;
    return n;
}

/* "<url>/write?db=<db>&precision=ns", the URL's trailing slashes dropped. */
static char *build_write_url(const char *url, const char *db)
{
    size_t ul = strlen(url) - strspn_end(url, '/');
    char *esc = curl_easy_escape(NULL, db, 0);
    if (!esc)
        return NULL;
    char *out = NULL;
    if (asprintf(&out, "%.*s/write?db=%s&precision=ns", (int)ul, url, esc) < 0)
        out = NULL;
    curl_free(esc);
    return out;
}

static int init_sync(ev_influx *o)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_mutex_init(&o->mu, NULL) || pthread_cond_init(&o->wake, &ca) ||
             pthread_cond_init(&o->settled, &ca);
    pthread_condattr_destroy(&ca);
    return rc ? -1 : 0;
}

ev_output *ev_influx_output_new_tuned(const ev_config *cfg, const ev_influx_tuning *t)
{
    const ev_influx_cfg *ic = &cfg->influx;
    if (!ic->url || !*ic->url) {
        ev_err("influx: no url configured");
        return NULL;
    }
    if (strncmp(ic->url, "http://", 7) != 0 && strncmp(ic->url, "https://", 8) != 0) {
        ev_err("influx: url '%s' must start with http:// or https://", ic->url);
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ev_err("influx: cannot initialise libcurl");
        return NULL;
    }
    ev_influx *o = calloc(1, sizeof *o);
    if (!o || init_sync(o) < 0) {
        free(o);
        curl_global_cleanup();
        ev_err("influx: out of memory");
        return NULL;
    }
    o->base.name = "influx";
    o->base.write = influx_write;
    o->base.flush = influx_flush;
    o->base.stats = influx_stats;
    o->base.free = influx_free;
    o->batch_size = ic->batch_size ? ic->batch_size : 5000;
    o->gzip = ic->gzip;
    o->linger_ms = t && t->linger_ms ? t->linger_ms : EV_INFLUX_LINGER_MS;
    ev_lineq_init(&o->q, ic->max_queue ? ic->max_queue : 100000);
    unsigned base_ms = t && t->backoff_base_ms ? t->backoff_base_ms : EV_INFLUX_BACKOFF_BASE_MS;
    unsigned max_ms = t && t->backoff_max_ms ? t->backoff_max_ms : EV_INFLUX_BACKOFF_MAX_MS;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ev_backoff_init(&o->backoff, base_ms, max_ms,
                    (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 20) ^ (uintptr_t)o);

    o->url = strndup(ic->url, strlen(ic->url) - strspn_end(ic->url, '/'));
    o->db = strdup(ic->database && *ic->database ? ic->database : "evmon");
    o->write_url = o->db ? build_write_url(ic->url, o->db) : NULL;
    o->flight = calloc(o->batch_size, sizeof *o->flight);
    if (o->url && o->write_url && o->flight)
        o->http = ev_http_new(o->write_url, ic->username, ic->password,
                              ic->timeout_ms ? ic->timeout_ms : 5000, &o->stop);
    if (!o->http) {
        ev_err("influx: cannot set up the HTTP client for %s", ic->url);
        influx_free(&o->base);
        return NULL;
    }
    if (pthread_create(&o->writer, NULL, writer_main, o) != 0) {
        ev_err("influx: cannot start the writer thread");
        influx_free(&o->base);
        return NULL;
    }
    o->writer_started = true;
    return &o->base;
}

ev_output *ev_influx_output_new(const ev_config *cfg)
{
    return ev_influx_output_new_tuned(cfg, NULL);
}
