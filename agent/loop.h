/*
 * loop.h - the agent's one event loop: file descriptors and timers.
 *
 * In the spirit of Redis's ae.c: epoll for readiness (no FD_SETSIZE
 * ceiling), a binary min-heap of timers on the monotonic clock, and plain
 * callbacks. Every collector and output registers its sockets and timers
 * here, so thousands of devices are polled concurrently by one thread and
 * a silent device only ever costs a timer.
 */
#ifndef EVMON_LOOP_H
#define EVMON_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define EV_READ 1
#define EV_WRITE 2

typedef struct ev_loop ev_loop;
typedef void (*ev_fd_fn)(ev_loop *l, int fd, int events, void *ud);
typedef void (*ev_timer_fn)(ev_loop *l, uint64_t id, void *ud);

ev_loop *ev_loop_new(void);
void ev_loop_free(ev_loop *l);

/* Watch fd for events (EV_READ|EV_WRITE); replaces an existing watch.
 * events == 0 removes it. 0 or -1 (errno set). */
int ev_loop_watch(ev_loop *l, int fd, int events, ev_fd_fn fn, void *ud);
void ev_loop_unwatch(ev_loop *l, int fd);

/* A daemon's signals on the loop: block SIGTERM, SIGINT and SIGHUP, take
 * them from a signalfd watched for reading (fn reads its siginfo), and
 * ignore SIGPIPE. The descriptor (the caller closes it), or -1. */
int ev_loop_watch_signals(ev_loop *l, ev_fd_fn fn, void *ud);

/* Run fn once at now + ms. Returns a timer id (never 0). */
uint64_t ev_loop_after(ev_loop *l, uint64_t ms, ev_timer_fn fn, void *ud);
/* Cancel a pending timer; harmless if it already ran or id is 0. */
void ev_loop_cancel(ev_loop *l, uint64_t id);

/* Monotonic clock in milliseconds / microseconds. */
uint64_t ev_now_ms(void);
uint64_t ev_now_us(void);
/* Wall clock in nanoseconds since the Unix epoch (for timestamps). */
int64_t ev_wall_ns(void);
/* CLOCK_MONOTONIC now + ms, as an absolute time for pthread_cond_timedwait
 * on a condition variable set to the monotonic clock (the output threads). */
struct timespec ev_mono_deadline(uint64_t ms);

/* Run until ev_loop_stop() (from a callback or a signal handler's flag
 * checked by a timer). Returns 0. */
int ev_loop_run(ev_loop *l);
/* Run one iteration, waiting at most max_wait_ms for events. */
void ev_loop_once(ev_loop *l, int max_wait_ms);
void ev_loop_stop(ev_loop *l);
bool ev_loop_stopped(const ev_loop *l);

#endif
