/*
 * config.h - the agent's YAML configuration, typed.
 *
 * ev_config_load() parses the YAML file with libyaml, checks every key and
 * value, resolves each device's profile by name (profile.h), and reports
 * every problem as "FILE:LINE: message" in an ev_diag. A config with any
 * diagnostic is rejected whole: nothing half-valid reaches the agent.
 *
 * Durations in the file are "500ms", "10s", "5m", "1h" or a bare number of
 * seconds; they are stored here in milliseconds.
 */
#ifndef EVMON_CONFIG_H
#define EVMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

struct ev_profile;
struct ev_profile_set;

typedef enum { EV_ROLE_IT, EV_ROLE_FACILITY, EV_ROLE_COOLING, EV_ROLE_OTHER } ev_role;
const char *ev_role_name(ev_role r); /* "it", "facility", "cooling", "other" */

typedef enum { EV_SNMP_V1 = 1, EV_SNMP_V2C = 2, EV_SNMP_V3 = 3 } ev_snmp_version;
typedef enum { EV_SEC_NOAUTH, EV_SEC_AUTHNOPRIV, EV_SEC_AUTHPRIV } ev_sec_level;

typedef struct {
    ev_snmp_version version;   /* default 2c */
    char *community;           /* v1/v2c, default "public" */
    char *user;                /* v3 */
    ev_sec_level level;        /* v3; default from which passwords are given */
    char *auth_protocol;       /* "MD5","SHA","SHA-224","SHA-256","SHA-384","SHA-512" */
    char *auth_password;
    char *priv_protocol;       /* "DES","AES","AES-192","AES-256" */
    char *priv_password;
    unsigned timeout_ms;       /* per request; default 2000 */
    unsigned retries;          /* default 1 */
    unsigned max_repetitions;  /* GETBULK; default 25 */
} ev_snmp_cfg;

typedef struct {
    char *name;
    char *profile_name;
    const struct ev_profile *profile; /* resolved by ev_config_load */
    char *address;                    /* "host" or "host:port"; [v6]:port */
    ev_role role;
    char *row, *rack, *feed;          /* optional (NULL); feed "A" or "B" */
    ev_snmp_cfg snmp;
    unsigned line;                    /* where the device starts in the file */
} ev_device_cfg;

typedef struct {
    bool enabled;
    char *url;            /* base, e.g. http://127.0.0.1:8086 */
    char *database;       /* default "evmon" */
    char *username, *password;
    unsigned batch_size;  /* lines per POST, default 5000 */
    unsigned timeout_ms;  /* default 5000 */
    bool gzip;            /* default true */
    unsigned max_queue;   /* points held in memory while the store is down, default 100000 */
} ev_influx_cfg;

typedef struct {
    bool enabled;
    char *url;            /* tcp://127.0.0.1:1883 */
    char *client_id;      /* default: agent id */
    char *username, *password;
    char *topic_prefix;   /* default "evalley" */
    int qos;              /* default 1 */
} ev_mqtt_cfg;

typedef struct {
    char *path;           /* the file loaded */
    char *agent_id;       /* required */
    char *site, *hall;    /* required */
    unsigned interval_ms; /* default 10000 */
    char *profiles_dir;   /* default: see ev_default_profiles_dir() */
    ev_snmp_cfg snmp_defaults;
    ev_influx_cfg influx;
    ev_mqtt_cfg mqtt;
    ev_device_cfg *devices;
    size_t ndevices;
    struct ev_profile_set *profiles; /* owned */
} ev_config;

/* Load and validate. Returns NULL and fills diag on any error. */
ev_config *ev_config_load(const char *path, ev_diag *diag);
/* The same, but profiles come from profiles_dir (a --profiles option)
 * whatever the file says, when profiles_dir is not NULL. */
ev_config *ev_config_load_with_profiles(const char *path, const char *profiles_dir, ev_diag *diag);
void ev_config_free(ev_config *c);

/* Parse "10s", "500ms", "5m", "1h", "2" (seconds). -1 on error. */
long long ev_parse_duration_ms(const char *s);

/* Profiles dir when the config names none: $EVMON_PROFILES_DIR, else the
 * build's config/profiles (compiled in), else /usr/share/evmon/profiles. */
const char *ev_default_profiles_dir(void);

#endif
