/*
 * modbus_tcp.c - Modbus TCP links on the shared event loop (modbus_int.h).
 *
 * Why not libmodbus here: its client is blocking and waits with select(),
 * which cannot watch a descriptor above FD_SETSIZE (1024), and an agent
 * polling thousands of devices holds thousands of sockets. So the framing
 * is ours (modbus_pdu.c) and the socket is non-blocking on epoll.
 *
 * A link is one TCP connection to one address; every device configured at
 * that address (unit ids behind a gateway) shares it, one request at a
 * time in FIFO order, as gateways expect. Separate addresses are separate
 * links and run concurrently. A request has one timer; after a timeout it
 * is sent again with a new transaction id (a late answer to the old one
 * is recognised and dropped), up to `retries` times.
 *
 * Connection failures (refused, reset, closed while waiting, connect
 * timeout) fail the request in flight and everything queued, close the
 * socket, and start a backoff: 1 s, doubling to 60 s. While it runs, new
 * requests fail at once with the last error, so a dead device costs its
 * neighbours nothing. A device closing an idle connection is normal: the
 * next request reconnects without backoff.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/log.h"
#include "collectors/modbus_int.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000

typedef enum { L_DOWN, L_CONNECTING, L_UP } link_state;

struct mb_tcp_link {
    ev_loop *loop;
    char *address, *host, *port;
    int fd;
    link_state state;
    mb_job *head, *tail; /* queued, head first; head is in flight when sent */
    bool sent;           /* head has been written */
    uint16_t next_tid;
    uint64_t connect_timer;
    uint64_t retry_at_ms; /* backoff: no connect before this */
    unsigned backoff_ms;
    bool was_up;          /* connected at least once: the next connect is a reconnect */
    char last_err[160];
    uint8_t rbuf[2 * EV_MB_TCP_MAX_FRAME];
    size_t rlen;
};

static void kick(mb_tcp_link *l);

/* ---- completing jobs ---- */

static mb_job *pop(mb_tcp_link *l)
{
    mb_job *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
        j->next = NULL;
    }
    l->sent = false;
    return j;
}

static void complete(mb_tcp_link *l, mb_job *j, mb_outcome o)
{
    if (j->timer) {
        ev_loop_cancel(l->loop, j->timer);
        j->timer = 0;
    }
    j->outcome = o;
    j->rtt_us = j->sent_us ? ev_now_us() - j->sent_us : 0;
    j->done(j);
}

/* Fail every job (in flight and queued) with the link's last error. */
static void fail_all(mb_tcp_link *l, mb_outcome o)
{
    mb_job *j;
    while ((j = pop(l))) {
        snprintf(j->err, sizeof j->err, "%s", l->last_err);
        complete(l, j, o);
    }
}

static void close_fd(mb_tcp_link *l)
{
    if (l->connect_timer) {
        ev_loop_cancel(l->loop, l->connect_timer);
        l->connect_timer = 0;
    }
    if (l->fd >= 0) {
        ev_loop_unwatch(l->loop, l->fd);
        close(l->fd);
    }
    l->fd = -1;
    l->state = L_DOWN;
    l->rlen = 0;
}

/* The connection failed or broke: back off, fail what waits on it. */
static void link_failed(mb_tcp_link *l, const char *fmt, const char *detail)
{
    snprintf(l->last_err, sizeof l->last_err, fmt, detail);
    close_fd(l);
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (l->backoff_ms > BACKOFF_MAX_MS)
        l->backoff_ms = BACKOFF_MAX_MS;
    l->retry_at_ms = ev_now_ms() + l->backoff_ms;
    ev_debug("modbus: %s: %s; next connect in %u ms", l->address, l->last_err, l->backoff_ms);
    fail_all(l, MB_J_DOWN);
}

/* ---- reading answers ---- */

static void on_frame(mb_tcp_link *l, const uint8_t *f, size_t len)
{
    mb_job *j = l->head;
    if (!j || !l->sent)
        return; /* nothing asked: a stray frame */
    ev_mb_result r = ev_mb_tcp_parse(f, len, j->tid, j->unit, j->fc, j->count, j->data, &j->exception,
                                     j->err, sizeof j->err);
    if (r == EV_MB_R_STALE)
        return;
    pop(l);
    complete(l, j, r == EV_MB_R_OK ? MB_J_OK : r == EV_MB_R_EXCEPTION ? MB_J_EXCEPTION : MB_J_BAD);
}

static void on_readable(mb_tcp_link *l)
{
    for (;;) {
        ssize_t n = read(l->fd, l->rbuf + l->rlen, sizeof l->rbuf - l->rlen);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            if (n == 0 && !l->head) { /* idle close: normal, reconnect when needed */
                close_fd(l);
                return;
            }
            link_failed(l, "%s", n == 0 ? "connection closed by the device" : strerror(errno));
            return;
        }
        l->rlen += (size_t)n;
        for (;;) {
            int flen = ev_mb_tcp_frame_len(l->rbuf, l->rlen);
            if (flen < 0) {
                link_failed(l, "%s", "malformed MBAP header from the device (not Modbus TCP?)");
                return;
            }
            if (flen == 0 || (size_t)flen > l->rlen)
                break;
            int fd = l->fd;
            on_frame(l, l->rbuf, (size_t)flen);
            if (l->fd != fd)
                return; /* a done() callback tore the link down */
            memmove(l->rbuf, l->rbuf + flen, l->rlen - (size_t)flen);
            l->rlen -= (size_t)flen;
        }
    }
    kick(l);
}

/* ---- sending ---- */

static void on_request_timer(ev_loop *loop, uint64_t id, void *ud);

static void send_head(mb_tcp_link *l)
{
    mb_job *j = l->head;
    uint8_t req[EV_MB_TCP_REQ_LEN];
    j->tid = l->next_tid++;
    ev_mb_tcp_request(req, j->tid, j->unit, j->fc, j->addr, j->count);
    ssize_t n = write(l->fd, req, sizeof req);
    if (n != (ssize_t)sizeof req) {
        link_failed(l, "%s", n < 0 ? strerror(errno) : "short write");
        return;
    }
    l->sent = true;
    j->tries++;
    j->sent_us = ev_now_us();
    j->timer = ev_loop_after(l->loop, j->timeout_ms, on_request_timer, l);
}

static void on_request_timer(ev_loop *loop, uint64_t id, void *ud)
{
    mb_tcp_link *l = ud;
    mb_job *j = l->head;
    if (!j)
        return;
    j->timer = 0;
    if (j->tries <= j->retries) {
        send_head(l);
        return;
    }
    pop(l);
    if (j->tries > 1)
        snprintf(j->err, sizeof j->err, "timeout after %u tries (%u ms each)", j->tries, j->timeout_ms);
    else
        snprintf(j->err, sizeof j->err, "timeout after 1 try (%u ms)", j->timeout_ms);
    complete(l, j, MB_J_TIMEOUT);
    kick(l);
}

static void on_event(ev_loop *loop, int fd, int events, void *ud);

static void on_connect_timer(ev_loop *loop, uint64_t id, void *ud)
{
    mb_tcp_link *l = ud;
    l->connect_timer = 0;
    unsigned ms = l->head ? l->head->timeout_ms : 0;
    char what[64];
    snprintf(what, sizeof what, "%u ms", ms);
    link_failed(l, "connect timeout after %s", what);
}

static void split_address(mb_tcp_link *l)
{
    const char *a = l->address, *colon;
    if (a[0] == '[' && (colon = strchr(a, ']'))) {
        l->host = strndup(a + 1, (size_t)(colon - a - 1));
        l->port = strdup(colon[1] == ':' ? colon + 2 : "502");
    } else if ((colon = strrchr(a, ':'))) {
        l->host = strndup(a, (size_t)(colon - a));
        l->port = strdup(colon + 1);
    } else {
        l->host = strdup(a);
        l->port = strdup("502");
    }
}

static void start_connect(mb_tcp_link *l)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(l->host, l->port, &hints, &ai);
    if (rc) {
        link_failed(l, "cannot resolve address: %s", gai_strerror(rc));
        return;
    }
    l->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        freeaddrinfo(ai);
        link_failed(l, "cannot create a socket: %s", strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rc = connect(l->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && errno != EINPROGRESS) {
        link_failed(l, "%s", strerror(errno));
        return;
    }
    l->state = L_CONNECTING;
    if (ev_loop_watch(l->loop, l->fd, EV_WRITE, on_event, l) < 0) {
        link_failed(l, "cannot watch the socket: %s", strerror(errno));
        return;
    }
    l->connect_timer = ev_loop_after(l->loop, l->head->timeout_ms, on_connect_timer, l);
}

static void on_connected(mb_tcp_link *l)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        link_failed(l, "%s", strerror(err));
        return;
    }
    ev_loop_cancel(l->loop, l->connect_timer);
    l->connect_timer = 0;
    l->state = L_UP;
    l->backoff_ms = 0;
    if (l->was_up && l->head)
        l->head->reconnected = true;
    l->was_up = true;
    l->rlen = 0;
    ev_loop_watch(l->loop, l->fd, EV_READ, on_event, l);
    kick(l);
}

static void on_event(ev_loop *loop, int fd, int events, void *ud)
{
    mb_tcp_link *l = ud;
    if (l->state == L_CONNECTING)
        on_connected(l);
    else if (l->state == L_UP)
        on_readable(l);
}

/* Move the queue along: connect if needed, send the head if idle. */
static void kick(mb_tcp_link *l)
{
    if (!l->head || l->sent)
        return;
    switch (l->state) {
    case L_UP:
        send_head(l);
        return;
    case L_CONNECTING:
        return;
    case L_DOWN:
        if (l->retry_at_ms && ev_now_ms() < l->retry_at_ms) {
            char msg[sizeof l->last_err];
            snprintf(msg, sizeof msg, "%s", l->last_err);
            snprintf(l->last_err, sizeof l->last_err, "%.100s (next connect in %llu s)", msg,
                     (unsigned long long)((l->retry_at_ms - ev_now_ms() + 999) / 1000));
            fail_all(l, MB_J_DOWN);
            snprintf(l->last_err, sizeof l->last_err, "%s", msg);
            return;
        }
        start_connect(l);
        return;
    }
}

void mb_tcp_submit(mb_tcp_link *l, mb_job *j)
{
    j->next = NULL;
    j->tries = 0;
    j->sent_us = 0;
    j->err[0] = 0;
    j->crc = j->reconnected = false;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    kick(l);
}

void mb_tcp_cancel(mb_tcp_link *l, mb_job *j)
{
    mb_job *prev = NULL, *q = l->head;
    while (q && q != j) {
        prev = q;
        q = q->next;
    }
    if (!q)
        return;
    bool on_wire = j == l->head && l->sent;
    if (j->timer) {
        ev_loop_cancel(l->loop, j->timer);
        j->timer = 0;
    }
    if (prev)
        prev->next = j->next;
    else
        l->head = j->next;
    if (l->tail == j)
        l->tail = prev;
    j->next = NULL;
    if (on_wire) {
        l->sent = false; /* the answer to j, if it comes, carries a stale transaction id */
        kick(l);
    }
}

mb_tcp_link *mb_tcp_link_new(ev_loop *loop, const char *address)
{
    mb_tcp_link *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->loop = loop;
    l->fd = -1;
    l->next_tid = 1;
    l->address = strdup(address);
    if (l->address)
        split_address(l);
    if (!l->address || !l->host || !l->port) {
        mb_tcp_link_free(l);
        return NULL;
    }
    return l;
}

void mb_tcp_link_free(mb_tcp_link *l)
{
    if (!l)
        return;
    for (mb_job *j = l->head; j; j = j->next)
        if (j->timer)
            ev_loop_cancel(l->loop, j->timer);
    close_fd(l);
    free(l->address);
    free(l->host);
    free(l->port);
    free(l);
}

const char *mb_tcp_link_address(const mb_tcp_link *l)
{
    return l->address;
}
