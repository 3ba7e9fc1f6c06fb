#include "proxy/routes.h"

#include "core/catalog.h"
#include "core/cli.h"
#include "core/parse.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char sqlite_schema[] =
    "CREATE TABLE IF NOT EXISTS routes (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  app TEXT NOT NULL DEFAULT 'default',\n"
    "  region TEXT NOT NULL,\n"
    "  address TEXT NOT NULL,\n"
    "  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),\n"
    "  weight INTEGER NOT NULL DEFAULT 100 CHECK (weight BETWEEN 0 AND 1000000),\n"
    "  soft_limit INTEGER NOT NULL DEFAULT 0 CHECK (soft_limit >= 0),\n"
    "  hard_limit INTEGER NOT NULL DEFAULT 0 CHECK (hard_limit >= 0),\n"
    "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),\n"
    "  UNIQUE (app, address, port)\n"
    ");\n"
    "PRAGMA user_version = 1;\n";

static const char pg_schema[] =
    "CREATE TABLE IF NOT EXISTS " ROUTES_PG_TABLE " (\n"
    "  id bigserial PRIMARY KEY,\n"
    "  app text NOT NULL DEFAULT 'default',\n"
    "  region text NOT NULL,\n"
    "  address text NOT NULL,\n"
    "  port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),\n"
    "  weight integer NOT NULL DEFAULT 100 CHECK (weight BETWEEN 0 AND 1000000),\n"
    "  soft_limit integer NOT NULL DEFAULT 0 CHECK (soft_limit >= 0),\n"
    "  hard_limit integer NOT NULL DEFAULT 0 CHECK (hard_limit >= 0),\n"
    "  enabled boolean NOT NULL DEFAULT true,\n"
    "  UNIQUE (app, address, port)\n"
    ");\n"
    "CREATE OR REPLACE FUNCTION " ROUTES_PG_TABLE "_notify() RETURNS trigger\n"
    "  LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('" ROUTES_PG_CHANNEL "', TG_OP);"
    " RETURN NULL; END $$;\n"
    "CREATE OR REPLACE TRIGGER " ROUTES_PG_TABLE "_changed\n"
    "  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON " ROUTES_PG_TABLE "\n"
    "  FOR EACH STATEMENT EXECUTE FUNCTION " ROUTES_PG_TABLE "_notify();\n";

#define SELECT_COLUMNS "id, app, region, address, port, weight, soft_limit, hard_limit, "

void routes_table_free(struct route_table *t)
{
    if (!t)
        return;
    free(t->rows);
    t->rows = NULL;
    t->n = 0;
}

/* Validates text columns of one row and fills r; 0 or -1 with err. */
static int route_fill(struct route *r, const char *id, const char *app, const char *region,
                      const char *address, const char *port, const char *weight, const char *soft,
                      const char *hard, const char *enabled, char *err, size_t errlen)
{
    long v;
    memset(r, 0, sizeof(*r));
    if (!id || parse_long(id, 0, INT64_MAX, &r->id) < 0) {
        snprintf(err, errlen, "a row has an invalid id '%s'", id ? id : "NULL");
        return -1;
    }
#define BAD(...)                                                                                   \
    do {                                                                                           \
        int o_ = snprintf(err, errlen, "row id %ld: ", r->id);                                     \
        if (o_ > 0 && (size_t)o_ < errlen)                                                         \
            snprintf(err + o_, errlen - (size_t)o_, __VA_ARGS__);                                  \
        return -1;                                                                                 \
    } while (0)
    if (!app || !*app || strlen(app) >= sizeof(r->app))
        BAD("app must be a non-empty name of at most %zu characters", sizeof(r->app) - 1);
    strcpy(r->app, app);
    if (!region || !catalog_region(region))
        BAD("region '%s' is not in the catalog (one of %s)", region ? region : "NULL",
            catalog_region_codes());
    strcpy(r->region, region);
    if (!address || strlen(address) >= sizeof(r->address))
        BAD("address is missing or too long");
    strcpy(r->address, address);
    if (!port || parse_long(port, 1, 65535, &v) < 0)
        BAD("port '%s' is not in 1..65535", port ? port : "NULL");
    r->port = (uint16_t)v;
    struct sockaddr_in *in = (struct sockaddr_in *)&r->sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&r->sa;
    if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(r->port);
        r->salen = sizeof(*in);
    } else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(r->port);
        r->salen = sizeof(*in6);
    } else {
        BAD("address '%s' is not a numeric IPv4 or IPv6 address", address);
    }
    if (!weight || parse_long(weight, 0, 1000000, &r->weight) < 0)
        BAD("weight '%s' is not in 0..1000000", weight ? weight : "NULL");
    if (!soft || parse_long(soft, 0, 100000000, &r->soft_limit) < 0)
        BAD("soft_limit '%s' is not a count >= 0", soft ? soft : "NULL");
    if (!hard || parse_long(hard, 0, 100000000, &r->hard_limit) < 0)
        BAD("hard_limit '%s' is not a count >= 0", hard ? hard : "NULL");
    if (r->soft_limit && r->hard_limit && r->soft_limit > r->hard_limit)
        BAD("soft_limit %ld is above hard_limit %ld", r->soft_limit, r->hard_limit);
    if (!enabled || (strcmp(enabled, "0") && strcmp(enabled, "1")))
        BAD("enabled '%s' is not 0 or 1", enabled ? enabled : "NULL");
    r->enabled = enabled[0] == '1';
#undef BAD
    return 0;
}

static int table_push(struct route_table *t, size_t *cap, const struct route *r, char *err,
                      size_t errlen)
{
    if (t->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct route *p = realloc(t->rows, ncap * sizeof(*p));
        if (!p) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        t->rows = p;
        *cap = ncap;
    }
    t->rows[t->n++] = *r;
    return 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* When path's directory does not exist, a hint saying so (creating the
 * table would fail too), else NULL. */
static const char *missing_dir_hint(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return NULL;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return NULL;
    snprintf(buf, len,
             "the directory '%s' does not exist; create it (mkdir -p) or choose another "
             "--routes path",
             dir);
    return buf;
}

/* --routes names a directory: the message that says so (into buf), or NULL. */
static const char *dir_refusal(const char *path, char *buf, size_t len)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return NULL;
    snprintf(buf, len,
             "routing table '%s' is a directory; --routes takes the SQLite file (e.g. "
             "%s/routing.db, made with 'edgebench proxy routes init --routes FILE')",
             path, path);
    return buf;
}

int routes_load_sqlite(const char *path, const char *app, struct route_table *out, char *err,
                       size_t errlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct route_table t = {0};
    size_t cap = 0;
    int ret = -1;
    if (dir_refusal(path, err, errlen))
        goto cleanup;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        char hint[PATH_MAX + 100];
        const char *dirhint = missing_dir_hint(path, hint, sizeof(hint));
        snprintf(err, errlen, "cannot open routing table '%s': %s (%s)", path,
                 db ? sqlite3_errmsg(db) : "out of memory", dirhint ? dirhint : ROUTES_CREATE_HINT);
        goto cleanup;
    }
    sqlite3_busy_timeout(db, 2000);
    const char *sql = "SELECT " SELECT_COLUMNS "enabled FROM routes WHERE ?1 IS NULL OR app = ?1 "
                      "ORDER BY id";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        /* the file is there: "create it" would be wrong advice (routes init
         * refuses a file that is not a routing table) */
        snprintf(err, errlen,
                 "routing table '%s' is not usable: %s; it is not a table that 'edgebench "
                 "proxy routes init' made, or it is damaged: restore it, or move it aside and "
                 "make a new one",
                 path, sqlite3_errmsg(db));
        goto cleanup;
    }
    if (app)
        sqlite3_bind_text(st, 1, app, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct route r;
        char why[400];
        if (route_fill(&r, col_text(st, 0), col_text(st, 1), col_text(st, 2), col_text(st, 3),
                       col_text(st, 4), col_text(st, 5), col_text(st, 6), col_text(st, 7),
                       col_text(st, 8), why, sizeof(why)) < 0) {
            /* which file, and the way out */
            snprintf(err, errlen,
                     "routing table '%s', %s; remove that row (edgebench proxy routes remove "
                     "--routes %s --id %s) or correct it",
                     path, why, path, col_text(st, 0) ? col_text(st, 0) : "?");
            goto cleanup;
        }
        if (table_push(&t, &cap, &r, err, errlen) < 0)
            goto cleanup;
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "reading routing table '%s': %s", path, sqlite3_errmsg(db));
        goto cleanup;
    }
    *out = t;
    t.rows = NULL;
    ret = 0;
cleanup:
    routes_table_free(&t);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ret;
}

int routes_load_pg(PGconn *conn, const char *app, struct route_table *out, char *err, size_t errlen)
{
    struct route_table t = {0};
    size_t cap = 0;
    int ret = -1;
    const char *params[1] = {app};
    PGresult *res = PQexecParams(conn,
                                 "SELECT " SELECT_COLUMNS "enabled::int FROM " ROUTES_PG_TABLE
                                 " WHERE $1::text IS NULL OR app = $1 ORDER BY id",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading routing table from PostgreSQL: %s", PQerrorMessage(conn));
        goto cleanup;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        struct route r;
        const char *v[9];
        for (int j = 0; j < 9; j++)
            v[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
        char why[400];
        if (route_fill(&r, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], why, sizeof(why)) <
            0) {
            snprintf(err, errlen,
                     "routing table " ROUTES_PG_TABLE ", %s; remove that row (edgebench proxy "
                     "routes remove --routes-pg URL --id %s) or correct it",
                     why, v[0] ? v[0] : "?");
            goto cleanup;
        }
        if (table_push(&t, &cap, &r, err, errlen) < 0)
            goto cleanup;
    }
    *out = t;
    t.rows = NULL;
    ret = 0;
cleanup:
    PQclear(res);
    routes_table_free(&t);
    return ret;
}

PGconn *routes_pg_connect(const char *url, char *err, size_t errlen)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, "5", "edgebench-proxy", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the routing database: %s",
                 conn ? PQerrorMessage(conn) : "out of memory");
        PQfinish(conn);
        return NULL;
    }
    PGresult *res = PQexec(conn, "LISTEN " ROUTES_PG_CHANNEL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "LISTEN " ROUTES_PG_CHANNEL ": %s", PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        return NULL;
    }
    PQclear(res);
    return conn;
}

/* ---- `edgebench proxy routes` ---- */

static void routes_usage(FILE *f)
{
    fprintf(f,
            "Usage: edgebench proxy routes COMMAND (--routes FILE | --routes-pg URL) [OPTIONS]\n\n"
            "Edits the proxy's routing table (SQLite file, or the " ROUTES_PG_TABLE
            " table in PostgreSQL;\n"
            "running proxies reload it on change).\n\n"
            "Commands:\n"
            "  init                 create the table (add does it too)\n"
            "  add --region R --address IP --port N [--app A] [--weight W]\n"
            "      [--soft-limit N] [--hard-limit N] [--disabled]\n"
            "                       add a backend (prints its id)\n"
            "  remove (--id N | --address IP --port N [--app A])\n"
            "  enable --id N | disable --id N\n"
            "  list [--json]        print the table\n\n"
            "Weight 0 takes a backend out of new connections; limits 0 mean none.\n");
}

struct routes_opts {
    const char *file, *pg, *app, *region, *address, *port, *weight, *soft, *hard, *id;
    bool disabled, json, app_set;
};

/* One interface over SQLite and PostgreSQL for the few statements we run. */
struct store {
    sqlite3 *db;
    PGconn *pg;
};

/* Opens the store; with create, makes the table, and *existed says whether
 * it was there already. */
static int store_open(struct store *s, const struct routes_opts *o, bool create, bool *existed)
{
    memset(s, 0, sizeof(*s));
    *existed = false;
    if (o->pg) {
        const char *keys[] = {"dbname", "connect_timeout", NULL};
        const char *vals[] = {o->pg, "5", NULL};
        s->pg = PQconnectdbParams(keys, vals, 1);
        if (PQstatus(s->pg) != CONNECTION_OK) {
            fprintf(stderr, "edgebench proxy routes: cannot connect to --routes-pg: %s",
                    PQerrorMessage(s->pg));
            return -1;
        }
        PGresult *r = PQexec(s->pg, "SET client_min_messages = warning");
        PQclear(r);
        if (create) {
            r = PQexec(s->pg, "SELECT to_regclass('" ROUTES_PG_TABLE "') IS NOT NULL");
            *existed = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                       !strcmp(PQgetvalue(r, 0, 0), "t");
            PQclear(r);
            r = PQexec(s->pg, pg_schema);
            int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok)
                fprintf(stderr, "edgebench proxy routes: creating " ROUTES_PG_TABLE ": %s",
                        PQerrorMessage(s->pg));
            PQclear(r);
            if (!ok)
                return -1;
        }
        return 0;
    }
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    char dmsg[2 * PATH_MAX + 200];
    if (dir_refusal(o->file, dmsg, sizeof(dmsg))) {
        fprintf(stderr, "edgebench proxy routes: %s\n", dmsg);
        return -1;
    }
    if (sqlite3_open_v2(o->file, &s->db, flags, NULL) != SQLITE_OK) {
        char hint[PATH_MAX + 100];
        const char *dirhint = missing_dir_hint(o->file, hint, sizeof(hint));
        fprintf(stderr, "edgebench proxy routes: cannot open '%s': %s%s%s%s\n", o->file,
                s->db ? sqlite3_errmsg(s->db) : "out of memory", dirhint || !create ? " (" : "",
                dirhint  ? dirhint
                : create ? ""
                         : ROUTES_CREATE_HINT,
                dirhint || !create ? ")" : "");
        return -1;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (create) {
        char *msg = NULL;
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db,
                               "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                               "'routes'",
                               -1, &st, NULL) == SQLITE_OK)
            *existed = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (sqlite3_exec(s->db, sqlite_schema, NULL, NULL, &msg) != SQLITE_OK) {
            fprintf(stderr, "edgebench proxy routes: '%s' is not a routing table: %s\n", o->file,
                    msg ? msg : "?");
            sqlite3_free(msg);
            return -1;
        }
    }
    return 0;
}

static void store_close(struct store *s)
{
    sqlite3_close(s->db);
    PQfinish(s->pg);
}

/* The only constraint an edit can break: one row per app, address and port. */
#define DUPLICATE_ROUTE                                                                            \
    "a route with this app, address and port is already in the table ('edgebench proxy routes "    \
    "list' shows it); remove or enable that one, or use another --port"

/* Runs a statement with up to 8 text parameters ($1.. / ?1..). Returns the
 * number of affected rows, or -1. When id_out is given, the new row's id. */
static long store_exec(struct store *s, const char *sql_pg, const char *sql_lite, int n,
                       const char *const *params, long *id_out)
{
    if (s->pg) {
        PGresult *r = PQexecParams(s->pg, sql_pg, n, NULL, params, NULL, NULL, 0);
        long ret = -1;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            ret = strtol(PQcmdTuples(r), NULL, 10);
            if (id_out && st == PGRES_TUPLES_OK && PQntuples(r) > 0)
                *id_out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        } else {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (state && !strcmp(state, "23505"))
                fprintf(stderr, "edgebench proxy routes: " DUPLICATE_ROUTE "\n");
            else
                fprintf(stderr, "edgebench proxy routes: %s", PQerrorMessage(s->pg));
        }
        PQclear(r);
        return ret;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql_lite, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "edgebench proxy routes: %s\n", sqlite3_errmsg(s->db));
        return -1;
    }
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT) {
        fprintf(stderr, "edgebench proxy routes: " DUPLICATE_ROUTE "\n");
        return -1;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "edgebench proxy routes: %s\n", sqlite3_errmsg(s->db));
        return -1;
    }
    if (id_out)
        *id_out = (long)sqlite3_last_insert_rowid(s->db);
    return sqlite3_changes(s->db);
}

/* One spelling per address (::1, not 0:0:0:0:0:0:0:1), so that the
 * table's uniqueness, and remove --address, hold for the address and not
 * for its text. Anything that is not an address is copied as it is. */
static void canon_address(const char *in, char *out, size_t len)
{
    unsigned char raw[sizeof(struct in6_addr)];
    int family = strchr(in, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, in, raw) != 1 || !inet_ntop(family, raw, out, (socklen_t)len))
        snprintf(out, len, "%s", in);
}

static int cmd_add(struct store *s, const struct routes_opts *o)
{
    struct route r;
    char err[512];
    if (!o->region || !o->address || !o->port) {
        fprintf(stderr, "edgebench proxy routes add: --region, --address and --port are "
                        "required\n");
        return 2;
    }
    const char *app = o->app ? o->app : "default";
    const char *weight = o->weight ? o->weight : "100";
    const char *soft = o->soft ? o->soft : "0", *hard = o->hard ? o->hard : "0";
    if (route_fill(&r, "0", app, o->region, o->address, o->port, weight, soft, hard,
                   o->disabled ? "0" : "1", err, sizeof(err)) < 0) {
        /* the message names the field; drop the "row id 0: " prefix */
        const char *m = strstr(err, ": ");
        fprintf(stderr, "edgebench proxy routes add: %s\n", m ? m + 2 : err);
        return 2;
    }
    char canon[INET6_ADDRSTRLEN];
    canon_address(o->address, canon, sizeof(canon));
    const char *p[8] = {app,    o->region, canon, o->port,
                        weight, soft,      hard,  o->disabled ? "0" : "1"};
    long id = 0;
    long n = store_exec(
        s,
        "INSERT INTO " ROUTES_PG_TABLE " (app, region, address, port, weight, soft_limit, "
        "hard_limit, enabled) VALUES ($1, $2, $3, $4::int, $5::int, $6::int, $7::int, "
        "$8::int::boolean) RETURNING id",
        "INSERT INTO routes (app, region, address, port, weight, soft_limit, hard_limit, "
        "enabled) VALUES (?1, ?2, ?3, CAST(?4 AS INTEGER), CAST(?5 AS INTEGER), "
        "CAST(?6 AS INTEGER), CAST(?7 AS INTEGER), CAST(?8 AS INTEGER))",
        8, p, &id);
    if (n != 1)
        return 1;
    printf("%ld\n", id);
    return 0;
}

static int cmd_remove(struct store *s, const struct routes_opts *o)
{
    long n;
    long v;
    if (o->id && (o->address || o->port)) {
        fprintf(stderr, "edgebench proxy routes remove: give --id N, or --address and --port, "
                        "not both\n");
        return 2;
    }
    if (o->id) {
        if (parse_long(o->id, 1, INT64_MAX, &v) < 0) {
            fprintf(stderr,
                    "edgebench proxy routes remove: --id '%s' is not a route id (a positive "
                    "integer; routes list shows them)\n",
                    o->id);
            return 2;
        }
        const char *p[1] = {o->id};
        n = store_exec(s, "DELETE FROM " ROUTES_PG_TABLE " WHERE id = $1::bigint",
                       "DELETE FROM routes WHERE id = CAST(?1 AS INTEGER)", 1, p, NULL);
    } else if (o->address && o->port) {
        if (parse_long(o->port, 1, 65535, &v) < 0) {
            fprintf(stderr, "edgebench proxy routes remove: --port '%s' is not in 1..65535\n",
                    o->port);
            return 2;
        }
        char canon[INET6_ADDRSTRLEN];
        canon_address(o->address, canon, sizeof(canon));
        const char *p[3] = {canon, o->port, o->app};
        n = store_exec(s,
                       "DELETE FROM " ROUTES_PG_TABLE " WHERE address = $1 AND port = $2::int "
                       "AND ($3::text IS NULL OR app = $3)",
                       "DELETE FROM routes WHERE address = ?1 AND port = CAST(?2 AS INTEGER) "
                       "AND (?3 IS NULL OR app = ?3)",
                       3, p, NULL);
    } else {
        fprintf(stderr, "edgebench proxy routes remove: give --id N, or --address and --port\n");
        return 2;
    }
    if (n < 0)
        return 1;
    if (n == 0 && o->id)
        fprintf(stderr, "edgebench proxy routes remove: no route with id %s (see routes list)\n",
                o->id);
    else if (n == 0)
        fprintf(stderr,
                "edgebench proxy routes remove: no route with address %s and port %s%s%s (see "
                "routes list)\n",
                o->address, o->port, o->app ? " in app " : "", o->app ? o->app : "");
    if (n == 0)
        return 1;
    printf("removed %ld route%s\n", n, n == 1 ? "" : "s");
    return 0;
}

static int cmd_enable(struct store *s, const struct routes_opts *o, bool on)
{
    long v;
    if (!o->id) {
        fprintf(stderr, "edgebench proxy routes %s: --id N is required\n",
                on ? "enable" : "disable");
        return 2;
    }
    if (parse_long(o->id, 1, INT64_MAX, &v) < 0) {
        fprintf(stderr,
                "edgebench proxy routes %s: --id '%s' is not a route id (a positive integer; "
                "routes list shows them)\n",
                on ? "enable" : "disable", o->id);
        return 2;
    }
    const char *p[2] = {o->id, on ? "1" : "0"};
    long n = store_exec(
        s, "UPDATE " ROUTES_PG_TABLE " SET enabled = $2::int::boolean WHERE id = $1::bigint",
        "UPDATE routes SET enabled = CAST(?2 AS INTEGER) WHERE id = CAST(?1 AS INTEGER)", 2, p,
        NULL);
    if (n < 0)
        return 1;
    if (n == 0) {
        fprintf(stderr, "edgebench proxy routes: no route with id %s\n", o->id);
        return 1;
    }
    printf("route %s %s\n", o->id, on ? "enabled" : "disabled");
    return 0;
}

static int cmd_list(const struct routes_opts *o)
{
    struct route_table t = {0};
    char err[512];
    int rc;
    if (o->pg) {
        PGconn *c = PQconnectdb(o->pg);
        if (PQstatus(c) != CONNECTION_OK) {
            fprintf(stderr, "edgebench proxy routes list: %s", PQerrorMessage(c));
            PQfinish(c);
            return 1;
        }
        rc = routes_load_pg(c, o->app, &t, err, sizeof(err));
        PQfinish(c);
    } else {
        rc = routes_load_sqlite(o->file, o->app, &t, err, sizeof(err));
    }
    if (rc < 0) {
        fprintf(stderr, "edgebench proxy routes list: %s\n", err);
        return 1;
    }
    if (o->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < t.n; i++) {
            const struct route *r = &t.rows[i];
            json_array_append_new(
                arr,
                json_pack("{sI ss ss ss si sI sI sI sb}", "id", (json_int_t)r->id, "app", r->app,
                          "region", r->region, "address", r->address, "port", (int)r->port,
                          "weight", (json_int_t)r->weight, "soft_limit", (json_int_t)r->soft_limit,
                          "hard_limit", (json_int_t)r->hard_limit, "enabled", r->enabled));
        }
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(arr);
    } else {
        printf("%-5s %-10s %-6s %-24s %5s %6s %5s %5s %s\n", "id", "app", "region", "address",
               "port", "weight", "soft", "hard", "enabled");
        for (size_t i = 0; i < t.n; i++) {
            const struct route *r = &t.rows[i];
            printf("%-5ld %-10s %-6s %-24s %5u %6ld %5ld %5ld %s\n", r->id, r->app, r->region,
                   r->address, r->port, r->weight, r->soft_limit, r->hard_limit,
                   r->enabled ? "yes" : "no");
        }
    }
    routes_table_free(&t);
    return 0;
}

void routes_bad_option(const char *prog, char **argv)
{
    if (optopt) {
        fprintf(stderr, "%s: unknown option '-%c'; see %s --help\n", prog, optopt, prog);
        return;
    }
    const char *a = argv[optind - 1];
    int n = (int)strcspn(a, "=");
    fprintf(stderr, "%s: unknown option '%.*s'; see %s --help\n", prog, n, a, prog);
}

int routes_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"routes", required_argument, NULL, 'r'},
                                             {"routes-pg", required_argument, NULL, 'P'},
                                             {"app", required_argument, NULL, 'a'},
                                             {"region", required_argument, NULL, 'g'},
                                             {"address", required_argument, NULL, 'A'},
                                             {"port", required_argument, NULL, 'p'},
                                             {"weight", required_argument, NULL, 'w'},
                                             {"soft-limit", required_argument, NULL, 's'},
                                             {"hard-limit", required_argument, NULL, 'H'},
                                             {"id", required_argument, NULL, 'i'},
                                             {"disabled", no_argument, NULL, 'd'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct routes_opts o = {0};
    struct store s = {0};
    int rc = 2;
    if (argc < 2 || cli_is_help(argv[1])) {
        routes_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "add") && strcmp(cmd, "init") && strcmp(cmd, "remove") &&
        strcmp(cmd, "enable") && strcmp(cmd, "disable") && strcmp(cmd, "list")) {
        fprintf(stderr,
                "edgebench proxy routes: unknown command '%s'; use init, add, remove, "
                "enable, disable or list (see edgebench proxy routes --help)\n",
                cmd);
        return 2;
    }
    optind = 1;
    opterr = 0; /* our own messages, not getopt's */
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            o.file = optarg;
            break;
        case 'P':
            o.pg = optarg;
            break;
        case 'a':
            o.app = optarg;
            break;
        case 'g':
            o.region = optarg;
            break;
        case 'A':
            o.address = optarg;
            break;
        case 'p':
            o.port = optarg;
            break;
        case 'w':
            o.weight = optarg;
            break;
        case 's':
            o.soft = optarg;
            break;
        case 'H':
            o.hard = optarg;
            break;
        case 'i':
            o.id = optarg;
            break;
        case 'd':
            o.disabled = true;
            break;
        case 'j':
            o.json = true;
            break;
        case 'h':
            routes_usage(stdout);
            return 0;
        case ':':
            fprintf(stderr,
                    "edgebench proxy routes: option '%s' needs a value; see edgebench proxy "
                    "routes --help\n",
                    argv[optind]);
            return 2;
        default:
            routes_bad_option("edgebench proxy routes", argv + 1);
            return 2;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "edgebench proxy routes: unexpected argument '%s'\n", argv[optind + 1]);
        return 2;
    }
    if (!o.file == !o.pg) {
        fprintf(stderr,
                "edgebench proxy routes %s: give exactly one of --routes FILE or "
                "--routes-pg URL\n",
                cmd);
        return 2;
    }
    if (!strcmp(cmd, "list"))
        return cmd_list(&o);
    bool create = !strcmp(cmd, "add") || !strcmp(cmd, "init"), existed = false;
    if (store_open(&s, &o, create, &existed) < 0) {
        rc = 1;
        goto cleanup;
    }
    if (!strcmp(cmd, "init")) {
        const char *where = o.pg ? "the --routes-pg database" : o.file;
        if (existed)
            printf("routing table %s already exists in %s; nothing changed\n",
                   o.pg ? ROUTES_PG_TABLE : "routes", where);
        else
            printf("created routing table %s in %s (empty; add backends with 'edgebench proxy "
                   "routes add')\n",
                   o.pg ? ROUTES_PG_TABLE : "routes", where);
        rc = 0;
    } else if (!strcmp(cmd, "add"))
        rc = cmd_add(&s, &o);
    else if (!strcmp(cmd, "remove"))
        rc = cmd_remove(&s, &o);
    else
        rc = cmd_enable(&s, &o, !strcmp(cmd, "enable"));
cleanup:
    store_close(&s);
    return rc;
}
