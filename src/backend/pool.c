#include "backend/pool.h"

#include "backend/pgconn.h"
#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
    struct pool *pool;
    pthread_t thread;
    bool started;
    atomic_bool running; /* inside bench_run: a cancel has a query to stop */
    struct bench_conn bc;
};

struct pool {
    const struct backend_config *cfg;
    pthread_mutex_t lock;
    pthread_cond_t bench_cond, health_cond;
    struct job *bench_head, *bench_tail;
    struct job *health_head;
    size_t busy; /* benchmarks queued or running */
    bool stop;
    atomic_bool abort;
    atomic_int db_up;
    size_t nworkers;
    struct worker *workers;
    struct worker health;
};

static void finish_job(struct job *j)
{
    event_active(j->done, 0, 0);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->pool;
    char err[256];
    /* connect ahead of the first request; failures are retried at that request */
    if (config_db_enabled(p->cfg) && bench_conn_ensure(&w->bc, p->cfg, err, sizeof(err)) < 0)
        log_debug("worker: %s", err);
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->stop && !p->bench_head)
            pthread_cond_wait(&p->bench_cond, &p->lock);
        struct job *j = p->bench_head;
        if (!j) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        p->bench_head = j->next;
        if (!p->bench_head)
            p->bench_tail = NULL;
        pthread_mutex_unlock(&p->lock);

        atomic_store(&w->running, true);
        if (bench_run(&w->bc, p->cfg, &j->params, &p->abort, &j->result) == 0)
            j->body = bench_result_json(&j->result, p->cfg, &j->status);
        atomic_store(&w->running, false);
        if (!j->body) {
            j->status = 500;
            j->body = strdup("{\"error\":\"out of memory\"}");
        }
        pthread_mutex_lock(&p->lock);
        p->busy--;
        pthread_mutex_unlock(&p->lock);
        finish_job(j);
    }
    return NULL;
}

/* --- health --------------------------------------------------------------- */

struct probe {
    bool ok;
    double ms;
    char message[256];
    char server_version[32];
};

static void probe_once(struct pool *p, struct bench_conn *bc, struct probe *out)
{
    memset(out, 0, sizeof(*out));
    for (int attempt = 0; attempt < 2; attempt++) {
        bc->last_attempt_ns = 0; /* the probe always tries for real */
        if (bench_conn_ensure(bc, p->cfg, out->message, sizeof(out->message)) < 0)
            return;
        uint64_t t0 = clock_now_ns();
        PGresult *r = PQexec(bc->conn, "SELECT 1");
        uint64_t t1 = clock_now_ns();
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        if (ok) {
            out->ok = true;
            out->ms = clock_ns_to_ms(t1 - t0);
            out->message[0] = 0;
            pgconn_server_version(bc->conn, out->server_version, sizeof(out->server_version));
            return;
        }
        pgconn_one_line(PQerrorMessage(bc->conn), out->message, sizeof(out->message));
        if (PQstatus(bc->conn) == CONNECTION_OK)
            return; /* connected but the query failed: report it */
    }
}

static char *health_json(const struct pool *p, const struct probe *pr)
{
    char host[256];
    config_db_host(p->cfg, host, sizeof(host));
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "region", json_string(p->cfg->region ? p->cfg->region : "local"));
    json_object_set_new(o, "db_host", json_string(host));
    json_object_set_new(o, "status", json_string(pr->ok ? "connected" : "error"));
    if (pr->ok) {
        json_object_set_new(o, "latency_ms", json_real(round(pr->ms * 1000.0) / 1000.0));
        json_object_set_new(o, "server_version", json_string(pr->server_version));
    } else {
        json_object_set_new(o, "message",
                            json_string(pr->message[0] ? pr->message : "database unreachable"));
        json_object_set_new(o, "latency_ms", json_null());
    }
    char *s = json_dumps(o, JSON_REAL_PRECISION(12));
    json_decref(o);
    return s;
}

static void *health_main(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->pool;
    double backoff_s = 1;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next); /* first probe now */
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->stop && !p->health_head) {
            if (pthread_cond_timedwait(&p->health_cond, &p->lock, &next) == ETIMEDOUT)
                break;
        }
        struct job *jobs = p->health_head;
        p->health_head = NULL;
        bool stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (stop && !jobs)
            break;

        struct probe pr;
        if (!config_db_enabled(p->cfg) && !jobs) {
            next.tv_sec += 3600; /* nothing to probe */
            continue;
        }
        if (stop) {
            memset(&pr, 0, sizeof(pr));
            snprintf(pr.message, sizeof(pr.message), "the backend is shutting down");
        } else {
            probe_once(p, &w->bc, &pr);
        }
        int was = atomic_exchange(&p->db_up, pr.ok ? 1 : 0);
        if (was != (pr.ok ? 1 : 0) && !stop) {
            if (pr.ok)
                log_info("database reachable (probe %.3f ms)", pr.ms);
            else
                log_warn("database unreachable: %s", pr.message);
        }
        backoff_s = pr.ok ? 1 : fmin(backoff_s * 2, 30);
        clock_gettime(CLOCK_MONOTONIC, &next);
        next.tv_sec += pr.ok ? 10 : (time_t)backoff_s;

        /* one probe answers every request that was waiting for it */
        char *body = health_json(p, &pr);
        while (jobs) {
            struct job *j = jobs;
            jobs = j->next;
            j->status = 200; /* as the seed: the state is in the body */
            j->body = body ? strdup(body) : NULL;
            if (!j->body) {
                j->status = 500;
                j->body = strdup("{\"error\":\"out of memory\"}");
            }
            finish_job(j);
        }
        free(body);
    }
    return NULL;
}

/* --- pool ---------------------------------------------------------------- */

struct pool *pool_new(const struct backend_config *cfg)
{
    struct pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cfg = cfg;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->health_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&p->bench_cond, NULL);
    atomic_init(&p->abort, false);
    atomic_init(&p->db_up, -1);
    p->nworkers = (size_t)cfg->max_bench;
    p->workers = calloc(p->nworkers, sizeof(*p->workers));
    if (!p->workers)
        goto fail;
    bench_conn_init(&p->health.bc);
    p->health.pool = p;
    for (size_t i = 0; i < p->nworkers; i++) {
        bench_conn_init(&p->workers[i].bc);
        p->workers[i].pool = p;
    }
    /* signals go to the event loop's thread, never to a worker */
    sigset_t block, old;
    sigfillset(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    bool ok = pthread_create(&p->health.thread, NULL, health_main, &p->health) == 0;
    p->health.started = ok;
    for (size_t i = 0; ok && i < p->nworkers; i++) {
        ok = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) == 0;
        p->workers[i].started = ok;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ok)
        return p;
fail:
    pool_free(p);
    return NULL;
}

bool pool_submit_bench(struct pool *p, struct job *j)
{
    pthread_mutex_lock(&p->lock);
    if (p->stop || p->busy >= p->nworkers) {
        pthread_mutex_unlock(&p->lock);
        return false;
    }
    p->busy++;
    j->next = NULL;
    if (p->bench_tail)
        p->bench_tail->next = j;
    else
        p->bench_head = j;
    p->bench_tail = j;
    pthread_cond_signal(&p->bench_cond);
    pthread_mutex_unlock(&p->lock);
    return true;
}

void pool_submit_health(struct pool *p, struct job *j)
{
    pthread_mutex_lock(&p->lock);
    j->next = p->health_head;
    p->health_head = j;
    pthread_cond_signal(&p->health_cond);
    pthread_mutex_unlock(&p->lock);
}

int pool_db_up(struct pool *p)
{
    return atomic_load(&p->db_up);
}

size_t pool_busy(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->busy;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void pool_abort(struct pool *p)
{
    atomic_store(&p->abort, true);
    /* only workers inside a benchmark: a cancel request is a new connection
     * to the server, a few round trips that an idle worker need not pay (on
     * a 380 ms link that made every shutdown take seconds); a worker that is
     * about to start sees the abort flag between operations */
    for (size_t i = 0; i < p->nworkers; i++)
        if (p->workers[i].started && atomic_load(&p->workers[i].running))
            bench_conn_cancel(&p->workers[i].bc);
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->bench_cond);
    pthread_cond_broadcast(&p->health_cond);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; p->workers && i < p->nworkers; i++) {
        if (p->workers[i].started)
            pthread_join(p->workers[i].thread, NULL);
        bench_conn_close(&p->workers[i].bc);
    }
    if (p->health.started)
        pthread_join(p->health.thread, NULL);
    bench_conn_close(&p->health.bc);
    free(p->workers);
    pthread_cond_destroy(&p->bench_cond);
    pthread_cond_destroy(&p->health_cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
