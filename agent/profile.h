/*
 * profile.h - device models as data.
 *
 * A profile (config/profiles/<name>.yaml) lists what to read from one kind
 * of device and how to turn each raw value into a field of a point:
 * numeric OID, scalar or table column, measurement, field, tags (with the
 * row index available to templates), scale (a constant, or digits read
 * from another column as Raritan and ENTITY-SENSOR-MIB need), offset,
 * sentinels that mean "no sensor", and row filters. Adding a PDU model is a
 * new YAML file, never a C change. The YAML format is documented in
 * docs/PROFILES.md.
 *
 * A collector asks a profile for the OIDs to fetch (ev_profile_fetch_list),
 * fills an ev_rowset with what the device answered, and hands it to
 * ev_profile_eval(), which produces points. The collector knows nothing
 * about measurements; the evaluator knows nothing about SNMP transport.
 */
#ifndef EVMON_PROFILE_H
#define EVMON_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "modbus_value.h"
#include "point.h"

#define EV_OID_MAX 64

typedef struct {
    uint32_t sub[EV_OID_MAX];
    size_t len;
} ev_oid;

/* "1.3.6.1.2.1.1.3.0" or ".1.3.6..." -> 0, or -1 when not a numeric OID. */
int ev_oid_parse(const char *s, ev_oid *out);
/* Write dotted form (leading dot omitted) into buf; returns buf. */
char *ev_oid_format(const ev_oid *o, char *buf, size_t len);
int ev_oid_cmp(const ev_oid *a, const ev_oid *b);
bool ev_oid_has_prefix(const ev_oid *o, const ev_oid *prefix);

/* One raw value as the device sent it. */
typedef enum {
    EV_V_NONE,   /* noSuchObject / noSuchInstance / endOfMibView / absent */
    EV_V_INT,    /* INTEGER / Integer32 */
    EV_V_UINT,   /* Gauge32, Counter32, TimeTicks, Unsigned32 */
    EV_V_U64,    /* Counter64 */
    EV_V_STR,    /* OCTET STRING (text), IpAddress as text, OID as text */
    EV_V_FLOAT,  /* Modbus float32/float64 */
} ev_vtype;

typedef struct {
    ev_vtype type;
    int64_t i;     /* EV_V_INT */
    uint64_t u;    /* EV_V_UINT, EV_V_U64 */
    char *s;       /* EV_V_STR, NUL-terminated, owned by the rowset */
    double d;      /* EV_V_FLOAT */
    uint64_t bits; /* Modbus: the register image (nbits > 0), which
                      sentinels such as 0xFFFF or 0x8000 are compared with */
    unsigned nbits;
} ev_value;

/* What a device answered: per fetched OID (scalar or column), its rows.
 * A scalar has a single row with an empty index. Rows are keyed by the
 * index suffix (the sub-identifiers after the column OID). */
typedef struct {
    ev_oid index;
    ev_value v;
} ev_row;

typedef struct {
    ev_oid oid;     /* column or scalar OID as in ev_profile_fetch_list */
    bool scalar;
    ev_row *rows;
    size_t nrows, cap;
} ev_column;

typedef struct {
    ev_column *cols;  /* one per fetch-list entry, same order */
    size_t ncols;
} ev_rowset;

/* The OIDs a collector must fetch for a profile. Scalars are fetched
 * with GET (the OID is the full instance); columns are walked with
 * GETBULK until the reply leaves the column. */
typedef struct {
    ev_oid oid;
    bool scalar;
} ev_fetch;

typedef struct ev_profile ev_profile;
typedef struct ev_profile_set ev_profile_set;

/* Load every *.yaml in dir. Problems go to diag as FILE:LINE: message; a
 * profile with errors is left out, the others are kept. NULL only when
 * the directory cannot be read. */
ev_profile_set *ev_profiles_load_dir(const char *dir, ev_diag *diag);
/* Load one file into a set (for tests and `probe --profile-file`). */
int ev_profiles_load_file(ev_profile_set *set, const char *path, ev_diag *diag);
ev_profile_set *ev_profiles_new(void);
void ev_profiles_free(ev_profile_set *set);
const ev_profile *ev_profiles_find(const ev_profile_set *set, const char *name);
size_t ev_profiles_count(const ev_profile_set *set);
const ev_profile *ev_profiles_at(const ev_profile_set *set, size_t i);

const char *ev_profile_name(const ev_profile *p);

/* An SNMP profile has `oid:` metrics; a Modbus profile (`protocol:
 * modbus`) has `register:` metrics, whose fetch list is one scalar per
 * distinct read, described by ev_profile_modbus_reads() (same order). */
typedef enum { EV_PROTO_SNMP, EV_PROTO_MODBUS } ev_protocol;
ev_protocol ev_profile_protocol(const ev_profile *p);
const ev_mb_read *ev_profile_modbus_reads(const ev_profile *p, size_t *n);
const char *ev_profile_description(const ev_profile *p);
const ev_fetch *ev_profile_fetch_list(const ev_profile *p, size_t *n);

/* Rowset matching a profile's fetch list; the collector adds rows. */
ev_rowset *ev_rowset_new(const ev_profile *p);
void ev_rowset_clear(ev_rowset *rs);        /* drop rows, keep columns */
void ev_rowset_free(ev_rowset *rs);
/* Add a row to column ci; the value's string (if any) is copied. 0 or -1. */
int ev_rowset_add(ev_rowset *rs, size_t ci, const ev_oid *index, const ev_value *v);

/* Tags every point of the device carries (site, hall, row, rack, device,
 * feed, role); NULL or empty values are omitted. */
typedef struct {
    ev_tag tags[EV_MAX_TAGS];
    size_t n;
} ev_tagset;

/* How one value was read, for `evmon probe`. */
typedef struct {
    const char *metric;       /* metric name in the profile */
    const char *oid;          /* full instance OID, dotted */
    const ev_value *raw;
    bool valid;               /* false: sentinel, no such object, filtered... */
    const char *why;          /* reason when !valid ("sentinel -1", ...) */
    double scaled;            /* when valid */
    const char *measurement, *field;
    const ev_tag *tags;       /* the metric's own tags for this row */
    size_t ntags;
} ev_trace;

typedef void (*ev_trace_fn)(void *ud, const ev_trace *t);

/* Turn a device's rowset into points appended to out, all stamped ts_ns,
 * each carrying base tags plus the metric's tags. Values of one
 * measurement with equal tags share one point. trace (may be NULL) is
 * called for every value considered. Returns the number of fields
 * produced. */
size_t ev_profile_eval(const ev_profile *p, const ev_rowset *rs, const ev_tagset *base,
                       int64_t ts_ns, ev_batch *out, ev_trace_fn trace, void *ud);

#endif
