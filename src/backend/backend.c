#include "backend/backend.h"

#include "backend/config.h"
#include "backend/metrics.h"
#include "backend/pool.h"
#include "backend/query.h"
#include "backend/slowguard.h"
#include "core/cli.h"
#include "core/clock.h"
#include "core/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_S 5
#define SHUTDOWN_HARD_S 10
#define HEADER_MARGIN 65536 /* libevent's limits, above the configured ones */
#define BODY_MARGIN 1048576

struct server {
    struct backend_config cfg;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct pool *pool;
    struct metrics *metrics;
    struct slowguard *guard;
    char *info_prefix;
    struct event *sig_term, *sig_int, *grace_timer, *hard_timer;
    uint64_t started_ns;
    size_t pending; /* jobs handed to the pool and not yet answered */
    bool shutting_down, aborted;
};

static const char *reason(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    default:
        return "OTHER";
    }
}

/* The request path for the log: no query string, control bytes replaced. */
static void log_path(struct evhttp_request *req, char *out, size_t len)
{
    const char *uri = evhttp_request_get_uri(req);
    size_t o = 0;
    for (const char *p = uri ? uri : ""; *p && *p != '?' && o + 1 < len; p++)
        out[o++] = (*p > 0x20 && *p < 0x7f) ? *p : '?';
    out[o] = 0;
}

/* evhttp queues the reply and writes it when epoll next reports the socket
 * writable: one more loop iteration per request, and an epoll_ctl to watch
 * for writability and another to stop. Write it now instead; when all of it
 * went, tell evhttp its output drained (deferred, so it finishes the request
 * after this callback returns, in this same iteration); with the changelist
 * the connection's events then end as they began, without a syscall. What
 * the socket does not take (a large /metrics, a slow client) stays queued
 * for the usual path. */
static void send_now(struct bufferevent *bev)
{
    if (!bev)
        return;
    struct evbuffer *out = bufferevent_get_output(bev);
    if (evbuffer_get_length(out) == 0)
        return;
    if (evbuffer_write(out, bufferevent_getfd(bev)) > 0 && evbuffer_get_length(out) == 0)
        bufferevent_trigger(bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
}

static void reply(struct server *s, struct evhttp_request *req, enum endpoint ep, int code,
                  const char *body, const char *content_type, uint64_t start_ns)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type ? content_type : "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Fly-Region", s->cfg.region);
    if (code == 401)
        evhttp_add_header(h, "WWW-Authenticate", "Bearer");
    if (code == 429)
        evhttp_add_header(h, "Retry-After", "1");
    if (code == 405) { /* RFC 9110 15.5.6: say which methods are allowed */
        const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
        const char *p = u ? evhttp_uri_get_path(u) : NULL;
        evhttp_add_header(h, "Allow",
                          p && !strcmp(p, "/api/rds/benchmark") ? "GET, POST" : "GET, HEAD");
    }
    struct evbuffer *buf = evbuffer_new();
    if (buf && body) {
        evbuffer_add(buf, body, strlen(body));
        if (!content_type)
            evbuffer_add(buf, "\n", 1);
    }
    char path[160];
    log_path(req, path, sizeof(path));
    const char *method = method_name(evhttp_request_get_command(req));
    slowguard_request_done(s->guard, req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evhttp_send_reply(req, code, reason(code), buf);
    evbuffer_free(buf);
    send_now(bev);
    metrics_count_request(s->metrics, ep, code);
    if (log_get_level() >= LOG_LEVEL_INFO) {
        /* integer microseconds: cheaper to format than a double */
        unsigned long long us = (clock_now_ns() - start_ns) / 1000;
        log_info("%s %s %d %llu.%03llums", method, path, code, us / 1000, us % 1000);
    }
}

static void reply_error(struct server *s, struct evhttp_request *req, enum endpoint ep, int code,
                        const char *msg, const char *param, uint64_t start_ns)
{
    json_t *o = json_object();
    char *text = NULL;
    if (o) {
        json_object_set_new(o, "error", json_string(msg));
        if (param)
            json_object_set_new(o, "param", json_string(param));
        if (code == 503 && !param) {
            char host[256];
            config_db_host(&s->cfg, host, sizeof(host));
            json_object_set_new(o, "region", json_string(s->cfg.region));
            json_object_set_new(o, "db_host", json_string(host));
        }
        text = json_dumps(o, 0);
        json_decref(o);
    }
    reply(s, req, ep, code, text ? text : "{\"error\":\"out of memory\"}", NULL, start_ns);
    free(text);
}

/* Constant-time comparison of the Authorization header with "Bearer TOKEN"
 * (the scheme is case-insensitive, RFC 9110 section 11.1). */
static bool token_ok(const struct server *s, struct evhttp_request *req)
{
    if (!s->cfg.token)
        return true;
    const char *got = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!got || strncasecmp(got, "Bearer ", 7) != 0)
        return false;
    got += 7;
    size_t n = strlen(got), m = strlen(s->cfg.token);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < m; i++)
        diff |= (unsigned char)(s->cfg.token[i] ^ (i < n ? got[i] : 0));
    return diff == 0;
}

static void check_shutdown_done(struct server *s, bool replied)
{
    /* after a reply, a moment for it to leave the socket buffers */
    struct timeval drain = {0, 100000};
    if (s->shutting_down && s->pending == 0)
        event_base_loopexit(s->base, replied ? &drain : NULL);
}

static void job_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct job *j = arg;
    struct server *s = j->server;
    if (j->kind == JOB_BENCH)
        metrics_observe(s->metrics, &j->result);
    reply(s, j->request, j->endpoint, j->status, j->body, NULL, j->start_ns);
    s->pending--;
    event_free(j->done);
    bench_result_free(&j->result);
    free(j->body);
    free(j);
    check_shutdown_done(s, true);
}

static struct job *job_new(struct server *s, struct evhttp_request *req, enum job_kind kind,
                           enum endpoint ep, uint64_t start_ns)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->kind = kind;
    j->request = req;
    j->server = s;
    j->endpoint = ep;
    j->start_ns = start_ns;
    j->done = event_new(s->base, -1, 0, job_done_cb, j);
    if (!j->done) {
        free(j);
        return NULL;
    }
    return j;
}

static void handle_benchmark(struct server *s, struct evhttp_request *req, uint64_t t0)
{
    const enum endpoint ep = EP_BENCHMARK;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_POST) {
        reply_error(s, req, ep, 405, "use GET or POST", NULL, t0);
        return;
    }
    if (!token_ok(s, req)) {
        reply_error(s, req, ep, 401, "missing or wrong token: send 'Authorization: Bearer TOKEN'",
                    NULL, t0);
        return;
    }
    struct bench_params params;
    char err[256], param[64];
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t bodylen = in ? evbuffer_get_length(in) : 0;
    const char *body = bodylen ? (const char *)evbuffer_pullup(in, -1) : NULL;
    int status = query_parse_request(query, ctype, body, body ? bodylen : 0, &params, err,
                                     sizeof(err), param, sizeof(param));
    if (status != 0) {
        reply_error(s, req, ep, status, err, status == 400 ? param : NULL, t0);
        return;
    }
    if (!config_db_enabled(&s->cfg)) {
        reply_error(s, req, ep, 503, "database not configured: set DB_HOST or DATABASE_URL", NULL,
                    t0);
        return;
    }
    if (s->shutting_down) {
        reply_error(s, req, ep, 503, "the backend is shutting down", NULL, t0);
        return;
    }
    struct job *j = job_new(s, req, JOB_BENCH, ep, t0);
    if (!j) {
        reply_error(s, req, ep, 500, "out of memory", NULL, t0);
        return;
    }
    j->params = params;
    if (!pool_submit_bench(s->pool, j)) {
        event_free(j->done);
        free(j);
        char msg[128];
        snprintf(msg, sizeof(msg), "%ld benchmarks are already running; retry later",
                 s->cfg.max_bench);
        reply_error(s, req, ep, 429, msg, NULL, t0);
        return;
    }
    s->pending++;
}

static void handle_health(struct server *s, struct evhttp_request *req, uint64_t t0)
{
    if (!config_db_enabled(&s->cfg)) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:n}", "region", s->cfg.region, "db_host",
                              "not configured", "status", "disabled", "latency_ms");
        char *text = o ? json_dumps(o, 0) : NULL;
        json_decref(o);
        reply(s, req, EP_HEALTH, text ? 200 : 500, text ? text : "{}", NULL, t0);
        free(text);
        return;
    }
    struct job *j = job_new(s, req, JOB_HEALTH, EP_HEALTH, t0);
    if (!j) {
        reply_error(s, req, EP_HEALTH, 500, "out of memory", NULL, t0);
        return;
    }
    pool_submit_health(s->pool, j);
    s->pending++;
}

/* The fixed part of /api/info, JSON-encoded once at start: "region": ... */
static char *info_prefix(const struct server *s)
{
    char host[256];
    config_db_host(&s->cfg, host, sizeof(host));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "region", s->cfg.region,
                          "hostname", s->cfg.alloc_id, "alloc_id", s->cfg.alloc_id, "machine",
                          s->cfg.hostname, "version", EB_VERSION, "db_host", host, "max_bench",
                          (json_int_t)s->cfg.max_bench);
    char *text = o ? json_dumps(o, 0) : NULL;
    json_decref(o);
    if (text)
        text[strlen(text) - 1] = 0; /* drop the closing brace */
    return text;
}

static void handle_info(struct server *s, struct evhttp_request *req, uint64_t t0)
{
    size_t len = strlen(s->info_prefix) + 128;
    char *text = malloc(len);
    if (!text) {
        reply_error(s, req, EP_INFO, 500, "out of memory", NULL, t0);
        return;
    }
    snprintf(text, len,
             "%s, \"uptime_s\": %.3f, \"requests_served\": %llu, "
             "\"benchmarks_in_flight\": %zu}",
             s->info_prefix, clock_ns_to_ms(clock_now_ns() - s->started_ns) / 1000.0,
             metrics_requests_total(s->metrics) + 1, pool_busy(s->pool));
    reply(s, req, EP_INFO, 200, text, NULL, t0);
    free(text);
}

static void handle_metrics(struct server *s, struct evhttp_request *req, uint64_t t0)
{
    struct evbuffer *b = evbuffer_new();
    char *text = NULL;
    if (b) {
        metrics_render(s->metrics, b, config_db_enabled(&s->cfg) ? pool_db_up(s->pool) : -1,
                       pool_busy(s->pool), (size_t)s->cfg.max_bench,
                       clock_ns_to_ms(clock_now_ns() - s->started_ns) / 1000.0);
        size_t n = evbuffer_get_length(b);
        text = malloc(n + 1);
        if (text) {
            evbuffer_remove(b, text, n);
            text[n] = 0;
        }
        evbuffer_free(b);
    }
    reply(s, req, EP_METRICS, text ? 200 : 500, text ? text : "",
          "text/plain; version=0.0.4; charset=utf-8", t0);
    free(text);
}

/* The size of the request line and header block, as libevent counts it. */
static size_t header_bytes(struct evhttp_request *req)
{
    const char *uri = evhttp_request_get_uri(req);
    size_t n = strlen(method_name(evhttp_request_get_command(req))) + 10 + (uri ? strlen(uri) : 0);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    for (struct evkeyval *kv = h ? h->tqh_first : NULL; kv; kv = kv->next.tqe_next)
        n += strlen(kv->key) + 2 + strlen(kv->value);
    return n;
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    struct server *s = arg;
    uint64_t t0 = clock_now_ns();
    slowguard_request_start(s->guard, req);
    /* the endpoint first, so that every answer, refusals too, is counted
     * under the endpoint that was asked for in /metrics */
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path)
        path = "";
    enum endpoint ep = EP_OTHER;
    for (enum endpoint e = 0; e < EP_OTHER; e++)
        if (!strcmp(path, metrics_endpoint_path(e)))
            ep = e;
    /* libevent's limits are set higher (see serve) so that these get JSON */
    if (header_bytes(req) > (size_t)s->cfg.max_header_bytes) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "the request line and headers are larger than %ld bytes (--max-header-bytes)",
                 s->cfg.max_header_bytes);
        reply_error(s, req, ep, 400, msg, NULL, t0);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    if (in && evbuffer_get_length(in) > (size_t)s->cfg.max_body_bytes) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the request body is larger than %ld bytes (--max-body-bytes)",
                 s->cfg.max_body_bytes);
        reply_error(s, req, ep, 413, msg, NULL, t0);
        return;
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    bool bench = !strcmp(path, "/api/rds/benchmark");
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD && !(bench && m == EVHTTP_REQ_POST)) {
        reply_error(s, req, ep, 405, bench ? "use GET or POST" : "use GET", NULL, t0);
        return;
    }
    if (bench)
        handle_benchmark(s, req, t0);
    else if (!strcmp(path, "/api/rds/health"))
        handle_health(s, req, t0);
    else if (!strcmp(path, "/api/info"))
        handle_info(s, req, t0);
    else if (!strcmp(path, "/metrics"))
        handle_metrics(s, req, t0);
    else if (!strcmp(path, "/healthz"))
        reply(s, req, EP_HEALTHZ, 200, "{\"status\":\"ok\"}", NULL, t0);
    else
        reply_error(s, req, EP_OTHER, 404,
                    "no such endpoint; try /api/rds/benchmark, /api/rds/health, /api/info, "
                    "/metrics or /healthz",
                    NULL, t0);
}

static void hard_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;
    log_warn("shutdown: %zu requests still open after %d s; closing them", s->pending,
             SHUTDOWN_HARD_S);
    event_base_loopexit(s->base, NULL);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;
    if (s->pending == 0)
        return;
    log_warn("shutdown: aborting %zu benchmarks still running after %d s", s->pending,
             SHUTDOWN_GRACE_S);
    s->aborted = true;
    pool_abort(s->pool);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct server *s = arg;
    if (s->shutting_down) {
        log_warn("second signal: aborting in-flight work now");
        pool_abort(s->pool);
        return;
    }
    s->shutting_down = true;
    log_info("signal %d: no longer accepting connections; finishing %zu requests", (int)sig,
             s->pending);
    if (s->bound) {
        evhttp_del_accept_socket(s->http, s->bound);
        s->bound = NULL;
    }
    struct timeval grace = {SHUTDOWN_GRACE_S, 0}, hard = {SHUTDOWN_HARD_S, 0};
    s->grace_timer = evtimer_new(s->base, grace_cb, s);
    s->hard_timer = evtimer_new(s->base, hard_cb, s);
    if (s->grace_timer)
        evtimer_add(s->grace_timer, &grace);
    if (s->hard_timer)
        evtimer_add(s->hard_timer, &hard);
    check_shutdown_done(s, false);
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: edgebench backend [OPTIONS]\n\n"
               "The per-region HTTP service: GET|POST /api/rds/benchmark, /api/rds/health,\n"
               "/api/info, /metrics, /healthz. Every option has an environment variable\n"
               "(the seed's FLY_REGION, PORT, DB_* first); a flag wins over the variable.\n\n"
               "Options:\n");
    config_print_flags(f, CONFIG_BACKEND);
    fprintf(f, "\nBenchmark query parameters: iterations (1..100, default 10), mode\n"
               "(simple|extended|prepared|pipeline|compat2rtt, default extended), read\n"
               "(count|pk, default count), warmup (0..20, default 1); also in a POST body\n"
               "as application/x-www-form-urlencoded or a JSON object.\n");
}

/* Parses the --listen address: IPv4 or IPv6 (optionally in brackets), no name. */
static int listen_addr(const char *text, long port, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']' && n - 2 < sizeof(host)) {
        memcpy(host, text + 1, n - 2);
        host[n - 2] = 0;
    } else if (n < sizeof(host)) {
        memcpy(host, text, n + 1);
    } else {
        return -1;
    }
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    return -1;
}

/* A listening socket of our own, so a failure is reported with its errno. */
static evutil_socket_t open_listener(const struct backend_config *c)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (listen_addr(c->listen, c->port, &ss, &len) < 0) {
        log_error("--listen/EDGEBENCH_LISTEN '%s' is not an IP address; use e.g. 0.0.0.0, "
                  "127.0.0.1 or ::",
                  c->listen);
        return -1;
    }
    evutil_socket_t fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1, err = 0;
    if (fd < 0) {
        err = errno;
    } else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
               bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0) {
        err = errno;
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        return fd;
    if (err == EADDRINUSE)
        log_error("cannot listen on %s:%ld: the port is already in use; stop what uses it or "
                  "choose another --port/PORT",
                  c->listen, c->port);
    else if (err == EADDRNOTAVAIL)
        log_error("cannot listen on %s:%ld: the address is not one of this machine's; choose "
                  "another --listen (0.0.0.0 listens on all of them)",
                  c->listen, c->port);
    else
        log_error("cannot listen on %s:%ld: %s; choose another --port/PORT or --listen", c->listen,
                  c->port, strerror(err));
    return -1;
}

static int serve(struct server *s)
{
    int rc = 1;
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max; /* one descriptor per client connection */
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    s->started_ns = clock_now_ns();
    /* evhttp disables and re-enables a connection's read and write events
     * around every request; the changelist folds those into the next
     * epoll_wait instead of an epoll_ctl each (+15-20% /api/info req/s) */
    struct event_config *ecfg = event_config_new();
    if (ecfg) {
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        s->base = event_base_new_with_config(ecfg);
        event_config_free(ecfg);
    }
    s->metrics = metrics_new();
    if (!s->base || !s->metrics) {
        log_error("cannot create the event loop (out of memory)");
        goto cleanup;
    }
    s->http = evhttp_new(s->base);
    if (!s->http)
        goto cleanup;
    evhttp_set_timeout(s->http, (int)s->cfg.http_timeout_s);
    /* request_cb enforces the configured limits with a JSON answer; libevent's
     * own (an HTML page) only beyond these margins */
    evhttp_set_max_headers_size(s->http, (size_t)s->cfg.max_header_bytes + HEADER_MARGIN);
    evhttp_set_max_body_size(s->http, (size_t)s->cfg.max_body_bytes + BODY_MARGIN);
    /* every method reaches request_cb, which answers 405 with the usual headers */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(s->http, request_cb, s);
    s->guard = slowguard_new(s->base, s->http, s->cfg.http_timeout_s);
    s->info_prefix = info_prefix(s);
    if (!s->guard || !s->info_prefix)
        goto cleanup;
    evutil_socket_t fd = open_listener(&s->cfg);
    if (fd < 0)
        goto cleanup;
    s->bound = evhttp_accept_socket_with_handle(s->http, fd);
    if (!s->bound) {
        close(fd);
        log_error("cannot listen on %s:%ld: out of memory", s->cfg.listen, s->cfg.port);
        goto cleanup;
    }
    s->pool = pool_new(&s->cfg);
    if (!s->pool) {
        log_error("cannot start the worker threads");
        goto cleanup;
    }
    s->sig_term = evsignal_new(s->base, SIGTERM, signal_cb, s);
    s->sig_int = evsignal_new(s->base, SIGINT, signal_cb, s);
    if (!s->sig_term || !s->sig_int || evsignal_add(s->sig_term, NULL) < 0 ||
        evsignal_add(s->sig_int, NULL) < 0)
        goto cleanup;
    char host[256];
    config_db_host(&s->cfg, host, sizeof(host));
    if (config_db_enabled(&s->cfg))
        log_info("listening on %s:%ld, region %s, database %s, %ld benchmark workers",
                 s->cfg.listen, s->cfg.port, s->cfg.region, host, s->cfg.max_bench);
    else
        log_info("listening on %s:%ld, region %s; DB_HOST not set: benchmark disabled",
                 s->cfg.listen, s->cfg.port, s->cfg.region);
    event_base_dispatch(s->base);
    rc = 0;
cleanup:
    if (s->pool) {
        pool_abort(s->pool);
        pool_free(s->pool); /* joins: every job's done event is active now */
        s->pool = NULL;
        event_base_loop(s->base, EVLOOP_NONBLOCK); /* answer them */
    }
    if (s->http)
        evhttp_free(s->http); /* frees open connections and their guards */
    slowguard_free(s->guard);
    if (s->sig_term)
        event_free(s->sig_term);
    if (s->sig_int)
        event_free(s->sig_int);
    if (s->grace_timer)
        event_free(s->grace_timer);
    if (s->hard_timer)
        event_free(s->hard_timer);
    metrics_free(s->metrics);
    free(s->info_prefix);
    if (s->base)
        event_base_free(s->base);
    if (rc == 0)
        log_info("stopped");
    return rc;
}

int backend_main(int argc, char **argv)
{
    struct server s;
    char err[512];
    int rest = 0, rc = 2;
    memset(&s, 0, sizeof(s));
    config_init(&s.cfg);
    if (argc > 1 && cli_is_help(argv[1])) {
        usage(stdout);
        rc = 0;
        goto cleanup;
    }
    if (config_load_env(&s.cfg, CONFIG_BACKEND, err, sizeof(err)) < 0 ||
        config_parse_args(&s.cfg, CONFIG_BACKEND, argc, argv, &rest, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench backend: %s\n", err);
        goto cleanup;
    }
    if (rest > 0) {
        fprintf(stderr, "edgebench backend: unexpected argument '%s'; see --help\n", argv[1]);
        goto cleanup;
    }
    config_finish(&s.cfg);
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (listen_addr(s.cfg.listen, s.cfg.port, &ss, &sslen) < 0) {
        fprintf(stderr,
                "edgebench backend: --listen/EDGEBENCH_LISTEN '%s' is not an IP address; use "
                "e.g. 0.0.0.0, 127.0.0.1 or ::\n",
                s.cfg.listen);
        goto cleanup;
    }
    if (config_check(&s.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench backend: %s\n", err);
        goto cleanup;
    }
    char comp[96];
    snprintf(comp, sizeof(comp), "backend[%s]", s.cfg.region);
    log_set_component(comp);
    rc = serve(&s);
cleanup:
    config_free(&s.cfg);
    return rc;
}
