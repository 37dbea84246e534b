/*
 * fuzz_config.c - libFuzzer target: the agent's config loader
 * (agent/config*.c) on arbitrary bytes. Any input must give either a config
 * or diagnostics, never a crash, a leak or undefined behaviour; a rejected
 * file must say why. Profiles come from tests/config/profiles (small, so
 * each run stays fast). Seeds: tests/fuzz/corpus/fuzz_config/.
 */
#include <stdlib.h>

#include "agent/config.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_as_file(data, size);
    ev_diag diag = {0};
    ev_config *c = ev_config_load_with_profiles(path, "tests/config/profiles", &diag);
    if (!c && diag.n == 0)
        abort(); /* rejected without a reason */
    if (c) {
        char msg[512];
        ev_config_secrets_exposed(c, msg, sizeof msg);
    }
    ev_config_free(c);
    ev_diag_free(&diag);
    return 0;
}
