/*
 * config_inventory.c - many devices from one `devices:` item: address
 * ranges with name templates, and CSV imports from a DCIM export
 * (config_inventory.h). config.c hands every item here with its device
 * reader; this file decides what the item is, reads it through that
 * reader (once per device), and appends the results to c->devices.
 *
 * Order of work: item -> csv import? (file -> rows -> a YAML mapping per
 * row in a document of its own -> the reader, under a context whose file
 * is the CSV) : (the reader -> ranges in the address? -> one copy per
 * address with name/row/rack rendered).
 */
#include "agent/config_inventory.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RANGES 4

/* ---- appending devices ------------------------------------------------ */

/* Room for one more device; capacity doubles at powers of two. */
static ev_device_cfg *append(cfg_ctx *cx, ev_config *c, unsigned line)
{
    size_t n = c->ndevices;
    if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
        size_t cap = n < 16 ? 16 : 2 * n;
        ev_device_cfg *d = realloc(c->devices, cap * sizeof *d);
        if (!d) {
            cfg_error(cx, line, "out of memory");
            return NULL;
        }
        c->devices = d;
    }
    memset(&c->devices[n], 0, sizeof c->devices[n]);
    return &c->devices[n];
}

/* Read item into the next slot and keep it (even when it had errors, so
 * that freeing the config frees what it holds). */
static ev_device_cfg *read_one(cfg_ctx *cx, ev_config *c, const yaml_node_t *item, size_t idx,
                               cfg_device_reader read)
{
    ev_device_cfg *d = append(cx, c, cfg_line(item));
    if (!d)
        return NULL;
    read(cx, c, item, idx, d);
    c->ndevices++;
    return d;
}

/* ---- ranges ------------------------------------------------------------ */

typedef struct {
    unsigned n;
    unsigned lo[MAX_RANGES], hi[MAX_RANGES];
    size_t at[MAX_RANGES], len[MAX_RANGES]; /* where each "[a-b]" sits in the address */
    size_t count;                           /* devices: the product of the ranges' sizes */
} range_set;

/* "[12-250]" at s: 1 and the bounds; 0 when s is no range ("[::1]", "[v6]");
 * -1 when it starts like one but is malformed. */
static int one_range(const char *s, unsigned *lo, unsigned *hi, size_t *len)
{
    char *e;
    if (s[0] != '[' || !isdigit((unsigned char)s[1]))
        return 0;
    unsigned long a = strtoul(s + 1, &e, 10);
    if (*e != '-')
        return 0; /* "[2001:db8::1]" */
    if (!isdigit((unsigned char)e[1]))
        return -1;
    unsigned long b = strtoul(e + 1, &e, 10);
    if (*e != ']' || a > 65535 || b > 65535)
        return -1;
    *lo = (unsigned)a;
    *hi = (unsigned)b;
    *len = (size_t)(e + 1 - s);
    return 1;
}

/* The ranges in an address. 0, or -1 with an error reported. */
static int parse_ranges(cfg_ctx *cx, const char *addr, unsigned line, const char *sect, range_set *rs)
{
    rs->n = 0;
    rs->count = 1;
    for (size_t i = 0; addr[i]; i++) {
        unsigned lo, hi;
        size_t len;
        int r = one_range(addr + i, &lo, &hi, &len);
        if (r == 0)
            continue;
        if (r < 0) {
            cfg_error(cx, line, "%s address '%s': bad range at '%.12s' (expected [FIRST-LAST], e.g. [1-250])", sect,
                addr, addr + i);
            return -1;
        }
        if (lo > hi) {
            cfg_error(cx, line, "%s address '%s': range [%u-%u] runs backwards", sect, addr, lo, hi);
            return -1;
        }
        if (rs->n == MAX_RANGES) {
            cfg_error(cx, line, "%s address '%s': at most %d ranges", sect, addr, MAX_RANGES);
            return -1;
        }
        rs->lo[rs->n] = lo;
        rs->hi[rs->n] = hi;
        rs->at[rs->n] = i;
        rs->len[rs->n] = len;
        rs->n++;
        rs->count *= (size_t)(hi - lo + 1);
        if (rs->count > CFG_INVENTORY_MAX) {
            cfg_error(cx, line, "%s address '%s': more than %d devices in one item", sect, addr, CFG_INVENTORY_MAX);
            return -1;
        }
        i += len - 1;
    }
    return 0;
}

/* The address with each range replaced by its value. */
static void render_address(const char *addr, const range_set *rs, const unsigned *val, char *out, size_t len)
{
    size_t from = 0, used = 0;
    out[0] = 0;
    for (unsigned r = 0; r < rs->n && used < len; r++) {
        used += (size_t)snprintf(out + used, len - used, "%.*s%u", (int)(rs->at[r] - from), addr + from, val[r]);
        from = rs->at[r] + rs->len[r];
    }
    if (used < len)
        snprintf(out + used, len - used, "%s", addr + from);
}

/* A name/row/rack template: {n} (1-based device number in the item), {N}
 * (the Nth range's value), optionally ":0W" for zero-padding to W digits;
 * "{{" and "}}" are literal braces. NULL, or why not. */
static const char *render(const char *t, const range_set *rs, const unsigned *val, size_t seq, char *out,
                          size_t len, bool *used_placeholder)
{
    size_t o = 0;
    for (const char *p = t; *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (o + 1 < len)
                out[o++] = *p;
            p++;
            continue;
        }
        if (*p != '{') {
            if (o + 1 < len)
                out[o++] = *p;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close)
            return "'{' without '}'";
        char key[16] = "";
        unsigned width = 0;
        const char *colon = memchr(p, ':', (size_t)(close - p));
        size_t klen = (size_t)((colon ? colon : close) - p - 1);
        if (klen == 0 || klen >= sizeof key)
            return "empty or long placeholder (expected {n}, {1}, {2}...)";
        memcpy(key, p + 1, klen);
        key[klen] = 0;
        if (colon) {
            char *e;
            unsigned long w = strtoul(colon + 1, &e, 10);
            if (e != close || colon[1] != '0' || w > 12)
                return "bad width (expected e.g. {n:03})";
            width = (unsigned)w;
        }
        unsigned long v;
        if (!strcmp(key, "n")) {
            v = seq;
        } else {
            char *e;
            unsigned long k = strtoul(key, &e, 10);
            if (*e || k < 1 || k > rs->n)
                return rs->n ? "unknown placeholder (expected {n} or {1}..{N} for the address's ranges)"
                             : "unknown placeholder (the address has no [a-b] range)";
            v = val[k - 1];
        }
        int w = snprintf(out + o, o < len ? len - o : 0, "%0*lu", (int)width, v);
        o += w > 0 ? (size_t)w : 0;
        if (o >= len)
            o = len - 1;
        *used_placeholder = true;
        p = close;
    }
    out[o < len ? o : len - 1] = 0;
    return NULL;
}

/* Host part of an address that should be dotted IPv4 but is not. */
static bool bad_ipv4(const char *addr)
{
    char host[64];
    struct in_addr in;
    size_t n = strcspn(addr, ":");
    if (n >= sizeof host || addr[0] == '[')
        return false;
    memcpy(host, addr, n);
    host[n] = 0;
    if (strspn(host, "0123456789.") != n)
        return false; /* a host name */
    return inet_pton(AF_INET, host, &in) != 1;
}

static void set_str(cfg_ctx *cx, char **dst, const char *s, unsigned line)
{
    free(*dst);
    *dst = cfg_strdup(cx, line, s);
}

/* Render device k (values val) of a range item into d. false on a problem
 * (reported). */
static bool fill(cfg_ctx *cx, ev_device_cfg *d, const char *addr_t, const char *name_t, const char *row_t,
                 const char *rack_t, const range_set *rs, const unsigned *val, size_t seq, const char *sect)
{
    char buf[512];
    bool used = false, unused = false;
    const char *why;

    render_address(addr_t, rs, val, buf, sizeof buf);
    if (bad_ipv4(buf)) {
        cfg_error(cx, d->line, "%s address '%s' gives '%s', not an IPv4 address", sect, addr_t, buf);
        return false;
    }
    set_str(cx, &d->address, buf, d->line);
    if ((why = render(name_t, rs, val, seq, buf, sizeof buf, &used))) {
        cfg_error(cx, d->line, "%s name '%s': %s", sect, name_t, why);
        return false;
    }
    if (!used && rs->count > 1) {
        cfg_error(cx, d->line, "%s the %zu devices of address '%s' would all be named '%s': put {n} or {1} in the "
            "name", sect, rs->count, addr_t, name_t);
        return false;
    }
    set_str(cx, &d->name, buf, d->line);
    const char *tmpl[2] = {row_t, rack_t};
    char **dst[2] = {&d->row, &d->rack};
    for (int i = 0; i < 2; i++) {
        if (!tmpl[i])
            continue;
        if ((why = render(tmpl[i], rs, val, seq, buf, sizeof buf, &unused))) {
            cfg_error(cx, d->line, "%s %s '%s': %s", sect, i ? "rack" : "row", tmpl[i], why);
            return false;
        }
        set_str(cx, dst[i], buf, d->line);
    }
    return true;
}

/* One item read as a device: when its address holds ranges, read it again
 * for every further address and render each copy. */
static void add_device(cfg_ctx *cx, ev_config *c, const yaml_node_t *item, size_t idx, cfg_device_reader read)
{
    size_t before = cx->nerr;
    ev_device_cfg *d = read_one(cx, c, item, idx, read);
    if (!d || !d->address || !strchr(d->address, '[') || cx->nerr != before)
        return;

    range_set rs;
    char sect[160];
    snprintf(sect, sizeof sect, "device '%.100s':", d->name ? d->name : "?");
    if (parse_ranges(cx, d->address, d->line, sect, &rs) < 0 || rs.n == 0)
        return;
    /* the templates, kept while every copy is rendered from them */
    char *addr_t = cfg_strdup(cx, d->line, d->address), *name_t = cfg_strdup(cx, d->line, d->name);
    char *row_t = cfg_strdup(cx, d->line, d->row), *rack_t = cfg_strdup(cx, d->line, d->rack);
    unsigned val[MAX_RANGES];
    for (unsigned r = 0; r < rs.n; r++)
        val[r] = rs.lo[r];

    for (size_t k = 0; k < rs.count && addr_t && name_t; k++) {
        if (k > 0 && !(d = read_one(cx, c, item, idx, read)))
            break;
        if (!fill(cx, d, addr_t, name_t, row_t, rack_t, &rs, val, k + 1, sect))
            break;
        for (int r = (int)rs.n - 1; r >= 0; r--) { /* odometer: the last range turns fastest */
            if (val[r] < rs.hi[r]) {
                val[r]++;
                break;
            }
            val[r] = rs.lo[r];
        }
    }
    free(addr_t);
    free(name_t);
    free(row_t);
    free(rack_t);
}

/* ---- CSV import ----------------------------------------------------------- */

static const char *const csv_columns[] = {"name", "address", "profile", "row", "rack", "feed", "role"};
#define NCOLS (sizeof csv_columns / sizeof csv_columns[0])
#define MAX_FIELDS 256

/* Split one line into fields (RFC 4180 quoting: "a,b" and "" for a quote),
 * in place. Returns the number of fields, or -1 for an unclosed quote. */
static int split(char *line, char delim, char **f)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == MAX_FIELDS)
            return n;
        while (*p == ' ' || *p == '\t')
            p++;
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p++;
                }
            }
            while (*p && *p != delim)
                p++; /* anything after the closing quote is dropped */
        } else {
            while (*p && *p != delim)
                *out++ = *p++;
            while (out > start && (out[-1] == ' ' || out[-1] == '\t'))
                out--;
        }
        bool more = *p == delim;
        if (more)
            p++;
        *out = 0;
        f[n++] = start;
        if (!more)
            return n;
    }
}

typedef struct {
    int col[NCOLS]; /* field position of each known column, -1 if absent */
    char delim;
} csv_header;

/* The header line: which field holds which known column. */
static bool read_header(cfg_ctx *sub, char *line, unsigned lno, csv_header *h)
{
    char *f[MAX_FIELDS];
    h->delim = strchr(line, ',') || !strchr(line, ';') ? ',' : ';'; /* ';' from European spreadsheets */
    int n = split(line, h->delim, f);
    for (size_t c = 0; c < NCOLS; c++)
        h->col[c] = -1;
    for (int i = 0; i < n; i++)
        for (size_t c = 0; c < NCOLS; c++)
            if (!strcasecmp(f[i], csv_columns[c]) && h->col[c] < 0)
                h->col[c] = i;
    bool ok = true;
    for (size_t c = 0; c < 3; c++) /* name, address, profile */
        if (h->col[c] < 0) {
            cfg_error(sub, lno, "header: no '%s' column (the header needs name, address and profile; row, rack, "
                "feed and role are optional; other columns are ignored)", csv_columns[c]);
            ok = false;
        }
    return ok;
}

/* Row fields -> a mapping node at line lno in doc; 0 on failure. */
static int row_node(yaml_document_t *doc, const csv_header *h, char **f, int n, unsigned lno)
{
    int map = yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
    if (!map)
        return 0;
    for (size_t c = 0; c < NCOLS; c++) {
        int at = h->col[c];
        if (at < 0 || at >= n || !*f[at])
            continue;
        int k = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)csv_columns[c], -1, YAML_PLAIN_SCALAR_STYLE);
        int v = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)f[at], -1, YAML_SINGLE_QUOTED_SCALAR_STYLE);
        if (!k || !v || !yaml_document_append_mapping_pair(doc, map, k, v))
            return 0;
        yaml_document_get_node(doc, k)->start_mark.line = lno - 1;
        yaml_document_get_node(doc, v)->start_mark.line = lno - 1;
    }
    yaml_document_get_node(doc, map)->start_mark.line = lno - 1;
    return map;
}

/* Device names seen so far, for duplicates within and against a CSV file:
 * open addressing over device positions (+1; 0 is empty). */
typedef struct {
    size_t *slot;
    size_t cap, n;
} name_set;

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

/* Add device i; returns the position of an earlier device of the same
 * name, or SIZE_MAX. */
static size_t names_add(name_set *ns, const ev_config *c, size_t i)
{
    if (2 * (ns->n + 1) > ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 1024, *slot = calloc(cap, sizeof *slot);
        if (!slot)
            return SIZE_MAX;
        for (size_t k = 0; k < ns->cap; k++) /* rehash */
            if (ns->slot[k]) {
                size_t h = name_hash(c->devices[ns->slot[k] - 1].name) & (cap - 1);
                while (slot[h])
                    h = (h + 1) & (cap - 1);
                slot[h] = ns->slot[k];
            }
        free(ns->slot);
        ns->slot = slot;
        ns->cap = cap;
    }
    size_t h = name_hash(c->devices[i].name) & (ns->cap - 1);
    for (; ns->slot[h]; h = (h + 1) & (ns->cap - 1))
        if (!strcmp(c->devices[ns->slot[h] - 1].name, c->devices[i].name))
            return ns->slot[h] - 1;
    ns->slot[h] = i + 1;
    ns->n++;
    return SIZE_MAX;
}

/* Report the CSV's devices [from, c->ndevices) whose names were taken. The
 * config's own duplicate check skips nameless devices, so a duplicate
 * reported here loses its name (the config is rejected anyway). */
static void csv_duplicates(cfg_ctx *sub, ev_config *c, size_t from, const char *config_file)
{
    name_set ns = {0};
    for (size_t i = 0; i < c->ndevices; i++) {
        if (!c->devices[i].name)
            continue;
        size_t first = names_add(&ns, c, i);
        if (first == SIZE_MAX || i < from)
            continue;
        if (first < from)
            cfg_error(sub, c->devices[i].line, "device '%s': duplicate device name (first in %s, line %u)",
                c->devices[i].name, config_file, c->devices[first].line);
        else
            cfg_error(sub, c->devices[i].line, "device '%s': duplicate device name (first at line %u)",
                c->devices[i].name, c->devices[first].line);
        free(c->devices[i].name);
        c->devices[i].name = NULL;
    }
    free(ns.slot);
}

/* A file named in the config: relative paths are relative to the config. */
static char *resolve(const char *config_path, const char *file)
{
    char *out = NULL;
    const char *slash = strrchr(config_path, '/');
    if (file[0] == '/' || !slash)
        return strdup(file);
    if (asprintf(&out, "%.*s/%s", (int)(slash - config_path), config_path, file) < 0)
        return NULL;
    return out;
}

static void read_rows(cfg_ctx *sub, ev_config *c, FILE *fp, cfg_device_reader read)
{
    char *line = NULL, *f[MAX_FIELDS];
    size_t cap = 0, rows = 0;
    unsigned lno = 0;
    bool have_header = false;
    csv_header h;

    while (getline(&line, &cap, fp) >= 0) {
        lno++;
        char *s = line;
        if (lno == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
            s += 3; /* a spreadsheet's UTF-8 byte-order mark */
        s[strcspn(s, "\r\n")] = 0;
        if (!s[strspn(s, " \t,;")] || s[0] == '#')
            continue; /* blank lines, empty rows, comments */
        if (!have_header) {
            have_header = true;
            if (!read_header(sub, s, lno, &h))
                break;
            continue;
        }
        int n = split(s, h.delim, f);
        if (n < 0) {
            cfg_error(sub, lno, "unclosed '\"' (a quoted field must end on its own line)");
            continue;
        }
        if (++rows > CFG_INVENTORY_MAX) {
            cfg_error(sub, lno, "more than %d devices in one CSV file", CFG_INVENTORY_MAX);
            break;
        }
        int map = row_node(sub->doc, &h, f, n, lno);
        if (!map) {
            cfg_error(sub, lno, "out of memory");
            break;
        }
        add_device(sub, c, yaml_document_get_node(sub->doc, map), rows - 1, read);
    }
    if (!have_header)
        cfg_error(sub, lno ? lno : 1, "no header line (expected e.g. name,address,profile,row,rack,feed)");
    free(line);
}

static void import_csv(cfg_ctx *cx, ev_config *c, const yaml_node_t *k, const yaml_node_t *v,
                       cfg_device_reader read)
{
    const char *file = cfg_scalar(cx, k, v, "devices: csv", "a file name");
    if (!file) {
        if (cfg_is_null(v))
            cfg_error(cx, cfg_line(k), "devices: csv: needs a file name");
        return;
    }
    char *path = resolve(c->path, file);
    FILE *fp = path ? fopen(path, "r") : NULL;
    if (!fp) {
        cfg_error(cx, cfg_line(v), "devices: csv '%s': cannot open%s%s", path ? path : file, path ? ": " : "",
            path ? strerror(errno) : "");
        free(path);
        return;
    }
    yaml_document_t doc;
    if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1)) {
        cfg_error(cx, cfg_line(v), "out of memory");
        fclose(fp);
        free(path);
        return;
    }
    /* the CSV's own context: its problems name the CSV file and its lines */
    cfg_ctx sub = *cx;
    sub.file = path;
    sub.doc = &doc;
    sub.errs = NULL;
    sub.nerrs = sub.caperrs = 0;
    sub.nerr = 0;
    sub.snmp_line = 0; /* an snmp defaults problem is then shown at the first row using them */
    size_t from = c->ndevices;
    read_rows(&sub, c, fp, read);
    csv_duplicates(&sub, c, from, cx->file);
    cfg_flush_errors(&sub);
    cx->nerr += sub.nerr;
    cx->snmp_checked = sub.snmp_checked;
    yaml_document_delete(&doc);
    fclose(fp);
    free(path);
}

/* ---- the item ------------------------------------------------------------ */

void cfg_inventory_item(cfg_ctx *cx, ev_config *c, const yaml_node_t *item, size_t idx, cfg_device_reader read)
{
    if (item->type == YAML_MAPPING_NODE) {
        const yaml_node_pair_t *csv = NULL;
        size_t npairs = (size_t)(item->data.mapping.pairs.top - item->data.mapping.pairs.start);
        for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
            const yaml_node_t *k = cfg_node(cx, p->key);
            if (k->type == YAML_SCALAR_NODE && !strcmp(cfg_text(k), "csv"))
                csv = p;
        }
        if (csv) {
            const yaml_node_t *k = cfg_node(cx, csv->key), *v = cfg_node(cx, csv->value);
            if (npairs > 1)
                cfg_error(cx, cfg_line(k), "devices: item %zu: a 'csv:' item takes no other keys (give name, "
                    "address, profile, row, rack, feed and role as CSV columns)", idx + 1);
            else
                import_csv(cx, c, k, v, read);
            return;
        }
    }
    add_device(cx, c, item, idx, read);
}
