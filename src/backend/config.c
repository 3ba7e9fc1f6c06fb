#include "backend/config.h"

#include "core/parse.h"

#include <errno.h>
#include <libpq-fe.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind { K_STR, K_PORT, K_SECONDS, K_MS, K_LONG, K_SSLMODE };

struct setting {
    const char *env;
    const char *flag;
    unsigned scope;
    enum kind kind;
    size_t offset; /* into struct backend_config */
    long min, max; /* K_LONG, K_SECONDS, K_MS (ms) */
    const char *help;
};

#define OFF(f) offsetof(struct backend_config, f)
#define BOTH (CONFIG_BACKEND | CONFIG_DB)

static const struct setting settings[] = {
    {"FLY_REGION", "--region", CONFIG_BACKEND, K_STR, OFF(region), 0, 0,
     "region code reported and used to tag rows (default local)"},
    {"FLY_ALLOC_ID", "--alloc-id", CONFIG_BACKEND, K_STR, OFF(alloc_id), 0, 0,
     "machine id; first 8 characters reported (default: the hostname)"},
    {"EDGEBENCH_LISTEN", "--listen", CONFIG_BACKEND, K_STR, OFF(listen), 0, 0,
     "IP address to listen on (default 0.0.0.0; not a host name)"},
    {"PORT", "--port", CONFIG_BACKEND, K_PORT, OFF(port), 1, 65535, "TCP port (default 8080)"},
    {"DB_HOST", "--db-host", BOTH, K_STR, OFF(db_host), 0, 0,
     "database host; unset: benchmark disabled"},
    {"DB_PORT", "--db-port", BOTH, K_PORT, OFF(db_port), 1, 65535, "database port (default 5432)"},
    {"DB_USER", "--db-user", BOTH, K_STR, OFF(db_user), 0, 0, "database user (default postgres)"},
    {"DB_PASSWORD", "--db-password", BOTH, K_STR, OFF(db_password), 0, 0,
     "database password (prefer the environment: flags are visible in ps)"},
    {"DB_NAME", "--db-name", BOTH, K_STR, OFF(db_name), 0, 0, "database name (default contacts)"},
    {"DATABASE_URL", "--database-url", BOTH, K_STR, OFF(database_url), 0, 0,
     "libpq URI or conninfo; wins over DB_*"},
    {"DB_SSLMODE", "--db-sslmode", BOTH, K_SSLMODE, OFF(sslmode), 0, 0,
     "disable|allow|prefer|require|verify-ca|verify-full (default prefer)"},
    {"DB_SSLROOTCERT", "--db-sslrootcert", BOTH, K_STR, OFF(sslrootcert), 0, 0,
     "CA certificate file for verify-ca/verify-full"},
    {"DB_CONNECT_TIMEOUT", "--db-connect-timeout", BOTH, K_SECONDS, OFF(connect_timeout_s), 1, 3600,
     "connect timeout, seconds or 5s/500ms (default 5)"},
    {"EDGEBENCH_STATEMENT_TIMEOUT", "--statement-timeout", CONFIG_BACKEND, K_MS,
     OFF(statement_timeout_ms), 1, 3600000, "per-statement timeout (default 30s)"},
    {"EDGEBENCH_BENCH_TIMEOUT", "--bench-timeout", CONFIG_BACKEND, K_MS, OFF(bench_timeout_ms), 1,
     3600000, "deadline for one whole benchmark (default 120s)"},
    {"EDGEBENCH_HTTP_TIMEOUT", "--http-timeout", CONFIG_BACKEND, K_SECONDS, OFF(http_timeout_s), 1,
     3600, "HTTP read/write timeout and request deadline (default 15s)"},
    {"EDGEBENCH_MAX_HEADER_BYTES", "--max-header-bytes", CONFIG_BACKEND, K_LONG,
     OFF(max_header_bytes), 1024, 1048576, "largest request header block (default 8192)"},
    {"EDGEBENCH_MAX_BODY_BYTES", "--max-body-bytes", CONFIG_BACKEND, K_LONG, OFF(max_body_bytes), 0,
     1048576, "largest request body (default 16384)"},
    {"EDGEBENCH_TOKEN", "--token", CONFIG_BACKEND, K_STR, OFF(token), 0, 0,
     "when set, benchmarks need 'Authorization: Bearer TOKEN'"},
    {"EDGEBENCH_MAX_BENCH", "--max-bench", CONFIG_BACKEND, K_LONG, OFF(max_bench), 1, 64,
     "concurrent benchmarks, each with its own connection (default 2)"},
    {"EDGEBENCH_ROLE", "--role", CONFIG_DB, K_STR, OFF(role), 0, 0,
     "db init: the benchmark role to create (default edgebench)"},
    {"EDGEBENCH_ROLE_PASSWORD", "--role-password", CONFIG_DB, K_STR, OFF(role_password), 0, 0,
     "db init: its password (default: none is set)"},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static char **str_field(struct backend_config *c, const struct setting *s)
{
    return (char **)((char *)c + s->offset);
}

static long *long_field(struct backend_config *c, const struct setting *s)
{
    return (long *)((char *)c + s->offset);
}

static int set_str(char **field, const char *value)
{
    char *copy = NULL;
    if (value && *value) {
        copy = strdup(value);
        if (!copy)
            return -1;
    }
    free(*field);
    *field = copy;
    return 0;
}

void config_init(struct backend_config *c)
{
    memset(c, 0, sizeof(*c));
    c->port = 8080;
    c->connect_timeout_s = 5;
    c->statement_timeout_ms = 30000;
    c->bench_timeout_ms = 120000;
    c->http_timeout_s = 15;
    c->max_header_bytes = 8192;
    c->max_body_bytes = 16384;
    c->max_bench = 2;
}

void config_free(struct backend_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].kind == K_STR || settings[i].kind == K_SSLMODE ||
            (settings[i].kind == K_PORT && settings[i].offset == OFF(db_port)))
            free(*str_field(c, &settings[i]));
    free(c->hostname);
    memset(c, 0, sizeof(*c));
}

static const char *const sslmodes[] = {"disable", "allow",     "prefer",
                                       "require", "verify-ca", "verify-full"};

static int apply(struct backend_config *c, const struct setting *s, const char *name,
                 const char *value, char *err, size_t errlen)
{
    long v;
    double ms;
    if (!value || !*value) {
        /* empty: back to the default */
        struct backend_config d;
        config_init(&d);
        if (s->kind == K_STR || s->kind == K_SSLMODE ||
            (s->kind == K_PORT && s->offset == OFF(db_port)))
            return set_str(str_field(c, s), NULL);
        *long_field(c, s) = *long_field(&d, s);
        return 0;
    }
    switch (s->kind) {
    case K_STR:
        if (set_str(str_field(c, s), value) < 0)
            goto oom;
        return 0;
    case K_SSLMODE:
        for (size_t i = 0; i < sizeof(sslmodes) / sizeof(sslmodes[0]); i++)
            if (!strcmp(value, sslmodes[i]))
                return set_str(str_field(c, s), value) < 0 ? -1 : 0;
        snprintf(err, errlen,
                 "%s='%s' is not an SSL mode; use disable, allow, prefer, require, verify-ca or "
                 "verify-full",
                 name, value);
        return -1;
    case K_PORT:
        if (parse_long(value, 1, 65535, &v) < 0) {
            snprintf(err, errlen, "%s='%s' is not a port; use a number from 1 to 65535", name,
                     value);
            return -1;
        }
        if (s->offset == OFF(db_port))
            return set_str(str_field(c, s), value) < 0 ? -1 : 0;
        *long_field(c, s) = v;
        return 0;
    case K_LONG:
        if (parse_long(value, s->min, s->max, &v) < 0) {
            snprintf(err, errlen, "%s='%s' is not valid; use a whole number from %ld to %ld", name,
                     value, s->min, s->max);
            return -1;
        }
        *long_field(c, s) = v;
        return 0;
    case K_SECONDS:
        if (parse_duration_ms(value, 1000.0, &ms) < 0 || ms < (double)s->min * 1000.0 ||
            ms > (double)s->max * 1000.0) {
            snprintf(err, errlen,
                     "%s='%s' is not valid; use seconds from %ld to %ld (e.g. 5 or 5s or 1500ms)",
                     name, value, s->min, s->max);
            return -1;
        }
        *long_field(c, s) = (long)((ms + 999.0) / 1000.0); /* whole seconds, rounded up */
        return 0;
    case K_MS:
        if (parse_duration_ms(value, 1000.0, &ms) < 0 || ms < (double)s->min ||
            ms > (double)s->max) {
            snprintf(err, errlen,
                     "%s='%s' is not valid; use a duration from 1ms to 3600s (e.g. 30s, 500ms; a "
                     "bare number is seconds)",
                     name, value);
            return -1;
        }
        *long_field(c, s) = (long)(ms + 0.5) < 1 ? 1 : (long)(ms + 0.5);
        return 0;
    }
    return -1;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int config_set(struct backend_config *c, const char *env_name, const char *value, char *err,
               size_t errlen)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (!strcmp(settings[i].env, env_name))
            return apply(c, &settings[i], env_name, value, err, errlen);
    snprintf(err, errlen, "unknown setting %s", env_name);
    return -1;
}

int config_load_env(struct backend_config *c, unsigned scope, char *err, size_t errlen)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (!(settings[i].scope & scope))
            continue;
        const char *v = getenv(settings[i].env);
        if (v && *v && apply(c, &settings[i], settings[i].env, v, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int config_parse_args(struct backend_config *c, unsigned scope, int argc, char **argv, int *rest,
                      char *err, size_t errlen)
{
    int kept = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            argv[1 + kept++] = argv[i];
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const struct setting *s = NULL;
        for (size_t k = 0; k < NSETTINGS; k++)
            if ((settings[k].scope & scope) && strlen(settings[k].flag) == nlen &&
                !strncmp(settings[k].flag, a, nlen))
                s = &settings[k];
        if (!s) {
            snprintf(err, errlen, "unknown option '%.*s'; see --help", (int)nlen, a);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option %s needs a value", s->flag);
                return -1;
            }
            value = argv[++i];
        }
        if (!*value) {
            snprintf(err, errlen, "option %s needs a non-empty value", s->flag);
            return -1;
        }
        if (apply(c, s, s->flag, value, err, errlen) < 0)
            return -1;
    }
    *rest = kept;
    return 0;
}

void config_finish(struct backend_config *c)
{
    char host[256];
    if (gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = 0;
    if (!c->hostname)
        c->hostname = strdup(host);
    if (!c->region)
        c->region = strdup("local");
    if (!c->listen)
        c->listen = strdup("0.0.0.0");
    if (!c->role)
        c->role = strdup("edgebench");
    const char *id = c->alloc_id ? c->alloc_id : host;
    char shortid[9];
    size_t n = strnlen(id, 8);
    memcpy(shortid, id, n);
    shortid[n] = 0;
    free(c->alloc_id);
    c->alloc_id = strdup(shortid);
}

void config_print_flags(FILE *f, unsigned scope)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (!(settings[i].scope & scope))
            continue;
        fprintf(f, "  %-22s %-28s %s\n", settings[i].flag, settings[i].env, settings[i].help);
    }
}

int config_check(const struct backend_config *c, char *err, size_t errlen)
{
    /* the region tags rows, log lines, headers and files: a code, not text */
    if (c->region) {
        size_t n = strlen(c->region);
        bool ok = n >= 1 && n <= 32;
        for (const char *p = c->region; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '-' || *p == '_' || *p == '.';
        if (!ok) {
            snprintf(err, errlen,
                     "FLY_REGION (--region) '%.40s' is not a region code; use 1 to 32 letters, "
                     "digits, '-', '_' or '.' (Fly.io sets e.g. lhr)",
                     c->region);
            return -1;
        }
    }
    if (c->database_url) {
        char *perr = NULL;
        PQconninfoOption *opts = PQconninfoParse(c->database_url, &perr);
        PQfreemem(perr); /* libpq's message quotes parts of the value: never shown */
        if (!opts) {
            snprintf(err, errlen,
                     "DATABASE_URL (--database-url) is not a valid libpq URI or conninfo string "
                     "(its value is not shown: it may hold a password); use e.g. "
                     "postgresql://USER:PASSWORD@HOST:5432/DBNAME?sslmode=require, with an IPv6 "
                     "host in brackets ([::1]) and special characters in the password "
                     "percent-encoded");
            return -1;
        }
        /* values libpq would only reject at every connect attempt, while the
         * backend runs on without a database: port(s) and sslmode */
        const char *bad = NULL, *what = NULL;
        char badval[64] = "";
        for (PQconninfoOption *o = opts; o->keyword && !bad; o++) {
            if (!o->val || !*o->val)
                continue;
            if (!strcmp(o->keyword, "port")) {
                /* a list, one per host: "5432,5433" */
                for (const char *p = o->val; *p && !bad;) {
                    size_t n = strcspn(p, ",");
                    char one[16];
                    long v;
                    snprintf(one, sizeof(one), "%.*s", (int)(n < 15 ? n : 15), p);
                    if (n && (n >= sizeof(one) || parse_long(one, 1, 65535, &v) < 0)) {
                        bad = "port";
                        what = "a port from 1 to 65535 (one per host, comma-separated)";
                        snprintf(badval, sizeof(badval), "%.*s", (int)(n < 40 ? n : 40), p);
                    }
                    p += n + (p[n] == ',');
                }
            } else if (!strcmp(o->keyword, "sslmode")) {
                bool ok = false;
                for (size_t i = 0; i < sizeof(sslmodes) / sizeof(sslmodes[0]); i++)
                    ok |= !strcmp(o->val, sslmodes[i]);
                if (!ok) {
                    bad = "sslmode";
                    what = "disable, allow, prefer, require, verify-ca or verify-full";
                    snprintf(badval, sizeof(badval), "%.40s", o->val);
                }
            }
        }
        PQconninfoFree(opts);
        if (bad) {
            snprintf(err, errlen, "DATABASE_URL (--database-url) has %s '%s'; use %s", bad, badval,
                     what);
            return -1;
        }
    }
    if (c->sslrootcert) {
        struct stat st;
        FILE *f = NULL;
        const char *why = NULL;
        if (stat(c->sslrootcert, &st) < 0)
            why = strerror(errno);
        else if (!S_ISREG(st.st_mode))
            why = "not a regular file";
        else if (!(f = fopen(c->sslrootcert, "r")))
            why = strerror(errno);
        if (why) {
            snprintf(err, errlen,
                     "DB_SSLROOTCERT (--db-sslrootcert) '%s' cannot be read: %s; give the path of "
                     "the CA bundle (for RDS: AWS's global-bundle.pem)",
                     c->sslrootcert, why);
            return -1;
        }
        fclose(f);
    }
    return 0;
}

bool config_db_enabled(const struct backend_config *c)
{
    return c->db_host || c->database_url;
}

void config_db_host(const struct backend_config *c, char *buf, size_t len)
{
    snprintf(buf, len, "not configured");
    if (c->database_url) {
        PQconninfoOption *opts = PQconninfoParse(c->database_url, NULL);
        const char *host = NULL, *hostaddr = NULL;
        for (PQconninfoOption *o = opts; o && o->keyword; o++) {
            if (!strcmp(o->keyword, "host") && o->val && *o->val)
                host = o->val;
            if (!strcmp(o->keyword, "hostaddr") && o->val && *o->val)
                hostaddr = o->val;
        }
        snprintf(buf, len, "%s", host ? host : hostaddr ? hostaddr : "localhost");
        PQconninfoFree(opts);
    } else if (c->db_host) {
        snprintf(buf, len, "%s", c->db_host);
    }
}

static void add(struct conn_params *p, const char *k, const char *v)
{
    if (p->n < CONFIG_MAX_PARAMS && v) {
        p->keys[p->n] = k;
        p->values[p->n] = v;
        p->n++;
    }
    p->keys[p->n] = NULL;
    p->values[p->n] = NULL;
}

void config_conn_params(const struct backend_config *c, const char *application_name,
                        struct conn_params *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->connect_timeout, sizeof(out->connect_timeout), "%ld", c->connect_timeout_s);
    /* defaults first: a DATABASE_URL given later may override them */
    add(out, "connect_timeout", out->connect_timeout);
    add(out, "application_name", application_name ? application_name : "edgebench");
    add(out, "keepalives", "1");
    add(out, "keepalives_idle", "10");
    add(out, "keepalives_interval", "5");
    add(out, "keepalives_count", "3");
    add(out, "tcp_user_timeout", "15000"); /* ms unacknowledged: a vanished server */
    add(out, "sslmode", c->sslmode ? c->sslmode : "prefer");
    /* No GSSAPI encryption unless asked for (PGGSSENCMODE, or gssencmode in
     * DATABASE_URL, which comes later and wins). libpq's default, prefer,
     * looks for a Kerberos credential cache at every connect: time on each
     * connect and about 0.6 MB of resident memory in the backend, for an
     * encryption RDS does not offer. The seed's driver never tried it. */
    const char *gss = getenv("PGGSSENCMODE");
    if (!gss || !*gss)
        add(out, "gssencmode", "disable");
    add(out, "sslrootcert", c->sslrootcert);
    if (c->database_url) {
        add(out, "dbname", c->database_url);
        out->expand_dbname = 1;
        return;
    }
    add(out, "host", c->db_host);
    add(out, "port", c->db_port ? c->db_port : "5432");
    add(out, "user", c->db_user ? c->db_user : "postgres");
    add(out, "password", c->db_password ? c->db_password : "");
    add(out, "dbname", c->db_name ? c->db_name : "contacts");
    out->expand_dbname = 0;
}
