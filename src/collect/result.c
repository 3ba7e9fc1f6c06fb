#include "collect/result.h"

#include "core/stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const op_names[OP_COUNT] = {"insert", "read", "rtt"};
const char *const stat_names[] = {"avg", "p50", "p95", "min"};
const char *const rank_names[] = {"insert", "read", "rtt"};
const char *const region_status_names[] = {"ok", "error", "timeout"};

#define RESULT_FORMAT 1
#define RESULT_MAX_REGIONS 100000

char *result_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int result_parse_stat(const char *s, enum stat_kind *out)
{
    for (int i = 0; i <= STAT_MIN; i++)
        if (!strcmp(s, stat_names[i])) {
            *out = (enum stat_kind)i;
            return 0;
        }
    return -1;
}

int result_parse_rank(const char *s, enum rank_by *out)
{
    for (int i = 0; i <= RANK_RTT; i++)
        if (!strcmp(s, rank_names[i])) {
            *out = (enum rank_by)i;
            return 0;
        }
    return -1;
}

static int parse_column(const char *s, size_t n, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned bit;
    } cols[] = {{"p95", COL_P95},
                {"p99", COL_P99},
                {"rtt", COL_RTT},
                {"rt", COL_RT},
                {"round-trips", COL_RT}};
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
        if (strlen(cols[i].name) == n && !strncmp(s, cols[i].name, n)) {
            *out |= cols[i].bit;
            return 0;
        }
    return -1;
}

int result_parse_columns(const char *s, unsigned *out)
{
    unsigned cols = 0;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n && parse_column(p, n, &cols) < 0)
            return -1;
        if (!c)
            break;
        p = c + 1;
    }
    *out = cols;
    return 0;
}

double result_stat_value(const struct op_stats *op, enum stat_kind stat)
{
    if (!op->valid)
        return NAN;
    switch (stat) {
    case STAT_P50:
        return op->p50;
    case STAT_P95:
        return op->p95;
    case STAT_MIN:
        return op->min;
    case STAT_AVG:
    default:
        return op->avg;
    }
}

double result_rank_value(const struct region_result *r, enum rank_by by, enum stat_kind stat)
{
    if (r->status != REGION_OK)
        return NAN;
    enum op_kind op = by == RANK_READ ? OP_READ : by == RANK_RTT ? OP_RTT : OP_INSERT;
    return result_stat_value(&r->op[op], stat);
}

static int order_cmp(const void *a, const void *b, void *ctx)
{
    const struct run_result *order_res = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    const struct region_result *ra = &order_res->regions[ia], *rb = &order_res->regions[ib];
    int fa = ra->status != REGION_OK, fb = rb->status != REGION_OK;
    if (fa != fb)
        return fa - fb;
    if (fa)
        return ia < ib ? -1 : ia > ib;
    double va = result_rank_value(ra, order_res->rank_by, order_res->stat);
    double vb = result_rank_value(rb, order_res->rank_by, order_res->stat);
    int na = isnan(va), nb = isnan(vb);
    if (na != nb)
        return na - nb;
    if (!na && va != vb)
        return va < vb ? -1 : 1;
    int c = strcmp(ra->region, rb->region);
    return c ? c : (ia < ib ? -1 : ia > ib);
}

size_t *result_order(const struct run_result *res, size_t *nranked)
{
    size_t *idx = malloc((res->nregions ? res->nregions : 1) * sizeof(*idx));
    if (!idx)
        return NULL;
    size_t ok = 0;
    for (size_t i = 0; i < res->nregions; i++) {
        idx[i] = i;
        ok += res->regions[i].status == REGION_OK;
    }
    qsort_r(idx, res->nregions, sizeof(*idx), order_cmp, (void *)res);
    if (nranked)
        *nranked = ok;
    return idx;
}

struct run_result *result_new(void)
{
    struct run_result *res = calloc(1, sizeof(*res));
    if (!res)
        return NULL;
    res->options = json_object();
    res->meta = json_object();
    res->command = json_array();
    if (!res->options || !res->meta || !res->command) {
        result_free(res);
        return NULL;
    }
    return res;
}

static void region_clear(struct region_result *r)
{
    free(r->region);
    free(r->url);
    free(r->location);
    free(r->flag);
    free(r->error);
    free(r->answered_by);
    for (int k = 0; k < OP_COUNT; k++) {
        free(r->op[k].error);
        free(r->raw[k]);
    }
    json_decref(r->response);
    json_decref(r->responses);
}

void result_free(struct run_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->nregions; i++)
        region_clear(&res->regions[i]);
    free(res->regions);
    free(res->version);
    free(res->started);
    free(res->finished);
    json_decref(res->command);
    json_decref(res->options);
    json_decref(res->meta);
    free(res);
}

struct region_result *result_add_region(struct run_result *res, const char *region, const char *url,
                                        const char *location, const char *flag,
                                        double expected_rtt_ms)
{
    if (res->nregions >= RESULT_MAX_REGIONS)
        return NULL;
    struct region_result *regions =
        realloc(res->regions, (res->nregions + 1) * sizeof(*res->regions));
    if (!regions)
        return NULL;
    res->regions = regions;
    struct region_result *r = &regions[res->nregions];
    memset(r, 0, sizeof(*r));
    r->expected_rtt_ms = expected_rtt_ms;
    r->insert_round_trips = r->read_round_trips = NAN;
    r->insert_round_trips_min = r->read_round_trips_min = NAN;
    r->region = result_strdup(region ? region : "");
    r->url = result_strdup(url ? url : "");
    r->location = result_strdup(location ? location : "");
    r->flag = result_strdup(flag ? flag : "");
    r->responses = json_array();
    if (!r->region || !r->url || !r->location || !r->flag || !r->responses) {
        region_clear(r);
        return NULL;
    }
    res->nregions++;
    return r;
}

void result_region_fail(struct region_result *r, enum region_status status, const char *error)
{
    r->status = status;
    free(r->error);
    r->error = result_strdup(error);
}

static double num(json_t *v, double dflt)
{
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static json_t *field(json_t *o, const char *op, const char *suffix)
{
    char key[64];
    snprintf(key, sizeof(key), "%s_%s", op, suffix);
    return json_object_get(o, key);
}

/* Pools OP_latencies of every response into r->raw[k]. */
static int pool_samples(struct region_result *r, int k)
{
    size_t total = 0, i;
    json_t *resp;
    json_array_foreach(r->responses, i, resp)
    {
        json_t *lat = field(resp, op_names[k], "latencies");
        total += json_is_array(lat) ? json_array_size(lat) : 0;
    }
    free(r->raw[k]);
    r->raw[k] = NULL;
    r->nraw[k] = 0;
    if (!total)
        return 0;
    r->raw[k] = malloc(total * sizeof(double));
    if (!r->raw[k])
        return -1;
    json_array_foreach(r->responses, i, resp)
    {
        json_t *lat = field(resp, op_names[k], "latencies");
        size_t j;
        json_t *v;
        json_array_foreach(lat, j, v)
        {
            if (json_is_number(v) && isfinite(json_number_value(v)))
                r->raw[k][r->nraw[k]++] = json_number_value(v);
        }
    }
    return 0;
}

static int aggregate_op(struct region_result *r, int k)
{
    struct op_stats *op = &r->op[k];
    double *avgs = NULL;
    int rc = -1;
    free(op->error);
    memset(op, 0, sizeof(*op));
    if (pool_samples(r, k) < 0)
        goto cleanup;
    size_t nresp = json_array_size(r->responses), navg = 0, i;
    avgs = malloc((nresp ? nresp : 1) * sizeof(double));
    if (!avgs)
        goto cleanup;
    json_t *resp;
    json_array_foreach(r->responses, i, resp)
    {
        json_t *lat = field(resp, op_names[k], "latencies");
        op->errors += (long)num(field(resp, op_names[k], "errors"), 0);
        json_t *e = field(resp, op_names[k], "error");
        if (!op->error && json_is_string(e) && json_string_length(e)) {
            op->error = strdup(json_string_value(e));
            if (!op->error)
                goto cleanup;
        }
        if (!json_is_array(lat) || !json_array_size(lat))
            continue;
        double a = num(field(resp, op_names[k], "avg_ms"), NAN);
        if (isnan(a)) {
            double sum = 0;
            size_t j, m = 0;
            json_t *v;
            json_array_foreach(lat, j, v)
            {
                if (json_is_number(v)) {
                    sum += json_number_value(v);
                    m++;
                }
            }
            a = m ? sum / (double)m : NAN;
        }
        if (!isnan(a))
            avgs[navg++] = a;
    }
    if (r->nraw[k] && navg) {
        struct stats s;
        if (stats_compute(r->raw[k], r->nraw[k], &s) < 0)
            goto cleanup;
        op->valid = true;
        op->avg = stats_median(avgs, navg);
        op->min = s.min;
        op->max = s.max;
        op->p50 = s.p50;
        op->p95 = s.p95;
        op->p99 = s.p99;
        op->stddev = s.stddev;
        op->samples = (long)s.samples;
    }
    rc = 0;
cleanup:
    free(avgs);
    return rc;
}

/* Fastest sample over fastest empty query: a loaded machine only adds delay,
 * so with few samples the minimums show the round trips where an average
 * (or a median of two) carries one stall of the divisor. */
static void round_trips_min(struct region_result *r)
{
    const struct op_stats *rtt = &r->op[OP_RTT], *in = &r->op[OP_INSERT], *rd = &r->op[OP_READ];
    bool have_rtt = rtt->valid && rtt->min > 0;
    r->insert_round_trips_min = have_rtt && in->valid ? in->min / rtt->min : NAN;
    r->read_round_trips_min = have_rtt && rd->valid ? rd->min / rtt->min : NAN;
}

int result_region_aggregate(struct region_result *r)
{
    for (int k = 0; k < OP_COUNT; k++)
        if (aggregate_op(r, k) < 0)
            return -1;
    const struct op_stats *rtt = &r->op[OP_RTT];
    bool have_rtt = rtt->valid && rtt->avg > 0;
    r->insert_round_trips =
        have_rtt && r->op[OP_INSERT].valid ? r->op[OP_INSERT].avg / rtt->avg : NAN;
    r->read_round_trips = have_rtt && r->op[OP_READ].valid ? r->op[OP_READ].avg / rtt->avg : NAN;
    round_trips_min(r);
    return 0;
}

/* ---- JSON ---- */

static json_t *jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int set(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1;
}

static int op_to_json(json_t *o, const char *name, const struct op_stats *op)
{
    static const char *const sfx[] = {"avg_ms", "min_ms", "max_ms",   "p50_ms",
                                      "p95_ms", "p99_ms", "stddev_ms"};
    double vals[] = {op->avg, op->min, op->max, op->p50, op->p95, op->p99, op->stddev};
    char key[64];
    int rc = 0;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        snprintf(key, sizeof(key), "%s_%s", name, sfx[i]);
        rc |= set(o, key, op->valid ? jreal(vals[i]) : json_null());
    }
    snprintf(key, sizeof(key), "%s_samples", name);
    rc |= set(o, key, json_integer(op->samples));
    snprintf(key, sizeof(key), "%s_errors", name);
    rc |= set(o, key, json_integer(op->errors));
    snprintf(key, sizeof(key), "%s_error", name);
    rc |= set(o, key, jstr(op->error));
    return rc;
}

static json_t *region_to_json(const struct region_result *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int rc = set(o, "region", jstr(r->region));
    rc |= set(o, "url", jstr(r->url));
    rc |= set(o, "location", jstr(r->location));
    rc |= set(o, "flag", jstr(r->flag));
    rc |= set(o, "status", json_string(region_status_names[r->status]));
    rc |= set(o, "error", jstr(r->error));
    rc |= set(o, "expected_rtt_ms", jreal(r->expected_rtt_ms));
    rc |= set(o, "answered_by", jstr(r->answered_by));
    rc |= set(o, "rounds_ok", json_integer(r->rounds_ok));
    rc |= set(o, "rounds_failed", json_integer(r->rounds_failed));
    for (int k = 0; k < OP_COUNT; k++)
        rc |= op_to_json(o, op_names[k], &r->op[k]);
    rc |= set(o, "insert_round_trips", jreal(r->insert_round_trips));
    rc |= set(o, "read_round_trips", jreal(r->read_round_trips));
    rc |= set(o, "insert_round_trips_min", jreal(r->insert_round_trips_min));
    rc |= set(o, "read_round_trips_min", jreal(r->read_round_trips_min));
    rc |= set(o, "response", r->response ? json_incref(r->response) : json_null());
    rc |= set(o, "responses", r->responses ? json_incref(r->responses) : json_array());
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *result_to_json(const struct run_result *res)
{
    json_t *root = json_object(), *regions = json_array();
    if (!root || !regions)
        goto fail;
    int rc = set(root, "tool", json_string("edgebench"));
    rc |= set(root, "format", json_integer(RESULT_FORMAT));
    rc |= set(root, "version", jstr(res->version));
    rc |= set(root, "command", json_incref(res->command));
    rc |= set(root, "started", jstr(res->started));
    rc |= set(root, "finished", jstr(res->finished));
    rc |= set(root, "options", json_incref(res->options));
    rc |= set(root, "meta", json_incref(res->meta));
    if (rc)
        goto fail;
    for (size_t i = 0; i < res->nregions; i++)
        if (json_array_append_new(regions, region_to_json(&res->regions[i])) < 0)
            goto fail;
    if (json_object_set_new(root, "regions", regions) < 0) {
        regions = NULL;
        goto fail;
    }
    return root;
fail:
    json_decref(regions);
    json_decref(root);
    return NULL;
}

int result_save(const struct run_result *res, const char *path, char *err, size_t errlen)
{
    json_t *root = result_to_json(res);
    if (!root) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (rc < 0)
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    return rc < 0 ? -1 : 0;
}

static int lerr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lerr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int load_str(json_t *o, const char *key, char **out, char *err, size_t errlen, size_t index)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return lerr(err, errlen, "regions[%zu].%s is not a string", index, key);
    *out = strdup(json_string_value(v));
    return *out ? 0 : lerr(err, errlen, "out of memory");
}

static int load_num(json_t *o, const char *key, double *out, char *err, size_t errlen, size_t index)
{
    json_t *v = json_object_get(o, key);
    *out = NAN;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return lerr(err, errlen, "regions[%zu].%s is not a number", index, key);
    *out = json_number_value(v);
    return 0;
}

static int load_op(json_t *o, int k, struct op_stats *op, char *err, size_t errlen, size_t index)
{
    static const char *const sfx[] = {"avg_ms", "min_ms", "max_ms",   "p50_ms",
                                      "p95_ms", "p99_ms", "stddev_ms"};
    double *dst[] = {&op->avg, &op->min, &op->max, &op->p50, &op->p95, &op->p99, &op->stddev};
    char key[64];
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(key, sizeof(key), "%s_%s", op_names[k], sfx[i]);
        if (load_num(o, key, dst[i], err, errlen, index) < 0)
            return -1;
    }
    op->valid = !isnan(op->avg);
    double v;
    snprintf(key, sizeof(key), "%s_samples", op_names[k]);
    if (load_num(o, key, &v, err, errlen, index) < 0)
        return -1;
    op->samples = isnan(v) ? 0 : (long)v;
    snprintf(key, sizeof(key), "%s_errors", op_names[k]);
    if (load_num(o, key, &v, err, errlen, index) < 0)
        return -1;
    op->errors = isnan(v) ? 0 : (long)v;
    snprintf(key, sizeof(key), "%s_error", op_names[k]);
    return load_str(o, key, &op->error, err, errlen, index);
}

static int load_region(struct run_result *res, json_t *o, size_t i, char *err, size_t errlen)
{
    if (!json_is_object(o))
        return lerr(err, errlen, "regions[%zu] is not an object", i);
    json_t *name = json_object_get(o, "region"), *status = json_object_get(o, "status");
    if (!json_is_string(name))
        return lerr(err, errlen, "regions[%zu] has no \"region\" string", i);
    int st = -1;
    for (int s = 0; s <= REGION_TIMEOUT && json_is_string(status); s++)
        if (!strcmp(json_string_value(status), region_status_names[s]))
            st = s;
    if (st < 0)
        return lerr(err, errlen, "regions[%zu].status must be \"ok\", \"error\" or \"timeout\"", i);
    struct region_result *r =
        result_add_region(res, json_string_value(name), NULL, NULL, NULL, NAN);
    if (!r)
        return lerr(err, errlen, "out of memory");
    r->status = (enum region_status)st;
    free(r->url);
    free(r->location);
    free(r->flag);
    r->url = r->location = r->flag = NULL;
    if (load_str(o, "url", &r->url, err, errlen, i) < 0 ||
        load_str(o, "location", &r->location, err, errlen, i) < 0 ||
        load_str(o, "flag", &r->flag, err, errlen, i) < 0 ||
        load_str(o, "error", &r->error, err, errlen, i) < 0 ||
        load_str(o, "answered_by", &r->answered_by, err, errlen, i) < 0 ||
        load_num(o, "expected_rtt_ms", &r->expected_rtt_ms, err, errlen, i) < 0 ||
        load_num(o, "insert_round_trips", &r->insert_round_trips, err, errlen, i) < 0 ||
        load_num(o, "read_round_trips", &r->read_round_trips, err, errlen, i) < 0)
        return -1;
    char **strs[] = {&r->url, &r->location, &r->flag};
    for (size_t s = 0; s < 3; s++)
        if (!*strs[s] && !(*strs[s] = strdup("")))
            return lerr(err, errlen, "out of memory");
    double v;
    if (load_num(o, "rounds_ok", &v, err, errlen, i) < 0)
        return -1;
    r->rounds_ok = isnan(v) ? 0 : (long)v;
    if (load_num(o, "rounds_failed", &v, err, errlen, i) < 0)
        return -1;
    r->rounds_failed = isnan(v) ? 0 : (long)v;
    for (int k = 0; k < OP_COUNT; k++)
        if (load_op(o, k, &r->op[k], err, errlen, i) < 0)
            return -1;
    /* files written before the field existed: computed from the minimums */
    if (json_object_get(o, "insert_round_trips_min") ||
        json_object_get(o, "read_round_trips_min")) {
        if (load_num(o, "insert_round_trips_min", &r->insert_round_trips_min, err, errlen, i) < 0 ||
            load_num(o, "read_round_trips_min", &r->read_round_trips_min, err, errlen, i) < 0)
            return -1;
    } else {
        round_trips_min(r);
    }
    json_t *resp = json_object_get(o, "response");
    if (resp && !json_is_null(resp))
        r->response = json_incref(resp);
    json_t *resps = json_object_get(o, "responses");
    if (resps && !json_is_null(resps)) {
        if (!json_is_array(resps))
            return lerr(err, errlen, "regions[%zu].responses is not an array", i);
        json_decref(r->responses);
        r->responses = json_incref(resps);
    }
    for (int k = 0; k < OP_COUNT; k++)
        if (pool_samples(r, k) < 0)
            return lerr(err, errlen, "out of memory");
    return 0;
}

static char *opt_str(json_t *options, const char *key)
{
    json_t *v = json_object_get(options, key);
    return json_is_string(v) ? (char *)json_string_value(v) : NULL;
}

struct run_result *result_from_json(json_t *root, char *err, size_t errlen)
{
    struct run_result *res = NULL;
    json_t *tool = json_object_get(root, "tool"), *format = json_object_get(root, "format");
    json_t *regions = json_object_get(root, "regions");
    if (!json_is_object(root) || !json_is_string(tool) ||
        strcmp(json_string_value(tool), "edgebench")) {
        lerr(err, errlen,
             "not an edgebench results file (no \"tool\": \"edgebench\"); "
             "pass a results.json written by `edgebench run --out`");
        goto fail;
    }
    if (!json_is_integer(format) || json_integer_value(format) < 1) {
        lerr(err, errlen, "\"format\" must be a positive integer");
        goto fail;
    }
    if (json_integer_value(format) > RESULT_FORMAT) {
        lerr(err, errlen,
             "written in results format %lld; this edgebench reads format %d "
             "(upgrade edgebench)",
             (long long)json_integer_value(format), RESULT_FORMAT);
        goto fail;
    }
    if (!json_is_array(regions)) {
        lerr(err, errlen, "\"regions\" must be an array");
        goto fail;
    }
    res = result_new();
    if (!res) {
        lerr(err, errlen, "out of memory");
        goto fail;
    }
    json_t *v;
    if ((v = json_object_get(root, "version")) && json_is_string(v))
        res->version = strdup(json_string_value(v));
    if ((v = json_object_get(root, "started")) && json_is_string(v))
        res->started = strdup(json_string_value(v));
    if ((v = json_object_get(root, "finished")) && json_is_string(v))
        res->finished = strdup(json_string_value(v));
    if ((v = json_object_get(root, "command")) && json_is_array(v)) {
        json_decref(res->command);
        res->command = json_incref(v);
    }
    if ((v = json_object_get(root, "options")) && json_is_object(v)) {
        json_decref(res->options);
        res->options = json_incref(v);
    }
    if ((v = json_object_get(root, "meta")) && json_is_object(v)) {
        json_decref(res->meta);
        res->meta = json_incref(v);
    }
    const char *s;
    if ((s = opt_str(res->options, "rank_by")) && result_parse_rank(s, &res->rank_by) < 0) {
        lerr(err, errlen, "options.rank_by '%s' is not insert, read or rtt", s);
        goto fail;
    }
    if ((s = opt_str(res->options, "stat")) && result_parse_stat(s, &res->stat) < 0) {
        lerr(err, errlen, "options.stat '%s' is not avg, p50, p95 or min", s);
        goto fail;
    }
    if ((s = opt_str(res->options, "columns")) && result_parse_columns(s, &res->columns) < 0) {
        lerr(err, errlen, "options.columns '%s' is not a list of p95,p99,rtt,rt", s);
        goto fail;
    }
    size_t i;
    json_t *r;
    json_array_foreach(regions, i, r)
    {
        if (load_region(res, r, i, err, errlen) < 0)
            goto fail;
    }
    return res;
fail:
    result_free(res);
    return NULL;
}

struct run_result *result_load(const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    char inner[512];
    struct stat st;
    FILE *f = fopen(path, "r");
    if (!f) {
        lerr(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        lerr(err, errlen, "%s is a directory; pass the results.json inside it", path);
        return NULL;
    }
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!root) {
        lerr(err, errlen, "%s: not valid JSON (line %d: %s)", path, jerr.line, jerr.text);
        return NULL;
    }
    struct run_result *res = result_from_json(root, inner, sizeof(inner));
    json_decref(root);
    if (!res)
        lerr(err, errlen, "%s: %s", path, inner);
    return res;
}

bool result_has_expected_rtt(const struct run_result *res)
{
    for (size_t i = 0; i < res->nregions; i++)
        if (!isnan(res->regions[i].expected_rtt_ms))
            return true;
    return false;
}

const char *result_meta(const struct run_result *res, const char *key)
{
    json_t *v = json_object_get(res->meta, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *result_link_rtt_text(const struct run_result *res, char *buf, size_t n)
{
    const char *src = result_meta(res, "rtt_source"), *profile = result_meta(res, "profile");
    const char *file = NULL;
    if (!src && profile) {
        if (!strncmp(profile, "file:", 5)) {
            src = "file";
            file = profile + 5;
        } else if (!strcmp(profile, "model") || !strcmp(profile, "seed")) {
            src = profile;
        } else {
            snprintf(buf, n, "Link RTT: the lab's %.200s profile.", profile);
            return buf;
        }
    }
    if (!src)
        snprintf(buf, n, "Link RTT: the targets file's expected_rtt_ms.");
    else if (!strcmp(src, "model"))
        snprintf(buf, n, "Link RTT: the lab's model (distance to the database site).");
    else if (!strcmp(src, "seed"))
        snprintf(buf, n, "Link RTT: the seed's published read column.");
    else if (!strcmp(src, "file") && file && *file)
        snprintf(buf, n, "Link RTT: from --rtt-file %.200s.", file);
    else if (!strcmp(src, "file"))
        snprintf(buf, n, "Link RTT: from --rtt-file.");
    else
        snprintf(buf, n, "Link RTT: %.200s.", src);
    return buf;
}
