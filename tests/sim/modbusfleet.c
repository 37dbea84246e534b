/*
 * modbusfleet.c - a fleet of simulated Modbus TCP devices in one process,
 * for `make bench` and the fleet integration test: thousands of meters,
 * each on its own loopback address, answering far faster than a poller
 * asks. (tests/sim/modbussim.c, on libmodbus's blocking server, stays the
 * single-device simulator for RTU and fault cases.)
 *
 *   modbusfleet --profile NAME|FILE [--count N] [--base 127.3.0.1]
 *               [--port 1502] [--silent PCT] [--slow PCT] [--slow-ms MS]
 *               [--error PCT] [--error-code CODE] [--faults-off]
 *               [--counter-rate R] [--stats-every S]
 *
 * Device i listens on its own loopback address, from --base with the last
 * octet 1..250, then the next third octet (2,000 devices at 127.3.0.1 are
 * 127.3.[0-7].[1-250], one range line in evmon's config). One listening
 * socket per device, every accepted connection non-blocking on one epoll
 * loop, one thread; RLIMIT_NOFILE is raised to fit.
 *
 * Every device serves the register image of a Modbus profile (a NAME is
 * looked up in config/profiles/; modbus_image.h says which values and how
 * they move) for functions 1-4, any unit id, any address: registers the
 * profile does not name read 0, so a merged read of up to 125 registers
 * over holes is answered. The MBAP framing is ours (modbus_frame.h).
 * Faults, a share of the devices each (spread by a hash of the device
 * number): silent (accepts the connection, never answers), slow (answers
 * after --slow-ms), error (answers every read with exception --error-code,
 * 6 "server device busy" by default, or 2 "illegal data address").
 * Faults start on unless --faults-off; SIGUSR1 turns them on, SIGUSR2 off.
 * SIGTERM/SIGINT stop it; counters go to stderr at the end (and every
 * --stats-every seconds), and one "ready" line once every socket listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include "collectors/modbus_pdu.h"
#include "tests/sim/modbus_frame.h"
#include "tests/sim/modbus_image.h"

typedef enum { F_NONE, F_SILENT, F_SLOW, F_ERROR } fault;

/* An accepted connection; conns[] is indexed by its descriptor. */
typedef struct {
    unsigned dev;
    uint32_t gen; /* tells a slow answer's connection from a later one on the same fd */
    size_t rlen;
    uint8_t rbuf[2 * EV_MB_TCP_MAX_FRAME];
} conn;

/* A slow device's answer, waiting for its time. */
typedef struct pending {
    struct pending *next;
    uint64_t due_us;
    int fd;
    uint32_t gen;
    size_t len;
    uint8_t data[MBF_MAX_REPLY];
} pending;

typedef struct {
    /* options */
    const char *profile;
    unsigned count, port, slow_ms, stats_every, error_code;
    double silent_pct, slow_pct, error_pct;
    struct in_addr base;
    bool faults_on;

    ev_profile_set *profiles;
    const char *profile_name;
    mbi_image img;
    int *lfds;
    fault *faults;
    conn **conns;
    size_t nconns; /* size of conns[]: the descriptor limit */
    uint32_t next_gen;
    int ep, sigfd, slowfd, statfd;
    uint64_t t0_us;
    pending *slow_head, *slow_tail;

    struct {
        uint64_t accepted, closed, requests, answered, regs, silent, exceptions, slow, invalid, unsent;
    } st;
} fleet;

/* epoll data: kind in the high half, device number or descriptor in the low. */
enum { K_LISTEN, K_CONN, K_SIGNAL, K_SLOW, K_STATS };
#define TAG(kind, id) ((uint64_t)(kind) << 32 | (uint32_t)(id))

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- set-up ----------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to, "usage: modbusfleet --profile NAME|FILE [--count N] [--base 127.3.0.1] [--port 1502]\n"
                "                   [--silent PCT] [--slow PCT] [--slow-ms MS] [--error PCT] [--error-code CODE]\n"
                "                   [--faults-off] [--counter-rate R] [--stats-every S]\n");
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

static double pct(const char *s)
{
    char *e;
    double v = strtod(s, &e);
    if (*e || !*s || v < 0 || v > 100) {
        fprintf(stderr, "modbusfleet: bad percentage '%s'\n", s);
        exit(2);
    }
    return v;
}

static unsigned uint_opt(const char *s, unsigned min, unsigned max)
{
    char *e;
    unsigned long v = strtoul(s, &e, 10);
    if (*e || !*s || v < min || v > max) {
        fprintf(stderr, "modbusfleet: bad number '%s' (%u..%u)\n", s, min, max);
        exit(2);
    }
    return (unsigned)v;
}

/* A NAME is config/profiles/NAME.yaml of this source tree; else a file. */
static int load_profile(fleet *f)
{
    char path[4096];
    ev_diag diag = {0};
    const char *p = f->profile;
    if (!strchr(p, '/') && !strstr(p, ".yaml")) {
        snprintf(path, sizeof path, "%s/%s.yaml", EVMON_SRC_PROFILES, p);
        p = path;
    }
    f->profiles = ev_profiles_new();
    int rc = -1;
    char err[256];
    if (!f->profiles || ev_profiles_load_file(f->profiles, p, &diag) < 0 || ev_profiles_count(f->profiles) != 1) {
        fprintf(stderr, "modbusfleet: cannot load profile %s\n", p);
        ev_diag_print(&diag, stderr);
    } else if (mbi_image_build(&f->img, ev_profiles_at(f->profiles, 0), err, sizeof err) < 0) {
        fprintf(stderr, "modbusfleet: %s: %s\n", p, err);
    } else {
        f->profile_name = ev_profile_name(ev_profiles_at(f->profiles, 0));
        rc = 0;
    }
    ev_diag_free(&diag);
    return rc;
}

static int parse_args(fleet *f, int argc, char **argv)
{
    enum { O_SLOWMS = 256, O_FOFF, O_RATE, O_STATS, O_ECODE };
    static const struct option opts[] = {
        {"profile", 1, 0, 'P'},      {"count", 1, 0, 'n'},         {"base", 1, 0, 'b'},
        {"port", 1, 0, 'p'},         {"silent", 1, 0, 's'},        {"slow", 1, 0, 'S'},
        {"slow-ms", 1, 0, O_SLOWMS}, {"error", 1, 0, 'e'},         {"error-code", 1, 0, O_ECODE},
        {"faults-off", 0, 0, O_FOFF}, {"counter-rate", 1, 0, O_RATE}, {"stats-every", 1, 0, O_STATS},
        {"help", 0, 0, 'h'},         {0, 0, 0, 0}};
    double rate = 1.0;
    int o;

    *f = (fleet){.count = 1, .port = 1502, .slow_ms = 3000, .error_code = 6, .faults_on = true, .ep = -1,
                 .sigfd = -1, .slowfd = -1, .statfd = -1};
    inet_pton(AF_INET, "127.3.0.1", &f->base);
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'P': f->profile = optarg; break;
        case 'n': f->count = uint_opt(optarg, 1, 100000); break;
        case 'p': f->port = uint_opt(optarg, 1, 65535); break;
        case 's': f->silent_pct = pct(optarg); break;
        case 'S': f->slow_pct = pct(optarg); break;
        case 'e': f->error_pct = pct(optarg); break;
        case O_ECODE: f->error_code = uint_opt(optarg, 1, 255); break;
        case O_SLOWMS: f->slow_ms = uint_opt(optarg, 0, 600000); break;
        case O_FOFF: f->faults_on = false; break;
        case O_RATE: rate = strtod(optarg, NULL); break;
        case O_STATS: f->stats_every = uint_opt(optarg, 0, 86400); break;
        case 'b':
            if (inet_pton(AF_INET, optarg, &f->base) != 1) {
                fprintf(stderr, "modbusfleet: bad --base '%s'\n", optarg);
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    uint32_t b = ntohl(f->base.s_addr);
    if (!f->profile || optind != argc) {
        usage(stderr);
        return -1;
    }
    if ((b >> 24) != 127 || (b & 0xff) < 1 || (b & 0xff) > 250) {
        fprintf(stderr, "modbusfleet: --base must be a loopback address 127.x.y.z with z in 1..250\n");
        return -1;
    }
    if ((ntohl(dev_addr(f, f->count - 1).s_addr) >> 24) != 127) {
        fprintf(stderr, "modbusfleet: %u devices from --base leave 127.0.0.0/8\n", f->count);
        return -1;
    }
    if (load_profile(f) < 0)
        return -1;
    f->img.counter_rate = rate;
    return 0;
}

/* A listening socket per device and a connection or two each (a poller,
 * `evmon probe`, a test's client): the soft limit goes as high as that. */
static int raise_nofile(fleet *f)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)f->count + 64, want = (rlim_t)f->count * 4 + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr, "modbusfleet: %u devices need %llu file descriptors; the hard limit is %llu\n", f->count,
                (unsigned long long)need, (unsigned long long)rl.rlim_max);
        return -1;
    }
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            return -1;
    }
    f->nconns = rl.rlim_cur;
    return 0;
}

static int watch(fleet *f, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    return epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int listen_all(fleet *f)
{
    int one = 1;
    for (unsigned i = 0; i < f->count; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port),
                                 .sin_addr = dev_addr(f, i)};
        char a[INET_ADDRSTRLEN];
        f->faults[i] = fault_of(f, i);
        f->lfds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (f->lfds[i] < 0 || setsockopt(f->lfds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(f->lfds[i], (struct sockaddr *)&sa, sizeof sa) < 0 || listen(f->lfds[i], 16) < 0 ||
            watch(f, f->lfds[i], TAG(K_LISTEN, i)) < 0) {
            fprintf(stderr, "modbusfleet: device %u at %s:%u: %s\n", i,
                    inet_ntop(AF_INET, &sa.sin_addr, a, sizeof a), f->port, strerror(errno));
            return -1;
        }
    }
    return 0;
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
    signal(SIGPIPE, SIG_IGN);

    if (raise_nofile(f) < 0)
        return -1;
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    f->sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
    f->slowfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    f->statfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    f->lfds = malloc(f->count * sizeof *f->lfds);
    f->faults = calloc(f->count, sizeof *f->faults);
    f->conns = calloc(f->nconns, sizeof *f->conns);
    if (f->lfds)
        memset(f->lfds, -1, f->count * sizeof *f->lfds);
    if (f->ep < 0 || f->sigfd < 0 || f->slowfd < 0 || f->statfd < 0 || !f->lfds || !f->faults || !f->conns ||
        watch(f, f->sigfd, TAG(K_SIGNAL, 0)) < 0 || watch(f, f->slowfd, TAG(K_SLOW, 0)) < 0 ||
        watch(f, f->statfd, TAG(K_STATS, 0)) < 0) {
        perror("modbusfleet: set-up");
        return -1;
    }
    if (f->stats_every) {
        struct itimerspec its = {.it_value = {f->stats_every, 0}, .it_interval = {f->stats_every, 0}};
        timerfd_settime(f->statfd, 0, &its, NULL);
    }
    return listen_all(f);
}

/* ---- connections -------------------------------------------------------- */

static void close_conn(fleet *f, int fd)
{
    epoll_ctl(f->ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(f->conns[fd]);
    f->conns[fd] = NULL;
    f->st.closed++;
}

static void on_listen(fleet *f, unsigned dev)
{
    int one = 1;
    for (;;) {
        int fd = accept4(f->lfds[dev], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: the client waits in the backlog */
        conn *c = (size_t)fd < f->nconns ? malloc(sizeof *c) : NULL;
        if (!c || watch(f, fd, TAG(K_CONN, fd)) < 0) {
            free(c);
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->dev = dev;
        c->gen = ++f->next_gen;
        c->rlen = 0;
        f->conns[fd] = c;
        f->st.accepted++;
    }
}

static void send_now(fleet *f, int fd, const uint8_t *data, size_t len)
{
    if (write(fd, data, len) != (ssize_t)len)
        f->st.unsent++; /* the client stopped reading: as a device, drop it */
}

static void queue_slow(fleet *f, int fd, const conn *c, const uint8_t *data, size_t len)
{
    pending *p = malloc(sizeof *p);
    if (!p)
        return;
    *p = (pending){.due_us = now_us() + f->slow_ms * 1000ull, .fd = fd, .gen = c->gen, .len = len};
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

/* Send the slow answers now due to connections still open; re-arm. */
static void flush_slow(fleet *f)
{
    uint64_t exp, now = now_us();
    if (read(f->slowfd, &exp, sizeof exp) < 0 && errno != EAGAIN)
        return;
    while (f->slow_head && f->slow_head->due_us <= now + 500) {
        pending *p = f->slow_head;
        if (f->conns[p->fd] && f->conns[p->fd]->gen == p->gen)
            send_now(f, p->fd, p->data, p->len);
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

/* One complete request from device c->dev's client. */
static void on_frame(fleet *f, int fd, const conn *c, const uint8_t *frame, size_t len)
{
    fault ft = f->faults_on ? f->faults[c->dev] : F_NONE;
    uint8_t out[MBF_MAX_REPLY];
    size_t n;
    mbf_req q;
    f->st.requests++;
    if (ft == F_SILENT) {
        f->st.silent++;
        return;
    }
    uint8_t exc = mbf_parse(frame, len, &q);
    if (exc) {
        f->st.invalid++;
        n = mbf_reply_exception(out, &q, exc);
    } else if (ft == F_ERROR) {
        f->st.exceptions++;
        n = mbf_reply_exception(out, &q, (uint8_t)f->error_code);
    } else {
        uint16_t values[2000];
        double t = (double)(now_us() - f->t0_us) / 1e6;
        mbi_fill(&f->img, c->dev, t, q.fc, q.addr, q.count, values);
        n = mbf_reply_read(out, &q, values);
        f->st.regs += q.count;
    }
    f->st.answered++;
    if (ft == F_SLOW) {
        f->st.slow++;
        queue_slow(f, fd, c, out, n);
    } else {
        send_now(f, fd, out, n);
    }
}

static void on_conn(fleet *f, int fd)
{
    conn *c = f->conns[fd];
    for (;;) {
        ssize_t n = read(fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            close_conn(f, fd); /* the client closed (or reset) it */
            return;
        }
        c->rlen += (size_t)n;
        size_t at = 0;
        for (;;) {
            int flen = ev_mb_tcp_frame_len(c->rbuf + at, c->rlen - at);
            if (flen < 0) {
                f->st.invalid++;
                close_conn(f, fd); /* not Modbus TCP: a device drops such a client */
                return;
            }
            if (flen == 0 || (size_t)flen > c->rlen - at)
                break;
            on_frame(f, fd, c, c->rbuf + at, (size_t)flen);
            at += (size_t)flen;
        }
        memmove(c->rbuf, c->rbuf + at, c->rlen - at);
        c->rlen -= at;
    }
}

/* ---- the loop ------------------------------------------------------------ */

static void print_stats(const fleet *f, const char *when)
{
    fprintf(stderr,
            "modbusfleet: %s: %" PRIu64 " connections (%" PRIu64 " closed), %" PRIu64 " requests, %" PRIu64
            " answered with %" PRIu64 " registers, %" PRIu64 " slow, %" PRIu64 " exceptions (fault), %" PRIu64
            " ignored while silent, %" PRIu64 " invalid, %" PRIu64 " not sent\n",
            when, f->st.accepted, f->st.closed, f->st.requests, f->st.answered, f->st.regs, f->st.slow,
            f->st.exceptions, f->st.silent, f->st.invalid, f->st.unsent);
}

/* Returns false when asked to stop. */
static bool on_signal(fleet *f)
{
    struct signalfd_siginfo si;
    while (read(f->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2) {
            f->faults_on = si.ssi_signo == SIGUSR1;
            fprintf(stderr, "modbusfleet: faults %s\n", f->faults_on ? "on" : "off");
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

    fprintf(stderr, "modbusfleet: ready: %u devices %s..%s port %u, profile %s (%zu registers); faults %s: "
                    "%u silent, %u slow (%u ms), %u exception %u\n",
            f->count, inet_ntop(AF_INET, &first, a0, sizeof a0), inet_ntop(AF_INET, &last, a1, sizeof a1), f->port,
            f->profile_name, f->img.n, f->faults_on ? "on" : "off", count_fault(f, F_SILENT),
            count_fault(f, F_SLOW), f->slow_ms, count_fault(f, F_ERROR), f->error_code);
    f->t0_us = now_us();
    for (;;) {
        int n = epoll_wait(f->ep, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            return;
        for (int i = 0; i < n; i++) {
            uint32_t kind = (uint32_t)(evs[i].data.u64 >> 32), id = (uint32_t)evs[i].data.u64;
            uint64_t exp;
            switch (kind) {
            case K_SIGNAL:
                if (!on_signal(f))
                    return;
                break;
            case K_SLOW: flush_slow(f); break;
            case K_STATS:
                if (read(f->statfd, &exp, sizeof exp) > 0)
                    print_stats(f, "so far");
                break;
            case K_LISTEN: on_listen(f, id); break;
            case K_CONN:
                if (f->conns[id]) /* not closed earlier in this batch */
                    on_conn(f, (int)id);
                break;
            }
        }
    }
}

static void cleanup(fleet *f)
{
    for (size_t fd = 0; f->conns && fd < f->nconns; fd++)
        if (f->conns[fd])
            close_conn(f, (int)fd);
    for (unsigned i = 0; f->lfds && i < f->count; i++)
        if (f->lfds[i] >= 0)
            close(f->lfds[i]);
    while (f->slow_head) {
        pending *p = f->slow_head;
        f->slow_head = p->next;
        free(p);
    }
    int fds[] = {f->ep, f->sigfd, f->slowfd, f->statfd};
    for (size_t i = 0; i < 4; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(f->lfds);
    free(f->faults);
    free(f->conns);
    mbi_image_free(&f->img);
    ev_profiles_free(f->profiles);
}

int main(int argc, char **argv)
{
    fleet f;
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
