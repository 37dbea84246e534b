/*
 * test_influx_lineq.c - the InfluxDB output's bounded line queue: FIFO
 * order, the oldest dropped when full, lines in flight counted against the
 * bound and never displaced, and the gzip body round-trips through zlib.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "agent/outputs/gzip.h"
#include "agent/outputs/lineq.h"

static void push_n(ev_lineq *q, int from, int to, int *dropped)
{
    for (int i = from; i < to; i++) {
        char l[32];
        int n = snprintf(l, sizeof l, "m v=%d\n", i);
        ev_lineq_result rc = ev_lineq_push(q, l, (size_t)n);
        assert_true(rc != EV_LINEQ_NOMEM);
        *dropped += rc != EV_LINEQ_QUEUED;
    }
}

static void expect_take(ev_lineq *q, size_t max, const int *want, size_t nwant)
{
    ev_line *got[64];
    assert_int_equal(ev_lineq_take(q, got, max), nwant);
    for (size_t i = 0; i < nwant; i++) {
        char l[32];
        int n = snprintf(l, sizeof l, "m v=%d\n", want[i]);
        assert_int_equal(got[i]->len, n);
        assert_memory_equal(got[i]->s, l, (size_t)n);
        free(got[i]);
    }
}

static void test_fifo_and_growth(void **state)
{
    ev_lineq q;
    ev_lineq_init(&q, 1000);
    int dropped = 0;
    push_n(&q, 0, 300, &dropped); /* past the initial ring size */
    assert_int_equal(dropped, 0);
    assert_int_equal(ev_lineq_len(&q), 300);
    int want[64];
    for (int i = 0; i < 64; i++)
        want[i] = i;
    expect_take(&q, 64, want, 64);
    push_n(&q, 300, 310, &dropped); /* wraps around the ring */
    for (int i = 0; i < 64; i++)
        want[i] = 64 + i;
    expect_take(&q, 64, want, 64);
    assert_int_equal(ev_lineq_len(&q), 300 - 128 + 10);
    ev_lineq_free(&q);
    assert_int_equal(ev_lineq_len(&q), 0);
}

static void test_full_drops_oldest(void **state)
{
    ev_lineq q;
    ev_lineq_init(&q, 5);
    int dropped = 0;
    push_n(&q, 0, 8, &dropped);
    assert_int_equal(dropped, 3);
    assert_int_equal(ev_lineq_len(&q), 5);
    int want[] = {3, 4, 5, 6, 7};
    expect_take(&q, 10, want, 5);
    ev_lineq_free(&q);
}

static void test_in_flight_counts_and_is_kept(void **state)
{
    ev_lineq q;
    ev_lineq_init(&q, 5);
    int dropped = 0;
    push_n(&q, 0, 3, &dropped);
    ev_line *flight[3];
    assert_int_equal(ev_lineq_take(&q, flight, 3), 3);
    q.reserved = 3; /* the sender holds 0..2 */
    push_n(&q, 3, 7, &dropped); /* room for 2: 3,4 dropped for 5,6 */
    assert_int_equal(dropped, 2);
    int want[] = {5, 6};
    expect_take(&q, 10, want, 2);
    q.reserved = 5; /* nothing queued, all in flight: the newest is refused */
    assert_int_equal(ev_lineq_push(&q, "x\n", 2), EV_LINEQ_REFUSED);
    assert_int_equal(ev_lineq_len(&q), 0);
    for (int i = 0; i < 3; i++)
        free(flight[i]);
    q.reserved = 0;
    ev_lineq_free(&q);
}

static void test_gzip_round_trip(void **state)
{
    char text[20000];
    size_t len = 0;
    for (int i = 0; len < sizeof text - 64; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "power,device=pdu-%d v=%d\n", i % 7, i);
    ev_buf gz;
    ev_buf_init(&gz);
    assert_int_equal(ev_gzip(&gz, text, len), 0);
    assert_true(gz.len > 18 && gz.len < len / 3);
    assert_int_equal((unsigned char)gz.p[0], 0x1f); /* gzip magic */
    assert_int_equal((unsigned char)gz.p[1], 0x8b);

    char back[sizeof text];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)gz.p;
    zs.avail_in = (uInt)gz.len;
    zs.next_out = (Bytef *)back;
    zs.avail_out = sizeof back;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, len);
    assert_memory_equal(back, text, len);
    inflateEnd(&zs);

    assert_int_equal(ev_gzip(&gz, "", 0), 0); /* empty body: a valid empty stream */
    assert_true(gz.len >= 18);
    ev_buf_free(&gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_growth),
        cmocka_unit_test(test_full_drops_oldest),
        cmocka_unit_test(test_in_flight_counts_and_is_kept),
        cmocka_unit_test(test_gzip_round_trip),
    };
    return cmocka_run_group_tests_name("influx_lineq", tests, NULL, NULL);
}
