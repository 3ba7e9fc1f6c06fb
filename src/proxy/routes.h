/* The routing table: one row per backend (id, app, region, address, port,
 * weight, soft_limit, hard_limit, enabled), in a SQLite file or in a
 * PostgreSQL table shared by many proxies (changes announced with NOTIFY on
 * the channel ROUTES_PG_CHANNEL). Loading validates every row: a table with
 * one bad row is rejected whole, so the caller keeps its last good table. */
#ifndef EB_PROXY_ROUTES_H
#define EB_PROXY_ROUTES_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ROUTES_PG_TABLE "edgebench_routes"
#define ROUTES_PG_CHANNEL "edgebench_routes"

struct route {
    long id;
    char app[64];
    char region[8];   /* a catalog region code */
    char address[64]; /* numeric IPv4 or IPv6 */
    uint16_t port;
    long weight;     /* 0 = no new connections */
    long soft_limit; /* 0 = none */
    long hard_limit; /* 0 = none */
    bool enabled;
    struct sockaddr_storage sa;
    socklen_t salen;
};

struct route_table {
    struct route *rows;
    size_t n;
};

void routes_table_free(struct route_table *t);

/* Loads every row (of app when app is non-NULL) into *out; 0, or -1 with the
 * reason in err (the file is not a database, a row is invalid, ...). */
int routes_load_sqlite(const char *path, const char *app, struct route_table *out, char *err,
                       size_t errlen);
int routes_load_pg(PGconn *conn, const char *app, struct route_table *out, char *err,
                   size_t errlen);

/* Connects (blocking, with connect_timeout) and LISTENs on the channel. */
PGconn *routes_pg_connect(const char *url, char *err, size_t errlen);

/* `edgebench proxy routes add|remove|list|init ...` */
int routes_main(int argc, char **argv);

/* After getopt_long returned '?' (with opterr = 0) over argv: prints
 * "PROG: unknown option '--bogus'; see PROG --help" on stderr. */
void routes_bad_option(const char *prog, char **argv);

/* The hint shown wherever a routing table is missing. */
#define ROUTES_CREATE_HINT                                                                         \
    "create it with 'edgebench proxy routes init --routes FILE', then add backends with "          \
    "'edgebench proxy routes add --routes FILE --region R --address IP --port N'"

#endif
