#include "backend/pgconn.h"

#include <stdio.h>
#include <string.h>

void pgconn_one_line(const char *msg, char *out, size_t outlen)
{
    size_t o = 0;
    if (!outlen)
        return;
    for (const char *p = msg ? msg : ""; *p && o + 3 < outlen; p++) {
        if (*p == '\n' || *p == '\r') {
            while (p[1] == ' ' || p[1] == '\t')
                p++; /* the indentation of a continuation line */
            if (p[1] && p[1] != '\n' && p[1] != '\r') {
                out[o++] = ';';
                out[o++] = ' ';
            }
            continue;
        }
        out[o++] = (*p == '\t') ? ' ' : *p;
    }
    while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == ';'))
        o--;
    out[o] = 0;
}

int pgconn_setup(PGconn *conn, long statement_timeout_ms, char *err, size_t errlen)
{
    if (statement_timeout_ms <= 0)
        return 0;
    char sql[64];
    snprintf(sql, sizeof(sql), "SET statement_timeout = %ld", statement_timeout_ms);
    PGresult *r = PQexec(conn, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc < 0)
        pgconn_one_line(PQerrorMessage(conn), err, errlen);
    PQclear(r);
    return rc;
}

/* Server notices ("relation already exists, skipping") are not ours to print. */
static void quiet_notices(void *arg, const char *message)
{
}

PGconn *pgconn_open(const struct backend_config *c, const char *application_name,
                    long statement_timeout_ms, char *err, size_t errlen)
{
    struct conn_params p;
    config_conn_params(c, application_name, &p);
    PGconn *conn = PQconnectdbParams(p.keys, p.values, p.expand_dbname);
    if (!conn) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        pgconn_one_line(PQerrorMessage(conn), err, errlen);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, quiet_notices, NULL);
    if (pgconn_setup(conn, statement_timeout_ms, err, errlen) < 0) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

void pgconn_server_version(PGconn *conn, char *buf, size_t len)
{
    const char *v = conn ? PQparameterStatus(conn, "server_version") : NULL;
    /* "15.20 (Debian 15.20-0+deb12u1)" -> "15.20" */
    size_t n = 0;
    if (v)
        while (v[n] && v[n] != ' ' && n + 1 < len)
            n++;
    if (len) {
        memcpy(buf, v ? v : "", n);
        buf[n] = 0;
    }
}
