/*
 * snmp_mib.c - a simulated device's OIDs and moving values (snmp_mib.h):
 * the snmprec reader, lookups by binary search, and the value functions.
 */
#include "tests/sim/snmp_mib.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int entry_cmp(const void *a, const void *b)
{
    return sim_oid_cmp(&((const sim_entry *)a)->name, &((const sim_entry *)b)->name);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The value text of one line into e. NULL, or why not. */
static const char *parse_value(sim_entry *e, const char *tag, const char *val)
{
    char *end;
    if (!strcmp(tag, "4") || !strcmp(tag, "4x")) {
        size_t n = strlen(val);
        bool hex = tag[1] == 'x';
        if (hex && n % 2)
            return "odd number of hex digits";
        e->tag = SIM_T_OCTETS;
        e->slen = hex ? n / 2 : n;
        e->s = malloc(e->slen + 1);
        if (!e->s)
            return "out of memory";
        for (size_t i = 0; i < e->slen; i++) {
            if (!hex) {
                e->s[i] = (uint8_t)val[i];
                continue;
            }
            int h = hexval(val[2 * i]), l = hexval(val[2 * i + 1]);
            if (h < 0 || l < 0)
                return "bad hex digit";
            e->s[i] = (uint8_t)(h << 4 | l);
        }
        return NULL;
    }
    if (!strcmp(tag, "6")) {
        e->tag = SIM_T_OID;
        e->oidval = malloc(sizeof *e->oidval);
        if (!e->oidval)
            return "out of memory";
        return sim_oid_parse(val, e->oidval) < 0 ? "bad OID value" : NULL;
    }
    if (!strcmp(tag, "64")) {
        unsigned a, b, c, d;
        e->tag = SIM_T_IPADDR;
        if (sscanf(val, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || a > 255 || b > 255 || c > 255 || d > 255)
            return "bad IpAddress";
        e->s = malloc(4);
        if (!e->s)
            return "out of memory";
        e->slen = 4;
        e->s[0] = (uint8_t)a, e->s[1] = (uint8_t)b, e->s[2] = (uint8_t)c, e->s[3] = (uint8_t)d;
        return NULL;
    }
    static const struct {
        const char *tag;
        uint8_t t;
    } nums[] = {{"2", SIM_T_INTEGER},   {"65", SIM_T_COUNTER32}, {"66", SIM_T_GAUGE32},
                {"67", SIM_T_TIMETICKS}, {"70", SIM_T_COUNTER64}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(tag, nums[i].tag))
            continue;
        e->tag = nums[i].t;
        errno = 0;
        e->i = nums[i].t == SIM_T_COUNTER64 ? (int64_t)strtoull(val, &end, 10) : strtoll(val, &end, 10);
        return errno || end == val || *end ? "bad number" : NULL;
    }
    return "unknown type tag (expected 2, 4, 4x, 6, 64, 65, 66, 67 or 70)";
}

static int grow(sim_mib *m)
{
    if (m->n < m->cap)
        return 0;
    size_t cap = m->cap ? 2 * m->cap : 64;
    sim_entry *e = realloc(m->e, cap * sizeof *e);
    if (!e)
        return -1;
    m->e = e;
    m->cap = cap;
    return 0;
}

int sim_mib_load(sim_mib *m, const char *path, char *err, size_t errlen)
{
    char line[4096];
    unsigned lno = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (m->counter_rate == 0)
        m->counter_rate = 1;
    while (fgets(line, sizeof line, f)) {
        lno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        char *bar1 = strchr(line, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
        if (!bar2) {
            snprintf(err, errlen, "%s:%u: expected OID|TYPE|VALUE", path, lno);
            goto bad;
        }
        *bar1 = *bar2 = 0;
        if (grow(m) < 0) {
            snprintf(err, errlen, "%s:%u: out of memory", path, lno);
            goto bad;
        }
        sim_entry *e = &m->e[m->n];
        memset(e, 0, sizeof *e);
        if (sim_oid_parse(line, &e->name) < 0) {
            snprintf(err, errlen, "%s:%u: bad OID '%.80s'", path, lno, line);
            goto bad;
        }
        m->n++; /* counted now so that sim_mib_free frees a half-parsed value */
        const char *why = parse_value(e, bar1 + 1, bar2 + 1);
        if (why) {
            snprintf(err, errlen, "%s:%u: %s: %s", path, lno, bar1 + 1, why);
            goto bad;
        }
    }
    fclose(f);
    qsort(m->e, m->n, sizeof *m->e, entry_cmp);
    for (size_t i = 1; i < m->n; i++)
        if (!sim_oid_cmp(&m->e[i].name, &m->e[i - 1].name)) {
            snprintf(err, errlen, "%s: an OID appears twice", path);
            return -1;
        }
    return 0;
bad:
    fclose(f);
    return -1;
}

void sim_mib_free(sim_mib *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].s);
        free(m->e[i].oidval);
    }
    free(m->e);
    m->e = NULL;
    m->n = m->cap = 0;
}

/* The first entry >= o (binary search). */
static size_t lower_bound(const sim_mib *m, const sim_oid *o)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sim_oid_cmp(&m->e[mid].name, o) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t sim_mib_mark(sim_mib *m, const sim_oid *prefix, sim_motion motion)
{
    size_t n = 0;
    for (size_t i = lower_bound(m, prefix); i < m->n && sim_oid_has_prefix(&m->e[i].name, prefix); i++) {
        m->e[i].motion = motion;
        n++;
    }
    return n;
}

size_t sim_mib_find(const sim_mib *m, const sim_oid *o, int next)
{
    size_t lo = lower_bound(m, o);
    if (lo < m->n && !sim_oid_cmp(&m->e[lo].name, o))
        return next ? lo + 1 : lo;
    return next ? lo : m->n;
}

/* Where a counter of this type wraps. */
static double wrap_of(uint8_t tag)
{
    return tag == SIM_T_INTEGER ? 2147483648.0 : tag == SIM_T_COUNTER64 ? 18446744073709551616.0 : 4294967296.0;
}

static int64_t moved(const sim_mib *m, const sim_entry *e, size_t idx, unsigned dev, double t)
{
    if (e->motion == SIM_STATIC || e->i <= 0)
        return e->i;
    if (e->motion == SIM_DRIFT) {
        double phase = 0.7 * dev + 0.3 * (double)idx;
        double v = (double)e->i * (1.0 + 0.05 * sin(2 * M_PI * t / 300.0 + phase));
        return (int64_t)llround(v);
    }
    double wrap = wrap_of(e->tag), rate = m->counter_rate;
    double start = m->wrap_after_s > 0 ? wrap - rate * m->wrap_after_s : (double)e->i + 1009.0 * dev;
    double v = fmod(start + rate * t, wrap);
    return (int64_t)(uint64_t)v;
}

void sim_mib_value(const sim_mib *m, size_t idx, unsigned dev, double t, sim_value *out)
{
    const sim_entry *e = &m->e[idx];
    *out = (sim_value){.tag = e->tag, .s = e->s, .slen = e->slen, .oid = e->oidval};
    int64_t v = moved(m, e, idx, dev, t);
    out->i = v;
    out->u = (uint64_t)v;
}
