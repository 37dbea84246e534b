/*
 * fuzz_spool.c - libFuzzer target: the disk spool's reader
 * (agent/outputs/spool.c) on damaged segments. Each input writes records
 * through the spool (their sizes and bytes from the input), closes it,
 * damages the segment files as the input says (cut at an offset, bytes
 * overwritten: what a crash or a bad disk leaves), opens the spool again
 * and reads everything back with peek/ack. Nothing may crash, leak or hang,
 * and what is read must be some of the records written, in order and
 * byte for byte: a damaged record is cut off, never passed on. Runs in a
 * private directory under /tmp, emptied for every input.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/outputs/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXREC 64

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static unsigned take(input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static char dir[64];

static void empty_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
}

static void remove_dir(void)
{
    empty_dir();
    rmdir(dir);
}

/* Cut or overwrite every segment file as the input says. */
static void damage(input *in)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, "seg-", 4))
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDWR);
        off_t len = fd < 0 ? 0 : lseek(fd, 0, SEEK_END);
        unsigned what = take(in);
        if (len > 0 && (what & 1) && ftruncate(fd, (off_t)((take(in) << 8 | take(in)) % len)) < 0)
            abort();
        for (unsigned k = (what >> 1) & 3; len > 0 && k; k--) {
            uint8_t b = (uint8_t)take(in);
            if (pwrite(fd, &b, 1, (off_t)((take(in) << 8 | take(in)) % len)) != 1)
                abort();
        }
        if (fd >= 0)
            close(fd);
    }
    if (d)
        closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    static char rec[MAXREC][256];
    static size_t reclen[MAXREC];
    if (!dir[0]) {
        ev_log_set_level(0);
        snprintf(dir, sizeof dir, "/tmp/evmon-fuzz-spool.%d", (int)getpid());
        if (mkdir(dir, 0700) < 0)
            abort();
        atexit(remove_dir);
    }
    empty_dir();
    ev_spool_opts o = {.max_bytes = 1 << 20, .segment_bytes = 4096, .fsync = EV_FSYNC_NEVER};
    ev_spool *s = ev_spool_open(dir, "fuzz", &o);
    if (!s)
        abort();
    size_t nrec = take(&in) % MAXREC;
    for (size_t i = 0; i < nrec; i++) {
        reclen[i] = 1 + take(&in);
        for (size_t k = 0; k < reclen[i]; k++)
            rec[i][k] = (char)take(&in);
        if (ev_spool_append(s, rec[i], reclen[i], 1) < 0)
            abort();
    }
    ev_spool_close(s);
    damage(&in);

    s = ev_spool_open(dir, "fuzz", &o);
    if (!s)
        abort();
    size_t next = 0; /* records read must be written ones, in order */
    for (int rounds = 0; rounds <= MAXREC; rounds++) {
        ev_spool_rec *out[8];
        ev_spool_pos pos;
        size_t n = ev_spool_peek(s, out, 8, 1000, &pos);
        if (!n)
            break;
        uint64_t pts = 0;
        for (size_t i = 0; i < n; i++) {
            while (next < nrec && (reclen[next] != out[i]->len || memcmp(rec[next], out[i]->data, out[i]->len)))
                next++;
            if (next++ >= nrec)
                abort(); /* a record nobody wrote */
            pts += out[i]->npoints;
            free(out[i]);
        }
        ev_spool_ack(s, pos, pts);
    }
    if (!ev_spool_empty(s))
        abort(); /* everything read is consumed */
    ev_spool_close(s);
    return 0;
}
