/*
 * modbussim.c - a Modbus device simulator on libmodbus's server API
 * (modbus_mapping_new / modbus_receive / modbus_reply), for tests and the
 * demo: Modbus TCP on a loopback port or RTU on a serial line (one end of
 * a socat pty pair), serving a register image, with fault modes.
 *
 *   modbussim (--tcp HOST:PORT | --rtu TTY [--baud N --parity N|E|O])
 *             [--unit N] [--image FILE]... [--fault MODE] [--log FILE]
 *             [--port-file FILE]
 *
 * Image lines: `FC ADDR TYPE ORDER VALUE` (the value encoded as the type
 * and order say, e.g. `3 2999 float32 ABCD 12.5`), `FC ADDR raw W1 W2..`
 * (register words as given), `hole FC ADDR` (a request covering ADDR gets
 * exception 2, illegal data address). `#` starts a comment.
 * Faults: none, silent (never answers), slow:MS (answers after MS ms),
 * exception:CODE (every request), short (answers with two bytes missing),
 * crc (RTU: a bad CRC), reset (TCP: closes the connection with a RST).
 * --log appends `UNIT FC ADDR COUNT` per request received, so tests count
 * requests on the server side. --port-file: with --tcp HOST:0, the port
 * bound is written there once the server listens.
 */
#include <errno.h>
#include <getopt.h>
#include <modbus/modbus.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "agent/modbus_value.h"

#define TABLE 65535
#define MAX_HOLES 64
#define MAX_CLIENTS 64

typedef struct {
    modbus_mapping_t *map;
    struct { int fc, addr; } holes[MAX_HOLES];
    int nholes;
    const char *fault;
    int fault_arg;
    FILE *log;
    int unit; /* -1: any */
    bool rtu;
} sim;

static void die(const char *what)
{
    fprintf(stderr, "modbussim: %s\n", what);
    exit(2);
}

/* ---- the image ---- */

static void set_word(sim *s, int fc, long addr, uint16_t w)
{
    if (addr < 0 || addr >= TABLE)
        die("address out of range in image");
    if (fc == 3)
        s->map->tab_registers[addr] = w;
    else if (fc == 4)
        s->map->tab_input_registers[addr] = w;
    else if (fc == 1)
        s->map->tab_bits[addr] = w != 0;
    else if (fc == 2)
        s->map->tab_input_bits[addr] = w != 0;
    else
        die("function must be 1..4 in image");
}

static void load_image(sim *s, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    if (!f)
        die(strerror(errno));
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#'), *save = NULL;
        if (hash)
            *hash = 0;
        char *tok[16];
        int n = 0;
        for (char *t = strtok_r(line, " \t\r\n", &save); t && n < 16; t = strtok_r(NULL, " \t\r\n", &save))
            tok[n++] = t;
        if (n == 0)
            continue;
        if (!strcmp(tok[0], "hole") && n == 3 && s->nholes < MAX_HOLES) {
            s->holes[s->nholes].fc = atoi(tok[1]);
            s->holes[s->nholes++].addr = atoi(tok[2]);
            continue;
        }
        if (n < 4)
            die("bad image line (FC ADDR TYPE ORDER VALUE, FC ADDR raw WORDS..., hole FC ADDR)");
        int fc = atoi(tok[0]);
        long addr = strtol(tok[1], NULL, 0);
        if (!strcmp(tok[2], "raw")) {
            for (int i = 3; i < n; i++)
                set_word(s, fc, addr + i - 3, (uint16_t)strtoul(tok[i], NULL, 0));
            continue;
        }
        ev_mb_type t;
        ev_mb_order o;
        if (n != 5 || !ev_mb_type_parse(tok[2], &t) || !ev_mb_order_parse(tok[3], &o))
            die("bad type or order in image");
        uint16_t w[4];
        ev_mb_encode(t, o, strtod(tok[4], NULL), w);
        for (unsigned i = 0; i < ev_mb_type_words(t); i++)
            set_word(s, fc, addr + i, w[i]);
    }
    fclose(f);
}

/* ---- answering ---- */

static uint16_t crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = crc & 1 ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

static bool in_hole(const sim *s, int fc, int addr, int count)
{
    for (int i = 0; i < s->nholes; i++)
        if (s->holes[i].fc == fc && s->holes[i].addr >= addr && s->holes[i].addr < addr + count)
            return true;
    return false;
}

/* A read answer with two data bytes missing (byte count says the full size). */
static void reply_short(sim *s, modbus_t *ctx, const uint8_t *q, int hl, int fc, int count)
{
    uint8_t out[300];
    int bytes = fc <= 2 ? (count + 7) / 8 : 2 * count, n = 0;
    int data = bytes >= 2 ? bytes - 2 : 0;
    if (!s->rtu) {
        memcpy(out, q, 4);          /* transaction and protocol id */
        int len = 1 + 2 + data;     /* unit + fc + byte count + data */
        out[4] = (uint8_t)(len >> 8);
        out[5] = (uint8_t)len;
        out[6] = q[6];
        n = 7;
    } else {
        out[n++] = q[0];
    }
    out[n++] = (uint8_t)fc;
    out[n++] = (uint8_t)bytes;
    memset(out + n, 0x42, (size_t)data);
    n += data;
    if (s->rtu) {
        uint16_t crc = crc16(out, (size_t)n);
        out[n++] = (uint8_t)crc;
        out[n++] = (uint8_t)(crc >> 8);
    }
    (void)hl;
    if (write(modbus_get_socket(ctx), out, (size_t)n) < 0)
        perror("modbussim: write");
}

static void reply_bad_crc(modbus_t *ctx, const uint8_t *q, int fc, int count)
{
    uint8_t out[300];
    int bytes = fc <= 2 ? (count + 7) / 8 : 2 * count, n = 0;
    out[n++] = q[0];
    out[n++] = (uint8_t)fc;
    out[n++] = (uint8_t)bytes;
    memset(out + n, 0, (size_t)bytes);
    n += bytes;
    out[n++] = 0xDE;
    out[n++] = 0xAD;
    if (write(modbus_get_socket(ctx), out, (size_t)n) < 0)
        perror("modbussim: write");
}

/* 0: answered (or deliberately not); -1: drop the connection. */
static int handle(sim *s, modbus_t *ctx, const uint8_t *q, int len)
{
    int hl = modbus_get_header_length(ctx);
    int unit = q[hl - 1], fc = q[hl], addr = q[hl + 1] << 8 | q[hl + 2], count = q[hl + 3] << 8 | q[hl + 4];
    if (s->log) {
        fprintf(s->log, "%d %d %d %d\n", unit, fc, addr, count);
        fflush(s->log);
    }
    if (!strcmp(s->fault, "silent"))
        return 0;
    if (!strcmp(s->fault, "reset"))
        return -1;
    if (!strcmp(s->fault, "slow"))
        usleep((useconds_t)s->fault_arg * 1000u);
    if (!strcmp(s->fault, "exception")) {
        modbus_reply_exception(ctx, q, (unsigned)s->fault_arg);
        return 0;
    }
    if (fc >= 1 && fc <= 4 && in_hole(s, fc, addr, count)) {
        modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
        return 0;
    }
    if (fc >= 1 && fc <= 4 && !strcmp(s->fault, "short")) {
        reply_short(s, ctx, q, hl, fc, count);
        return 0;
    }
    if (fc >= 1 && fc <= 4 && s->rtu && !strcmp(s->fault, "crc")) {
        reply_bad_crc(ctx, q, fc, count);
        return 0;
    }
    modbus_reply(ctx, q, len, s->map);
    return 0;
}

static void serve_rtu(sim *s, modbus_t *ctx)
{
    uint8_t q[MODBUS_RTU_MAX_ADU_LENGTH];
    if (modbus_connect(ctx) < 0)
        die(modbus_strerror(errno));
    for (;;) {
        int rc = modbus_receive(ctx, q);
        if (rc > 0)
            handle(s, ctx, q, rc);
        else if (rc < 0 && errno != EMBBADCRC && errno != ETIMEDOUT)
            modbus_flush(ctx);
    }
}

static void serve_tcp(sim *s, modbus_t *ctx, const char *port_file)
{
    uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
    struct pollfd fds[MAX_CLIENTS + 1];
    int nfds = 1;
    fds[0].fd = modbus_tcp_listen(ctx, 16);
    fds[0].events = POLLIN;
    if (fds[0].fd < 0)
        die(modbus_strerror(errno));
    if (port_file) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        char tmp[512];
        getsockname(fds[0].fd, (struct sockaddr *)&sa, &sl);
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f)
            die(strerror(errno));
        fprintf(f, "%u\n", ntohs(sa.sin_port));
        fclose(f);
        rename(tmp, port_file);
    }
    for (;;) {
        if (poll(fds, (nfds_t)nfds, -1) < 0 && errno != EINTR)
            die(strerror(errno));
        if (fds[0].revents & POLLIN) {
            int cfd = accept(fds[0].fd, NULL, NULL);
            if (cfd >= 0 && nfds <= MAX_CLIENTS) {
                fds[nfds].fd = cfd;
                fds[nfds++].events = POLLIN;
            } else if (cfd >= 0) {
                close(cfd);
            }
        }
        for (int i = 1; i < nfds; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            modbus_set_socket(ctx, fds[i].fd);
            int rc = modbus_receive(ctx, q);
            if (rc > 0 && handle(s, ctx, q, rc) == 0)
                continue;
            if (rc == 0)
                continue; /* not for us */
            struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close with a RST */
            setsockopt(fds[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(fds[i].fd);
            fds[i--] = fds[--nfds];
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tcp", required_argument, NULL, 't'}, {"rtu", required_argument, NULL, 'r'},
        {"baud", required_argument, NULL, 'b'}, {"parity", required_argument, NULL, 'p'},
        {"unit", required_argument, NULL, 'u'}, {"image", required_argument, NULL, 'i'},
        {"fault", required_argument, NULL, 'f'}, {"log", required_argument, NULL, 'l'},
        {"port-file", required_argument, NULL, 'P'}, {0},
    };
    sim s = {.fault = "none", .unit = -1};
    const char *tcp = NULL, *rtu = NULL, *port_file = NULL;
    int baud = 9600, o;
    char parity = 'N';
    signal(SIGPIPE, SIG_IGN);
    s.map = modbus_mapping_new(TABLE, TABLE, TABLE, TABLE);
    if (!s.map)
        die("out of memory");
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't': tcp = optarg; break;
        case 'r': rtu = optarg; break;
        case 'b': baud = atoi(optarg); break;
        case 'p': parity = optarg[0]; break;
        case 'u': s.unit = atoi(optarg); break;
        case 'i': load_image(&s, optarg); break;
        case 'l':
            if (!(s.log = fopen(optarg, "a")))
                die(strerror(errno));
            break;
        case 'P': port_file = optarg; break;
        case 'f': {
            static char mode[32];
            snprintf(mode, sizeof mode, "%s", optarg);
            char *colon = strchr(mode, ':');
            if (colon) {
                *colon = 0;
                s.fault_arg = atoi(colon + 1);
            }
            s.fault = mode;
            break;
        }
        default: die("usage: see the comment at the top of tests/sim/modbussim.c");
        }
    }
    if (!tcp == !rtu)
        die("give one of --tcp HOST:PORT or --rtu TTY");
    modbus_t *ctx;
    if (rtu) {
        s.rtu = true;
        ctx = modbus_new_rtu(rtu, baud, parity, 8, 1);
        if (!ctx)
            die(modbus_strerror(errno));
        modbus_set_slave(ctx, s.unit >= 0 ? s.unit : 1);
        serve_rtu(&s, ctx);
    } else {
        char host[256];
        snprintf(host, sizeof host, "%s", tcp);
        char *colon = strrchr(host, ':');
        if (!colon)
            die("--tcp HOST:PORT");
        *colon = 0;
        ctx = modbus_new_tcp(host, atoi(colon + 1));
        if (!ctx)
            die(modbus_strerror(errno));
        serve_tcp(&s, ctx, port_file);
    }
    return 0;
}
