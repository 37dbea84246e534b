/*
 * alert_rule.h - threshold alert rules: the type, the YAML loader and the
 * tag selectors (docs/ALERTS.md describes the file format).
 *
 * A rule watches one field of one measurement on every series (point tag
 * set) its selector matches, in a direction (above/below), with warn and
 * crit levels, clear levels for hysteresis, a hold time (a duration or N
 * consecutive samples) and an optional missing-data alert. Rules are data:
 * alert_rules.c reads them with the config machinery (config_read.h), so a
 * bad rule is reported as FILE:LINE: message by `evmon check`; the engine
 * (alert_engine.h) evaluates them; alert_match.c matches selectors.
 */
#ifndef EVMON_ALERT_RULE_H
#define EVMON_ALERT_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/diag.h"
#include "agent/point.h"

typedef enum { EV_ALERT_OK = 0, EV_ALERT_WARN = 1, EV_ALERT_CRIT = 2 } ev_alert_level;
typedef enum { EV_ALERT_ABOVE, EV_ALERT_BELOW } ev_alert_dir;

/* One tag of a selector: the tag's value must match one of the globs
 * (fnmatch(3): * ? [...]). A point without the tag does not match. */
typedef struct {
    char *tag;
    char **globs;
    size_t nglobs;
} ev_alert_sel;

typedef struct {
    char *key, *val;
} ev_alert_label;

typedef struct {
    char *name;          /* unique; alertname; an MQTT topic level */
    char *description;   /* template (alert_template.c); may be NULL */
    char *measurement, *field;
    ev_alert_sel *sel;
    size_t nsel;
    ev_alert_dir dir;
    bool has_warn, has_crit;
    double warn, crit;
    double clear;        /* resolves when the value is back at or past it */
    double crit_clear;   /* crit -> warn when back at or past it (warn and crit only) */
    unsigned for_ms;     /* hold: beyond the level this long (sample times) ... */
    unsigned for_samples;/* ... or for this many consecutive samples; both 0: at once */
    unsigned missing_ms; /* missing-data alert after this long without a sample; 0: none */
    ev_alert_level missing_level;
    ev_alert_label *labels;
    size_t nlabels;
    char *file;          /* where it was defined, for messages */
    unsigned line;
} ev_alert_rule;

typedef struct {
    ev_alert_rule *v;
    size_t n;
} ev_alert_rules;

/* Load rule files in order into rules (which may already hold rules: a
 * rule named like one from an earlier file replaces it, so a site file can
 * retune the shipped pack). Problems go to diag as FILE:LINE: message;
 * returns how many there were (0: all loaded). */
size_t ev_alert_rules_load(ev_alert_rules *rules, const char *const *paths, size_t npaths, ev_diag *diag);
void ev_alert_rules_free(ev_alert_rules *rules);
const ev_alert_rule *ev_alert_rules_find(const ev_alert_rules *rules, const char *name);

/* "warn", "crit", "ok". */
const char *ev_alert_level_name(ev_alert_level l);

/* alert_match.c: does the point carry rule->field and match its selector? */
bool ev_alert_rule_matches(const ev_alert_rule *r, const ev_point *p);
/* A glob is acceptable: non-empty, brackets closed, no trailing '\'.
 * NULL when fine, else why not. */
const char *ev_alert_glob_problem(const char *glob);

#endif
