/*
 * cmd_headroom.c - `evmon headroom`: the capacity planner's question,
 * answered from InfluxDB. GETs /query (libcurl) for the newest headroom
 * point of every node at one level, then sorts and prints it
 * (headroom_query.h). The store comes from --influx/--db, or from the
 * influxdb settings of an agent's or the hub's file (-c FILE).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/buf.h"
#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/headroom_query.h"
#include "agent/hub_config.h"

#define QUERY_TIMEOUT_MS 10000

typedef struct {
    const char *url, *db, *user, *password, *token;
} store;

static void usage(FILE *to)
{
    fprintf(to, "usage: evmon headroom [--level cluster|site|hall|row|rack] [--json|--csv]\n"
                "                      (--influx URL [--db DB] | -c FILE) [--since DURATION]\n\n"
                "Capacity, usable capacity, peak demand, headroom (W and %%) and days to\n"
                "exhaustion of every node at one level, from the newest headroom points in\n"
                "InfluxDB, least headroom (%%) first. A readable table by default.\n\n"
                "  -l, --level L       cluster (default), site, hall, row or rack\n"
                "      --json, --csv   machine-readable output\n"
                "      --influx URL    InfluxDB 1.x base URL, e.g. http://127.0.0.1:8086\n"
                "      --db DB         database (default evmon)\n"
                "  -c, --config FILE   take the store from an agent's or the hub's file\n"
                "      --since D       only nodes that reported within D (InfluxQL: 1h, 7d; default 1h)\n");
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    ev_buf_put(ud, p, size * n);
    return ((ev_buf *)ud)->oom ? 0 : size * n;
}

/* GET /query; the body in *body. 0, or -1 with a message printed. */
static int query(const store *s, const char *q, ev_buf *body)
{
    CURL *c = curl_easy_init();
    char *url = NULL, *eq = c ? curl_easy_escape(c, q, 0) : NULL, *edb = c ? curl_easy_escape(c, s->db, 0) : NULL;
    struct curl_slist *hdr = NULL;
    int rc = -1;
    size_t n = strlen(s->url);
    while (n > 1 && s->url[n - 1] == '/')
        n--;
    if (!eq || !edb || asprintf(&url, "%.*s/query?db=%s&epoch=s&q=%s", (int)n, s->url, edb, eq) < 0) {
        fprintf(stderr, "evmon headroom: out of memory\n");
        url = NULL;
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)QUERY_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (s->user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
    }
    char auth[600];
    if (s->token) {
        snprintf(auth, sizeof auth, "Authorization: Token %s", s->token);
        hdr = curl_slist_append(hdr, auth);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK)
        fprintf(stderr, "evmon headroom: cannot query %.*s: %s\n", (int)n, s->url, curl_easy_strerror(cc));
    else if (status != 200)
        fprintf(stderr, "evmon headroom: %.*s answered HTTP %ld: %.300s\n", (int)n, s->url, status,
                ev_buf_cstr(body));
    else
        rc = 0;
out:
    curl_slist_free_all(hdr);
    curl_free(eq);
    curl_free(edb);
    free(url);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

static int answer(const store *s, const char *level, const char *since, ev_hr_format fmt)
{
    char *q = ev_hr_influxql(level, since), err[400];
    ev_buf body;
    ev_hr_rows rows;
    int rc = 1;
    ev_buf_init(&body);
    if (q && query(s, q, &body) == 0) {
        if (ev_hr_parse(ev_buf_cstr(&body), level, &rows, err, sizeof err) == 0) {
            ev_hr_sort(&rows);
            ev_hr_print(stdout, &rows, level, fmt);
            ev_hr_rows_free(&rows);
            rc = 0;
        } else {
            fprintf(stderr, "evmon headroom: %s\n", err);
        }
    }
    free(q);
    ev_buf_free(&body);
    return rc;
}

/* The store of an agent's or the hub's file, then run. */
static int answer_from_file(store *s, const char *path, const char *level, const char *since, ev_hr_format fmt)
{
    ev_diag diag = {0};
    ev_hub_config *hc = NULL;
    ev_config *ac = NULL;
    const ev_influx_cfg *in = NULL;
    if (ev_hub_config_detect(path)) {
        if ((hc = ev_hub_config_load(path, &diag)))
            in = &hc->store->influx;
    } else if ((ac = ev_config_load(path, &diag))) {
        in = &ac->influx;
    }
    ev_diag_print(&diag, stderr);
    ev_diag_free(&diag);
    int rc = 1;
    if (in) {
        s->url = s->url ? s->url : in->url;
        s->db = s->db ? s->db : in->database;
        s->user = in->username;
        s->password = in->password;
        s->token = in->token;
        rc = answer(s, level, since, fmt);
    }
    ev_hub_config_free(hc);
    ev_config_free(ac);
    return rc;
}

int cmd_headroom(int argc, char **argv)
{
    static const struct option opts[] = {
        {"level", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
        {"csv", no_argument, NULL, 'v'},         {"influx", required_argument, NULL, 'i'},
        {"db", required_argument, NULL, 'd'},    {"config", required_argument, NULL, 'c'},
        {"since", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *level = "cluster", *path = NULL, *since = "1h";
    store s = {0};
    ev_hr_format fmt = EV_HR_TABLE;
    int opt;

    optind = 0;
    while ((opt = getopt_long(argc, argv, "l:c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'l': level = optarg; break;
        case 'j': fmt = EV_HR_JSON; break;
        case 'v': fmt = EV_HR_CSV; break;
        case 'i': s.url = optarg; break;
        case 'd': s.db = optarg; break;
        case 'c': path = optarg; break;
        case 's': since = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const char *problem = optind < argc ? "unexpected argument"
                          : !ev_hr_level_ok(level) ? "bad --level (expected cluster, site, hall, row or rack)"
                          : strspn(since, "0123456789") == 0 || since[strspn(since, "0123456789smhdw")]
                              ? "bad --since (expected e.g. 30m, 1h, 7d)"
                          : !path && !s.url ? "no store: give --influx URL or -c FILE"
                                            : NULL;
    if (problem) {
        fprintf(stderr, "evmon headroom: %s\n", problem);
        usage(stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (path) {
        rc = answer_from_file(&s, path, level, since, fmt);
    } else {
        s.db = s.db ? s.db : "evmon";
        rc = answer(&s, level, since, fmt);
    }
    curl_global_cleanup();
    return rc;
}
