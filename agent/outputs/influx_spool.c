/*
 * influx_spool.c - store and forward for the InfluxDB output
 * (influx_priv.h): lines the store cannot take go to the spool (spool.h)
 * as records of whole lines, and come back as a flight of lines to replay.
 * A replayed flight stays on disk until every line of it is settled
 * (influx.c acks it then), so a crash mid-replay sends it again rather than
 * losing it; InfluxDB keeps one point per series and timestamp, so nothing
 * doubles.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/buf.h"
#include "agent/log.h"
#include "agent/outputs/influx_priv.h"

/* Append lines[0..n) to the spool as records of at most batch_size lines
 * and ev_spool_record_max() bytes.
 * Takes ownership of the lines. Under mu. */
void ev_influx_spill_lines(ev_influx *o, ev_line **lines, size_t n)
{
    ev_buf rec;
    ev_buf_init(&rec);
    size_t max = ev_spool_record_max(o->spool);
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        ev_buf_reset(&rec);
        for (; i < n && k < o->batch_size && (k == 0 || rec.len + lines[i]->len <= max); i++, k++) {
            ev_buf_put(&rec, lines[i]->s, lines[i]->len);
            free(lines[i]);
        }
        if (rec.oom) {
            o->dropped += k;
            ev_buf_free(&rec);
            continue;
        }
        ev_spool_append(o->spool, rec.p, rec.len, (uint32_t)k); /* failures are counted there */
    }
    ev_buf_free(&rec);
}

/* Move the memory queue to the spool (the store is down). Under mu. */
void ev_influx_spill_memory(ev_influx *o)
{
    ev_line *batch[256];
    size_t k;
    while ((k = ev_lineq_take(&o->q, batch, 256)) > 0)
        ev_influx_spill_lines(o, batch, k);
}

/* Append encoded text (lines ending at ends[]) to the spool. Under mu. */
void ev_influx_spill_text(ev_influx *o, const char *text, const size_t *ends, size_t n)
{
    size_t max = ev_spool_record_max(o->spool);
    for (size_t i = 0, start = 0; i < n;) {
        size_t k = 1; /* lines in this record: up to batch_size and max bytes */
        while (i + k < n && k < o->batch_size && ends[i + k] - start <= max)
            k++;
        size_t end = ends[i + k - 1];
        ev_spool_append(o->spool, text + start, end - start, (uint32_t)k);
        start = end;
        i += k;
    }
}

/* The store is down: everything goes to disk from now on. Under mu. */
void ev_influx_start_spilling(ev_influx *o)
{
    if (!o->spool || o->spilling)
        return;
    o->spilling = true;
    ev_influx_spill_memory(o);
}

/* The oldest spooled records as lines in flight. Under mu. false when none. */
bool ev_influx_load_replay(ev_influx *o)
{
    ev_spool_rec **recs = calloc(o->batch_size, sizeof *recs);
    if (!recs)
        return false;
    size_t n = ev_spool_peek(o->spool, recs, o->batch_size, o->batch_size, &o->replay_pos);
    size_t lines = 0;
    o->replay_pts = 0;
    for (size_t i = 0; i < n; i++) {
        o->replay_pts += recs[i]->npoints;
        const char *p = recs[i]->data, *end = p + recs[i]->len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
            if (lines == o->flight_cap) { /* a record from a run with a larger batch_size */
                ev_line **f = realloc(o->flight, 2 * o->flight_cap * sizeof *f);
                if (!f)
                    break;
                o->flight = f;
                o->flight_cap *= 2;
            }
            ev_line *l = malloc(sizeof *l + len);
            if (l) {
                l->len = (uint32_t)len;
                memcpy(l->s, p, len);
                o->flight[lines++] = l;
            }
            p += len;
        }
        free(recs[i]);
    }
    free(recs);
    if (!n)
        return false;
    o->flight_pos = 0;
    o->flight_left = lines;
    o->flight_replay = true;
    o->replay_settled = 0;
    if (lines == 0) /* records without lines: nothing to send */
        ev_spool_ack(o->spool, o->replay_pos, o->replay_pts);
    return lines > 0;
}

/* The spool, when a directory is configured. -1 when it cannot be used. */
int ev_influx_open_spool(ev_influx *o, const ev_config *cfg)
{
    uint64_t found;
    if (ev_output_spool_open(cfg, "influx", &o->spool, &found, &o->replay_rate) < 0)
        return -1;
    if (!o->spool)
        ev_info("influx: no spool.dir: up to %zu points are queued in memory while %s is down",
                o->q.max, o->url);
    o->in += found;
    return 0;
}

/* After the writer stopped: what is left in memory goes to disk (with a
 * spool), else is reported lost. */
void ev_influx_keep_or_report(ev_influx *o)
{
    if (o->flight_replay) { /* still on disk: just let go of the copies */
        for (size_t i = 0; i < o->flight_left; i++)
            free(o->flight[o->flight_pos + i]);
        o->flight_left = 0;
    }
    size_t left = ev_lineq_len(&o->q) + o->q.reserved;
    if (o->spool) {
        ev_influx_spill_lines(o, o->flight + o->flight_pos, o->q.reserved);
        o->q.reserved = o->flight_left = 0;
        ev_influx_spill_memory(o);
        ev_spool_stats st;
        ev_spool_stats_get(o->spool, &st);
        if (st.points)
            ev_notice("influx: %llu points for %s kept in the spool for the next start",
                      (unsigned long long)st.points, o->url);
    } else if (left) {
        ev_warn("influx: %zu points not sent to %s at shutdown", left, o->url);
    }
    for (size_t i = 0; i < o->q.reserved; i++)
        free(o->flight[o->flight_pos + i]);
    o->q.reserved = 0;
}

