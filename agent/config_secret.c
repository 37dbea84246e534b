/*
 * config_secret.c - secrets in the config: where they may come from and
 * who may read them.
 *
 * A field marked .secret in a section table (SNMP community and v3
 * passwords, MQTT and InfluxDB passwords, tokens) is read from the file
 * itself (KEY: value), from a file (KEY_file: PATH, one line; relative to
 * the config's directory, so systemd's LoadCredential= works as
 * KEY_file: /run/credentials/evmon-agent.service/NAME) or from the
 * environment (KEY_env: NAME). cfg_read_map() calls in here for the
 * _file/_env keys and hands the secret to the field's usual reader, so
 * every check applies whatever the source. Error messages name the key,
 * the path or the variable, never the secret.
 *
 * ev_config_secrets_exposed() is the check `evmon check` and the agent
 * warn with: a config that holds a secret inline and that other users can
 * read gives it away.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/config.h"
#include "agent/config_read.h"

#define SECRET_MAX 4096 /* longer is not a password: a wrong path */

static const char *const suffixes[] = {"_file", "_env"};

size_t cfg_secret_field(const cfg_table *t, const char *key)
{
    size_t klen = strlen(key);
    for (size_t s = 0; s < 2; s++) {
        size_t slen = strlen(suffixes[s]);
        if (klen <= slen || strcmp(key + klen - slen, suffixes[s]))
            continue;
        for (size_t i = 0; i < t->n; i++)
            if (t->f[i].secret && strlen(t->f[i].key) == klen - slen &&
                !strncmp(t->f[i].key, key, klen - slen))
                return i;
    }
    return t->n;
}

/* PATH relative to the config file's directory. */
static char *resolve(const char *config, const char *path)
{
    const char *slash = strrchr(config, '/');
    char *out = NULL;
    if (path[0] == '/' || !slash)
        return strdup(path);
    if (asprintf(&out, "%.*s/%s", (int)(slash - config), config, path) < 0)
        return NULL;
    return out;
}

/* The file's first line (one trailing newline dropped), or NULL with why. */
static char *read_secret_file(const char *path, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = strerror(errno);
        return NULL;
    }
    char *buf = calloc(1, SECRET_MAX + 2);
    size_t n = buf ? fread(buf, 1, SECRET_MAX + 1, f) : 0;
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (!buf) {
        *why = "out of memory";
        return NULL;
    }
    if (err) {
        *why = strerror(err);
    } else if (n > SECRET_MAX) {
        *why = "longer than 4096 bytes (not a secret file?)";
    } else {
        if (n && buf[n - 1] == '\n')
            buf[--n] = 0;
        if (n && buf[n - 1] == '\r')
            buf[--n] = 0;
        if (!n)
            *why = "the file is empty";
        else if (memchr(buf, 0, n) || memchr(buf, '\n', n))
            *why = "more than one line, or a NUL byte";
        else
            return buf;
    }
    free(buf);
    return NULL;
}

bool cfg_secret_read(cfg_ctx *cx, const yaml_node_t *k, const yaml_node_t *v, const char *label,
                     yaml_node_t *out, char **buf)
{
    const char *key = cfg_text(k), *why = NULL;
    bool from_file = strlen(key) > 5 && !strcmp(key + strlen(key) - 5, "_file");
    const char *name = cfg_scalar(cx, k, v, label, from_file ? "a file name" : "a variable name");

    *buf = NULL;
    if (!name) {
        if (cfg_is_null(v))
            cfg_error(cx, cfg_line(k), "%s: must not be empty", label);
        return false;
    }
    if (from_file) {
        char *path = resolve(cx->file, name);
        *buf = path ? read_secret_file(path, &why) : NULL;
        if (!*buf)
            cfg_error(cx, cfg_line(v), "%s: cannot read secret from '%s': %s", label, path ? path : name,
                      path ? why : "out of memory");
        free(path);
    } else {
        const char *val = getenv(name);
        if (!val || !*val)
            cfg_error(cx, cfg_line(v), "%s: environment variable '%s' is %s", label, name,
                      val ? "empty" : "not set");
        else if (!(*buf = strdup(val)))
            cfg_error(cx, cfg_line(v), "out of memory");
    }
    if (!*buf)
        return false;
    /* The value node, as if the secret had been written there quoted. */
    *out = *v;
    out->data.scalar.value = (yaml_char_t *)*buf;
    out->data.scalar.length = strlen(*buf);
    out->data.scalar.style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
    return true;
}

bool ev_config_secrets_exposed(const ev_config *c, char *msg, size_t len)
{
    struct stat st;
    if (!c->inline_secret_line || stat(c->path, &st) < 0 || !(st.st_mode & S_IROTH))
        return false;
    snprintf(msg, len,
             "%s:%u: warning: this file holds a secret and is readable by every user (mode %04o); "
             "chmod o-r it, or move secrets to *_file: PATH or *_env: NAME",
             c->path, c->inline_secret_line, (unsigned)(st.st_mode & 07777));
    return true;
}
