/*
 * fleet.c - what every simulated fleet shares: addresses, fault shares,
 * options, signals, the slow queue, stats ticks (fleet.h). snmpfleet.c and
 * modbusfleet.c keep their protocols and call this for the rest.
 */
#include "tests/sim/fleet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
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

#define TAG_SIGNAL UINT64_MAX
#define TAG_SLOW (UINT64_MAX - 1)
#define TAG_STATS FLEET_TAG_RESERVED

static uint64_t fleet_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

double fleet_seconds(const sim_fleet *fl)
{
    return (double)(fleet_now_us() - fl->t0_us) / 1e6;
}

/* ---- options ---------------------------------------------------------- */

void fleet_init(sim_fleet *fl, const char *prog, const char *base, unsigned port)
{
    *fl = (sim_fleet){.prog = prog, .count = 1, .port = port, .slow_ms = 3000, .counter_rate = 1.0,
                      .faults_on = true, .ep = -1, .sigfd = -1, .slowfd = -1, .statfd = -1};
    inet_pton(AF_INET, base, &fl->base);
}

static double pct(const sim_fleet *fl, const char *s)
{
    char *e;
    double v = strtod(s, &e);
    if (*e || !*s || v < 0 || v > 100) {
        fprintf(stderr, "%s: bad percentage '%s'\n", fl->prog, s);
        exit(2);
    }
    return v;
}

unsigned fleet_uint(const sim_fleet *fl, const char *s, unsigned min, unsigned max)
{
    char *e;
    unsigned long v = strtoul(s, &e, 10);
    if (*e || !*s || v < min || v > max) {
        fprintf(stderr, "%s: bad number '%s' (%u..%u)\n", fl->prog, s, min, max);
        exit(2);
    }
    return (unsigned)v;
}

/* Option o if it is one of FLEET_OPTIONS: 1 taken, 0 not one of them, -1 a bad --base. */
static int take_option(sim_fleet *fl, int o, const char *arg)
{
    switch (o) {
    case 'n': fl->count = fleet_uint(fl, arg, 1, 100000); break;
    case 'p': fl->port = fleet_uint(fl, arg, 1, 65535); break;
    case 's': fl->silent_pct = pct(fl, arg); break;
    case 'S': fl->slow_pct = pct(fl, arg); break;
    case 'e': fl->error_pct = pct(fl, arg); break;
    case FLEET_O_SLOWMS: fl->slow_ms = fleet_uint(fl, arg, 0, 600000); break;
    case FLEET_O_FOFF: fl->faults_on = false; break;
    case FLEET_O_RATE: fl->counter_rate = strtod(arg, NULL); break;
    case FLEET_O_STATS: fl->stats_every = fleet_uint(fl, arg, 0, 86400); break;
    case 'b':
        if (inet_pton(AF_INET, arg, &fl->base) != 1) {
            fprintf(stderr, "%s: bad --base '%s'\n", fl->prog, arg);
            return -1;
        }
        break;
    default: return 0;
    }
    return 1;
}

int fleet_getopt(sim_fleet *fl, int argc, char **argv, const struct option *opts)
{
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int taken = take_option(fl, o, optarg);
        if (taken < 0)
            return FLEET_O_BAD;
        if (!taken)
            return o;
    }
    return -1;
}

int fleet_check_base(const sim_fleet *fl)
{
    uint32_t b = ntohl(fl->base.s_addr);
    if ((b >> 24) != 127 || (b & 0xff) < 1 || (b & 0xff) > 250) {
        fprintf(stderr, "%s: --base must be a loopback address 127.x.y.z with z in 1..250\n", fl->prog);
        return -1;
    }
    if ((ntohl(fleet_dev_addr(fl->base, fl->count - 1).s_addr) >> 24) != 127) {
        fprintf(stderr, "%s: %u devices from --base leave 127.0.0.0/8\n", fl->prog, fl->count);
        return -1;
    }
    return 0;
}

/* ---- devices ---------------------------------------------------------- */

struct in_addr fleet_dev_addr(struct in_addr base, unsigned i)
{
    uint32_t b = ntohl(base.s_addr);
    uint32_t j = (b & 0xff) - 1 + i;
    uint32_t hi = (b >> 8) + j / 250;
    return (struct in_addr){htonl(hi << 8 | (1 + j % 250))};
}

fleet_fault fleet_fault_of(const sim_fleet *fl, unsigned i)
{
    double u = (double)((i * 2654435761u) % 10000u) / 100.0;
    if (u < fl->silent_pct)
        return FLEET_SILENT;
    if (u < fl->silent_pct + fl->slow_pct)
        return FLEET_SLOW;
    if (u < fl->silent_pct + fl->slow_pct + fl->error_pct)
        return FLEET_ERROR;
    return FLEET_OK;
}

fleet_fault fleet_fault_now(const sim_fleet *fl, unsigned dev)
{
    return fl->faults_on ? fl->faults[dev] : FLEET_OK;
}

static unsigned count_fault(const sim_fleet *fl, fleet_fault ft)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fl->count; i++)
        n += fl->faults[i] == ft;
    return n;
}

/* ---- set-up ----------------------------------------------------------- */

/* The soft limit goes up to want (as far as the hard limit lets it), and
 * must reach need. */
static int raise_nofile(sim_fleet *fl, rlim_t need, rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr, "%s: %u devices need %llu file descriptors; the hard limit is %llu\n", fl->prog, fl->count,
                (unsigned long long)need, (unsigned long long)rl.rlim_max);
        return -1;
    }
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            return -1;
    }
    fl->nofile = rl.rlim_cur;
    return 0;
}

int fleet_watch(sim_fleet *fl, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    return epoll_ctl(fl->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Device i's socket: a bound datagram socket, or a listening stream one. */
static int open_device(sim_fleet *fl, int socktype, unsigned i)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fl->port),
                             .sin_addr = fleet_dev_addr(fl->base, i)};
    int one = 1, fd = socket(AF_INET, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    fl->fds[i] = fd;
    if (fd < 0 ||
        (socktype == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || (socktype == SOCK_STREAM && listen(fd, 16) < 0) ||
        fleet_watch(fl, fd, i) < 0) {
        char a[INET_ADDRSTRLEN];
        fprintf(stderr, "%s: device %u at %s:%u: %s\n", fl->prog, i, inet_ntop(AF_INET, &sa.sin_addr, a, sizeof a),
                fl->port, strerror(errno));
        return -1;
    }
    return 0;
}

int fleet_open(sim_fleet *fl, int socktype, unsigned long need, unsigned long want)
{
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    sigaddset(&ss, SIGUSR1);
    sigaddset(&ss, SIGUSR2);
    sigprocmask(SIG_BLOCK, &ss, NULL);

    if (raise_nofile(fl, need, want) < 0)
        return -1;
    fl->ep = epoll_create1(EPOLL_CLOEXEC);
    fl->sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
    fl->slowfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    fl->statfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    fl->fds = malloc(fl->count * sizeof *fl->fds);
    fl->faults = calloc(fl->count, sizeof *fl->faults);
    if (fl->fds)
        memset(fl->fds, -1, fl->count * sizeof *fl->fds);
    if (fl->ep < 0 || fl->sigfd < 0 || fl->slowfd < 0 || fl->statfd < 0 || !fl->fds || !fl->faults ||
        fleet_watch(fl, fl->sigfd, TAG_SIGNAL) < 0 || fleet_watch(fl, fl->slowfd, TAG_SLOW) < 0 ||
        fleet_watch(fl, fl->statfd, TAG_STATS) < 0) {
        fprintf(stderr, "%s: set-up: %s\n", fl->prog, strerror(errno));
        return -1;
    }
    if (fl->stats_every) {
        struct itimerspec its = {.it_value = {fl->stats_every, 0}, .it_interval = {fl->stats_every, 0}};
        timerfd_settime(fl->statfd, 0, &its, NULL);
    }
    for (unsigned i = 0; i < fl->count; i++) {
        fl->faults[i] = fleet_fault_of(fl, i);
        if (open_device(fl, socktype, i) < 0)
            return -1;
    }
    return 0;
}

/* ---- slow answers ----------------------------------------------------- */

void fleet_slow_queue(sim_fleet *fl, int fd, uint32_t gen, const struct sockaddr_in *peer, const uint8_t *data,
                      size_t len)
{
    fleet_slow *p = malloc(sizeof *p + len);
    if (!p)
        return;
    *p = (fleet_slow){.due_us = fleet_now_us() + fl->slow_ms * 1000ull, .fd = fd, .gen = gen, .len = len};
    if (peer)
        p->peer = *peer;
    memcpy(p->data, data, len);
    if (fl->slow_tail)
        fl->slow_tail->next = p;
    else
        fl->slow_head = p;
    fl->slow_tail = p;
    if (fl->slow_head == p) {
        struct itimerspec its = {.it_value = {fl->slow_ms / 1000, (long)(fl->slow_ms % 1000) * 1000000L + 1}};
        timerfd_settime(fl->slowfd, 0, &its, NULL);
    }
}

/* Send the slow answers now due; re-arm for the next. Constant delay: FIFO. */
static void flush_slow(sim_fleet *fl, const fleet_ops *ops, void *sim)
{
    uint64_t exp, now = fleet_now_us();
    if (read(fl->slowfd, &exp, sizeof exp) < 0 && errno != EAGAIN)
        return;
    while (fl->slow_head && fl->slow_head->due_us <= now + 500) {
        fleet_slow *p = fl->slow_head;
        ops->send_slow(sim, p);
        fl->slow_head = p->next;
        if (!fl->slow_head)
            fl->slow_tail = NULL;
        free(p);
    }
    if (fl->slow_head) {
        uint64_t d = fl->slow_head->due_us - now;
        struct itimerspec its = {.it_value = {(time_t)(d / 1000000u), (long)(d % 1000000u) * 1000L}};
        timerfd_settime(fl->slowfd, 0, &its, NULL);
    }
}

/* ---- the loop --------------------------------------------------------- */

void fleet_ready(const sim_fleet *fl, const char *serves, const char *error_label)
{
    char a0[INET_ADDRSTRLEN], a1[INET_ADDRSTRLEN];
    struct in_addr first = fleet_dev_addr(fl->base, 0), last = fleet_dev_addr(fl->base, fl->count - 1);
    fprintf(stderr, "%s: ready: %u devices %s..%s port %u, %s; faults %s: %u silent, %u slow (%u ms), %u %s\n",
            fl->prog, fl->count, inet_ntop(AF_INET, &first, a0, sizeof a0), inet_ntop(AF_INET, &last, a1, sizeof a1),
            fl->port, serves, fl->faults_on ? "on" : "off", count_fault(fl, FLEET_SILENT),
            count_fault(fl, FLEET_SLOW), fl->slow_ms, count_fault(fl, FLEET_ERROR), error_label);
}

/* SIGUSR1/SIGUSR2 turn faults on/off. Returns false when asked to stop. */
static bool on_signal(sim_fleet *fl)
{
    struct signalfd_siginfo si;
    while (read(fl->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2) {
            fl->faults_on = si.ssi_signo == SIGUSR1;
            fprintf(stderr, "%s: faults %s\n", fl->prog, fl->faults_on ? "on" : "off");
            continue;
        }
        return false;
    }
    return true;
}

void fleet_run(sim_fleet *fl, const fleet_ops *ops, void *sim)
{
    struct epoll_event evs[256];
    fl->t0_us = fleet_now_us();
    for (;;) {
        int n = epoll_wait(fl->ep, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            return;
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64, exp;
            if (tag == TAG_SIGNAL) {
                if (!on_signal(fl))
                    return;
            } else if (tag == TAG_SLOW) {
                flush_slow(fl, ops, sim);
            } else if (tag == TAG_STATS) {
                if (read(fl->statfd, &exp, sizeof exp) > 0)
                    ops->stats(sim, "so far");
            } else {
                ops->io(sim, tag);
            }
        }
    }
}

void fleet_close(sim_fleet *fl)
{
    for (unsigned i = 0; fl->fds && i < fl->count; i++)
        if (fl->fds[i] >= 0)
            close(fl->fds[i]);
    while (fl->slow_head) {
        fleet_slow *p = fl->slow_head;
        fl->slow_head = p->next;
        free(p);
    }
    int fds[] = {fl->ep, fl->sigfd, fl->slowfd, fl->statfd};
    for (size_t i = 0; i < 4; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fl->fds);
    free(fl->faults);
    fl->fds = NULL;
    fl->faults = NULL;
}
