/* Worker threads: EDGEBENCH_MAX_BENCH benchmark workers, each with its own
 * libpq connection, and one health thread with its own connection that also
 * retries in the background with backoff. The event loop never waits on the
 * database: it submits a job and gets it back through the job's `done` event,
 * which the worker activates (event_active) once the result is ready.
 *
 * Ownership: the loop owns a job before submit and again from the moment its
 * done callback runs; in between only the pool touches it. */
#ifndef EB_BACKEND_POOL_H
#define EB_BACKEND_POOL_H

#include "backend/bench.h"
#include "backend/config.h"
#include "backend/query.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

enum job_kind { JOB_BENCH, JOB_HEALTH };

struct job {
    enum job_kind kind;
    struct bench_params params; /* JOB_BENCH */
    struct event *done;         /* activated by the pool when status/body are set */
    void *request;              /* the loop's request (opaque to the pool) */
    void *server;               /* the loop's server (opaque to the pool) */
    uint64_t start_ns;
    int endpoint;
    /* results */
    int status;
    char *body; /* malloc'd JSON */
    struct bench_result result;
    struct job *next;
};

struct pool;

/* Starts the threads. NULL on failure. cfg must outlive the pool. */
struct pool *pool_new(const struct backend_config *cfg);
/* Queues a benchmark; false when every worker is busy (answer 429). */
bool pool_submit_bench(struct pool *p, struct job *j);
/* Queues a health probe (always accepted). */
void pool_submit_health(struct pool *p, struct job *j);
/* 1 database up, 0 down, -1 not yet known (last probe's result). */
int pool_db_up(struct pool *p);
size_t pool_busy(struct pool *p);
/* Stops benchmarks between operations and cancels statements in progress. */
void pool_abort(struct pool *p);
/* Stops and joins every thread; queued jobs are answered first. */
void pool_free(struct pool *p);

#endif
