#include "backend/bench.h"

#include "backend/pgconn.h"
#include "core/clock.h"
#include "core/stats.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_INTERVAL_NS 500000000ull

static const char *const SQL_COUNT = "SELECT COUNT(*) FROM contacts";
static const char *const SQL_PK = "SELECT id, name, email, notes, created_at FROM contacts "
                                  "WHERE id = $1";
static const char *const SQL_INSERT = "INSERT INTO contacts (name, email, notes) "
                                      "VALUES ($1, $2, $3)";
static const char *const STMT_COUNT = "edgebench_count";
static const char *const STMT_PK = "edgebench_pk";
static const char *const STMT_INSERT = "edgebench_insert";

const char *bench_op_name(enum bench_op op)
{
    static const char *const names[] = {"read", "insert", "rtt"};
    return (unsigned)op < OP_COUNT ? names[op] : "?";
}

void bench_conn_init(struct bench_conn *bc)
{
    memset(bc, 0, sizeof(*bc));
    pthread_mutex_init(&bc->lock, NULL);
}

static void set_cancel(struct bench_conn *bc)
{
    PGcancel *fresh = bc->conn ? PQgetCancel(bc->conn) : NULL;
    pthread_mutex_lock(&bc->lock);
    PGcancel *old = bc->cancel;
    bc->cancel = fresh;
    pthread_mutex_unlock(&bc->lock);
    if (old)
        PQfreeCancel(old);
}

void bench_conn_close(struct bench_conn *bc)
{
    if (!bc)
        return;
    if (bc->conn)
        PQfinish(bc->conn);
    bc->conn = NULL;
    set_cancel(bc);
    pthread_mutex_destroy(&bc->lock);
}

void bench_conn_cancel(struct bench_conn *bc)
{
    char buf[256];
    pthread_mutex_lock(&bc->lock);
    if (bc->cancel)
        PQcancel(bc->cancel, buf, sizeof(buf));
    pthread_mutex_unlock(&bc->lock);
}

int bench_conn_ensure(struct bench_conn *bc, const struct backend_config *cfg, char *err,
                      size_t errlen)
{
    if (bc->conn && PQstatus(bc->conn) == CONNECTION_OK)
        return 0;
    uint64_t now = clock_now_ns();
    if (bc->last_attempt_ns && now - bc->last_attempt_ns < RETRY_INTERVAL_NS && bc->last_error[0]) {
        snprintf(err, errlen, "%s", bc->last_error);
        return -1;
    }
    bc->last_attempt_ns = now;
    bc->prepared = false;
    char msg[200] = "";
    if (bc->conn) {
        PQreset(bc->conn);
        if (PQstatus(bc->conn) != CONNECTION_OK)
            pgconn_one_line(PQerrorMessage(bc->conn), msg, sizeof(msg));
        else if (pgconn_setup(bc->conn, cfg->statement_timeout_ms, msg, sizeof(msg)) < 0)
            PQfinish(bc->conn), bc->conn = NULL;
    } else {
        bc->conn =
            pgconn_open(cfg, "edgebench-backend", cfg->statement_timeout_ms, msg, sizeof(msg));
    }
    set_cancel(bc);
    if (bc->conn && PQstatus(bc->conn) == CONNECTION_OK) {
        bc->last_error[0] = 0;
        return 0;
    }
    snprintf(bc->last_error, sizeof(bc->last_error), "cannot connect to the database: %s",
             msg[0] ? msg : "unknown error");
    snprintf(err, errlen, "%s", bc->last_error);
    return -1;
}

/* --- one operation ---------------------------------------------------- */

struct op_args {
    const char *sql;  /* extended/compat2rtt/pipeline text */
    const char *stmt; /* prepared statement name */
    int nparams;
    const char *values[3];
    char *simple_sql; /* simple mode: literal-escaped statement (owned) */
    ExecStatusType want;
};

static int result_ok(PGresult *r, ExecStatusType want, PGconn *conn, char *err, size_t errlen)
{
    ExecStatusType st = PQresultStatus(r);
    if (r && st == want)
        return 0;
    const char *m = r ? PQresultErrorMessage(r) : "";
    if (!m || !*m)
        m = PQerrorMessage(conn);
    pgconn_one_line(m && *m ? m : PQresStatus(st), err, errlen);
    return -1;
}

static int run_pipeline(PGconn *conn, const struct op_args *a, char *err, size_t errlen)
{
    int rc = -1;
    bool got = false;
    if (!PQsendQueryParams(conn, a->sql, a->nparams, NULL, a->values, NULL, NULL, 0) ||
        !PQpipelineSync(conn) || PQflush(conn) < 0) {
        pgconn_one_line(PQerrorMessage(conn), err, errlen);
        return -1;
    }
    for (int nulls = 0; nulls < 2;) {
        PGresult *r = PQgetResult(conn);
        if (!r) {
            if (PQstatus(conn) == CONNECTION_BAD)
                break;
            nulls++;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (!got) {
            got = true;
            rc = result_ok(r, a->want, conn, err, errlen);
        }
        PQclear(r);
    }
    if (!got) {
        pgconn_one_line(PQerrorMessage(conn), err, errlen);
        if (!err[0])
            snprintf(err, errlen, "no result from the pipeline");
        rc = -1;
    }
    return rc;
}

/* Times one operation. 0 with *ms, or -1 with err. */
static int op_exec(PGconn *conn, enum bench_op op, enum bench_mode mode, const struct op_args *a,
                   double *ms, char *err, size_t errlen)
{
    PGresult *r = NULL;
    int rc;
    if (op == OP_RTT) {
        uint64_t t0 = clock_now_ns();
        r = PQexec(conn, "");
        uint64_t t1 = clock_now_ns();
        rc = result_ok(r, PGRES_EMPTY_QUERY, conn, err, errlen);
        PQclear(r);
        *ms = clock_ns_to_ms(t1 - t0);
        return rc;
    }
    if (mode == MODE_PIPELINE) {
        if (!PQenterPipelineMode(conn)) {
            pgconn_one_line(PQerrorMessage(conn), err, errlen);
            return -1;
        }
        uint64_t t0 = clock_now_ns();
        rc = run_pipeline(conn, a, err, errlen);
        uint64_t t1 = clock_now_ns();
        if (PQstatus(conn) == CONNECTION_OK && !PQexitPipelineMode(conn) && rc == 0) {
            pgconn_one_line(PQerrorMessage(conn), err, errlen);
            rc = -1;
        }
        *ms = clock_ns_to_ms(t1 - t0);
        return rc;
    }
    uint64_t t0 = 0, t1 = 0;
    switch (mode) {
    case MODE_SIMPLE:
        t0 = clock_now_ns();
        r = PQexec(conn, a->simple_sql);
        t1 = clock_now_ns();
        break;
    case MODE_EXTENDED:
        t0 = clock_now_ns();
        r = PQexecParams(conn, a->sql, a->nparams, NULL, a->values, NULL, NULL, 0);
        t1 = clock_now_ns();
        break;
    case MODE_PREPARED:
        t0 = clock_now_ns();
        r = PQexecPrepared(conn, a->stmt, a->nparams, a->values, NULL, NULL, 0);
        t1 = clock_now_ns();
        break;
    case MODE_COMPAT2RTT:
        /* What the seed's Go driver (lib/pq) did: a statement without
         * parameters (the seed's SELECT COUNT(*)) goes as one simple query;
         * one with parameters (its INSERT) is prepared unnamed, then
         * executed: two round trips. */
        t0 = clock_now_ns();
        if (a->nparams == 0) {
            r = PQexec(conn, a->sql);
        } else {
            r = PQprepare(conn, "", a->sql, a->nparams, NULL);
            if (PQresultStatus(r) == PGRES_COMMAND_OK) {
                PQclear(r);
                r = PQexecPrepared(conn, "", a->nparams, a->values, NULL, NULL, 0);
            }
        }
        t1 = clock_now_ns();
        break;
    case MODE_PIPELINE:
        break;
    }
    rc = result_ok(r, a->want, conn, err, errlen);
    PQclear(r);
    *ms = clock_ns_to_ms(t1 - t0);
    return rc;
}

/* --- the benchmark ---------------------------------------------------- */

static int samples_add(struct op_samples *s, double ms)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        double *p = realloc(s->ms, cap * sizeof(*p));
        if (!p)
            return -1;
        s->ms = p;
        s->cap = cap;
    }
    s->ms[s->n++] = ms;
    return 0;
}

static void samples_error(struct op_samples *s, const char *msg)
{
    if (!s)
        return;
    s->errors++;
    if (!s->first_error[0])
        snprintf(s->first_error, sizeof(s->first_error), "%s", msg && *msg ? msg : "failed");
}

static int prepare_named(PGconn *conn, char *err, size_t errlen)
{
    PGresult *r = PQprepare(conn, STMT_COUNT, SQL_COUNT, 0, NULL);
    int rc = result_ok(r, PGRES_COMMAND_OK, conn, err, errlen);
    PQclear(r);
    if (rc < 0)
        return -1;
    r = PQprepare(conn, STMT_PK, SQL_PK, 1, NULL);
    rc = result_ok(r, PGRES_COMMAND_OK, conn, err, errlen);
    PQclear(r);
    if (rc < 0)
        return -1;
    r = PQprepare(conn, STMT_INSERT, SQL_INSERT, 3, NULL);
    rc = result_ok(r, PGRES_COMMAND_OK, conn, err, errlen);
    PQclear(r);
    return rc;
}

struct run_state {
    struct bench_conn *bc;
    const struct backend_config *cfg;
    const struct bench_params *p;
    const atomic_bool *abort;
    uint64_t deadline_ns;
    long pk_id;
    char pk_text[24];
    enum read_kind prepared_read;
};

/* Builds the arguments of one operation (outside the timed section). */
static int build_args(struct run_state *st, enum bench_op op, long i, struct op_args *a, char *name,
                      char *email, char *notes, size_t len)
{
    memset(a, 0, sizeof(*a));
    PGconn *conn = st->bc->conn;
    const char *region = st->cfg->region ? st->cfg->region : "local";
    if (op == OP_READ && st->p->read == READ_COUNT) {
        a->sql = SQL_COUNT;
        a->want = PGRES_TUPLES_OK;
        if (st->p->mode == MODE_SIMPLE && !(a->simple_sql = strdup(SQL_COUNT)))
            return -1;
    } else if (op == OP_READ) {
        a->sql = SQL_PK;
        a->nparams = 1;
        a->values[0] = st->pk_text;
        a->want = PGRES_TUPLES_OK;
        if (st->p->mode == MODE_SIMPLE) {
            size_t n = strlen(SQL_PK) + 32;
            if (!(a->simple_sql = malloc(n)))
                return -1;
            snprintf(a->simple_sql, n,
                     "SELECT id, name, email, notes, created_at FROM contacts WHERE id = %ld",
                     st->pk_id);
        }
    } else if (op == OP_INSERT) {
        uint64_t ns = clock_now_ns();
        snprintf(name, len, "Bench-%s-%llu-%ld", region, (unsigned long long)ns, i);
        snprintf(email, len, "bench-%llu@test.local", (unsigned long long)ns);
        snprintf(notes, len, "edgebench:%s", region);
        a->sql = SQL_INSERT;
        a->nparams = 3;
        a->values[0] = name;
        a->values[1] = email;
        a->values[2] = notes;
        a->want = PGRES_COMMAND_OK;
        if (st->p->mode == MODE_SIMPLE) {
            char *l0 = PQescapeLiteral(conn, name, strlen(name));
            char *l1 = PQescapeLiteral(conn, email, strlen(email));
            char *l2 = PQescapeLiteral(conn, notes, strlen(notes));
            size_t n = strlen(SQL_INSERT) + (l0 ? strlen(l0) : 0) + (l1 ? strlen(l1) : 0) +
                       (l2 ? strlen(l2) : 0) + 16;
            if (l0 && l1 && l2 && (a->simple_sql = malloc(n)))
                snprintf(a->simple_sql, n,
                         "INSERT INTO contacts (name, email, notes) VALUES (%s, %s, %s)", l0, l1,
                         l2);
            PQfreemem(l0);
            PQfreemem(l1);
            PQfreemem(l2);
            if (!a->simple_sql)
                return -1;
        }
    }
    a->stmt = op == OP_INSERT ? STMT_INSERT : st->p->read == READ_PK ? STMT_PK : STMT_COUNT;
    return 0;
}

/* Runs one operation with every check around it; records into s (NULL for
 * warm-up). Returns -1 only when out of memory. */
static int run_one(struct run_state *st, enum bench_op op, long i, struct op_samples *s)
{
    char err[256] = "";
    char name[96], email[96], notes[96];
    struct op_args a;
    double ms = 0;
    int rc = 0;

    if (st->abort && atomic_load(st->abort)) {
        samples_error(s, "the backend is shutting down");
        return 0;
    }
    if (clock_now_ns() > st->deadline_ns) {
        snprintf(err, sizeof(err), "benchmark deadline of %ld ms exceeded",
                 st->cfg->bench_timeout_ms);
        samples_error(s, err);
        return 0;
    }
    if (!s) {
        /* warm-up runs only inside the transaction it began on this connection */
        PGconn *c = st->bc->conn;
        if (!c || PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) == PQTRANS_IDLE)
            return 0;
    }
    if (bench_conn_ensure(st->bc, st->cfg, err, sizeof(err)) < 0) {
        samples_error(s, err);
        return 0;
    }
    if (st->p->mode == MODE_PREPARED && !st->bc->prepared && op != OP_RTT) {
        if (prepare_named(st->bc->conn, err, sizeof(err)) < 0) {
            samples_error(s, err);
            return 0;
        }
        st->bc->prepared = true;
    }
    if (build_args(st, op, i, &a, name, email, notes, sizeof(name)) < 0)
        return -1;
    if (op_exec(st->bc->conn, op, st->p->mode, &a, &ms, err, sizeof(err)) == 0) {
        if (s && samples_add(s, ms) < 0)
            rc = -1;
    } else {
        samples_error(s, err);
    }
    free(a.simple_sql);
    return rc;
}

static void exec_untimed(PGconn *conn, const char *sql)
{
    PQclear(PQexec(conn, sql));
}

/* Outside the timing: checks the connection with one round trip (a broken
 * one is reset now rather than during the first timed operation) and reads
 * the key for read=pk. */
static void preflight(struct run_state *st)
{
    char err[256];
    /* A benchmark is a request: it always gets one real connection attempt,
     * even if the last one failed a moment ago (the database may have come
     * back since). The retry interval only spaces attempts within one run. */
    st->bc->last_attempt_ns = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (bench_conn_ensure(st->bc, st->cfg, err, sizeof(err)) < 0)
            return;
        PGconn *conn = st->bc->conn;
        PGresult *r =
            PQexec(conn, st->p->read == READ_PK ? "SELECT COALESCE(MAX(id), 1) FROM contacts" : "");
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_TUPLES_OK && PQntuples(r) == 1)
            st->pk_id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (PQstatus(conn) == CONNECTION_OK)
            return;
        st->bc->last_attempt_ns = 0; /* lost: retry right away */
    }
}

int bench_run(struct bench_conn *bc, const struct backend_config *cfg, const struct bench_params *p,
              const atomic_bool *abort, struct bench_result *out)
{
    uint64_t t_start = clock_now_ns();
    memset(out, 0, sizeof(*out));
    out->params = *p;
    struct run_state st = {.bc = bc, .cfg = cfg, .p = p, .abort = abort, .pk_id = 1};
    st.deadline_ns = t_start + (uint64_t)cfg->bench_timeout_ms * 1000000ull;

    preflight(&st);
    snprintf(st.pk_text, sizeof(st.pk_text), "%ld", st.pk_id);
    out->pk_id = st.pk_id;
    if (bc->conn && PQstatus(bc->conn) == CONNECTION_OK) {
        pgconn_server_version(bc->conn, out->server_version, sizeof(out->server_version));
        out->tls = PQsslInUse(bc->conn) != 0;
        const char *proto = out->tls ? PQsslAttribute(bc->conn, "protocol") : NULL;
        snprintf(out->tls_protocol, sizeof(out->tls_protocol), "%s", proto ? proto : "");

        if (p->warmup > 0) {
            /* warm-up inserts are rolled back: the table gains exactly `iterations` rows */
            exec_untimed(bc->conn, "BEGIN");
            static const enum bench_op warm[] = {OP_RTT, OP_READ, OP_INSERT};
            for (long w = 0; w < p->warmup; w++)
                for (size_t k = 0; k < 3; k++)
                    if (run_one(&st, warm[k], w, NULL) < 0)
                        return -1;
            if (bc->conn && PQstatus(bc->conn) == CONNECTION_OK)
                exec_untimed(bc->conn, "ROLLBACK");
        }
    }
    /* interleaved, one of each per iteration, so a stall of the path or the
     * machine falls on the empty query as much as on the read and the insert,
     * and their ratio (round trips) stays honest */
    static const enum bench_op order[] = {OP_RTT, OP_READ, OP_INSERT};
    for (long i = 0; i < p->iterations; i++)
        for (size_t k = 0; k < 3; k++)
            if (run_one(&st, order[k], i, &out->op[order[k]]) < 0)
                return -1;
    out->elapsed_ms = clock_ns_to_ms(clock_now_ns() - t_start);
    clock_rfc3339(out->timestamp, sizeof(out->timestamp));
    return 0;
}

void bench_result_free(struct bench_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < OP_COUNT; i++)
        free(r->op[i].ms);
    memset(r, 0, sizeof(*r));
}

/* --- JSON --------------------------------------------------------------- */

static json_t *ms_value(double v)
{
    return json_real(round(v * 1000.0) / 1000.0);
}

static void put(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v ? v : json_null());
}

static void put_op(json_t *o, enum bench_op op, const struct op_samples *s, const struct stats *st)
{
    char key[48];
    const char *name = bench_op_name(op);
#define KEY(suffix) (snprintf(key, sizeof(key), "%s_%s", name, suffix), key)
    put(o, KEY("avg_ms"), ms_value(st->avg));
    put(o, KEY("min_ms"), ms_value(st->min));
    put(o, KEY("max_ms"), ms_value(st->max));
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < s->n; i++)
        json_array_append_new(arr, ms_value(s->ms[i]));
    put(o, KEY("latencies"), arr);
    put(o, KEY("p50_ms"), ms_value(st->p50));
    put(o, KEY("p95_ms"), ms_value(st->p95));
    put(o, KEY("p99_ms"), ms_value(st->p99));
    put(o, KEY("stddev_ms"), ms_value(st->stddev));
    put(o, KEY("samples"), json_integer((json_int_t)s->n));
    put(o, KEY("errors"), json_integer(s->errors));
    put(o, KEY("error"), s->first_error[0] ? json_string(s->first_error) : json_null());
#undef KEY
}

char *bench_result_json(const struct bench_result *r, const struct backend_config *cfg, int *status)
{
    char host[256];
    struct stats st[OP_COUNT];
    size_t ok = 0;
    char *text = NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (int i = 0; i < OP_COUNT; i++) {
        if (stats_compute(r->op[i].ms, r->op[i].n, &st[i]) < 0)
            goto cleanup;
        ok += r->op[i].n;
    }
    config_db_host(cfg, host, sizeof(host));
    put(o, "region", json_string(cfg->region ? cfg->region : "local"));
    put(o, "db_host", json_string(host));
    put(o, "iterations", json_integer(r->params.iterations));
    for (int i = 0; i < OP_COUNT; i++)
        put_op(o, (enum bench_op)i, &r->op[i], &st[i]);
    put(o, "timestamp", json_string(r->timestamp));
    double rtt = st[OP_RTT].samples ? st[OP_RTT].avg : 0;
    put(o, "insert_round_trips",
        rtt > 0 && st[OP_INSERT].samples ? ms_value(st[OP_INSERT].avg / rtt) : json_null());
    put(o, "read_round_trips",
        rtt > 0 && st[OP_READ].samples ? ms_value(st[OP_READ].avg / rtt) : json_null());
    put(o, "mode", json_string(query_mode_name(r->params.mode)));
    put(o, "read_kind", json_string(query_read_name(r->params.read)));
    if (r->params.read == READ_PK)
        put(o, "read_pk_id", json_integer(r->pk_id));
    put(o, "warmup", json_integer(r->params.warmup));
    put(o, "server_version", json_string(r->server_version)); /* "" when never connected */
    json_t *tls = json_object();
    if (tls) {
        put(tls, "enabled", json_boolean(r->tls));
        put(tls, "protocol", r->tls_protocol[0] ? json_string(r->tls_protocol) : json_null());
    }
    put(o, "tls", tls);
    put(o, "elapsed_ms", ms_value(r->elapsed_ms));
    put(o, "alloc_id", json_string(cfg->alloc_id ? cfg->alloc_id : ""));
    put(o, "version", json_string(EB_VERSION));
    text = json_dumps(o, JSON_REAL_PRECISION(12));
    *status = ok ? 200 : 502;
cleanup:
    json_decref(o);
    return text;
}
