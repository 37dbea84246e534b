/* cmd_probe.c - `evmon probe` (placeholder until implemented). */
#include <stdio.h>

#include "agent/cmd.h"

int cmd_probe(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "evmon probe: not implemented yet\n");
    return 2;
}
