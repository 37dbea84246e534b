/*
 * modbus_value.h - Modbus register values: types, word/byte orders, and
 * the conversion of register words to numbers.
 *
 * Pure logic shared by the profile loader (which names a register's type
 * and order), the Modbus collector (which decodes what a device sent) and
 * their tests. Our own conversions, not libmodbus's float getters: those
 * changed between versions and 3.1.6's setters write the wrong byte order.
 *
 * Order names say where the value's bytes sit on the wire, A being the most
 * significant: ABCD big-endian (the Modbus default), CDAB word-swapped
 * (least significant word first), BADC byte-swapped within each word,
 * DCBA fully little-endian. For 64-bit values the same rule holds word by
 * word (CDAB: four words, least significant first); for 16-bit values
 * only the byte swap matters.
 */
#ifndef EVMON_MODBUS_VALUE_H
#define EVMON_MODBUS_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    EV_MB_INT16, EV_MB_UINT16, EV_MB_INT32, EV_MB_UINT32, EV_MB_INT64, EV_MB_UINT64,
    EV_MB_FLOAT32, EV_MB_FLOAT64,
    EV_MB_BOOL, /* one coil or discrete input (function 1 or 2) */
    EV_MB_NTYPES
} ev_mb_type;

typedef enum { EV_MB_ABCD, EV_MB_CDAB, EV_MB_BADC, EV_MB_DCBA, EV_MB_NORDERS } ev_mb_order;

/* One value to read: function code 1..4, 0-based protocol address, how to
 * decode it, and optionally a bit field (width 0: the whole value). */
typedef struct {
    uint8_t fc;
    uint16_t addr;
    ev_mb_type type;
    ev_mb_order order;
    uint8_t bit, width;
} ev_mb_read;

const char *ev_mb_type_name(ev_mb_type t);   /* "float32" */
const char *ev_mb_order_name(ev_mb_order o); /* "CDAB" */
/* Case-insensitive; false when unknown. */
bool ev_mb_type_parse(const char *s, ev_mb_type *out);
bool ev_mb_order_parse(const char *s, ev_mb_order *out);
/* Registers (16-bit words) the type takes; 1 for EV_MB_BOOL (one bit). */
unsigned ev_mb_type_words(ev_mb_type t);
bool ev_mb_type_signed(ev_mb_type t);

/* The value's bits, most significant first, from nwords (1, 2 or 4)
 * register words in wire order. */
uint64_t ev_mb_assemble(const uint16_t *regs, unsigned nwords, ev_mb_order order);

/* A decoded value: integers exactly, floats as double; bits is the raw
 * image (for sentinels such as 0xFFFF or 0x8000) of nbits bits. */
typedef enum { EV_MB_V_INT, EV_MB_V_UINT, EV_MB_V_FLOAT } ev_mb_vkind;
typedef struct {
    ev_mb_vkind kind;
    int64_t i;
    uint64_t u;
    double d;
    uint64_t bits;
    unsigned nbits;
} ev_mb_value;

/* Decode r's value from its words (ev_mb_type_words(r->type) of them;
 * for EV_MB_BOOL, regs[0] is 0 or 1). A bit field (r->width > 0) gives
 * (bits >> bit) & (2^width - 1) as an unsigned value. */
void ev_mb_decode(const ev_mb_read *r, const uint16_t *regs, ev_mb_value *out);

/* "FC3 3027 float32 CDAB", "FC4 12 uint16 bits 4-5", "FC1 7": for
 * `evmon probe` and traces. Returns buf. */
char *ev_mb_read_format(const ev_mb_read *r, char *buf, size_t len);

/* The inverse, for simulators and tests: the words that carry value v
 * (integer types take v rounded toward zero). */
void ev_mb_encode(ev_mb_type t, ev_mb_order o, double v, uint16_t *regs);

#endif
