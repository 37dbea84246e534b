/*
 * log.h - log lines for journald and terminals.
 *
 * Each line goes to stderr prefixed "<N>" (sd-daemon priority) when
 * stderr is not a terminal (journald reads the priority from it), and
 * with a level word when it is. One process-wide level, set once at start.
 */
#ifndef EVMON_LOG_H
#define EVMON_LOG_H

enum { EV_LOG_ERR = 3, EV_LOG_WARNING = 4, EV_LOG_NOTICE = 5, EV_LOG_INFO = 6, EV_LOG_DEBUG = 7 };

void ev_log_set_level(int level);
/* "err", "warning", "notice", "info", "debug" -> its level, or -1. */
int ev_log_parse_level(const char *name);
void ev_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ev_err(...) ev_log(EV_LOG_ERR, __VA_ARGS__)
#define ev_warn(...) ev_log(EV_LOG_WARNING, __VA_ARGS__)
#define ev_notice(...) ev_log(EV_LOG_NOTICE, __VA_ARGS__)
#define ev_info(...) ev_log(EV_LOG_INFO, __VA_ARGS__)
#define ev_debug(...) ev_log(EV_LOG_DEBUG, __VA_ARGS__)

#endif
