#include "collect/fanout.h"

#include "core/catalog.h"
#include "core/clock.h"
#include "core/log.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BODY_MAX (16u * 1024 * 1024)
#define BACKOFF_FIRST_MS 500.0
#define BACKOFF_MAX_MS 8000.0
#define RETRY_AFTER_MAX_S 30

/* One target's life: WAIT (ready to send) -> RUNNING (in the multi handle)
 * -> BACKOFF (retry after not_before) or the next round, -> DONE. */
enum job_state { JOB_WAIT, JOB_RUNNING, JOB_BACKOFF, JOB_DONE };

struct job {
    const struct target *t;
    size_t region_index;
    bool pseudo; /* --via without targets: the region is whoever answers */
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    char *body;
    size_t body_len;
    bool body_overflow;
    char fly_region[32];
    long retry_after_s;
    long round, attempt;
    uint64_t not_before_ns, started_ns;
    enum job_state state;
    enum region_status last_status;
    char last_error[CURL_ERROR_SIZE + 1024];
    char errbuf[CURL_ERROR_SIZE];
    double last_ms;
    bool failed_now;
};

struct fanout {
    const struct fanout_opts *o;
    struct run_result *res;
    struct job *jobs;
    size_t n, done;
    CURLM *multi;
    size_t progress_lines;
    uint64_t next_draw_ns;
};

static void job_change_state(struct job *j, enum job_state s)
{
    j->state = s;
}

char *fanout_request_url(const char *base, const struct fanout_opts *o)
{
    char *path = NULL, *out = NULL, q[160];
    CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
        goto cleanup;
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK || !strcmp(path, "/") || !path[0])
        if (curl_url_set(u, CURLUPART_PATH, "/api/rds/benchmark", 0) != CURLUE_OK)
            goto cleanup;
    snprintf(q, sizeof(q), "iterations=%ld", o->iterations);
    if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY) != CURLUE_OK)
        goto cleanup;
    snprintf(q, sizeof(q), "warmup=%ld", o->warmup);
    if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY) != CURLUE_OK)
        goto cleanup;
    if (o->mode) {
        snprintf(q, sizeof(q), "mode=%s", o->mode);
        if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
            goto cleanup;
    }
    if (o->read) {
        snprintf(q, sizeof(q), "read=%s", o->read);
        if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
            goto cleanup;
    }
    if (curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
        out = NULL;
cleanup:
    curl_free(path);
    curl_url_cleanup(u);
    return out;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct job *j = userp;
    size_t n = size * nmemb;
    if (j->body_len + n > BODY_MAX) {
        j->body_overflow = true;
        return 0;
    }
    char *b = realloc(j->body, j->body_len + n + 1);
    if (!b)
        return 0;
    memcpy(b + j->body_len, data, n);
    j->body = b;
    j->body_len += n;
    b[j->body_len] = 0;
    return n;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct job *j = userp;
    size_t n = size * nmemb;
    char line[256];
    size_t m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
    memcpy(line, data, m);
    line[m] = 0;
    line[strcspn(line, "\r\n")] = 0;
    if (!strncasecmp(line, "X-Fly-Region:", 13)) {
        const char *v = line + 13;
        while (*v == ' ')
            v++;
        snprintf(j->fly_region, sizeof(j->fly_region), "%.31s", v);
    } else if (!strncasecmp(line, "Retry-After:", 12)) {
        j->retry_after_s = strtol(line + 12, NULL, 10);
    }
    return n;
}

static int job_setup(struct fanout *f, struct job *j)
{
    const struct fanout_opts *o = f->o;
    const char *base = o->via ? o->via : j->t->url;
    j->url = fanout_request_url(base, o);
    j->easy = curl_easy_init();
    if (!j->url || !j->easy)
        return -1;
    const char *token = j->t->token ? j->t->token : o->token;
    char hdr[600];
    j->headers = curl_slist_append(NULL, "Accept: application/json");
    if (!j->headers)
        return -1;
    if (token) {
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
        struct curl_slist *h = curl_slist_append(j->headers, hdr);
        explicit_bzero(hdr, sizeof(hdr));
        if (!h)
            return -1;
        j->headers = h;
    }
    if (o->via && !j->pseudo) {
        snprintf(hdr, sizeof(hdr), "Fly-Prefer-Region: %s", j->t->region);
        struct curl_slist *h = curl_slist_append(j->headers, hdr);
        if (!h)
            return -1;
        j->headers = h;
    }
    CURL *e = j->easy;
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "edgebench/" EB_VERSION);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    return 0;
}

static int job_start(struct fanout *f, struct job *j)
{
    free(j->body);
    j->body = NULL;
    j->body_len = 0;
    j->body_overflow = false;
    j->fly_region[0] = 0;
    j->retry_after_s = 0;
    j->errbuf[0] = 0;
    j->started_ns = clock_now_ns();
    if (curl_multi_add_handle(f->multi, j->easy) != CURLM_OK)
        return -1;
    job_change_state(j, JOB_RUNNING);
    if (f->o->verbose)
        log_info("%s: round %ld/%ld attempt %ld: POST %s", j->t->region, j->round + 1, f->o->rounds,
                 j->attempt + 1, j->url);
    return 0;
}

static void job_backoff(struct fanout *f, struct job *j, double ms, const char *why)
{
    j->attempt++;
    j->not_before_ns = clock_now_ns() + (uint64_t)(ms * 1e6);
    job_change_state(j, JOB_BACKOFF);
    if (f->o->verbose)
        log_info("%s: %s; retry %ld of %ld in %.1f s", j->t->region, why, j->attempt, f->o->retries,
                 ms / 1000);
}

static struct region_result *job_region(struct fanout *f, struct job *j)
{
    return &f->res->regions[j->region_index];
}

/* The error message of a non-200 answer: the body's "error", or the first
 * failed operation's message. */
static void http_error(struct job *j, long code, json_t *body)
{
    const char *msg = NULL;
    json_t *v = json_object_get(body, "error");
    if (json_is_string(v))
        msg = json_string_value(v);
    for (int k = 0; !msg && k < OP_COUNT; k++) {
        char key[32];
        snprintf(key, sizeof(key), "%s_error", op_names[k]);
        v = json_object_get(body, key);
        if (json_is_string(v))
            msg = json_string_value(v);
    }
    const char *hint = code == 401 ? " (pass --token or a token column)" : "";
    snprintf(j->last_error, sizeof(j->last_error), "HTTP %ld: %s%s", code,
             msg ? msg : "no error message in the response", hint);
}

/* Checks the fields of contract 1 that the collector needs. */
static const char *missing_field(json_t *body)
{
    static const char *const arrays[] = {"insert_latencies", "read_latencies"};
    if (!json_is_string(json_object_get(body, "region")))
        return "region";
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_object_get(body, arrays[i]);
        if (!json_is_array(a))
            return arrays[i];
        size_t k;
        json_t *v;
        json_array_foreach(a, k, v)
        {
            if (!json_is_number(v))
                return arrays[i];
        }
    }
    return NULL;
}

static void round_failed(struct fanout *f, struct job *j, enum region_status st)
{
    j->last_status = st;
    j->failed_now = true;
    job_region(f, j)->rounds_failed++;
}

static int round_ok(struct fanout *f, struct job *j, json_t *body)
{
    struct region_result *r = job_region(f, j);
    const char *answered = json_string_value(json_object_get(body, "region"));
    if (!answered[0] && j->fly_region[0])
        answered = j->fly_region;
    if (!r->answered_by || strcmp(r->answered_by, answered)) {
        free(r->answered_by);
        r->answered_by = strdup(answered);
        if (!r->answered_by)
            return -1;
    }
    if (j->pseudo && strcmp(r->region, answered)) {
        const struct region *cat = catalog_region(answered);
        char *name = strdup(answered);
        if (!name)
            return -1;
        free(r->region);
        r->region = name;
        if (cat) {
            free(r->location);
            free(r->flag);
            r->location = strdup(cat->city);
            r->flag = strdup(cat->flag);
            if (!r->location || !r->flag)
                return -1;
        }
    }
    if (!r->response)
        r->response = json_incref(body);
    if (json_array_append(r->responses, body) < 0)
        return -1;
    r->rounds_ok++;
    json_t *avg = json_object_get(body, "insert_avg_ms");
    j->last_ms = json_is_number(avg) ? json_number_value(avg) : NAN;
    return 0;
}

static bool is_connect_failure(CURLcode code, CURL *e)
{
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
        code == CURLE_COULDNT_RESOLVE_PROXY)
        return true;
    if (code == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connect_us = 0;
        curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us);
        return connect_us == 0; /* timed out before the connection was made */
    }
    return false;
}

static int job_finished(struct fanout *f, struct job *j, CURLcode code)
{
    long http = 0;
    json_t *body = NULL;
    int rc = 0;
    curl_multi_remove_handle(f->multi, j->easy);
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &http);
    j->failed_now = false;
    if (code != CURLE_OK) {
        if (is_connect_failure(code, j->easy) && j->attempt < f->o->retries) {
            double ms = BACKOFF_FIRST_MS * pow(2, (double)j->attempt);
            job_backoff(f, j, ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS,
                        j->errbuf[0] ? j->errbuf : curl_easy_strerror(code));
            goto cleanup;
        }
        if (j->body_overflow)
            snprintf(j->last_error, sizeof(j->last_error), "response larger than %u MB",
                     BODY_MAX >> 20);
        else
            snprintf(j->last_error, sizeof(j->last_error), "%s",
                     j->errbuf[0] ? j->errbuf : curl_easy_strerror(code));
        round_failed(f, j, code == CURLE_OPERATION_TIMEDOUT ? REGION_TIMEOUT : REGION_ERROR);
    } else if (http == 429 && j->attempt < f->o->retries) {
        long s = j->retry_after_s > 0 ? j->retry_after_s : 1;
        job_backoff(f, j, 1000.0 * (double)(s < RETRY_AFTER_MAX_S ? s : RETRY_AFTER_MAX_S),
                    "HTTP 429 (backend saturated)");
        goto cleanup;
    } else {
        json_error_t jerr;
        body = j->body ? json_loadb(j->body, j->body_len, 0, &jerr) : NULL;
        if (!json_is_object(body)) {
            snprintf(j->last_error, sizeof(j->last_error),
                     "HTTP %ld: the response is not a JSON object (is %s an edgebench backend?)",
                     http, j->t->url);
            round_failed(f, j, REGION_ERROR);
        } else if (http != 200) {
            http_error(j, http, body);
            struct region_result *r = job_region(f, j);
            if (!r->response)
                r->response = json_incref(body);
            round_failed(f, j, REGION_ERROR);
        } else {
            const char *miss = missing_field(body);
            if (miss) {
                snprintf(j->last_error, sizeof(j->last_error),
                         "the response has no valid \"%s\" (is %s an edgebench backend?)", miss,
                         j->t->url);
                round_failed(f, j, REGION_ERROR);
            } else if (round_ok(f, j, body) < 0) {
                rc = -1;
                goto cleanup;
            }
        }
    }
    if (f->o->verbose && !j->failed_now)
        log_info("%s: round %ld done in %.1f ms", j->t->region, j->round + 1,
                 clock_ns_to_ms(clock_now_ns() - j->started_ns));
    else if (f->o->verbose)
        log_info("%s: round %ld failed: %s", j->t->region, j->round + 1, j->last_error);
    j->round++;
    j->attempt = 0;
    if (j->round < f->o->rounds) {
        job_change_state(j, JOB_WAIT);
    } else {
        job_change_state(j, JOB_DONE);
        f->done++;
    }
cleanup:
    json_decref(body);
    return rc;
}

/* ---- progress on a terminal ---- */

static void job_line(const struct fanout *f, const struct job *j, char *buf, size_t len)
{
    const struct region_result *r = &f->res->regions[j->region_index];
    double secs = j->started_ns ? clock_ns_to_ms(clock_now_ns() - j->started_ns) / 1000 : 0;
    char rounds[32] = "";
    if (f->o->rounds > 1)
        snprintf(rounds, sizeof(rounds), " round %ld/%ld", j->round + (j->state != JOB_DONE),
                 f->o->rounds);
    switch (j->state) {
    case JOB_WAIT:
        snprintf(buf, len, "  %-6s waiting%s", r->region, rounds);
        break;
    case JOB_RUNNING:
        snprintf(buf, len, "  %-6s running%s %.1fs", r->region, rounds, secs);
        break;
    case JOB_BACKOFF:
        snprintf(buf, len, "  %-6s retrying%s (attempt %ld)", r->region, rounds, j->attempt + 1);
        break;
    case JOB_DONE:
        if (r->rounds_ok > 0)
            snprintf(buf, len, "  %-6s done, insert %.2f ms", r->region, j->last_ms);
        else
            snprintf(buf, len, "  %-6s %s: %.60s", r->region,
                     j->last_status == REGION_TIMEOUT ? "TIMEOUT" : "ERROR", j->last_error);
        break;
    }
}

static void progress_draw(struct fanout *f, bool final)
{
    uint64_t now = clock_now_ns();
    if (!f->o->progress || (!final && now < f->next_draw_ns))
        return;
    f->next_draw_ns = now + 100 * 1000000ull;
    struct winsize ws;
    size_t rows = 24;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 2)
        rows = ws.ws_row;
    char line[256];
    if (f->progress_lines)
        fprintf(stderr, "\033[%zuA", f->progress_lines);
    if (f->n + 1 < rows) {
        for (size_t i = 0; i < f->n; i++) {
            job_line(f, &f->jobs[i], line, sizeof(line));
            fprintf(stderr, "\r\033[K%s\n", line);
        }
        f->progress_lines = f->n;
    } else {
        size_t running = 0, failed = 0;
        for (size_t i = 0; i < f->n; i++) {
            running += f->jobs[i].state == JOB_RUNNING;
            failed += f->jobs[i].state == JOB_DONE && !f->res->regions[i].rounds_ok;
        }
        fprintf(stderr, "\r\033[K  %zu/%zu regions done, %zu running, %zu failed\n", f->done, f->n,
                running, failed);
        f->progress_lines = 1;
    }
    fflush(stderr);
}

/* ---- the loop ---- */

static void finish_region(struct fanout *f, struct job *j)
{
    struct region_result *r = job_region(f, j);
    if (r->rounds_ok > 0) {
        r->status = REGION_OK;
        if (r->rounds_failed > 0) {
            char note[sizeof(j->last_error) + 64];
            snprintf(note, sizeof(note), "%ld of %ld rounds failed: %s", r->rounds_failed,
                     r->rounds_ok + r->rounds_failed, j->last_error);
            result_region_fail(r, REGION_OK, note);
        }
    } else {
        result_region_fail(r, j->last_status, j->last_error);
    }
}

int fanout_run(const struct target_list *targets, const struct fanout_opts *o,
               struct run_result *res, char *err, size_t errlen)
{
    struct fanout f = {.o = o, .res = res};
    int rc = -1;
    f.n = targets->n;
    f.jobs = calloc(f.n ? f.n : 1, sizeof(*f.jobs));
    f.multi = curl_multi_init();
    if (!f.jobs || !f.multi) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    curl_multi_setopt(f.multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    for (size_t i = 0; i < f.n; i++) {
        struct job *j = &f.jobs[i];
        const struct target *t = &targets->items[i];
        j->t = t;
        j->pseudo = o->via && !strcmp(t->region, "via") && !strcmp(t->url, o->via);
        j->region_index = res->nregions;
        j->last_status = REGION_ERROR;
        j->last_ms = NAN;
        if (!result_add_region(res, t->region, t->url, t->location, t->flag, t->expected_rtt_ms) ||
            job_setup(&f, j) < 0) {
            snprintf(err, errlen, "cannot prepare the request to %s (out of memory?)", t->url);
            goto cleanup;
        }
        job_change_state(j, JOB_WAIT);
    }
    while (f.done < f.n) {
        uint64_t now = clock_now_ns(), wake = now + 1000 * 1000000ull;
        for (size_t i = 0; i < f.n; i++) {
            struct job *j = &f.jobs[i];
            if (j->state == JOB_BACKOFF && j->not_before_ns <= now)
                job_change_state(j, JOB_WAIT);
            if (j->state == JOB_WAIT && job_start(&f, j) < 0) {
                snprintf(err, errlen, "libcurl refused a request to %s", j->t->url);
                goto cleanup;
            }
            if (j->state == JOB_BACKOFF && j->not_before_ns < wake)
                wake = j->not_before_ns;
        }
        int running = 0;
        curl_multi_perform(f.multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(f.multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct job *j = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            if (job_finished(&f, j, msg->data.result) < 0) {
                snprintf(err, errlen, "out of memory");
                goto cleanup;
            }
            if (j->state == JOB_DONE)
                finish_region(&f, j);
        }
        progress_draw(&f, false);
        if (f.done >= f.n)
            break;
        bool ready = false;
        for (size_t i = 0; i < f.n && !ready; i++)
            ready = f.jobs[i].state == JOB_WAIT;
        if (ready)
            continue;
        now = clock_now_ns();
        long ms = wake > now ? (long)((wake - now) / 1000000) + 1 : 0;
        if (o->progress && ms > 100)
            ms = 100;
        curl_multi_poll(f.multi, NULL, 0, (int)ms, NULL);
    }
    progress_draw(&f, true);
    for (size_t i = 0; i < res->nregions; i++)
        if (res->regions[i].status == REGION_OK && result_region_aggregate(&res->regions[i]) < 0) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
    rc = 0;
cleanup:
    for (size_t i = 0; f.jobs && i < f.n; i++) {
        struct job *j = &f.jobs[i];
        if (j->easy) {
            if (j->state == JOB_RUNNING)
                curl_multi_remove_handle(f.multi, j->easy);
            curl_easy_cleanup(j->easy);
        }
        curl_slist_free_all(j->headers);
        curl_free(j->url);
        free(j->body);
    }
    free(f.jobs);
    curl_multi_cleanup(f.multi);
    return rc;
}
