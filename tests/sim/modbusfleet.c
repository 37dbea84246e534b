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
 * What every simulated fleet shares (addresses, fault shares, options,
 * signals, the slow queue, the stats ticks) is fleet.h's; this file is the
 * Modbus side: connections, framing, answers.
 */
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
#include <sys/socket.h>
#include <unistd.h>

#include "agent/diag.h"
#include "agent/profile.h"
#include "collectors/modbus_pdu.h"
#include "tests/sim/fleet.h"
#include "tests/sim/modbus_frame.h"
#include "tests/sim/modbus_image.h"

/* An accepted connection; conns[] is indexed by its descriptor. */
typedef struct {
    unsigned dev;
    uint32_t gen; /* tells a slow answer's connection from a later one on the same fd */
    size_t rlen;
    uint8_t rbuf[2 * EV_MB_TCP_MAX_FRAME];
} conn;

typedef struct {
    sim_fleet fl; /* addresses, faults, listening sockets (fl.fds[dev]), the loop */
    /* options of its own */
    const char *profile;
    unsigned error_code;

    ev_profile_set *profiles;
    const char *profile_name;
    mbi_image img;
    conn **conns;
    size_t nconns; /* size of conns[]: the descriptor limit */
    uint32_t next_gen;

    struct {
        uint64_t accepted, closed, requests, answered, regs, silent, exceptions, slow, invalid, unsent;
    } st;
} fleet;

/* epoll data: kind in the high half, device number or descriptor in the
 * low; a device's listening socket is its number (fleet_open's tag). */
enum { K_LISTEN, K_CONN };
#define TAG(kind, id) ((uint64_t)(kind) << 32 | (uint32_t)(id))

/* ---- set-up ----------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to, "usage: modbusfleet --profile NAME|FILE [--count N] [--base 127.3.0.1] [--port 1502]\n"
                "                   [--silent PCT] [--slow PCT] [--slow-ms MS] [--error PCT] [--error-code CODE]\n"
                "                   [--faults-off] [--counter-rate R] [--stats-every S]\n");
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
    enum { O_ECODE = FLEET_O_OWN };
    static const struct option opts[] = {
        FLEET_OPTIONS,
        {"profile", 1, 0, 'P'}, {"error-code", 1, 0, O_ECODE}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int o;

    *f = (fleet){.error_code = 6};
    fleet_init(&f->fl, "modbusfleet", "127.3.0.1", 1502);
    while ((o = fleet_getopt(&f->fl, argc, argv, opts)) != -1) {
        switch (o) {
        case 'P': f->profile = optarg; break;
        case O_ECODE: f->error_code = fleet_uint(&f->fl, optarg, 1, 255); break;
        case 'h': usage(stdout); exit(0);
        case FLEET_O_BAD: return -1;
        default: usage(stderr); return -1;
        }
    }
    if (!f->profile || optind != argc) {
        usage(stderr);
        return -1;
    }
    if (fleet_check_base(&f->fl) < 0 || load_profile(f) < 0)
        return -1;
    f->img.counter_rate = f->fl.counter_rate;
    return 0;
}

/* A listening socket per device and a connection or two each (a poller,
 * `evmon probe`, a test's client): the descriptor limit goes as high as
 * that, and bounds conns[]. */
static int open_all(fleet *f)
{
    unsigned long n = f->fl.count;
    signal(SIGPIPE, SIG_IGN);
    if (fleet_open(&f->fl, SOCK_STREAM, n + 64, n * 4 + 64) < 0)
        return -1;
    f->nconns = f->fl.nofile;
    f->conns = calloc(f->nconns, sizeof *f->conns);
    if (!f->conns) {
        perror("modbusfleet: set-up");
        return -1;
    }
    return 0;
}

/* ---- connections -------------------------------------------------------- */

static void close_conn(fleet *f, int fd)
{
    epoll_ctl(f->fl.ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(f->conns[fd]);
    f->conns[fd] = NULL;
    f->st.closed++;
}

static void on_listen(fleet *f, unsigned dev)
{
    int one = 1;
    for (;;) {
        int fd = accept4(f->fl.fds[dev], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: the client waits in the backlog */
        conn *c = (size_t)fd < f->nconns ? malloc(sizeof *c) : NULL;
        if (!c || fleet_watch(&f->fl, fd, TAG(K_CONN, fd)) < 0) {
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

/* A slow answer now due: sent if its connection is still the one that asked. */
static void send_slow(void *sim, const fleet_slow *p)
{
    fleet *f = sim;
    if (f->conns[p->fd] && f->conns[p->fd]->gen == p->gen)
        send_now(f, p->fd, p->data, p->len);
}

/* One complete request from device c->dev's client. */
static void on_frame(fleet *f, int fd, const conn *c, const uint8_t *frame, size_t len)
{
    fleet_fault ft = fleet_fault_now(&f->fl, c->dev);
    uint8_t out[MBF_MAX_REPLY];
    size_t n;
    mbf_req q;
    f->st.requests++;
    if (ft == FLEET_SILENT) {
        f->st.silent++;
        return;
    }
    uint8_t exc = mbf_parse(frame, len, &q);
    if (exc) {
        f->st.invalid++;
        n = mbf_reply_exception(out, &q, exc);
    } else if (ft == FLEET_ERROR) {
        f->st.exceptions++;
        n = mbf_reply_exception(out, &q, (uint8_t)f->error_code);
    } else {
        uint16_t values[2000];
        double t = fleet_seconds(&f->fl);
        mbi_fill(&f->img, c->dev, t, q.fc, q.addr, q.count, values);
        n = mbf_reply_read(out, &q, values);
        f->st.regs += q.count;
    }
    f->st.answered++;
    if (ft == FLEET_SLOW) {
        f->st.slow++;
        fleet_slow_queue(&f->fl, fd, c->gen, NULL, out, n);
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

static void print_stats(void *sim, const char *when)
{
    const fleet *f = sim;
    fprintf(stderr,
            "modbusfleet: %s: %" PRIu64 " connections (%" PRIu64 " closed), %" PRIu64 " requests, %" PRIu64
            " answered with %" PRIu64 " registers, %" PRIu64 " slow, %" PRIu64 " exceptions (fault), %" PRIu64
            " ignored while silent, %" PRIu64 " invalid, %" PRIu64 " not sent\n",
            when, f->st.accepted, f->st.closed, f->st.requests, f->st.answered, f->st.regs, f->st.slow,
            f->st.exceptions, f->st.silent, f->st.invalid, f->st.unsent);
}

static void on_io(void *sim, uint64_t tag)
{
    fleet *f = sim;
    uint32_t kind = (uint32_t)(tag >> 32), id = (uint32_t)tag;
    if (kind == K_LISTEN)
        on_listen(f, id);
    else if (kind == K_CONN && f->conns[id]) /* not closed earlier in this batch */
        on_conn(f, (int)id);
}

static void run(fleet *f)
{
    static const fleet_ops ops = {.io = on_io, .send_slow = send_slow, .stats = print_stats};
    char serves[512], errors[32];
    snprintf(serves, sizeof serves, "profile %s (%zu registers)", f->profile_name, f->img.n);
    snprintf(errors, sizeof errors, "exception %u", f->error_code);
    fleet_ready(&f->fl, serves, errors);
    fleet_run(&f->fl, &ops, f);
}

static void cleanup(fleet *f)
{
    for (size_t fd = 0; f->conns && fd < f->nconns; fd++)
        if (f->conns[fd])
            close_conn(f, (int)fd);
    fleet_close(&f->fl);
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
