/*
 * modbus_frame.h - the server side of Modbus TCP for the fleet simulator
 * (tests/sim/modbusfleet.c): checking a read request (functions 1-4) and
 * building its answer or exception, MBAP header included.
 *
 * Pure code, no I/O, so tests/unit/test_sim_modbus.c checks it against
 * the agent's own client framing (collectors/modbus_pdu.h), whose
 * ev_mb_tcp_frame_len() also cuts the byte stream into frames here.
 * Follows the Modbus Application Protocol v1.1b3, section 6.1-6.4, and
 * the Messaging on TCP/IP Implementation Guide v1.0b.
 */
#ifndef EVMON_SIM_MODBUS_FRAME_H
#define EVMON_SIM_MODBUS_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Longest answer: MBAP 7 + function + byte count + 250 data bytes. */
#define MBF_MAX_REPLY 260

typedef struct {
    uint16_t tid;
    uint8_t unit, fc;
    uint16_t addr, count;
} mbf_req;

/* Check one complete frame (as long as its MBAP header says). Fills q
 * with what could be read and returns 0 for a valid read request, else
 * the exception code it deserves: 1 (illegal function: not 1-4),
 * 3 (illegal data value: wrong PDU length, count 0 or above 125
 * registers / 2000 bits), 2 (illegal data address: past 65535). */
uint8_t mbf_parse(const uint8_t *frame, size_t len, mbf_req *q);

/* The answer to a valid read q: values holds q->count words (FC3/FC4)
 * or q->count 0/1 values (FC1/FC2, packed LSB first). Returns the
 * length written to out (at most MBF_MAX_REPLY). */
size_t mbf_reply_read(uint8_t *out, const mbf_req *q, const uint16_t *values);

/* The exception answer to q: function | 0x80, code. Returns 9. */
size_t mbf_reply_exception(uint8_t *out, const mbf_req *q, uint8_t code);

#endif
