/* Configuration of `edgebench backend` and `edgebench db`: the seed's
 * environment variables first (FLY_REGION, PORT, DB_HOST ...), the added ones
 * (DATABASE_URL, DB_SSLMODE, EDGEBENCH_TOKEN ...), and command-line flags that
 * mirror them. Also builds the libpq keyword/value arrays: a connection is
 * never made by formatting a conninfo string. */
#ifndef EB_BACKEND_CONFIG_H
#define EB_BACKEND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Which command a setting belongs to (bit mask). */
#define CONFIG_BACKEND 1u
#define CONFIG_DB 2u

struct backend_config {
    char *region;   /* FLY_REGION, default "local" */
    char *alloc_id; /* first 8 chars of FLY_ALLOC_ID, else of the hostname */
    char *hostname;
    char *listen; /* default 0.0.0.0 */
    long port;    /* PORT, default 8080 */
    char *db_host, *db_port, *db_user, *db_password, *db_name;
    char *database_url; /* wins over DB_* */
    char *sslmode;      /* default prefer */
    char *sslrootcert;
    long connect_timeout_s;    /* DB_CONNECT_TIMEOUT, default 5 */
    long statement_timeout_ms; /* EDGEBENCH_STATEMENT_TIMEOUT, default 30 s */
    long bench_timeout_ms;     /* EDGEBENCH_BENCH_TIMEOUT, default 120 s */
    long http_timeout_s;       /* EDGEBENCH_HTTP_TIMEOUT, default 15 */
    long max_header_bytes;     /* EDGEBENCH_MAX_HEADER_BYTES, default 8192 */
    long max_body_bytes;       /* EDGEBENCH_MAX_BODY_BYTES, default 16384 */
    char *token;               /* EDGEBENCH_TOKEN */
    long max_bench;            /* EDGEBENCH_MAX_BENCH, default 2 */
    char *role;                /* EDGEBENCH_ROLE (db init), default "edgebench" */
    char *role_password;       /* EDGEBENCH_ROLE_PASSWORD (db init) */
};

/* Defaults; config_free releases what config_set stored. */
void config_init(struct backend_config *c);
void config_free(struct backend_config *c);

/* Sets one setting by its environment name ("DB_PORT"). An empty value means
 * "unset" (the seed's getEnv). Returns 0, or -1 with a message naming the
 * variable and the accepted values in err. */
int config_set(struct backend_config *c, const char *env_name, const char *value, char *err,
               size_t errlen);

/* Reads every setting of the given scope from the environment. */
int config_load_env(struct backend_config *c, unsigned scope, char *err, size_t errlen);

/* Parses "--flag VALUE" / "--flag=VALUE" options of the scope, from argv[1].
 * Non-option arguments are left in place: *rest receives how many there are,
 * moved to argv[1..]. Returns 0, or -1 with a message. */
int config_parse_args(struct backend_config *c, unsigned scope, int argc, char **argv, int *rest,
                      char *err, size_t errlen);

/* Fills alloc_id and hostname when not set. */
void config_finish(struct backend_config *c);

/* Prints the flags of a scope with their environment variables. */
void config_print_flags(FILE *f, unsigned scope);

/* Start-up checks of what can be checked without the network: DATABASE_URL
 * must parse (PQconninfoParse; the message names the variable but never shows
 * its value, which may hold a password) and DB_SSLROOTCERT must be a readable
 * file. Returns 0, or -1 with a message in err. */
int config_check(const struct backend_config *c, char *err, size_t errlen);

bool config_db_enabled(const struct backend_config *c);

/* The database host as reported in responses (DB_HOST, else the host of
 * DATABASE_URL), never a password; "not configured" without a database. */
void config_db_host(const struct backend_config *c, char *buf, size_t len);

#define CONFIG_MAX_PARAMS 24
struct conn_params {
    const char *keys[CONFIG_MAX_PARAMS + 1];
    const char *values[CONFIG_MAX_PARAMS + 1];
    char connect_timeout[16];
    size_t n;
    int expand_dbname;
};

/* Keyword/value arrays for PQconnectdbParams, NULL-terminated. Values point
 * into c and out. Defaults come first and DATABASE_URL (as the `dbname`
 * keyword with expand_dbname = 1) last, so what the URL says wins. */
void config_conn_params(const struct backend_config *c, const char *application_name,
                        struct conn_params *out);

#endif
