/*
 * snmpfleet.c - a fleet of simulated SNMP v1/v2c PDUs in one process, for
 * `make bench`, the demo-sized integration test and anyone who needs
 * thousands of devices on one machine (snmpsim answers ~1,000 requests/s;
 * this answers far more than a poller asks).
 *
 *   snmpfleet --walk FILE [--profile FILE] [--count N] [--base 127.2.0.1]
 *             [--port 1161] [--community public] [--silent PCT] [--slow PCT]
 *             [--slow-ms MS] [--error PCT] [--faults-off] [--counter-rate R]
 *             [--wrap-after S] [--max-msg BYTES] [--drift OID] [--counter OID]
 *             [--stats-every S]
 *
 * Device i listens on its own loopback address: the addresses run from
 * --base with the last octet 1..250, then the next third octet (so 10,000
 * devices at 127.2.0.1 are 127.2.[0-39].[1-250], the range evmon's config
 * can name in one line). One UDP socket per device, one epoll loop, one
 * thread; RLIMIT_NOFILE is raised to fit.
 *
 * Every device serves the walk (snmp_mib.h), its values moving with time
 * and device number. Faults: a share of the devices (spread evenly by a
 * hash of the device number) is silent (never answers), slow (answers
 * after --slow-ms) or answers every request with genErr. Faults start on
 * unless --faults-off; SIGUSR1 turns them on, SIGUSR2 off, at run time.
 * SIGTERM/SIGINT stop it; the counters are printed on stderr at the end
 * (and every --stats-every seconds), and one "ready" line once every
 * socket is bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/diag.h"
#include "agent/profile.h"
#include "agent/profile_priv.h"
#include "tests/sim/snmp_ber.h"
#include "tests/sim/snmp_mib.h"

typedef enum { F_NONE, F_SILENT, F_SLOW, F_ERROR } fault;

/* A slow device's answer, waiting for its time. */
typedef struct pending {
    struct pending *next;
    uint64_t due_us;
    int fd;
    struct sockaddr_in peer;
    size_t len;
    uint8_t data[];
} pending;

typedef struct {
    /* options */
    const char *walk, *profile, *community;
    unsigned count, port, slow_ms, max_msg, stats_every;
    double silent_pct, slow_pct, error_pct;
    struct in_addr base;
    bool faults_on;

    sim_mib mib;
    int *fds;
    fault *faults;
    int ep, sigfd, slowfd, statfd;
    uint64_t t0_us;
    pending *slow_head, *slow_tail;
    uint8_t *rx, *tx;
    sim_request req;

    struct {
        uint64_t rx, answered, bad, community, silent, errors, slow, gets, nexts, bulks, vbs;
    } st;
} fleet;

#define ID_SIGNAL UINT32_MAX
#define ID_SLOW (UINT32_MAX - 1)
#define ID_STATS (UINT32_MAX - 2)

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- set-up ----------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to, "usage: snmpfleet --walk FILE [--profile FILE] [--count N] [--base 127.2.0.1] [--port 1161]\n"
                "                 [--community public] [--silent PCT] [--slow PCT] [--slow-ms MS] [--error PCT]\n"
                "                 [--faults-off] [--counter-rate R] [--wrap-after S] [--max-msg BYTES]\n"
                "                 [--drift OID] [--counter OID] [--stats-every S]\n");
}

/* Address of device i: last octet 1..250 from base, then the next third octet. */
static struct in_addr dev_addr(const fleet *f, unsigned i)
{
    uint32_t b = ntohl(f->base.s_addr);
    uint32_t j = (b & 0xff) - 1 + i;
    uint32_t hi = (b >> 8) + j / 250;
    return (struct in_addr){htonl(hi << 8 | (1 + j % 250))};
}

/* Faults spread evenly: a hash of the device number picks its slot. */
static fault fault_of(const fleet *f, unsigned i)
{
    double u = (double)((i * 2654435761u) % 10000u) / 100.0;
    if (u < f->silent_pct)
        return F_SILENT;
    if (u < f->silent_pct + f->slow_pct)
        return F_SLOW;
    if (u < f->silent_pct + f->slow_pct + f->error_pct)
        return F_ERROR;
    return F_NONE;
}

static int mark(fleet *f, const char *oid, sim_motion m)
{
    sim_oid o;
    if (sim_oid_parse(oid, &o) < 0) {
        fprintf(stderr, "snmpfleet: bad OID '%s'\n", oid);
        return -1;
    }
    sim_mib_mark(&f->mib, &o, m);
    return 0;
}

/* A profile says which columns move: energy counts, power and current drift. */
static int mark_from_profile(fleet *f)
{
    ev_diag diag = {0};
    ev_profile_set *set = ev_profiles_new();
    int rc = -1;
    if (!set || ev_profiles_load_file(set, f->profile, &diag) < 0 || ev_profiles_count(set) != 1) {
        fprintf(stderr, "snmpfleet: cannot load profile %s\n", f->profile);
        ev_diag_print(&diag, stderr);
        goto out;
    }
    const ev_profile *p = ev_profiles_at(set, 0);
    for (size_t i = 0; i < p->nmetrics; i++) {
        const ev_metric *m = &p->metrics[i];
        const ev_oid *col = &p->fetch[m->col].oid;
        sim_oid o = {.len = (uint8_t)col->len};
        memcpy(o.sub, col->sub, col->len * sizeof o.sub[0]);
        if (!strcmp(m->field, "energy_wh"))
            sim_mib_mark(&f->mib, &o, SIM_COUNTER);
        else if (!strcmp(m->field, "active_power_w") || !strcmp(m->field, "apparent_power_va") ||
                 !strcmp(m->field, "current_a"))
            sim_mib_mark(&f->mib, &o, SIM_DRIFT);
    }
    rc = 0;
out:
    ev_diag_free(&diag);
    ev_profiles_free(set);
    return rc;
}

static double pct(const char *s)
{
    char *e;
    double v = strtod(s, &e);
    if (*e || v < 0 || v > 100) {
        fprintf(stderr, "snmpfleet: bad percentage '%s'\n", s);
        exit(2);
    }
    return v;
}

static unsigned uint_opt(const char *s, unsigned max)
{
    char *e;
    unsigned long v = strtoul(s, &e, 10);
    if (*e || !*s || v > max) {
        fprintf(stderr, "snmpfleet: bad number '%s' (0..%u)\n", s, max);
        exit(2);
    }
    return (unsigned)v;
}

static int parse_args(fleet *f, int argc, char **argv)
{
    enum { O_SLOWMS = 256, O_FOFF, O_RATE, O_WRAP, O_MAXMSG, O_DRIFT, O_COUNTER, O_STATS };
    static const struct option opts[] = {
        {"walk", 1, 0, 'w'},          {"profile", 1, 0, 'P'},      {"count", 1, 0, 'n'},
        {"base", 1, 0, 'b'},          {"port", 1, 0, 'p'},         {"community", 1, 0, 'c'},
        {"silent", 1, 0, 's'},        {"slow", 1, 0, 'S'},         {"slow-ms", 1, 0, O_SLOWMS},
        {"error", 1, 0, 'e'},         {"faults-off", 0, 0, O_FOFF}, {"counter-rate", 1, 0, O_RATE},
        {"wrap-after", 1, 0, O_WRAP}, {"max-msg", 1, 0, O_MAXMSG}, {"drift", 1, 0, O_DRIFT},
        {"counter", 1, 0, O_COUNTER}, {"stats-every", 1, 0, O_STATS}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    const char *drift[32], *counter[32];
    size_t nd = 0, nc = 0;
    int o;

    *f = (fleet){.community = "public", .count = 1, .port = 1161, .slow_ms = 3000, .max_msg = 1472,
                 .faults_on = true, .ep = -1, .sigfd = -1, .slowfd = -1, .statfd = -1};
    inet_pton(AF_INET, "127.2.0.1", &f->base);
    f->mib.counter_rate = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'w': f->walk = optarg; break;
        case 'P': f->profile = optarg; break;
        case 'n': f->count = uint_opt(optarg, 100000); break;
        case 'p': f->port = uint_opt(optarg, 65535); break;
        case 'c': f->community = optarg; break;
        case 's': f->silent_pct = pct(optarg); break;
        case 'S': f->slow_pct = pct(optarg); break;
        case 'e': f->error_pct = pct(optarg); break;
        case O_SLOWMS: f->slow_ms = uint_opt(optarg, 600000); break;
        case O_FOFF: f->faults_on = false; break;
        case O_RATE: f->mib.counter_rate = strtod(optarg, NULL); break;
        case O_WRAP: f->mib.wrap_after_s = strtod(optarg, NULL); break;
        case O_MAXMSG: f->max_msg = uint_opt(optarg, 65507); break;
        case O_STATS: f->stats_every = uint_opt(optarg, 86400); break;
        case O_DRIFT: if (nd < 32) drift[nd++] = optarg; break;
        case O_COUNTER: if (nc < 32) counter[nc++] = optarg; break;
        case 'b':
            if (inet_pton(AF_INET, optarg, &f->base) != 1) {
                fprintf(stderr, "snmpfleet: bad --base '%s'\n", optarg);
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    uint32_t b = ntohl(f->base.s_addr);
    if (!f->walk || optind != argc || f->count == 0 || (b >> 24) != 127 || (b & 0xff) < 1 || (b & 0xff) > 250 ||
        f->max_msg < 484) {
        if (f->walk && ((b >> 24) != 127 || (b & 0xff) < 1 || (b & 0xff) > 250))
            fprintf(stderr, "snmpfleet: --base must be a loopback address 127.x.y.z with z in 1..250\n");
        usage(stderr);
        return -1;
    }
    if ((ntohl(dev_addr(f, f->count - 1).s_addr) >> 24) != 127) {
        fprintf(stderr, "snmpfleet: %u devices from --base leave 127.0.0.0/8\n", f->count);
        return -1;
    }
    char err[512];
    if (sim_mib_load(&f->mib, f->walk, err, sizeof err) < 0) {
        fprintf(stderr, "snmpfleet: %s\n", err);
        return -1;
    }
    if (f->profile && mark_from_profile(f) < 0)
        return -1;
    for (size_t i = 0; i < nd; i++)
        if (mark(f, drift[i], SIM_DRIFT) < 0)
            return -1;
    for (size_t i = 0; i < nc; i++)
        if (mark(f, counter[i], SIM_COUNTER) < 0)
            return -1;
    return 0;
}

static int raise_nofile(unsigned need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr, "snmpfleet: %u devices need %u file descriptors; the hard limit is %llu\n", need - 32,
                need, (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = need;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

static int watch(fleet *f, int fd, uint32_t id)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = id};
    return epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int arm_every(int fd, unsigned secs)
{
    struct itimerspec its = {.it_value = {secs, 0}, .it_interval = {secs, 0}};
    return timerfd_settime(fd, 0, &its, NULL);
}

static int open_all(fleet *f)
{
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    sigaddset(&ss, SIGUSR1);
    sigaddset(&ss, SIGUSR2);
    sigprocmask(SIG_BLOCK, &ss, NULL);

    if (raise_nofile(f->count + 32) < 0)
        return -1;
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    f->sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
    f->slowfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    f->statfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    f->fds = calloc(f->count, sizeof *f->fds);
    f->faults = calloc(f->count, sizeof *f->faults);
    f->rx = malloc(65536);
    f->tx = malloc(SIM_RESP_HEADROOM + f->max_msg);
    if (f->ep < 0 || f->sigfd < 0 || f->slowfd < 0 || f->statfd < 0 || !f->fds || !f->faults || !f->rx || !f->tx ||
        watch(f, f->sigfd, ID_SIGNAL) < 0 || watch(f, f->slowfd, ID_SLOW) < 0 || watch(f, f->statfd, ID_STATS) < 0) {
        perror("snmpfleet: set-up");
        return -1;
    }
    if (f->stats_every)
        arm_every(f->statfd, f->stats_every);
    for (unsigned i = 0; i < f->count; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port),
                                 .sin_addr = dev_addr(f, i)};
        char a[INET_ADDRSTRLEN];
        f->faults[i] = fault_of(f, i);
        f->fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (f->fds[i] < 0 || bind(f->fds[i], (struct sockaddr *)&sa, sizeof sa) < 0 || watch(f, f->fds[i], i) < 0) {
            fprintf(stderr, "snmpfleet: device %u at %s:%u: %s\n", i, inet_ntop(AF_INET, &sa.sin_addr, a, sizeof a),
                    f->port, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* ---- answering -------------------------------------------------------- */

/* GETNEXT of one name into the response; v1 ends with noSuchName. */
static int add_next(fleet *f, sim_resp *r, unsigned dev, double t, const sim_oid *name, size_t *pos, bool *end)
{
    size_t k = sim_mib_find(&f->mib, name, 1);
    sim_value v;
    *pos = k;
    *end = k >= f->mib.n;
    if (*end) {
        v = (sim_value){.tag = SIM_T_ENDOFMIBVIEW};
        return sim_resp_add(r, name, &v);
    }
    sim_mib_value(&f->mib, k, dev, t, &v);
    return sim_resp_add(r, &f->mib.e[k].name, &v);
}

/* Build the answer to f->req for device dev. Returns its length (0: none). */
static size_t answer(fleet *f, unsigned dev, const uint8_t **out)
{
    sim_request *q = &f->req;
    sim_resp r;
    double t = (double)(now_us() - f->t0_us) / 1e6;
    long errstat = 0, errindex = 0;
    bool v1 = q->version == 0;

    sim_resp_begin(&r, f->tx, f->max_msg, q);
    if (f->faults_on && f->faults[dev] == F_ERROR) {
        errstat = SIM_ERR_GENERR;
        errindex = 1;
        f->st.errors++;
        goto echo;
    }
    if (q->pdu == SIM_PDU_GET) {
        f->st.gets++;
        for (size_t i = 0; i < q->nvb; i++) {
            size_t k = sim_mib_find(&f->mib, &q->vb[i], 0);
            sim_value v = {.tag = SIM_T_NOSUCHINSTANCE};
            if (k < f->mib.n)
                sim_mib_value(&f->mib, k, dev, t, &v);
            else if (v1) {
                errstat = SIM_ERR_NOSUCHNAME, errindex = (long)i + 1;
                goto echo;
            }
            if (sim_resp_add(&r, &q->vb[i], &v) < 0) {
                errstat = SIM_ERR_TOOBIG;
                goto echo;
            }
        }
    } else if (q->pdu == SIM_PDU_GETNEXT || (q->pdu == SIM_PDU_GETBULK && v1)) {
        f->st.nexts++;
        for (size_t i = 0; i < q->nvb; i++) {
            size_t pos;
            bool end;
            if (add_next(f, &r, dev, t, &q->vb[i], &pos, &end) < 0) {
                errstat = SIM_ERR_TOOBIG;
                goto echo;
            }
            if (end && v1) {
                errstat = SIM_ERR_NOSUCHNAME, errindex = (long)i + 1;
                goto echo;
            }
        }
    } else if (q->pdu == SIM_PDU_GETBULK) {
        f->st.bulks++;
        size_t nr = q->non_repeaters < 0 ? 0 : (size_t)q->non_repeaters;
        size_t reps = q->max_repetitions < 0 ? 0 : (size_t)q->max_repetitions;
        size_t at[SIM_MAX_VBS];
        if (nr > q->nvb)
            nr = q->nvb;
        for (size_t i = 0; i < nr; i++) {
            bool end;
            if (add_next(f, &r, dev, t, &q->vb[i], &at[i], &end) < 0) {
                errstat = SIM_ERR_TOOBIG;
                goto echo;
            }
        }
        for (size_t i = nr; i < q->nvb; i++) /* each repeater walks from its own name */
            at[i] = sim_mib_find(&f->mib, &q->vb[i], 1);
        for (size_t rep = 0; rep < reps && q->nvb > nr; rep++) {
            bool all_end = true;
            for (size_t i = nr; i < q->nvb; i++) {
                sim_value v = {.tag = SIM_T_ENDOFMIBVIEW};
                const sim_oid *name = &q->vb[i];
                if (at[i] < f->mib.n) {
                    sim_mib_value(&f->mib, at[i], dev, t, &v);
                    name = &f->mib.e[at[i]].name;
                    all_end = false;
                }
                if (sim_resp_add(&r, name, &v) < 0) /* full: send what fits */
                    goto done;
                if (at[i] < f->mib.n)
                    at[i]++;
            }
            if (all_end)
                break;
        }
    } else {
        return 0; /* SET, traps, responses: not ours to answer */
    }
done:
    f->st.vbs += r.nvb;
    return sim_resp_finish(&r, q, 0, 0, out);
echo:
    /* An error answer carries the request's names with NULL values. */
    sim_resp_reset(&r);
    for (size_t i = 0; i < q->nvb; i++)
        if (sim_resp_add(&r, &q->vb[i], &(sim_value){.tag = SIM_T_NULL}) < 0)
            break;
    return sim_resp_finish(&r, q, errstat, errindex, out);
}

static void queue_slow(fleet *f, int fd, const struct sockaddr_in *peer, const uint8_t *data, size_t len)
{
    pending *p = malloc(sizeof *p + len);
    if (!p)
        return;
    *p = (pending){.due_us = now_us() + f->slow_ms * 1000ull, .fd = fd, .peer = *peer, .len = len};
    memcpy(p->data, data, len);
    if (f->slow_tail)
        f->slow_tail->next = p;
    else
        f->slow_head = p;
    f->slow_tail = p;
    if (f->slow_head == p) {
        struct itimerspec its = {.it_value = {f->slow_ms / 1000, (long)(f->slow_ms % 1000) * 1000000L + 1}};
        timerfd_settime(f->slowfd, 0, &its, NULL);
    }
}

/* Send the slow answers now due; re-arm for the next. Constant delay: FIFO. */
static void flush_slow(fleet *f)
{
    uint64_t exp, now = now_us();
    if (read(f->slowfd, &exp, sizeof exp) < 0 && errno != EAGAIN)
        return;
    while (f->slow_head && f->slow_head->due_us <= now + 500) {
        pending *p = f->slow_head;
        sendto(p->fd, p->data, p->len, 0, (struct sockaddr *)&p->peer, sizeof p->peer);
        f->slow_head = p->next;
        if (!f->slow_head)
            f->slow_tail = NULL;
        free(p);
    }
    if (f->slow_head) {
        uint64_t d = f->slow_head->due_us - now;
        struct itimerspec its = {.it_value = {(time_t)(d / 1000000u), (long)(d % 1000000u) * 1000L}};
        timerfd_settime(f->slowfd, 0, &its, NULL);
    }
}

static void on_device(fleet *f, unsigned dev)
{
    int fd = f->fds[dev];
    for (;;) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        ssize_t n = recvfrom(fd, f->rx, 65536, 0, (struct sockaddr *)&peer, &pl);
        if (n < 0)
            return; /* EAGAIN */
        f->st.rx++;
        fault ft = f->faults_on ? f->faults[dev] : F_NONE;
        if (ft == F_SILENT) {
            f->st.silent++;
            continue;
        }
        if (sim_ber_decode(f->rx, (size_t)n, &f->req, NULL) < 0) {
            f->st.bad++;
            continue;
        }
        if (f->req.community_len != strlen(f->community) ||
            memcmp(f->req.community, f->community, f->req.community_len)) {
            f->st.community++; /* as a real agent: no answer */
            continue;
        }
        const uint8_t *out;
        size_t len = answer(f, dev, &out);
        if (!len)
            continue;
        f->st.answered++;
        if (ft == F_SLOW) {
            f->st.slow++;
            queue_slow(f, fd, &peer, out, len);
        } else {
            sendto(fd, out, len, 0, (struct sockaddr *)&peer, pl);
        }
    }
}

static void print_stats(const fleet *f, const char *when)
{
    fprintf(stderr,
            "snmpfleet: %s: %" PRIu64 " requests (%" PRIu64 " GET, %" PRIu64 " GETNEXT, %" PRIu64
            " GETBULK), %" PRIu64 " answered with %" PRIu64 " varbinds, %" PRIu64 " slow, %" PRIu64
            " genErr, %" PRIu64 " ignored while silent, %" PRIu64 " wrong community, %" PRIu64 " malformed\n",
            when, f->st.rx, f->st.gets, f->st.nexts, f->st.bulks, f->st.answered, f->st.vbs, f->st.slow,
            f->st.errors, f->st.silent, f->st.community, f->st.bad);
}

/* Returns false when asked to stop. */
static bool on_signal(fleet *f)
{
    struct signalfd_siginfo si;
    while (read(f->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2) {
            f->faults_on = si.ssi_signo == SIGUSR1;
            fprintf(stderr, "snmpfleet: faults %s\n", f->faults_on ? "on" : "off");
            continue;
        }
        return false;
    }
    return true;
}

static unsigned count_fault(const fleet *f, fault ft)
{
    unsigned n = 0;
    for (unsigned i = 0; i < f->count; i++)
        n += f->faults[i] == ft;
    return n;
}

static void run(fleet *f)
{
    struct epoll_event evs[256];
    char a0[INET_ADDRSTRLEN], a1[INET_ADDRSTRLEN];
    struct in_addr first = dev_addr(f, 0), last = dev_addr(f, f->count - 1);

    fprintf(stderr, "snmpfleet: ready: %u devices %s..%s port %u, %zu OIDs each; faults %s: %u silent, %u slow (%u ms), "
                    "%u genErr\n", f->count, inet_ntop(AF_INET, &first, a0, sizeof a0),
            inet_ntop(AF_INET, &last, a1, sizeof a1), f->port, f->mib.n, f->faults_on ? "on" : "off",
            count_fault(f, F_SILENT), count_fault(f, F_SLOW), f->slow_ms, count_fault(f, F_ERROR));
    f->t0_us = now_us();
    for (;;) {
        int n = epoll_wait(f->ep, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            return;
        for (int i = 0; i < n; i++) {
            uint32_t id = evs[i].data.u32;
            if (id == ID_SIGNAL) {
                if (!on_signal(f))
                    return;
            } else if (id == ID_SLOW) {
                flush_slow(f);
            } else if (id == ID_STATS) {
                uint64_t exp;
                if (read(f->statfd, &exp, sizeof exp) > 0)
                    print_stats(f, "so far");
            } else if (id < f->count) {
                on_device(f, id);
            }
        }
    }
}

static void cleanup(fleet *f)
{
    for (unsigned i = 0; f->fds && i < f->count; i++)
        if (f->fds[i] > 0)
            close(f->fds[i]);
    while (f->slow_head) {
        pending *p = f->slow_head;
        f->slow_head = p->next;
        free(p);
    }
    int fds[] = {f->ep, f->sigfd, f->slowfd, f->statfd};
    for (size_t i = 0; i < 4; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(f->fds);
    free(f->faults);
    free(f->rx);
    free(f->tx);
    sim_mib_free(&f->mib);
}

int main(int argc, char **argv)
{
    static fleet f; /* large (a request holds 128 OIDs): not on the stack */
    setvbuf(stderr, NULL, _IOLBF, 0);
    int rc = 1;
    if (parse_args(&f, argc, argv) == 0 && open_all(&f) == 0) {
        run(&f);
        print_stats(&f, "stopped");
        rc = 0;
    }
    cleanup(&f);
    return rc;
}
