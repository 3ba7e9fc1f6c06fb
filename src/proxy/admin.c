/* The admin listener (libevent evhttp): GET /metrics (Prometheus text) and
 * GET /api/backends (JSON). */
#include "proxy/state.h"

#include "core/clock.h"
#include "core/parse.h"
#include "proxy/geo.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void proxy_count_connection(struct proxy *px, const struct backend *b, const char *country)
{
    for (size_t i = 0; i < px->ncounters; i++) {
        struct conn_counter *c = &px->counters[i];
        if (!strcmp(c->backend, b->label + strlen(b->route.region) + 1) &&
            !strcmp(c->region, b->route.region) && !strcmp(c->country, country)) {
            c->n++;
            return;
        }
    }
    if (px->ncounters == px->capcounters) {
        if (px->capcounters >= 65536)
            return; /* bounded: a flood of new labels cannot grow memory forever */
        size_t ncap = px->capcounters ? px->capcounters * 2 : 64;
        struct conn_counter *p = realloc(px->counters, ncap * sizeof(*p));
        if (!p)
            return;
        px->counters = p;
        px->capcounters = ncap;
    }
    struct conn_counter *c = &px->counters[px->ncounters++];
    snprintf(c->backend, sizeof(c->backend), "%s", b->label + strlen(b->route.region) + 1);
    snprintf(c->region, sizeof(c->region), "%s", b->route.region);
    snprintf(c->country, sizeof(c->country), "%s", country);
    c->n = 1;
}

static void send_common(struct evhttp_request *req, const char *type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
}

static void metrics(struct proxy *px, struct evbuffer *o)
{
    evbuffer_add_printf(o,
                        "# HELP edgebench_proxy_connections_total Connections routed, by backend, "
                        "region and client country.\n"
                        "# TYPE edgebench_proxy_connections_total counter\n");
    for (size_t i = 0; i < px->ncounters; i++) {
        const struct conn_counter *c = &px->counters[i];
        evbuffer_add_printf(o,
                            "edgebench_proxy_connections_total{backend=\"%s\",region=\"%s\","
                            "country=\"%s\"} %llu\n",
                            c->backend, c->region, c->country, (unsigned long long)c->n);
    }
    evbuffer_add_printf(o, "# HELP edgebench_proxy_active_connections Connections open now, by "
                           "backend.\n# TYPE edgebench_proxy_active_connections gauge\n");
    for (size_t i = 0; i < px->nbackends; i++) {
        const struct backend *b = px->backends[i];
        evbuffer_add_printf(o,
                            "edgebench_proxy_active_connections{backend=\"%s:%u\",region=\"%s\"} "
                            "%ld\n",
                            b->route.address, b->route.port, b->route.region, b->active);
    }
    evbuffer_add_printf(o, "# HELP edgebench_proxy_backend_up Health of each backend (1 up, 0 "
                           "down).\n# TYPE edgebench_proxy_backend_up gauge\n");
    for (size_t i = 0; i < px->nbackends; i++) {
        const struct backend *b = px->backends[i];
        evbuffer_add_printf(o, "edgebench_proxy_backend_up{backend=\"%s:%u\",region=\"%s\"} %d\n",
                            b->route.address, b->route.port, b->route.region, b->healthy ? 1 : 0);
    }
    evbuffer_add_printf(o, "# HELP edgebench_proxy_backend_connect_failures_total Failed "
                           "connects to each backend.\n"
                           "# TYPE edgebench_proxy_backend_connect_failures_total counter\n");
    for (size_t i = 0; i < px->nbackends; i++) {
        const struct backend *b = px->backends[i];
        evbuffer_add_printf(
            o,
            "edgebench_proxy_backend_connect_failures_total{backend=\"%s:%u\",region=\"%s\"} "
            "%llu\n",
            b->route.address, b->route.port, b->route.region, (unsigned long long)b->failures);
    }
    evbuffer_add_printf(o, "# HELP edgebench_proxy_decisions_total Routing decisions by reason.\n"
                           "# TYPE edgebench_proxy_decisions_total counter\n");
    for (int r = 0; r < REASON_COUNT; r++)
        evbuffer_add_printf(o, "edgebench_proxy_decisions_total{reason=\"%s\"} %llu\n",
                            reason_name((enum reason)r), (unsigned long long)px->decisions[r]);
    evbuffer_add_printf(
        o,
        "# HELP edgebench_proxy_failovers_total Connects retried on another backend.\n"
        "# TYPE edgebench_proxy_failovers_total counter\n"
        "edgebench_proxy_failovers_total %llu\n"
        "# HELP edgebench_proxy_refused_total Connections refused, by cause.\n"
        "# TYPE edgebench_proxy_refused_total counter\n"
        "edgebench_proxy_refused_total{cause=\"max_conns\"} %llu\n"
        "edgebench_proxy_refused_total{cause=\"no_backend\"} %llu\n"
        "edgebench_proxy_refused_total{cause=\"bad_proxy_header\"} %llu\n"
        "# HELP edgebench_proxy_accepted_total Connections accepted.\n"
        "# TYPE edgebench_proxy_accepted_total counter\n"
        "edgebench_proxy_accepted_total %llu\n"
        "# HELP edgebench_proxy_open_connections Client connections open now.\n"
        "# TYPE edgebench_proxy_open_connections gauge\n"
        "edgebench_proxy_open_connections %ld\n"
        "# HELP edgebench_proxy_bytes_total Bytes relayed (up: client to backend).\n"
        "# TYPE edgebench_proxy_bytes_total counter\n"
        "edgebench_proxy_bytes_total{direction=\"up\"} %llu\n"
        "edgebench_proxy_bytes_total{direction=\"down\"} %llu\n"
        "# HELP edgebench_proxy_spliced_bytes_total Of those, bytes moved by splice(2), "
        "without a copy through the proxy.\n"
        "# TYPE edgebench_proxy_spliced_bytes_total counter\n"
        "edgebench_proxy_spliced_bytes_total %llu\n"
        "# HELP edgebench_proxy_splice_waits_total Times spliced bytes waited for a slow "
        "destination.\n"
        "# TYPE edgebench_proxy_splice_waits_total counter\n"
        "edgebench_proxy_splice_waits_total %llu\n"
        "# HELP edgebench_proxy_route_reloads_total Routing table reloads by result.\n"
        "# TYPE edgebench_proxy_route_reloads_total counter\n"
        "edgebench_proxy_route_reloads_total{result=\"ok\"} %llu\n"
        "edgebench_proxy_route_reloads_total{result=\"error\"} %llu\n"
        "# HELP edgebench_proxy_affinity_entries Client affinity entries held.\n"
        "# TYPE edgebench_proxy_affinity_entries gauge\n"
        "edgebench_proxy_affinity_entries %zu\n"
        "# HELP edgebench_proxy_uptime_seconds Seconds since the proxy started.\n"
        "# TYPE edgebench_proxy_uptime_seconds gauge\n"
        "edgebench_proxy_uptime_seconds %.3f\n",
        (unsigned long long)px->failovers, (unsigned long long)px->refused_cap,
        (unsigned long long)px->refused_nobackend, (unsigned long long)px->bad_proxy_header,
        (unsigned long long)px->accepted, px->nconns, (unsigned long long)px->bytes_up,
        (unsigned long long)px->bytes_down, (unsigned long long)px->spliced,
        (unsigned long long)px->splice_waits, (unsigned long long)px->reloads_ok,
        (unsigned long long)px->reloads_failed, affinity_count(px->affinity),
        (double)(clock_now_ns() - px->started_ns) / 1e9);
}

static json_t *backend_json(const struct backend *b)
{
    const struct route *r = &b->route;
    return json_pack("{sI ss ss ss si sI sI sI sb sb sb sI sI sI sI sI}", "id", (json_int_t)r->id,
                     "app", r->app, "region", r->region, "address", r->address, "port",
                     (int)r->port, "weight", (json_int_t)r->weight, "soft_limit",
                     (json_int_t)r->soft_limit, "hard_limit", (json_int_t)r->hard_limit, "enabled",
                     r->enabled, "healthy", b->healthy, "removed", b->retired, "active",
                     (json_int_t)b->active, "total", (json_int_t)b->total, "connect_failures",
                     (json_int_t)b->failures, "checks_ok", (json_int_t)b->checks_ok,
                     "checks_failed", (json_int_t)b->checks_failed);
}

/* The table's backends, then those removed from it that still hold
 * connections ("removed": true), so every open connection shows somewhere. */
static json_t *backends_json(struct proxy *px)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < px->nbackends; i++)
        json_array_append_new(arr, backend_json(px->backends[i]));
    for (const struct backend *b = px->retired; b; b = b->rnext)
        json_array_append_new(arr, backend_json(b));
    return arr;
}

static void admin_cb(struct evhttp_request *req, void *arg)
{
    struct proxy *px = arg;
    struct evbuffer *o = evbuffer_new();
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!o)
        return;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        send_common(req, "application/json");
        evbuffer_add_printf(o, "{\"error\":\"only GET is supported\"}\n");
        evhttp_send_reply(req, 405, "Method Not Allowed", o);
    } else if (path && !strcmp(path, "/metrics")) {
        send_common(req, "text/plain; version=0.0.4");
        metrics(px, o);
        evhttp_send_reply(req, 200, "OK", o);
    } else if (path && !strcmp(path, "/api/backends")) {
        send_common(req, "application/json");
        json_t *j = json_pack("{so sI sb}", "backends", backends_json(px), "open_connections",
                              (json_int_t)px->nconns, "draining", px->draining);
        char *s = json_dumps(j, JSON_INDENT(2));
        if (s)
            evbuffer_add_printf(o, "%s\n", s);
        free(s);
        json_decref(j);
        evhttp_send_reply(req, 200, "OK", o);
    } else {
        send_common(req, "application/json");
        evbuffer_add_printf(o, "{\"error\":\"not found; try /metrics or /api/backends\"}\n");
        evhttp_send_reply(req, 404, "Not Found", o);
    }
    evbuffer_free(o);
}

int admin_start(struct proxy *px, const char *addr, char *err, size_t errlen)
{
    char host[256];
    uint16_t port;
    if (parse_hostport(addr, host, sizeof(host), &port) < 0) {
        snprintf(err, errlen, "--admin '%s' is not ADDR:PORT", addr);
        return -1;
    }
    px->admin = evhttp_new(px->base);
    if (!px->admin) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    evhttp_set_allowed_methods(px->admin, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    evhttp_set_gencb(px->admin, admin_cb, px);
    if (!evhttp_bind_socket_with_handle(px->admin, host[0] ? host : "0.0.0.0", port)) {
        snprintf(err, errlen, "cannot listen on --admin %s (in use, or not a local address)", addr);
        return -1;
    }
    return 0;
}

void admin_stop(struct proxy *px)
{
    if (px->admin)
        evhttp_free(px->admin);
    px->admin = NULL;
}
