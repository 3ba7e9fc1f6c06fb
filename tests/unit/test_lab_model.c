/* Unit tests of the lab's latency model, profiles and option parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/catalog.h"
#include "lab/dburl.h"
#include "lab/links.h"
#include "lab/model.h"
#include "lab/options.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_path_factor(void **state)
{
    (void)state;
    assert_float_equal(model_path_factor("eu", "na"), 1.5, 0);
    assert_float_equal(model_path_factor("na", "eu"), 1.5, 0);
    assert_float_equal(model_path_factor("sa", "eu"), 1.5, 0);
    assert_float_equal(model_path_factor("eu", "ap"), 2.2, 0);
    assert_float_equal(model_path_factor("ap", "eu"), 2.2, 0);
    assert_float_equal(model_path_factor("eu", "eu"), 1.8, 0);
    assert_float_equal(model_path_factor("na", "ap"), 1.8, 0);
    assert_float_equal(model_path_factor("sa", "na"), 1.8, 0);
    assert_float_equal(model_path_factor("af", "eu"), 1.8, 0);
    assert_float_equal(model_path_factor("ap", "ap"), 1.8, 0);
}

/* Expected values computed independently (Python, haversine, R = 6371 km):
 * RTT = 2 + (2 * km / 200) * k. */
static void test_model_rtt_from_dublin(void **state)
{
    (void)state;
    const struct db_site *dub = catalog_site("eu-west-1");
    assert_non_null(dub);
    static const struct {
        const char *code;
        double rtt;
    } want[] = {
        {"lhr", 10.026},                    /* 445.9 km, k 1.8 */
        {"cdg", 16.042},                    /* 780.1 km, k 1.8 */
        {"fra", 21.520},                    /* 1084.4 km, k 1.8 */
        {"iad", 84.005},                    /* 5467.0 km, k 1.5 */
        {"ord", 90.480},                    /* 5898.6 km, k 1.5 */
        {"lax", 126.856}, {"gru", 142.612}, /* 9374.1 km, k 1.5 */
        {"jnb", 172.019},                   /* 9445.5 km, k 1.8 (Africa) */
        {"nrt", 213.157},                   /* 9598.0 km, k 2.2 */
        {"sin", 248.604}, {"syd", 380.831}, /* 17219.6 km, k 2.2 */
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct region *r = catalog_region(want[i].code);
        assert_non_null(r);
        assert_float_equal(model_rtt_ms(r, dub), want[i].rtt, 0.01);
    }
}

static void test_model_same_place_is_base(void **state)
{
    (void)state;
    /* gru and sa-east-1 are 17 km apart: about the 2 ms base */
    double rtt = model_rtt_ms(catalog_region("gru"), catalog_site("sa-east-1"));
    assert_true(rtt >= MODEL_BASE_MS && rtt < MODEL_BASE_MS + 0.5);
}

static void test_seed_profile(void **state)
{
    (void)state;
    struct profile p;
    assert_int_equal(profile_load_seed(&p), 0);
    assert_int_equal(p.n, 10);
    static const struct {
        const char *code;
        double rtt;
    } seed[] = {{"lhr", 11.89},  {"cdg", 18.48},  {"fra", 26.69},  {"iad", 86.10},
                {"ord", 121.68}, {"lax", 138.19}, {"sin", 165.96}, {"gru", 197.72},
                {"nrt", 261.36}, {"syd", 268.85}};
    for (size_t i = 0; i < 10; i++)
        assert_float_equal(profile_rtt_ms(&p, catalog_region(seed[i].code)),
                           seed[i].rtt - MODEL_SEED_SERVER_MS, 1e-9);
    assert_true(profile_rtt_ms(&p, catalog_region("ams")) < 0);
}

static int feed(struct profile_parser *pp, const char *const *lines)
{
    for (; *lines; lines++)
        if (profile_parser_line(pp, *lines) < 0)
            return -1;
    return profile_parser_finish(pp);
}

static void test_profile_parser(void **state)
{
    (void)state;
    struct profile p;
    struct profile_parser pp;
    const char *good[] = {"# measured\n",  "region,rtt_ms\n", "\n",
                          "lhr, 12.5\r\n", "syd,300",         NULL};
    profile_parser_init(&pp, &p);
    assert_int_equal(feed(&pp, good), 0);
    assert_int_equal(p.n, 2);
    assert_float_equal(profile_rtt_ms(&p, catalog_region("syd")), 300, 0);
    assert_float_equal(profile_rtt_ms(&p, catalog_region("lhr")), 12.5, 0);

    const char *no_header[] = {"iad,80", NULL};
    profile_parser_init(&pp, &p);
    assert_int_equal(feed(&pp, no_header), 0);

    static const struct {
        const char *lines[4];
        const char *error;
    } bad[] = {
        {{"lhr,12", "lhr,13", NULL}, "line 2: region lhr appears twice"},
        {{"xyz,12", NULL}, "line 1: unknown region 'xyz'"},
        {{"lhr,-1", NULL}, "line 1: rtt_ms '-1'"},
        {{"lhr,1e3", NULL}, "line 1: rtt_ms '1e3'"},
        {{"lhr,abc", NULL}, "line 1: rtt_ms 'abc'"},
        {{"lhr,10001", NULL}, "line 1: rtt_ms '10001'"},
        {{"lhr,1,2", NULL}, "line 1: expected 2 fields"},
        {{"lhr", NULL}, "line 1: expected 2 fields"},
        {{"lhr,1", "region,rtt_ms", NULL}, "line 2: unknown region 'region'"},
        {{"\"lhr,1", NULL}, "line 1: not a CSV line"},
        {{"# nothing", NULL}, "no region"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        profile_parser_init(&pp, &p);
        assert_int_equal(feed(&pp, bad[i].lines), -1);
        if (!strstr(pp.error, bad[i].error))
            fail_msg("case %zu: error '%s' lacks '%s'", i, pp.error, bad[i].error);
    }
}

static void test_profile_file(void **state)
{
    (void)state;
    char path[] = "/tmp/eb-rtt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "region,rtt_ms\nfra,20\nlhr,5\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    struct profile p;
    char err[512];
    assert_int_equal(profile_load_file(path, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, 2);
    assert_ptr_equal(p.entry[0].region, catalog_region("fra"));
    unlink(path);
    assert_int_equal(profile_load_file(path, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
}

/* Parses a NULL-terminated list of arguments after "lab". */
static int parse(struct lab_options *o, char *err, size_t errlen, ...)
{
    char *argv[32] = {"lab"};
    int argc = 1;
    va_list ap;
    va_start(ap, errlen);
    char *a;
    while ((a = va_arg(ap, char *)) && argc < 31)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return lab_options_parse(argc, argv, o, err, errlen);
}

static void expect_usage_error(const char *want, ...)
{
    char *argv[16] = {"lab"};
    int argc = 1;
    va_list ap;
    va_start(ap, want);
    char *a;
    while ((a = va_arg(ap, char *)) && argc < 15)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    struct lab_options o;
    char err[512] = "";
    int rc = lab_options_parse(argc, argv, &o, err, sizeof(err));
    if (rc != -1 || !strstr(err, want))
        fail_msg("%s ...: rc %d, error '%s', wanted '%s'", argv[1], rc, err, want);
}

static void test_options_defaults_and_values(void **state)
{
    (void)state;
    struct lab_options o;
    char err[512];
    assert_int_equal(parse(&o, err, sizeof(err), NULL), 0);
    assert_int_equal(o.overlay, LAB_OVERLAY_AUTO);
    assert_null(o.topology);
    assert_int_equal(o.profile, LAB_PROFILE_MODEL);
    assert_string_equal(o.db_site, "eu-west-1");
    assert_null(o.out);
    assert_int_equal(o.iterations, 0);
    assert_false(o.keep);

    assert_int_equal(parse(&o, err, sizeof(err), "--iterations", "5", "--rounds=3", "--mode",
                           "compat2rtt", "--read=pk", "--overlay", "none", "--out", "x", "--keep",
                           "--db-site", "us-east-1", "--regions", "lhr,iad", NULL),
                     0);
    assert_int_equal(o.iterations, 5);
    assert_int_equal(o.rounds, 3);
    assert_string_equal(o.mode, "compat2rtt");
    assert_string_equal(o.read, "pk");
    assert_string_equal(o.out, "x");
    assert_true(o.keep);
    assert_string_equal(o.db_site, "us-east-1");
    assert_string_equal(o.regions, "lhr,iad");
    assert_int_equal(o.overlay, LAB_OVERLAY_NONE);
    assert_int_equal(
        parse(&o, err, sizeof(err), "--overlay", "wireguard", "--topology", "mesh", NULL), 0);
    assert_int_equal(o.overlay, LAB_OVERLAY_WIREGUARD);
    assert_string_equal(o.topology, "mesh");

    assert_int_equal(parse(&o, err, sizeof(err), "--profile", "seed", NULL), 0);
    assert_int_equal(o.profile, LAB_PROFILE_SEED);
    assert_int_equal(parse(&o, err, sizeof(err), "--rtt-file", "f.csv", NULL), 0);
    assert_int_equal(o.profile, LAB_PROFILE_FILE);
    assert_int_equal(parse(&o, err, sizeof(err), "--help", NULL), 1);
    assert_int_equal(parse(&o, err, sizeof(err), "--all", "-h", NULL), 1);
}

static void test_options_errors(void **state)
{
    (void)state;
    expect_usage_error("--iterations 'abc'", "--iterations", "abc", NULL);
    expect_usage_error("1..100", "--iterations", "0", NULL);
    expect_usage_error("1..100", "--iterations", "101", NULL);
    expect_usage_error("1..100", "--iterations=1e3", NULL);
    expect_usage_error("--rounds '0'", "--rounds", "0", NULL);
    expect_usage_error("--mode 'fast'", "--mode", "fast", NULL);
    expect_usage_error("--read 'all'", "--read", "all", NULL);
    expect_usage_error("--overlay 'vpn': unknown mode; use none, wireguard or auto", "--overlay",
                       "vpn", NULL);
    expect_usage_error("--topology 'ring': use hub or mesh", "--topology", "ring", NULL);
    expect_usage_error("--profile 'fast'", "--profile", "fast", NULL);
    expect_usage_error("--db-site 'mars-1'", "--db-site", "mars-1", NULL);
    expect_usage_error("unknown option '--bogus'", "--bogus", NULL);
    expect_usage_error("--iterations needs a value", "--iterations", NULL);
    expect_usage_error("--keep takes no value", "--keep=yes", NULL);
    expect_usage_error("give one", "--all", "--regions", "lhr", NULL);
    expect_usage_error("give one", "--profile", "seed", "--rtt-file", "x", NULL);
    expect_usage_error("cannot model --db-site us-east-1", "--profile", "seed", "--db-site",
                       "us-east-1", NULL);
    expect_usage_error("--db: empty", "--db", "", NULL);
}

static void build(struct lab_plan *plan, int expect, const char *want_err, ...)
{
    char *argv[16] = {"lab"};
    int argc = 1;
    va_list ap;
    va_start(ap, want_err);
    char *a;
    while ((a = va_arg(ap, char *)) && argc < 15)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    struct lab_options o;
    char err[1024] = "";
    assert_int_equal(lab_options_parse(argc, argv, &o, err, sizeof(err)), 0);
    int rc = lab_plan_build(&o, plan, err, sizeof(err));
    if (rc != expect || (want_err && !strstr(err, want_err)))
        fail_msg("plan: rc %d, error '%s', wanted %d '%s'", rc, err, expect,
                 want_err ? want_err : "");
}

static void test_plan(void **state)
{
    (void)state;
    static struct lab_plan plan;
    build(&plan, 0, NULL, NULL);
    assert_int_equal(plan.n, 10);
    assert_string_equal(plan.regions[0].region->code, "lhr");
    assert_string_equal(plan.regions[9].region->code, "syd");
    assert_string_equal(plan.profile_name, "model");
    assert_float_equal(plan.regions[0].rtt_ms, 10.026, 0.01);

    build(&plan, 0, NULL, "--profile", "seed", NULL);
    assert_int_equal(plan.n, 10);
    assert_float_equal(plan.regions[0].rtt_ms, 11.39, 1e-9);
    assert_float_equal(plan.regions[9].rtt_ms, 268.35, 1e-9);
    assert_string_equal(plan.profile_name, "seed");

    build(&plan, 0, NULL, "--regions", "syd, lhr", "--db-site", "ap-southeast-2", NULL);
    assert_int_equal(plan.n, 2);
    assert_string_equal(plan.regions[0].region->code, "syd");
    assert_true(plan.regions[0].rtt_ms < 3);
    assert_string_equal(plan.site->name, "ap-southeast-2");

    build(&plan, 0, NULL, "--all", NULL);
    assert_int_equal(plan.n, catalog_region_count());

    build(&plan, -1, "no RTT in the seed profile", "--all", "--profile", "seed", NULL);
    build(&plan, -1, "ams has no RTT in the seed profile", "--profile", "seed", "--regions",
          "lhr,ams", NULL);
    build(&plan, -1, "lhr is listed twice", "--regions", "lhr,iad,lhr", NULL);
    build(&plan, -1, "unknown region 'zzz'", "--regions", "lhr,zzz", NULL);
    build(&plan, -1, "expected region codes", "--regions", "lhr,,iad", NULL);
    build(&plan, -1, "--rtt-file /nonexistent/x.csv: No such file", "--rtt-file",
          "/nonexistent/x.csv", NULL);

    char path[] = "/tmp/eb-rtt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "nrt,7\nlhr,3\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    build(&plan, 0, NULL, "--rtt-file", path, NULL);
    assert_int_equal(plan.n, 2);
    assert_string_equal(plan.regions[0].region->code, "nrt");
    assert_float_equal(plan.regions[1].rtt_ms, 3, 0);
    assert_non_null(strstr(plan.profile_name, "file:eb-rtt-"));
    build(&plan, -1, "iad has no RTT", "--rtt-file", path, "--regions", "lhr,iad", NULL);
    unlink(path);
}

static const char *conn_opt(PQconninfoOption *o, const char *key)
{
    for (; o->keyword; o++)
        if (!strcmp(o->keyword, key))
            return o->val;
    return NULL;
}

static void test_dburl(void **state)
{
    (void)state;
    struct lab_db_endpoint ep;
    char err[512];
    assert_int_equal(
        dburl_endpoint("postgresql://u:secret@127.0.0.1:6543/db", &ep, err, sizeof(err)), 0);
    assert_string_equal(ep.host, "127.0.0.1");
    assert_int_equal(ep.port, 6543);
    assert_int_equal(dburl_endpoint("host=127.0.0.2 dbname=x", &ep, err, sizeof(err)), 0);
    assert_string_equal(ep.host, "127.0.0.2");
    assert_int_equal(ep.port, 5432);
    assert_int_equal(dburl_endpoint("host=/var/run/postgresql", &ep, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unix socket"));
    assert_int_equal(dburl_endpoint("host=a,b", &ep, err, sizeof(err)), -1);
    assert_int_equal(dburl_endpoint("postgresql://u:pw@[", &ep, err, sizeof(err)), -1);
    assert_null(strstr(err, "pw"));

    /* A password full of URI and conninfo metacharacters survives. */
    const char *url = "host=db.example password='p a\\'s=w&?%' user=bench dbname=contacts "
                      "sslmode=verify-full";
    char out[1024];
    assert_int_equal(dburl_rewrite(url, "127.0.0.1", 40001, out, sizeof(out)), 0);
    char *perr = NULL;
    PQconninfoOption *o = PQconninfoParse(out, &perr);
    assert_non_null(o);
    assert_string_equal(conn_opt(o, "host"), "db.example");
    assert_string_equal(conn_opt(o, "hostaddr"), "127.0.0.1");
    assert_string_equal(conn_opt(o, "port"), "40001");
    assert_string_equal(conn_opt(o, "password"), "p a's=w&?%");
    assert_string_equal(conn_opt(o, "user"), "bench");
    assert_string_equal(conn_opt(o, "dbname"), "contacts");
    assert_string_equal(conn_opt(o, "sslmode"), "verify-full");
    PQconninfoFree(o);
    assert_int_equal(dburl_rewrite(url, "127.0.0.1", 1, out, 40), -1);
}

static void test_links_line(void **state)
{
    (void)state;
    char line[256];
    struct lab_db_endpoint db = {.host = "127.0.0.1", .port = 5432};
    assert_int_equal(links_format_line(line, sizeof(line), "127.0.0.1", 7001, &db, 11.89), 0);
    assert_string_equal(line, "--listen 127.0.0.1:7001 --to 127.0.0.1:5432 --rtt 11.890ms\n");
    struct lab_db_endpoint v6 = {.host = "::1", .port = 5433};
    assert_int_equal(links_format_line(line, sizeof(line), "127.0.0.1", 7002, &v6, 0), 0);
    assert_string_equal(line, "--listen 127.0.0.1:7002 --to [::1]:5433 --rtt 0.000ms\n");
    assert_int_equal(links_format_line(line, 10, "127.0.0.1", 7002, &v6, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_factor),
        cmocka_unit_test(test_model_rtt_from_dublin),
        cmocka_unit_test(test_model_same_place_is_base),
        cmocka_unit_test(test_seed_profile),
        cmocka_unit_test(test_profile_parser),
        cmocka_unit_test(test_profile_file),
        cmocka_unit_test(test_options_defaults_and_values),
        cmocka_unit_test(test_options_errors),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_dburl),
        cmocka_unit_test(test_links_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
