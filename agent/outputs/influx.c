/*
 * influx.c - the InfluxDB output: POST /write?db=..&precision=ns (1.x), or
 * /api/v2/write?org=..&bucket=..&precision=ns with "Authorization: Token"
 * (2.x, when a token, org or bucket is configured); http or https.
 *
 * write_lp() takes the batch as encoded once by the agent (write() encodes
 * it on the caller's thread) and
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
 *     honours Retry-After (backoff.h).
 *
 * Store and forward: with a spool (spool.h), a failed batch and the memory
 * queue go to disk and, while the store stays down, write() appends there
 * directly, so a crash loses nothing written; the writer retries the
 * spool's oldest batch with backoff. Once the store answers, live lines go
 * first and the spool is replayed in order at no more than replay_rate
 * points/s between them. free() puts what is left in memory on disk.
 * Without a spool the memory queue drops its oldest lines when full.
 * The output is either up or down; each change is logged once, not every
 * retry. Counters obey points_in = sent + dropped + queued (points found
 * in the spool at start count in points_in).
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
#include "agent/loop.h"
#include "agent/outputs/backoff.h"
#include "agent/outputs/gzip.h"
#include "agent/outputs/httppost.h"
#include "agent/outputs/influx_priv.h"
#include "agent/outputs/influx_resp.h"
#include "agent/outputs/lineq.h"
#include "agent/outputs/spool.h"

/* ---- time ------------------------------------------------------------- */

static double secs_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static bool passed(const struct timespec *t)
{
    return secs_since(t) >= 0;
}

static const struct timespec *earliest(const struct timespec *a, const struct timespec *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec) ? a : b;
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
    o->spilling = false;
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

    const char *kept = o->spool ? "points are kept on disk" : "points are kept";
    char err[300];
    ev_inf_error_text(r->body.p, r->body.len, err, sizeof err);
    switch (v) {
    case EV_INF_NO_DB:
        if (strstr(err, "database not found"))
            ev_err("influx: database '%s' not found on %s: create it with CREATE DATABASE %s"
                   " (retrying; %s)", o->db, o->url, o->db, kept);
        else if (strstr(err, "bucket"))
            ev_err("influx: %s: %s: check org and bucket (retrying; %s)", o->url, err, kept);
        else
            ev_err("influx: %s answered HTTP 404 (%s): is this an InfluxDB URL?"
                   " (retrying; %s)", o->write_url, err, kept);
        break;
    case EV_INF_AUTH:
        ev_err("influx: %s refused the credentials (HTTP %ld: %s): check the influx token, or"
               " username and password, and the right to write to '%s' (retrying; %s)",
               o->url, r->status, err, o->db, kept);
        break;
    default:
        if (r->status == 0)
            ev_warn("influx: cannot reach %s: %s (retrying with backoff; %s)", o->url, r->error, kept);
        else
            ev_warn("influx: %s answered HTTP %ld%s%s (retrying with backoff; %s)",
                    o->url, r->status, *err ? ": " : "", err, kept);
        break;
    }
}

/* ---- the batch in flight ------------------------------------------------- */

/* Settle the first n lines in flight: sent of them acknowledged, the rest
 * rejected. A replayed batch leaves the spool once all of it is settled.
 * Wakes flush(). */
static void settle(ev_influx *o, size_t n, size_t sent)
{
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < n; i++)
        free(o->flight[o->flight_pos + i]);
    o->flight_pos += n;
    o->flight_left -= n;
    if (o->flight_replay) {
        o->replay_settled += n;
        if (o->flight_left == 0) {
            ev_spool_ack(o->spool, o->replay_pos, o->replay_pts);
            o->replay_settled = 0;
            o->flight_replay = false;
        }
    } else {
        o->q.reserved -= n;
    }
    o->sent += sent;
    o->dropped += n - sent;
    pthread_cond_broadcast(&o->settled);
    pthread_mutex_unlock(&o->mu);
}

/* A live batch failed and there is a spool: its unsettled lines go to disk. */
static void spill_flight(ev_influx *o)
{
    pthread_mutex_lock(&o->mu);
    size_t n = o->flight_left;
    o->spilling = false; /* ev_influx_start_spilling() moves the memory queue after the flight */
    ev_influx_spill_lines(o, o->flight + o->flight_pos, n);
    o->flight_left = 0;
    o->q.reserved -= n;
    ev_influx_start_spilling(o);
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
    struct timespec until = ev_mono_deadline(ms);
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

/* Send everything in flight, retrying until it is settled or we stop (a
 * live batch with a spool is put on disk instead of retried). */
static void send_flight(ev_influx *o, ev_buf *body, ev_buf *gz, ev_http_result *r)
{
    pthread_mutex_lock(&o->mu);
    size_t chunk = o->flight_left; /* halved on 413, for this batch only */
    pthread_mutex_unlock(&o->mu);
    for (;;) {
        pthread_mutex_lock(&o->mu);
        size_t left = o->flight_left;
        ev_line **lines = o->flight + o->flight_pos;
        bool replay = o->flight_replay;
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
            if (o->spool && !replay) {
                spill_flight(o);
                backoff_wait(o, r);
                return;
            }
            pthread_mutex_lock(&o->mu);
            ev_influx_start_spilling(o);
            pthread_mutex_unlock(&o->mu);
            backoff_wait(o, r);
            break;
        }
    }
}

/* ---- the writer thread ------------------------------------------------------ */

/* Live lines to send now? Starts lingering for a fuller batch. Under mu. */
static bool live_ready(ev_influx *o)
{
    size_t n = ev_lineq_len(&o->q);
    if (n == 0)
        return false;
    if (n >= o->batch_size || o->flushing)
        return true;
    if (!o->lingering) {
        o->lingering = true;
        o->linger_until = ev_mono_deadline(o->linger_ms);
        return false;
    }
    return passed(&o->linger_until);
}

/* A spooled batch due (paced at replay_rate, unless flushing)? Under mu. */
static bool replay_ready(ev_influx *o)
{
    if (!o->spool || ev_spool_empty(o->spool))
        return false;
    return o->flushing || o->spilling || passed(&o->replay_at);
}

/* Wait for work; fsync the spool when due. Returns with mu held and the
 * flight loaded, or false to stop. */
static bool next_flight(ev_influx *o)
{
    pthread_mutex_lock(&o->mu);
    for (;;) {
        if (atomic_load(&o->stop))
            break;
        if (o->spool && ev_spool_sync_due_ms(o->spool) == 0)
            ev_spool_sync(o->spool);
        if (live_ready(o)) {
            o->lingering = false;
            o->flight_pos = 0;
            o->flight_replay = false;
            o->flight_left = o->q.reserved = ev_lineq_take(&o->q, o->flight, o->batch_size);
            pthread_mutex_unlock(&o->mu);
            return true;
        }
        if (replay_ready(o) && ev_influx_load_replay(o)) {
            unsigned ms = (unsigned)(o->replay_pts * 1000 / o->replay_rate);
            o->replay_at = ev_mono_deadline(ms);
            pthread_mutex_unlock(&o->mu);
            return true;
        }
        const struct timespec *until = NULL;
        struct timespec sync_at;
        if (ev_lineq_len(&o->q))
            until = &o->linger_until;
        if (o->spool && !ev_spool_empty(o->spool))
            until = earliest(until, &o->replay_at);
        long due = o->spool ? ev_spool_sync_due_ms(o->spool) : -1;
        if (due > 0) {
            sync_at = ev_mono_deadline((unsigned)due);
            until = earliest(until, &sync_at);
        }
        if (until)
            pthread_cond_timedwait(&o->wake, &o->mu, until);
        else
            pthread_cond_wait(&o->wake, &o->mu);
    }
    pthread_mutex_unlock(&o->mu);
    return false;
}

static void *writer_main(void *arg)
{
    ev_influx *o = arg;
    ev_buf body, gz;
    ev_buf_init(&body);
    ev_buf_init(&gz);
    ev_http_result r;
    ev_http_result_init(&r);
    while (next_flight(o))
        send_flight(o, &body, &gz, &r);
    ev_http_result_free(&r);
    ev_buf_free(&body);
    ev_buf_free(&gz);
    return NULL;
}

/* ---- the ev_output interface ---------------------------------------------- */

static int influx_write_lp(ev_output *base, const ev_lp_text *t)
{
    ev_influx *o = (ev_influx *)base;
    size_t nlines = t->lines, n = t->batch->n;
    if (!nlines)
        return 0;
    const char *text = t->text.p;
    /* The line ends, without the points that wrote none (rare: then copied). */
    size_t *ends = t->end;
    if (nlines < n) {
        ends = malloc(nlines * sizeof *ends);
        if (!ends) {
            ev_err("influx: out of memory queueing %zu points", nlines);
            return -1;
        }
        for (size_t i = 0, k = 0; i < n; i++)
            if (t->end[i] != ev_lp_start(t, i))
                ends[k++] = t->end[i];
    }
    size_t accepted = 0, dropped = 0;
    bool warn_full = false;
    pthread_mutex_lock(&o->mu);
    o->in += nlines;
    if (o->spool && (o->spilling || ev_lineq_len(&o->q) + o->q.reserved + nlines > o->q.max)) {
        /* down, or more than memory holds: to disk (the quota drops, counted there) */
        ev_influx_spill_text(o, text, ends, nlines);
        accepted = nlines;
    } else {
        size_t start = 0;
        for (size_t i = 0; i < nlines; i++) {
            ev_lineq_result rc = ev_lineq_push(&o->q, text + start, ends[i] - start);
            start = ends[i];
            accepted += rc == EV_LINEQ_QUEUED || rc == EV_LINEQ_DROPPED_OLDEST;
            dropped += rc != EV_LINEQ_QUEUED;
        }
    }
    o->dropped += dropped;
    if (dropped && !o->drop_logged) {
        o->drop_logged = true;
        warn_full = true;
    }
    pthread_cond_signal(&o->wake);
    pthread_mutex_unlock(&o->mu);
    if (warn_full)
        ev_warn("influx: queue full (%zu points) while %s is unavailable: dropping the oldest"
                " (configure spool.dir to keep them on disk)", o->q.max, o->url);
    if (ends != t->end)
        free(ends);
    return accepted ? 0 : -1;
}

static int influx_write(ev_output *base, const ev_batch *b)
{
    if (!b || b->n == 0)
        return 0;
    ev_lp_text t;
    if (ev_lp_encode(&t, b) < 0) {
        ev_err("influx: out of memory queueing %zu points", b->n);
        return -1;
    }
    int rc = influx_write_lp(base, &t);
    ev_lp_text_free(&t);
    return rc;
}

/* Points not yet delivered. Under mu. */
static uint64_t pending(ev_influx *o)
{
    uint64_t n = ev_lineq_len(&o->q) + o->q.reserved;
    if (o->spool) {
        ev_spool_stats st;
        ev_spool_stats_get(o->spool, &st);
        n += st.points - o->replay_settled;
    }
    return n;
}

static int influx_flush(ev_output *base, unsigned timeout_ms)
{
    ev_influx *o = (ev_influx *)base;
    struct timespec until = ev_mono_deadline(timeout_ms);
    pthread_mutex_lock(&o->mu);
    o->flushing++;
    pthread_cond_signal(&o->wake); /* stop lingering: send now */
    while (pending(o) > 0)
        if (pthread_cond_timedwait(&o->settled, &o->mu, &until) == ETIMEDOUT)
            break;
    o->flushing--;
    int rc = pending(o) == 0 ? 0 : -1;
    pthread_mutex_unlock(&o->mu);
    return rc;
}

static void influx_stats(const ev_output *base, ev_output_stats *st)
{
    ev_influx *o = (ev_influx *)base;
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&o->mu);
    st->points_in = o->in;
    st->points_sent = o->sent;
    st->points_dropped = o->dropped;
    st->points_queued = pending(o);
    st->errors = o->errors;
    if (o->spool) {
        ev_spool_stats ss;
        ev_spool_stats_get(o->spool, &ss);
        st->points_dropped += ss.dropped_points;
        st->spool_bytes = ss.bytes;
        st->spool_records = ss.records;
        st->spool_points = ss.points;
        st->spool_dropped = ss.dropped_points;
        st->spool_replayed = ss.replayed_points;
    }
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
    ev_influx_keep_or_report(o);
    ev_spool_close(o->spool);
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

static bool is_v2(const ev_influx_cfg *ic)
{
    return (ic->token && *ic->token) || (ic->org && *ic->org) || (ic->bucket && *ic->bucket);
}

/* 1.x: "<url>/write?db=<db>&precision=ns"; 2.x: "<url>/api/v2/write?org=
 * <org>&bucket=<bucket>&precision=ns"; the URL's trailing slashes dropped. */
static char *build_write_url(const ev_influx_cfg *ic, const char *db)
{
    size_t ul = strlen(ic->url) - strspn_end(ic->url, '/');
    char *esc = curl_easy_escape(NULL, db, 0);
    char *org = curl_easy_escape(NULL, ic->org ? ic->org : "", 0);
    char *out = NULL;
    if (esc && org) {
        int rc = is_v2(ic) ? asprintf(&out, "%.*s/api/v2/write?org=%s&bucket=%s&precision=ns",
                                      (int)ul, ic->url, org, esc)
                           : asprintf(&out, "%.*s/write?db=%s&precision=ns", (int)ul, ic->url, esc);
        if (rc < 0)
            out = NULL;
    }
    curl_free(esc);
    curl_free(org);
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
    o->base.write_lp = influx_write_lp;
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
    clock_gettime(CLOCK_MONOTONIC, &o->replay_at);

    const char *db = is_v2(ic) && ic->bucket && *ic->bucket ? ic->bucket : ic->database;
    o->url = strndup(ic->url, strlen(ic->url) - strspn_end(ic->url, '/'));
    o->db = strdup(db && *db ? db : "evmon");
    o->write_url = o->db ? build_write_url(ic, o->db) : NULL;
    o->flight_cap = o->batch_size;
    o->flight = calloc(o->flight_cap, sizeof *o->flight);
    if (o->url && o->write_url && o->flight) {
        ev_http_opts ho = {.url = o->write_url, .user = ic->username, .password = ic->password,
                           .token = ic->token, .ca_file = ic->ca_file,
                           .timeout_ms = ic->timeout_ms ? ic->timeout_ms : 5000};
        o->http = ev_http_new(&ho, &o->stop);
    }
    if (!o->http) {
        ev_err("influx: cannot set up the HTTP client for %s", ic->url);
        influx_free(&o->base);
        return NULL;
    }
    if (ev_influx_open_spool(o, cfg) < 0) {
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
