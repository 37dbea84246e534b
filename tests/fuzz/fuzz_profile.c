/*
 * fuzz_profile.c - libFuzzer target: the device-profile loader
 * (agent/profile_load.c) on arbitrary bytes, then, for a profile that
 * loads, its fetch list, a rowset for it and an evaluation of that empty
 * rowset (agent/profile_eval.c). Seeds: tests/fuzz/corpus/fuzz_profile/
 * (the shipped profiles and the bad ones of tests/fixtures/profiles-bad).
 */
#include <stdlib.h>

#include "agent/profile.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_as_file(data, size);
    ev_diag diag = {0};
    ev_profile_set *set = ev_profiles_new();
    if (!set)
        abort();
    int rc = ev_profiles_load_file(set, path, &diag);
    for (size_t i = 0; i < ev_profiles_count(set); i++) {
        const ev_profile *p = ev_profiles_at(set, i);
        size_t n;
        ev_profile_fetch_list(p, &n);
        ev_rowset *rs = ev_rowset_new(p);
        ev_batch *b = ev_batch_new();
        ev_tagset base = {.tags = {{"device", "d"}}, .n = 1};
        if (rs && b)
            ev_profile_eval(p, rs, &base, 0, b, NULL, NULL);
        ev_batch_free(b);
        ev_rowset_free(rs);
    }
    if (rc != 0 && diag.n == 0 && ev_profiles_count(set) == 0)
        abort(); /* rejected without a reason */
    ev_profiles_free(set);
    ev_diag_free(&diag);
    return 0;
}
