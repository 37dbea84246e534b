/*
 * cmd_probe.c - `evmon probe`: read one device once with a profile and
 * show how every value was read.
 *
 * Builds a one-device config from the command line, runs the SNMP
 * collector (collectors/snmp.c) on a private event loop, and prints one
 * table row per value the profile considered (metric, instance OID, raw
 * value and its ASN.1 type, scaled value and the point it went to, or why
 * there is none), then each request with its timing. Exit 0 when the
 * device answered, 1 otherwise, 2 on a usage error.
 *
 * With a Modbus profile the Modbus collector (collectors/modbus.c) reads
 * the device instead, over TCP (HOST[:PORT]) or RTU (a /dev path), and the
 * requests shown are the merged request plan: function, first register,
 * count, how many profile values each carries, tries and time.
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/profile.h"
#include "collectors/modbus.h"
#include "collectors/snmp.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: evmon probe --profile NAME [options] HOST[:PORT]\n"
            "\n"
            "Read one device once with a profile and print, for every value, the\n"
            "instance OID, the raw value and type, the scaled value and the point it\n"
            "goes to (or why it has none), then each request with its timing.\n"
            "Exits 0 when the device answered, 1 when it did not.\n"
            "\n"
            "  -P, --profile NAME        profile to read the device with (required,\n"
            "                            unless --profile-file holds just one)\n"
            "      --profiles DIR        profiles directory (default: %s)\n"
            "      --profile-file FILE   load the profile from this file instead\n"
            "  -v, --version 1|2c|3      SNMP version (default 2c)\n"
            "  -c, --community C         v1/v2c community (default public)\n"
            "  -u, --user USER           v3 user\n"
            "  -l, --level LEVEL         v3 noAuthNoPriv|authNoPriv|authPriv (default:\n"
            "                            from the passwords given)\n"
            "  -a, --auth-protocol P     MD5|SHA|SHA-224|SHA-256|SHA-384|SHA-512 (default SHA)\n"
            "  -A, --auth-password PASS\n"
            "  -x, --priv-protocol P     DES|AES|AES-192|AES-256 (default AES)\n"
            "  -X, --priv-password PASS\n"
            "  -t, --timeout MS          per request (default 2000)\n"
            "  -r, --retries N           (default 1)\n"
            "  -R, --max-repetitions N   GETBULK max-repetitions (default 25)\n"
            "      --debug               log the SNMP library's messages\n"
            "Modbus profiles (HOST[:PORT] for TCP, port 502; a /dev/tty* path for RTU;\n"
            "-t and -r apply, default 1000 ms and 1):\n"
            "      --unit N              unit id (default 1)\n"
            "      --baud N              RTU baud rate (default 9600)\n"
            "      --parity none|even|odd  RTU parity (default even)\n"
            "      --stop-bits 1|2       RTU stop bits (default 1)\n"
            "      --max-gap N           registers a merged request may skip (default 10)\n"
            "  -h, --help                this text\n",
            ev_default_profiles_dir());
}

/* ---- what the collector tells us ---- */

typedef struct {
    char metric[64], oid[200], raw[200], value[48], point[240];
    bool valid;
} trace_row;

typedef struct {
    char oid[200];
    char type[32];
} vb_type;

typedef struct {
    ev_snmp_request_info r;
    char kind[16], outcome[96];
    char what[64]; /* Modbus: "2999 x79, 20 values" */
} req_row;

typedef struct {
    trace_row *rows;
    size_t nrows, caprows;
    vb_type *types;
    size_t ntypes, captypes;
    req_row *reqs;
    size_t nreqs, capreqs;
    ev_poll_result res;
    char error[400];
    size_t points, fields;
    bool done;
} probe_state;

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? *cap * 2 : 32;
    void *q = realloc(p, c * size);
    if (!q) {
        fprintf(stderr, "evmon probe: out of memory\n");
        exit(1);
    }
    *cap = c;
    return q;
}

static const char *skip_dot(const char *s)
{
    return *s == '.' ? s + 1 : s;
}

static void on_varbind(void *ud, const ev_device_cfg *dev, const ev_oid *oid, const char *type)
{
    probe_state *s = ud;
    (void)dev;
    s->types = grow(s->types, &s->captypes, s->ntypes, sizeof *s->types);
    vb_type *t = &s->types[s->ntypes++];
    ev_oid_format(oid, t->oid, sizeof t->oid);
    snprintf(t->type, sizeof t->type, "%s", type);
}

static const char *type_of(const probe_state *s, const char *oid)
{
    for (size_t i = s->ntypes; i-- > 0;)
        if (!strcmp(skip_dot(s->types[i].oid), skip_dot(oid)))
            return s->types[i].type;
    return NULL;
}

static void format_raw(const probe_state *s, const ev_trace *t, char *buf, size_t len)
{
    const char *type = type_of(s, t->oid);
    const ev_value *v = t->raw;
    char num[64];
    switch (v ? v->type : EV_V_NONE) {
    case EV_V_INT: snprintf(num, sizeof num, "%lld", (long long)v->i); break;
    case EV_V_UINT:
    case EV_V_U64: snprintf(num, sizeof num, "%llu", (unsigned long long)v->u); break;
    case EV_V_STR: snprintf(num, sizeof num, "\"%.40s\"", v->s ? v->s : ""); break;
    case EV_V_FLOAT: snprintf(num, sizeof num, "%.9g", v->d); break;
    default: num[0] = 0; break;
    }
    if (v && v->nbits && v->type != EV_V_NONE) { /* Modbus: the register image */
        snprintf(buf, len, "%s (0x%0*llx)", num, (int)(v->nbits + 3) / 4, (unsigned long long)v->bits);
        return;
    }
    if (!num[0])
        snprintf(buf, len, "%s", type ? type : "(none)");
    else
        snprintf(buf, len, "%s (%s)", num, type ? type : "?");
}

static void on_trace(void *ud, const ev_trace *t)
{
    probe_state *s = ud;
    s->rows = grow(s->rows, &s->caprows, s->nrows, sizeof *s->rows);
    trace_row *r = &s->rows[s->nrows++];
    memset(r, 0, sizeof *r);
    snprintf(r->metric, sizeof r->metric, "%s", t->metric ? t->metric : "?");
    snprintf(r->oid, sizeof r->oid, "%s", t->oid ? t->oid : "?");
    format_raw(s, t, r->raw, sizeof r->raw);
    r->valid = t->valid;
    if (!t->valid) {
        const char *type = type_of(s, t->oid);
        snprintf(r->value, sizeof r->value, "-");
        /* For a missing value the ASN.1 exception says more than "absent". */
        if (t->raw && t->raw->type == EV_V_NONE && type)
            snprintf(r->point, sizeof r->point, "no value: %s%s%s", type, t->why ? "; " : "",
                     t->why ? t->why : "");
        else
            snprintf(r->point, sizeof r->point, "no value: %s", t->why ? t->why : "unknown");
        return;
    }
    snprintf(r->value, sizeof r->value, "%.10g", t->scaled);
    size_t n = (size_t)snprintf(r->point, sizeof r->point, "%s %s", t->measurement ? t->measurement : "?",
                                t->field ? t->field : "?");
    for (size_t i = 0; i < t->ntags && n < sizeof r->point; i++)
        n += (size_t)snprintf(r->point + n, sizeof r->point - n, "%s%s=%s", i ? "," : " ",
                              t->tags[i].key, t->tags[i].val);
}

static void on_request(void *ud, const ev_device_cfg *dev, const ev_snmp_request_info *r)
{
    probe_state *s = ud;
    (void)dev;
    s->reqs = grow(s->reqs, &s->capreqs, s->nreqs, sizeof *s->reqs);
    req_row *q = &s->reqs[s->nreqs++];
    q->r = *r;
    snprintf(q->kind, sizeof q->kind, "%s", r->kind ? r->kind : "?");
    snprintf(q->outcome, sizeof q->outcome, "%s", r->outcome ? r->outcome : "?");
}

static void on_mb_request(void *ud, const ev_device_cfg *dev, const ev_modbus_request_info *r)
{
    probe_state *s = ud;
    s->reqs = grow(s->reqs, &s->capreqs, s->nreqs, sizeof *s->reqs);
    req_row *q = &s->reqs[s->nreqs++];
    memset(q, 0, sizeof *q);
    q->r.tries = r->tries;
    q->r.rtt_us = r->rtt_us;
    snprintf(q->kind, sizeof q->kind, "FC%u", r->fc);
    snprintf(q->what, sizeof q->what, "%u x%u, %u value%s", r->addr, r->count, r->nreads, r->nreads == 1 ? "" : "s");
    snprintf(q->outcome, sizeof q->outcome, "%s", r->outcome ? r->outcome : "?");
}

static void on_result(void *ud, const ev_poll_result *r)
{
    probe_state *s = ud;
    s->res = *r;
    s->res.points = NULL;
    snprintf(s->error, sizeof s->error, "%s", r->error ? r->error : "");
    s->points = r->points ? r->points->n : 0;
    for (size_t i = 0; i < s->points; i++)
        s->fields += r->points->pts[i].nfields;
    s->done = true;
}

/* ---- output ---- */

static int width(const probe_state *s, size_t off, int min)
{
    int w = min;
    for (size_t i = 0; i < s->nrows; i++) {
        int n = (int)strlen((const char *)&s->rows[i] + off);
        if (n > w)
            w = n;
    }
    return w;
}

static const char *status_name(ev_poll_status st)
{
    switch (st) {
    case EV_POLL_OK: return "ok";
    case EV_POLL_PARTIAL: return "partial";
    case EV_POLL_TIMEOUT: return "timeout";
    default: return "error";
    }
}

static void print_report(const probe_state *s, const ev_device_cfg *dev)
{
    static const char *const vname[] = {"?", "v1", "v2c", "v3"};
    char proto[64];
    if (ev_profile_protocol(dev->profile) == EV_PROTO_MODBUS)
        snprintf(proto, sizeof proto, "Modbus %s unit %u", dev->modbus.transport == EV_MB_RTU ? "RTU" : "TCP",
                 dev->modbus.unit_id);
    else
        snprintf(proto, sizeof proto, "SNMP %s", vname[dev->snmp.version <= 3 ? dev->snmp.version : 0]);
    printf("device %s, profile %s, %s: %s in %.1f ms\n\n", dev->address, ev_profile_name(dev->profile), proto,
           status_name(s->res.status), (double)s->res.duration_us / 1000.0);
    if (s->nrows) {
        int wm = width(s, offsetof(trace_row, metric), 6);
        int wo = width(s, offsetof(trace_row, oid), 12);
        int wr = width(s, offsetof(trace_row, raw), 10);
        int wv = width(s, offsetof(trace_row, value), 5);
        printf("%-*s  %-*s  %-*s  %*s  %s\n", wm, "METRIC", wo,
               ev_profile_protocol(dev->profile) == EV_PROTO_MODBUS ? "REGISTER" : "INSTANCE OID", wr, "RAW (TYPE)", wv,
               "VALUE", "POINT");
        for (size_t i = 0; i < s->nrows; i++) {
            const trace_row *r = &s->rows[i];
            printf("%-*s  %-*s  %-*s  %*s  %s\n", wm, r->metric, wo, r->oid, wr, r->raw, wv,
                   r->value, r->point);
        }
        printf("\n");
    }
    if (ev_profile_protocol(dev->profile) == EV_PROTO_MODBUS) {
        printf("REQUEST PLAN\n%3s  %-4s  %-24s  %5s  %9s  %s\n", "#", "FC", "REGISTERS", "TRIES", "MS", "OUTCOME");
        for (size_t i = 0; i < s->nreqs; i++) {
            const req_row *q = &s->reqs[i];
            printf("%3zu  %-4s  %-24s  %5u  %9.2f  %s\n", i + 1, q->kind, q->what, q->r.tries,
                   (double)q->r.rtt_us / 1000.0, q->outcome);
        }
    } else {
    printf("REQUESTS\n%3s  %-9s  %-13s  %4s  %5s  %9s  %s\n", "#", "TYPE", "VARBINDS", "REPS",
           "TRIES", "MS", "OUTCOME");
    for (size_t i = 0; i < s->nreqs; i++) {
        const req_row *q = &s->reqs[i];
        char vbs[32], reps[12];
        snprintf(vbs, sizeof vbs, "%u -> %u", q->r.varbinds_out, q->r.varbinds_in);
        if (q->r.max_repetitions && !strcmp(q->kind, "GETBULK"))
            snprintf(reps, sizeof reps, "%u", q->r.max_repetitions);
        else
            snprintf(reps, sizeof reps, "-");
        printf("%3zu  %-9s  %-13s  %4s  %5u  %9.2f  %s\n", i + 1, q->kind, vbs, reps, q->r.tries,
               (double)q->r.rtt_us / 1000.0, q->outcome);
    }
    }
    size_t valid = 0;
    for (size_t i = 0; i < s->nrows; i++)
        valid += s->rows[i].valid;
    printf("\n%zu values considered, %zu read, %zu fields in %zu points, %u requests\n", s->nrows,
           valid, s->fields, s->points, s->res.requests);
}

/* ---- command line ---- */

typedef struct {
    const char *profile, *profiles_dir, *profile_file, *address;
    ev_snmp_cfg snmp;
    ev_modbus_cfg modbus;
    bool timeout_set, retries_set;
    const char *level;
    bool debug;
} probe_args;

static int parse_uint(const char *s, const char *what, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "evmon probe: bad %s '%s' (expected %u..%u)\n", what, s, lo, hi);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int parse_level(probe_args *a)
{
    ev_snmp_cfg *c = &a->snmp;
    if (!a->level) {
        c->level = c->priv_password ? EV_SEC_AUTHPRIV
                   : c->auth_password ? EV_SEC_AUTHNOPRIV
                                      : EV_SEC_NOAUTH;
        return 0;
    }
    if (!strcasecmp(a->level, "noAuthNoPriv"))
        c->level = EV_SEC_NOAUTH;
    else if (!strcasecmp(a->level, "authNoPriv"))
        c->level = EV_SEC_AUTHNOPRIV;
    else if (!strcasecmp(a->level, "authPriv"))
        c->level = EV_SEC_AUTHPRIV;
    else {
        fprintf(stderr, "evmon probe: bad level '%s' (noAuthNoPriv, authNoPriv or authPriv)\n",
                a->level);
        return -1;
    }
    if (c->level >= EV_SEC_AUTHNOPRIV && !c->auth_password) {
        fprintf(stderr, "evmon probe: level %s needs -A PASSWORD\n", a->level);
        return -1;
    }
    if (c->level == EV_SEC_AUTHPRIV && !c->priv_password) {
        fprintf(stderr, "evmon probe: level %s needs -X PASSWORD\n", a->level);
        return -1;
    }
    return 0;
}

/* 0 ok, 1 help printed, -1 usage error */
static int parse_args(int argc, char **argv, probe_args *a)
{
    enum { OPT_PROFILES = 256, OPT_PROFILE_FILE, OPT_DEBUG, OPT_UNIT, OPT_BAUD, OPT_PARITY, OPT_STOP, OPT_GAP };
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'P'},
        {"profiles", required_argument, NULL, OPT_PROFILES},
        {"profile-file", required_argument, NULL, OPT_PROFILE_FILE},
        {"version", required_argument, NULL, 'v'},
        {"community", required_argument, NULL, 'c'},
        {"user", required_argument, NULL, 'u'},
        {"level", required_argument, NULL, 'l'},
        {"auth-protocol", required_argument, NULL, 'a'},
        {"auth-password", required_argument, NULL, 'A'},
        {"priv-protocol", required_argument, NULL, 'x'},
        {"priv-password", required_argument, NULL, 'X'},
        {"timeout", required_argument, NULL, 't'},
        {"retries", required_argument, NULL, 'r'},
        {"max-repetitions", required_argument, NULL, 'R'},
        {"debug", no_argument, NULL, OPT_DEBUG},
        {"unit", required_argument, NULL, OPT_UNIT},
        {"baud", required_argument, NULL, OPT_BAUD},
        {"parity", required_argument, NULL, OPT_PARITY},
        {"stop-bits", required_argument, NULL, OPT_STOP},
        {"max-gap", required_argument, NULL, OPT_GAP},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    ev_snmp_cfg *c = &a->snmp;
    *c = (ev_snmp_cfg){.version = EV_SNMP_V2C, .community = "public", .timeout_ms = 2000,
                       .retries = 1, .max_repetitions = 25};
    a->modbus = (ev_modbus_cfg){.transport = EV_MB_TCP, .unit_id = 1, .baud = 9600, .parity = 'E', .data_bits = 8,
                                .stop_bits = 1, .timeout_ms = 1000, .retries = 1, .max_gap = 10,
                                .max_registers = 125};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "P:v:c:u:l:a:A:x:X:t:r:R:h", opts, NULL)) != -1) {
        switch (o) {
        case 'P': a->profile = optarg; break;
        case OPT_PROFILES: a->profiles_dir = optarg; break;
        case OPT_PROFILE_FILE: a->profile_file = optarg; break;
        case OPT_DEBUG: a->debug = true; break;
        case OPT_UNIT:
            if (parse_uint(optarg, "unit", 0, 255, &a->modbus.unit_id) < 0)
                return -1;
            break;
        case OPT_BAUD:
            if (parse_uint(optarg, "baud", 1200, 230400, &a->modbus.baud) < 0)
                return -1;
            break;
        case OPT_STOP:
            if (parse_uint(optarg, "stop-bits", 1, 2, &a->modbus.stop_bits) < 0)
                return -1;
            break;
        case OPT_GAP:
            if (parse_uint(optarg, "max-gap", 0, 124, &a->modbus.max_gap) < 0)
                return -1;
            break;
        case OPT_PARITY:
            a->modbus.parity = (char)(optarg[0] == 'n' || optarg[0] == 'N' ? 'N'
                                      : optarg[0] == 'o' || optarg[0] == 'O' ? 'O'
                                      : optarg[0] == 'e' || optarg[0] == 'E' ? 'E' : 0);
            if (!a->modbus.parity) {
                fprintf(stderr, "evmon probe: bad parity '%s' (none, even or odd)\n", optarg);
                return -1;
            }
            break;
        case 'v':
            if (!strcmp(optarg, "1"))
                c->version = EV_SNMP_V1;
            else if (!strcmp(optarg, "2c") || !strcmp(optarg, "2"))
                c->version = EV_SNMP_V2C;
            else if (!strcmp(optarg, "3"))
                c->version = EV_SNMP_V3;
            else {
                fprintf(stderr, "evmon probe: bad SNMP version '%s' (1, 2c or 3)\n", optarg);
                return -1;
            }
            break;
        case 'c': c->community = optarg; break;
        case 'u': c->user = optarg; break;
        case 'l': a->level = optarg; break;
        case 'a': c->auth_protocol = optarg; break;
        case 'A': c->auth_password = optarg; break;
        case 'x': c->priv_protocol = optarg; break;
        case 'X': c->priv_password = optarg; break;
        case 't':
            if (parse_uint(optarg, "timeout", 1, 600000, &c->timeout_ms) < 0)
                return -1;
            a->timeout_set = true;
            break;
        case 'r':
            if (parse_uint(optarg, "retries", 0, 20, &c->retries) < 0)
                return -1;
            a->retries_set = true;
            break;
        case 'R':
            if (parse_uint(optarg, "max-repetitions", 1, 1000, &c->max_repetitions) < 0)
                return -1;
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "evmon probe: give exactly one HOST[:PORT]\n");
        usage(stderr);
        return -1;
    }
    a->address = argv[optind];
    if (a->timeout_set)
        a->modbus.timeout_ms = c->timeout_ms;
    if (a->retries_set)
        a->modbus.retries = c->retries;
    if (a->address[0] == '/') { /* a serial line: Modbus RTU */
        a->modbus.transport = EV_MB_RTU;
        a->modbus.serial = (char *)a->address;
    }
    if (c->version == EV_SNMP_V3) {
        if (!c->user) {
            fprintf(stderr, "evmon probe: SNMPv3 needs -u USER\n");
            return -1;
        }
        if (parse_level(a) < 0)
            return -1;
    }
    if (!a->profile && !a->profile_file) {
        fprintf(stderr, "evmon probe: --profile NAME is required\n");
        return -1;
    }
    return 0;
}

static ev_profile_set *load_profiles(const probe_args *a, const ev_profile **out)
{
    ev_diag diag = {0};
    ev_profile_set *set;
    if (a->profile_file) {
        set = ev_profiles_new();
        if (set)
            ev_profiles_load_file(set, a->profile_file, &diag);
    } else {
        const char *dir = a->profiles_dir ? a->profiles_dir : ev_default_profiles_dir();
        set = ev_profiles_load_dir(dir, &diag);
        if (!set)
            fprintf(stderr, "evmon probe: cannot read profiles directory %s\n", dir);
    }
    if (!set) {
        ev_diag_print(&diag, stderr);
        ev_diag_free(&diag);
        return NULL;
    }
    *out = a->profile ? ev_profiles_find(set, a->profile)
                      : ev_profiles_count(set) == 1 ? ev_profiles_at(set, 0) : NULL;
    if (!*out) {
        ev_diag_print(&diag, stderr); /* the profile may have been left out for errors */
        if (a->profile)
            fprintf(stderr, "evmon probe: no profile named '%s'; known:", a->profile);
        else
            fprintf(stderr, "evmon probe: %s holds %zu profiles; pick one with --profile:",
                    a->profile_file, ev_profiles_count(set));
        for (size_t i = 0; i < ev_profiles_count(set); i++)
            fprintf(stderr, " %s", ev_profile_name(ev_profiles_at(set, i)));
        fprintf(stderr, "\n");
        ev_profiles_free(set);
        set = NULL;
    }
    ev_diag_free(&diag);
    return set;
}

int cmd_probe(int argc, char **argv)
{
    probe_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc > 0 ? 0 : 2;
    ev_log_set_level(a.debug ? EV_LOG_DEBUG : EV_LOG_ERR);

    const ev_profile *profile = NULL;
    ev_profile_set *set = load_profiles(&a, &profile);
    if (!set)
        return 2;

    ev_device_cfg dev = {
        .name = (char *)a.address,
        .profile_name = (char *)ev_profile_name(profile),
        .profile = profile,
        .address = (char *)a.address,
        .role = EV_ROLE_OTHER,
        .snmp = a.snmp,
        .modbus = a.modbus,
    };
    bool modbus = ev_profile_protocol(profile) == EV_PROTO_MODBUS;
    ev_config cfg = {.path = "(command line)"};
    const ev_device_cfg *devs[] = {&dev};
    probe_state s = {0};
    ev_loop *loop = ev_loop_new();
    ev_collector *c = !loop ? NULL
                      : modbus ? ev_modbus_collector_new(loop, &cfg, devs, 1, on_result, &s)
                               : ev_snmp_collector_new(loop, &cfg, devs, 1, on_result, &s);
    if (!c) {
        fprintf(stderr, "evmon probe: cannot set up the %s collector\n", modbus ? "Modbus" : "SNMP");
        ev_loop_free(loop);
        ev_profiles_free(set);
        return 1;
    }
    if (modbus)
        ev_modbus_collector_observe(c, &(ev_modbus_observer){.request = on_mb_request, .trace = on_trace, .ud = &s});
    else
        ev_snmp_collector_observe(c, &(ev_snmp_observer){.request = on_request, .varbind = on_varbind,
                                                         .trace = on_trace, .ud = &s});
    ev_collector_poll(c, ev_wall_ns());
    while (!s.done)
        ev_loop_once(loop, 1000);

    print_report(&s, &dev);
    if (modbus) {
        ev_modbus_stats st;
        ev_modbus_collector_stats(c, dev.name, &st);
        printf("modbus counters: %llu requests, %llu exceptions, %llu bad replies, %llu timeouts, "
               "%llu connection errors\n", (unsigned long long)st.requests, (unsigned long long)st.exceptions,
               (unsigned long long)st.bad_replies, (unsigned long long)st.timeouts_req,
               (unsigned long long)st.link_errors);
    }
    bool answered = s.res.status == EV_POLL_OK || s.res.status == EV_POLL_PARTIAL;
    if (s.res.status == EV_POLL_PARTIAL)
        fprintf(stderr, "evmon probe: %s: partly read: %s\n", a.address, s.error);
    else if (!answered)
        fprintf(stderr, "evmon probe: %s: %s\n", a.address, s.error);

    ev_collector_free(c);
    ev_loop_free(loop);
    ev_profiles_free(set);
    free(s.rows);
    free(s.types);
    free(s.reqs);
    return answered ? 0 : 1;
}
