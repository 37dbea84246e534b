/*
 * sdnotify.c - sd_notify(3) messages for systemd's Type=notify services
 * (see sdnotify.h). libsystemd does the socket work, including abstract
 * and file-system $NOTIFY_SOCKET addresses; failures are ignored, as the
 * daemon must run the same without a service manager.
 */
#include "agent/sdnotify.h"

#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

void ev_notify_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void ev_notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
               (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
}

void ev_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: flushing outputs");
}

void ev_notify_status(const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", msg);
}

void ev_notify_watchdog(void)
{
    sd_notify(0, "WATCHDOG=1");
}

uint64_t ev_notify_watchdog_interval_ms(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || !usec)
        return 0;
    return usec / 2000 ? usec / 2000 : 1;
}
