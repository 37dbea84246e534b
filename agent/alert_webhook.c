/*
 * alert_webhook.c - the Alertmanager v2 client (alert_webhook.h): a
 * bounded FIFO of JSON bodies, one sender thread, libcurl.
 */
#include "agent/alert_webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/alert_state.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/outputs/backoff.h"

#define AM_PATH "/api/v2/alerts"

struct ev_alert_webhook {
    char *url;
    unsigned timeout_ms, max_queue;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* queue changed, or stopping */
    atomic_int stop;
    /* under mu */
    char **q;                /* ring of max_queue bodies */
    size_t head, n;
    bool busy;               /* the head body is being posted */
    ev_alert_webhook_stats st;
    bool fail_logged;
};

/* ---- Alertmanager's alert form ---------------------------------------------- */

json_object *ev_alert_am_json(const ev_alert *a, int64_t now_ns, unsigned ends_in_ms)
{
    char name[160], t[40], num[40];
    json_object *o = json_object_new_object(), *labels = json_object_new_object(),
                *ann = json_object_new_object();
    if (!o || !labels || !ann) {
        json_object_put(o);
        json_object_put(labels);
        json_object_put(ann);
        return NULL;
    }
    bool firing = a->level != EV_ALERT_OK;
    for (size_t i = 0; i < a->ntags; i++)
        json_object_object_add(labels, a->tags[i].key, json_object_new_string(a->tags[i].val));
    for (size_t i = 0; i < a->rule->nlabels; i++)
        json_object_object_add(labels, a->rule->labels[i].key, json_object_new_string(a->rule->labels[i].val));
    json_object_object_add(labels, "alertname", json_object_new_string(ev_alert_name(a, name, sizeof name)));
    json_object_object_add(labels, "severity",
                           json_object_new_string(ev_alert_level_name(firing ? a->level : a->prev)));
    ev_buf desc;
    ev_buf_init(&desc);
    ev_alert_describe(a, &desc);
    json_object_object_add(ann, "description", json_object_new_string(ev_buf_cstr(&desc)));
    ev_buf_free(&desc);
    snprintf(num, sizeof num, "%.6g", a->value);
    json_object_object_add(ann, "value", json_object_new_string(num));
    snprintf(num, sizeof num, "%.6g", a->threshold);
    json_object_object_add(ann, "threshold", json_object_new_string(num));
    json_object_object_add(o, "labels", labels);
    json_object_object_add(o, "annotations", ann);
    json_object_object_add(o, "startsAt", json_object_new_string(ev_alert_rfc3339(a->starts_ns, t, sizeof t)));
    int64_t ends = firing ? now_ns + (int64_t)ends_in_ms * 1000000 : a->at_ns;
    json_object_object_add(o, "endsAt", json_object_new_string(ev_alert_rfc3339(ends, t, sizeof t)));
    return o;
}

/* ---- one POST ------------------------------------------------------------------ */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    return size * n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    return atomic_load(&((ev_alert_webhook *)ud)->stop) ? 1 : 0; /* non-zero aborts */
}

/* HTTP status, or 0 with err filled when there was no answer. */
static long post(ev_alert_webhook *w, CURL *c, const char *body, char *err)
{
    long status = 0;
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(err, CURL_ERROR_SIZE, "%s", *err ? err : curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static CURL *make_handle(ev_alert_webhook *w, struct curl_slist *hdr, char *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    return c;
}

/* ---- the sender thread ------------------------------------------------------------ */

static void wait_ms(ev_alert_webhook *w, unsigned ms)
{
    struct timespec ts = ev_mono_deadline(ms);
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop) && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&w->mu);
}

/* Drop the head body (sent, or refused for good). */
static void pop(ev_alert_webhook *w, bool sent)
{
    pthread_mutex_lock(&w->mu);
    free(w->q[w->head]);
    w->q[w->head] = NULL;
    w->head = (w->head + 1) % w->max_queue;
    w->n--;
    w->busy = false;
    if (sent) {
        w->st.sent++;
        w->fail_logged = false;
    } else {
        w->st.dropped++;
    }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void *sender(void *ud)
{
    ev_alert_webhook *w = ud;
    char err[CURL_ERROR_SIZE];
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *c = hdr ? make_handle(w, hdr, err) : NULL;
    ev_backoff bo;
    ev_backoff_init(&bo, 1000, 30000, (uint64_t)(uintptr_t)w);

    while (c) {
        pthread_mutex_lock(&w->mu);
        while (!w->n && !atomic_load(&w->stop))
            pthread_cond_wait(&w->cv, &w->mu);
        if (atomic_load(&w->stop)) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        char *body = w->q[w->head];
        w->busy = true;
        pthread_mutex_unlock(&w->mu);

        err[0] = 0;
        long status = post(w, c, body, err);
        if (status >= 200 && status < 300) {
            ev_backoff_reset(&bo);
            pop(w, true);
            continue;
        }
        if (status >= 400 && status < 500 && status != 429) {
            ev_err("alerts: webhook %s refused a batch (HTTP %ld): dropped", w->url, status);
            pop(w, false);
            continue;
        }
        pthread_mutex_lock(&w->mu);
        w->busy = false;
        w->st.failed++;
        bool log_it = !w->fail_logged;
        w->fail_logged = true;
        pthread_mutex_unlock(&w->mu);
        if (log_it && status)
            ev_warn("alerts: webhook %s: HTTP %ld; retrying with backoff", w->url, status);
        else if (log_it)
            ev_warn("alerts: webhook %s: %s; retrying with backoff", w->url, err);
        wait_ms(w, ev_backoff_next(&bo, -1));
    }
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    return NULL;
}

/* ---- API ------------------------------------------------------------------------ */

static char *endpoint(const char *url)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    char *out = NULL;
    if (n >= strlen(AM_PATH) && !strncmp(url + n - strlen(AM_PATH), AM_PATH, strlen(AM_PATH)))
        return strndup(url, n);
    if (asprintf(&out, "%.*s%s", (int)n, url, AM_PATH) < 0)
        return NULL;
    return out;
}

ev_alert_webhook *ev_alert_webhook_new(const char *url, unsigned timeout_ms, unsigned max_queue)
{
    ev_alert_webhook *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->timeout_ms = timeout_ms ? timeout_ms : 5000;
    w->max_queue = max_queue ? max_queue : 1000;
    w->url = endpoint(url);
    w->q = calloc(w->max_queue, sizeof *w->q);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!w->url || !w->q || pthread_create(&w->thread, NULL, sender, w) != 0) {
        ev_err("alerts: cannot start the webhook sender for %s", url);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w->q);
        free(w->url);
        free(w);
        return NULL;
    }
    return w;
}

int ev_alert_webhook_send(ev_alert_webhook *w, const char *body)
{
    char *copy = strdup(body);
    if (!copy)
        return -1;
    pthread_mutex_lock(&w->mu);
    if (w->n == w->max_queue) {
        /* full: drop the oldest body not being posted right now */
        size_t victim = w->busy ? (w->head + 1) % w->max_queue : w->head;
        if (w->max_queue == 1 && w->busy) {
            free(copy);
            w->st.dropped++;
            pthread_mutex_unlock(&w->mu);
            return 0;
        }
        free(w->q[victim]);
        for (size_t i = victim; i != (w->head + w->n - 1) % w->max_queue; i = (i + 1) % w->max_queue)
            w->q[i] = w->q[(i + 1) % w->max_queue];
        w->n--;
        w->st.dropped++;
    }
    w->q[(w->head + w->n) % w->max_queue] = copy;
    w->n++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int ev_alert_webhook_flush(ev_alert_webhook *w, unsigned timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (w->n && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
        ;
    int rc = w->n ? -1 : 0;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void ev_alert_webhook_get_stats(ev_alert_webhook *w, ev_alert_webhook_stats *st)
{
    pthread_mutex_lock(&w->mu);
    *st = w->st;
    st->queued = w->n;
    pthread_mutex_unlock(&w->mu);
}

void ev_alert_webhook_free(ev_alert_webhook *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->stop, 1);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (size_t i = 0; i < w->n; i++)
        free(w->q[(w->head + i) % w->max_queue]);
    free(w->q);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->url);
    free(w);
}
