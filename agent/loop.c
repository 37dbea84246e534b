/*
 * loop.c - the agent's one event loop (implements loop.h).
 *
 * Readiness comes from epoll, so the number of sockets is bounded by
 * RLIMIT_NOFILE and not by FD_SETSIZE. Watches live in an array indexed
 * by fd. Timers are a binary min-heap ordered by (deadline, sequence) on
 * CLOCK_MONOTONIC, so timers due at the same time fire in the order they
 * were added. A timer id encodes a slot and that slot's generation:
 * cancelling is a direct lookup plus one O(log n) heap removal, and an id
 * whose timer already ran (or was cancelled) no longer matches its slot.
 *
 * One pass of the loop: wait for events until the earliest timer, run
 * the fd callbacks, then run every timer that was due when the pass
 * started (timers added by those callbacks wait for the next pass, so a
 * zero-delay timer that re-arms itself cannot starve the sockets).
 *
 * The daemons (agent, hub) take their signals as one more descriptor on the
 * loop (ev_loop_watch_signals: a signalfd), so no handler state exists.
 */
#include "agent/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    ev_fd_fn fn;
    void *ud;
    int events; /* 0: not watched */
} fd_watch;

typedef struct {
    uint64_t deadline_us;
    uint64_t seq;       /* insertion order, breaks ties */
    ev_timer_fn fn;
    void *ud;
    uint32_t gen;       /* bumped whenever the slot is freed */
    uint32_t heap_pos;  /* index in heap, or NOT_QUEUED */
    uint32_t next_free; /* free-list link while unused */
} timer_slot;

#define NOT_QUEUED UINT32_MAX
#define MAX_EVENTS 256

struct ev_loop {
    int epfd;
    bool stopped;
    fd_watch *fds;
    size_t nfds;         /* size of fds[] */
    timer_slot *slots;
    size_t nslots;       /* slots in use or on the free list */
    size_t cap_slots;
    uint32_t free_head;  /* first free slot + 1, 0 = none */
    uint32_t *heap;      /* slot indices */
    size_t nheap;
    uint64_t next_seq;
    struct epoll_event events[MAX_EVENTS];
};

uint64_t ev_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t ev_now_ms(void)
{
    return ev_now_us() / 1000u;
}

int64_t ev_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct timespec ev_mono_deadline(uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

ev_loop *ev_loop_new(void)
{
    ev_loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    return l;
}

void ev_loop_free(ev_loop *l)
{
    if (!l)
        return;
    close(l->epfd);
    free(l->fds);
    free(l->slots);
    free(l->heap);
    free(l);
}

/* ---- file descriptors ---- */

static int grow_fds(ev_loop *l, int fd)
{
    if ((size_t)fd < l->nfds)
        return 0;
    size_t n = l->nfds ? l->nfds : 64;
    while (n <= (size_t)fd)
        n *= 2;
    fd_watch *p = realloc(l->fds, n * sizeof *p);
    if (!p)
        return -1;
    memset(p + l->nfds, 0, (n - l->nfds) * sizeof *p);
    l->fds = p;
    l->nfds = n;
    return 0;
}

int ev_loop_watch(ev_loop *l, int fd, int events, ev_fd_fn fn, void *ud)
{
    if (fd < 0 || (events & ~(EV_READ | EV_WRITE))) {
        errno = EINVAL;
        return -1;
    }
    if (events == 0) {
        ev_loop_unwatch(l, fd);
        return 0;
    }
    if (grow_fds(l, fd) < 0) {
        errno = ENOMEM;
        return -1;
    }
    struct epoll_event ee = {0};
    ee.events = (events & EV_READ ? EPOLLIN : 0) | (events & EV_WRITE ? EPOLLOUT : 0);
    ee.data.fd = fd;
    int op = l->fds[fd].events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, fd, &ee) < 0)
        return -1;
    l->fds[fd] = (fd_watch){.fn = fn, .ud = ud, .events = events};
    return 0;
}

void ev_loop_unwatch(ev_loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].events)
        return;
    /* Fails harmlessly when fd was already closed (the kernel dropped it). */
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    l->fds[fd] = (fd_watch){0};
}

/* ---- timers: a min-heap of slot indices ---- */

static bool timer_before(const ev_loop *l, uint32_t a, uint32_t b)
{
    const timer_slot *x = &l->slots[a], *y = &l->slots[b];
    if (x->deadline_us != y->deadline_us)
        return x->deadline_us < y->deadline_us;
    return x->seq < y->seq;
}

static void heap_set(ev_loop *l, size_t pos, uint32_t slot)
{
    l->heap[pos] = slot;
    l->slots[slot].heap_pos = (uint32_t)pos;
}

static void heap_up(ev_loop *l, size_t pos)
{
    uint32_t s = l->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!timer_before(l, s, l->heap[parent]))
            break;
        heap_set(l, pos, l->heap[parent]);
        pos = parent;
    }
    heap_set(l, pos, s);
}

static void heap_down(ev_loop *l, size_t pos)
{
    uint32_t s = l->heap[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= l->nheap)
            break;
        if (child + 1 < l->nheap && timer_before(l, l->heap[child + 1], l->heap[child]))
            child++;
        if (!timer_before(l, l->heap[child], s))
            break;
        heap_set(l, pos, l->heap[child]);
        pos = child;
    }
    heap_set(l, pos, s);
}

static void heap_remove(ev_loop *l, size_t pos)
{
    uint32_t gone = l->heap[pos];
    l->slots[gone].heap_pos = NOT_QUEUED;
    l->nheap--;
    if (pos == l->nheap)
        return;
    heap_set(l, pos, l->heap[l->nheap]);
    if (pos > 0 && timer_before(l, l->heap[pos], l->heap[(pos - 1) / 2]))
        heap_up(l, pos);
    else
        heap_down(l, pos);
}

static void slot_release(ev_loop *l, uint32_t s)
{
    timer_slot *t = &l->slots[s];
    t->gen++;
    if (t->gen == 0)
        t->gen = 1;
    t->fn = NULL;
    t->ud = NULL;
    t->next_free = l->free_head;
    l->free_head = s + 1;
}

static int slot_alloc(ev_loop *l, uint32_t *out)
{
    if (l->free_head) {
        *out = l->free_head - 1;
        l->free_head = l->slots[*out].next_free;
        return 0;
    }
    if (l->nslots == l->cap_slots) {
        size_t n = l->cap_slots ? l->cap_slots * 2 : 64;
        if (n >= NOT_QUEUED)
            return -1;
        timer_slot *p = realloc(l->slots, n * sizeof *p);
        if (!p)
            return -1;
        l->slots = p;
        uint32_t *h = realloc(l->heap, n * sizeof *h);
        if (!h)
            return -1;
        l->heap = h;
        l->cap_slots = n;
    }
    *out = (uint32_t)l->nslots++;
    l->slots[*out] = (timer_slot){.gen = 1, .heap_pos = NOT_QUEUED};
    return 0;
}

static uint64_t timer_id(const ev_loop *l, uint32_t s)
{
    return ((uint64_t)l->slots[s].gen << 32) | s;
}

uint64_t ev_loop_after(ev_loop *l, uint64_t ms, ev_timer_fn fn, void *ud)
{
    uint32_t s;
    if (slot_alloc(l, &s) < 0)
        return 0;
    timer_slot *t = &l->slots[s];
    t->deadline_us = ev_now_us() + ms * 1000u;
    t->seq = l->next_seq++;
    t->fn = fn;
    t->ud = ud;
    l->heap[l->nheap++] = s;
    heap_up(l, l->nheap - 1);
    return timer_id(l, s);
}

void ev_loop_cancel(ev_loop *l, uint64_t id)
{
    uint32_t s = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (id == 0 || s >= l->nslots)
        return;
    timer_slot *t = &l->slots[s];
    if (t->gen != gen || t->heap_pos == NOT_QUEUED)
        return;
    heap_remove(l, t->heap_pos);
    slot_release(l, s);
}

/* Milliseconds until the earliest timer (rounded up), capped by max_wait
 * (negative: no cap). */
static int wait_ms(const ev_loop *l, int max_wait_ms)
{
    if (l->nheap == 0)
        return max_wait_ms;
    uint64_t now = ev_now_us(), due = l->slots[l->heap[0]].deadline_us;
    uint64_t ms = due > now ? (due - now + 999) / 1000 : 0;
    if (max_wait_ms >= 0 && ms > (uint64_t)max_wait_ms)
        return max_wait_ms;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static void run_fd_events(ev_loop *l, int n)
{
    for (int i = 0; i < n; i++) {
        int fd = l->events[i].data.fd;
        uint32_t e = l->events[i].events;
        if ((size_t)fd >= l->nfds)
            continue;
        /* Re-read the watch each time: an earlier callback may have
         * removed or replaced it. */
        fd_watch w = l->fds[fd];
        int ready = 0;
        if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
            ready |= EV_READ;
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            ready |= EV_WRITE;
        ready &= w.events;
        if (ready && w.fn)
            w.fn(l, fd, ready, w.ud);
    }
}

static void run_due_timers(ev_loop *l)
{
    uint64_t now = ev_now_us(), seq_limit = l->next_seq;
    while (l->nheap && !l->stopped) {
        uint32_t s = l->heap[0];
        timer_slot *t = &l->slots[s];
        if (t->deadline_us > now || t->seq >= seq_limit)
            break;
        uint64_t id = timer_id(l, s);
        ev_timer_fn fn = t->fn;
        void *ud = t->ud;
        heap_remove(l, 0);
        slot_release(l, s);
        fn(l, id, ud);
    }
}

void ev_loop_once(ev_loop *l, int max_wait_ms)
{
    int timeout = wait_ms(l, max_wait_ms);
    int n = epoll_wait(l->epfd, l->events, MAX_EVENTS, timeout);
    if (n > 0)
        run_fd_events(l, n);
    run_due_timers(l);
}

int ev_loop_run(ev_loop *l)
{
    while (!l->stopped)
        ev_loop_once(l, -1);
    return 0;
}

void ev_loop_stop(ev_loop *l)
{
    l->stopped = true;
}

bool ev_loop_stopped(const ev_loop *l)
{
    return l->stopped;
}

int ev_loop_watch_signals(ev_loop *l, ev_fd_fn fn, void *ud)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0 || ev_loop_watch(l, fd, EV_READ, fn, ud) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}
