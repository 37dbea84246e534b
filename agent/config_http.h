/*
 * config_http.h - the `http:` section of the agent config (config_http.c):
 * the built-in HTTP server's listen address. config.c's top-level table
 * calls cfg_read_http for the key; ev_config_free calls ev_http_cfg_free.
 */
#ifndef EVMON_CONFIG_HTTP_H
#define EVMON_CONFIG_HTTP_H

#include "agent/config_read.h"

void cfg_read_http(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label);
void ev_http_cfg_free(ev_http_cfg *h);

/* "127.0.0.1:8080", "[::1]:8080" -> numeric host and port. NULL, or why
 * not (a static string). host gets at most hostlen-1 characters. */
const char *ev_http_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port);

#endif
