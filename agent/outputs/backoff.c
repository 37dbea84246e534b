/*
 * backoff.c - exponential backoff with equal jitter (see backoff.h).
 */
#include "agent/outputs/backoff.h"

void ev_backoff_init(ev_backoff *b, unsigned base_ms, unsigned max_ms, uint64_t seed)
{
    b->base_ms = base_ms ? base_ms : 1;
    b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
    b->failures = 0;
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

void ev_backoff_reset(ev_backoff *b)
{
    b->failures = 0;
}

/* xorshift64*: plenty for spreading retries, and keeps the state local. */
static uint64_t next_random(ev_backoff *b)
{
    uint64_t x = b->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* min(max_ms, base_ms * 2^failures) without overflowing. */
static unsigned step_ms(const ev_backoff *b)
{
    uint64_t d = b->base_ms;
    for (unsigned i = 0; i < b->failures && d < b->max_ms; i++)
        d *= 2;
    return d > b->max_ms ? b->max_ms : (unsigned)d;
}

unsigned ev_backoff_next(ev_backoff *b, long long retry_after_ms)
{
    unsigned d = step_ms(b);
    if (b->failures < 64)
        b->failures++;
    unsigned half = d / 2;
    unsigned wait = half + (unsigned)(next_random(b) % ((uint64_t)(d - half) + 1));
    if (retry_after_ms > 0) {
        unsigned long long ra = (unsigned long long)retry_after_ms;
        if (ra > EV_RETRY_AFTER_CAP_MS)
            ra = EV_RETRY_AFTER_CAP_MS;
        if (ra > wait)
            wait = (unsigned)ra;
    }
    return wait;
}
