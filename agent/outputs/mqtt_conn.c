/*
 * mqtt_conn.c - Paho connect options for every evmon MQTT client (see
 * mqtt_conn.h).
 */
#include "agent/outputs/mqtt_conn.h"

#include <string.h>

bool ev_mqtt_url_is_tls(const char *url)
{
    return strncmp(url, "ssl://", 6) == 0 || strncmp(url, "mqtts://", 8) == 0 ||
           strncmp(url, "wss://", 6) == 0;
}

void ev_mqtt_conn_init(ev_mqtt_conn *c, const char *url, const char *status_topic, const char *username,
                       const char *password, const char *ca_file)
{
    c->will = (MQTTAsync_willOptions)MQTTAsync_willOptions_initializer;
    c->will.topicName = status_topic;
    c->will.message = "offline";
    c->will.retained = 1;
    c->will.qos = 1;

    c->co = (MQTTAsync_connectOptions)MQTTAsync_connectOptions_initializer;
    c->co.keepAliveInterval = 30;
    c->co.cleansession = 0;
    c->co.connectTimeout = 10;
    c->co.automaticReconnect = 1;
    c->co.minRetryInterval = 1;
    c->co.maxRetryInterval = 30;
    c->co.will = &c->will;
    c->co.username = username;
    c->co.password = password;

    c->ssl = (MQTTAsync_SSLOptions)MQTTAsync_SSLOptions_initializer;
    if (ev_mqtt_url_is_tls(url)) {
        c->ssl.trustStore = ca_file; /* NULL: the system's CAs */
        c->ssl.enableServerCertAuth = 1;
        c->ssl.verify = 1; /* the host name too */
        c->co.ssl = &c->ssl;
    }
}
