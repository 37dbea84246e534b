/*
 * fuzz_input.h - shared by the libFuzzer targets of tests/fuzz/: the
 * loaders under test read files, so each input is written to one memfd
 * (no disk, no leftovers) and handed over as /proc/self/fd/N.
 */
#ifndef EVMON_FUZZ_INPUT_H
#define EVMON_FUZZ_INPUT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/log.h"

/* The input as a file's contents; returns its path. Aborts on failure. */
static inline const char *fuzz_as_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        ev_log_set_level(0); /* the loaders' logs are noise here */
        fd = memfd_create("evmon-fuzz.yaml", MFD_CLOEXEC);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    return path;
}

#endif
