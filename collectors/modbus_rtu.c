/*
 * modbus_rtu.c - Modbus RTU serial lines (modbus_int.h), on libmodbus.
 *
 * A serial line carries one request at a time whatever we do, and a
 * data center has a few lines, not thousands: so each line gets one worker
 * thread running libmodbus's blocking RTU client (framing, CRC, the 3.5
 * character silences), and the event loop never blocks on it. Jobs go to
 * the worker through a mutex-protected FIFO; finished jobs come back
 * through a second list and an eventfd the loop watches, and their done()
 * runs on the loop thread like a TCP job's.
 *
 * libmodbus waits with select(): the line is opened when the collector
 * starts, before the TCP sockets, and a descriptor at or above FD_SETSIZE
 * is refused rather than corrupt memory. A CRC error, a garbled or short
 * answer, or a timeout is retried `retries` times after flushing the line.
 */
#include <errno.h>
#include <modbus/modbus.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <unistd.h>

#include "agent/log.h"
#include "collectors/modbus_int.h"

struct mb_rtu_line {
    ev_loop *loop;
    ev_modbus_cfg cfg; /* the settings it was opened with (serial owned) */
    modbus_t *ctx;
    bool connected;
    bool was_open;     /* opened at least once: the next open is a reconnect */
    int efd;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mb_job *todo, *todo_tail, *done, *done_tail; /* under mu */
    bool stop;                                  /* under mu */
};

static void push(mb_job **head, mb_job **tail, mb_job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

/* ---- the worker ---- */

static bool line_open(mb_rtu_line *l, mb_job *j)
{
    if (l->connected)
        return true;
    if (modbus_connect(l->ctx) < 0) {
        snprintf(j->err, sizeof j->err, "cannot open %s: %s", l->cfg.serial, modbus_strerror(errno));
        return false;
    }
    if (modbus_get_socket(l->ctx) >= FD_SETSIZE) {
        modbus_close(l->ctx);
        snprintf(j->err, sizeof j->err, "cannot use %s: descriptor above FD_SETSIZE (libmodbus uses select)",
                 l->cfg.serial);
        return false;
    }
    l->connected = true;
    j->reconnected = l->was_open;
    l->was_open = true;
    return true;
}

static int read_once(mb_rtu_line *l, mb_job *j)
{
    uint8_t bits[EV_MB_MAX_BITS];
    int n;
    switch (j->fc) {
    case 1: n = modbus_read_bits(l->ctx, j->addr, j->count, bits); break;
    case 2: n = modbus_read_input_bits(l->ctx, j->addr, j->count, bits); break;
    case 3: return modbus_read_registers(l->ctx, j->addr, j->count, j->data);
    default: return modbus_read_input_registers(l->ctx, j->addr, j->count, j->data);
    }
    for (int i = 0; i < n; i++)
        j->data[i] = bits[i];
    return n;
}

static void execute(mb_rtu_line *l, mb_job *j)
{
    j->tries = 0;
    j->sent_us = ev_now_us();
    if (!line_open(l, j)) {
        j->outcome = MB_J_DOWN;
        return;
    }
    modbus_set_slave(l->ctx, j->unit);
    modbus_set_response_timeout(l->ctx, j->timeout_ms / 1000, (j->timeout_ms % 1000) * 1000);
    for (;;) {
        j->tries++;
        int n = read_once(l, j);
        int e = errno;
        j->crc = false;
        if (n == j->count) {
            j->outcome = MB_J_OK;
            return;
        }
        if (n >= 0) {
            snprintf(j->err, sizeof j->err, "wrong length: %d values for %u asked", n, j->count);
            j->outcome = MB_J_BAD;
        } else if (e > MODBUS_ENOBASE && e <= MODBUS_ENOBASE + 11) {
            j->exception = (uint8_t)(e - MODBUS_ENOBASE);
            j->outcome = MB_J_EXCEPTION;
            return; /* a definite answer: no retry */
        } else if (e == ETIMEDOUT) {
            if (j->tries > 1)
                snprintf(j->err, sizeof j->err, "timeout after %u tries (%u ms each)", j->tries, j->timeout_ms);
            else
                snprintf(j->err, sizeof j->err, "timeout after 1 try (%u ms)", j->timeout_ms);
            j->outcome = MB_J_TIMEOUT;
        } else if (e == EMBBADCRC) {
            snprintf(j->err, sizeof j->err, "CRC error in the answer");
            j->outcome = MB_J_BAD;
            j->crc = true;
        } else if (e == EMBBADDATA || e == EMBMDATA || e == EMBBADSLAVE || e == EMBBADEXC) {
            snprintf(j->err, sizeof j->err, "garbled answer: %s", modbus_strerror(e));
            j->outcome = MB_J_BAD;
        } else {
            snprintf(j->err, sizeof j->err, "%s: %s", l->cfg.serial, modbus_strerror(e));
            j->outcome = MB_J_DOWN;
            modbus_close(l->ctx);
            l->connected = false;
            return;
        }
        modbus_flush(l->ctx);
        if (j->tries > j->retries)
            return;
    }
}

static void *worker(void *arg)
{
    mb_rtu_line *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->todo && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop)
            break;
        mb_job *j = l->todo;
        l->todo = j->next;
        if (!l->todo)
            l->todo_tail = NULL;
        pthread_mutex_unlock(&l->mu);
        execute(l, j);
        j->rtt_us = ev_now_us() - j->sent_us;
        pthread_mutex_lock(&l->mu);
        push(&l->done, &l->done_tail, j);
        uint64_t one = 1;
        if (write(l->efd, &one, sizeof one) < 0)
            ev_debug("modbus: %s: eventfd write: %s", l->cfg.serial, strerror(errno));
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---- the loop side ---- */

static void on_done(ev_loop *loop, int fd, int events, void *ud)
{
    mb_rtu_line *l = ud;
    uint64_t n;
    if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
        ev_debug("modbus: %s: eventfd read: %s", l->cfg.serial, strerror(errno));
    pthread_mutex_lock(&l->mu);
    mb_job *j = l->done;
    l->done = l->done_tail = NULL;
    pthread_mutex_unlock(&l->mu);
    while (j) {
        mb_job *next = j->next;
        j->next = NULL;
        j->done(j);
        j = next;
    }
}

void mb_rtu_submit(mb_rtu_line *l, mb_job *j)
{
    j->err[0] = 0;
    j->crc = j->reconnected = false;
    pthread_mutex_lock(&l->mu);
    push(&l->todo, &l->todo_tail, j);
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* Unlink j from a list; true if it was there. */
static bool unlink_job(mb_job **head, mb_job **tail, mb_job *j)
{
    mb_job *prev = NULL;
    for (mb_job *q = *head; q; prev = q, q = q->next) {
        if (q != j)
            continue;
        if (prev)
            prev->next = j->next;
        else
            *head = j->next;
        if (*tail == j)
            *tail = prev;
        j->next = NULL;
        return true;
    }
    return false;
}

bool mb_rtu_cancel(mb_rtu_line *l, mb_job *j)
{
    pthread_mutex_lock(&l->mu);
    bool taken = unlink_job(&l->todo, &l->todo_tail, j) || unlink_job(&l->done, &l->done_tail, j);
    pthread_mutex_unlock(&l->mu);
    return taken;
}

mb_rtu_line *mb_rtu_line_new(ev_loop *loop, const ev_modbus_cfg *cfg, bool open_now, char *err, size_t errlen)
{
    mb_rtu_line *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->loop = loop;
    l->cfg = *cfg;
    l->cfg.serial = strdup(cfg->serial ? cfg->serial : "");
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->ctx = l->cfg.serial ? modbus_new_rtu(l->cfg.serial, (int)cfg->baud, cfg->parity, (int)cfg->data_bits,
                                            (int)cfg->stop_bits)
                           : NULL;
    if (!l->cfg.serial || l->efd < 0 || !l->ctx) {
        snprintf(err, errlen, "cannot set up serial line %s: %s", cfg->serial ? cfg->serial : "?",
                 strerror(errno));
        mb_rtu_line_free(l);
        return NULL;
    }
    modbus_set_byte_timeout(l->ctx, 0, 500000);
    if (ev_loop_watch(loop, l->efd, EV_READ, on_done, l) < 0 ||
        pthread_create(&l->thread, NULL, worker, l) != 0) {
        snprintf(err, errlen, "cannot start the worker of %s: %s", cfg->serial, strerror(errno));
        mb_rtu_line_free(l);
        return NULL;
    }
    l->started = true;
    /* Open now, while descriptors are low (libmodbus's select()); a line
     * that cannot be opened yet is retried at each request. */
    mb_job probe = {.timeout_ms = 1};
    if (open_now && !line_open(l, &probe))
        ev_warn("modbus: %s", probe.err);
    return l;
}

void mb_rtu_line_free(mb_rtu_line *l)
{
    if (!l)
        return;
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    if (l->efd >= 0) {
        ev_loop_unwatch(l->loop, l->efd);
        close(l->efd);
    }
    if (l->ctx) {
        if (l->connected)
            modbus_close(l->ctx);
        modbus_free(l->ctx);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->cfg.serial);
    free(l);
}

bool mb_rtu_line_matches(const mb_rtu_line *l, const ev_modbus_cfg *cfg)
{
    return l->cfg.baud == cfg->baud && l->cfg.parity == cfg->parity && l->cfg.data_bits == cfg->data_bits &&
           l->cfg.stop_bits == cfg->stop_bits;
}

const char *mb_rtu_line_path(const mb_rtu_line *l)
{
    return l->cfg.serial;
}
