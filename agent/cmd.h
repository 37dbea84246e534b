/*
 * cmd.h - the subcommands of build/evmon, one file each (cmd_*.c).
 * Each takes argc/argv starting at the subcommand name and returns the
 * process exit code. main.c only dispatches.
 */
#ifndef EVMON_CMD_H
#define EVMON_CMD_H

int cmd_agent(int argc, char **argv);
int cmd_once(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_hub(int argc, char **argv);
int cmd_headroom(int argc, char **argv);
/* `evmon check` on a hub file (cmd_hub.c): 0 when good, 1 otherwise. */
int cmd_check_hub(const char *path);

#endif
