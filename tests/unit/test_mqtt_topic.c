/*
 * test_mqtt_topic.c - MQTT topics: device points under
 * prefix/site/hall/device/measurement, the agent's own under
 * prefix/agents/id/..., and levels made safe ('+', '#', '/', empty).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "agent/outputs/mqtt_topic.h"

static const ev_topic_ctx ctx = {"evalley", "agent-1", "cambrai", "hall-3"};

static const char *topic_of(ev_buf *t, const ev_topic_ctx *c, const ev_point *p)
{
    ev_buf_reset(t);
    ev_topic_for_point(t, c, p);
    return ev_buf_cstr(t);
}

static void test_device_point(void **state)
{
    ev_batch *b = ev_batch_new();
    ev_buf t;
    ev_buf_init(&t);
    ev_point *p = ev_batch_add(b, "power", 1);
    ev_point_tag(b, p, "device", "pdu-a1");
    ev_point_tag(b, p, "site", "e-valley");
    ev_point_tag(b, p, "hall", "h1");
    assert_string_equal(topic_of(&t, &ctx, p), "evalley/e-valley/h1/pdu-a1/power");
    /* no site/hall tags: the agent's own */
    p = ev_batch_add(b, "environment", 1);
    ev_point_tag(b, p, "device", "crah-2");
    assert_string_equal(topic_of(&t, &ctx, p), "evalley/cambrai/hall-3/crah-2/environment");
    ev_buf_free(&t);
    ev_batch_free(b);
}

static void test_agent_point_and_status(void **state)
{
    ev_batch *b = ev_batch_new();
    ev_buf t;
    ev_buf_init(&t);
    ev_point *p = ev_batch_add(b, "evmon", 1);
    ev_point_tag(b, p, "site", "cambrai");
    assert_string_equal(topic_of(&t, &ctx, p), "evalley/agents/agent-1/evmon");
    ev_buf_reset(&t);
    ev_topic_status(&t, &ctx);
    assert_string_equal(ev_buf_cstr(&t), "evalley/agents/agent-1/status");
    ev_buf_free(&t);
    ev_batch_free(b);
}

static void test_levels_sanitised(void **state)
{
    ev_batch *b = ev_batch_new();
    ev_buf t;
    ev_buf_init(&t);
    ev_point *p = ev_batch_add(b, "po/wer#", 1);
    ev_point_tag(b, p, "device", "rack+7/pdu#B");
    ev_point_tag(b, p, "hall", "#");
    assert_string_equal(topic_of(&t, &ctx, p), "evalley/cambrai/_/rack_7_pdu_B/po_wer_");
    ev_topic_ctx odd = {"dc1/evalley/", "ag/+", "", NULL};
    p = ev_batch_add(b, "power", 1);
    ev_point_tag(b, p, "device", "d");
    assert_string_equal(topic_of(&t, &odd, p), "dc1/evalley/_/_/d/power");
    ev_buf_reset(&t);
    ev_topic_status(&t, &odd);
    assert_string_equal(ev_buf_cstr(&t), "dc1/evalley/agents/ag__/status");
    ev_buf_free(&t);
    ev_batch_free(b);
}

static void test_prefix(void **state)
{
    struct {
        const char *in, *out;
    } cases[] = {
        {NULL, "evalley"}, {"", "evalley"}, {"/", "evalley"}, {"evalley", "evalley"},
        {"a/b", "a/b"}, {"a//b", "a/_/b"}, {"/a", "_/a"}, {"$SYS", "_SYS"},
        {"x+y#", "x_y_"}, {"a/b///", "a/b"},
    };
    ev_buf t;
    ev_buf_init(&t);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ev_buf_reset(&t);
        ev_topic_prefix(&t, cases[i].in);
        assert_string_equal(ev_buf_cstr(&t), cases[i].out);
    }
    ev_buf_reset(&t);
    ev_topic_level(&t, "");
    ev_topic_level(&t, NULL);
    ev_topic_level(&t, "ok-level.1");
    assert_string_equal(ev_buf_cstr(&t), "__ok-level.1");
    ev_buf_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_point),
        cmocka_unit_test(test_agent_point_and_status),
        cmocka_unit_test(test_levels_sanitised),
        cmocka_unit_test(test_prefix),
    };
    return cmocka_run_group_tests_name("mqtt_topic", tests, NULL, NULL);
}
