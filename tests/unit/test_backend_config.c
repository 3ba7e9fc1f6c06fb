/* Unit tests of the backend's configuration: environment values, flags and
 * the libpq keyword/value arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend/config.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

static const char *value_of(const struct conn_params *p, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; p->keys[i]; i++)
        if (!strcmp(p->keys[i], key))
            v = p->values[i]; /* the last one wins, as in libpq */
    return v;
}

static void test_defaults(void **state)
{
    (void)state;
    struct backend_config c;
    config_init(&c);
    config_finish(&c);
    assert_string_equal(c.region, "local");
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.max_bench, 2);
    assert_int_equal(c.connect_timeout_s, 5);
    assert_false(config_db_enabled(&c));
    assert_true(strlen(c.alloc_id) <= 8);
    char host[64];
    config_db_host(&c, host, sizeof(host));
    assert_string_equal(host, "not configured");
    config_free(&c);
}

static void test_set(void **state)
{
    (void)state;
    struct backend_config c;
    char err[256];
    config_init(&c);
    assert_int_equal(config_set(&c, "PORT", "9090", err, sizeof(err)), 0);
    assert_int_equal(c.port, 9090);
    assert_int_equal(config_set(&c, "PORT", "0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "PORT"));
    assert_int_equal(config_set(&c, "PORT", "65536", err, sizeof(err)), -1);
    assert_int_equal(config_set(&c, "PORT", "80x", err, sizeof(err)), -1);
    assert_int_equal(config_set(&c, "DB_PORT", "abc", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "DB_PORT"));
    assert_int_equal(config_set(&c, "EDGEBENCH_MAX_BENCH", "0", err, sizeof(err)), -1);
    assert_int_equal(config_set(&c, "EDGEBENCH_MAX_BENCH", "4", err, sizeof(err)), 0);
    assert_int_equal(c.max_bench, 4);
    assert_int_equal(config_set(&c, "DB_SSLMODE", "verify-full", err, sizeof(err)), 0);
    assert_string_equal(c.sslmode, "verify-full");
    assert_int_equal(config_set(&c, "DB_SSLMODE", "on", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "verify-full"));
    assert_int_equal(config_set(&c, "DB_CONNECT_TIMEOUT", "10", err, sizeof(err)), 0);
    assert_int_equal(c.connect_timeout_s, 10);
    assert_int_equal(config_set(&c, "DB_CONNECT_TIMEOUT", "1500ms", err, sizeof(err)), 0);
    assert_int_equal(c.connect_timeout_s, 2); /* rounded up to whole seconds */
    assert_int_equal(config_set(&c, "DB_CONNECT_TIMEOUT", "-1", err, sizeof(err)), -1);
    assert_int_equal(config_set(&c, "EDGEBENCH_STATEMENT_TIMEOUT", "250ms", err, sizeof(err)), 0);
    assert_int_equal(c.statement_timeout_ms, 250);
    assert_int_equal(config_set(&c, "EDGEBENCH_BENCH_TIMEOUT", "2", err, sizeof(err)), 0);
    assert_int_equal(c.bench_timeout_ms, 2000);
    /* empty means unset, as the seed's getEnv */
    assert_int_equal(config_set(&c, "DB_HOST", "db.example", err, sizeof(err)), 0);
    assert_true(config_db_enabled(&c));
    assert_int_equal(config_set(&c, "DB_HOST", "", err, sizeof(err)), 0);
    assert_false(config_db_enabled(&c));
    assert_int_equal(config_set(&c, "NO_SUCH", "1", err, sizeof(err)), -1);
    config_free(&c);
}

static void test_args(void **state)
{
    (void)state;
    struct backend_config c;
    char err[256];
    int rest = -1;
    config_init(&c);
    char a0[] = "backend", a1[] = "--port", a2[] = "7000", a3[] = "--db-host=h", a4[] = "--region",
         a5[] = "fra", a6[] = "extra";
    char *argv[] = {a0, a1, a2, a3, a4, a5, a6, NULL};
    assert_int_equal(config_parse_args(&c, CONFIG_BACKEND, 7, argv, &rest, err, sizeof(err)), 0);
    assert_int_equal(c.port, 7000);
    assert_string_equal(c.db_host, "h");
    assert_string_equal(c.region, "fra");
    assert_int_equal(rest, 1);
    assert_string_equal(argv[1], "extra");
    char b1[] = "--bogus";
    char *argv2[] = {a0, b1, NULL};
    assert_int_equal(config_parse_args(&c, CONFIG_BACKEND, 2, argv2, &rest, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--bogus"));
    char c1[] = "--port";
    char *argv3[] = {a0, c1, NULL};
    assert_int_equal(config_parse_args(&c, CONFIG_BACKEND, 2, argv3, &rest, err, sizeof(err)), -1);
    /* --token is a backend flag, not a db one */
    char d1[] = "--token=x";
    char *argv4[] = {a0, d1, NULL};
    assert_int_equal(config_parse_args(&c, CONFIG_DB, 2, argv4, &rest, err, sizeof(err)), -1);
    config_free(&c);
}

static void test_conn_params(void **state)
{
    (void)state;
    struct backend_config c;
    struct conn_params p;
    char err[256];
    config_init(&c);
    config_set(&c, "DB_HOST", "10.50.0.1", err, sizeof(err));
    /* the seed's fault: an empty password must not swallow the next keyword */
    config_conn_params(&c, "t", &p);
    assert_int_equal(p.expand_dbname, 0);
    assert_string_equal(value_of(&p, "host"), "10.50.0.1");
    assert_string_equal(value_of(&p, "port"), "5432");
    assert_string_equal(value_of(&p, "user"), "postgres");
    assert_string_equal(value_of(&p, "password"), "");
    assert_string_equal(value_of(&p, "dbname"), "contacts");
    assert_string_equal(value_of(&p, "sslmode"), "prefer");
    assert_string_equal(value_of(&p, "connect_timeout"), "5");
    assert_null(value_of(&p, "sslrootcert"));
    /* GSSAPI encryption: off unless PGGSSENCMODE asks (libpq then reads it) */
    unsetenv("PGGSSENCMODE");
    config_conn_params(&c, "t", &p);
    assert_string_equal(value_of(&p, "gssencmode"), "disable");
    setenv("PGGSSENCMODE", "prefer", 1);
    config_conn_params(&c, "t", &p);
    assert_null(value_of(&p, "gssencmode"));
    unsetenv("PGGSSENCMODE");
    /* a password full of quoting characters is passed as it is */
    const char *pw = "p a\"s's\\=w dbname=other";
    config_set(&c, "DB_PASSWORD", pw, err, sizeof(err));
    config_set(&c, "DB_NAME", "bench db", err, sizeof(err));
    config_set(&c, "DB_SSLMODE", "verify-full", err, sizeof(err));
    config_set(&c, "DB_SSLROOTCERT", "/etc/ca.pem", err, sizeof(err));
    config_conn_params(&c, "t", &p);
    assert_string_equal(value_of(&p, "password"), pw);
    assert_string_equal(value_of(&p, "dbname"), "bench db");
    assert_string_equal(value_of(&p, "sslmode"), "verify-full");
    assert_string_equal(value_of(&p, "sslrootcert"), "/etc/ca.pem");
    assert_null(p.keys[p.n]);
    assert_null(p.values[p.n]);
    /* DATABASE_URL wins: it is the last dbname, expanded */
    config_set(&c, "DATABASE_URL", "postgresql://u:secret@db.example:6543/x?sslmode=require", err,
               sizeof(err));
    config_conn_params(&c, "t", &p);
    assert_int_equal(p.expand_dbname, 1);
    assert_string_equal(p.keys[p.n - 1], "dbname");
    assert_string_equal(p.values[p.n - 1], c.database_url);
    assert_null(value_of(&p, "host"));
    assert_null(value_of(&p, "password"));
    char host[64];
    config_db_host(&c, host, sizeof(host));
    assert_string_equal(host, "db.example");
    config_set(&c, "DATABASE_URL", "host=h2 port=1 password='x y'", err, sizeof(err));
    config_db_host(&c, host, sizeof(host));
    assert_string_equal(host, "h2");
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_conn_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
