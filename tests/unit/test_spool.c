/*
 * test_spool.c - the on-disk spool (agent/outputs/spool.c) on a real
 * directory: records come back in order and survive a reopen; what was
 * acknowledged is not read again after a reopen (the cursor); a torn last
 * record (a crash mid-write) and a flipped byte are detected, cut off and
 * counted, and appending goes on after them; the quota drops whole oldest
 * segments and counts their points exactly; points acknowledged after the
 * quota dropped them move back from dropped to replayed; a record bigger
 * than the quota is refused and counted; a second opener of the same
 * directory is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/outputs/spool.h"

typedef struct {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/evmon-spool-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    ev_log_set_level(EV_LOG_ERR - 1); /* quiet: the warnings are expected */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static ev_spool *open_spool(const fixture *f, uint64_t max, uint64_t seg)
{
    ev_spool_opts o = {.max_bytes = max, .segment_bytes = seg, .fsync = EV_FSYNC_PERIODIC};
    ev_spool *s = ev_spool_open(f->dir, "test", &o);
    assert_non_null(s);
    return s;
}

/* Append "rec-<i>" with i points for i in [from, to). */
static void append_range(ev_spool *s, int from, int to)
{
    for (int i = from; i < to; i++) {
        char b[32];
        int n = snprintf(b, sizeof b, "rec-%d", i);
        assert_int_equal(ev_spool_append(s, b, (size_t)n, (uint32_t)i), 0);
    }
}

/* Peek one record: its number, or -1 when empty. Acks it when ack. */
static int take_one(ev_spool *s, bool ack)
{
    ev_spool_rec *r[1];
    ev_spool_pos pos;
    if (ev_spool_peek(s, r, 1, 1000000, &pos) == 0)
        return -1;
    int i = -2;
    sscanf(r[0]->data, "rec-%d", &i);
    assert_int_equal(r[0]->npoints, (uint32_t)i);
    if (ack)
        ev_spool_ack(s, pos, r[0]->npoints);
    free(r[0]);
    return i;
}

/* The one segment file's path. */
static void segment_path(const fixture *f, char *out, size_t n)
{
    DIR *d = opendir(f->dir);
    struct dirent *e;
    out[0] = '\0';
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "seg-", 4) == 0)
            snprintf(out, n, "%s/%s", f->dir, e->d_name);
    closedir(d);
    assert_true(out[0]);
}

static void test_order_reopen_and_cursor(void **state)
{
    fixture *f = *state;
    ev_spool *s = open_spool(f, 1 << 20, 0);
    assert_true(ev_spool_empty(s));
    append_range(s, 1, 11); /* 1..10: 55 points */
    ev_spool_stats st;
    ev_spool_stats_get(s, &st);
    assert_int_equal(st.records, 10);
    assert_int_equal(st.points, 55);

    /* a peek of several records stops at max_points (but takes one at least) */
    ev_spool_rec *r[8];
    ev_spool_pos pos;
    assert_int_equal(ev_spool_peek(s, r, 8, 5, &pos), 2); /* 1 + 2 <= 5, + 3 > 5 */
    assert_string_equal(r[0]->data, "rec-1");
    assert_string_equal(r[1]->data, "rec-2");
    free(r[0]);
    free(r[1]);
    /* not acknowledged: read again */
    assert_int_equal(take_one(s, true), 1);
    assert_int_equal(take_one(s, true), 2);
    assert_int_equal(take_one(s, false), 3);
    ev_spool_close(s);

    s = open_spool(f, 1 << 20, 0);
    ev_spool_stats_get(s, &st);
    assert_int_equal(st.records, 8); /* 1 and 2 were acknowledged */
    assert_int_equal(st.found_points, 55 - 3);
    for (int i = 3; i <= 10; i++)
        assert_int_equal(take_one(s, true), i);
    assert_int_equal(take_one(s, true), -1);
    assert_true(ev_spool_empty(s));
    ev_spool_stats_get(s, &st);
    assert_int_equal(st.replayed_points, 55 - 3);
    assert_int_equal(st.bytes, 0); /* read through: the segment is gone */
    append_range(s, 20, 22);
    assert_int_equal(take_one(s, true), 20);
    ev_spool_close(s);
}

static void test_torn_last_record_cut_off(void **state)
{
    fixture *f = *state;
    ev_spool *s = open_spool(f, 1 << 20, 0);
    append_range(s, 1, 5); /* records of 16 + 5 bytes */
    ev_spool_close(s);
    char seg[512];
    segment_path(f, seg, sizeof seg);
    struct stat st0 = {.st_size = 3 * 21};
    /* a crash in the middle of the 4th record: its header and 2 of its bytes */
    assert_int_equal(truncate(seg, st0.st_size + 16 + 2), 0);

    s = open_spool(f, 1 << 20, 0);
    ev_spool_stats st;
    ev_spool_stats_get(s, &st);
    assert_int_equal(st.torn, 1);
    assert_int_equal(st.records, 3);
    assert_int_equal(st.points, 6);
    struct stat st1;
    stat(seg, &st1);
    assert_int_equal(st1.st_size, st0.st_size); /* the torn bytes are gone */
    append_range(s, 7, 8);                      /* and appending goes on after it */
    assert_int_equal(take_one(s, true), 1);
    assert_int_equal(take_one(s, true), 2);
    assert_int_equal(take_one(s, true), 3);
    assert_int_equal(take_one(s, true), 7);
    assert_int_equal(take_one(s, true), -1);
    ev_spool_close(s);
}

static void test_flipped_byte_detected(void **state)
{
    fixture *f = *state;
    ev_spool *s = open_spool(f, 1 << 20, 0);
    append_range(s, 1, 4);
    ev_spool_close(s);
    char seg[512];
    segment_path(f, seg, sizeof seg);
    struct stat st0;
    stat(seg, &st0);
    int fd = open(seg, O_RDWR);
    char c;
    assert_int_equal(pread(fd, &c, 1, st0.st_size - 1), 1);
    c ^= 0x20; /* "rec-3" -> "rec-\x13" in the last record */
    assert_int_equal(pwrite(fd, &c, 1, st0.st_size - 1), 1);
    close(fd);

    s = open_spool(f, 1 << 20, 0);
    ev_spool_stats st;
    ev_spool_stats_get(s, &st);
    assert_int_equal(st.torn, 1);
    assert_int_equal(st.records, 2);
    assert_int_equal(take_one(s, true), 1);
    assert_int_equal(take_one(s, true), 2);
    assert_int_equal(take_one(s, true), -1);
    ev_spool_close(s);
}

static void test_quota_drops_oldest_exactly(void **state)
{
    fixture *f = *state;
    /* records of 16 + 100 bytes; 4 KiB segments hold 35 each; 64 KiB quota */
    ev_spool *s = open_spool(f, 65536, 4096);
    char rec[100];
    uint64_t total = 0;
    int n = 2000;
    for (int i = 0; i < n; i++) {
        memset(rec, 'x', sizeof rec);
        snprintf(rec, sizeof rec, "rec-%d", i);
        assert_int_equal(ev_spool_append(s, rec, sizeof rec, (uint32_t)(i % 7 + 1)), 0);
        total += (uint64_t)(i % 7 + 1);
    }
    ev_spool_stats st;
    ev_spool_stats_get(s, &st);
    assert_true(st.bytes <= 65536);
    assert_true(st.dropped_points > 0);
    assert_int_equal(st.points + st.dropped_points, total); /* nothing lost unaccounted */

    /* what is left is the newest, contiguous, in order */
    uint64_t left = 0;
    int first = -1, prev = -1, i;
    ev_spool_rec *r[1];
    ev_spool_pos pos;
    while (ev_spool_peek(s, r, 1, 1000, &pos) == 1) {
        sscanf(r[0]->data, "rec-%d", &i);
        if (first < 0)
            first = i;
        else
            assert_int_equal(i, prev + 1);
        prev = i;
        left += r[0]->npoints;
        ev_spool_ack(s, pos, r[0]->npoints);
        free(r[0]);
    }
    assert_int_equal(prev, n - 1);
    assert_true(first > 0);
    assert_int_equal(left, st.points);
    uint64_t dropped = 0;
    for (int k = 0; k < first; k++)
        dropped += (uint64_t)(k % 7 + 1);
    assert_int_equal(dropped, st.dropped_points); /* exactly the oldest records */
    ev_spool_close(s);
}

static void test_ack_after_drop_counts_replayed(void **state)
{
    fixture *f = *state;
    ev_spool *s = open_spool(f, 65536, 4096);
    char rec[100] = "first";
    assert_int_equal(ev_spool_append(s, rec, sizeof rec, 5), 0);
    ev_spool_rec *r[1];
    ev_spool_pos pos;
    assert_int_equal(ev_spool_peek(s, r, 1, 100, &pos), 1);
    free(r[0]);
    /* while "first" is being sent, the quota drops its segment */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ev_spool_append(s, rec, sizeof rec, 1), 0);
    ev_spool_stats st;
    ev_spool_stats_get(s, &st);
    uint64_t dropped = st.dropped_points;
    assert_true(dropped >= 5);
    ev_spool_ack(s, pos, 5); /* delivered after all */
    ev_spool_stats_get(s, &st);
    assert_int_equal(st.dropped_points, dropped - 5);
    assert_int_equal(st.replayed_points, 5);
    ev_spool_close(s);
}

static void test_too_big_and_locked(void **state)
{
    fixture *f = *state;
    ev_spool *s = open_spool(f, 65536, 0);
    char *big = calloc(1, 70000);
    assert_int_equal(ev_spool_append(s, big, 70000, 9), -1);
    free(big);
    ev_spool_stats st;
    ev_spool_stats_get(s, &st);
    assert_int_equal(st.dropped_points, 9);
    assert_int_equal(st.records, 0);

    ev_spool_opts o = {.max_bytes = 65536};
    assert_null(ev_spool_open(f->dir, "second", &o)); /* one process per directory */
    ev_spool_close(s);
    ev_spool *again = ev_spool_open(f->dir, "again", &o); /* free once closed */
    assert_non_null(again);
    ev_spool_close(again);
}

static void test_periodic_fsync_due(void **state)
{
    fixture *f = *state;
    ev_spool_opts o = {.max_bytes = 1 << 20, .fsync = EV_FSYNC_PERIODIC, .fsync_interval_ms = 60000};
    ev_spool *s = ev_spool_open(f->dir, "test", &o);
    assert_int_equal(ev_spool_sync_due_ms(s), -1); /* nothing written */
    append_range(s, 1, 2);
    long due = ev_spool_sync_due_ms(s);
    assert_true(due > 0 && due <= 60000);
    ev_spool_sync(s);
    assert_int_equal(ev_spool_sync_due_ms(s), -1);
    ev_spool_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_reopen_and_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_last_record_cut_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_drops_oldest_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_after_drop_counts_replayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big_and_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_fsync_due, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
