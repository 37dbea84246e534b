/*
 * web_assets.h - the built-in page's files (dashboards/web/), embedded in
 * the binary at build time by scripts/embed-web.sh (xxd -i), so the agent
 * serves its page with nothing installed beside it and no CDN.
 */
#ifndef EVMON_WEB_ASSETS_H
#define EVMON_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;          /* "/index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} ev_web_asset;

extern const ev_web_asset ev_web_assets[];
extern const size_t ev_web_nassets;

#endif
