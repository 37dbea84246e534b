/*
 * gzip.c - one-shot gzip (RFC 1952) of a buffer with zlib's deflate.
 */
#include "agent/outputs/gzip.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

int ev_gzip(ev_buf *out, const void *in, size_t len)
{
    if (len > UINT32_MAX)
        return -1;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16: a gzip header and trailer instead of zlib's.
     * Level 1: most of the gain for line protocol at a fraction of the CPU. */
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    ev_buf_reset(out);
    uLong bound = deflateBound(&zs, (uLong)len);
    if (ev_buf_reserve(out, bound) < 0) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->p;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    out->len = zs.total_out;
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}
