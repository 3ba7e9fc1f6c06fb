#include "lab/pgtmp.h"

#include "core/cli.h"
#include "core/log.h"
#include "lab/sys.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG_DEFAULT_ROOT "/usr/lib/postgresql"
#define PG_START_TRIES 5
#define PG_READY_TIMEOUT_MS 60000

static const char install_hint[] =
    "install the server (as root: scripts/deps.sh run, or apt-get install postgresql), or "
    "point the lab at an existing server with --db URL";

int pgtmp_find(struct pgtmp *pg, char *err, size_t errlen)
{
    memset(pg, 0, sizeof(*pg));
    const char *root = cli_env("EDGEBENCH_PG_ROOT");
    if (!root)
        root = PG_DEFAULT_ROOT;
    DIR *d = opendir(root);
    long best = -1;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            char *end;
            long v = strtol(e->d_name, &end, 10);
            if (end == e->d_name || *end || v <= best)
                continue;
            char bin[PATH_MAX], initdb[PATH_MAX], postgres[PATH_MAX];
            if (strlen(e->d_name) >= sizeof(pg->major) ||
                snprintf(bin, sizeof(bin), "%s/%s/bin", root, e->d_name) >= (int)sizeof(bin) ||
                sys_path(initdb, sizeof(initdb), bin, "initdb") < 0 ||
                sys_path(postgres, sizeof(postgres), bin, "postgres") < 0)
                continue;
            if (access(initdb, X_OK) == 0 && access(postgres, X_OK) == 0) {
                best = v;
                memcpy(pg->bindir, bin, sizeof(bin));
                memcpy(pg->major, e->d_name, strlen(e->d_name) + 1);
            }
        }
        closedir(d);
    }
    if (best < 0) {
        snprintf(err, errlen, "PostgreSQL server programs not found (no %s/N/bin/initdb): %s", root,
                 install_hint);
        return -1;
    }
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw) {
            snprintf(err, errlen,
                     "running as root, the lab starts PostgreSQL as the 'postgres' user, and "
                     "there is none: %s; or run the lab as an ordinary user",
                     install_hint);
            return -1;
        }
        pg->drop = true;
        pg->uid = pw->pw_uid;
        pg->gid = pw->pw_gid;
    }
    return 0;
}

/* Chooses pg->dir: TMPDIR_LAB/pg when the server's user can use it, else a
 * new directory in /tmp (a TMPDIR only root can enter). */
static int make_dir(struct pgtmp *pg, const char *tmpdir, char *err, size_t errlen)
{
    snprintf(pg->dir, sizeof(pg->dir), "%s/pg", tmpdir);
    if (mkdir(pg->dir, 0700) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", pg->dir, strerror(errno));
        pg->dir[0] = 0;
        return -1;
    }
    if (!pg->drop)
        return 0;
    if (chown(pg->dir, pg->uid, pg->gid) < 0) {
        snprintf(err, errlen, "cannot hand %s to the postgres user: %s", pg->dir, strerror(errno));
        return -1;
    }
    if (sys_user_can_use_dir(pg->dir, pg->uid, pg->gid))
        return 0;
    log_debug("the postgres user cannot reach %s; its data goes under /tmp", pg->dir);
    rmdir(pg->dir);
    snprintf(pg->dir, sizeof(pg->dir), "/tmp/edgebench-pg.XXXXXX");
    if (!mkdtemp(pg->dir)) {
        snprintf(err, errlen,
                 "the postgres user cannot reach %s/pg and /tmp is not usable either (%s): set "
                 "TMPDIR to a directory the postgres user can enter",
                 tmpdir, strerror(errno));
        pg->dir[0] = 0;
        return -1;
    }
    pg->own_dir = true;
    if (chown(pg->dir, pg->uid, pg->gid) < 0 || !sys_user_can_use_dir(pg->dir, pg->uid, pg->gid)) {
        snprintf(err, errlen,
                 "the postgres user can use neither %s/pg nor %s: set TMPDIR to a directory it "
                 "can enter",
                 tmpdir, pg->dir);
        return -1;
    }
    return 0;
}

/* Waits for a one-shot child; -1 when it failed or the lab was interrupted. */
static int wait_exit(struct supervisor *sup, struct child *c, char *err, size_t errlen)
{
    for (;;) {
        struct child *which = NULL;
        enum sup_event ev = sup_wait(sup, -1, -1, &which);
        if (ev == SUP_SIGNAL) {
            snprintf(err, errlen, "interrupted");
            return -1;
        }
        if (ev == SUP_ERROR) {
            snprintf(err, errlen, "waiting for %s: %s", c->name, strerror(errno));
            return -1;
        }
        if (ev == SUP_CHILD_EXIT && which == c) {
            if (child_succeeded(c))
                return 0;
            char how[96];
            child_describe_exit(c, how, sizeof(how));
            snprintf(err, errlen, "%s %s", c->name, how);
            return -1;
        }
    }
}

static int run_initdb(struct pgtmp *pg, struct supervisor *sup, const char *logdir, char *err,
                      size_t errlen)
{
    char prog[PATH_MAX], data[PATH_MAX], log[PATH_MAX];
    if (sys_path(prog, sizeof(prog), pg->bindir, "initdb") < 0 ||
        sys_path(data, sizeof(data), pg->dir, "data") < 0 ||
        sys_path(log, sizeof(log), logdir, "initdb.log") < 0) {
        snprintf(err, errlen, "initdb: a path is too long");
        return -1;
    }
    char *argv[] = {prog,       "-D", data,   "-A",         "trust",     "-U",
                    "postgres", "-E", "UTF8", "--locale=C", "--no-sync", NULL};
    char *env[] = {"LC_ALL=C", "PGDATA", "PGPORT", "PGHOST", NULL};
    struct spawn_opts o = {.argv = argv,
                           .env = env,
                           .log_path = log,
                           .cwd = pg->dir,
                           .drop_privileges = pg->drop,
                           .uid = pg->uid,
                           .gid = pg->gid};
    snprintf(pg->initdb.name, sizeof(pg->initdb.name), "initdb");
    if (sup_spawn(sup, &pg->initdb, &o, err, errlen) < 0)
        return -1;
    return wait_exit(sup, &pg->initdb, err, errlen);
}

static int spawn_postmaster(struct pgtmp *pg, struct supervisor *sup, const char *log, char *err,
                            size_t errlen)
{
    char prog[PATH_MAX], data[PATH_MAX], port[8];
    if (sys_path(prog, sizeof(prog), pg->bindir, "postgres") < 0 ||
        sys_path(data, sizeof(data), pg->dir, "data") < 0) {
        snprintf(err, errlen, "postgres: a path is too long");
        return -1;
    }
    snprintf(port, sizeof(port), "%u", pg->port);
    char listen[128];
    snprintf(listen, sizeof(listen), "listen_addresses=127.0.0.1%s%s",
             pg->extra_listen[0] ? "," : "", pg->extra_listen);
    char *argv[] = {prog,
                    "-D",
                    data,
                    "-p",
                    port,
                    "-k",
                    pg->dir,
                    "-c",
                    listen,
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=300",
                    NULL};
    char *env[] = {"LC_ALL=C", NULL};
    struct spawn_opts o = {.argv = argv,
                           .env = env,
                           .log_path = log,
                           .cwd = pg->dir,
                           .drop_privileges = pg->drop,
                           .uid = pg->uid,
                           .gid = pg->gid,
                           .death_signal = SIGQUIT,
                           .stop_signal = SIGQUIT};
    snprintf(pg->postmaster.name, sizeof(pg->postmaster.name), "postgres");
    return sup_spawn(sup, &pg->postmaster, &o, err, errlen);
}

static bool log_says_port_taken(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return false;
    char line[1024];
    bool taken = false;
    while (!taken && fgets(line, sizeof(line), f))
        taken = strstr(line, "Address already in use") || strstr(line, "could not bind");
    fclose(f);
    return taken;
}

static PGPing ping(const struct pgtmp *pg)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", pg->port);
    const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *vals[] = {pg->dir, port, "postgres", "postgres", "2", NULL};
    return PQpingParams(keys, vals, 0);
}

/* 0 ready; 1 it exited because the port was taken; -1 failure. */
static int wait_ready(struct pgtmp *pg, struct supervisor *sup, const char *log, char *err,
                      size_t errlen)
{
    for (int waited = 0; waited < PG_READY_TIMEOUT_MS; waited += 50) {
        if (ping(pg) == PQPING_OK)
            return 0;
        struct child *which = NULL;
        enum sup_event ev = sup_wait(sup, 50, -1, &which);
        if (ev == SUP_SIGNAL) {
            snprintf(err, errlen, "interrupted");
            return -1;
        }
        if (ev == SUP_CHILD_EXIT && which == &pg->postmaster) {
            if (log_says_port_taken(log))
                return 1;
            char how[96];
            child_describe_exit(&pg->postmaster, how, sizeof(how));
            snprintf(err, errlen, "PostgreSQL %s while starting", how);
            return -1;
        }
    }
    snprintf(err, errlen, "PostgreSQL did not accept connections within %d s (see %s)",
             PG_READY_TIMEOUT_MS / 1000, log);
    return -1;
}

/* Trusts one more client prefix (the WireGuard hub's end of its link). */
static int allow_client(struct pgtmp *pg, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/data/pg_hba.conf", pg->dir) >= (int)sizeof(path)) {
        snprintf(err, errlen, "pg_hba.conf: path too long");
        return -1;
    }
    FILE *f = fopen(path, "a");
    if (!f || fprintf(f, "host all all %s trust\n", pg->extra_client) < 0 || fclose(f) != 0) {
        snprintf(err, errlen, "cannot add the overlay's client to %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int pgtmp_start(struct pgtmp *pg, struct supervisor *sup, const char *tmpdir, const char *logdir,
                char *err, size_t errlen)
{
    if (make_dir(pg, tmpdir, err, errlen) < 0)
        return -1;
    /* The unix socket path must fit in sun_path (108 bytes). */
    if (strlen(pg->dir) + sizeof("/.s.PGSQL.65535") > 107) {
        snprintf(err, errlen,
                 "the directory %s is too long for a unix socket path; set TMPDIR to a shorter "
                 "directory",
                 pg->dir);
        return -1;
    }
    log_debug("initdb into %s/data with %s", pg->dir, pg->bindir);
    if (run_initdb(pg, sup, logdir, err, errlen) < 0)
        return -1;
    if (pg->extra_client[0] && allow_client(pg, err, errlen) < 0)
        return -1;
    char log[PATH_MAX];
    for (int attempt = 1; attempt <= PG_START_TRIES; attempt++) {
        int fd = -1;
        if (attempt == 1)
            snprintf(log, sizeof(log), "%s/postgres.log", logdir);
        else
            snprintf(log, sizeof(log), "%s/postgres-%d.log", logdir, attempt);
        if (sys_reserve_port(&pg->port, &fd) < 0) {
            snprintf(err, errlen, "no free TCP port on 127.0.0.1: %s", strerror(errno));
            return -1;
        }
        close(fd);
        if (spawn_postmaster(pg, sup, log, err, errlen) < 0)
            return -1;
        int r = wait_ready(pg, sup, log, err, errlen);
        if (r <= 0)
            return r;
        log_debug("port %u was taken before PostgreSQL bound it; trying another", pg->port);
    }
    snprintf(err, errlen, "PostgreSQL could not bind a free port in %d attempts", PG_START_TRIES);
    return -1;
}

int pgtmp_create_database(struct pgtmp *pg, const char *name, char *err, size_t errlen)
{
    int rc = -1;
    char port[8];
    snprintf(port, sizeof(port), "%u", pg->port);
    const char *keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
    const char *vals[] = {pg->dir, port, "postgres", "postgres", "10", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 0);
    PGresult *res = NULL;
    char *ident = NULL;
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the lab's PostgreSQL: %s", PQerrorMessage(conn));
        goto cleanup;
    }
    ident = PQescapeIdentifier(conn, name, strlen(name));
    char sql[256];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", ident ? ident : "\"?\"");
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "CREATE DATABASE %s: %s", name, PQresultErrorMessage(res));
        goto cleanup;
    }
    rc = 0;
cleanup:
    PQfreemem(ident);
    PQclear(res);
    PQfinish(conn);
    /* libpq messages end with a newline */
    size_t n = strlen(err);
    while (rc < 0 && n > 0 && err[n - 1] == '\n')
        err[--n] = 0;
    return rc;
}

void pgtmp_stop(struct pgtmp *pg, struct supervisor *sup)
{
    if (!pg)
        return;
    sup_stop(sup, &pg->initdb, 2000);
    sup_stop(sup, &pg->postmaster, 10000);
    if (pg->own_dir && pg->dir[0]) {
        if (sys_remove_tree(pg->dir) < 0)
            log_warn("could not remove %s: %s", pg->dir, strerror(errno));
        pg->dir[0] = 0;
    }
}
