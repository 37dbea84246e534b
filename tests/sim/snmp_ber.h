/*
 * snmp_ber.h - BER for the SNMP fleet simulator (tests/sim/snmpfleet.c):
 * decode an SNMPv1/v2c request, encode its response.
 *
 * Only what an agent needs: the message (version, community, PDU), the
 * request PDUs GET / GETNEXT / GETBULK (others decode, and the simulator
 * ignores them), and response varbinds of every SMIv2 type plus the v2c
 * exceptions. Decoding checks every length against the datagram; a
 * malformed request is rejected, never read past. Responses are built
 * forward into a buffer with room kept in front, and the headers, whose
 * lengths are known only at the end, are written backwards into that
 * room, so every length is in its shortest form.
 *
 * Pure code, no I/O: tests/unit/test_sim_snmp_ber.c checks it against
 * Net-SNMP's own encoder and parser.
 */
#ifndef EVMON_SIM_SNMP_BER_H
#define EVMON_SIM_SNMP_BER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_OID_MAX 64   /* sub-identifiers per OID */
#define SIM_MAX_VBS 128  /* varbinds per request */

/* PDU tags (RFC 3416) */
enum {
    SIM_PDU_GET = 0xA0,
    SIM_PDU_GETNEXT = 0xA1,
    SIM_PDU_RESPONSE = 0xA2,
    SIM_PDU_SET = 0xA3,
    SIM_PDU_GETBULK = 0xA5,
};

/* Value tags */
enum {
    SIM_T_INTEGER = 0x02,
    SIM_T_OCTETS = 0x04,
    SIM_T_NULL = 0x05,
    SIM_T_OID = 0x06,
    SIM_T_IPADDR = 0x40,
    SIM_T_COUNTER32 = 0x41,
    SIM_T_GAUGE32 = 0x42,
    SIM_T_TIMETICKS = 0x43,
    SIM_T_COUNTER64 = 0x46,
    SIM_T_NOSUCHOBJECT = 0x80,
    SIM_T_NOSUCHINSTANCE = 0x81,
    SIM_T_ENDOFMIBVIEW = 0x82,
};

/* error-status values used */
enum { SIM_ERR_NONE = 0, SIM_ERR_TOOBIG = 1, SIM_ERR_NOSUCHNAME = 2, SIM_ERR_GENERR = 5 };

typedef struct {
    uint32_t sub[SIM_OID_MAX];
    uint8_t len;
} sim_oid;

typedef struct {
    long version;                /* 0 = v1, 1 = v2c */
    const uint8_t *community;    /* points into the datagram */
    size_t community_len;
    unsigned pdu;                /* SIM_PDU_* */
    int32_t request_id;
    long non_repeaters;          /* GETBULK (error-status slot) */
    long max_repetitions;        /* GETBULK (error-index slot) */
    size_t nvb;
    sim_oid vb[SIM_MAX_VBS];     /* the names asked; request values are ignored */
} sim_request;

typedef struct {
    uint8_t tag;                 /* SIM_T_* */
    int64_t i;                   /* INTEGER */
    uint64_t u;                  /* Counter32/Gauge32/TimeTicks/Counter64 */
    const uint8_t *s;            /* OCTET STRING, IpAddress (4 bytes) */
    size_t slen;
    const sim_oid *oid;          /* OBJECT IDENTIFIER */
} sim_value;

/* Decode a request datagram. 0, or -1 with a short reason in *why. */
int sim_ber_decode(const uint8_t *msg, size_t len, sim_request *out, const char **why);

/* Compare OIDs lexicographically: <0, 0, >0. */
int sim_oid_cmp(const sim_oid *a, const sim_oid *b);
/* "1.3.6.1..." (leading dot allowed) -> 0, or -1. */
int sim_oid_parse(const char *s, sim_oid *out);
bool sim_oid_has_prefix(const sim_oid *o, const sim_oid *prefix);

/* A response being built. */
typedef struct {
    uint8_t *buf;
    size_t head;     /* room kept in front for the headers */
    size_t end;      /* end of the varbinds written so far */
    size_t limit;    /* varbinds may not go past this */
    size_t nvb;
} sim_resp;

/* Room kept in front of the varbinds: the longest headers, community included. */
#define SIM_RESP_HEADROOM 320
/* Start the response to req in buf (SIM_RESP_HEADROOM + max_msg bytes):
 * the whole datagram will be at most max_msg bytes. */
void sim_resp_begin(sim_resp *r, uint8_t *buf, size_t max_msg, const sim_request *req);
/* Append a varbind. 0, or -1 when it does not fit (nothing written). */
int sim_resp_add(sim_resp *r, const sim_oid *name, const sim_value *v);
/* Forget the varbinds (to answer with an error and the request's names). */
void sim_resp_reset(sim_resp *r);
/* Write the headers; returns the datagram's start in *out and its length.
 * The response echoes the request's version, community and request-id. */
size_t sim_resp_finish(sim_resp *r, const sim_request *req, long errstat, long errindex,
                       const uint8_t **out);

#endif
