/* A throwaway PostgreSQL server for the lab: initdb into a temporary
 * directory, the postmaster as a supervised child (as the `postgres` user
 * when the lab runs as root) on a free 127.0.0.1 port with its unix socket in
 * that directory and fsync off. Stopping it is an immediate shutdown
 * (SIGQUIT, what `pg_ctl -m immediate stop` sends); the directory goes too. */
#ifndef EB_LAB_PGTMP_H
#define EB_LAB_PGTMP_H

#include "lab/supervise.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct pgtmp {
    char bindir[PATH_MAX]; /* /usr/lib/postgresql/N/bin */
    char major[16];        /* "15" */
    char dir[PATH_MAX];    /* data/ and the unix socket live here; "" before start */
    bool own_dir;          /* dir was made outside the lab's temporary directory */
    uint16_t port;         /* TCP port on 127.0.0.1 */
    bool drop;             /* run as uid/gid (the lab is root) */
    uid_t uid;
    gid_t gid;
    struct child initdb, postmaster;
    /* Set before pgtmp_start for the WireGuard lab: also listen on this
     * address, and trust this client prefix (pg_hba.conf). "" when unused. */
    char extra_listen[64];
    char extra_client[64];
};

/* Finds the highest ROOT/N/bin holding initdb and postgres (ROOT is
 * $EDGEBENCH_PG_ROOT or /usr/lib/postgresql). -1 with a message saying what
 * to install when there is none. */
int pgtmp_find(struct pgtmp *pg, char *err, size_t errlen);

/* initdb + start + wait until it accepts connections. tmpdir is the lab's
 * temporary directory (pg/ is made in it when the server's user can reach
 * it), logdir where initdb.log and postgres.log go. Retries on a port taken
 * meanwhile. -1 with a message in err; when a signal interrupted it,
 * sup->signal is set. */
int pgtmp_start(struct pgtmp *pg, struct supervisor *sup, const char *tmpdir, const char *logdir,
                char *err, size_t errlen);

/* CREATE DATABASE name (as the superuser "postgres", over the unix socket). */
int pgtmp_create_database(struct pgtmp *pg, const char *name, char *err, size_t errlen);

/* Immediate shutdown, then removes its directory when it is not inside the
 * lab's temporary directory. Safe to call when it never started. */
void pgtmp_stop(struct pgtmp *pg, struct supervisor *sup);

#endif
