/* The one result model. The collector builds it (result_region_aggregate
 * over the backends' responses) or result_load reads it back from a
 * results.json; every renderer reads only this model.
 *
 * Ownership: a run_result owns everything it points to; result_free frees
 * it (NULL accepted). JSON values (responses, meta, options) are jansson
 * references owned by the model. */
#ifndef EB_COLLECT_RESULT_H
#define EB_COLLECT_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum op_kind { OP_INSERT = 0, OP_READ, OP_RTT, OP_COUNT };
enum region_status { REGION_OK = 0, REGION_ERROR, REGION_TIMEOUT };
enum stat_kind { STAT_AVG = 0, STAT_P50, STAT_P95, STAT_MIN };

/* Aggregated statistics of one operation of one region. `valid` is false
 * when no sample succeeded (or the backend does not report the op). avg is
 * the median of the rounds' averages; the others are over all samples of
 * all rounds pooled. */
struct op_stats {
    bool valid;
    double avg, min, max, p50, p95, p99, stddev;
    long samples, errors;
    char *error; /* first error message the backend reported, or NULL */
};

struct region_result {
    char *region, *url, *location, *flag;
    enum region_status status;
    char *error;            /* why it failed, or NULL */
    double expected_rtt_ms; /* NAN when unknown */
    char *answered_by;      /* region that answered (the response's region), or NULL */
    long rounds_ok, rounds_failed;
    struct op_stats op[OP_COUNT];
    double insert_round_trips, read_round_trips; /* OP avg / rtt avg; NAN when no rtt */
    /* OP min / rtt min (fastest sample over fastest empty query): what the
     * table shows as round trips; NAN when no rtt */
    double insert_round_trips_min, read_round_trips_min;
    json_t *response;  /* first successful response (or the error body), or NULL */
    json_t *responses; /* array of every successful round's response */
    /* raw samples of every round pooled, in order; from responses */
    double *raw[OP_COUNT];
    size_t nraw[OP_COUNT];
};

enum rank_by { RANK_INSERT = 0, RANK_READ, RANK_RTT };

#define COL_P95 0x1
#define COL_P99 0x2
#define COL_RTT 0x4
#define COL_RT 0x8

struct run_result {
    char *version;
    json_t *command; /* array of strings, secrets redacted */
    char *started, *finished;
    json_t *options; /* object */
    json_t *meta;    /* object, string values */
    enum rank_by rank_by;
    enum stat_kind stat;
    unsigned columns;
    struct region_result *regions;
    size_t nregions;
};

extern const char *const op_names[OP_COUNT];    /* "insert", "read", "rtt" */
extern const char *const stat_names[];          /* "avg", "p50", "p95", "min" */
extern const char *const rank_names[];          /* "insert", "read", "rtt" */
extern const char *const region_status_names[]; /* "ok", "error", "timeout" */

int result_parse_stat(const char *s, enum stat_kind *out);
int result_parse_rank(const char *s, enum rank_by *out);
/* "p95,p99,rtt,rt" (also "round-trips"); 0 or -1. */
int result_parse_columns(const char *s, unsigned *out);

/* Value of the chosen statistic; NAN when the op has no samples. */
double result_stat_value(const struct op_stats *op, enum stat_kind stat);
/* The value a region is ranked by; NAN when missing. */
double result_rank_value(const struct region_result *r, enum rank_by by, enum stat_kind stat);

/* Indexes of the regions in rank order: answered regions by rank value
 * (ties by region code), then the failed ones in their original order.
 * *nranked is the count of answered ones. Caller frees. */
size_t *result_order(const struct run_result *res, size_t *nranked);

/* Adds one region (strings copied) and returns it; NULL on out of memory. */
struct region_result *result_add_region(struct run_result *res, const char *region, const char *url,
                                        const char *location, const char *flag,
                                        double expected_rtt_ms);
void result_region_fail(struct region_result *r, enum region_status status, const char *error);
/* Recomputes op stats, round trips and raw samples from r->responses. */
int result_region_aggregate(struct region_result *r);

/* Serialises the model (new reference). */
json_t *result_to_json(const struct run_result *res);
/* Loads a results.json; err says what is wrong ("x.json: not an edgebench
 * results file ..."). NULL on failure. */
struct run_result *result_load(const char *path, char *err, size_t errlen);
struct run_result *result_from_json(json_t *root, char *err, size_t errlen);
int result_save(const struct run_result *res, const char *path, char *err, size_t errlen);

bool result_has_expected_rtt(const struct run_result *res);
/* Where the targets' expected_rtt_ms (the "Link RTT" column) came from, as
 * one sentence: meta.rtt_source (model|seed|file, set by the lab), else
 * meta.profile, else the targets file. Written into buf. */
const char *result_link_rtt_text(const struct run_result *res, char *buf, size_t n);
/* meta value or NULL */
const char *result_meta(const struct run_result *res, const char *key);

struct run_result *result_new(void);
void result_free(struct run_result *res);

/* strdup that accepts NULL. */
char *result_strdup(const char *s);

#endif
