/*
 * influx_resp.h - what an InfluxDB 1.x /write answer means for the batch.
 *
 * Pure functions (no I/O) so every rule is unit-tested:
 *   2xx           sent
 *   400           rejected: a partial write or bad line protocol. InfluxDB
 *                 kept the rest; the rejected lines are counted, logged and
 *                 never retried (they would fail again).
 *   401, 403      authentication/authorisation: retried with backoff, the
 *                 points kept, one clear log line.
 *   404           database not found: retried with backoff (the points are
 *                 written once someone creates it), with a hint.
 *   413           body too large: the batch is split in two and retried.
 *   anything else (429, 5xx, connection refused, timeouts, other 4xx):
 *                 retried with backoff, honouring Retry-After.
 */
#ifndef EVMON_INFLUX_RESP_H
#define EVMON_INFLUX_RESP_H

#include <stddef.h>
#include <time.h>

typedef enum {
    EV_INF_OK,
    EV_INF_REJECTED,
    EV_INF_AUTH,
    EV_INF_NO_DB,
    EV_INF_TOO_LARGE,
    EV_INF_RETRY,
} ev_inf_verdict;

/* http_status 0 means no HTTP answer at all (connect error, timeout). */
ev_inf_verdict ev_inf_classify(long http_status);

/* Parse a Retry-After value (RFC 9110: delay-seconds or an HTTP-date,
 * compared with now). Milliseconds to wait (0 for a date in the past), or
 * -1 when the value is neither. */
long long ev_retry_after_ms(const char *value, time_t now);

/* Copy the "error" string of an InfluxDB JSON error body
 * ({"error":"..."}), JSON escapes decoded, into out (always
 * NUL-terminated, truncated to outsz-1). 0, or -1 when the body holds no
 * such string (out then holds the raw body, truncated, or ""). */
int ev_inf_error_text(const char *body, size_t len, char *out, size_t outsz);

/* How many of the batch's n lines a 400 answer's error text says were
 * rejected: "partial write: ... dropped=N" plus one per "unable to parse"
 * line; without "partial write" nothing was written, so all n. Never more
 * than n, and at least 1 for a partial write that names no count. */
size_t ev_inf_rejected(const char *error_text, size_t n);

#endif
