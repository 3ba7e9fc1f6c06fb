/* Unit tests of src/core: statistics, strict parsers, CSV, catalog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/catalog.h"
#include "core/csv.h"
#include "core/parse.h"
#include "core/stats.h"

#include <math.h>
#include <string.h>

static void test_stats_known_vector(void **state)
{
    (void)state;
    /* numpy: np.percentile([15,20,35,40,50], [50,95,99]) = 35, 48, 49.6 */
    const double v[] = {40, 15, 50, 20, 35};
    struct stats s;
    assert_int_equal(stats_compute(v, 5, &s), 0);
    assert_int_equal(s.samples, 5);
    assert_float_equal(s.avg, 32.0, 1e-9);
    assert_float_equal(s.min, 15.0, 1e-9);
    assert_float_equal(s.max, 50.0, 1e-9);
    assert_float_equal(s.p50, 35.0, 1e-9);
    assert_float_equal(s.p95, 48.0, 1e-9);
    assert_float_equal(s.p99, 49.6, 1e-9);
    /* population stddev of the vector: sqrt(166) */
    assert_float_equal(s.stddev, sqrt(166.0), 1e-9);
    /* the input is not reordered */
    assert_float_equal(v[0], 40.0, 0);
}

static void test_stats_edges(void **state)
{
    (void)state;
    struct stats s;
    assert_int_equal(stats_compute(NULL, 0, &s), 0);
    assert_int_equal(s.samples, 0);
    assert_float_equal(s.p99, 0, 0);
    const double one[] = {7.5};
    stats_compute(one, 1, &s);
    assert_float_equal(s.p50, 7.5, 0);
    assert_float_equal(s.p99, 7.5, 0);
    assert_float_equal(s.stddev, 0, 0);
    double hundred[100];
    for (int i = 0; i < 100; i++)
        hundred[i] = i + 1;
    stats_compute(hundred, 100, &s);
    assert_float_equal(s.p50, 50.5, 1e-9);
    assert_float_equal(s.p95, 95.05, 1e-9);
    assert_float_equal(s.p99, 99.01, 1e-9);
    const double m[] = {3, 1, 2, 10};
    assert_float_equal(stats_median(m, 4), 2.5, 1e-9);
}

static void test_parse_long(void **state)
{
    (void)state;
    long v = -7;
    assert_int_equal(parse_long("10", 1, 100, &v), 0);
    assert_int_equal(v, 10);
    const char *bad[] = {"abc", "0", "101", "-1", "1e3", "", " 1", "1 ", "0x10", "+5", "1.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = -7;
        assert_int_equal(parse_long(bad[i], 1, 100, &v), -1);
        assert_int_equal(v, -7);
    }
    assert_int_equal(parse_long("-5", -10, 10, &v), 0);
    assert_int_equal(v, -5);
}

static void test_parse_duration(void **state)
{
    (void)state;
    double ms;
    assert_int_equal(parse_duration_ms("80ms", 1, &ms), 0);
    assert_float_equal(ms, 80, 1e-9);
    assert_int_equal(parse_duration_ms("1.5s", 1, &ms), 0);
    assert_float_equal(ms, 1500, 1e-9);
    assert_int_equal(parse_duration_ms("250us", 1, &ms), 0);
    assert_float_equal(ms, 0.25, 1e-9);
    assert_int_equal(parse_duration_ms("3", 1000, &ms), 0);
    assert_float_equal(ms, 3000, 1e-9);
    assert_int_equal(parse_duration_ms("-5ms", 1, &ms), -1);
    assert_int_equal(parse_duration_ms("5parsecs", 1, &ms), -1);
    assert_int_equal(parse_duration_ms("", 1, &ms), -1);
    assert_int_equal(parse_duration_ms("1e3ms", 1, &ms), -1);
}

static void test_parse_misc(void **state)
{
    (void)state;
    double p, bps;
    assert_int_equal(parse_percent("0.1%", &p), 0);
    assert_float_equal(p, 0.1, 1e-12);
    assert_int_equal(parse_percent("150%", &p), -1);
    assert_int_equal(parse_percent("-1%", &p), -1);
    assert_int_equal(parse_rate_bps("100mbit", &bps), 0);
    assert_float_equal(bps, 1e8, 1);
    assert_int_equal(parse_rate_bps("fast", &bps), -1);
    char host[64];
    uint16_t port;
    assert_int_equal(parse_hostport("127.0.0.1:8080", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(parse_hostport("[::1]:53", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(parse_hostport(":9000", host, sizeof(host), &port), 0);
    assert_string_equal(host, "");
    assert_int_equal(parse_hostport("nohost", host, sizeof(host), &port), -1);
    assert_int_equal(parse_hostport("h:0", host, sizeof(host), &port), -1);
    assert_int_equal(parse_hostport("h:70000", host, sizeof(host), &port), -1);
    assert_int_equal(parse_hostport("::1:53", host, sizeof(host), &port), -1);
}

static void test_csv(void **state)
{
    (void)state;
    struct csv_row row;
    assert_int_equal(csv_split("a, \"b,c\" ,\"say \"\"hi\"\"\"\r\n", &row), 3);
    assert_string_equal(row.fields[0], "a");
    assert_string_equal(row.fields[1], "b,c");
    assert_string_equal(row.fields[2], "say \"hi\"");
    assert_int_equal(csv_split("# comment", &row), 0);
    assert_int_equal(csv_split("", &row), 0);
    assert_int_equal(csv_split("\"open", &row), -1);
    assert_int_equal(csv_split("x,,y", &row), 3);
    assert_string_equal(row.fields[1], "");
}

static void test_catalog(void **state)
{
    (void)state;
    const char *seed[] = {"lhr", "cdg", "fra", "iad", "ord", "lax", "sin", "gru", "nrt", "syd"};
    for (size_t i = 0; i < 10; i++)
        assert_non_null(catalog_region(seed[i]));
    assert_true(catalog_region_count() >= 27);
    const struct region *lhr = catalog_region("lhr");
    assert_string_equal(lhr->country, "GB");
    assert_string_equal(lhr->area, "eu");
    assert_null(catalog_region("xxx"));
    const struct db_site *dub = catalog_site("eu-west-1");
    assert_non_null(dub);
    assert_string_equal(dub->city, "Dublin");
    assert_true(catalog_site_count() >= 8);
    /* London-Dublin about 450 km; Sydney-Dublin about 17,200 km */
    double d = catalog_distance_km(lhr->lat, lhr->lon, dub->lat, dub->lon);
    assert_true(d > 400 && d < 500);
    const struct region *syd = catalog_region("syd");
    d = catalog_distance_km(syd->lat, syd->lon, dub->lat, dub->lon);
    assert_true(d > 16800 && d < 17600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_known_vector),
        cmocka_unit_test(test_stats_edges),
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_misc),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
