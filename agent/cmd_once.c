/* cmd_once.c - `evmon once` (placeholder until implemented). */
#include <stdio.h>

#include "agent/cmd.h"

int cmd_once(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "evmon once: not implemented yet\n");
    return 2;
}
