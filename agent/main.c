/*
 * main.c - build/evmon: dispatch to a subcommand (cmd_*.c).
 */
#include <stdio.h>
#include <string.h>

#include "agent/cmd.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *what;
} cmds[] = {
    {"agent", cmd_agent, "poll devices on a schedule and publish to MQTT and InfluxDB"},
    {"once", cmd_once, "poll every device once and print line protocol to stdout"},
    {"check", cmd_check, "validate a config file (and its profiles); FILE:LINE: message on error"},
    {"probe", cmd_probe, "read one device with a profile; show raw and scaled values"},
    {"hub", cmd_hub, "MQTT -> InfluxDB for many agents; cluster PUE, coverage and headroom roll-up"},
    {"headroom", cmd_headroom, "capacity planner: headroom per node from InfluxDB, least first"},
    {"alerts", cmd_alerts, "list the active alerts (from the agent's alert state file)"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *to)
{
    fprintf(to, "usage: evmon COMMAND [options]   (evmon COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(to, "  %-8s %s\n", cmds[i].name, cmds[i].what);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "evmon: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
