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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
