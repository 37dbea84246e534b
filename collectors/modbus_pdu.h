/*
 * modbus_pdu.h - Modbus TCP framing (MBAP header + PDU) for the read
 * functions 1-4: building requests and checking answers.
 *
 * Pure code, no I/O: the TCP transport (modbus_tcp.c) sends what
 * ev_mb_tcp_request() builds and hands every complete frame it reads to
 * ev_mb_tcp_parse(). Every way an answer can be wrong has its own outcome
 * and a message naming the fault, so a device's error says what it did.
 */
#ifndef EVMON_MODBUS_PDU_H
#define EVMON_MODBUS_PDU_H

#include <stddef.h>
#include <stdint.h>

#define EV_MB_MAX_REGS 125   /* per read of registers (FC3/FC4) */
#define EV_MB_MAX_BITS 2000  /* per read of coils/inputs (FC1/FC2) */
#define EV_MB_TCP_REQ_LEN 12
#define EV_MB_TCP_MAX_FRAME 260 /* MBAP 7 + PDU 253 */

/* Largest count one request may ask for with this function code. */
unsigned ev_mb_max_count(uint8_t fc);

/* Build a read request: 12 bytes into buf. */
size_t ev_mb_tcp_request(uint8_t *buf, uint16_t tid, uint8_t unit, uint8_t fc, uint16_t addr,
                         uint16_t count);

/* Length of the frame that starts buf, from its MBAP header: 0 while fewer
 * than 7 bytes are there, -1 when the header is not Modbus (protocol id
 * not 0, length out of range). */
int ev_mb_tcp_frame_len(const uint8_t *buf, size_t len);

typedef enum {
    EV_MB_R_OK,
    EV_MB_R_EXCEPTION, /* the device answered with an exception code */
    EV_MB_R_STALE,     /* another transaction id: a late answer, ignore it */
    EV_MB_R_BAD,       /* malformed: wrong unit/function, wrong length */
} ev_mb_result;

/* Check one complete frame against the request (tid, unit, fc, count)
 * and on EV_MB_R_OK store count values into out (registers as words,
 * coils and inputs as 0/1 each). *exception gets the code of an
 * exception; err a message for EV_MB_R_BAD. */
ev_mb_result ev_mb_tcp_parse(const uint8_t *frame, size_t len, uint16_t tid, uint8_t unit,
                             uint8_t fc, uint16_t count, uint16_t *out, uint8_t *exception,
                             char *err, size_t errlen);

/* Body of a PDU after the function code (the part TCP and RTU share):
 * byte count + data. Same outcomes as above except STALE. */
ev_mb_result ev_mb_pdu_parse(const uint8_t *pdu, size_t len, uint8_t fc, uint16_t count,
                             uint16_t *out, uint8_t *exception, char *err, size_t errlen);

/* "illegal data address" for 2, ...; "exception N" for unknown codes. */
const char *ev_mb_exception_name(uint8_t code, char *buf, size_t len);

#endif
