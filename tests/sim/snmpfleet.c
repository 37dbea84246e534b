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
 * thread; RLIMIT_NOFILE is raised to fit. What every simulated fleet
 * shares (addresses, fault shares, options, signals, the slow queue, the
 * stats ticks) is fleet.h's; this file is the SNMP side.
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
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/diag.h"
#include "agent/profile.h"
#include "agent/profile_priv.h"
#include "tests/sim/fleet.h"
#include "tests/sim/snmp_ber.h"
#include "tests/sim/snmp_mib.h"

typedef struct {
    sim_fleet fl; /* addresses, faults, sockets (fl.fds[dev]), the loop */
    /* options of its own */
    const char *walk, *profile, *community;
    unsigned max_msg;

    sim_mib mib;
    uint8_t *rx, *tx;
    sim_request req;

    struct {
        uint64_t rx, answered, bad, community, silent, errors, slow, gets, nexts, bulks, vbs;
    } st;
} fleet;

/* ---- set-up ----------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to, "usage: snmpfleet --walk FILE [--profile FILE] [--count N] [--base 127.2.0.1] [--port 1161]\n"
                "                 [--community public] [--silent PCT] [--slow PCT] [--slow-ms MS] [--error PCT]\n"
                "                 [--faults-off] [--counter-rate R] [--wrap-after S] [--max-msg BYTES]\n"
                "                 [--drift OID] [--counter OID] [--stats-every S]\n");
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

static int parse_args(fleet *f, int argc, char **argv)
{
    enum { O_WRAP = FLEET_O_OWN, O_MAXMSG, O_DRIFT, O_COUNTER };
    static const struct option opts[] = {
        FLEET_OPTIONS,
        {"walk", 1, 0, 'w'},          {"profile", 1, 0, 'P'},      {"community", 1, 0, 'c'},
        {"wrap-after", 1, 0, O_WRAP}, {"max-msg", 1, 0, O_MAXMSG}, {"drift", 1, 0, O_DRIFT},
        {"counter", 1, 0, O_COUNTER}, {"help", 0, 0, 'h'},         {0, 0, 0, 0}};
    const char *drift[32], *counter[32];
    size_t nd = 0, nc = 0;
    int o;

    *f = (fleet){.community = "public", .max_msg = 1472};
    fleet_init(&f->fl, "snmpfleet", "127.2.0.1", 1161);
    while ((o = fleet_getopt(&f->fl, argc, argv, opts)) != -1) {
        switch (o) {
        case 'w': f->walk = optarg; break;
        case 'P': f->profile = optarg; break;
        case 'c': f->community = optarg; break;
        case O_WRAP: f->mib.wrap_after_s = strtod(optarg, NULL); break;
        case O_MAXMSG: f->max_msg = fleet_uint(&f->fl, optarg, 0, 65507); break;
        case O_DRIFT: if (nd < 32) drift[nd++] = optarg; break;
        case O_COUNTER: if (nc < 32) counter[nc++] = optarg; break;
        case 'h': usage(stdout); exit(0);
        case FLEET_O_BAD: return -1;
        default: usage(stderr); return -1;
        }
    }
    if (!f->walk || optind != argc || f->max_msg < 484) {
        usage(stderr);
        return -1;
    }
    if (fleet_check_base(&f->fl) < 0)
        return -1;
    f->mib.counter_rate = f->fl.counter_rate;
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

static int open_all(fleet *f)
{
    unsigned long need = f->fl.count + 32ul;
    if (fleet_open(&f->fl, SOCK_DGRAM, need, need) < 0)
        return -1;
    f->rx = malloc(65536);
    f->tx = malloc(SIM_RESP_HEADROOM + f->max_msg);
    if (!f->rx || !f->tx) {
        perror("snmpfleet: set-up");
        return -1;
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
    double t = fleet_seconds(&f->fl);
    long errstat = 0, errindex = 0;
    bool v1 = q->version == 0;

    sim_resp_begin(&r, f->tx, f->max_msg, q);
    if (fleet_fault_now(&f->fl, dev) == FLEET_ERROR) {
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

/* A slow answer now due: to the peer that asked. */
static void send_slow(void *sim, const fleet_slow *p)
{
    sendto(p->fd, p->data, p->len, 0, (const struct sockaddr *)&p->peer, sizeof p->peer);
}

static void on_device(fleet *f, unsigned dev)
{
    int fd = f->fl.fds[dev];
    for (;;) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        ssize_t n = recvfrom(fd, f->rx, 65536, 0, (struct sockaddr *)&peer, &pl);
        if (n < 0)
            return; /* EAGAIN */
        f->st.rx++;
        fleet_fault ft = fleet_fault_now(&f->fl, dev);
        if (ft == FLEET_SILENT) {
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
        if (ft == FLEET_SLOW) {
            f->st.slow++;
            fleet_slow_queue(&f->fl, fd, 0, &peer, out, len);
        } else {
            sendto(fd, out, len, 0, (struct sockaddr *)&peer, pl);
        }
    }
}

static void print_stats(void *sim, const char *when)
{
    const fleet *f = sim;
    fprintf(stderr,
            "snmpfleet: %s: %" PRIu64 " requests (%" PRIu64 " GET, %" PRIu64 " GETNEXT, %" PRIu64
            " GETBULK), %" PRIu64 " answered with %" PRIu64 " varbinds, %" PRIu64 " slow, %" PRIu64
            " genErr, %" PRIu64 " ignored while silent, %" PRIu64 " wrong community, %" PRIu64 " malformed\n",
            when, f->st.rx, f->st.gets, f->st.nexts, f->st.bulks, f->st.answered, f->st.vbs, f->st.slow,
            f->st.errors, f->st.silent, f->st.community, f->st.bad);
}

static void on_io(void *sim, uint64_t tag)
{
    fleet *f = sim;
    if (tag < f->fl.count)
        on_device(f, (unsigned)tag);
}

static void run(fleet *f)
{
    static const fleet_ops ops = {.io = on_io, .send_slow = send_slow, .stats = print_stats};
    char serves[64];
    snprintf(serves, sizeof serves, "%zu OIDs each", f->mib.n);
    fleet_ready(&f->fl, serves, "genErr");
    fleet_run(&f->fl, &ops, f);
}

static void cleanup(fleet *f)
{
    fleet_close(&f->fl);
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
