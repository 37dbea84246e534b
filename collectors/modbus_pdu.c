/*
 * modbus_pdu.c - Modbus TCP framing and read-response checking (see
 * modbus_pdu.h). Follows the Modbus Application Protocol v1.1b3 and the
 * Messaging on TCP/IP Implementation Guide v1.0b.
 */
#include "collectors/modbus_pdu.h"

#include <stdbool.h>
#include <stdio.h>

unsigned ev_mb_max_count(uint8_t fc)
{
    return fc == 1 || fc == 2 ? EV_MB_MAX_BITS : EV_MB_MAX_REGS;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

size_t ev_mb_tcp_request(uint8_t *buf, uint16_t tid, uint8_t unit, uint8_t fc, uint16_t addr,
                         uint16_t count)
{
    put16(buf, tid);
    put16(buf + 2, 0); /* protocol identifier: Modbus */
    put16(buf + 4, 6); /* unit + function + address + count */
    buf[6] = unit;
    buf[7] = fc;
    put16(buf + 8, addr);
    put16(buf + 10, count);
    return EV_MB_TCP_REQ_LEN;
}

int ev_mb_tcp_frame_len(const uint8_t *buf, size_t len)
{
    if (len < 7)
        return 0;
    unsigned n = get16(buf + 4);
    if (get16(buf + 2) != 0 || n < 2 || n > EV_MB_TCP_MAX_FRAME - 6)
        return -1;
    return (int)(6 + n);
}

const char *ev_mb_exception_name(uint8_t code, char *buf, size_t len)
{
    static const char *const names[] = {
        NULL, "illegal function", "illegal data address", "illegal data value",
        "server device failure", "acknowledge", "server device busy", NULL,
        "memory parity error", NULL, "gateway path unavailable",
        "gateway target device failed to respond",
    };
    if (code < sizeof names / sizeof names[0] && names[code])
        snprintf(buf, len, "exception %u (%s)", code, names[code]);
    else
        snprintf(buf, len, "exception %u", code);
    return buf;
}

ev_mb_result ev_mb_pdu_parse(const uint8_t *pdu, size_t len, uint8_t fc, uint16_t count,
                             uint16_t *out, uint8_t *exception, char *err, size_t errlen)
{
    if (len < 2) {
        snprintf(err, errlen, "short reply: %zu byte PDU", len);
        return EV_MB_R_BAD;
    }
    if (pdu[0] == (fc | 0x80)) {
        *exception = pdu[1];
        return EV_MB_R_EXCEPTION;
    }
    if (pdu[0] != fc) {
        snprintf(err, errlen, "reply for function %u to a function %u request", pdu[0] & 0x7f, fc);
        return EV_MB_R_BAD;
    }
    bool bits = fc == 1 || fc == 2;
    size_t want = bits ? (count + 7u) / 8u : 2u * count;
    if (pdu[1] != want || len != 2 + want) {
        snprintf(err, errlen, "wrong length: byte count %u and %zu data bytes for %u %s (expected %zu)",
                 pdu[1], len - 2, count, bits ? "bits" : "registers", want);
        return EV_MB_R_BAD;
    }
    const uint8_t *d = pdu + 2;
    for (unsigned i = 0; i < count; i++)
        out[i] = bits ? (d[i / 8] >> (i % 8)) & 1u : get16(d + 2 * i);
    return EV_MB_R_OK;
}

ev_mb_result ev_mb_tcp_parse(const uint8_t *frame, size_t len, uint16_t tid, uint8_t unit,
                             uint8_t fc, uint16_t count, uint16_t *out, uint8_t *exception,
                             char *err, size_t errlen)
{
    int flen = ev_mb_tcp_frame_len(frame, len);
    if (flen <= 0 || (size_t)flen != len) {
        snprintf(err, errlen, "malformed MBAP header");
        return EV_MB_R_BAD;
    }
    if (get16(frame) != tid)
        return EV_MB_R_STALE;
    if (frame[6] != unit) {
        snprintf(err, errlen, "reply from unit %u to a request for unit %u", frame[6], unit);
        return EV_MB_R_BAD;
    }
    return ev_mb_pdu_parse(frame + 7, len - 7, fc, count, out, exception, err, errlen);
}
