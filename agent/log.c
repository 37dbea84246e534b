/*
 * log.c - one log line per call to stderr, with the sd-daemon "<N>"
 * priority prefix when stderr is not a terminal (journald reads it), else
 * a timestamp and level word for people at a terminal.
 */
#include "agent/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up, read-only afterwards. */
static int log_level = EV_LOG_INFO;

void ev_log_set_level(int level)
{
    log_level = level;
}

static const char *level_word(int prio)
{
    switch (prio) {
    case EV_LOG_ERR: return "error";
    case EV_LOG_WARNING: return "warning";
    case EV_LOG_NOTICE: return "notice";
    case EV_LOG_INFO: return "info";
    default: return "debug";
    }
}

void ev_log(int prio, const char *fmt, ...)
{
    if (prio > log_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (isatty(STDERR_FILENO)) {
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;
        strftime(ts, sizeof ts, "%H:%M:%S", localtime_r(&now, &tm));
        fprintf(stderr, "%s %s: %s\n", ts, level_word(prio), msg);
    } else {
        fprintf(stderr, "<%d>%s\n", prio, msg);
    }
}
