/* cmd_check.c - `evmon check` (placeholder until implemented). */
#include <stdio.h>

#include "agent/cmd.h"

int cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "evmon check: not implemented yet\n");
    return 2;
}
