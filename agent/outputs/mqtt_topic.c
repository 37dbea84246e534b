/*
 * mqtt_topic.c - build and sanitise MQTT topics (see mqtt_topic.h).
 */
#include "agent/outputs/mqtt_topic.h"

#include <string.h>

void ev_topic_level(ev_buf *out, const char *level)
{
    if (!level || !*level) {
        ev_buf_putc(out, '_');
        return;
    }
    for (const char *s = level; *s; s++)
        ev_buf_putc(out, (*s == '+' || *s == '#' || *s == '/') ? '_' : *s);
}

void ev_topic_prefix(ev_buf *out, const char *prefix)
{
    if (!prefix || !*prefix)
        prefix = EV_MQTT_DEFAULT_PREFIX;
    size_t len = strlen(prefix);
    while (len && prefix[len - 1] == '/')
        len--;
    if (!len) {
        ev_buf_puts(out, EV_MQTT_DEFAULT_PREFIX);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        char c = prefix[i];
        bool bad = c == '+' || c == '#' || (i == 0 && c == '$');
        /* an empty level inside the prefix ("a//b") becomes "_" too */
        if (c == '/' && (i == 0 || prefix[i - 1] == '/'))
            ev_buf_putc(out, '_');
        ev_buf_putc(out, bad ? '_' : c);
    }
}

static void agent_topic(ev_buf *out, const ev_topic_ctx *c, const char *leaf)
{
    ev_topic_prefix(out, c->prefix);
    ev_buf_puts(out, "/agents/");
    ev_topic_level(out, c->agent_id);
    ev_buf_putc(out, '/');
    ev_topic_level(out, leaf);
}

void ev_topic_for_point(ev_buf *out, const ev_topic_ctx *c, const ev_point *p)
{
    const char *device = ev_point_get_tag(p, "device");
    if (!device || !*device) {
        agent_topic(out, c, p->measurement);
        return;
    }
    const char *site = ev_point_get_tag(p, "site");
    const char *hall = ev_point_get_tag(p, "hall");
    ev_topic_prefix(out, c->prefix);
    ev_buf_putc(out, '/');
    ev_topic_level(out, site ? site : c->site);
    ev_buf_putc(out, '/');
    ev_topic_level(out, hall ? hall : c->hall);
    ev_buf_putc(out, '/');
    ev_topic_level(out, device);
    ev_buf_putc(out, '/');
    ev_topic_level(out, p->measurement);
}

void ev_topic_status(ev_buf *out, const ev_topic_ctx *c)
{
    agent_topic(out, c, "status");
}
