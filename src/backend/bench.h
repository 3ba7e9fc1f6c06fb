/* One benchmark on one connection, run on a worker thread: warm-up (inside a
 * rolled-back transaction, so exactly `iterations` rows are inserted), then
 * rtt, read and insert operations timed around the libpq call only. A failed
 * operation is counted with its message and is never a latency. */
#ifndef EB_BACKEND_BENCH_H
#define EB_BACKEND_BENCH_H

#include "backend/config.h"
#include "backend/query.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum bench_op { OP_READ, OP_INSERT, OP_RTT, OP_COUNT };

struct op_samples {
    double *ms; /* successful samples, in order */
    size_t n, cap;
    long errors;
    char first_error[256]; /* "" when none */
};

/* A worker's own connection. Only its worker uses conn; bench_conn_cancel may
 * be called from any thread. */
struct bench_conn {
    PGconn *conn;
    bool prepared; /* named statements exist on conn */
    uint64_t last_attempt_ns;
    char last_error[256];
    pthread_mutex_t lock; /* guards cancel */
    PGcancel *cancel;
};

struct bench_result {
    struct bench_params params;
    struct op_samples op[OP_COUNT];
    char server_version[32];
    bool tls;
    char tls_protocol[32];
    long pk_id;
    double elapsed_ms;
    char timestamp[32];
};

void bench_conn_init(struct bench_conn *bc);
void bench_conn_close(struct bench_conn *bc);
/* Connects, or resets a broken connection; at most one attempt per 500 ms
 * (in between, the last error is returned). 0, or -1 with err. */
int bench_conn_ensure(struct bench_conn *bc, const struct backend_config *cfg, char *err,
                      size_t errlen);
/* Asks the server to cancel the statement in progress (any thread). */
void bench_conn_cancel(struct bench_conn *bc);

/* Runs the benchmark. abort (may be NULL) stops it between operations; the
 * remaining operations are counted as errors. Returns 0, -1 when out of memory. */
int bench_run(struct bench_conn *bc, const struct backend_config *cfg, const struct bench_params *p,
              const atomic_bool *abort, struct bench_result *out);
void bench_result_free(struct bench_result *r);

/* The response body (JSON, see CONTRACTS.md section 1) and its HTTP status
 * (200, or 502 when every operation failed). NULL when out of memory. */
char *bench_result_json(const struct bench_result *r, const struct backend_config *cfg,
                        int *status);

const char *bench_op_name(enum bench_op op);

#endif
