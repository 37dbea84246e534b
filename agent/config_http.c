/*
 * config_http.c - the `http:` section: the built-in HTTP server (API,
 * /metrics, the live page). A present section enables it:
 *
 *   http:
 *     listen: 127.0.0.1:8080   # numeric IPv4 or [IPv6], and a port (default 127.0.0.1:8080)
 *     enabled: true            # false keeps the section but switches the server off
 *
 * Absent, the agent serves no HTTP at all. The listen address must be a
 * numeric address (no name lookups at start), so a typo is a config error
 * with its line, not a server bound somewhere unexpected.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config_http.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"

const char *ev_http_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port)
{
    const char *colon, *h = s;
    size_t hlen;
    unsigned char addr[16];
    int family = AF_INET;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return "expected [IPv6]:PORT";
        h = s + 1;
        hlen = (size_t)(end - h);
        colon = end + 1;
        family = AF_INET6;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
            return "expected HOST:PORT (IPv6 as [ADDR]:PORT)";
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= hostlen)
        return "missing or too long address";
    memcpy(host, h, hlen);
    host[hlen] = 0;
    if (inet_pton(family, host, addr) != 1)
        return family == AF_INET ? "not a numeric IPv4 address" : "not a numeric IPv6 address";
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 1 || p > 65535)
        return "port must be 1..65535";
    *port = (unsigned)p;
    return NULL;
}

static void http_listen(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_http_cfg *h = obj;
    char host[64];
    unsigned port;
    const char *s = cfg_scalar(cx, k, v, label, "HOST:PORT");
    if (!s)
        return;
    const char *why = ev_http_parse_listen(s, host, sizeof host, &port);
    if (why) {
        cfg_error(cx, cfg_line(v), "%s: bad listen address '%s': %s", label, s, why);
        return;
    }
    free(h->listen);
    h->listen = cfg_strdup(cx, cfg_line(v), s);
}

static const cfg_field http_fields[] = {
    {.key = "enabled", .kind = K_BOOL, .off = offsetof(ev_http_cfg, enabled)},
    {.key = "listen", .kind = K_CUSTOM, .fn = http_listen},
};
static const cfg_table http_table = {FIELDS(http_fields), NULL, NULL};

void cfg_read_http(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_http_cfg *h = &((ev_config *)obj)->http;
    h->enabled = true;
    if (!h->listen)
        h->listen = cfg_strdup(cx, cfg_line(k), DEFAULT_LISTEN);
    if (!cfg_is_null(v) && cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &http_table, h, label, NULL);
}

void ev_http_cfg_free(ev_http_cfg *h)
{
    free(h->listen);
    h->listen = NULL;
}
