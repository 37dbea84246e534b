/*
 * fleet.h - what every simulated fleet shares (snmpfleet.c, modbusfleet.c):
 * device i's loopback address, the hashed share of silent/slow/error
 * devices, the options every fleet takes, one socket per device on one
 * epoll loop with RLIMIT_NOFILE raised to fit, the signals (SIGUSR1 faults
 * on, SIGUSR2 off, SIGTERM/SIGINT stop), the queue of slow answers and the
 * stats ticks.
 *
 * A simulator embeds a sim_fleet and keeps its protocol: it reads its
 * devices' sockets, builds the answers, and says through fleet_ops how a
 * slow answer is sent and what its counters are. Messages start with the
 * simulator's name (sim_fleet.prog), so its output is as it always was.
 */
#ifndef EVMON_TESTS_SIM_FLEET_H
#define EVMON_TESTS_SIM_FLEET_H

#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { FLEET_OK, FLEET_SILENT, FLEET_SLOW, FLEET_ERROR } fleet_fault;

/* A slow device's answer, waiting for its time: the socket it goes out
 * on, whom to (a datagram's peer) or which connection (its generation,
 * the simulator's to check), and its bytes. */
typedef struct fleet_slow {
    struct fleet_slow *next;
    uint64_t due_us;
    int fd;
    uint32_t gen;
    struct sockaddr_in peer;
    size_t len;
    uint8_t data[];
} fleet_slow;

typedef struct {
    void (*io)(void *sim, uint64_t tag);               /* a device's socket (tag: its number) or one it watches */
    void (*send_slow)(void *sim, const fleet_slow *p); /* a slow answer now due */
    void (*stats)(void *sim, const char *when);        /* the counters, "so far" every --stats-every seconds */
} fleet_ops;

typedef struct {
    const char *prog; /* "snmpfleet": starts every message */
    /* options every fleet takes (FLEET_OPTIONS) */
    unsigned count, port, slow_ms, stats_every;
    double silent_pct, slow_pct, error_pct, counter_rate;
    struct in_addr base;
    bool faults_on;

    int *fds;            /* device i's socket, tag i on the loop */
    fleet_fault *faults; /* device i's fault, while faults_on */
    unsigned long nofile; /* the descriptor limit fleet_open left */
    int ep, sigfd, slowfd, statfd;
    uint64_t t0_us;
    fleet_slow *slow_head, *slow_tail;
} sim_fleet;

/* The options every fleet takes, for its getopt_long table; its own
 * long-only options number from FLEET_O_OWN. */
enum { FLEET_O_SLOWMS = 256, FLEET_O_FOFF, FLEET_O_RATE, FLEET_O_STATS, FLEET_O_BAD, FLEET_O_OWN };
#define FLEET_OPTIONS                                                                                             \
    {"count", 1, 0, 'n'}, {"base", 1, 0, 'b'}, {"port", 1, 0, 'p'}, {"silent", 1, 0, 's'}, {"slow", 1, 0, 'S'}, \
        {"slow-ms", 1, 0, FLEET_O_SLOWMS}, {"error", 1, 0, 'e'}, {"faults-off", 0, 0, FLEET_O_FOFF},              \
        {"counter-rate", 1, 0, FLEET_O_RATE}, {"stats-every", 1, 0, FLEET_O_STATS}

/* Defaults: one device at base (127.x.y.z) on port, faults on, slow 3 s. */
void fleet_init(sim_fleet *fl, const char *prog, const char *base, unsigned port);
/* getopt_long over opts, taking FLEET_OPTIONS itself: returns the next
 * option of the simulator's own, FLEET_O_BAD after a bad --base (said),
 * '?' for an unknown one, -1 at the end. A bad number or percentage is
 * said and exits 2. */
int fleet_getopt(sim_fleet *fl, int argc, char **argv, const struct option *opts);
/* A whole number in min..max, or the program exits 2 saying so. */
unsigned fleet_uint(const sim_fleet *fl, const char *s, unsigned min, unsigned max);
/* 0 when --base is 127.x.y.z with z in 1..250 and every device stays in
 * 127.0.0.0/8; else -1, said. */
int fleet_check_base(const sim_fleet *fl);

/* Device i's address: last octet 1..250 from base, then the next third octet. */
struct in_addr fleet_dev_addr(struct in_addr base, unsigned i);
/* Device i's fault: a hash of its number spreads each share evenly. */
fleet_fault fleet_fault_of(const sim_fleet *fl, unsigned i);
/* Device dev's fault now (FLEET_OK while faults are off). */
fleet_fault fleet_fault_now(const sim_fleet *fl, unsigned dev);

/* Signals, the loop, the timers and a socket per device (SOCK_DGRAM
 * bound, or SOCK_STREAM listening), with at least need descriptors and
 * up to want. Returns -1, said, when one fails. */
int fleet_open(sim_fleet *fl, int socktype, unsigned long need, unsigned long want);
/* Another descriptor on the loop, with a tag below FLEET_TAG_RESERVED
 * (the tags from there up are the fleet's signal and timers). */
int fleet_watch(sim_fleet *fl, int fd, uint64_t tag);
#define FLEET_TAG_RESERVED (UINT64_MAX - 2)

/* The "ready:" line: "PROG: ready: N devices A..B port P, SERVES; faults
 * on: ... silent, ... slow (MS ms), E ERROR_LABEL". */
void fleet_ready(const sim_fleet *fl, const char *serves, const char *error_label);
/* Serves until SIGTERM/SIGINT; the clock of fleet_seconds starts here. */
void fleet_run(sim_fleet *fl, const fleet_ops *ops, void *sim);
void fleet_close(sim_fleet *fl);

/* Seconds since the fleet started serving: what moving values move by. */
double fleet_seconds(const sim_fleet *fl);
/* Sends data on fd (to peer, when given; gen for the simulator) after --slow-ms. */
void fleet_slow_queue(sim_fleet *fl, int fd, uint32_t gen, const struct sockaddr_in *peer, const uint8_t *data,
                      size_t len);

#endif
