#include "backend/metrics.h"

#include <stdlib.h>
#include <string.h>

static const double buckets_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS (sizeof(buckets_s) / sizeof(buckets_s[0]))
#define NCODES 16

struct code_count {
    int code;
    unsigned long long n;
};

struct histogram {
    unsigned long long bucket[NBUCKETS]; /* not cumulative */
    unsigned long long count, errors;
    double sum_s;
};

struct metrics {
    struct code_count req[EP_COUNT][NCODES];
    unsigned long long total;
    struct histogram op[OP_COUNT];
    unsigned long long benchmarks;
};

static const char *const paths[EP_COUNT] = {"/api/rds/benchmark", "/api/rds/health", "/api/info",
                                            "/metrics",           "/healthz",        "other"};

const char *metrics_endpoint_path(enum endpoint e)
{
    return (unsigned)e < EP_COUNT ? paths[e] : "other";
}

struct metrics *metrics_new(void)
{
    return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    free(m);
}

void metrics_count_request(struct metrics *m, enum endpoint e, int status)
{
    m->total++;
    struct code_count *c = m->req[e];
    for (size_t i = 0; i < NCODES; i++) {
        if (c[i].code == status || c[i].code == 0) {
            c[i].code = status;
            c[i].n++;
            return;
        }
    }
}

unsigned long long metrics_requests_total(const struct metrics *m)
{
    return m->total;
}

void metrics_observe(struct metrics *m, const struct bench_result *r)
{
    m->benchmarks++;
    for (int op = 0; op < OP_COUNT; op++) {
        struct histogram *h = &m->op[op];
        h->errors += (unsigned long long)r->op[op].errors;
        for (size_t i = 0; i < r->op[op].n; i++) {
            double s = r->op[op].ms[i] / 1000.0;
            size_t b = 0;
            while (b < NBUCKETS && s > buckets_s[b])
                b++;
            if (b < NBUCKETS)
                h->bucket[b]++;
            h->count++;
            h->sum_s += s;
        }
    }
}

int metrics_render(const struct metrics *m, struct evbuffer *out, int db_up, size_t busy,
                   size_t max_bench, double uptime_s)
{
    evbuffer_add_printf(out, "# HELP edgebench_http_requests_total HTTP requests served, by "
                             "endpoint and status code.\n"
                             "# TYPE edgebench_http_requests_total counter\n");
    for (int e = 0; e < EP_COUNT; e++)
        for (size_t i = 0; i < NCODES && m->req[e][i].code; i++)
            evbuffer_add_printf(out,
                                "edgebench_http_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n",
                                paths[e], m->req[e][i].code, m->req[e][i].n);
    evbuffer_add_printf(out,
                        "# HELP edgebench_benchmarks_total Benchmarks completed.\n"
                        "# TYPE edgebench_benchmarks_total counter\n"
                        "edgebench_benchmarks_total %llu\n",
                        m->benchmarks);
    evbuffer_add_printf(out, "# HELP edgebench_db_operation_duration_seconds Latency of "
                             "successful benchmark operations.\n"
                             "# TYPE edgebench_db_operation_duration_seconds histogram\n");
    for (int op = 0; op < OP_COUNT; op++) {
        const struct histogram *h = &m->op[op];
        const char *name = bench_op_name((enum bench_op)op);
        unsigned long long cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += h->bucket[b];
            evbuffer_add_printf(
                out,
                "edgebench_db_operation_duration_seconds_bucket{op=\"%s\",le=\"%g\"} "
                "%llu\n",
                name, buckets_s[b], cum);
        }
        evbuffer_add_printf(out,
                            "edgebench_db_operation_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} "
                            "%llu\n"
                            "edgebench_db_operation_duration_seconds_sum{op=\"%s\"} %.9f\n"
                            "edgebench_db_operation_duration_seconds_count{op=\"%s\"} %llu\n",
                            name, h->count, name, h->sum_s, name, h->count);
    }
    evbuffer_add_printf(out, "# HELP edgebench_db_operation_errors_total Failed benchmark "
                             "operations.\n"
                             "# TYPE edgebench_db_operation_errors_total counter\n");
    for (int op = 0; op < OP_COUNT; op++)
        evbuffer_add_printf(out, "edgebench_db_operation_errors_total{op=\"%s\"} %llu\n",
                            bench_op_name((enum bench_op)op), m->op[op].errors);
    evbuffer_add_printf(out,
                        "# HELP edgebench_db_up 1 when the last health probe reached the "
                        "database, 0 when it failed.\n"
                        "# TYPE edgebench_db_up gauge\n"
                        "edgebench_db_up %d\n",
                        db_up > 0 ? 1 : 0);
    evbuffer_add_printf(out,
                        "# HELP edgebench_benchmarks_in_flight Benchmarks running now.\n"
                        "# TYPE edgebench_benchmarks_in_flight gauge\n"
                        "edgebench_benchmarks_in_flight %zu\n"
                        "# HELP edgebench_benchmarks_max Concurrent benchmarks allowed.\n"
                        "# TYPE edgebench_benchmarks_max gauge\n"
                        "edgebench_benchmarks_max %zu\n"
                        "# HELP edgebench_uptime_seconds Seconds since the backend started.\n"
                        "# TYPE edgebench_uptime_seconds gauge\n"
                        "edgebench_uptime_seconds %.3f\n",
                        busy, max_bench, uptime_s);
    return 0;
}
