/*
 * backoff.h - exponential backoff with jitter, for retrying a store that
 * failed (HTTP 429/5xx, connection refused, timeouts).
 *
 * The n-th consecutive failure waits a random time in [d/2, d] where
 * d = min(max_ms, base_ms * 2^n) ("equal jitter": never less than half the
 * step, so a flapping store is not hammered, yet agents restarted together
 * spread out). A server's Retry-After is honoured as a floor, capped at
 * EV_RETRY_AFTER_CAP_MS so a bogus header cannot stall an output for days.
 * The random state lives in the struct: no global state, reproducible with
 * a fixed seed.
 */
#ifndef EVMON_BACKOFF_H
#define EVMON_BACKOFF_H

#include <stdint.h>

#define EV_RETRY_AFTER_CAP_MS (10u * 60u * 1000u)

typedef struct {
    unsigned base_ms, max_ms;
    unsigned failures; /* consecutive, since the last reset */
    uint64_t rng;
} ev_backoff;

void ev_backoff_init(ev_backoff *b, unsigned base_ms, unsigned max_ms, uint64_t seed);
/* Record a failure and return how long to wait before the next attempt.
 * retry_after_ms < 0 means the server gave no Retry-After. */
unsigned ev_backoff_next(ev_backoff *b, long long retry_after_ms);
/* A success: the next failure starts from base_ms again. */
void ev_backoff_reset(ev_backoff *b);

#endif
