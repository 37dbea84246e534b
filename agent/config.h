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
struct ev_topology_cfg;

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

/* Modbus settings (config_modbus.c), for devices with a Modbus profile. */
typedef enum { EV_MB_TCP, EV_MB_RTU } ev_mb_transport;
typedef struct {
    ev_mb_transport transport; /* default tcp */
    unsigned unit_id;          /* 0..255, default 1 */
    char *serial;              /* rtu: the serial line, e.g. /dev/ttyUSB0 */
    unsigned baud;             /* default 9600 */
    char parity;               /* 'N', 'E' (default) or 'O' */
    unsigned data_bits, stop_bits; /* default 8 and 1 */
    unsigned timeout_ms;       /* per request; default 1000 */
    unsigned retries;          /* default 1 */
    unsigned max_gap;          /* request merging: registers read and discarded, default 10 */
    unsigned max_registers;    /* per request, default 125 */
    unsigned line;             /* line of the device's own modbus: key, 0 if none */
} ev_modbus_cfg;

typedef struct {
    char *name;
    char *profile_name;
    const struct ev_profile *profile; /* resolved by ev_config_load */
    char *address;                    /* "host" or "host:port"; [v6]:port */
    ev_role role;
    char *row, *rack, *feed;          /* optional (NULL); feed "A" or "B" */
    unsigned category;                /* role it: IT measurement category 1 UPS output, 2 PDU output
                                         (default), 3 IT input (BRIEF §2); 0 for other roles */
    ev_snmp_cfg snmp;
    ev_modbus_cfg modbus;             /* for a Modbus profile; an RTU device's address is its serial line */
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
    char *token;          /* InfluxDB 2.x API token: writes go to /api/v2/write */
    char *org, *bucket;   /* 2.x; bucket defaults to database */
    char *ca_file;        /* https: CA bundle to verify the server with (default: system CAs) */
} ev_influx_cfg;

typedef struct {
    bool enabled;
    char *url;            /* tcp://127.0.0.1:1883 */
    char *client_id;      /* default: agent id */
    char *username, *password;
    char *topic_prefix;   /* default "evalley" */
    int qos;              /* default 1 */
    char *ca_file;        /* ssl://, mqtts://: CA to verify the broker with (default: system CAs) */
} ev_mqtt_cfg;

typedef struct {
    bool enabled;         /* true when an http: section is present (config_http.c) */
    char *listen;         /* numeric HOST:PORT, default 127.0.0.1:8080 */
} ev_http_cfg;

/* spool: where each output keeps what it cannot deliver (config_spool.c). */
typedef struct {
    char *dir;                  /* NULL: $STATE_DIRECTORY/spool under systemd, else no spool */
    unsigned long long max_bytes; /* per output; default 1 GiB */
    int fsync;                  /* ev_fsync_policy (outputs/spool.h); 0: periodic, the default */
    unsigned fsync_interval_ms; /* default 1000 */
    unsigned replay_rate;       /* points per second replayed from disk; default 20000 */
} ev_spool_cfg;

typedef struct {
    char *path;           /* the file loaded */
    char *agent_id;       /* required */
    char *site, *hall;    /* required */
    unsigned interval_ms; /* default 10000 */
    char *profiles_dir;   /* default: see ev_default_profiles_dir() */
    ev_snmp_cfg snmp_defaults;
    ev_modbus_cfg modbus_defaults;
    ev_influx_cfg influx;
    ev_mqtt_cfg mqtt;
    ev_http_cfg http;     /* the built-in HTTP server (API, /metrics, page) */
    ev_spool_cfg spool;
    ev_device_cfg *devices;
    size_t ndevices;
    struct ev_profile_set *profiles; /* owned */
    struct ev_topology_cfg *topology; /* `topology:` (config_topology.h); NULL: no energy model */
    struct ev_alerts_cfg *alerts;     /* `alerts:` (alert_cfg.h); NULL: no alerting */
    unsigned inline_secret_line; /* first secret written in the file itself (not *_file/_env), 0 if none */
} ev_config;

/* Load and validate. Returns NULL and fills diag on any error. */
ev_config *ev_config_load(const char *path, ev_diag *diag);
/* The same, but profiles come from profiles_dir (a --profiles option)
 * whatever the file says, when profiles_dir is not NULL. */
ev_config *ev_config_load_with_profiles(const char *path, const char *profiles_dir, ev_diag *diag);
void ev_config_free(ev_config *c);

/* Secrets (community, passwords, tokens) may be given as KEY_file: PATH or
 * KEY_env: NAME instead of inline (config_secret.c). True, with a warning
 * "FILE:LINE: warning: ..." in msg, when the file holds one inline and
 * other users can read it. */
bool ev_config_secrets_exposed(const ev_config *c, char *msg, size_t len);

/* Parse "10s", "500ms", "5m", "1h", "2" (seconds). -1 on error. */
long long ev_parse_duration_ms(const char *s);

/* Profiles dir when the config names none: $EVMON_PROFILES_DIR, else the
 * build's config/profiles (compiled in), else /usr/share/evmon/profiles. */
const char *ev_default_profiles_dir(void);

#endif
