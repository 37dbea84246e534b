/*
 * test_loop.c - the event loop (agent/loop.c): timer order, cancel, fd
 * readiness, many timers, stop. Waits are on conditions with deadlines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "agent/loop.h"

/* Run the loop until *flag becomes true or deadline_ms passes. */
static bool run_until(ev_loop *l, const bool *flag, uint64_t deadline_ms)
{
    uint64_t end = ev_now_ms() + deadline_ms;
    while (!*flag && ev_now_ms() < end)
        ev_loop_once(l, 10);
    return *flag;
}

typedef struct {
    int order[64];
    int n;
    bool done;
    int want;
} fire_log;

typedef struct {
    fire_log *log;
    int tag;
} fire_arg;

static void on_fire(ev_loop *l, uint64_t id, void *ud)
{
    (void)l;
    (void)id;
    fire_arg *a = ud;
    a->log->order[a->log->n++] = a->tag;
    if (a->log->n == a->log->want)
        a->log->done = true;
}

static void timers_fire_in_deadline_order(void **state)
{
    (void)state;
    ev_loop *l = ev_loop_new();
    assert_non_null(l);
    fire_log log = {.want = 4};
    fire_arg a[4] = {{&log, 30}, {&log, 10}, {&log, 20}, {&log, 0}};
    assert_int_not_equal(ev_loop_after(l, 30, on_fire, &a[0]), 0);
    assert_int_not_equal(ev_loop_after(l, 10, on_fire, &a[1]), 0);
    assert_int_not_equal(ev_loop_after(l, 20, on_fire, &a[2]), 0);
    assert_int_not_equal(ev_loop_after(l, 0, on_fire, &a[3]), 0);
    assert_true(run_until(l, &log.done, 2000));
    assert_int_equal(log.order[0], 0);
    assert_int_equal(log.order[1], 10);
    assert_int_equal(log.order[2], 20);
    assert_int_equal(log.order[3], 30);
    ev_loop_free(l);
}

static void equal_deadlines_fire_in_insertion_order(void **state)
{
    (void)state;
    ev_loop *l = ev_loop_new();
    fire_log log = {.want = 8};
    fire_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (fire_arg){&log, i};
        ev_loop_after(l, 5, on_fire, &a[i]);
    }
    assert_true(run_until(l, &log.done, 2000));
    for (int i = 0; i < 8; i++)
        assert_int_equal(log.order[i], i);
    ev_loop_free(l);
}

static void timer_does_not_fire_early(void **state)
{
    (void)state;
    ev_loop *l = ev_loop_new();
    fire_log log = {.want = 1};
    fire_arg a = {&log, 1};
    uint64_t t0 = ev_now_us();
    ev_loop_after(l, 40, on_fire, &a);
    assert_true(run_until(l, &log.done, 2000));
    assert_true(ev_now_us() - t0 >= 40000);
    ev_loop_free(l);
}

static void cancel_prevents_firing(void **state)
{
    (void)state;
    ev_loop *l = ev_loop_new();
    fire_log log = {.want = 2};
    fire_arg a[3] = {{&log, 1}, {&log, 2}, {&log, 3}};
    ev_loop_after(l, 5, on_fire, &a[0]);
    uint64_t id = ev_loop_after(l, 10, on_fire, &a[1]);
    ev_loop_after(l, 20, on_fire, &a[2]);
    ev_loop_cancel(l, id);
    ev_loop_cancel(l, id); /* twice: harmless */
    ev_loop_cancel(l, 0);  /* id 0: harmless */
    assert_true(run_until(l, &log.done, 2000));
    assert_int_equal(log.n, 2);
    assert_int_equal(log.order[0], 1);
    assert_int_equal(log.order[1], 3);
    ev_loop_free(l);
}

static void cancel_after_fire_does_not_hit_reused_slot(void **state)
{
    (void)state;
    ev_loop *l = ev_loop_new();
    fire_log log = {.want = 1};
    fire_arg a = {&log, 1}, b = {&log, 2};
    uint64_t old = ev_loop_after(l, 0, on_fire, &a);
    assert_true(run_until(l, &log.done, 1000));
    /* The slot is free again; the next timer reuses it with a new id. */
    log.done = false;
    log.want = 2;
    uint64_t fresh = ev_loop_after(l, 1, on_fire, &b);
    assert_int_not_equal(old, fresh);
    ev_loop_cancel(l, old); /* stale id must not cancel the new timer */
    assert_true(run_until(l, &log.done, 1000));
    assert_int_equal(log.order[1], 2);
    ev_loop_free(l);
}

typedef struct {
    ev_loop *l;
    int fired;
    bool done;
} rearm_state;

static void rearm_zero(ev_loop *l, uint64_t id, void *ud)
{
    (void)id;
    rearm_state *s = ud;
    s->fired++;
    ev_loop_after(l, 0, rearm_zero, s); /* must wait for the next pass */
}

static void zero_delay_rearm_runs_once_per_pass(void **state)
{
    (void)state;
    ev_loop *l = ev_loop_new();
    rearm_state s = {.l = l};
    ev_loop_after(l, 0, rearm_zero, &s);
    ev_loop_once(l, 0);
    assert_int_equal(s.fired, 1);
    ev_loop_once(l, 0);
    assert_int_equal(s.fired, 2);
    ev_loop_free(l);
}

/* Many timers with pseudo-random delays, every third one cancelled: each
 * other one fires exactly once, never before its delay, and in deadline
 * order. A timer's true deadline lies in [lo, hi]: the clock read just
 * before and just after adding it, plus its delay; consecutive firings a,
 * b are out of order only if lo(a) > hi(b). */
typedef struct {
    uint64_t *lo, *hi;
    uint64_t prev_lo;
    int fired, want, disorder, early;
    bool done;
    unsigned char *seen;
} many_state;

typedef struct {
    many_state *s;
    int i;
} many_arg;

static void on_many(ev_loop *l, uint64_t id, void *ud)
{
    (void)l;
    (void)id;
    many_arg *a = ud;
    many_state *s = a->s;
    if (s->fired > 0 && s->prev_lo > s->hi[a->i])
        s->disorder++;
    if (ev_now_us() < s->lo[a->i])
        s->early++;
    s->prev_lo = s->lo[a->i];
    s->seen[a->i]++;
    if (++s->fired == s->want)
        s->done = true;
}

static void many_timers(void **state)
{
    (void)state;
    enum { N = 20000 };
    ev_loop *l = ev_loop_new();
    many_state s = {0};
    s.lo = calloc(N, sizeof *s.lo);
    s.hi = calloc(N, sizeof *s.hi);
    s.seen = calloc(N, 1);
    many_arg *args = calloc(N, sizeof *args);
    uint64_t *ids = calloc(N, sizeof *ids);
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        uint64_t ms = (seed >> 16) % 50;
        args[i] = (many_arg){&s, i};
        s.lo[i] = ev_now_us() + ms * 1000;
        ids[i] = ev_loop_after(l, ms, on_many, &args[i]);
        s.hi[i] = ev_now_us() + ms * 1000;
        assert_int_not_equal(ids[i], 0);
    }
    int cancelled = 0;
    for (int i = 0; i < N; i += 3, cancelled++)
        ev_loop_cancel(l, ids[i]);
    s.want = N - cancelled;
    assert_true(run_until(l, &s.done, 10000));
    for (int i = 0; i < N; i++)
        assert_int_equal(s.seen[i], i % 3 == 0 ? 0 : 1);
    assert_int_equal(s.fired, s.want);
    assert_int_equal(s.disorder, 0);
    assert_int_equal(s.early, 0);
    /* Nothing left: a pass with no timers returns after its wait. */
    ev_loop_once(l, 0);
    assert_int_equal(s.fired, s.want);
    free(s.lo);
    free(s.hi);
    free(s.seen);
    free(args);
    free(ids);
    ev_loop_free(l);
}

typedef struct {
    int fd;
    int events;
    int calls;
    char buf[16];
    bool done;
} fd_state;

static void on_readable(ev_loop *l, int fd, int events, void *ud)
{
    (void)l;
    fd_state *s = ud;
    s->events = events;
    s->calls++;
    ssize_t n = read(fd, s->buf, sizeof s->buf - 1);
    if (n > 0)
        s->buf[n] = 0;
    s->done = true;
}

static void fd_readiness(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
    ev_loop *l = ev_loop_new();
    fd_state s = {.fd = sv[0]};
    assert_int_equal(ev_loop_watch(l, sv[0], EV_READ, on_readable, &s), 0);
    /* Nothing to read yet: one pass with a short wait does not call back. */
    ev_loop_once(l, 5);
    assert_int_equal(s.calls, 0);
    assert_int_equal(write(sv[1], "ping", 4), 4);
    assert_true(run_until(l, &s.done, 1000));
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.events, EV_READ);
    assert_string_equal(s.buf, "ping");
    /* After unwatch, new data is not delivered. */
    ev_loop_unwatch(l, sv[0]);
    assert_int_equal(write(sv[1], "pong", 4), 4);
    ev_loop_once(l, 5);
    assert_int_equal(s.calls, 1);
    /* Watching again delivers it. */
    s.done = false;
    assert_int_equal(ev_loop_watch(l, sv[0], EV_READ, on_readable, &s), 0);
    assert_true(run_until(l, &s.done, 1000));
    assert_string_equal(s.buf, "pong");
    ev_loop_free(l);
    close(sv[0]);
    close(sv[1]);
}

static void on_writable(ev_loop *l, int fd, int events, void *ud)
{
    fd_state *s = ud;
    s->events = events;
    s->calls++;
    s->done = true;
    ev_loop_watch(l, fd, 0, NULL, NULL); /* events 0 removes the watch */
}

static void fd_writable_and_remove_from_callback(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    ev_loop *l = ev_loop_new();
    fd_state s = {0};
    assert_int_equal(ev_loop_watch(l, sv[0], EV_WRITE, on_writable, &s), 0);
    assert_true(run_until(l, &s.done, 1000));
    assert_int_equal(s.events, EV_WRITE);
    ev_loop_once(l, 5);
    assert_int_equal(s.calls, 1); /* removed by the callback */
    ev_loop_free(l);
    close(sv[0]);
    close(sv[1]);
}

static void watch_rejects_bad_fd(void **state)
{
    (void)state;
    ev_loop *l = ev_loop_new();
    fd_state s = {0};
    assert_int_equal(ev_loop_watch(l, -1, EV_READ, on_readable, &s), -1);
    ev_loop_unwatch(l, 12345); /* never watched: harmless */
    ev_loop_free(l);
}

/* Many sockets, beyond FD_SETSIZE when the fd limit allows: each gets
 * its own callback. */
typedef struct {
    int hits;
    int want;
    bool done;
} many_fd_state;

static void on_many_fd(ev_loop *l, int fd, int events, void *ud)
{
    char c;
    many_fd_state *s = ud;
    if (read(fd, &c, 1) == 1)
        s->hits++;
    ev_loop_unwatch(l, fd);
    if (s->hits == s->want)
        s->done = true;
}

static void many_fds(void **state)
{
    (void)state;
    enum { PAIRS = 700 }; /* 1400 fds: past FD_SETSIZE (1024) */
    int (*sv)[2] = calloc(PAIRS, sizeof *sv);
    ev_loop *l = ev_loop_new();
    many_fd_state s = {0};
    int made = 0;
    for (; made < PAIRS; made++)
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv[made]) < 0)
            break; /* fd limit: test what we could open */
    assert_true(made > 0);
    s.want = made;
    for (int i = 0; i < made; i++) {
        assert_int_equal(ev_loop_watch(l, sv[i][0], EV_READ, on_many_fd, &s), 0);
        assert_int_equal(write(sv[i][1], "x", 1), 1);
    }
    assert_true(run_until(l, &s.done, 3000));
    assert_int_equal(s.hits, made);
    for (int i = 0; i < made; i++) {
        close(sv[i][0]);
        close(sv[i][1]);
    }
    free(sv);
    ev_loop_free(l);
}

static void stop_from_timer(ev_loop *l, uint64_t id, void *ud)
{
    (void)id;
    (void)ud;
    ev_loop_stop(l);
}

static void run_returns_after_stop(void **state)
{
    (void)state;
    ev_loop *l = ev_loop_new();
    assert_false(ev_loop_stopped(l));
    ev_loop_after(l, 5, stop_from_timer, NULL);
    assert_int_equal(ev_loop_run(l), 0);
    assert_true(ev_loop_stopped(l));
    ev_loop_free(l);
}

static void clocks_move_forward(void **state)
{
    (void)state;
    uint64_t a = ev_now_us();
    uint64_t b = ev_now_us();
    assert_true(b >= a);
    assert_true(ev_now_ms() >= a / 1000);
    /* Wall clock: after 2020-01-01 and within a sane range. */
    assert_true(ev_wall_ns() > INT64_C(1577836800) * 1000000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_deadline_order),
        cmocka_unit_test(equal_deadlines_fire_in_insertion_order),
        cmocka_unit_test(timer_does_not_fire_early),
        cmocka_unit_test(cancel_prevents_firing),
        cmocka_unit_test(cancel_after_fire_does_not_hit_reused_slot),
        cmocka_unit_test(zero_delay_rearm_runs_once_per_pass),
        cmocka_unit_test(many_timers),
        cmocka_unit_test(fd_readiness),
        cmocka_unit_test(fd_writable_and_remove_from_callback),
        cmocka_unit_test(watch_rejects_bad_fd),
        cmocka_unit_test(many_fds),
        cmocka_unit_test(run_returns_after_stop),
        cmocka_unit_test(clocks_move_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
