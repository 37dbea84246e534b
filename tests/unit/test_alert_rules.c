/*
 * test_alert_rules.c - the rule file loader (agent/alert_rules.c), the
 * glob checks (agent/alert_match.c), the `alerts:` config section
 * (agent/config_alerts.c) and the shipped pack config/rules/default.yaml.
 *
 * Bad files live in tests/config/rules-bad/, each starting with one or
 * more "# expect: LINE: text" comments: loading must fail with exactly
 * that many diagnostics, each "FILE:LINE: ..." containing its text.
 * Run from the repo root (the Makefile does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/alert_cfg.h"
#include "agent/alert_rule.h"
#include "agent/config.h"

#define BAD_DIR "tests/config/rules-bad"

typedef struct {
    unsigned line;
    char text[300];
} expect;

static size_t read_expects(const char *path, expect *ex, size_t max)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t n = 0;
    assert_non_null(f);
    while (fgets(line, sizeof line, f) && n < max) {
        unsigned l;
        int off = 0;
        if (sscanf(line, "# expect: %u: %n", &l, &off) != 1 || !off)
            continue;
        ex[n].line = l;
        snprintf(ex[n].text, sizeof ex[n].text, "%s", line + off);
        ex[n].text[strcspn(ex[n].text, "\n")] = 0;
        n++;
    }
    fclose(f);
    return n;
}

static void check_bad_file(const char *path)
{
    expect ex[16];
    size_t nex = read_expects(path, ex, 16);
    ev_alert_rules rules = {0};
    ev_diag diag = {0};
    const char *paths[] = {path};
    size_t nerr = ev_alert_rules_load(&rules, paths, 1, &diag);

    assert_true(nex > 0);
    if (diag.n != nex) {
        fprintf(stderr, "%s: expected %zu diagnostics, got %zu:\n", path, nex, diag.n);
        ev_diag_print(&diag, stderr);
    }
    assert_int_equal(diag.n, nex);
    assert_int_equal(nerr, nex);
    assert_int_equal(rules.n, 0); /* a file with a problem adds no rule */
    for (size_t i = 0; i < nex; i++) {
        char want[400];
        snprintf(want, sizeof want, "%s:%u: %s", path, ex[i].line, ex[i].text);
        bool found = false;
        for (size_t j = 0; j < diag.n; j++)
            found |= strstr(diag.msgs[j], want) != NULL;
        if (!found) {
            fprintf(stderr, "missing diagnostic: %s\ngot:\n", want);
            ev_diag_print(&diag, stderr);
        }
        assert_true(found);
    }
    ev_diag_free(&diag);
    ev_alert_rules_free(&rules);
}

static void bad_rule_files(void **state)
{
    DIR *d = opendir(BAD_DIR);
    struct dirent *e;
    size_t n = 0;
    assert_non_null(d);
    while ((e = readdir(d))) {
        char path[512];
        if (!strstr(e->d_name, ".yaml"))
            continue;
        snprintf(path, sizeof path, "%s/%s", BAD_DIR, e->d_name);
        check_bad_file(path);
        n++;
    }
    closedir(d);
    assert_true(n >= 8);
}

static void default_pack_loads(void **state)
{
    ev_alert_rules rules = {0};
    ev_diag diag = {0};
    const char *paths[] = {"config/rules/default.yaml"};
    size_t nerr = ev_alert_rules_load(&rules, paths, 1, &diag);
    ev_diag_print(&diag, stderr);
    assert_int_equal(nerr, 0);
    assert_true(rules.n >= 10);
    const ev_alert_rule *r = ev_alert_rules_find(&rules, "inlet_temp_high");
    assert_non_null(r);
    assert_true(r->has_warn && r->warn == 27 && r->has_crit && r->crit == 32); /* ASHRAE recommended / A1 */
    assert_int_equal(r->for_ms, 300000);
    r = ev_alert_rules_find(&rules, "device_unreachable");
    assert_non_null(r);
    assert_int_equal(r->for_samples, 3);
    assert_int_equal(r->missing_ms, 300000);
    assert_int_equal(r->dir, EV_ALERT_BELOW);
    ev_diag_free(&diag);
    ev_alert_rules_free(&rules);
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/evmon-test-rules-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* A later file's rule of the same name replaces the earlier one. */
static void later_file_overrides_by_name(void **state)
{
    char *site = write_tmp("rules:\n"
                           "  - name: pue_interim_high\n"
                           "    measurement: pue\n"
                           "    field: pue\n"
                           "    direction: above\n"
                           "    warn: 1.25\n"
                           "  - name: extra\n"
                           "    measurement: power\n"
                           "    field: current_a\n"
                           "    direction: above\n"
                           "    crit: 32\n");
    ev_alert_rules rules = {0};
    ev_diag diag = {0};
    const char *paths[] = {"config/rules/default.yaml", site};
    assert_int_equal(ev_alert_rules_load(&rules, paths, 2, &diag), 0);
    ev_alert_rules one = {0};
    assert_int_equal(ev_alert_rules_load(&one, paths, 1, &diag), 0);
    assert_int_equal(rules.n, one.n + 1);
    const ev_alert_rule *r = ev_alert_rules_find(&rules, "pue_interim_high");
    assert_true(r->warn == 1.25 && !r->has_crit && r->clear == 1.25);
    assert_string_equal(r->file, site);
    unlink(site);
    free(site);
    ev_diag_free(&diag);
    ev_alert_rules_free(&rules);
    ev_alert_rules_free(&one);
}

static void globs(void **state)
{
    assert_null(ev_alert_glob_problem("pdu-*"));
    assert_null(ev_alert_glob_problem("L[123]"));
    assert_null(ev_alert_glob_problem("[]x]"));
    assert_null(ev_alert_glob_problem("a\\*"));
    assert_non_null(ev_alert_glob_problem(""));
    assert_non_null(ev_alert_glob_problem("L[12"));
    assert_non_null(ev_alert_glob_problem("x\\"));
}

/* The agent config's alerts: section: paths relative to the config file,
 * the shipped pack by default, and a bad rule file rejects the config. */
static void config_section(void **state)
{
    char dir[] = "/tmp/evmon-test-alertcfg-XXXXXX";
    char path[300], rules[300];
    assert_non_null(mkdtemp(dir));
    setenv("EVMON_PROFILES_DIR", "tests/config/profiles", 1);
    snprintf(path, sizeof path, "%s/agent.yaml", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "agent: {id: a1, site: s, hall: h}\n"
               "alerts:\n"
               "  state_file: alerts.json\n"
               "  webhook: http://127.0.0.1:9093\n"
               "  resend: 30s\n");
    fclose(f);
    ev_diag diag = {0};
    ev_config *c = ev_config_load(path, &diag);
    ev_diag_print(&diag, stderr);
    assert_non_null(c);
    assert_non_null(c->alerts);
    assert_int_equal(c->alerts->nrule_files, 1);
    assert_non_null(strstr(c->alerts->rule_files[0], "rules/default.yaml"));
    snprintf(rules, sizeof rules, "%s/alerts.json", dir);
    assert_string_equal(c->alerts->state_file, rules);
    assert_int_equal(c->alerts->resend_ms, 30000);
    assert_int_equal(c->alerts->nwebhooks, 1);
    assert_true(c->alerts->rules.n >= 10);
    ev_config_free(c);

    f = fopen(path, "w");
    fprintf(f, "agent: {id: a1, site: s, hall: h}\n"
               "alerts:\n"
               "  rules: [bad.yaml]\n"
               "  webhook: [ftp://x]\n"
               "  resnd: 1m\n");
    fclose(f);
    snprintf(rules, sizeof rules, "%s/bad.yaml", dir);
    f = fopen(rules, "w");
    fprintf(f, "rules:\n  - name: x\n    measurement: power\n    field: load_pct\n    direction: sideways\n"
               "    warn: 1\n");
    fclose(f);
    c = ev_config_load(path, &diag);
    assert_null(c);
    char want[400];
    snprintf(want, sizeof want, "%s:5: rule 'x': direction: expected above or below, got 'sideways'", rules);
    bool found = false;
    for (size_t i = 0; i < diag.n; i++)
        found |= strstr(diag.msgs[i], want) != NULL;
    assert_true(found);
    snprintf(want, sizeof want, "%s:4: alerts.webhook: bad URL 'ftp://x'", path);
    found = false;
    for (size_t i = 0; i < diag.n; i++)
        found |= strstr(diag.msgs[i], want) != NULL;
    assert_true(found);
    snprintf(want, sizeof want, "%s:5: alerts: unknown key 'resnd' (did you mean 'resend'?)", path);
    found = false;
    for (size_t i = 0; i < diag.n; i++)
        found |= strstr(diag.msgs[i], want) != NULL;
    if (!found)
        ev_diag_print(&diag, stderr);
    assert_true(found);
    ev_diag_free(&diag);
    unlink(rules);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_rule_files),
        cmocka_unit_test(default_pack_loads),
        cmocka_unit_test(later_file_overrides_by_name),
        cmocka_unit_test(globs),
        cmocka_unit_test(config_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
