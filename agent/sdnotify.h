/*
 * sdnotify.h - telling systemd how the daemon is doing (sd_notify(3)).
 *
 * Thin wrappers over libsystemd so that the rest of the agent names what it
 * means (ready, reloading, stopping, a status line, a watchdog ping) and
 * the daemon runs the same without systemd: with no $NOTIFY_SOCKET every
 * call does nothing. Used by agent/cmd_agent.c.
 */
#ifndef EVMON_SDNOTIFY_H
#define EVMON_SDNOTIFY_H

#include <stdint.h>

/* READY=1 with a STATUS= line. */
void ev_notify_ready(const char *status);
/* RELOADING=1 (with MONOTONIC_USEC=, as Type=notify-reload wants). */
void ev_notify_reloading(void);
void ev_notify_stopping(void);
void ev_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ev_notify_watchdog(void);
/* How often to ping: half of WatchdogSec= in ms, or 0 when the service
 * manager expects no pings from this process. */
uint64_t ev_notify_watchdog_interval_ms(void);

#endif
