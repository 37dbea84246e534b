/*
 * log.c - one log line per call to stderr, with the sd-daemon "<N>"
 * priority prefix when stderr is not a terminal (journald reads it), else
 * a timestamp and level word for people at a terminal.
 */
#include "agent/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up, read-only afterwards. */
static int log_level = EV_LOG_INFO;

void ev_log_set_level(int level)
{
    log_level = level;
}

int ev_log_parse_level(const char *name)
{
    static const struct {
        const char *n;
        int l;
    } lv[] = {
        {"err", EV_LOG_ERR},   {"error", EV_LOG_ERR}, {"warning", EV_LOG_WARNING}, {"notice", EV_LOG_NOTICE},
        {"info", EV_LOG_INFO}, {"debug", EV_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof lv / sizeof lv[0]; i++)
        if (!strcmp(name, lv[i].n))
            return lv[i].l;
    return -1;
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
