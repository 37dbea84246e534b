/*
 * alert_state.c - alerts as JSON and the state file (alert_state.h), with
 * json-c (Debian's libjson-c5: escaping and parsing we do not hand-write).
 */
#include "agent/alert_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/log.h"

const char *ev_alert_rfc3339(int64_t ns, char *buf, size_t len)
{
    time_t s = (time_t)(ns / 1000000000);
    int ms = (int)((ns % 1000000000) / 1000000);
    struct tm tm;
    if (ms < 0) {
        s--;
        ms += 1000;
    }
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", ms);
    return buf;
}

static json_object *string_map(const ev_tag *tags, size_t n)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; o && i < n; i++)
        json_object_object_add(o, tags[i].key, json_object_new_string(tags[i].val));
    return o;
}

json_object *ev_alert_json(const ev_alert *a)
{
    char name[160], t1[40], t2[40];
    ev_buf desc;
    json_object *o = json_object_new_object(), *labels = json_object_new_object();
    if (!o || !labels) {
        json_object_put(o);
        json_object_put(labels);
        return NULL;
    }
    for (size_t i = 0; i < a->rule->nlabels; i++)
        json_object_object_add(labels, a->rule->labels[i].key, json_object_new_string(a->rule->labels[i].val));
    ev_buf_init(&desc);
    ev_alert_describe(a, &desc);
    bool firing = a->level != EV_ALERT_OK;
    json_object_object_add(o, "alertname", json_object_new_string(ev_alert_name(a, name, sizeof name)));
    json_object_object_add(o, "rule", json_object_new_string(a->rule->name));
    json_object_object_add(o, "missing", json_object_new_boolean(a->missing));
    json_object_object_add(o, "state", json_object_new_string(firing ? "firing" : "resolved"));
    json_object_object_add(o, "severity", json_object_new_string(ev_alert_level_name(firing ? a->level : a->prev)));
    json_object_object_add(o, "measurement", json_object_new_string(a->measurement ? a->measurement : ""));
    json_object_object_add(o, "field", json_object_new_string(a->rule->field ? a->rule->field : ""));
    json_object_object_add(o, "tags", string_map(a->tags, a->ntags));
    json_object_object_add(o, "labels", labels);
    json_object_object_add(o, "value", json_object_new_double(a->value));
    json_object_object_add(o, "threshold", json_object_new_double(a->threshold));
    json_object_object_add(o, "startsAt", json_object_new_string(ev_alert_rfc3339(a->starts_ns, t1, sizeof t1)));
    json_object_object_add(o, "starts_ns", json_object_new_int64(a->starts_ns));
    json_object_object_add(o, "at", json_object_new_string(ev_alert_rfc3339(a->at_ns, t2, sizeof t2)));
    json_object_object_add(o, "description", json_object_new_string(ev_buf_cstr(&desc)));
    ev_buf_free(&desc);
    return o;
}

/* ---- save ----------------------------------------------------------------- */

static void add_active(void *ud, const ev_alert *a)
{
    json_object *o = ev_alert_json(a);
    if (o)
        json_object_array_add(ud, o);
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int ev_alert_state_save(const char *path, const ev_alert_engine *e)
{
    json_object *root = json_object_new_object(), *arr = json_object_new_array();
    char *tmp = NULL;
    int rc = -1, fd = -1;
    if (!root || !arr || asprintf(&tmp, "%s.tmp", path) < 0) {
        json_object_put(arr);
        tmp = NULL;
        goto out;
    }
    json_object_object_add(root, "version", json_object_new_int(1));
    json_object_object_add(root, "alerts", arr);
    ev_alert_engine_each(e, add_active, arr);
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(text), off = 0;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    while (fd >= 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (fd >= 0 && off == len && write(fd, "\n", 1) == 1 && fsync(fd) == 0 && close(fd) == 0) {
        fd = -1;
        if (rename(tmp, path) == 0) {
            sync_dir(path);
            rc = 0;
        }
    }
    if (rc < 0) {
        ev_warn("alerts: cannot write state file %s: %s", path, strerror(errno));
        unlink(tmp);
    }
out:
    if (fd >= 0)
        close(fd);
    free(tmp);
    json_object_put(root);
    return rc;
}

/* ---- read ----------------------------------------------------------------- */

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

static double num_of(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

/* A JSON object of strings into (key, value) pairs; false when malformed. */
static bool pairs_of(json_object *o, const char *key, ev_alert_label *out, size_t max, size_t *n)
{
    json_object *m;
    *n = 0;
    if (!json_object_object_get_ex(o, key, &m))
        return true;
    if (!json_object_is_type(m, json_type_object))
        return false;
    json_object_object_foreach(m, k, v) {
        if (*n == max || !json_object_is_type(v, json_type_string))
            return false;
        out[*n].key = k;
        out[(*n)++].val = (char *)json_object_get_string(v);
    }
    return true;
}

static bool record_of(json_object *o, ev_alert_record *r)
{
    ev_alert_label tags[EV_MAX_TAGS];
    json_object *v;
    memset(r, 0, sizeof *r);
    r->rule = str_of(o, "rule");
    r->alertname = str_of(o, "alertname");
    r->severity = str_of(o, "severity");
    r->measurement = str_of(o, "measurement");
    r->description = str_of(o, "description");
    r->missing = json_object_object_get_ex(o, "missing", &v) && json_object_get_boolean(v);
    r->value = num_of(o, "value");
    r->threshold = num_of(o, "threshold");
    r->starts_ns = json_object_object_get_ex(o, "starts_ns", &v) ? json_object_get_int64(v) : 0;
    if (!r->rule || !r->severity || !r->measurement || !pairs_of(o, "tags", tags, EV_MAX_TAGS, &r->ntags) ||
        !pairs_of(o, "labels", r->labels, 16, &r->nlabels))
        return false;
    for (size_t i = 0; i < r->ntags; i++)
        r->tags[i] = (ev_tag){tags[i].key, tags[i].val};
    r->level = !strcmp(r->severity, "crit") ? EV_ALERT_CRIT : !strcmp(r->severity, "warn") ? EV_ALERT_WARN
                                                                                          : EV_ALERT_OK;
    if (!r->alertname)
        r->alertname = r->rule;
    return r->level != EV_ALERT_OK;
}

int ev_alert_state_read(const char *path, void (*fn)(void *ud, const ev_alert_record *r), void *ud, char *err,
                        size_t errlen)
{
    json_object *root, *arr;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    if (!(root = json_object_from_file(path))) {
        snprintf(err, errlen, "%s", json_util_get_last_err() ? json_util_get_last_err() : "cannot read");
        err[strcspn(err, "\n")] = 0;
        return -1;
    }
    int n = 0;
    if (!json_object_object_get_ex(root, "alerts", &arr) || !json_object_is_type(arr, json_type_array)) {
        snprintf(err, errlen, "no \"alerts\" list");
        n = -1;
    }
    for (size_t i = 0; n >= 0 && i < json_object_array_length(arr); i++) {
        ev_alert_record r;
        if (!record_of(json_object_array_get_idx(arr, i), &r)) {
            snprintf(err, errlen, "alert %zu is malformed", i + 1);
            n = -1;
            break;
        }
        fn(ud, &r);
        n++;
    }
    json_object_put(root);
    return n;
}

/* ---- restore --------------------------------------------------------------- */

typedef struct {
    ev_alert_engine *e;
    int64_t now_ns;
    ev_alert_fn resolved;
    void *ud;
    int restored;
} load_ctx;

/* The rule is gone: announce the resolution with what the file knew. */
static void resolve_gone(load_ctx *lc, const ev_alert_record *r)
{
    ev_alert_rule ghost = {.name = (char *)r->rule, .field = (char *)"", .labels = (ev_alert_label *)r->labels,
                           .nlabels = r->nlabels, .clear = r->threshold};
    ev_alert a = {.rule = &ghost, .missing = r->missing, .level = EV_ALERT_OK, .prev = r->level,
                  .measurement = r->measurement, .tags = r->tags, .ntags = r->ntags, .value = r->value,
                  .threshold = r->threshold, .starts_ns = r->starts_ns, .at_ns = lc->now_ns};
    ev_notice("alerts: %s was firing before the restart but its rule is gone or changed: resolved",
              r->alertname);
    if (lc->resolved)
        lc->resolved(lc->ud, &a);
}

static void restore_one(void *ud, const ev_alert_record *r)
{
    load_ctx *lc = ud;
    if (ev_alert_engine_restore(lc->e, r->rule, r->missing, r->measurement, r->tags, r->ntags, r->level, r->value,
                                r->threshold, r->starts_ns, lc->now_ns) == 0)
        lc->restored++;
    else
        resolve_gone(lc, r);
}

int ev_alert_state_load(const char *path, ev_alert_engine *e, int64_t now_ns, ev_alert_fn resolved, void *ud)
{
    load_ctx lc = {.e = e, .now_ns = now_ns, .resolved = resolved, .ud = ud};
    char err[256] = "";
    if (ev_alert_state_read(path, restore_one, &lc, err, sizeof err) < 0) {
        ev_warn("alerts: state file %s unusable (%s): starting with no active alerts", path, err);
        return -1;
    }
    return lc.restored;
}
