/*
 * snmp_session.c - Net-SNMP set-up for the SNMP collector.
 *
 * The library is initialised once, with MIB loading off (evmon uses
 * numeric OIDs only) and without reading snmp.conf or persistent files
 * from /etc, /var/lib/snmp or the user's home. Each device gets its own
 * single session (snmp_sess_open), never the library's global session
 * list, so reading one device's socket never looks at the others.
 *
 * SNMPv3: snmp_sess_open() would block on an engine-ID probe, so every
 * session is opened with SNMP_FLAGS_DONT_PROBE. The collector instead
 * sends ev_snmp_discovery_pdu() asynchronously like any request; the
 * agent's Report sets the session's engine ID (the library does that on
 * any Report), and ev_snmp_localize() then derives the localised keys.
 * Password-to-key hashing (1 MB of hashing per password) is cached per
 * (protocol, password), so it is paid once, not once per device.
 *
 * Net-SNMP keeps SNMPv3 users in one process-wide table keyed by (engine
 * ID, user name). Two devices that report the same engine ID for the same
 * user but are configured with different credentials cannot both work;
 * that is reported as a clear error instead of silently using the wrong
 * keys.
 */
#include "collectors/snmp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/log.h"

/* ---- library ---- */

static int on_library_log(int major, int minor, void *server, void *client)
{
    const struct snmp_log_message *m = server;
    (void)major;
    (void)minor;
    (void)client;
    if (!m || !m->msg)
        return 0;
    size_t n = strlen(m->msg);
    while (n > 0 && m->msg[n - 1] == '\n')
        n--;
    ev_debug("net-snmp: %.*s", (int)n, m->msg);
    return 0;
}

static char *save_env(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

void ev_snmp_lib_init(void)
{
    static bool done; /* the library itself is process-wide */
    if (done)
        return;
    done = true;

    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_CONFIG_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);

    snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_library_log, NULL);
    snmp_enable_calllog();

    /* No MIB directories and no MIB modules. The TLS transport still
     * scans the configuration and persistent directories for certificates
     * (and creates cert_indexes there) whatever the flags above say, so
     * both point at /dev/null, where nothing can be read or created. The
     * environment is read only while init_snmp() runs: set it for that
     * call and put it back. */
    netsnmp_set_mib_directory("");
    set_configuration_directory("/dev/null");
    set_persistent_directory("/dev/null");
    char *saved_mibs = save_env("MIBS"), *saved_conf = save_env("SNMPCONFPATH");
    setenv("MIBS", "", 1);
    setenv("SNMPCONFPATH", "/dev/null", 1);
    init_snmp("evmon");
    restore_env("MIBS", saved_mibs);
    restore_env("SNMPCONFPATH", saved_conf);
}

/* ---- password -> key (Ku) cache ---- */

typedef struct ku_entry {
    struct ku_entry *next;
    const oid *proto;
    size_t protolen;
    char *password;
    u_char ku[USM_AUTH_KU_LEN];
    size_t kulen;
} ku_entry;

struct ev_snmp_keys {
    ku_entry *head;
};

ev_snmp_keys *ev_snmp_keys_new(void)
{
    return calloc(1, sizeof(ev_snmp_keys));
}

void ev_snmp_keys_free(ev_snmp_keys *k)
{
    if (!k)
        return;
    for (ku_entry *e = k->head, *next; e; e = next) {
        next = e->next;
        explicit_bzero(e->password, strlen(e->password));
        explicit_bzero(e->ku, sizeof e->ku);
        free(e->password);
        free(e);
    }
    free(k);
}

static const ku_entry *ku_get(ev_snmp_keys *k, const oid *proto, size_t protolen, const char *pw)
{
    for (ku_entry *e = k->head; e; e = e->next)
        if (e->protolen == protolen && !snmp_oid_compare(e->proto, protolen, proto, protolen) &&
            !strcmp(e->password, pw))
            return e;
    ku_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->password = strdup(pw))) {
        free(e);
        return NULL;
    }
    e->proto = proto; /* a library constant */
    e->protolen = protolen;
    e->kulen = sizeof e->ku;
    if (generate_Ku(proto, (u_int)protolen, (const u_char *)pw, strlen(pw), e->ku, &e->kulen) !=
        SNMPERR_SUCCESS) {
        free(e->password);
        free(e);
        return NULL;
    }
    e->next = k->head;
    k->head = e;
    return e;
}

/* ---- opening a session ---- */

/* "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address to a
 * Net-SNMP transport spec. */
static void peer_spec(const char *address, char *out, size_t len)
{
    const char *first = strchr(address, ':');
    if (address[0] == '[')
        snprintf(out, len, "udp6:%s", address);
    else if (first && strchr(first + 1, ':'))
        snprintf(out, len, "udp6:[%s]", address);
    else
        snprintf(out, len, "udp:%s", address);
}

/* Protocol names, matched whole (Net-SNMP's own lookup accepts any
 * prefix, so "SHA-2" would quietly mean SHA-224). */
typedef struct {
    const char *name;
    int type;
} proto_name;

static const proto_name auth_names[] = {
    {"MD5", NETSNMP_USMAUTH_HMACMD5},           {"SHA", NETSNMP_USMAUTH_HMACSHA1},
    {"SHA-1", NETSNMP_USMAUTH_HMACSHA1},        {"SHA1", NETSNMP_USMAUTH_HMACSHA1},
    {"SHA-224", NETSNMP_USMAUTH_HMAC128SHA224}, {"SHA224", NETSNMP_USMAUTH_HMAC128SHA224},
    {"SHA-256", NETSNMP_USMAUTH_HMAC192SHA256}, {"SHA256", NETSNMP_USMAUTH_HMAC192SHA256},
    {"SHA-384", NETSNMP_USMAUTH_HMAC256SHA384}, {"SHA384", NETSNMP_USMAUTH_HMAC256SHA384},
    {"SHA-512", NETSNMP_USMAUTH_HMAC384SHA512}, {"SHA512", NETSNMP_USMAUTH_HMAC384SHA512},
};

static const proto_name priv_names[] = {
    {"DES", USM_CREATE_USER_PRIV_DES},        {"AES", USM_CREATE_USER_PRIV_AES},
    {"AES-128", USM_CREATE_USER_PRIV_AES},    {"AES128", USM_CREATE_USER_PRIV_AES},
    {"AES-192", USM_CREATE_USER_PRIV_AES192}, {"AES192", USM_CREATE_USER_PRIV_AES192},
    {"AES-256", USM_CREATE_USER_PRIV_AES256}, {"AES256", USM_CREATE_USER_PRIV_AES256},
    /* Reeder key extension, as Cisco and some others do it */
    {"AES-192-C", USM_CREATE_USER_PRIV_AES192_CISCO}, {"AES-256-C", USM_CREATE_USER_PRIV_AES256_CISCO},
};

static int proto_type(const proto_name *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(t[i].name, name))
            return t[i].type;
    return -1;
}

static int set_v3(netsnmp_session *s, const ev_snmp_cfg *c, ev_snmp_keys *keys, char *err,
                  size_t errlen)
{
    if (!c->user || !*c->user) {
        snprintf(err, errlen, "SNMPv3 needs a user name");
        return -1;
    }
    s->securityName = c->user;
    s->securityNameLen = strlen(c->user);
    s->securityModel = SNMP_SEC_MODEL_USM;
    s->securityLevel = c->level == EV_SEC_AUTHPRIV      ? SNMP_SEC_LEVEL_AUTHPRIV
                       : c->level == EV_SEC_AUTHNOPRIV ? SNMP_SEC_LEVEL_AUTHNOPRIV
                                                       : SNMP_SEC_LEVEL_NOAUTH;
    if (c->level == EV_SEC_NOAUTH)
        return 0;

    const char *aname = c->auth_protocol ? c->auth_protocol : "SHA";
    int atype = proto_type(auth_names, sizeof auth_names / sizeof auth_names[0], aname);
    size_t alen = 0;
    oid *aproto = atype < 0 ? NULL : sc_get_auth_oid(atype, &alen);
    if (!aproto) {
        snprintf(err, errlen, "SNMPv3 auth protocol '%s' is not supported by this Net-SNMP", aname);
        return -1;
    }
    const char *apw = c->auth_password ? c->auth_password : "";
    if (strlen(apw) < USM_LENGTH_P_MIN) {
        snprintf(err, errlen, "SNMPv3 auth password for user '%s' is shorter than %d characters",
                 c->user, USM_LENGTH_P_MIN);
        return -1;
    }
    const ku_entry *ak = ku_get(keys, aproto, alen, apw);
    if (!ak) {
        snprintf(err, errlen, "cannot derive the %s key for user '%s'", aname, c->user);
        return -1;
    }
    s->securityAuthProto = aproto;
    s->securityAuthProtoLen = alen;
    memcpy(s->securityAuthKey, ak->ku, ak->kulen);
    s->securityAuthKeyLen = ak->kulen;
    if (c->level != EV_SEC_AUTHPRIV)
        return 0;

    const char *pname = c->priv_protocol ? c->priv_protocol : "AES";
    int ptype = proto_type(priv_names, sizeof priv_names / sizeof priv_names[0], pname);
    size_t plen = 0;
    oid *pproto = ptype < 0 ? NULL : sc_get_priv_oid(ptype, &plen);
    if (!pproto) {
        snprintf(err, errlen, "SNMPv3 priv protocol '%s' is not supported by this Net-SNMP", pname);
        return -1;
    }
    const char *ppw = c->priv_password ? c->priv_password : "";
    if (strlen(ppw) < USM_LENGTH_P_MIN) {
        snprintf(err, errlen, "SNMPv3 priv password for user '%s' is shorter than %d characters",
                 c->user, USM_LENGTH_P_MIN);
        return -1;
    }
    /* The privacy key is derived with the authentication hash (RFC 3414). */
    const ku_entry *pk = ku_get(keys, aproto, alen, ppw);
    if (!pk) {
        snprintf(err, errlen, "cannot derive the %s key for user '%s'", pname, c->user);
        return -1;
    }
    s->securityPrivProto = pproto;
    s->securityPrivProtoLen = plen;
    memcpy(s->securityPrivKey, pk->ku, pk->kulen);
    s->securityPrivKeyLen = pk->kulen;
    return 0;
}

void *ev_snmp_open(const ev_device_cfg *dev, ev_snmp_keys *keys, netsnmp_callback cb,
                   void *magic, char *err, size_t errlen)
{
    const ev_snmp_cfg *c = &dev->snmp;
    char peer[300];
    netsnmp_session s;

    snmp_sess_init(&s);
    peer_spec(dev->address, peer, sizeof peer);
    s.peername = peer;
    s.timeout = (long)c->timeout_ms * 1000L;
    s.retries = (int)c->retries;
    s.callback = cb;
    s.callback_magic = magic;
    s.flags |= SNMP_FLAGS_DONT_PROBE;
    switch (c->version) {
    case EV_SNMP_V1:
    case EV_SNMP_V2C:
        s.version = c->version == EV_SNMP_V1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
        s.community = (u_char *)(c->community ? c->community : "public");
        s.community_len = strlen((char *)s.community);
        break;
    case EV_SNMP_V3:
        s.version = SNMP_VERSION_3;
        if (set_v3(&s, c, keys, err, errlen) < 0)
            return NULL;
        break;
    default:
        snprintf(err, errlen, "unknown SNMP version %d", (int)c->version);
        return NULL;
    }
    void *sess = snmp_sess_open(&s);
    explicit_bzero(s.securityAuthKey, sizeof s.securityAuthKey);
    explicit_bzero(s.securityPrivKey, sizeof s.securityPrivKey);
    if (!sess) {
        char *msg = NULL;
        int e = 0, se = 0;
        snmp_error(&s, &e, &se, &msg);
        snprintf(err, errlen, "cannot open SNMP session to %s: %s", dev->address,
                 msg ? msg : "unknown error");
        free(msg);
        return NULL;
    }
    /* snmp_sess_open() clears this flag once open; without it the first
     * send to an unknown engine would probe, blocking, from inside
     * snmp_sess_async_send(). */
    snmp_sess_session(sess)->flags |= SNMP_FLAGS_DONT_PROBE;
    return sess;
}

int ev_snmp_fd(void *sess)
{
    netsnmp_transport *t = snmp_sess_transport(sess);
    return t ? t->sock : -1;
}

bool ev_snmp_needs_discovery(void *sess)
{
    netsnmp_session *s = snmp_sess_session(sess);
    return s && s->version == SNMP_VERSION_3 && s->securityEngineIDLen == 0;
}

/* ---- asynchronous engine-ID discovery ---- */

netsnmp_pdu *ev_snmp_discovery_pdu(void)
{
    /* Incoming Reports to a request with an empty user name are checked
     * against an empty user with no engine ID, as Net-SNMP's own
     * (blocking) probe does. */
    if (!usm_get_user(NULL, 0, "")) {
        struct usmUser *u = calloc(1, sizeof *u);
        if (!u)
            return NULL;
        u->name = strdup("");
        u->secName = strdup("");
        u->authProtocolLen = OID_LENGTH(usmNoAuthProtocol);
        u->authProtocol = snmp_duplicate_objid(usmNoAuthProtocol, u->authProtocolLen);
        u->privProtocolLen = OID_LENGTH(usmNoPrivProtocol);
        u->privProtocol = snmp_duplicate_objid(usmNoPrivProtocol, u->privProtocolLen);
        if (!u->name || !u->secName || !u->authProtocol || !u->privProtocol) {
            usm_free_user(u);
            return NULL;
        }
        usm_add_user(u);
    }
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
    if (!pdu)
        return NULL;
    pdu->version = SNMP_VERSION_3;
    pdu->securityName = strdup("");
    pdu->securityNameLen = 0;
    pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
    pdu->securityModel = SNMP_SEC_MODEL_USM;
    if (!pdu->securityName) {
        snmp_free_pdu(pdu);
        return NULL;
    }
    return pdu;
}

static void hex(const u_char *p, size_t n, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%02x", p[i]);
    out[o < len ? o : len - 1] = 0;
}

/* Would the keys this session localises for its engine equal those of
 * an already known user (same engine ID and name)? */
static bool same_keys(const netsnmp_session *s, const struct usmUser *u)
{
    u_char kul[USM_AUTH_KU_LEN];
    size_t kullen;
    if (s->securityAuthProto && snmp_oid_compare(u->authProtocol, u->authProtocolLen,
                                                 s->securityAuthProto, s->securityAuthProtoLen))
        return false;
    if (s->securityPrivProto && snmp_oid_compare(u->privProtocol, u->privProtocolLen,
                                                 s->securityPrivProto, s->securityPrivProtoLen))
        return false;
    if (s->securityAuthKeyLen) {
        kullen = sizeof kul;
        if (generate_kul(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                         s->securityEngineID, s->securityEngineIDLen, s->securityAuthKey,
                         s->securityAuthKeyLen, kul, &kullen) != SNMPERR_SUCCESS ||
            kullen > u->authKeyLen || memcmp(kul, u->authKey, kullen))
            return false;
    }
    if (s->securityPrivKeyLen) {
        kullen = sizeof kul;
        if (generate_kul(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                         s->securityEngineID, s->securityEngineIDLen, s->securityPrivKey,
                         s->securityPrivKeyLen, kul, &kullen) != SNMPERR_SUCCESS ||
            !u->privKey || memcmp(kul, u->privKey, kullen < u->privKeyLen ? kullen : u->privKeyLen))
            return false;
    }
    return true;
}

int ev_snmp_localize(void *sess, const char *device, char *err, size_t errlen)
{
    netsnmp_session *s = snmp_sess_session(sess);
    char id[2 * 32 + 1];
    if (!s || !s->securityEngineIDLen) {
        snprintf(err, errlen, "SNMPv3 engine ID discovery failed (no engine ID in the answer)");
        return -1;
    }
    hex(s->securityEngineID, s->securityEngineIDLen, id, sizeof id);
    if (s->securityLevel != SNMP_SEC_LEVEL_NOAUTH && !(s->flags & SNMP_FLAGS_USER_CREATED)) {
        const struct usmUser *u =
            usm_get_user(s->securityEngineID, s->securityEngineIDLen, s->securityName);
        if (u && !same_keys(s, u)) {
            snprintf(err, errlen,
                     "SNMPv3 engine ID %s with user '%s' is already in use by another device "
                     "with different credentials (duplicate engine ID?)",
                     id, s->securityName);
            return -1;
        }
    }
    if (usm_create_user_from_session(s) != SNMPERR_SUCCESS) {
        snprintf(err, errlen, "cannot set up SNMPv3 keys for user '%s' and engine ID %s",
                 s->securityName, id);
        return -1;
    }
    ev_debug("snmp: device '%s': SNMPv3 engine ID %s", device, id);
    return 0;
}

void ev_snmp_forget_engine(void *sess)
{
    netsnmp_session *s = snmp_sess_session(sess);
    if (!s)
        return;
    SNMP_FREE(s->securityEngineID);
    s->securityEngineIDLen = 0;
    SNMP_FREE(s->contextEngineID);
    s->contextEngineIDLen = 0;
    s->flags &= ~(u_long)SNMP_FLAGS_USER_CREATED;
}

/* ---- error texts ---- */

void ev_snmp_report_text(int report, const ev_device_cfg *dev, char *buf, size_t len)
{
    const char *user = dev->snmp.user ? dev->snmp.user : "";
    switch (report) {
    case SNMPERR_AUTHENTICATION_FAILURE:
        snprintf(buf, len,
                 "SNMPv3 authentication failure for user '%s' (wrong password or auth protocol?)",
                 user);
        break;
    case SNMPERR_DECRYPTION_ERR:
        snprintf(buf, len, "decryption error for user '%s' (wrong priv password or priv protocol?)",
                 user);
        break;
    case SNMPERR_UNKNOWN_USER_NAME:
        snprintf(buf, len, "SNMPv3 unknown user '%s' on the device", user);
        break;
    case SNMPERR_UNSUPPORTED_SEC_LEVEL:
        snprintf(buf, len, "SNMPv3 user '%s' is not configured on the device for this security level",
                 user);
        break;
    case SNMPERR_UNKNOWN_ENG_ID:
        snprintf(buf, len, "unknown engine ID (the device's SNMPv3 engine ID changed?); "
                           "rediscovering on the next poll");
        break;
    case SNMPERR_NOT_IN_TIME_WINDOW:
        snprintf(buf, len, "SNMPv3 not in time window (the device's engine boots/time went back?); "
                           "rediscovering on the next poll");
        break;
    case SNMPERR_BAD_CONTEXT:
        snprintf(buf, len, "SNMPv3 unknown context");
        break;
    default:
        snprintf(buf, len, "SNMPv3 report: %s", snmp_api_errstring(report));
        break;
    }
}

void ev_snmp_sess_errtext(void *sess, char *buf, size_t len)
{
    char *msg = NULL;
    int e = 0, se = 0;
    snmp_sess_error(sess, &e, &se, &msg);
    snprintf(buf, len, "%s", msg ? msg : "unknown error");
    free(msg);
}

const char *ev_snmp_errstat_name(long errstat)
{
    static const char *const names[] = {
        "noError",        "tooBig",       "noSuchName",         "badValue",
        "readOnly",       "genErr",       "noAccess",           "wrongType",
        "wrongLength",    "wrongEncoding", "wrongValue",        "noCreation",
        "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
        "authorizationError", "notWritable", "inconsistentName",
    };
    if (errstat >= 0 && (size_t)errstat < sizeof names / sizeof names[0])
        return names[errstat];
    return "unknown error-status";
}
