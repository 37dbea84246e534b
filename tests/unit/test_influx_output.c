/*
 * test_influx_output.c - the InfluxDB output end to end against a scripted
 * HTTP server on 127.0.0.1 (in this process, one thread): batching, gzip,
 * basic auth and keep-alive; 413 split in halves; 400 partial write counted
 * and not retried; 503 + Retry-After retried in order; 404 until the
 * database exists; 401/403 and connection refused retried with the batch
 * kept in order; the queue bound dropping the oldest; lingering for a
 * fuller batch unless flushed; flush timing out
 * and free() interrupting a request in progress; the InfluxDB 2.x API
 * (path, org, bucket, token); the spool keeping a down store's points on
 * disk and replaying them in order. Real influxd is covered by
 * tests/integration/test_output_influx.sh; this covers what influxd cannot
 * easily be made to answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "agent/buf.h"
#include "agent/lineproto.h"
#include "agent/log.h"
#include "agent/outputs/influx.h"

#define MAXREQ 64
#define DEADLINE_MS 20000 /* generous: valgrind is slow */

/* ---- a scripted HTTP/1.1 server ------------------------------------------ */

typedef struct {
    int status;
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
} reply;

typedef struct {
    int lfd;
    unsigned short port;
    pthread_t thr;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* script: reply i answers request i; later requests get `dflt` */
    reply script[8];
    size_t nscript;
    reply dflt;
    bool hang; /* read requests, never answer */
    /* what was received */
    size_t nreq, nconn;
    char *body[MAXREQ]; /* decoded */
    bool gzipped[MAXREQ];
    int status_sent[MAXREQ];
    char target[MAXREQ][128];
    char auth[MAXREQ][128];
    struct timespec at[MAXREQ];
} server;

static uint64_t ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

static char *gunzip(const char *in, size_t len)
{
    ev_buf out;
    ev_buf_init(&out);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return NULL;
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    int rc;
    do {
        ev_buf_reserve(&out, 65536);
        zs.next_out = (Bytef *)out.p + out.len;
        zs.avail_out = 65536;
        rc = inflate(&zs, Z_NO_FLUSH);
        out.len = zs.total_out;
    } while (rc == Z_OK);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        ev_buf_free(&out);
        return strdup("<bad gzip>");
    }
    ev_buf_cstr(&out);
    return out.p ? out.p : strdup("");
}

/* Read into b until it holds at least `want` bytes. false on EOF or stop. */
static bool read_until(server *s, int fd, ev_buf *b, size_t want)
{
    while (b->len < want) {
        struct pollfd p = {fd, POLLIN, 0};
        if (atomic_load(&s->stop))
            return false;
        if (poll(&p, 1, 20) <= 0)
            continue;
        ev_buf_reserve(b, 4096);
        ssize_t n = read(fd, b->p + b->len, 4096);
        if (n <= 0)
            return false;
        b->len += (size_t)n;
    }
    return true;
}

static const char *header(const char *head, const char *name, char *val, size_t valsz)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, nl) == 0 && l[2 + nl] == ':') {
            const char *v = l + 3 + nl;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\r");
            snprintf(val, valsz, "%.*s", (int)n, v);
            return val;
        }
    }
    return NULL;
}

/* Serve requests on one connection until EOF. */
static void serve_conn(server *s, int fd)
{
    ev_buf in;
    ev_buf_init(&in);
    for (;;) {
        char *end;
        while (!(ev_buf_cstr(&in), end = strstr(in.p ? in.p : "", "\r\n\r\n")))
            if (!read_until(s, fd, &in, in.len + 1))
                goto out;
        size_t head_len = (size_t)(end - in.p) + 4;
        char head[4096], v[256];
        snprintf(head, sizeof head, "%.*s", (int)head_len, in.p);
        size_t clen = header(head, "Content-Length", v, sizeof v) ? strtoul(v, NULL, 10) : 0;
        if (!read_until(s, fd, &in, head_len + clen))
            goto out;
        bool gz = header(head, "Content-Encoding", v, sizeof v) && strcmp(v, "gzip") == 0;
        char *body = gz ? gunzip(in.p + head_len, clen) : strndup(in.p + head_len, clen);

        pthread_mutex_lock(&s->mu);
        size_t i = s->nreq;
        reply r = i < s->nscript ? s->script[i] : s->dflt;
        bool hang = s->hang;
        if (i < MAXREQ) {
            s->body[i] = body;
            s->gzipped[i] = gz;
            s->status_sent[i] = hang ? 0 : r.status;
            sscanf(head, "%*s %127s", s->target[i]);
            if (!header(head, "Authorization", s->auth[i], sizeof s->auth[i]))
                s->auth[i][0] = '\0';
            clock_gettime(CLOCK_MONOTONIC, &s->at[i]);
            s->nreq++;
        } else {
            free(body);
        }
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);

        memmove(in.p, in.p + head_len + clen, in.len - head_len - clen);
        in.len -= head_len + clen;
        if (hang) {
            while (read_until(s, fd, &in, in.len + 1)) /* until the client gives up */
                ;
            goto out;
        }
        const char *rb = r.body ? r.body : "";
        char resp[2048];
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n%s\r\n%s",
                         r.status, strlen(rb), r.headers ? r.headers : "", rb);
        if (write(fd, resp, (size_t)n) != n)
            goto out;
    }
out:
    ev_buf_free(&in);
    close(fd);
}

static void *server_main(void *arg)
{
    server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->lfd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&s->mu);
        s->nconn++;
        pthread_mutex_unlock(&s->mu);
        serve_conn(s, fd);
    }
    return NULL;
}

/* A server on 127.0.0.1:port (0: any free port). */
static server *server_start_on(unsigned short port)
{
    server *s = calloc(1, sizeof *s);
    s->dflt = (reply){204, NULL, NULL};
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 8), 0);
    socklen_t al = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thr, NULL, server_main, s);
    return s;
}

static server *server_start(void)
{
    return server_start_on(0);
}

static void server_stop(server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thr, NULL);
    close(s->lfd);
    for (size_t i = 0; i < s->nreq && i < MAXREQ; i++)
        free(s->body[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* Wait until the server has received at least n requests (deadline). */
static bool server_wait_requests(server *s, size_t n)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&s->mu);
    while (s->nreq < n && ms_since(&t0) < DEADLINE_MS) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &until);
    }
    bool ok = s->nreq >= n;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void server_set_default(server *s, reply r)
{
    pthread_mutex_lock(&s->mu);
    s->dflt = r;
    pthread_mutex_unlock(&s->mu);
}

/* ---- the output under test --------------------------------------------------- */

typedef struct {
    unsigned linger_ms; /* 0: 1 ms, send at once */
    ev_config cfg;
    char url[64];
    ev_output *out;
} rig;

static ev_output *start_output(rig *r, unsigned short port, unsigned batch, unsigned max_queue,
                               bool gzip)
{
    memset(&r->cfg, 0, sizeof r->cfg);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%u/", port);
    r->cfg.agent_id = "t";
    r->cfg.influx.enabled = true;
    r->cfg.influx.url = r->url;
    r->cfg.influx.database = "evtest";
    r->cfg.influx.batch_size = batch;
    r->cfg.influx.max_queue = max_queue;
    r->cfg.influx.timeout_ms = 10000;
    r->cfg.influx.gzip = gzip;
    ev_influx_tuning t = {10, 100, r->linger_ms ? r->linger_ms : 1}; /* retries in tens of ms */
    r->out = ev_influx_output_new_tuned(&r->cfg, &t);
    assert_non_null(r->out);
    return r->out;
}

/* Points m,device=<dev> v=i (ts i+1) for i in [from, to). */
static ev_batch *points(const char *dev, int from, int to)
{
    ev_batch *b = ev_batch_new();
    for (int i = from; i < to; i++) {
        ev_point *p = ev_batch_add(b, "m", i + 1);
        ev_point_tag(b, p, "device", dev);
        ev_point_float(b, p, "v", i);
    }
    return b;
}

static char *lines_of(const ev_batch *b)
{
    ev_buf t;
    ev_buf_init(&t);
    ev_lp_batch(&t, b, EV_PREC_NS);
    ev_buf_cstr(&t);
    return t.p;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void expect_stats(ev_output *o, uint64_t in, uint64_t sent, uint64_t dropped,
                         uint64_t queued)
{
    ev_output_stats st;
    o->stats(o, &st);
    assert_int_equal(st.points_in, in);
    assert_int_equal(st.points_sent, sent);
    assert_int_equal(st.points_dropped, dropped);
    assert_int_equal(st.points_queued, queued);
    assert_int_equal(st.points_in, st.points_sent + st.points_dropped + st.points_queued);
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_batches_gzip_auth_keepalive(void **state)
{
    server *s = server_start();
    rig r = {0};
    start_output(&r, s->port, 4, 1000, true);
    r.cfg.influx.username = "user";
    r.cfg.influx.password = "p:ss";
    r.out->free(r.out); /* again, with credentials */
    ev_influx_tuning t = {10, 100, 1};
    r.cfg.influx.database = "ev db"; /* escaped in the URL */
    r.out = ev_influx_output_new_tuned(&r.cfg, &t);

    ev_batch *b = points("pdu-1", 0, 10);
    assert_int_equal(r.out->write(r.out, b), 0);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 10, 10, 0, 0);

    assert_int_equal(s->nreq, 3); /* 4 + 4 + 2 lines */
    char *want = lines_of(b);
    ev_buf got;
    ev_buf_init(&got);
    size_t sizes[] = {4, 4, 2};
    for (size_t i = 0; i < 3; i++) {
        assert_true(s->gzipped[i]);
        assert_int_equal(count_lines(s->body[i]), sizes[i]);
        ev_buf_puts(&got, s->body[i]);
        assert_string_equal(s->target[i], "/write?db=ev%20db&precision=ns");
        assert_string_equal(s->auth[i], "Basic dXNlcjpwOnNz"); /* user:p:ss */
    }
    assert_string_equal(ev_buf_cstr(&got), want); /* every line, in order */
    assert_int_equal(s->nconn, 1);                /* one kept-alive connection */
    ev_buf_free(&got);
    free(want);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

/* The agent's path: the batch encoded once (lineproto.h) and handed over as
 * text; a point without fields has no line and is not counted. */
static void test_write_lp_takes_encoded_text(void **state)
{
    server *s = server_start();
    rig r = {0};
    start_output(&r, s->port, 100, 1000, false);
    ev_batch *b = points("d", 0, 3);
    ev_batch_add(b, "empty", 1); /* no fields: no line */
    ev_point *p = ev_batch_add(b, "last", 2);
    ev_point_float(b, p, "v", 1.5);
    ev_lp_text t;
    assert_int_equal(ev_lp_encode(&t, b), 0);
    assert_int_equal(r.out->write_lp(r.out, &t), 0);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 4, 4, 0, 0);
    assert_int_equal(s->nreq, 1);
    assert_string_equal(s->body[0], ev_buf_cstr(&t.text));
    assert_int_equal(count_lines(s->body[0]), 4);
    ev_lp_text_free(&t);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

static void test_plain_body_without_gzip(void **state)
{
    server *s = server_start();
    rig r = {0};
    start_output(&r, s->port, 100, 1000, false);
    ev_batch *b = points("d", 0, 3);
    r.out->write(r.out, b);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    assert_int_equal(s->nreq, 1);
    assert_false(s->gzipped[0]);
    char *want = lines_of(b);
    assert_string_equal(s->body[0], want);
    assert_string_equal(s->auth[0], "");
    free(want);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

static void test_413_splits_in_halves(void **state)
{
    server *s = server_start();
    s->script[0] = (reply){413, NULL, "{\"error\":\"Request Entity Too Large\"}"};
    s->script[1] = (reply){413, NULL, NULL};
    s->nscript = 2;
    rig r = {0};
    start_output(&r, s->port, 8, 1000, true);
    ev_batch *b = points("d", 0, 8);
    r.out->write(r.out, b);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 8, 8, 0, 0);
    /* 8 (413) -> 4 (413) -> 2, 2, then the other half in 2s */
    size_t want_sizes[] = {8, 4, 2, 2, 2, 2};
    assert_int_equal(s->nreq, 6);
    ev_buf got;
    ev_buf_init(&got);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(count_lines(s->body[i]), want_sizes[i]);
        if (i >= 2)
            ev_buf_puts(&got, s->body[i]);
    }
    char *want = lines_of(b);
    assert_string_equal(ev_buf_cstr(&got), want);
    ev_output_stats st;
    r.out->stats(r.out, &st);
    assert_int_equal(st.errors, 0); /* a split is not a failure */
    free(want);
    ev_buf_free(&got);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

static void test_400_partial_write_counted_not_retried(void **state)
{
    server *s = server_start();
    s->script[0] = (reply){400, NULL,
                           "{\"error\":\"partial write: field type conflict: input field \\\"v\\\""
                           " on measurement \\\"m\\\" is type float, already exists as type"
                           " integer dropped=2\"}"};
    s->nscript = 1;
    rig r = {0};
    start_output(&r, s->port, 100, 1000, true);
    ev_batch *b = points("d", 0, 5);
    r.out->write(r.out, b);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 5, 3, 2, 0);
    assert_int_equal(s->nreq, 1); /* not retried */
    /* the output carries on */
    r.out->write(r.out, b);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 10, 8, 2, 0);
    assert_int_equal(s->nreq, 2);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

static void test_503_retry_after_keeps_batch_in_order(void **state)
{
    server *s = server_start();
    s->script[0] = (reply){503, "Retry-After: 1\r\n", "{\"error\":\"busy\"}"};
    s->script[1] = (reply){500, NULL, "{\"error\":\"timeout\"}"};
    s->nscript = 2;
    rig r = {0};
    start_output(&r, s->port, 100, 1000, true);
    ev_batch *b = points("d", 0, 5);
    r.out->write(r.out, b);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 5, 5, 0, 0);
    assert_int_equal(s->nreq, 3);
    char *want = lines_of(b);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(s->body[i], want); /* the same batch, same order */
    /* Retry-After: 1 was honoured (the backoff alone is ~10 ms) */
    uint64_t gap_ms = (uint64_t)((s->at[1].tv_sec - s->at[0].tv_sec) * 1000 +
                                 (s->at[1].tv_nsec - s->at[0].tv_nsec) / 1000000);
    assert_true(gap_ms >= 950);
    ev_output_stats st;
    r.out->stats(r.out, &st);
    assert_int_equal(st.errors, 2);
    free(want);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

static void test_404_until_database_exists(void **state)
{
    server *s = server_start();
    reply missing = {404, NULL, "{\"error\":\"database not found: \\\"evtest\\\"\"}"};
    server_set_default(s, missing);
    rig r = {0};
    start_output(&r, s->port, 100, 1000, true);
    ev_batch *b = points("d", 0, 4);
    r.out->write(r.out, b);
    assert_true(server_wait_requests(s, 3));
    ev_output_stats st;
    r.out->stats(r.out, &st);
    assert_int_equal(st.points_queued, 4); /* kept while the database is missing */
    assert_int_equal(st.points_sent, 0);
    server_set_default(s, (reply){204, NULL, NULL}); /* CREATE DATABASE */
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 4, 4, 0, 0);
    char *want = lines_of(b);
    assert_string_equal(s->body[s->nreq - 1], want);
    free(want);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

static void test_401_kept_and_retried(void **state)
{
    server *s = server_start();
    s->script[0] = (reply){401, NULL, "{\"error\":\"authorization failed\"}"};
    s->script[1] = (reply){403, NULL, "{\"error\":\"user is not authorized to write\"}"};
    s->nscript = 2;
    rig r = {0};
    start_output(&r, s->port, 100, 1000, true);
    ev_batch *b = points("d", 0, 3);
    r.out->write(r.out, b);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0); /* say, the user was granted WRITE */
    expect_stats(r.out, 3, 3, 0, 0);
    assert_int_equal(s->nreq, 3);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

static uint64_t errors_of(ev_output *o)
{
    ev_output_stats st;
    o->stats(o, &st);
    return st.errors;
}

static void test_connection_refused_until_server_starts(void **state)
{
    server *s = server_start();
    unsigned short port = s->port;
    server_stop(s); /* nothing listens there now */
    rig r = {0};
    start_output(&r, port, 3, 1000, true);
    ev_batch *b = points("d", 0, 7);
    r.out->write(r.out, b);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (errors_of(r.out) < 3 && ms_since(&t0) < DEADLINE_MS)
        r.out->flush(r.out, 20); /* waits on the output's own condition */
    assert_true(errors_of(r.out) >= 3);
    expect_stats(r.out, 7, 0, 0, 7);
    s = server_start_on(port); /* the store comes up */
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 7, 7, 0, 0);
    ev_buf got;
    ev_buf_init(&got);
    for (size_t i = 0; i < s->nreq; i++)
        ev_buf_puts(&got, s->body[i]);
    char *want = lines_of(b);
    assert_string_equal(ev_buf_cstr(&got), want); /* every line once, in order */
    free(want);
    ev_buf_free(&got);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

static void test_queue_bound_drops_oldest(void **state)
{
    server *s = server_start();
    server_set_default(s, (reply){500, NULL, NULL});
    rig r = {0};
    start_output(&r, s->port, 2, 5, true);
    ev_batch *a = points("a", 0, 2);
    r.out->write(r.out, a);
    assert_true(server_wait_requests(s, 1)); /* a0, a1 are in flight now */
    ev_batch *b = points("b", 0, 6);
    assert_int_equal(r.out->write(r.out, b), 0);
    expect_stats(r.out, 8, 0, 3, 5); /* room for 3 behind the 2 in flight */
    server_set_default(s, (reply){204, NULL, NULL});
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 8, 5, 3, 0);
    /* what arrived: a0 a1, then the newest of b: b3 b4 b5 */
    ev_batch *keep = points("b", 3, 6);
    char *wa = lines_of(a), *wb = lines_of(keep);
    ev_buf got;
    ev_buf_init(&got);
    for (size_t i = 0; i < s->nreq; i++)
        if (s->status_sent[i] == 204)
            ev_buf_puts(&got, s->body[i]);
    ev_buf want;
    ev_buf_init(&want);
    ev_buf_puts(&want, wa);
    ev_buf_puts(&want, wb);
    assert_string_equal(ev_buf_cstr(&got), ev_buf_cstr(&want));
    ev_buf_free(&got);
    ev_buf_free(&want);
    free(wa);
    free(wb);
    ev_batch_free(a);
    ev_batch_free(b);
    ev_batch_free(keep);
    r.out->free(r.out);
    server_stop(s);
}

static void test_flush_times_out_and_free_is_prompt(void **state)
{
    server *s = server_start();
    server_set_default(s, (reply){500, NULL, NULL});
    rig r = {0};
    start_output(&r, s->port, 10, 100, true);
    ev_batch *b = points("d", 0, 3);
    r.out->write(r.out, b);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(r.out->flush(r.out, 300), -1);
    assert_true(ms_since(&t0) >= 290);
    ev_output_stats st;
    r.out->stats(r.out, &st);
    assert_int_equal(st.points_queued, 3);
    assert_true(st.errors >= 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r.out->free(r.out); /* the writer is in its backoff: woken at once */
    assert_true(ms_since(&t0) < 3000);
    ev_batch_free(b);
    server_stop(s);
}

static void test_free_interrupts_a_hung_request(void **state)
{
    server *s = server_start();
    s->hang = true;
    rig r = {0};
    start_output(&r, s->port, 10, 100, true); /* request timeout 10 s */
    ev_batch *b = points("d", 0, 2);
    r.out->write(r.out, b);
    assert_true(server_wait_requests(s, 1));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r.out->free(r.out);
    assert_true(ms_since(&t0) < 5000); /* not the 10 s timeout */
    ev_batch_free(b);
    server_stop(s);
}

static void test_lingers_for_a_fuller_batch(void **state)
{
    server *s = server_start();
    rig r = {.linger_ms = 300};
    start_output(&r, s->port, 100, 1000, true);
    ev_batch *a = points("a", 0, 3), *b = points("b", 0, 3);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r.out->write(r.out, a); /* the agent writes device by device */
    r.out->write(r.out, b);
    assert_true(server_wait_requests(s, 1));
    assert_true(ms_since(&t0) >= 290);
    assert_int_equal(count_lines(s->body[0]), 6); /* one POST for both */
    ev_batch_free(a);
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

static void test_flush_does_not_linger(void **state)
{
    server *s = server_start();
    rig r = {.linger_ms = 60000};
    start_output(&r, s->port, 100, 1000, true);
    ev_batch *a = points("a", 0, 3);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r.out->write(r.out, a);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    assert_true(ms_since(&t0) < DEADLINE_MS / 2);
    expect_stats(r.out, 3, 3, 0, 0);
    ev_batch_free(a);
    r.out->free(r.out);
    server_stop(s);
}

static void test_v2_api_with_token(void **state)
{
    server *s = server_start();
    rig r = {0};
    start_output(&r, s->port, 100, 1000, false);
    r.out->free(r.out);
    r.cfg.influx.token = "tok-123";
    r.cfg.influx.org = "my org";
    r.cfg.influx.bucket = "b1";
    ev_influx_tuning t = {10, 100, 1};
    r.out = ev_influx_output_new_tuned(&r.cfg, &t);
    assert_non_null(r.out);
    ev_batch *b = points("d", 0, 3);
    r.out->write(r.out, b);
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    assert_string_equal(s->target[0], "/api/v2/write?org=my%20org&bucket=b1&precision=ns");
    assert_string_equal(s->auth[0], "Token tok-123");
    ev_batch_free(b);
    r.out->free(r.out);
    server_stop(s);
}

/* With a spool: a store answering 503 gets nothing lost; the points wait
 * on disk (counted as queued and in the spool) and are replayed in order
 * once it answers 204. */
static void test_spool_keeps_then_replays_in_order(void **state)
{
    char dir[] = "/tmp/evmon-influx-spool-XXXXXX";
    assert_non_null(mkdtemp(dir));
    server *s = server_start();
    server_set_default(s, (reply){503, NULL, "{\"error\":\"down\"}"});
    rig r = {0};
    start_output(&r, s->port, 4, 1000, false);
    r.out->free(r.out);
    r.cfg.spool = (ev_spool_cfg){.dir = dir, .max_bytes = 1 << 20, .fsync_interval_ms = 50,
                                 .replay_rate = 1000000};
    ev_influx_tuning t = {10, 50, 1};
    r.out = ev_influx_output_new_tuned(&r.cfg, &t);
    assert_non_null(r.out);

    ev_batch *b1 = points("d", 0, 6), *b2 = points("d", 6, 10);
    r.out->write(r.out, b1);
    assert_true(server_wait_requests(s, 2)); /* failed: down, on disk */
    r.out->write(r.out, b2);
    ev_output_stats st;
    r.out->stats(r.out, &st);
    assert_int_equal(st.points_in, 10);
    assert_int_equal(st.points_queued, 10);
    assert_int_equal(st.spool_points, 10);
    assert_true(st.spool_bytes > 0);

    server_set_default(s, (reply){204, NULL, NULL});
    assert_int_equal(r.out->flush(r.out, DEADLINE_MS), 0);
    expect_stats(r.out, 10, 10, 0, 0);
    r.out->stats(r.out, &st);
    assert_int_equal(st.spool_replayed, 10);
    assert_int_equal(st.spool_points, 0);

    /* the 204-answered bodies hold every line once, in order */
    ev_buf got;
    ev_buf_init(&got);
    for (size_t i = 0; i < s->nreq; i++)
        if (s->status_sent[i] == 204)
            ev_buf_puts(&got, s->body[i]);
    char *w1 = lines_of(b1), *w2 = lines_of(b2);
    ev_buf want;
    ev_buf_init(&want);
    ev_buf_puts(&want, w1);
    ev_buf_puts(&want, w2);
    assert_string_equal(ev_buf_cstr(&got), ev_buf_cstr(&want));
    ev_buf_free(&got);
    ev_buf_free(&want);
    free(w1);
    free(w2);
    ev_batch_free(b1);
    ev_batch_free(b2);
    r.out->free(r.out);
    server_stop(s);
    char p[128];
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    assert_int_equal(system(p), 0);
}

static void test_bad_url_refused(void **state)
{
    ev_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.influx.url = "localhost:8086";
    assert_null(ev_influx_output_new(&cfg));
    cfg.influx.url = NULL;
    assert_null(ev_influx_output_new(&cfg));
}

int main(void)
{
    ev_log_set_level(getenv("EV_TEST_LOG") ? EV_LOG_DEBUG : EV_LOG_ERR - 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_gzip_auth_keepalive),
        cmocka_unit_test(test_plain_body_without_gzip),
        cmocka_unit_test(test_write_lp_takes_encoded_text),
        cmocka_unit_test(test_413_splits_in_halves),
        cmocka_unit_test(test_400_partial_write_counted_not_retried),
        cmocka_unit_test(test_503_retry_after_keeps_batch_in_order),
        cmocka_unit_test(test_404_until_database_exists),
        cmocka_unit_test(test_401_kept_and_retried),
        cmocka_unit_test(test_connection_refused_until_server_starts),
        cmocka_unit_test(test_queue_bound_drops_oldest),
        cmocka_unit_test(test_flush_times_out_and_free_is_prompt),
        cmocka_unit_test(test_free_interrupts_a_hung_request),
        cmocka_unit_test(test_lingers_for_a_fuller_batch),
        cmocka_unit_test(test_flush_does_not_linger),
        cmocka_unit_test(test_bad_url_refused),
        cmocka_unit_test(test_v2_api_with_token),
        cmocka_unit_test(test_spool_keeps_then_replays_in_order),
    };
    return cmocka_run_group_tests_name("influx_output", tests, NULL, NULL);
}
