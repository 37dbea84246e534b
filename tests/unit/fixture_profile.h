/*
 * fixture_profile.h - test-only: load a profile from YAML text.
 *
 * Writes the text to a temporary file and loads it with
 * ev_profiles_load_file(), the way the agent reads profiles from disk; the
 * loader's messages go to stderr and any error fails the test. Header-only
 * (static inline, like snmprec.h) so each test binary includes what it
 * uses; not part of the agent.
 */
#ifndef EVMON_TEST_FIXTURE_PROFILE_H
#define EVMON_TEST_FIXTURE_PROFILE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/diag.h"
#include "agent/profile.h"

/* Load the profile(s) in `yaml` into set; fails the test on any error. */
static inline void fx_profile_load(ev_profile_set *set, const char *yaml)
{
    char path[] = "/tmp/evmon-test-profile.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    ev_diag d = {0};
    int rc = ev_profiles_load_file(set, path, &d);
    unlink(path);
    if (d.n)
        ev_diag_print(&d, stderr);
    ev_diag_free(&d);
    assert_int_equal(rc, 0);
}

#endif
