/*
 * test_config.c - the YAML config loader (agent/config.c), its diagnostics
 * (agent/diag.c) and `evmon check` (agent/cmd_check.c).
 *
 * Bad files live in tests/config/bad/, each starting with one or more
 * "# expect: LINE: text" comments: loading must fail with exactly that many
 * diagnostics, each "FILE:LINE: ..." containing its text. Good files in
 * tests/config/good/ must load with the values checked here. Run from the
 * repo root (the Makefile does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "agent/cmd.h"
#include "agent/config.h"
#include "agent/profile.h"

#define BAD_DIR "tests/config/bad"
#define GOOD_DIR "tests/config/good"
#define PROFILES_DIR "tests/config/profiles"

static char tmpdir[] = "/tmp/evmon-test-config-XXXXXX";

static int setup_all(void **state)
{
    if (!mkdtemp(tmpdir))
        return -1;
    return setenv("EVMON_PROFILES_DIR", PROFILES_DIR, 1);
}

static int teardown_all(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

/* True when some message starts with "path:line: " and contains text. */
static bool diag_has(const ev_diag *d, const char *path, unsigned line, const char *text)
{
    char pfx[512];
    if (line)
        snprintf(pfx, sizeof pfx, "%s:%u: ", path, line);
    else
        snprintf(pfx, sizeof pfx, "%s: ", path);
    for (size_t i = 0; i < d->n; i++)
        if (!strncmp(d->msgs[i], pfx, strlen(pfx)) && strstr(d->msgs[i] + strlen(pfx), text))
            return true;
    return false;
}

static void print_diag(const ev_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        print_message("    got: %s\n", d->msgs[i]);
}

/* ---- bad files ---------------------------------------------------------- */

typedef struct {
    unsigned line;
    char text[400];
} expectation;

/* The "# expect: LINE: text" lines at the top of a file. */
static size_t read_expectations(const char *path, expectation *ex, size_t max)
{
    FILE *f = fopen(path, "r");
    char buf[512];
    size_t n = 0;

    assert_non_null(f);
    while (n < max && fgets(buf, sizeof buf, f)) {
        int off = 0;
        if (sscanf(buf, "# expect: %u: %n", &ex[n].line, &off) != 1 || !off)
            break;
        snprintf(ex[n].text, sizeof ex[n].text, "%s", buf + off);
        ex[n].text[strcspn(ex[n].text, "\n")] = 0;
        n++;
    }
    fclose(f);
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One bad file: NULL, and exactly the expected diagnostics. 0 when so. */
static int check_bad_file(const char *path)
{
    expectation ex[16];
    size_t nex = read_expectations(path, ex, 16);
    int failed = 0;

    if (!nex) {
        print_error("%s: no '# expect: LINE: text' first line\n", path);
        return 1;
    }
    ev_diag d = {0};
    ev_config *c = ev_config_load(path, &d);
    if (c) {
        print_error("%s: loaded, but should have been rejected\n", path);
        ev_config_free(c);
        failed = 1;
    }
    for (size_t i = 0; i < nex; i++)
        if (!diag_has(&d, path, ex[i].line, ex[i].text)) {
            print_error("%s: missing diagnostic %u: %s\n", path, ex[i].line, ex[i].text);
            failed = 1;
        }
    if (d.n != nex) {
        print_error("%s: %zu diagnostics, expected %zu\n", path, d.n, nex);
        failed = 1;
    }
    if (failed)
        print_diag(&d);
    ev_diag_free(&d);
    return failed;
}

static void test_bad_files(void **state)
{
    DIR *dir = opendir(BAD_DIR);
    char *names[256];
    size_t n = 0;
    int failures = 0;
    struct dirent *e;

    assert_non_null(dir);
    while ((e = readdir(dir)) && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml"))
            assert_int_not_equal(asprintf(&names[n++], "%s/%s", BAD_DIR, e->d_name), -1);
    }
    closedir(dir);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        failures += check_bad_file(names[i]);
        free(names[i]);
    }
    assert_true(n >= 14);
    assert_int_equal(failures, 0);
}

static void test_missing_file(void **state)
{
    ev_diag d = {0};
    assert_null(ev_config_load("tests/config/no-such-file.yaml", &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "tests/config/no-such-file.yaml: cannot open: No such file or directory");
    ev_diag_free(&d);

    assert_null(ev_config_load("tests/config", &d));
    assert_true(diag_has(&d, "tests/config", 0, "is a directory"));
    ev_diag_free(&d);
}

static void test_zero_byte_file(void **state)
{
    char *path = tmp_path("zero.yaml");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);

    ev_diag d = {0};
    assert_null(ev_config_load(path, &d));
    assert_int_equal(d.n, 1);
    assert_true(diag_has(&d, path, 1, "empty config file"));
    ev_diag_free(&d);
}

static void test_bad_profiles_dir(void **state)
{
    char *path = tmp_path("nodir.yaml");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "agent:\n  id: a\n  site: s\n  hall: h\n  profiles_dir: /nonexistent/evmon-profiles\n"
               "devices:\n  - {name: d, profile: test-pdu, address: 10.0.0.1}\n");
    fclose(f);

    ev_diag d = {0};
    assert_null(ev_config_load(path, &d));
    assert_true(d.n >= 1);
    bool named = false;
    for (size_t i = 0; i < d.n; i++)
        named |= strstr(d.msgs[i], "/nonexistent/evmon-profiles") != NULL;
    if (!named)
        print_diag(&d);
    assert_true(named);
    ev_diag_free(&d);

    /* --profiles wins over the file's profiles_dir */
    ev_config *c = ev_config_load_with_profiles(path, PROFILES_DIR, &d);
    if (!c)
        print_diag(&d);
    assert_non_null(c);
    assert_string_equal(c->profiles_dir, PROFILES_DIR);
    assert_non_null(c->devices[0].profile);
    ev_config_free(c);
    ev_diag_free(&d);
}

/* ---- good files --------------------------------------------------------- */

static ev_config *load_good(const char *path)
{
    ev_diag d = {0};
    ev_config *c = ev_config_load(path, &d);
    if (!c || d.n)
        print_diag(&d);
    assert_int_equal(d.n, 0);
    assert_non_null(c);
    ev_diag_free(&d);
    return c;
}

static void test_minimal_defaults(void **state)
{
    ev_config *c = load_good(GOOD_DIR "/minimal.yaml");

    assert_string_equal(c->path, GOOD_DIR "/minimal.yaml");
    assert_string_equal(c->agent_id, "hall1-agent-a");
    assert_string_equal(c->site, "cambrai");
    assert_string_equal(c->hall, "h1");
    assert_int_equal(c->interval_ms, 10000);
    assert_string_equal(c->profiles_dir, PROFILES_DIR); /* $EVMON_PROFILES_DIR */
    assert_non_null(c->profiles);

    const ev_snmp_cfg *s = &c->snmp_defaults;
    assert_int_equal(s->version, EV_SNMP_V2C);
    assert_string_equal(s->community, "public");
    assert_int_equal(s->timeout_ms, 2000);
    assert_int_equal(s->retries, 1);
    assert_int_equal(s->max_repetitions, 25);
    assert_null(s->user);

    assert_false(c->influx.enabled);
    assert_false(c->mqtt.enabled);
    assert_string_equal(c->influx.database, "evmon");
    assert_int_equal(c->influx.batch_size, 5000);
    assert_int_equal(c->influx.timeout_ms, 5000);
    assert_true(c->influx.gzip);
    assert_int_equal(c->influx.max_queue, 100000);
    assert_string_equal(c->mqtt.topic_prefix, "evalley");
    assert_int_equal(c->mqtt.qos, 1);
    assert_string_equal(c->mqtt.client_id, "hall1-agent-a");

    assert_int_equal(c->ndevices, 1);
    const ev_device_cfg *d = &c->devices[0];
    assert_string_equal(d->name, "pdu-1");
    assert_string_equal(d->profile_name, "test-pdu");
    assert_non_null(d->profile);
    assert_string_equal(ev_profile_name(d->profile), "test-pdu");
    assert_string_equal(d->address, "127.0.0.1");
    assert_int_equal(d->role, EV_ROLE_IT);
    assert_null(d->row);
    assert_null(d->rack);
    assert_null(d->feed);
    assert_int_equal(d->line, 4);
    assert_int_equal(d->snmp.version, EV_SNMP_V2C);
    assert_string_equal(d->snmp.community, "public");
    assert_int_equal(d->snmp.timeout_ms, 2000);
    assert_int_equal(d->snmp.level, EV_SEC_NOAUTH);
    ev_config_free(c);
}

static void test_full_values(void **state)
{
    ev_config *c = load_good(GOOD_DIR "/full.yaml");

    assert_int_equal(c->interval_ms, 500);
    assert_string_equal(c->profiles_dir, GOOD_DIR "/../profiles");
    assert_int_equal(c->snmp_defaults.timeout_ms, 1500);
    assert_int_equal(c->snmp_defaults.retries, 2);
    assert_int_equal(c->snmp_defaults.max_repetitions, 50);
    assert_string_equal(c->snmp_defaults.community, "hall-ro");

    assert_true(c->influx.enabled);
    assert_string_equal(c->influx.url, "http://127.0.0.1:8086"); /* trailing '/' dropped */
    assert_string_equal(c->influx.database, "energy");
    assert_string_equal(c->influx.username, "writer");
    assert_string_equal(c->influx.password, "s3cret");
    assert_int_equal(c->influx.batch_size, 1000);
    assert_int_equal(c->influx.timeout_ms, 3000);
    assert_false(c->influx.gzip);
    assert_int_equal(c->influx.max_queue, 20000);

    assert_true(c->mqtt.enabled);
    assert_string_equal(c->mqtt.url, "tcp://[::1]:1883");
    assert_string_equal(c->mqtt.client_id, "agent-a");
    assert_string_equal(c->mqtt.username, "u");
    assert_string_equal(c->mqtt.password, "p");
    assert_string_equal(c->mqtt.topic_prefix, "evalley/test");
    assert_int_equal(c->mqtt.qos, 0);

    assert_int_equal(c->ndevices, 5);
    const ev_device_cfg *d = &c->devices[0];
    /* v2c: defaults, then the device's overrides */
    assert_string_equal(d->name, "pdu-r01-01-a");
    assert_string_equal(d->row, "r01");
    assert_string_equal(d->rack, "r01-01");
    assert_string_equal(d->feed, "A");
    assert_int_equal(d->line, 26);
    assert_string_equal(d->snmp.community, "private");
    assert_int_equal(d->snmp.timeout_ms, 250);
    assert_int_equal(d->snmp.retries, 2);
    assert_int_equal(d->snmp.max_repetitions, 50);
    assert_int_equal(d->snmp.version, EV_SNMP_V2C);

    /* v3 authPriv, protocol names made canonical */
    d = &c->devices[1];
    assert_string_equal(d->address, "[::1]:1162");
    assert_string_equal(d->feed, "B");
    assert_int_equal(d->snmp.version, EV_SNMP_V3);
    assert_string_equal(d->snmp.user, "monitor");
    assert_int_equal(d->snmp.level, EV_SEC_AUTHPRIV);
    assert_string_equal(d->snmp.auth_protocol, "SHA-512");
    assert_string_equal(d->snmp.auth_password, "authpass1");
    assert_string_equal(d->snmp.priv_protocol, "AES-256");
    assert_string_equal(d->snmp.priv_password, "privpass1");
    assert_int_equal(d->snmp.timeout_ms, 1500);

    /* v3, level and protocols follow from the passwords given */
    d = &c->devices[2];
    assert_int_equal(d->role, EV_ROLE_FACILITY);
    assert_int_equal(d->snmp.level, EV_SEC_AUTHPRIV);
    assert_string_equal(d->snmp.auth_protocol, "SHA-256");
    assert_string_equal(d->snmp.priv_protocol, "AES");

    d = &c->devices[3];
    assert_int_equal(d->role, EV_ROLE_COOLING);
    assert_int_equal(d->snmp.level, EV_SEC_AUTHNOPRIV);
    assert_string_equal(d->snmp.auth_protocol, "SHA-256");
    assert_null(d->snmp.priv_protocol);
    assert_null(d->snmp.priv_password);

    d = &c->devices[4];
    assert_int_equal(d->role, EV_ROLE_OTHER);
    assert_int_equal(d->snmp.version, EV_SNMP_V1);
    assert_int_equal(d->snmp.retries, 0);
    assert_int_equal(d->snmp.max_repetitions, 1);
    assert_string_equal(d->snmp.community, "hall-ro");

    /* the defaults themselves were not touched by the overrides */
    assert_int_equal(c->snmp_defaults.version, EV_SNMP_V2C);
    assert_null(c->snmp_defaults.user);
    ev_config_free(c);
}

static void test_outputs_disabled(void **state)
{
    ev_config *c = load_good(GOOD_DIR "/outputs-disabled.yaml");
    assert_int_equal(c->interval_ms, 300000);
    assert_false(c->influx.enabled);
    assert_string_equal(c->influx.url, "https://influx.example.net:8086");
    assert_true(c->mqtt.enabled); /* "mqtt:" with nothing under it: on, defaults */
    assert_string_equal(c->mqtt.url, "tcp://127.0.0.1:1883");
    assert_string_equal(c->mqtt.client_id, "a1");
    assert_int_equal(c->ndevices, 0);
    ev_config_free(c);
}

static void test_example_config(void **state)
{
    /* config/examples/demo-hall.yaml names the shipped profiles */
    static const char *const needed[] = {"apc-rpdu2", "servertech-sentry4", "ups-mib"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "config/profiles/%s.yaml", needed[i]);
        if (access(path, R_OK)) {
            print_message("    %s not there yet: skipped\n", path);
            skip();
        }
    }
    ev_diag d = {0};
    ev_config *c = ev_config_load_with_profiles("config/examples/demo-hall.yaml", "config/profiles", &d);
    if (!c)
        print_diag(&d);
    assert_non_null(c);
    assert_int_equal(c->ndevices, 6); /* 3 SNMP, 3 Modbus (one on a serial line) */
    assert_int_equal(c->devices[4].modbus.transport, EV_MB_RTU);
    assert_string_equal(c->devices[4].address, "/dev/ttyUSB0");
    assert_true(c->influx.enabled);
    assert_true(c->mqtt.enabled);
    ev_config_free(c);
    ev_diag_free(&d);
}

/* ---- units -------------------------------------------------------------- */

static void test_durations(void **state)
{
    static const struct {
        const char *in;
        long long ms;
    } cases[] = {
        {"10s", 10000}, {"500ms", 500}, {"5m", 300000}, {"1h", 3600000}, {"2", 2000},  {"0", 0},
        {"1.5s", 1500}, {"0.25", 250},  {"90s", 90000}, {"", -1},        {"s", -1},    {"10 s", -1},
        {"-1s", -1},    {"1.s", -1},    {".5s", -1},    {"10sec", -1},   {"1e3", -1},  {"0x10", -1},
        {"5d", -1},     {" 5s", -1},    {"5s ", -1},    {"1ms5", -1},    {"inf", -1},
        {"99999999999999999999h", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long got = ev_parse_duration_ms(cases[i].in);
        if (got != cases[i].ms)
            print_error("ev_parse_duration_ms(\"%s\") = %lld, expected %lld\n", cases[i].in, got, cases[i].ms);
        assert_int_equal(got, cases[i].ms);
    }
    assert_int_equal(ev_parse_duration_ms(NULL), -1);
}

static void test_role_names(void **state)
{
    assert_string_equal(ev_role_name(EV_ROLE_IT), "it");
    assert_string_equal(ev_role_name(EV_ROLE_FACILITY), "facility");
    assert_string_equal(ev_role_name(EV_ROLE_COOLING), "cooling");
    assert_string_equal(ev_role_name(EV_ROLE_OTHER), "other");
}

static void test_default_profiles_dir(void **state)
{
    assert_string_equal(ev_default_profiles_dir(), PROFILES_DIR);
    unsetenv("EVMON_PROFILES_DIR");
    const char *dflt = ev_default_profiles_dir();
    assert_true(!strcmp(dflt, "/usr/share/evmon/profiles") || strstr(dflt, "config/profiles"));
    setenv("EVMON_PROFILES_DIR", "", 1); /* empty counts as unset */
    assert_string_equal(ev_default_profiles_dir(), dflt);
    setenv("EVMON_PROFILES_DIR", PROFILES_DIR, 1);
}

static void test_diag_format(void **state)
{
    ev_diag d = {0};
    ev_diag_add(&d, "a.yaml", 3, "bad %s", "thing");
    ev_diag_add(&d, "a.yaml", 0, "no line");
    for (int i = 0; i < 100; i++)
        ev_diag_add(&d, "b.yaml", (unsigned)i + 1, "n%d", i);
    assert_int_equal(d.n, 102);
    assert_string_equal(d.msgs[0], "a.yaml:3: bad thing");
    assert_string_equal(d.msgs[1], "a.yaml: no line");
    assert_string_equal(d.msgs[101], "b.yaml:100: n99");

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    ev_diag_print(&d, f);
    fclose(f);
    assert_true(!strncmp(buf, "a.yaml:3: bad thing\na.yaml: no line\nb.yaml:1: n0\n", 48));
    free(buf);
    ev_diag_free(&d);
    assert_int_equal(d.n, 0);
    assert_null(d.msgs);
    ev_diag_free(&d); /* twice is harmless */
}

/* ---- scale -------------------------------------------------------------- */

static void write_fleet(const char *path, size_t n, bool dup_last)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "agent: {id: big, site: s, hall: h}\nsnmp: {community: c}\ndevices:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "  - name: pdu-%06zu\n    profile: test-pdu\n    address: 10.%zu.%zu.%zu:161\n"
                "    row: r%03zu\n    rack: r%03zu-%02zu\n    feed: %s\n",
                dup_last && i == n - 1 ? (size_t)7 : i, i >> 16 & 255, i >> 8 & 255, i & 255, i / 40, i / 40,
                i % 20, i % 2 ? "B" : "A");
    fclose(f);
}

static double load_seconds(const char *path, size_t expect_devices)
{
    struct timespec t0, t1;
    ev_diag d = {0};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ev_config *c = ev_config_load(path, &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!c)
        print_diag(&d);
    assert_non_null(c);
    assert_int_equal(c->ndevices, expect_devices);
    ev_config_free(c);
    ev_diag_free(&d);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void test_ten_thousand_devices(void **state)
{
    char small[256], big[256];
    snprintf(small, sizeof small, "%s", tmp_path("fleet-1k.yaml"));
    snprintf(big, sizeof big, "%s", tmp_path("fleet-10k.yaml"));
    write_fleet(small, 1000, false);
    write_fleet(big, 10000, false);

    double ts = 1e9, tb = 1e9;
    int runs = RUNNING_ON_VALGRIND ? 1 : 3; /* best of three: less noise from a busy machine */
    for (int i = 0; i < runs; i++) {
        double s = load_seconds(small, 1000), b = load_seconds(big, 10000);
        ts = s < ts ? s : ts;
        tb = b < tb ? b : tb;
    }
    print_message("    1k devices: %.1f ms, 10k devices: %.1f ms\n", ts * 1e3, tb * 1e3);
    /* linear: ~10x; a quadratic step would make it ~100x */
    assert_true(tb < 30 * ts + 0.02);
#if defined(__SANITIZE_ADDRESS__)
    assert_true(tb < 5.0);
#else
    if (!RUNNING_ON_VALGRIND)
        assert_true(tb < 1.0);
#endif

    /* the one duplicate in 10,000 is found, and only it */
    write_fleet(big, 10000, true);
    ev_diag d = {0};
    assert_null(ev_config_load(big, &d));
    assert_int_equal(d.n, 1);
    assert_true(diag_has(&d, big, 4 + 6 * 9999, "device 'pdu-000007': duplicate device name (first at line 46)"));
    ev_diag_free(&d);
}

/* ---- evmon check -------------------------------------------------------- */

/* Run cmd_check with stdout and stderr captured into out/err. */
static int run_check(char *out, size_t outlen, char *errs, size_t errlen, int argc, char **argv)
{
    int o = dup(STDOUT_FILENO), e = dup(STDERR_FILENO);
    int fo = open(tmp_path("check.out"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    int fe = open(tmp_path("check.err"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(o >= 0 && e >= 0 && fo >= 0 && fe >= 0);
    fflush(stdout);
    fflush(stderr);
    dup2(fo, STDOUT_FILENO);
    dup2(fe, STDERR_FILENO);
    int rc = cmd_check(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, STDOUT_FILENO);
    dup2(e, STDERR_FILENO);
    close(o);
    close(e);
    ssize_t n = pread(fo, out, outlen - 1, 0);
    out[n > 0 ? n : 0] = 0;
    n = pread(fe, errs, errlen - 1, 0);
    errs[n > 0 ? n : 0] = 0;
    close(fo);
    close(fe);
    return rc;
}

static void test_cmd_check(void **state)
{
    char out[4096], errs[8192];

    char *good[] = {"check", "-c", GOOD_DIR "/full.yaml", NULL};
    assert_int_equal(run_check(out, sizeof out, errs, sizeof errs, 3, good), 0);
    assert_string_equal(out, GOOD_DIR "/full.yaml: ok: 5 devices, 1 profile, outputs: influxdb mqtt\n");
    /* It holds secrets inline: a warning when others can read it (a checkout's mode). */
    struct stat st;
    assert_int_equal(stat(GOOD_DIR "/full.yaml", &st), 0);
    if (st.st_mode & S_IROTH)
        assert_non_null(strstr(errs, GOOD_DIR "/full.yaml:10: warning: this file holds a secret and is "
                                     "readable by every user"));
    else
        assert_string_equal(errs, "");
    assert_null(strstr(errs, "s3cret")); /* never the secret itself */

    char *none[] = {"check", "--config", GOOD_DIR "/outputs-disabled.yaml", NULL};
    assert_int_equal(run_check(out, sizeof out, errs, sizeof errs, 3, none), 0);
    assert_string_equal(out, GOOD_DIR "/outputs-disabled.yaml: ok: 0 devices, 0 profiles, outputs: mqtt\n");

    char *bad[] = {"check", "-c", BAD_DIR "/many-errors.yaml", NULL};
    assert_int_equal(run_check(out, sizeof out, errs, sizeof errs, 3, bad), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(errs, BAD_DIR "/many-errors.yaml:13: snmp: unknown key 'retry' (did you mean 'retries'?)\n"));
    assert_non_null(strstr(errs, BAD_DIR "/many-errors.yaml:18: outputs.mqtt.qos:"));
    assert_non_null(strstr(errs, "7 problems found"));

    char *prof[] = {"check", "-c", GOOD_DIR "/minimal.yaml", "--profiles", "/nonexistent/dir", NULL};
    assert_int_equal(run_check(out, sizeof out, errs, sizeof errs, 5, prof), 1);
    assert_non_null(strstr(errs, "/nonexistent/dir"));

    char *help[] = {"check", "--help", NULL};
    assert_int_equal(run_check(out, sizeof out, errs, sizeof errs, 2, help), 0);
    assert_non_null(strstr(out, "usage: evmon check -c FILE"));

    char *noargs[] = {"check", NULL};
    assert_int_equal(run_check(out, sizeof out, errs, sizeof errs, 1, noargs), 2);
    assert_non_null(strstr(errs, "no config file"));

    char *badopt[] = {"check", "--frobnicate", NULL};
    assert_int_equal(run_check(out, sizeof out, errs, sizeof errs, 2, badopt), 2);

    char *extra[] = {"check", "-c", GOOD_DIR "/full.yaml", "stray", NULL};
    assert_int_equal(run_check(out, sizeof out, errs, sizeof errs, 4, extra), 2);

    char *missing[] = {"check", "-c", "tests/config/nope.yaml", NULL};
    assert_int_equal(run_check(out, sizeof out, errs, sizeof errs, 3, missing), 1);
    assert_non_null(strstr(errs, "tests/config/nope.yaml: cannot open: No such file or directory\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_zero_byte_file),
        cmocka_unit_test(test_bad_profiles_dir),
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_full_values),
        cmocka_unit_test(test_outputs_disabled),
        cmocka_unit_test(test_example_config),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_role_names),
        cmocka_unit_test(test_default_profiles_dir),
        cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_ten_thousand_devices),
        cmocka_unit_test(test_cmd_check),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
