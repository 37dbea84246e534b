/*
 * gzip.h - gzip a request body with zlib (Content-Encoding: gzip).
 * Line protocol compresses about 10:1, which matters for thousands of
 * devices behind one uplink.
 */
#ifndef EVMON_GZIP_H
#define EVMON_GZIP_H

#include <stddef.h>

#include "agent/buf.h"

/* Replace out's content with the gzip stream of in[0..len). 0 or -1. */
int ev_gzip(ev_buf *out, const void *in, size_t len);

#endif
