/* `edgebench db init|clean|check`: the schema and a least-privilege role,
 * removal of the benchmark's rows, and a diagnosis in plain words. */
#include "backend/backend.h"

#include "backend/config.h"
#include "backend/pgconn.h"
#include "core/cli.h"
#include "core/clock.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQLSTATE_PRIVILEGE "42501"

static void usage(FILE *f)
{
    fprintf(f, "Usage: edgebench db init|clean|check [OPTIONS]\n\n"
               "  init   create the contacts table (the seed's columns) and a benchmark role\n"
               "         with SELECT, INSERT on it and USAGE on its sequence; idempotent.\n"
               "         Run it with an administrative connection (a role that may create\n"
               "         roles, like the RDS master user), or pass --no-role.\n"
               "  clean  delete the rows the benchmark inserted (notes 'edgebench:REGION');\n"
               "         --region CODE limits it to one region.\n"
               "  check  connect and say in plain words what is wrong, with the fix.\n\n"
               "The connection comes from the same settings as `edgebench backend`:\n");
    config_print_flags(f, CONFIG_DB);
    fprintf(f, "  %-22s %-28s %s\n", "--no-role", "", "init: create the table only");
}

/* --- diagnosis -------------------------------------------------------------- */

static bool has(const char *msg, const char *needle)
{
    return strstr(msg, needle) != NULL;
}

static void describe_target(const struct backend_config *c, char *buf, size_t len)
{
    char host[256];
    config_db_host(c, host, sizeof(host));
    if (c->database_url)
        snprintf(buf, len, "%s (from DATABASE_URL)", host);
    else
        snprintf(buf, len, "%s:%s", host, c->db_port ? c->db_port : "5432");
}

/* Prints what a connection failure means and how to fix it. */
static void diagnose_connect(const struct backend_config *c, const char *msg)
{
    char target[320];
    describe_target(c, target, sizeof(target));
    const char *user = c->db_user ? c->db_user : "postgres";
    const char *db = c->db_name ? c->db_name : "contacts";
    printf("FAIL: cannot connect to %s: %s\n", target, msg);
    if (has(msg, "no pg_hba.conf entry") && has(msg, "no encryption"))
        printf("  means: the server accepts only encrypted (SSL) connections from this host "
               "(RDS does when rds.force_ssl=1), or has no rule for it at all\n"
               "  fix:   set DB_SSLMODE=require (or DB_SSLMODE=verify-full with "
               "DB_SSLROOTCERT=CA-FILE); if it still fails, add a pg_hba.conf rule for this "
               "host, user and database\n");
    else if (has(msg, "no pg_hba.conf entry"))
        printf("  means: pg_hba.conf has no rule that admits this host, user and database\n"
               "  fix:   add a host/hostssl line for this client's address to pg_hba.conf "
               "and reload the server\n");
    else if (has(msg, "password authentication failed") || has(msg, "authentication failed") ||
             has(msg, "no password supplied") || has(msg, "password is required"))
        printf("  means: authentication failed for user '%s'\n"
               "  fix:   check DB_USER and DB_PASSWORD (or the user and password in "
               "DATABASE_URL); the role must exist and have LOGIN\n",
               user);
    else if (has(msg, "database") && has(msg, "does not exist"))
        printf("  means: the database named does not exist on that server\n"
               "  fix:   check DB_NAME (now '%s'), or create it: CREATE DATABASE %s;\n",
               db, db);
    else if (has(msg, "role") && has(msg, "does not exist"))
        printf("  means: there is no role '%s' on that server\n"
               "  fix:   check DB_USER, or create the role with an administrative connection\n",
               user);
    else if (has(msg, "server does not support SSL"))
        printf("  means: DB_SSLMODE asks for SSL but the server has SSL switched off\n"
               "  fix:   set DB_SSLMODE=prefer (or disable), or enable ssl on the server\n");
    else if (has(msg, "root certificate") || has(msg, "certificate verify failed") ||
             has(msg, "does not match host name") || has(msg, "certificate"))
        printf("  means: the server's certificate could not be verified\n"
               "  fix:   set DB_SSLROOTCERT to the CA bundle that signed it (for RDS: the "
               "global-bundle.pem of AWS) and DB_HOST to a name the certificate covers\n");
    else if (has(msg, "Connection refused") || has(msg, "could not connect") ||
             has(msg, "timeout expired") || has(msg, "could not translate host name") ||
             has(msg, "No route to host") || has(msg, "Network is unreachable") ||
             has(msg, "Connection timed out"))
        printf("  means: nothing answered at %s\n"
               "  fix:   check DB_HOST and DB_PORT, that PostgreSQL is running and listens on "
               "that address (listen_addresses), and that the path is open (WireGuard "
               "tunnel up, security group, firewall)\n",
               target);
    else
        printf("  fix:   see the server's message above\n");
}

static PGconn *admin_connect(const struct backend_config *c)
{
    char err[512];
    PGconn *conn = pgconn_open(c, "edgebench-db", 0, err, sizeof(err));
    if (!conn)
        diagnose_connect(c, err);
    return conn;
}

/* Runs a statement; on failure prints it (with a fix for missing privileges)
 * and returns -1. */
static int run(PGconn *conn, const char *what, const char *sql, const char *privilege_fix)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[512];
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        pgconn_one_line(primary ? primary : PQresultErrorMessage(r), msg, sizeof(msg));
        printf("FAIL: %s: %s\n", what, msg);
        if (state && !strcmp(state, SQLSTATE_PRIVILEGE) && privilege_fix)
            printf("  fix:   %s\n", privilege_fix);
        rc = -1;
    }
    PQclear(r);
    return rc;
}

static int query_one(PGconn *conn, const char *sql, int nparams, const char *const *params,
                     char *out, size_t outlen)
{
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        snprintf(out, outlen, "%s", PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
        rc = 0;
    } else {
        char msg[512];
        pgconn_one_line(PQresultErrorMessage(r), msg, sizeof(msg));
        printf("FAIL: %s\n", msg);
    }
    PQclear(r);
    return rc;
}

static const char CREATE_TABLE[] = "CREATE TABLE IF NOT EXISTS contacts (\n"
                                   "    id SERIAL PRIMARY KEY,\n"
                                   "    name VARCHAR(255) NOT NULL,\n"
                                   "    email VARCHAR(255),\n"
                                   "    notes TEXT,\n"
                                   "    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP\n"
                                   ")";

/* --- init ------------------------------------------------------------------------ */

static int init_role(PGconn *conn, const struct backend_config *c, const char *me)
{
    int rc = -1;
    char exists[8], seq[256], sql[1024];
    char *role_id = NULL, *seq_lit = NULL, *pw = NULL, *pw_lit = NULL, *db_id = NULL;
    const char *params[1] = {c->role};
    char dbname[256];
    const char *fix_role = "connect as a role with CREATEROLE (a superuser, or the RDS master "
                           "user) to create the benchmark role, or pass --no-role";

    if (query_one(conn, "SELECT count(*) FROM pg_roles WHERE rolname = $1", 1, params, exists,
                  sizeof(exists)) < 0 ||
        query_one(conn, "SELECT pg_get_serial_sequence('contacts', 'id')", 0, NULL, seq,
                  sizeof(seq)) < 0 ||
        query_one(conn, "SELECT current_database()", 0, NULL, dbname, sizeof(dbname)) < 0)
        goto cleanup;
    role_id = PQescapeIdentifier(conn, c->role, strlen(c->role));
    db_id = PQescapeIdentifier(conn, dbname, strlen(dbname));
    if (!role_id || !db_id)
        goto cleanup;
    if (c->role_password) {
        /* send the SCRAM verifier, never the password itself */
        pw = PQencryptPasswordConn(conn, c->role_password, c->role, NULL);
        pw_lit = pw ? PQescapeLiteral(conn, pw, strlen(pw)) : NULL;
        if (!pw_lit) {
            printf("FAIL: cannot encrypt the role's password: %s", PQerrorMessage(conn));
            goto cleanup;
        }
    }
    if (!strcmp(exists, "0")) {
        snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN%s%s", role_id, pw_lit ? " PASSWORD " : "",
                 pw_lit ? pw_lit : "");
        if (run(conn, "create the benchmark role", sql, fix_role) < 0)
            goto cleanup;
        printf("created role %s (LOGIN%s)\n", c->role,
               pw_lit ? ", with the password given"
                      : ", no password: set one with --role-password");
    } else if (pw_lit) {
        snprintf(sql, sizeof(sql), "ALTER ROLE %s LOGIN PASSWORD %s", role_id, pw_lit);
        if (run(conn, "set the benchmark role's password", sql, fix_role) < 0)
            goto cleanup;
        printf("role %s already exists; password updated\n", c->role);
    } else {
        printf("role %s already exists\n", c->role);
    }
    if (!strcmp(c->role, me)) {
        printf("role %s is the connecting role: no grants needed\n", c->role);
        rc = 0;
        goto cleanup;
    }
    const char *fix_grant = "connect as the owner of the table and the database (or the RDS "
                            "master user)";
    snprintf(sql, sizeof(sql), "GRANT CONNECT ON DATABASE %s TO %s", db_id, role_id);
    if (run(conn, "grant CONNECT on the database", sql, fix_grant) < 0)
        goto cleanup;
    snprintf(sql, sizeof(sql), "GRANT USAGE ON SCHEMA public TO %s", role_id);
    if (run(conn, "grant USAGE on schema public", sql, fix_grant) < 0)
        goto cleanup;
    snprintf(sql, sizeof(sql), "GRANT SELECT, INSERT ON contacts TO %s", role_id);
    if (run(conn, "grant SELECT, INSERT on contacts", sql, fix_grant) < 0)
        goto cleanup;
    if (seq[0]) {
        snprintf(sql, sizeof(sql), "GRANT USAGE ON SEQUENCE %s TO %s", seq, role_id);
        if (run(conn, "grant USAGE on the id sequence", sql, fix_grant) < 0)
            goto cleanup;
    }
    printf("granted %s: CONNECT on database %s, USAGE on schema public, SELECT and INSERT on "
           "contacts, USAGE on %s (nothing else)\n",
           c->role, dbname, seq[0] ? seq : "(no sequence)");
    rc = 0;
cleanup:
    PQfreemem(role_id);
    PQfreemem(db_id);
    PQfreemem(seq_lit);
    PQfreemem(pw);
    PQfreemem(pw_lit);
    return rc;
}

static int db_init(const struct backend_config *c, bool no_role)
{
    int rc = 1;
    char existed[256], me[256];
    PGconn *conn = admin_connect(c);
    if (!conn)
        return 1;
    if (query_one(conn, "SELECT current_user", 0, NULL, me, sizeof(me)) < 0 ||
        query_one(conn, "SELECT COALESCE(to_regclass('contacts')::text, '')", 0, NULL, existed,
                  sizeof(existed)) < 0)
        goto cleanup;
    if (run(conn, "begin", "BEGIN", NULL) < 0)
        goto cleanup;
    if (run(conn, "create table contacts", CREATE_TABLE,
            "connect as the database owner or a superuser (the RDS master user), or GRANT "
            "CREATE ON SCHEMA public to this role") < 0)
        goto cleanup;
    if (existed[0])
        printf("table contacts already exists\n");
    else
        printf("created table contacts (id serial primary key, name, email, notes, "
               "created_at)\n");
    if (!no_role && init_role(conn, c, me) < 0)
        goto cleanup;
    if (run(conn, "commit", "COMMIT", NULL) < 0)
        goto cleanup;
    printf("db init: done\n");
    rc = 0;
cleanup:
    if (rc != 0)
        printf("db init: nothing was changed (the transaction was rolled back)\n");
    PQfinish(conn);
    return rc;
}

/* --- clean ------------------------------------------------------------------ */

static int db_clean(const struct backend_config *c, const char *region)
{
    int rc = 1;
    PGconn *conn = admin_connect(c);
    if (!conn)
        return 1;
    char tag[128];
    snprintf(tag, sizeof(tag), "edgebench:%s", region ? region : "");
    const char *params[1] = {tag};
    PGresult *r = region ? PQexecParams(conn, "DELETE FROM contacts WHERE notes = $1", 1, NULL,
                                        params, NULL, NULL, 0)
                         : PQexec(conn, "DELETE FROM contacts WHERE notes LIKE 'edgebench:%'");
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        printf("deleted %s benchmark rows%s%s from contacts\n", PQcmdTuples(r),
               region ? " of region " : "", region ? region : "");
        rc = 0;
    } else {
        char msg[512];
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        pgconn_one_line(PQresultErrorMessage(r), msg, sizeof(msg));
        printf("FAIL: %s\n", msg);
        if (state && !strcmp(state, "42P01"))
            printf("  fix:   there is no contacts table here: run `edgebench db init`\n");
        else if (state && !strcmp(state, SQLSTATE_PRIVILEGE))
            printf("  fix:   the benchmark role may not DELETE: run db clean with an "
                   "administrative connection (the table owner or the RDS master user)\n");
    }
    PQclear(r);
    PQfinish(conn);
    return rc;
}

/* --- check ------------------------------------------------------------------ */

static int db_check(const struct backend_config *c)
{
    int failures = 0;
    char target[320], buf[256], me[256], seq[256];
    describe_target(c, target, sizeof(target));
    PGconn *conn = admin_connect(c);
    if (!conn)
        return 1;
    char version[32];
    pgconn_server_version(conn, version, sizeof(version));
    const char *proto = PQsslInUse(conn) ? PQsslAttribute(conn, "protocol") : NULL;
    query_one(conn, "SELECT current_user", 0, NULL, me, sizeof(me));
    uint64_t t0 = clock_now_ns();
    PQclear(PQexec(conn, ""));
    double rtt = clock_ns_to_ms(clock_now_ns() - t0);
    printf("ok: connected to %s, database %s, as %s (PostgreSQL %s, %s%s); round trip %.3f ms\n",
           target, PQdb(conn), me, version, proto ? "TLS " : "no TLS", proto ? proto : "", rtt);

    if (query_one(conn, "SELECT COALESCE(to_regclass('contacts')::text, '')", 0, NULL, buf,
                  sizeof(buf)) < 0 ||
        !buf[0]) {
        printf("FAIL: table contacts is missing in database %s\n"
               "  fix:   run `edgebench db init` with an administrative connection\n",
               PQdb(conn));
        failures++;
        goto cleanup;
    }
    static const char *const cols[] = {"id", "name", "email", "notes", "created_at"};
    for (size_t i = 0; i < 5; i++) {
        const char *p[1] = {cols[i]};
        if (query_one(conn,
                      "SELECT count(*) FROM pg_attribute WHERE attrelid = 'contacts'::regclass "
                      "AND attname = $1 AND NOT attisdropped",
                      1, p, buf, sizeof(buf)) == 0 &&
            !strcmp(buf, "0")) {
            printf("FAIL: table contacts has no column %s\n"
                   "  fix:   it was not made by `edgebench db init`; rename it or drop it and "
                   "run db init\n",
                   cols[i]);
            failures++;
        }
    }
    printf("ok: table contacts exists\n");
    query_one(conn, "SELECT COALESCE(pg_get_serial_sequence('contacts', 'id'), '')", 0, NULL, seq,
              sizeof(seq));
    struct {
        const char *sql, *what;
    } privs[] = {
        {"SELECT has_table_privilege('contacts', 'SELECT')", "SELECT on contacts"},
        {"SELECT has_table_privilege('contacts', 'INSERT')", "INSERT on contacts"},
        {"SELECT CASE WHEN pg_get_serial_sequence('contacts', 'id') IS NULL THEN true ELSE "
         "has_sequence_privilege(pg_get_serial_sequence('contacts', 'id'), 'USAGE') END",
         "USAGE on the id sequence"},
    };
    char missing[256] = "";
    for (size_t i = 0; i < sizeof(privs) / sizeof(privs[0]); i++) {
        if (query_one(conn, privs[i].sql, 0, NULL, buf, sizeof(buf)) < 0) {
            failures++;
        } else if (strcmp(buf, "t") != 0) {
            size_t n = strlen(missing);
            snprintf(missing + n, sizeof(missing) - n, "%s%s", n ? ", " : "", privs[i].what);
        }
    }
    if (missing[0]) {
        printf("FAIL: role %s lacks %s\n"
               "  fix:   run `edgebench db init --role %s` with an administrative connection, or "
               "as the table owner: GRANT SELECT, INSERT ON contacts TO %s; GRANT USAGE ON "
               "SEQUENCE %s TO %s;\n",
               me, missing, me, me, seq[0] ? seq : "contacts_id_seq", me);
        failures++;
    }
    if (!failures)
        printf("ok: role %s may SELECT and INSERT on contacts and use its sequence\n", me);
cleanup:
    PQfinish(conn);
    printf("db check: %s\n", failures ? "problems found (see FAIL lines)" : "all good");
    return failures ? 1 : 0;
}

int db_main(int argc, char **argv)
{
    struct backend_config c;
    char err[512];
    int rest = 0, rc = 2;
    const char *region = NULL;
    bool no_role = false;
    config_init(&c);
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        rc = argc < 2 ? 2 : 0;
        goto cleanup;
    }
    /* --region and --no-role belong to db only; take them out first */
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-role")) {
            no_role = true;
        } else if (!strcmp(argv[i], "--region") && i + 1 < argc) {
            region = argv[++i];
        } else if (!strncmp(argv[i], "--region=", 9)) {
            region = argv[i] + 9;
        } else if (!strcmp(argv[i], "--region")) {
            fprintf(stderr, "edgebench db: option --region needs a value\n");
            goto cleanup;
        } else {
            argv[n++] = argv[i];
        }
    }
    if (config_load_env(&c, CONFIG_DB, err, sizeof(err)) < 0 ||
        config_parse_args(&c, CONFIG_DB, n, argv, &rest, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench db: %s\n", err);
        goto cleanup;
    }
    if (rest != 1) {
        fprintf(stderr, "edgebench db: give one action: init, clean or check (see --help)\n");
        goto cleanup;
    }
    const char *action = argv[1];
    if (strcmp(action, "init") && strcmp(action, "clean") && strcmp(action, "check")) {
        fprintf(stderr, "edgebench db: unknown action '%s'; use init, clean or check\n", action);
        goto cleanup;
    }
    config_finish(&c);
    if (config_check(&c, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench db: %s\n", err);
        goto cleanup;
    }
    if (!config_db_enabled(&c)) {
        fprintf(stderr, "edgebench db: no database configured; set DB_HOST (and DB_PORT, "
                        "DB_USER, DB_PASSWORD, DB_NAME) or DATABASE_URL\n");
        rc = 2;
        goto cleanup;
    }
    if (!strcmp(action, "init"))
        rc = db_init(&c, no_role);
    else if (!strcmp(action, "clean"))
        rc = db_clean(&c, region);
    else
        rc = db_check(&c);
cleanup:
    config_free(&c);
    return rc;
}
