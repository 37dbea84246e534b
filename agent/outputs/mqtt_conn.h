/*
 * mqtt_conn.h - how evmon connects to a broker, shared by the agent's MQTT
 * output (mqtt.c) and the hub (hub_mqtt.c): a persistent session (QoS 1
 * messages in flight survive a reconnect), automatic reconnect with
 * backoff, a retained "offline" last will on the status topic, and for
 * ssl://, mqtts:// and wss:// the broker's certificate and host name
 * checked against ca_file (NULL: the system's CAs).
 */
#ifndef EVMON_MQTT_CONN_H
#define EVMON_MQTT_CONN_H

#include <MQTTAsync.h>
#include <stdbool.h>

typedef struct {
    MQTTAsync_connectOptions co; /* co.will and co.ssl point into this struct */
    MQTTAsync_willOptions will;
    MQTTAsync_SSLOptions ssl;
} ev_mqtt_conn;

bool ev_mqtt_url_is_tls(const char *url);

/* Fill c for MQTTAsync_connect(). Strings are referenced, not copied: they
 * must outlive the call. The caller sets co.onFailure/co.context and, for
 * TLS, may set ssl.ssl_error_cb/ssl_error_context. */
void ev_mqtt_conn_init(ev_mqtt_conn *c, const char *url, const char *status_topic, const char *username,
                       const char *password, const char *ca_file);

#endif
