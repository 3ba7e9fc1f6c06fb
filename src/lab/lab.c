/* `edgebench lab`: PostgreSQL, WAN links, one backend per region and the
 * collector, as supervised child processes of this binary; the ranked table
 * on stdout; everything torn down at the end, on a signal, or when one of
 * them dies. */
#include "lab/lab.h"

#include "core/csv.h"
#include "core/log.h"
#include "lab/dburl.h"
#include "lab/links.h"
#include "lab/options.h"
#include "lab/pgtmp.h"
#include "lab/proxycheck.h"
#include "lab/supervise.h"
#include "lab/sys.h"
#include "netlab/labwg.h"
#include "netlab/nlcli.h"

#include <curl/curl.h>
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The children run this very binary. */
#define SELF_EXE "/proc/self/exe"
#define LAB_DB_NAME "contacts"
#define HEALTH_TIMEOUT_MS 30000
#define STOP_GRACE_MS 5000
#define COLLECTOR_TERM_MS 500
#define BACKEND_TERM_MS 300
#define BACKEND_ABORT_MS 400

struct lab {
    struct lab_options opt;
    struct lab_plan plan;
    struct supervisor sup;
    bool sup_ready;
    char tmpdir[PATH_MAX]; /* removed at the end unless --keep */
    char logdir[PATH_MAX];
    char out[PATH_MAX];
    bool out_created; /* the lab made --out: removed at exit if still empty */
    char targets[PATH_MAX];
    char token[65]; /* the backends' EDGEBENCH_TOKEN: only the collector can ask them */
    bool have_pg;
    struct pgtmp pg;
    struct lab_db_endpoint db;
    bool have_links;
    struct links links;
    struct lab_link link[PROFILE_MAX];
    struct child backend[PROFILE_MAX];
    struct child dbinit, collector;
    struct lab_proxy proxy;            /* --proxy */
    char db_url_backend[2048];         /* --db: DATABASE_URL for the backends */
    char pg_listen[64], pg_client[64]; /* wireguard: PostgreSQL's address on the hub's link */
    char err[2 * PATH_MAX + 1024];
};

/* Reports why a step failed: the signal, the component that died (with the
 * tail of its log), or the message. Returns the exit status. */
static int report_failure(struct lab *lab, struct child *died)
{
    if (lab->sup.signal) {
        log_warn("interrupted by signal %d (%s); stopping everything", lab->sup.signal,
                 strsignal(lab->sup.signal));
        return 128 + lab->sup.signal;
    }
    if (died && died == &lab->dbinit && lab->opt.db_url && !died->running &&
        WIFEXITED(died->status)) {
        /* Its advice names DATABASE_URL, DB_HOST and DB_PORT: the lab set
         * them from --db, so say --db. */
        log_error("--db: cannot use the database at %s port %u: `edgebench db init` failed "
                  "there (the lab passed --db to it as DATABASE_URL: where its advice says "
                  "DATABASE_URL, DB_HOST or DB_PORT, read --db); its output:",
                  lab->db.host, lab->db.port);
        child_print_log_tail(died, stderr, 15);
        return 1;
    }
    if (died) {
        char how[96];
        child_describe_exit(died, how, sizeof(how));
        log_error("%s %s; stopping everything", died->name, how);
        child_print_log_tail(died, stderr, 15);
        return 1;
    }
    log_error("%s", lab->err);
    return 1;
}

static int make_tmpdir(struct lab *lab)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(lab->tmpdir, sizeof(lab->tmpdir), "%s/edgebench-lab.XXXXXX", base);
    if (!mkdtemp(lab->tmpdir)) {
        snprintf(lab->err, sizeof(lab->err),
                 "cannot create a temporary directory in %s: %s (set TMPDIR to a writable "
                 "directory)",
                 base, strerror(errno));
        lab->tmpdir[0] = 0;
        return -1;
    }
    /* Root: the postgres user must pass through to pg/ (it cannot list). */
    if (geteuid() == 0 && chmod(lab->tmpdir, 0711) < 0) {
        snprintf(lab->err, sizeof(lab->err), "chmod %s: %s", lab->tmpdir, strerror(errno));
        return -1;
    }
    if (sys_path(lab->logdir, sizeof(lab->logdir), lab->tmpdir, "logs") < 0 ||
        mkdir(lab->logdir, 0700) < 0) {
        snprintf(lab->err, sizeof(lab->err), "cannot create %s: %s", lab->logdir, strerror(errno));
        return -1;
    }
    return 0;
}

/* --out, or a new results-YYYYmmdd-HHMMSS[-N] in the current directory. */
static int choose_out(struct lab *lab)
{
    if (lab->opt.out) {
        snprintf(lab->out, sizeof(lab->out), "%s", lab->opt.out);
        return 0;
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    for (int n = 1; n < 100; n++) {
        if (n == 1)
            snprintf(lab->out, sizeof(lab->out), "results-%s", stamp);
        else
            snprintf(lab->out, sizeof(lab->out), "results-%s-%d", stamp, n);
        struct stat st;
        if (stat(lab->out, &st) < 0 && errno == ENOENT)
            return 0;
    }
    snprintf(lab->err, sizeof(lab->err), "results-%s-N: every name is taken; use --out DIR", stamp);
    return -1;
}

/* Creates the output directory (with its parents) and checks that a file
 * can be written in it, before anything starts: a bad --out is a usage
 * error found in a second, not after the benchmark. */
static int prepare_out(struct lab *lab)
{
    char path[PATH_MAX];
    struct stat st;
    const char *what = lab->opt.out ? "--out " : "";
    snprintf(path, sizeof(path), "%s", lab->out);
    if (stat(lab->out, &st) < 0) {
        for (char *p = path + 1; *p; p++) {
            if (*p != '/')
                continue;
            *p = 0;
            if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                snprintf(lab->err, sizeof(lab->err),
                         "%s%s: cannot create %s: %s (choose a writable directory)", what, lab->out,
                         path, strerror(errno));
                return -1;
            }
            *p = '/';
        }
        if (mkdir(lab->out, 0755) < 0 && errno != EEXIST) {
            snprintf(lab->err, sizeof(lab->err),
                     "%s%s: cannot create it: %s (choose a writable "
                     "directory)",
                     what, lab->out, strerror(errno));
            return -1;
        }
        lab->out_created = true;
        if (stat(lab->out, &st) < 0) {
            snprintf(lab->err, sizeof(lab->err), "%s%s: %s", what, lab->out, strerror(errno));
            return -1;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(lab->err, sizeof(lab->err),
                 "%s%s: exists and is not a directory (the results go in a directory)", what,
                 lab->out);
        return -1;
    }
    /* never overwrite an earlier run's results */
    static const char *const mine[] = {"results.json", "results.md", "results.csv", "results.svg",
                                       "report.html"};
    for (size_t i = 0; !lab->out_created && i < sizeof(mine) / sizeof(mine[0]); i++) {
        struct stat fst;
        if (sys_path(path, sizeof(path), lab->out, mine[i]) == 0 && stat(path, &fst) == 0) {
            snprintf(lab->err, sizeof(lab->err),
                     "%s%s: already holds results (%s); choose another directory, or move them "
                     "away first",
                     what, lab->out, mine[i]);
            return -1;
        }
    }
    if (sys_path(path, sizeof(path), lab->out, ".edgebench-probe.XXXXXX") < 0) {
        snprintf(lab->err, sizeof(lab->err), "%s%s: path too long", what, lab->out);
        return -1;
    }
    int fd = mkstemp(path);
    if (fd < 0) {
        snprintf(lab->err, sizeof(lab->err),
                 "%s%s: cannot write in it: %s (choose a writable directory)", what, lab->out,
                 strerror(errno));
        return -1;
    }
    close(fd);
    unlink(path);
    return 0;
}

/* Runs a one-shot component to completion. */
static int run_to_exit(struct lab *lab, struct child *c, const struct spawn_opts *o)
{
    if (sup_spawn(&lab->sup, c, o, lab->err, sizeof(lab->err)) < 0)
        return -1;
    for (;;) {
        struct child *which = NULL;
        enum sup_event ev = sup_wait(&lab->sup, -1, -1, &which);
        if (ev == SUP_SIGNAL)
            return -1;
        if (ev == SUP_ERROR) {
            snprintf(lab->err, sizeof(lab->err), "waiting for %s: %s", c->name, strerror(errno));
            return -1;
        }
        if (ev == SUP_CHILD_EXIT)
            return which == c && child_succeeded(c) ? 0 : -1;
    }
}

static int start_database(struct lab *lab)
{
    if (lab->opt.db_url) {
        if (dburl_endpoint(lab->opt.db_url, &lab->db, lab->err, sizeof(lab->err)) < 0)
            return -1;
        log_info("database: the existing server at %s port %u (--db)", lab->db.host, lab->db.port);
        return 0;
    }
    if (pgtmp_find(&lab->pg, lab->err, sizeof(lab->err)) < 0)
        return -1;
    snprintf(lab->pg.extra_listen, sizeof(lab->pg.extra_listen), "%s", lab->pg_listen);
    snprintf(lab->pg.extra_client, sizeof(lab->pg.extra_client), "%s", lab->pg_client);
    lab->have_pg = true;
    if (pgtmp_start(&lab->pg, &lab->sup, lab->tmpdir, lab->logdir, lab->err, sizeof(lab->err)) < 0)
        return -1;
    if (pgtmp_create_database(&lab->pg, LAB_DB_NAME, lab->err, sizeof(lab->err)) < 0)
        return -1;
    snprintf(lab->db.host, sizeof(lab->db.host), "127.0.0.1");
    lab->db.port = lab->pg.port;
    log_info("database: throwaway PostgreSQL %s on 127.0.0.1:%u, database \"%s\"%s", lab->pg.major,
             lab->pg.port, LAB_DB_NAME,
             lab->pg.drop ? "; the server runs as the postgres user (PostgreSQL refuses root)"
                          : "");
    return 0;
}

/* `edgebench db init` against the database directly (not through a link). */
static int init_schema(struct lab *lab)
{
    char log[PATH_MAX], port[8];
    if (sys_path(log, sizeof(log), lab->logdir, "db-init.log") < 0) {
        snprintf(lab->err, sizeof(lab->err), "%s: path too long", lab->logdir);
        return -1;
    }
    snprintf(port, sizeof(port), "%u", lab->db.port);
    char *argv[] = {SELF_EXE, "db", "init", NULL};
    char env_host[300], env_port[32], env_url[4096];
    char *env_tmp[] = {"DATABASE_URL",       env_host,         env_port,
                       "DB_USER=postgres",   "DB_PASSWORD",    "DB_NAME=" LAB_DB_NAME,
                       "DB_SSLMODE=disable", "DB_SSLROOTCERT", NULL};
    char *env_url_only[] = {env_url, NULL};
    snprintf(env_host, sizeof(env_host), "DB_HOST=%s", lab->db.host);
    snprintf(env_port, sizeof(env_port), "DB_PORT=%s", port);
    if (lab->opt.db_url)
        snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", lab->opt.db_url);
    struct spawn_opts o = {
        .argv = argv, .env = lab->opt.db_url ? env_url_only : env_tmp, .log_path = log};
    snprintf(lab->dbinit.name, sizeof(lab->dbinit.name), "db init");
    if (run_to_exit(lab, &lab->dbinit, &o) < 0)
        return -1;
    log_debug("schema ready (edgebench db init)");
    return 0;
}

static int start_backends(struct lab *lab)
{
    if (sys_random_hex(lab->token, sizeof(lab->token), 24) < 0) {
        snprintf(lab->err, sizeof(lab->err), "no random bytes for the backends' token");
        return -1;
    }
    for (size_t i = 0; i < lab->plan.n; i++) {
        const char *code = lab->plan.regions[i].region->code;
        const struct lab_link *k = &lab->link[i];
        struct child *c = &lab->backend[i];
        char log[PATH_MAX], region[40], alloc[40], port[24], host[96], dbport[24], token[100];
        char url[2100];
        char name[64];
        snprintf(name, sizeof(name), "backend-%s.log", code);
        if (sys_path(log, sizeof(log), lab->logdir, name) < 0) {
            snprintf(lab->err, sizeof(lab->err), "%s: path too long", lab->logdir);
            return -1;
        }
        snprintf(region, sizeof(region), "FLY_REGION=%s", code);
        snprintf(alloc, sizeof(alloc), "FLY_ALLOC_ID=lab-%s", code);
        snprintf(port, sizeof(port), "PORT=%u", k->port);
        snprintf(host, sizeof(host), "DB_HOST=%s", k->db_host);
        snprintf(dbport, sizeof(dbport), "DB_PORT=%u", k->db_port);
        snprintf(token, sizeof(token), "EDGEBENCH_TOKEN=%s", lab->token);
        char *listen = (char *)k->listen_addr;
        char *argv[] = {SELF_EXE, "backend", "--listen", listen, NULL};
        char *env_tmp[] = {region,
                           alloc,
                           port,
                           host,
                           dbport,
                           "DB_USER=postgres",
                           "DB_PASSWORD",
                           "DB_NAME=" LAB_DB_NAME,
                           "DB_SSLMODE=disable",
                           "DB_SSLROOTCERT",
                           "DATABASE_URL",
                           token,
                           NULL};
        char *env_url[] = {region,    alloc,         port,      url,          "DB_HOST", "DB_PORT",
                           "DB_USER", "DB_PASSWORD", "DB_NAME", "DB_SSLMODE", token,     NULL};
        if (lab->opt.db_url) {
            if (dburl_rewrite(lab->opt.db_url, k->db_host, k->db_port, lab->db_url_backend,
                              sizeof(lab->db_url_backend)) < 0) {
                snprintf(lab->err, sizeof(lab->err), "--db: the URL is too long to rewrite");
                return -1;
            }
            snprintf(url, sizeof(url), "DATABASE_URL=%s", lab->db_url_backend);
        }
        struct spawn_opts o = {.argv = argv,
                               .env = lab->opt.db_url ? env_url : env_tmp,
                               .log_path = log,
                               .netns = k->netns[0] ? k->netns : NULL};
        snprintf(c->name, sizeof(c->name), "backend[%s]", code);
        if (sup_spawn(&lab->sup, c, &o, lab->err, sizeof(lab->err)) < 0)
            return -1;
    }
    return 0;
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    (void)ptr;
    (void)user;
    return size * nmemb;
}

/* A GET URL/healthz for region i, added to multi. */
static CURL *health_handle(CURLM *multi, const char *base, size_t i)
{
    char url[200];
    CURL *curl = curl_easy_init();
    if (!curl)
        return NULL;
    snprintf(url, sizeof(url), "%s/healthz", base);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(curl, CURLOPT_PRIVATE, (void *)(uintptr_t)i);
    if (curl_multi_add_handle(multi, curl) != CURLM_OK) {
        curl_easy_cleanup(curl);
        return NULL;
    }
    return curl;
}

/* Every backend's /healthz at once (over WireGuard each check costs its
 * region's round trips: asking one after the other would add them up). */
static int wait_backends(struct lab *lab)
{
    int rc = -1;
    bool ok[PROFILE_MAX] = {false};
    CURL *inflight[PROFILE_MAX] = {NULL};
    size_t ready = 0;
    CURLM *multi = curl_multi_init();
    if (!multi) {
        snprintf(lab->err, sizeof(lab->err), "libcurl: cannot create a handle");
        goto cleanup;
    }
    for (int waited = 0; waited < HEALTH_TIMEOUT_MS; waited += 50) {
        for (size_t i = 0; i < lab->plan.n; i++)
            if (!ok[i] && !inflight[i])
                inflight[i] = health_handle(multi, lab->link[i].url, i);
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int queued;
        while ((m = curl_multi_info_read(multi, &queued))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            void *priv = NULL;
            long code = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            size_t i = (size_t)(uintptr_t)priv;
            if (m->data.result == CURLE_OK && code == 200 && !ok[i]) {
                ok[i] = true;
                ready++;
            }
            CURL *done = m->easy_handle;
            curl_multi_remove_handle(multi, done);
            curl_easy_cleanup(done);
            if (i < lab->plan.n)
                inflight[i] = NULL;
        }
        if (ready == lab->plan.n) {
            rc = 0;
            goto cleanup;
        }
        struct child *which = NULL;
        enum sup_event ev = sup_wait(&lab->sup, 50, -1, &which);
        if (ev == SUP_SIGNAL || ev == SUP_CHILD_EXIT)
            goto cleanup;
    }
    for (size_t i = 0; i < lab->plan.n; i++)
        if (!ok[i]) {
            snprintf(lab->err, sizeof(lab->err),
                     "%s did not answer %s/healthz within %d s; its log: %s", lab->backend[i].name,
                     lab->link[i].url, HEALTH_TIMEOUT_MS / 1000, lab->backend[i].log);
            child_print_log_tail(&lab->backend[i], stderr, 10);
            break;
        }
cleanup:
    for (size_t i = 0; i < lab->plan.n; i++)
        if (inflight[i]) {
            curl_multi_remove_handle(multi, inflight[i]);
            curl_easy_cleanup(inflight[i]);
        }
    if (multi)
        curl_multi_cleanup(multi);
    return rc;
}

/* Writes a CSV field and its separator. */
static void csv_field(FILE *f, const char *s, bool last)
{
    csv_write_field(f, s);
    fputc(last ? '\n' : ',', f);
}

static int write_targets(struct lab *lab)
{
    int rc = -1;
    int fd = sys_path(lab->targets, sizeof(lab->targets), lab->tmpdir, "targets.csv") < 0
                 ? -1
                 : open(lab->targets, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(lab->err, sizeof(lab->err), "cannot create %s: %s", lab->targets, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto cleanup;
    }
    fprintf(f, "region,url,location,flag,token,expected_rtt_ms\n");
    for (size_t i = 0; i < lab->plan.n; i++) {
        const struct region *r = lab->plan.regions[i].region;
        char rtt[32];
        snprintf(rtt, sizeof(rtt), "%.2f", lab->plan.regions[i].rtt_ms);
        csv_field(f, r->code, false);
        csv_field(f, lab->link[i].url, false);
        csv_field(f, r->city, false);
        csv_field(f, r->flag, false);
        csv_field(f, lab->token, false);
        csv_field(f, rtt, true);
    }
    if (fflush(f) != 0) {
        snprintf(lab->err, sizeof(lab->err), "cannot write %s: %s", lab->targets, strerror(errno));
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (f)
        fclose(f);
    return rc;
}

/* A generous per-request timeout for the collector: every operation of the
 * slowest region at up to 5 round trips, plus set-up. */
static long collector_timeout_s(const struct lab *lab)
{
    double max_rtt = 0;
    for (size_t i = 0; i < lab->plan.n; i++)
        max_rtt = fmax(max_rtt, lab->plan.regions[i].rtt_ms);
    long iterations = lab->opt.iterations ? lab->opt.iterations : 10;
    double ms = (double)(iterations + 21) * 3 * 5 * max_rtt + 20 * max_rtt;
    return 30 + (long)ceil(ms / 1000.0);
}

/* Runs `edgebench run` with stdout and stderr passed through; returns its
 * exit status, or -1 when it could not run or another component died. */
static int run_collector(struct lab *lab)
{
    char *argv[40];
    int n = 0;
    char meta_overlay[64], meta_site[64], meta_profile[96], meta_rtt[48], timeout[24];
    char iterations[24], rounds[24];
    snprintf(meta_overlay, sizeof(meta_overlay), "overlay=%s", lab_overlay_name(lab->opt.overlay));
    snprintf(meta_site, sizeof(meta_site), "db_site=%s", lab->plan.site->name);
    snprintf(meta_profile, sizeof(meta_profile), "profile=%s", lab->plan.profile_name);
    snprintf(timeout, sizeof(timeout), "%ld", collector_timeout_s(lab));
    argv[n++] = SELF_EXE;
    argv[n++] = "run";
    argv[n++] = "--targets";
    argv[n++] = lab->targets;
    argv[n++] = "--out";
    argv[n++] = lab->out;
    argv[n++] = "--timeout";
    argv[n++] = timeout;
    /* round trips per operation next to the model's RTT */
    argv[n++] = "--columns";
    argv[n++] = "rt";
    argv[n++] = "--meta";
    argv[n++] = meta_overlay;
    argv[n++] = "--meta";
    argv[n++] = meta_site;
    argv[n++] = "--meta";
    argv[n++] = meta_profile;
    /* where each link's RTT (the targets' expected_rtt_ms) came from */
    snprintf(meta_rtt, sizeof(meta_rtt), "rtt_source=%s",
             lab->opt.profile == LAB_PROFILE_SEED   ? "seed"
             : lab->opt.profile == LAB_PROFILE_FILE ? "file"
                                                    : "model");
    argv[n++] = "--meta";
    argv[n++] = meta_rtt;
    if (lab->opt.iterations) {
        snprintf(iterations, sizeof(iterations), "%ld", lab->opt.iterations);
        argv[n++] = "--iterations";
        argv[n++] = iterations;
    }
    if (lab->opt.rounds) {
        snprintf(rounds, sizeof(rounds), "%ld", lab->opt.rounds);
        argv[n++] = "--rounds";
        argv[n++] = rounds;
    }
    if (lab->opt.mode) {
        argv[n++] = "--mode";
        argv[n++] = (char *)lab->opt.mode;
    }
    if (lab->opt.read) {
        argv[n++] = "--read";
        argv[n++] = (char *)lab->opt.read;
    }
    argv[n] = NULL;
    struct spawn_opts o = {.argv = argv};
    snprintf(lab->collector.name, sizeof(lab->collector.name), "run");
    if (sup_spawn(&lab->sup, &lab->collector, &o, lab->err, sizeof(lab->err)) < 0)
        return -1;
    for (;;) {
        struct child *which = NULL;
        enum sup_event ev = sup_wait(&lab->sup, -1, -1, &which);
        if (ev == SUP_SIGNAL)
            return -1;
        if (ev == SUP_ERROR) {
            snprintf(lab->err, sizeof(lab->err), "waiting for the collector: %s", strerror(errno));
            return -1;
        }
        if (ev != SUP_CHILD_EXIT)
            continue;
        if (which != &lab->collector)
            return -1;
        if (WIFEXITED(lab->collector.status))
            return WEXITSTATUS(lab->collector.status);
        char how[96];
        child_describe_exit(&lab->collector, how, sizeof(how));
        snprintf(lab->err, sizeof(lab->err), "the collector (edgebench run) %s", how);
        return -1;
    }
}

/* After the collector exited 1: each failed region's error (from
 * results.json) and the tail of its backend's log. Returns how many regions
 * failed: 0 when the collector failed for another reason (it said which). */
static size_t explain_failed_regions(struct lab *lab)
{
    char path[PATH_MAX];
    size_t failed = 0;
    if (sys_path(path, sizeof(path), lab->out, "results.json") < 0)
        return 0;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    json_t *regions = json_object_get(root, "regions");
    size_t i;
    json_t *r;
    json_array_foreach(regions, i, r)
    {
        const char *code = json_string_value(json_object_get(r, "region"));
        const char *status = json_string_value(json_object_get(r, "status"));
        const char *error = json_string_value(json_object_get(r, "error"));
        if (!code || !status || !strcmp(status, "ok"))
            continue;
        failed++;
        log_error("region %s: %s%s%s", code, status, error ? ": " : "", error ? error : "");
        for (size_t k = 0; k < lab->plan.n; k++)
            if (!strcmp(lab->plan.regions[k].region->code, code))
                child_print_log_tail(&lab->backend[k], stderr, 5);
    }
    json_decref(root);
    return failed;
}

/* The collector, then the backends: SIGTERM lets a backend finish its
 * requests and close its database connections (over WireGuard while the
 * tunnels still carry them); a benchmark the collector left running would
 * hold it for its 5 s grace, so after BACKEND_TERM_MS a second SIGTERM
 * makes it abort that work (its documented second signal), and
 * BACKEND_ABORT_MS later SIGKILL: cancelling a query over a 380 ms link
 * takes seconds, and the links and the lab's PostgreSQL go next anyway
 * (killed sockets are closed by the kernel). */
static void stop_collector_and_backends(struct lab *lab)
{
    struct child *c[PROFILE_MAX];
    size_t n = 0;
    struct child *run = &lab->collector;
    if (!sup_signal_and_wait(&lab->sup, &run, 1, SIGTERM, COLLECTOR_TERM_MS)) {
        log_info("stopping: the collector did not exit within %d ms of SIGTERM; killing it",
                 COLLECTOR_TERM_MS);
        sup_stop(&lab->sup, run, 0);
    }
    for (size_t i = 0; i < lab->plan.n; i++)
        if (lab->backend[i].running)
            c[n++] = &lab->backend[i];
    /* Interrupted: what they are doing is not wanted; only long enough
     * for the first signal to be handled before the second. */
    int term_ms = lab->sup.signal ? 100 : BACKEND_TERM_MS;
    if (!n || sup_signal_and_wait(&lab->sup, c, n, SIGTERM, term_ms))
        return;
    log_info("stopping: backends still finishing requests after %d ms; asking them to abort "
             "(second SIGTERM) and close their database connections",
             term_ms);
    if (!sup_signal_and_wait(&lab->sup, c, n, SIGTERM, BACKEND_ABORT_MS))
        log_info("stopping: backends still cancelling their queries %d ms after the second "
                 "SIGTERM (a cancel costs round trips on a slow link); killing them",
                 BACKEND_ABORT_MS);
    for (size_t i = 0; i < n; i++)
        sup_stop(&lab->sup, c[i], 0);
}

static void teardown(struct lab *lab)
{
    if (!lab->sup_ready)
        return;
    /* Over WireGuard the backends go first, closing their database
     * connections while the tunnels still carry them; with loopback links
     * everything stops at once. */
    if (lab->opt.overlay == LAB_OVERLAY_WIREGUARD) {
        if (lab->sup.signal)
            log_info("stopping: the collector and the backends");
        stop_collector_and_backends(lab);
    }
    sup_stop_all(&lab->sup, STOP_GRACE_MS);
    if (lab->have_links && lab->sup.signal && lab->opt.overlay == LAB_OVERLAY_WIREGUARD)
        log_info("stopping: the WireGuard overlay (NAT rules, namespaces, interfaces)");
    if (lab->have_links)
        links_down(&lab->links, &lab->sup);
    if (lab->have_pg)
        pgtmp_stop(&lab->pg, &lab->sup);
    if (!lab->tmpdir[0])
        return;
    if (lab->opt.keep) {
        log_info("kept the temporary directory %s (logs in %s)", lab->tmpdir, lab->logdir);
        return;
    }
    if (sys_remove_tree(lab->tmpdir) < 0)
        log_warn("could not remove %s: %s", lab->tmpdir, strerror(errno));
}

static void describe_plan(const struct lab *lab)
{
    char line[2048];
    size_t off = 0;
    for (size_t i = 0; i < lab->plan.n && off < sizeof(line); i++)
        off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s %.1f", i ? ", " : "",
                                lab->plan.regions[i].region->code, lab->plan.regions[i].rtt_ms);
    log_info("%zu regions, RTT (ms) to %s (%s) from the %s profile: %s", lab->plan.n,
             lab->plan.site->name, lab->plan.site->city, lab->plan.profile_name, line);
}

/* --dry-run: the plan as a Markdown table. */
static void print_plan(const struct lab_plan *plan)
{
    printf("Regions and RTTs to %s (%s), profile %s:\n\n", plan->site->name, plan->site->city,
           plan->profile_name);
    printf("| Region | Location | Area | Distance (km) | k | RTT (ms) |\n");
    printf("|:------:|----------|:----:|--------------:|:---:|---------:|\n");
    for (size_t i = 0; i < plan->n; i++) {
        const struct region *r = plan->regions[i].region;
        double km = catalog_distance_km(r->lat, r->lon, plan->site->lat, plan->site->lon);
        printf("| %s | %s | %s | %.0f | %.1f | %.2f |\n", r->code, r->city, r->area, km,
               model_path_factor(r->area, plan->site->area), plan->regions[i].rtt_ms);
    }
    if (!strcmp(plan->profile_name, "seed"))
        printf("\nDistance and k are the model's; each RTT is the seed's published Read (its "
               "read_min_ms)\nless %.1f ms, RDS's own time for the query: the lab's server adds "
               "its own back.\n",
               MODEL_SEED_SERVER_MS);
    else if (strcmp(plan->profile_name, "model"))
        printf("\nDistance and k are the model's; the RTTs come from the %s profile.\n",
               plan->profile_name);
}

/* --overlay auto becomes wireguard when this machine can run it, else none;
 * either way the lab says which. -1 (usage, exit 2) or -2 (cannot, exit 1)
 * with a message for an explicit --overlay wireguard that cannot run. */
static int resolve_overlay(struct lab *lab)
{
    char why[512];
    const char *cannot = labwg_unsupported(why, sizeof(why));
    bool auto_chosen = false;
    if (lab->opt.overlay == LAB_OVERLAY_WIREGUARD) {
        if (lab->opt.db_url) {
            snprintf(lab->err, sizeof(lab->err),
                     "--overlay wireguard runs its own PostgreSQL behind the hub; it does not "
                     "take --db (use --overlay none with --db)");
            return -1;
        }
        if (cannot) {
            snprintf(lab->err, sizeof(lab->err), "--overlay wireguard: %s", cannot);
            return -2;
        }
    } else if (lab->opt.overlay == LAB_OVERLAY_AUTO) {
        auto_chosen = true;
        if (lab->opt.db_url) {
            lab->opt.overlay = LAB_OVERLAY_NONE;
            log_info("overlay: none (auto: --db is given; the WireGuard lab needs its own "
                     "database behind the hub)");
        } else if (cannot) {
            lab->opt.overlay = LAB_OVERLAY_NONE;
            log_info("overlay: none, loopback links (auto: %s)", cannot);
        } else {
            lab->opt.overlay = LAB_OVERLAY_WIREGUARD;
            log_info("overlay: wireguard (auto: root, /dev/net/tun and wireguard-go are here; "
                     "--overlay none for loopback links)");
        }
    }
    if (lab->opt.topology && lab->opt.overlay == LAB_OVERLAY_NONE) {
        snprintf(lab->err, sizeof(lab->err),
                 "--topology %s shapes the WireGuard overlay, but this lab runs with --overlay "
                 "none (loopback links, no overlay): drop --topology, or use --overlay wireguard",
                 lab->opt.topology);
        return -1;
    }
    if (!auto_chosen)
        log_info("overlay: %s", lab_overlay_name(lab->opt.overlay));
    return 0;
}

int lab_main(int argc, char **argv)
{
    static struct lab lab; /* large; one per process */
    int rc = 1, exit_status = 1;
    if (argc > 1 && !strcmp(argv[1], "cleanup"))
        return netlab_cleanup_main("edgebench lab cleanup", argc - 1, argv + 1);
    memset(&lab, 0, sizeof(lab));
    log_set_component("lab");
    int p = lab_options_parse(argc, argv, &lab.opt, lab.err, sizeof(lab.err));
    if (p == 1) {
        lab_options_usage(stdout);
        return 0;
    }
    if (p < 0) {
        fprintf(stderr, "edgebench lab: %s\n", lab.err);
        return 2;
    }
    if (lab.opt.verbose)
        log_set_level(LOG_LEVEL_DEBUG);
    if (lab_plan_build(&lab.opt, &lab.plan, lab.err, sizeof(lab.err)) < 0) {
        fprintf(stderr, "edgebench lab: %s\n", lab.err);
        return 2;
    }
    if (lab.opt.dry_run) {
        print_plan(&lab.plan);
        return 0;
    }
    if (lab.opt.db_url && dburl_endpoint(lab.opt.db_url, &lab.db, lab.err, sizeof(lab.err)) < 0) {
        fprintf(stderr, "edgebench lab: %s\n", lab.err);
        return 2;
    }
    if (choose_out(&lab) < 0) {
        fprintf(stderr, "edgebench lab: %s\n", lab.err);
        return 2;
    }
    int ro = resolve_overlay(&lab);
    if (ro < 0) {
        fprintf(stderr, "edgebench lab: %s\n", lab.err);
        return ro == -1 ? 2 : 1;
    }
    if (prepare_out(&lab) < 0) {
        fprintf(stderr, "edgebench lab: %s\n", lab.err);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "edgebench lab: libcurl failed to initialise\n");
        if (lab.out_created)
            rmdir(lab.out);
        return 1;
    }
    if (sup_init(&lab.sup) < 0) {
        fprintf(stderr, "edgebench lab: cannot set up signal handling: %s\n", strerror(errno));
        goto cleanup;
    }
    lab.sup_ready = true;
    describe_plan(&lab);
    if (make_tmpdir(&lab) < 0)
        goto fail;
    if (lab.opt.overlay == LAB_OVERLAY_WIREGUARD) {
        /* The namespaces first: PostgreSQL listens on the hub link's host end. */
        lab.have_links = true;
        if (links_prepare(&lab.links, &lab.sup, SELF_EXE, lab.tmpdir, &lab.plan, lab.opt.topology,
                          lab.opt.keep ? NULL : lab.tmpdir, lab.pg_listen, sizeof(lab.pg_listen),
                          lab.pg_client, sizeof(lab.pg_client), lab.err, sizeof(lab.err)) < 0)
            goto fail;
    }
    if (start_database(&lab) < 0 || init_schema(&lab) < 0)
        goto fail;
    lab.have_links = true;
    if (links_up(&lab.links, lab.opt.overlay, &lab.sup, SELF_EXE, lab.tmpdir, lab.logdir, &lab.db,
                 &lab.plan, lab.link, lab.err, sizeof(lab.err)) < 0)
        goto fail;
    log_info("%zu WAN links up (overlay %s)", lab.plan.n, lab_overlay_name(lab.opt.overlay));
    if (start_backends(&lab) < 0 || wait_backends(&lab) < 0)
        goto fail;
    log_info("%zu backends ready; running the collector", lab.plan.n);
    if (write_targets(&lab) < 0)
        goto fail;
    int status = run_collector(&lab);
    if (status < 0 || sup_interrupted(&lab.sup))
        goto fail;
    if (status == 0) {
        exit_status = 0;
    } else if (status == 1 && explain_failed_regions(&lab) > 0) {
        log_error("some regions failed; every component's log is in %s%s", lab.logdir,
                  lab.opt.keep ? "" : " (removed at exit: --keep keeps it)");
        exit_status = 1;
    } else if (status == 1) {
        log_error("the collector (edgebench run) exited with status 1 but no region failed: "
                  "its own message, above, says why");
        exit_status = 1;
    } else {
        log_error("the collector (edgebench run) exited with status %d", status);
        exit_status = 1;
    }
    if (lab.opt.proxy) {
        int pc = lab_proxy_check(&lab.proxy, &lab.sup, SELF_EXE, lab.tmpdir, lab.logdir, &lab.plan,
                                 lab.link, stdout, lab.err, sizeof(lab.err));
        if (pc < 0 || sup_interrupted(&lab.sup))
            goto fail;
        if (pc > 0) {
            log_error("geo-routing: some synthetic clients were not served by the nearest "
                      "region; the proxy's logs are in %s%s",
                      lab.logdir, lab.opt.keep ? "" : " (removed at exit: --keep keeps it)");
            exit_status = 1;
        }
    }
    rc = exit_status;
    goto done;
fail:
    rc = report_failure(&lab, lab.sup.signal ? NULL : sup_first_failure(&lab.sup));
done:
    teardown(&lab);
cleanup:
    if (lab.out_created)
        rmdir(lab.out); /* only when nothing was written there */
    sup_fini(&lab.sup);
    curl_global_cleanup();
    return rc;
}
