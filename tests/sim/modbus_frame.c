/*
 * modbus_frame.c - Modbus TCP read requests and their answers, server
 * side (modbus_frame.h).
 */
#include "tests/sim/modbus_frame.h"

#include <string.h>

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

uint8_t mbf_parse(const uint8_t *frame, size_t len, mbf_req *q)
{
    memset(q, 0, sizeof *q);
    if (len < 8)
        return 3; /* no function code: nothing sensible to echo */
    q->tid = get16(frame);
    q->unit = frame[6];
    q->fc = frame[7];
    if (q->fc < 1 || q->fc > 4)
        return 1;
    if (len != 12) /* MBAP 7 + function + address + quantity */
        return 3;
    q->addr = get16(frame + 8);
    q->count = get16(frame + 10);
    unsigned max = q->fc <= 2 ? 2000 : 125;
    if (q->count < 1 || q->count > max)
        return 3;
    if ((unsigned)q->addr + q->count > 65536)
        return 2;
    return 0;
}

/* MBAP header for a PDU of pdu_len bytes. */
static void header(uint8_t *out, const mbf_req *q, size_t pdu_len)
{
    put16(out, q->tid);
    put16(out + 2, 0);
    put16(out + 4, (unsigned)(pdu_len + 1)); /* unit + PDU */
    out[6] = q->unit;
}

size_t mbf_reply_read(uint8_t *out, const mbf_req *q, const uint16_t *values)
{
    uint8_t *d = out + 9;
    size_t bytes;
    if (q->fc <= 2) {
        bytes = (q->count + 7u) / 8u;
        memset(d, 0, bytes);
        for (unsigned i = 0; i < q->count; i++)
            if (values[i])
                d[i / 8] |= (uint8_t)(1u << (i % 8));
    } else {
        bytes = 2u * q->count;
        for (unsigned i = 0; i < q->count; i++)
            put16(d + 2 * i, values[i]);
    }
    header(out, q, 2 + bytes);
    out[7] = q->fc;
    out[8] = (uint8_t)bytes;
    return 9 + bytes;
}

size_t mbf_reply_exception(uint8_t *out, const mbf_req *q, uint8_t code)
{
    header(out, q, 2);
    out[7] = (uint8_t)(q->fc | 0x80);
    out[8] = code;
    return 9;
}
