/* Unit tests of the benchmark's query-string parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend/query.h"

#include <string.h>

static int parse(const char *q, struct bench_params *p, char *param)
{
    char err[256];
    return query_parse(q, p, err, sizeof(err), param, 64);
}

static void test_defaults(void **state)
{
    (void)state;
    struct bench_params p;
    char param[64];
    assert_int_equal(parse(NULL, &p, param), 0);
    assert_int_equal(p.iterations, 10);
    assert_int_equal(p.mode, MODE_EXTENDED);
    assert_int_equal(p.read, READ_COUNT);
    assert_int_equal(p.warmup, 1);
    assert_int_equal(parse("", &p, param), 0);
    assert_int_equal(p.iterations, 10);
}

static void test_valid(void **state)
{
    (void)state;
    struct bench_params p;
    char param[64];
    assert_int_equal(parse("iterations=100&mode=compat2rtt&read=pk&warmup=0", &p, param), 0);
    assert_int_equal(p.iterations, 100);
    assert_int_equal(p.mode, MODE_COMPAT2RTT);
    assert_int_equal(p.read, READ_PK);
    assert_int_equal(p.warmup, 0);
    assert_int_equal(parse("iterations=1&warmup=20&mode=pipeline", &p, param), 0);
    assert_int_equal(p.iterations, 1);
    assert_int_equal(p.warmup, 20);
    assert_int_equal(p.mode, MODE_PIPELINE);
    /* percent-encoded names and values */
    assert_int_equal(parse("%69terations=%35&mode=simpl%65", &p, param), 0);
    assert_int_equal(p.iterations, 5);
    assert_int_equal(p.mode, MODE_SIMPLE);
    /* empty segments are ignored */
    assert_int_equal(parse("&iterations=3&&", &p, param), 0);
    assert_int_equal(p.iterations, 3);
    assert_string_equal(query_mode_name(MODE_PREPARED), "prepared");
    assert_string_equal(query_read_name(READ_PK), "pk");
}

static void test_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *q, *param;
    } bad[] = {
        {"iterations=abc", "iterations"},
        {"iterations=0", "iterations"},
        {"iterations=101", "iterations"},
        {"iterations=-1", "iterations"},
        {"iterations=1e3", "iterations"},
        {"iterations=", "iterations"},
        {"iterations", "iterations"},
        {"iterations=+5", "iterations"},
        {"iterations=%205", "iterations"},
        {"iterations=5%", "iterations"},
        {"iterations=5&iterations=6", "iterations"},
        {"mode=bogus", "mode"},
        {"mode=EXTENDED", "mode"},
        {"read=bogus", "read"},
        {"read=", "read"},
        {"warmup=21", "warmup"},
        {"warmup=-1", "warmup"},
        {"warmup=1.5", "warmup"},
        {"color=red", "color"},
        {"iterations=5%00", "iterations"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct bench_params p;
        char err[256], param[64];
        p.iterations = 77;
        assert_int_equal(query_parse(bad[i].q, &p, err, sizeof(err), param, sizeof(param)), -1);
        assert_string_equal(param, bad[i].param);
        assert_non_null(strstr(err, bad[i].param));
        assert_int_equal(p.iterations, 77); /* untouched on error */
    }
    /* the message names the allowed range */
    char err[256], param[64];
    struct bench_params p;
    query_parse("iterations=0", &p, err, sizeof(err), param, sizeof(param));
    assert_non_null(strstr(err, "1 to 100"));
    query_parse("mode=x", &p, err, sizeof(err), param, sizeof(param));
    assert_non_null(strstr(err, "compat2rtt"));
}

static int req(const char *q, const char *ctype, const char *body, struct bench_params *p,
               char *param)
{
    char err[256];
    return query_parse_request(q, ctype, body, body ? strlen(body) : 0, p, err, sizeof(err), param,
                               64);
}

static void test_body_form(void **state)
{
    (void)state;
    struct bench_params p;
    char param[64];
    const char *form = "application/x-www-form-urlencoded";
    assert_int_equal(req(NULL, form, "iterations=3", &p, param), 0);
    assert_int_equal(p.iterations, 3);
    assert_int_equal(req("mode=simple", form, "iterations=4&read=pk", &p, param), 0);
    assert_int_equal(p.iterations, 4);
    assert_int_equal(p.mode, MODE_SIMPLE);
    assert_int_equal(p.read, READ_PK);
    /* the same value in both places is fine; different is a 400 naming it */
    assert_int_equal(req("iterations=3", form, "iterations=3", &p, param), 0);
    assert_int_equal(req("iterations=3", form, "iterations=4", &p, param), 400);
    assert_string_equal(param, "iterations");
    assert_int_equal(req("mode=simple", "Application/X-WWW-Form-Urlencoded; charset=utf-8",
                         "mode=pipeline", &p, param),
                     400);
    assert_string_equal(param, "mode");
    /* the strict rules of the query string */
    assert_int_equal(req(NULL, form, "iterations=abc", &p, param), 400);
    assert_string_equal(param, "iterations");
    assert_int_equal(req(NULL, form, "color=red", &p, param), 400);
    assert_string_equal(param, "color");
    assert_int_equal(req(NULL, form, "warmup=1&warmup=1", &p, param), 400);
    /* an empty body is no body, whatever the type */
    assert_int_equal(req("iterations=2", "text/plain", "", &p, param), 0);
    assert_int_equal(p.iterations, 2);
}

static void test_body_json(void **state)
{
    (void)state;
    struct bench_params p;
    char param[64];
    const char *json = "application/json";
    assert_int_equal(req(NULL, json,
                         "{\"iterations\":3,\"mode\":\"prepared\",\"read\":\"pk\","
                         "\"warmup\":0}",
                         &p, param),
                     0);
    assert_int_equal(p.iterations, 3);
    assert_int_equal(p.mode, MODE_PREPARED);
    assert_int_equal(p.read, READ_PK);
    assert_int_equal(p.warmup, 0);
    assert_int_equal(req(NULL, "application/json; charset=utf-8", "{}", &p, param), 0);
    assert_int_equal(p.iterations, 10);
    static const struct {
        const char *body, *param;
    } bad[] = {
        {"{\"iterations\":\"3\"}", "iterations"},
        {"{\"iterations\":3.0}", "iterations"},
        {"{\"iterations\":0}", "iterations"},
        {"{\"iterations\":101}", "iterations"},
        {"{\"iterations\":null}", "iterations"},
        {"{\"warmup\":21}", "warmup"},
        {"{\"mode\":\"bogus\"}", "mode"},
        {"{\"mode\":1}", "mode"},
        {"{\"read\":true}", "read"},
        {"{\"color\":1}", "color"},
        {"{\"iterations\":3", "body"},
        {"iterations=3", "body"},
        {"[3]", "body"},
        {"{\"iterations\":3,\"iterations\":3}", "body"},
        {"{} x", "body"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256];
        int rc = query_parse_request(NULL, json, bad[i].body, strlen(bad[i].body), &p, err,
                                     sizeof(err), param, sizeof(param));
        if (rc != 400 || strcmp(param, bad[i].param) != 0)
            fail_msg("%s: %d %s %s", bad[i].body, rc, param, err);
        assert_non_null(strstr(err, bad[i].param));
    }
    assert_int_equal(req("iterations=5", json, "{\"iterations\":6}", &p, param), 400);
    assert_string_equal(param, "iterations");
    assert_int_equal(req("iterations=5", json, "{\"iterations\":5}", &p, param), 0);
}

static void test_body_type(void **state)
{
    (void)state;
    struct bench_params p;
    char param[64];
    assert_int_equal(req(NULL, "text/plain", "iterations=3", &p, param), 415);
    assert_int_equal(req(NULL, NULL, "iterations=3", &p, param), 415);
    assert_int_equal(req(NULL, "multipart/form-data; boundary=x", "--x", &p, param), 415);
    assert_int_equal(req(NULL, "application/jsonx", "{}", &p, param), 415);
    /* the query string is checked first */
    assert_int_equal(req("iterations=0", "text/plain", "x", &p, param), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),  cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),   cmocka_unit_test(test_body_form),
        cmocka_unit_test(test_body_json), cmocka_unit_test(test_body_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
