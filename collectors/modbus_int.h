/*
 * modbus_int.h - private interface between the Modbus collector's files.
 *
 *   modbus.c      the collector: devices, request plans, poll cycles,
 *                 decoding into rowsets, results to the sink, logging.
 *   modbus_tcp.c  Modbus TCP links on the event loop: one non-blocking
 *                 connection per address, one request at a time on it,
 *                 timeouts, retries, reconnect with backoff.
 *   modbus_rtu.c  serial lines: one worker thread per line running
 *                 libmodbus's blocking RTU client; results come back to
 *                 the loop through an eventfd.
 *
 * Both transports take an mb_job (one read request) and call its done()
 * on the loop thread when it has an outcome. A device has at most one job
 * in flight; the devices behind one address or line queue in FIFO order.
 */
#ifndef EVMON_MODBUS_INT_H
#define EVMON_MODBUS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/loop.h"
#include "collectors/modbus_pdu.h"

typedef enum {
    MB_J_OK,
    MB_J_EXCEPTION, /* the device answered with an exception code */
    MB_J_BAD,       /* garbled answer (wrong length, CRC, wrong unit...): the link is fine */
    MB_J_TIMEOUT,   /* no answer after every try */
    MB_J_DOWN,      /* no connection: refused, reset, closed, cannot open the line */
} mb_outcome;

typedef struct mb_job mb_job;
struct mb_job {
    mb_job *next;                 /* queue link (transport's) */
    void (*done)(mb_job *j);      /* on the loop thread */
    void *ud;
    /* the request */
    uint8_t unit, fc;
    uint16_t addr, count;
    unsigned timeout_ms, retries;
    /* the outcome */
    mb_outcome outcome;
    uint8_t exception;
    unsigned tries;
    bool crc;                     /* MB_J_BAD: the last try failed its CRC (serial lines) */
    bool reconnected;             /* this request opened the connection or line again after it had been up */
    uint64_t sent_us, rtt_us;
    uint16_t *data;               /* the submitter's buffer for the answer: count words, or one
                                     0/1 per bit; written only by an answer that is OK */
    char err[200];
    /* transport scratch */
    uint16_t tid;
    uint64_t timer;
};

/* ---- modbus_tcp.c ---- */
typedef struct mb_tcp_link mb_tcp_link;
/* address: host or host:port (502 by default), numeric or resolvable. */
mb_tcp_link *mb_tcp_link_new(ev_loop *loop, const char *address);
void mb_tcp_submit(mb_tcp_link *l, mb_job *j);
/* Take j back (a reload dropped its device): done() is not called. If it
 * was on the wire, its late answer is recognised by transaction id and
 * dropped, and the next job goes out now. */
void mb_tcp_cancel(mb_tcp_link *l, mb_job *j);
/* Drop the connection and forget queued jobs (their done() is not called). */
void mb_tcp_link_free(mb_tcp_link *l);
const char *mb_tcp_link_address(const mb_tcp_link *l);

/* ---- modbus_rtu.c ---- */
typedef struct mb_rtu_line mb_rtu_line;
/* The line's settings come from cfg (serial, baud, parity, bits). open_now:
 * open the device at once (while descriptors are low); otherwise at the
 * first request (a reload replacing a line on the same path opens the new
 * one only after the old one is closed). */
mb_rtu_line *mb_rtu_line_new(ev_loop *loop, const ev_modbus_cfg *cfg, bool open_now, char *err, size_t errlen);
void mb_rtu_submit(mb_rtu_line *l, mb_job *j);
/* Take j back if the worker has not started it, or finished it and the
 * loop has not yet seen it: true, and done() will not be called. false:
 * the worker is running it; done() comes when it ends. */
bool mb_rtu_cancel(mb_rtu_line *l, mb_job *j);
/* Stops the worker (after the request it is on) and closes the line. */
void mb_rtu_line_free(mb_rtu_line *l);
/* Whether cfg describes the same line settings as the line was opened with. */
bool mb_rtu_line_matches(const mb_rtu_line *l, const ev_modbus_cfg *cfg);
const char *mb_rtu_line_path(const mb_rtu_line *l);

#endif
