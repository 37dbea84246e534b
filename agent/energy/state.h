/*
 * state.h - the energy model's state file, so windows, counters' baselines
 * and peaks survive an agent restart (issue 4 item 2).
 *
 * Text, one record per line, written atomically: a temp file in the same
 * directory, fsync, rename over the old one, fsync the directory. The last
 * line is "end <crc32>" of everything before it (zlib's crc32), so a torn
 * or edited file is refused whole and the model starts fresh, with a
 * warning, rather than half-loaded. Records name meters and nodes: those no
 * longer in the config are skipped, new ones start empty.
 */
#ifndef EVMON_ENERGY_STATE_H
#define EVMON_ENERGY_STATE_H

#include "agent/buf.h"
#include "agent/energy/topology.h"

void ev_state_encode(const ev_topo *t, ev_buf *out);
/* 0, or -1 with why filled (the model is left untouched). */
int ev_state_decode(ev_topo *t, const char *text, size_t len, char *why, size_t whylen);

/* 0, or -1 with errno set. */
int ev_state_save(const ev_topo *t, const char *path);
/* 0 loaded; 1 no file; -1 refused (why says why; the model is untouched). */
int ev_state_load(ev_topo *t, const char *path, char *why, size_t whylen);

#endif
