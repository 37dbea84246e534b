/*
 * modbus_image.c - register images from Modbus profiles, values moving
 * with time (modbus_image.h).
 */
#include "tests/sim/modbus_image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/profile_priv.h"

#define DRIFT_PERIOD_S 60.0

/* ---- what a field plausibly reads ------------------------------------- */

static const char *phase_of(const ev_metric *m)
{
    for (size_t i = 0; i < m->ntags; i++)
        if (!strcmp(m->tags[i].key, "phase") && m->tags[i].literal)
            return m->tags[i].literal;
    return "";
}

/* Full-load value of a field; *motion says how it moves. A three-phase
 * 63 A feed at about 7 kW a phase; a cooling unit's temperatures. */
static double nominal_of(const ev_metric *m, mbi_motion *motion)
{
    const char *f = m->field, *ph = phase_of(m);
    bool total = !strcmp(ph, "total"), neutral = !strcmp(ph, "N");
    static const struct {
        const char *field;
        double v;
    } steady[] = {
        {"power_factor", 0.95}, {"frequency_hz", 50.0}, {"supply_air_temperature_c", 24.0},
        {"return_air_temperature_c", 35.0}, {"supply_water_temperature_c", 15.0},
        {"return_water_temperature_c", 21.0}, {"temperature_c", 24.0}, {"humidity_pct", 45.0},
        {"fan_speed_pct", 60.0}, {"fan_speed_rpm", 1500.0}, {"valve_pct", 40.0},
        {"cooling_capacity_pct", 55.0},
    };
    *motion = MBI_DRIFT;
    if (!strcmp(f, "energy_wh")) {
        *motion = MBI_COUNTER;
        return 21000.0; /* the power it counts at */
    }
    if (!strcmp(f, "active_power_w") || !strcmp(f, "power_w"))
        return total ? 21000.0 : 7000.0;
    if (!strcmp(f, "apparent_power_va"))
        return total ? 22100.0 : 7370.0;
    if (!strcmp(f, "cooling_load_w"))
        return 30000.0;
    if (!strcmp(f, "current_a"))
        return neutral ? 3.0 : total ? 96.0 : 32.0;
    *motion = MBI_STEADY;
    if (!strcmp(f, "voltage_v"))
        return strchr(ph, '-') ? 400.0 : 230.0;
    for (size_t i = 0; i < sizeof steady / sizeof steady[0]; i++)
        if (!strcmp(f, steady[i].field))
            return steady[i].v;
    return 10.0;
}

/* ---- building ------------------------------------------------------------ */

static int cmp_reg(const void *a, const void *b)
{
    const mbi_reg *x = a, *y = b;
    if (x->read.fc != y->read.fc)
        return x->read.fc - y->read.fc;
    return (x->read.addr > y->read.addr) - (x->read.addr < y->read.addr);
}

/* Largest raw magnitude the register's type holds. */
static double type_max(const ev_mb_read *r)
{
    if (r->width)
        return ldexp(1.0, r->width) - 1;
    switch (r->type) {
    case EV_MB_INT16: return 32767.0;
    case EV_MB_UINT16: return 65535.0;
    case EV_MB_INT32: return 2147483647.0;
    case EV_MB_UINT32: return 4294967295.0;
    case EV_MB_INT64: case EV_MB_UINT64: return 9.0e18;
    case EV_MB_BOOL: return 1.0;
    default: return 3.0e38;
    }
}

/* A scale-factor register holds the smallest exponent (>= -3) that lets
 * every value scaled by it fit its type with 30 % to spare (an energy
 * counter: up to 20 MWh). */
static int pick_sf(const mbi_image *img, size_t k)
{
    int sf = -3;
    for (size_t i = 0; i < img->n; i++) {
        const mbi_reg *g = &img->r[i];
        if (g->sf != k)
            continue;
        double most = g->motion == MBI_COUNTER ? 2.0e7 : 1.3 * g->nominal; /* Wh: years of counting */
        while (sf < 10 && fabs(most / (g->scale * pow(10.0, sf))) > type_max(&g->read))
            sf++;
    }
    return sf;
}

int mbi_image_build(mbi_image *img, const ev_profile *p, char *err, size_t errlen)
{
    *img = (mbi_image){.counter_rate = 1.0};
    if (p->protocol != EV_PROTO_MODBUS || !p->nfetch) {
        snprintf(err, errlen, "profile %s has no Modbus registers", p->name);
        return -1;
    }
    img->r = calloc(p->nfetch, sizeof *img->r);
    if (!img->r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    img->n = p->nfetch;
    for (size_t i = 0; i < p->nfetch; i++) {
        mbi_reg *g = &img->r[i];
        *g = (mbi_reg){.read = p->mbreads[i], .nwords = ev_mb_type_words(p->mbreads[i].type),
                       .motion = MBI_SF, .scale = 1.0, .sf = SIZE_MAX};
    }
    /* the value each register carries: from the first metric that reads it */
    bool *seen = calloc(p->nfetch, sizeof *seen);
    if (!seen) {
        mbi_image_free(img);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p->nmetrics; i++) {
        const ev_metric *m = &p->metrics[i];
        if (m->col >= p->nfetch || seen[m->col])
            continue;
        mbi_reg *g = &img->r[m->col];
        seen[m->col] = true;
        g->nominal = nominal_of(m, &g->motion);
        if (g->read.type == EV_MB_BOOL || g->read.width)
            g->motion = MBI_STEADY, g->nominal = 1.0;
        g->scale = (double)m->scale_m * pow(10.0, m->scale_e);
        g->offset = m->offset;
        g->sf = m->sf_col;
    }
    free(seen);
    /* scale-factor registers, then the sort (sf indexes follow the moves) */
    for (size_t k = 0; k < img->n; k++)
        if (img->r[k].motion == MBI_SF)
            img->r[k].sf_value = pick_sf(img, k);
    for (size_t i = 0; i < img->n; i++) {
        mbi_reg *g = &img->r[i];
        if (g->sf != SIZE_MAX) {
            g->scale *= pow(10.0, img->r[g->sf].sf_value);
            g->sf = SIZE_MAX; /* folded in: the order below may move it */
        }
    }
    qsort(img->r, img->n, sizeof *img->r, cmp_reg);
    return 0;
}

void mbi_image_free(mbi_image *img)
{
    free(img->r);
    *img = (mbi_image){0};
}

/* ---- values ---------------------------------------------------------------- */

/* 0..1 from a device number (and a salt): spreads loads and phases. */
static double unit_hash(unsigned dev, unsigned salt)
{
    uint32_t h = (dev + 1) * 2654435761u ^ salt * 2246822519u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return (double)(h % 10007u) / 10006.0;
}

double mbi_value(const mbi_image *img, size_t k, unsigned dev, double t)
{
    const mbi_reg *g = &img->r[k];
    double load = 0.55 + 0.4 * unit_hash(dev, 1); /* each device its own share of full load */
    /* a device's currents and powers drift together; voltages each their own way */
    double phase = unit_hash(dev, g->motion == MBI_DRIFT ? 2u : 3u + g->read.addr);
    switch (g->motion) {
    case MBI_SF:
        return g->sf_value;
    case MBI_STEADY:
        return g->nominal * (1.0 + 0.003 * sin(2 * M_PI * (t / DRIFT_PERIOD_S + phase)));
    case MBI_DRIFT:
        return g->nominal * load * (1.0 + 0.05 * sin(2 * M_PI * (t / DRIFT_PERIOD_S + phase)));
    case MBI_COUNTER:
        return 5.0e6 + 1.0e4 * (dev % 1000) + g->nominal * load * t * img->counter_rate / 3600.0;
    }
    return 0;
}

/* The raw number a register holds for engineering value v. */
static double raw_of(const mbi_reg *g, double v)
{
    double raw = g->motion == MBI_SF ? v : (v - g->offset) / g->scale;
    if (g->read.type == EV_MB_FLOAT32 || g->read.type == EV_MB_FLOAT64)
        return raw;
    raw = trunc(raw);
    double max = type_max(&g->read);
    bool is_signed = !g->read.width && ev_mb_type_signed(g->read.type);
    if (g->motion == MBI_COUNTER && !is_signed && raw > max) /* a counter wraps */
        return fmod(raw, max + 1.0);
    if (raw > max)
        return max;
    if (raw < (is_signed ? -max - 1 : 0))
        return is_signed ? -max - 1 : 0;
    return raw;
}

/* The register's words as the device sends them. */
static void encode(const mbi_reg *g, double raw, uint16_t *w)
{
    if (g->read.width) {
        uint64_t bits = ((uint64_t)raw & ((1ull << g->read.width) - 1)) << g->read.bit;
        ev_mb_type t = g->nwords == 1 ? EV_MB_UINT16 : g->nwords == 2 ? EV_MB_UINT32 : EV_MB_UINT64;
        ev_mb_encode(t, g->read.order, (double)bits, w);
        return;
    }
    ev_mb_encode(g->read.type, g->read.order, raw, w);
}

void mbi_fill(const mbi_image *img, unsigned dev, double t, uint8_t fc, uint16_t addr, uint16_t count,
              uint16_t *out)
{
    unsigned end = (unsigned)addr + count;
    memset(out, 0, (size_t)count * sizeof *out);
    for (size_t k = 0; k < img->n; k++) {
        const mbi_reg *g = &img->r[k];
        unsigned a = g->read.addr;
        if (g->read.fc != fc || a + g->nwords <= addr || a >= end)
            continue;
        uint16_t w[4];
        encode(g, raw_of(g, mbi_value(img, k, dev, t)), w);
        for (unsigned i = 0; i < g->nwords; i++)
            if (a + i >= addr && a + i < end)
                out[a + i - addr] = w[i];
    }
}
