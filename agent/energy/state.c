/*
 * state.c - encoding, decoding and atomically writing the energy state file
 * (see state.h). Records:
 *   evmon-energy-state 1
 *   meter NAME LAST_REPORT_NS HAVE_POWER POWER_W POWER_NS INTEG_HAVE INTEG_W INTEG_NS
 *   counter NAME KEY LAST_WH LAST_NS
 *   bucket facility|it m|h|d|y ID WH EST_WH
 *   slot NODE SLOT SUM N
 *   day NODE DAY MAX_W
 *   end CRC32
 */
#include "agent/energy/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "evmon-energy-state 1\n"

static void encode_series(const ev_series *s, const char *name, ev_buf *out)
{
    static const char kinds[] = "mhdy";
    for (const char *k = kinds; *k; k++) {
        int n;
        const ev_bucket *b = ev_series_buckets((ev_series *)s, *k, &n);
        for (int i = 0; i < n; i++)
            if (b[i].id >= 0)
                ev_buf_printf(out, "bucket %s %c %" PRId64 " %.17g %.17g\n", name, *k, b[i].id, b[i].wh,
                              b[i].est_wh);
    }
}

void ev_state_encode(const ev_topo *t, ev_buf *out)
{
    size_t start = out->len;
    ev_buf_puts(out, MAGIC);
    for (size_t i = 0; i < t->nmeters; i++) {
        const ev_meter *m = &t->meters[i];
        ev_buf_printf(out, "meter %s %" PRId64 " %d %.17g %" PRId64 " %d %.17g %" PRId64 "\n", m->name,
                      m->last_report_ns, m->have_power, m->power_w, m->power_ns, m->integ.have, m->integ.last_w,
                      m->integ.last_ns);
        for (size_t c = 0; c < m->nctr; c++)
            if (m->ctr[c].have)
                ev_buf_printf(out, "counter %s %s %.17g %" PRId64 "\n", m->name, m->ctr_key[c],
                              m->ctr[c].last_wh, m->ctr[c].last_ns);
    }
    encode_series(&t->facility, "facility", out);
    encode_series(&t->it, "it", out);
    for (size_t i = 0; i < t->nnodes; i++) {
        const ev_node *n = &t->nodes[i];
        if (n->peak.slot >= 0)
            ev_buf_printf(out, "slot %s %" PRId64 " %.17g %u\n", n->key, n->peak.slot, n->peak.slot_sum,
                          n->peak.slot_n);
        for (size_t d = 0; d < n->peak.ndays; d++)
            if (n->peak.days[d].day >= 0)
                ev_buf_printf(out, "day %s %" PRId64 " %.17g\n", n->key, n->peak.days[d].day,
                              n->peak.days[d].max_w);
    }
    uLong crc = crc32(0L, (const Bytef *)out->p + start, (uInt)(out->len - start));
    ev_buf_printf(out, "end %08lx\n", (unsigned long)crc);
}

/* ---- decoding: check the whole file first, then apply ------------------ */

/* Apply one record to t; with t NULL, only check it. */
static int apply_line(ev_topo *t, char *line)
{
    char name[256], key[32], kind;
    long long a, b, c, d;
    int h1, h2;
    double x, y, z;
    unsigned u;
    ev_meter *m;
    ev_node *n;

    if (sscanf(line, "meter %255s %lld %d %lf %lld %d %lf %lld", name, &a, &h1, &x, &b, &h2, &y, &c) == 8) {
        if (t && (m = ev_topo_meter(t, name))) {
            m->last_report_ns = a;
            m->have_power = h1;
            m->power_w = x;
            m->power_ns = b;
            m->integ = (ev_integrator){.have = h2, .last_w = y, .last_ns = c};
        }
    } else if (sscanf(line, "counter %255s %31s %lf %lld", name, key, &x, &a) == 4) {
        if (t && (m = ev_topo_meter(t, name)) && m->nctr < EV_METER_PARTS) {
            snprintf(m->ctr_key[m->nctr], sizeof m->ctr_key[0], "%s", key);
            m->ctr[m->nctr++] = (ev_counter){.have = true, .last_wh = x, .last_ns = a};
        }
    } else if (sscanf(line, "bucket %255s %c %lld %lf %lf", name, &kind, &a, &x, &y) == 5) {
        bool fac = !strcmp(name, "facility");
        if ((!fac && strcmp(name, "it")) || !strchr("mhdy", kind) || !kind || a < 0)
            return -1;
        int nb;
        ev_bucket *bk = t ? ev_series_buckets(fac ? &t->facility : &t->it, kind, &nb) : NULL;
        if (bk)
            bk[kind == 'y' ? 0 : a % nb] = (ev_bucket){.id = a, .wh = x, .est_wh = y};
    } else if (sscanf(line, "slot %255s %lld %lf %u", name, &a, &z, &u) == 4) {
        if (t && (n = ev_topo_node(t, name))) {
            n->peak.slot = a;
            n->peak.slot_sum = z;
            n->peak.slot_n = u;
        }
    } else if (sscanf(line, "day %255s %lld %lf", name, &d, &x) == 3) {
        if (t && (n = ev_topo_node(t, name)))
            ev_peak_day_max(&n->peak, d, x);
    } else {
        return -1;
    }
    return 0;
}

/* The length of the checked body, or -1 when the file is torn or altered. */
static long checked_body(const char *text, size_t len, char *why, size_t whylen)
{
    if (len < strlen(MAGIC) || memcmp(text, MAGIC, strlen(MAGIC))) {
        snprintf(why, whylen, "not an evmon energy state file (no '%.*s' header)", (int)strlen(MAGIC) - 1, MAGIC);
        return -1;
    }
    if (text[len - 1] != '\n') {
        snprintf(why, whylen, "truncated (no end line)");
        return -1;
    }
    size_t at = len - 1;
    while (at > 0 && text[at - 1] != '\n')
        at--;
    unsigned long crc;
    char tail[32] = "";
    if (len - at < sizeof tail)
        memcpy(tail, text + at, len - at);
    if (sscanf(tail, "end %lx", &crc) != 1) {
        snprintf(why, whylen, "truncated (no end line)");
        return -1;
    }
    if (crc32(0L, (const Bytef *)text, (uInt)at) != crc) {
        snprintf(why, whylen, "checksum mismatch (torn or edited)");
        return -1;
    }
    return (long)at;
}

int ev_state_decode(ev_topo *t, const char *text, size_t len, char *why, size_t whylen)
{
    long body = checked_body(text, len, why, whylen);
    if (body < 0)
        return -1;
    char *copy = strndup(text, (size_t)body), *save = NULL;
    if (!copy) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    /* Two passes: check every record, then apply them all, so a bad one
     * leaves the model untouched. Lines are split in place once. */
    size_t nl = 0;
    char **lines = malloc(((size_t)body / 2 + 2) * sizeof *lines);
    int rc = lines ? 0 : -1;
    if (!lines)
        snprintf(why, whylen, "out of memory");
    strtok_r(copy, "\n", &save); /* the header */
    for (char *line = strtok_r(NULL, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        lines[nl++] = line;
        if (apply_line(NULL, line) < 0) {
            snprintf(why, whylen, "line %zu: bad record '%.60s'", nl + 1, line);
            rc = -1;
        }
    }
    for (size_t i = 0; i < nl && !rc; i++)
        apply_line(t, lines[i]);
    free(lines);
    free(copy);
    return rc;
}

/* ---- files ------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int ev_state_save(const ev_topo *t, const char *path)
{
    ev_buf b;
    char *tmp = NULL;
    int rc = -1, fd = -1, e = 0;
    ev_buf_init(&b);
    ev_state_encode(t, &b);
    if (b.oom) {
        e = ENOMEM;
        goto out;
    }
    if (asprintf(&tmp, "%s.tmp", path) < 0) {
        tmp = NULL;
        e = ENOMEM;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, b.p, b.len) < 0 || fsync(fd) < 0) {
        e = errno;
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        e = errno;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        e = errno;
        goto out;
    }
    fsync_dir(path);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0 && tmp)
        unlink(tmp);
    free(tmp);
    ev_buf_free(&b);
    errno = e;
    return rc;
}

int ev_state_load(ev_topo *t, const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    ev_buf b;
    char chunk[65536];
    size_t n;
    ev_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ev_buf_put(&b, chunk, n);
    int rc = ferror(f) || b.oom ? (snprintf(why, whylen, "cannot read"), -1) : 0;
    fclose(f);
    if (!rc)
        rc = ev_state_decode(t, b.p ? b.p : "", b.len, why, whylen);
    ev_buf_free(&b);
    return rc;
}
