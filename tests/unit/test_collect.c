/* Unit tests of the collector: targets parser, aggregation over rounds,
 * ranking, request URLs, results JSON round trip. */
#include "collect/fanout.h"
#include "collect/result.h"
#include "collect/targets.h"
#include "report/svg.h"

#include <curl/curl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int parse(struct target_list *l, const char *text, char *err, size_t errlen)
{
    return targets_parse_buffer(l, text, strlen(text), err, errlen);
}

static void test_targets_csv(void **state)
{
    (void)state;
    struct target_list l = {0};
    char err[1024] = "";
    const char *csv = "# comment\n"
                      "region,url,location,flag,token,expected_rtt_ms\r\n"
                      "lhr,http://10.50.3.1:8080,\"London, UK\",GB,tok1,12.5\n"
                      "\n"
                      "iad,https://iad.example:443/api/rds/benchmark,,,,\n";
    assert_int_equal(parse(&l, csv, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].region, "lhr");
    assert_string_equal(l.items[0].location, "London, UK");
    assert_string_equal(l.items[0].token, "tok1");
    assert_true(fabs(l.items[0].expected_rtt_ms - 12.5) < 1e-9);
    assert_int_equal(l.items[0].line, 3);
    /* empty location and flag come from the catalog */
    assert_string_equal(l.items[1].location, "Virginia");
    assert_true(strlen(l.items[1].flag) > 0);
    assert_null(l.items[1].token);
    assert_true(isnan(l.items[1].expected_rtt_ms));
    assert_true(targets_have_expected_rtt(&l));
    targets_free(&l);
}

static void expect_error(const char *csv, const char *needle)
{
    struct target_list l = {0};
    char err[1024] = "";
    assert_int_equal(parse(&l, csv, err, sizeof(err)), -1);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
    targets_free(&l);
}

static void test_targets_errors(void **state)
{
    (void)state;
    expect_error("region,location,flag\n",
                 "line 1: the header must name the columns region and url");
    expect_error("region,url,location,flag\nlhr,notaurl,London,x\n", "line 2: URL 'notaurl'");
    expect_error("region,url\nlhr,ftp://x\n", "line 2: URL 'ftp://x' must start with http");
    expect_error("region,url\nlhr,http://\n", "line 2: URL 'http://' is not a valid");
    expect_error("region,url\nlhr,http://a:1\nfra,http://b:1\nlhr,http://c:1\n",
                 "line 4: region 'lhr' already listed on line 2");
    expect_error("region,url\nlhr,http://a:1,extra\n", "line 2: 3 fields but the header has 2");
    expect_error("region,url,colour\n", "line 1: unknown column 'colour'");
    expect_error("region,url,url\n", "column 'url' appears twice");
    expect_error("region,url\nLHR,http://a:1\n", "line 2: region 'LHR' may only hold");
    expect_error("region,url,expected_rtt_ms\nlhr,http://a:1,-3\n", "line 2: expected_rtt_ms '-3'");
    expect_error("# only a comment\n", "no header line");
    expect_error("region,url\nlhr,\"http://a:1\n", "line 2: unterminated quote");
    expect_error("region,url\nlhr,http://a b:1\n", "contains a space");
}

static void test_targets_flags_and_plan(void **state)
{
    (void)state;
    struct target_list l = {0};
    char err[1024] = "";
    assert_int_equal(targets_add_flag(&l, "syd=http://127.0.0.1:9", err, sizeof(err)), 0);
    assert_string_equal(l.items[0].location, "Sydney");
    assert_int_equal(targets_add_flag(&l, "syd=http://127.0.0.1:10", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "listed twice"));
    assert_int_equal(targets_add_flag(&l, "=http://x", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "must be REGION=URL"));
    targets_free(&l);

    const char *plan = "{\"tool\":\"edgebench-overlay\",\"format\":1,\"regions\":["
                       "{\"code\":\"gru\",\"address\":\"10.50.1.1\",\"public_key\":\"k\"},"
                       "{\"code\":\"lhr\",\"address\":\"10.50.3.1/32\"}]}";
    assert_int_equal(parse(&l, plan, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].url, "http://10.50.1.1:8080");
    assert_string_equal(l.items[1].url, "http://10.50.3.1:8080");
    assert_string_equal(l.items[1].location, "London");
    targets_free(&l);
    assert_int_equal(parse(&l, "{\"regions\":[1]}", err, sizeof(err)), -1);
    assert_int_equal(parse(&l, "{\"nothing\":1}", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "overlay plan"));
    targets_free(&l);
}

static json_t *response(const char *region, double avg, const double *ins, size_t n, double rtt)
{
    json_t *o = json_object(), *a = json_array(), *r = json_array(), *t = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_real(ins[i]));
        json_array_append_new(r, json_real(ins[i] / 2));
        json_array_append_new(t, json_real(rtt));
    }
    json_object_set_new(o, "region", json_string(region));
    json_object_set_new(o, "insert_latencies", a);
    json_object_set_new(o, "insert_avg_ms", json_real(avg));
    json_object_set_new(o, "read_latencies", r);
    json_object_set_new(o, "rtt_latencies", t);
    json_object_set_new(o, "rtt_avg_ms", json_real(rtt));
    json_object_set_new(o, "insert_errors", json_integer(1));
    json_object_set_new(o, "insert_error", json_string("duplicate key"));
    return o;
}

static void test_aggregate_rounds(void **state)
{
    (void)state;
    struct run_result *res = result_new();
    struct region_result *r = result_add_region(res, "lhr", "http://x", "London", "", NAN);
    assert_non_null(r);
    const double r1[] = {10, 12, 14}, r2[] = {20, 20, 20}, r3[] = {11, 11, 11};
    /* the backend's own averages are taken as they are: median of 12, 20, 11 = 12 */
    json_array_append_new(r->responses, response("lhr", 12, r1, 3, 5));
    json_array_append_new(r->responses, response("lhr", 20, r2, 3, 5));
    json_array_append_new(r->responses, response("lhr", 11, r3, 3, 5));
    assert_int_equal(result_region_aggregate(r), 0);
    const struct op_stats *in = &r->op[OP_INSERT];
    assert_true(in->valid);
    assert_true(fabs(in->avg - 12) < 1e-9);
    assert_int_equal(in->samples, 9);
    assert_true(fabs(in->min - 10) < 1e-9);
    assert_true(fabs(in->max - 20) < 1e-9);
    assert_true(fabs(in->p50 - 12) < 1e-9); /* pooled: 10 11 11 11 12 14 20 20 20 */
    assert_int_equal(in->errors, 3);
    assert_string_equal(in->error, "duplicate key");
    /* read has no avg field: the mean of each round's samples, then the median */
    assert_true(fabs(r->op[OP_READ].avg - 6) < 1e-9);
    assert_true(fabs(r->insert_round_trips - 12.0 / 5) < 1e-9);
    assert_true(fabs(r->read_round_trips - 6.0 / 5) < 1e-9);
    assert_int_equal(r->nraw[OP_INSERT], 9);
    /* the table's round trips: fastest over fastest (10 / 5, 5 / 5) */
    assert_true(fabs(r->insert_round_trips_min - 2.0) < 1e-9);
    assert_true(fabs(r->read_round_trips_min - 1.0) < 1e-9);
    result_free(res);
}

static json_t *reals(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

/* Two iterations on a loaded machine: one stalled empty query makes the
 * average ratio say less than one round trip; the minimums do not. */
static void test_round_trips_one_stall(void **state)
{
    (void)state;
    struct run_result *res = result_new();
    struct region_result *r = result_add_region(res, "lhr", "http://x", "London", "", 12);
    const double ins[] = {13.0, 14.2}, rd[] = {12.5, 12.9}, rtt[] = {12.1, 26.7};
    json_t *o = json_object();
    json_object_set_new(o, "region", json_string("lhr"));
    json_object_set_new(o, "insert_latencies", reals(ins, 2));
    json_object_set_new(o, "read_latencies", reals(rd, 2));
    json_object_set_new(o, "rtt_latencies", reals(rtt, 2));
    json_array_append_new(r->responses, o);
    assert_int_equal(result_region_aggregate(r), 0);
    /* the backend's definition, avg / avg: 13.6 / 19.4 */
    assert_true(r->insert_round_trips < 0.75);
    assert_true(r->read_round_trips < 0.70);
    /* min / min: 13.0 / 12.1 and 12.5 / 12.1 */
    assert_true(fabs(r->insert_round_trips_min - 13.0 / 12.1) < 1e-9);
    assert_true(fabs(r->read_round_trips_min - 12.5 / 12.1) < 1e-9);
    /* both survive the JSON round trip; a file without the _min fields gets
     * them from its minimums */
    char err[256];
    json_t *j = result_to_json(res);
    json_t *reg = json_array_get(json_object_get(j, "regions"), 0);
    assert_true(json_is_real(json_object_get(reg, "insert_round_trips_min")));
    struct run_result *back = result_from_json(j, err, sizeof(err));
    assert_non_null(back);
    assert_true(back->regions[0].insert_round_trips_min == r->insert_round_trips_min);
    result_free(back);
    json_object_del(reg, "insert_round_trips_min");
    json_object_del(reg, "read_round_trips_min");
    back = result_from_json(j, err, sizeof(err));
    assert_non_null(back);
    assert_true(fabs(back->regions[0].read_round_trips_min - 12.5 / 12.1) < 1e-9);
    result_free(back);
    json_decref(j);
    result_free(res);
}

static void expect_link(struct run_result *res, const char *key, const char *value,
                        const char *want)
{
    char buf[300];
    json_object_clear(res->meta);
    if (key)
        json_object_set_new(res->meta, key, json_string(value));
    assert_string_equal(result_link_rtt_text(res, buf, sizeof(buf)), want);
}

static void test_link_rtt_text(void **state)
{
    (void)state;
    struct run_result *res = result_new();
    expect_link(res, NULL, NULL, "Link RTT: the targets file's expected_rtt_ms.");
    expect_link(res, "rtt_source", "model",
                "Link RTT: the lab's model (distance to the database site).");
    expect_link(res, "rtt_source", "seed", "Link RTT: the seed's published read column.");
    expect_link(res, "rtt_source", "file", "Link RTT: from --rtt-file.");
    expect_link(res, "profile", "file:rtt.csv", "Link RTT: from --rtt-file rtt.csv.");
    expect_link(res, "profile", "seed", "Link RTT: the seed's published read column.");
    expect_link(res, "profile", "custom", "Link RTT: the lab's custom profile.");
    /* rtt_source wins over profile */
    json_object_set_new(res->meta, "rtt_source", json_string("model"));
    json_object_set_new(res->meta, "profile", json_string("seed"));
    char buf[300];
    assert_non_null(strstr(result_link_rtt_text(res, buf, sizeof(buf)), "model"));
    result_free(res);
}

static void test_order(void **state)
{
    (void)state;
    struct run_result *res = result_new();
    const char *names[] = {"syd", "fra", "lhr", "cdg", "iad"};
    const double v[] = {300, 0, 20, 20, 90};
    for (int i = 0; i < 5; i++) {
        struct region_result *r = result_add_region(res, names[i], "", "", "", NAN);
        r->op[OP_INSERT].valid = true;
        r->op[OP_INSERT].avg = v[i];
    }
    result_region_fail(&res->regions[1], REGION_ERROR, "refused");
    size_t nranked, *o = result_order(res, &nranked);
    assert_int_equal(nranked, 4);
    const char *want[] = {"cdg", "lhr", "iad", "syd", "fra"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(res->regions[o[i]].region, want[i]);
    free(o);
    /* by read: no read samples anywhere, so ties by code, failed still last */
    res->rank_by = RANK_READ;
    o = result_order(res, NULL);
    assert_string_equal(res->regions[o[0]].region, "cdg");
    assert_string_equal(res->regions[o[4]].region, "fra");
    free(o);
    result_free(res);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    struct run_result *res = result_new();
    char err[512];
    res->version = strdup("9.9");
    struct region_result *r = result_add_region(res, "lhr", "http://x", "London", "F", 12.25);
    const double s[] = {1.0 / 3, 2.0 / 3, 0.1 + 0.2};
    json_array_append_new(r->responses, response("lhr", 0.123456789012345678, s, 3, 0.1));
    result_region_aggregate(r);
    struct region_result *f = result_add_region(res, "nrt", "http://y", "Tokyo", "J", NAN);
    result_region_fail(f, REGION_TIMEOUT, "Connection timed out");
    r = &res->regions[0]; /* the array moved */
    json_t *j = result_to_json(res);
    struct run_result *back = result_from_json(j, err, sizeof(err));
    assert_non_null(back);
    assert_int_equal(back->nregions, 2);
    assert_true(back->regions[0].op[OP_INSERT].avg == r->op[OP_INSERT].avg);
    assert_true(back->regions[0].op[OP_INSERT].p95 == r->op[OP_INSERT].p95);
    assert_true(back->regions[0].expected_rtt_ms == 12.25);
    assert_int_equal(back->regions[1].status, REGION_TIMEOUT);
    assert_string_equal(back->regions[1].error, "Connection timed out");
    assert_false(back->regions[1].op[OP_INSERT].valid);
    assert_int_equal(back->regions[0].nraw[OP_INSERT], 3);
    char *a = json_dumps(j, JSON_REAL_PRECISION(17)), *b;
    json_t *j2 = result_to_json(back);
    b = json_dumps(j2, JSON_REAL_PRECISION(17));
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(j);
    json_decref(j2);
    result_free(back);
    result_free(res);
}

static void test_request_url(void **state)
{
    (void)state;
    struct fanout_opts o = {.iterations = 5, .warmup = 0, .mode = "compat2rtt", .read = "pk"};
    char *u = fanout_request_url("http://10.50.3.1:8080", &o);
    assert_string_equal(u, "http://10.50.3.1:8080/api/rds/benchmark?iterations=5&warmup=0&"
                           "mode=compat2rtt&read=pk");
    curl_free(u);
    u = fanout_request_url("https://h.example/custom/path?x=1", &o);
    assert_string_equal(u, "https://h.example/custom/path?x=1&iterations=5&warmup=0&"
                           "mode=compat2rtt&read=pk");
    curl_free(u);
}

static void test_parse_options(void **state)
{
    (void)state;
    unsigned cols;
    assert_int_equal(result_parse_columns("p95,rt,rtt", &cols), 0);
    assert_int_equal(cols, COL_P95 | COL_RT | COL_RTT);
    assert_int_equal(result_parse_columns("p95,p42", &cols), -1);
    enum stat_kind s;
    assert_int_equal(result_parse_stat("min", &s), 0);
    assert_int_equal(s, STAT_MIN);
    assert_int_equal(result_parse_stat("max", &s), -1);
    assert_true(svg_nice_step(601, 6) == 100);
    assert_true(svg_nice_step(26, 6) == 5);
    assert_true(fabs(svg_nice_step(2.7, 6) - 0.5) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets_csv),
        cmocka_unit_test(test_targets_errors),
        cmocka_unit_test(test_targets_flags_and_plan),
        cmocka_unit_test(test_aggregate_rounds),
        cmocka_unit_test(test_round_trips_one_stall),
        cmocka_unit_test(test_link_rtt_text),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_request_url),
        cmocka_unit_test(test_parse_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
