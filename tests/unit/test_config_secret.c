/*
 * test_config_secret.c - secrets in the config (agent/config_secret.c):
 * KEY_file and KEY_env give the same value as KEY inline, with the same
 * checks; a missing file, an unset variable, an empty secret or two
 * sources for one key are errors naming the key and the path or variable
 * but never the secret; the "readable by others" warning appears only for
 * a file that holds a secret inline and has mode & 004.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/config.h"

typedef struct {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_config_secret.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/evmon.yaml", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    unsetenv("EVMON_TEST_SECRET");
    return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

/* A config around the given snmp: and outputs: lines. */
static ev_config *load(fixture *f, const char *body, mode_t mode, ev_diag *diag)
{
    char text[2048], cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd)); /* tests run from the repo root */
    snprintf(text, sizeof text, "agent: {id: a1, site: s1, hall: h1, profiles_dir: %s/tests/config/profiles}\n%s",
             cwd, body);
    write_file(f->path, text, mode);
    return ev_config_load(f->path, diag);
}

/* Every diagnostic joined, for strstr. */
static const char *all(const ev_diag *d, char *buf, size_t len)
{
    buf[0] = 0;
    for (size_t i = 0; i < d->n; i++) {
        strncat(buf, d->msgs[i], len - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    return buf;
}

static void secrets_from_file_and_env(void **state)
{
    fixture *f = *state;
    char p[160], errs[2048];
    snprintf(p, sizeof p, "%s/mqtt-pass", f->dir);
    write_file(p, "from-file-123\n", 0600);
    snprintf(p, sizeof p, "%s/auth", f->dir);
    write_file(p, "auth-pass-456", 0600);
    setenv("EVMON_TEST_SECRET", "priv-pass-789", 1);
    ev_diag d = {0};
    ev_config *c = load(f,
                        "snmp:\n"
                        "  version: 3\n"
                        "  user: u\n"
                        "  auth_password_file: auth\n" /* relative to the config's directory */
                        "  priv_password_env: EVMON_TEST_SECRET\n"
                        "outputs:\n"
                        "  mqtt: {url: 'tcp://127.0.0.1:1883', username: u, password_file: mqtt-pass}\n"
                        "  influxdb: {url: 'http://127.0.0.1:8086', password_env: EVMON_TEST_SECRET}\n",
                        0644, &d);
    assert_non_null(c);
    assert_string_equal(all(&d, errs, sizeof errs), "");
    assert_string_equal(c->mqtt.password, "from-file-123"); /* one trailing newline dropped */
    assert_string_equal(c->snmp_defaults.auth_password, "auth-pass-456");
    assert_string_equal(c->snmp_defaults.priv_password, "priv-pass-789");
    assert_int_equal(c->snmp_defaults.level, EV_SEC_AUTHPRIV); /* as if written inline */
    assert_string_equal(c->influx.password, "priv-pass-789");
    /* Nothing inline (the default community is not in the file): no warning, even at 0644. */
    char msg[512];
    assert_false(ev_config_secrets_exposed(c, msg, sizeof msg));
    ev_config_free(c);
    ev_diag_free(&d);
}

static void device_community_file(void **state)
{
    fixture *f = *state;
    char p[160];
    snprintf(p, sizeof p, "%s/community", f->dir);
    write_file(p, "rack-ro\n", 0600);
    ev_diag d = {0};
    char body[512];
    snprintf(body, sizeof body,
             "devices:\n"
             "  - {name: d1, profile: test-pdu, address: 127.0.0.1, snmp: {community_file: %s}}\n", p);
    ev_config *c = load(f, body, 0600, &d);
    assert_non_null(c);
    assert_int_equal(c->ndevices, 1);
    assert_string_equal(c->devices[0].snmp.community, "rack-ro");
    ev_config_free(c);
    ev_diag_free(&d);
}

static void bad_sources_are_clear_errors(void **state)
{
    fixture *f = *state;
    char p[160], errs[4096];
    snprintf(p, sizeof p, "%s/empty", f->dir);
    write_file(p, "\n", 0600);
    snprintf(p, sizeof p, "%s/short", f->dir);
    write_file(p, "abc\n", 0600);
    unsetenv("EVMON_TEST_SECRET");
    ev_diag d = {0};
    ev_config *c = load(f,
                        "snmp:\n"
                        "  version: 3\n"
                        "  user: u\n"
                        "  auth_password_file: short\n"
                        "  priv_password_env: EVMON_TEST_SECRET\n"
                        "outputs:\n"
                        "  mqtt:\n"
                        "    password: inline-one\n"
                        "    password_file: /nonexistent/pass\n"
                        "  influxdb:\n"
                        "    password_file: empty\n"
                        "    username_file: x\n",
                        0600, &d);
    assert_null(c);
    all(&d, errs, sizeof errs);
    assert_non_null(strstr(errs, ":5: snmp.auth_password_file: too short (3 characters; net-snmp needs at least 8)"));
    assert_non_null(strstr(errs, ":6: snmp.priv_password_env: environment variable 'EVMON_TEST_SECRET' is not set"));
    assert_non_null(strstr(errs, ":10: outputs.mqtt.password_file: give only one of password, password_file and "
                                 "password_env (first at line 9)"));
    assert_non_null(strstr(errs, ":12: outputs.influxdb.password_file: cannot read secret from '"));
    assert_non_null(strstr(errs, "/empty': the file is empty"));
    assert_non_null(strstr(errs, ":13: outputs.influxdb: unknown key 'username_file'")); /* not a secret */
    assert_null(strstr(errs, "abc"));        /* the short secret itself */
    assert_null(strstr(errs, "inline-one")); /* nor the inline one */
    ev_diag_free(&d);
}

static void world_readable_inline_secret_warns(void **state)
{
    fixture *f = *state;
    const char *body = "snmp:\n"
                       "  community: hall-ro\n";
    char msg[512];
    ev_diag d = {0};
    ev_config *c = load(f, body, 0644, &d);
    assert_non_null(c);
    assert_int_equal(c->inline_secret_line, 3);
    assert_true(ev_config_secrets_exposed(c, msg, sizeof msg));
    char want[256];
    snprintf(want, sizeof want, "%s:3: warning: this file holds a secret and is readable by every user (mode 0644)",
             f->path);
    assert_non_null(strstr(msg, want));
    assert_null(strstr(msg, "hall-ro"));
    ev_config_free(c);

    c = load(f, body, 0640, &d); /* group-readable is the intended setup (group evmon) */
    assert_non_null(c);
    assert_false(ev_config_secrets_exposed(c, msg, sizeof msg));
    ev_config_free(c);
    ev_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(secrets_from_file_and_env, setup, teardown),
        cmocka_unit_test_setup_teardown(device_community_file, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_sources_are_clear_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(world_readable_inline_secret_warns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
