/* `edgebench proxy`: options, the routing table's life (load, watch, reload,
 * LISTEN/NOTIFY), the listener, signals (SIGHUP reload, SIGTERM drain). */
#include "proxy/proxy.h"

#include "core/catalog.h"
#include "core/cli.h"
#include "core/clock.h"
#include "core/countries.h"
#include "core/log.h"
#include "core/parse.h"
#include "proxy/geo.h"
#include "proxy/routes.h"
#include "proxy/state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: edgebench proxy --listen ADDR:PORT (--routes FILE | --routes-pg URL)\n"
            "                       (--geoip FILE.mmdb | --geoip-csv FILE) [OPTIONS]\n"
            "       edgebench proxy routes init|add|remove|enable|disable|list ...\n"
            "       edgebench proxy lookup (--geoip FILE.mmdb | --geoip-csv FILE) ADDRESS...\n\n"
            "A layer-4 proxy that sends each client to the nearest healthy backend: client\n"
            "address -> country (MaxMind DB or CSV) -> country centroid -> backends ranked by\n"
            "great-circle distance to their region, within soft/hard connection limits.\n"
            "The routing table (one row per backend: id, app, region, address, port, weight,\n"
            "soft_limit, hard_limit, enabled) is a SQLite file or a PostgreSQL table; it is\n"
            "reloaded on change (and on SIGHUP) without dropping connections. See\n"
            "'edgebench proxy routes --help' to edit it.\n\n"
            "Routing:\n"
            "  --listen ADDR:PORT        where clients connect (required)\n"
            "  --routes FILE             SQLite routing table (watched for changes)\n"
            "  --routes-pg URL           routing table in PostgreSQL, reloaded on NOTIFY (a\n"
            "                            password in it shows in ps: prefer PGPASSWORD or\n"
            "                            ~/.pgpass)\n"
            "  --app NAME                only the rows of this app (default: every row)\n"
            "  --geoip FILE.mmdb         MaxMind DB (country_code or country.iso_code)\n"
            "  --geoip-csv FILE          cidr,country lines instead of an mmdb\n"
            "  --pop REGION              this proxy's region: where unknown countries go\n"
            "                            (default: $FLY_REGION when it is a catalog region)\n"
            "  --rtt-from results.json   rank by estimated client RTT plus each region's\n"
            "                            measured rtt_avg_ms from `edgebench run`\n"
            "  --affinity-ttl DUR        same client -> same backend for DUR (default 10m, 0 off)\n"
            "Health and failover:\n"
            "  --health tcp|http:/PATH|none  active checks (default tcp)\n"
            "  --health-interval DUR     (default 2s)      --health-timeout DUR (default 1s)\n"
            "  --rise N                  successes to come up (default 2)\n"
            "  --fall N                  failures to go down (default 3)\n"
            "  --passive-hold DUR        with --health none, how long a failed backend rests\n"
            "                            (default 10s)\n"
            "  --connect-timeout DUR     per attempt (default 2s)\n"
            "  --max-attempts N          backends tried per connection (default 3, max 8)\n"
            "Data path:\n"
            "  --send-proxy v1|v2        send a PROXY protocol header to backends\n"
            "  --accept-proxy-from CIDR  read a PROXY header (v1 or v2) from these peers\n"
            "                            (repeatable); nobody else is trusted\n"
            "  --idle-timeout DUR        close a connection idle this long (default 5m, 0 off)\n"
            "  --max-conns N             open client connections (default 20000)\n"
            "  --buffer BYTES            per-direction buffer bound (default 65536)\n"
            "  --drain-timeout DUR       on SIGTERM, wait this long for connections (30s)\n"
            "Operations:\n"
            "  --admin ADDR:PORT         /metrics (Prometheus) and /api/backends (JSON)\n"
            "  --access-log FILE|-|off   one line per connection (default - : stdout)\n"
            "  --verbose | --quiet\n\n"
            "DUR is e.g. 500ms, 2s, 10m (a bare number is seconds). Signals: SIGHUP reloads\n"
            "the routing table and the geo database; SIGTERM or SIGINT stop accepting and\n"
            "drain; a second one exits at once.\n");
}

/* ---- backends ---- */

void backend_ref(struct backend *b)
{
    b->refs++;
}

void backend_unref(struct backend *b)
{
    if (!b || --b->refs > 0)
        return;
    if (b->rprev)
        b->rprev->rnext = b->rnext;
    else if (b->px && b->px->retired == b)
        b->px->retired = b->rnext;
    if (b->rnext)
        b->rnext->rprev = b->rprev;
    health_stop(b);
    free(b);
}

bool backend_usable(struct backend *b)
{
    if (!b->route.enabled || b->route.weight == 0 || b->retired)
        return false;
    if (!b->healthy && b->px->cfg.health == HEALTH_NONE && clock_now_ns() >= b->down_until_ns)
        b->healthy = true;
    return b->healthy;
}

void backend_passive_failure(struct backend *b, const char *why)
{
    b->ok_streak = 0;
    b->fail_streak = b->px->cfg.fall;
    if (b->px->cfg.health == HEALTH_NONE)
        b->down_until_ns = clock_now_ns() + (uint64_t)(b->px->cfg.passive_hold_ms * 1e6);
    if (b->healthy)
        log_warn("backend %s marked down: %s (passive)", b->label, why);
    b->healthy = false;
}

void backend_passive_success(struct backend *b)
{
    if (b->px->cfg.health == HEALTH_NONE)
        b->fail_streak = 0;
}

static double measured_for(const struct proxy *px, const char *region)
{
    for (size_t i = 0; i < px->nrtt; i++)
        if (!strcmp(px->rtt[i].region, region))
            return px->rtt[i].ms;
    return -1;
}

int proxy_apply_table(struct proxy *px, const struct route_table *t)
{
    struct backend **nb = calloc(t->n ? t->n : 1, sizeof(*nb));
    if (!nb)
        return -1;
    bool *kept = calloc(px->nbackends ? px->nbackends : 1, sizeof(*kept));
    if (!kept) {
        free(nb);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct route *r = &t->rows[i];
        struct backend *b = NULL;
        for (size_t j = 0; j < px->nbackends; j++) {
            struct backend *o = px->backends[j];
            if (!kept[j] && o->route.port == r->port && !strcmp(o->route.address, r->address) &&
                !strcmp(o->route.region, r->region)) {
                b = o;
                kept[j] = true;
                break;
            }
        }
        if (!b) {
            b = calloc(1, sizeof(*b));
            if (!b) {
                for (size_t k = 0; k < i; k++)
                    if (nb[k]->refs == 0)
                        free(nb[k]);
                free(nb);
                free(kept);
                return -1;
            }
            b->px = px;
            b->healthy = true;
            b->refs = 0;
            const struct region *reg = catalog_region(r->region);
            b->lat = reg->lat;
            b->lon = reg->lon;
        }
        b->route = *r;
        b->measured_ms = measured_for(px, r->region);
        if (r->sa.ss_family == AF_INET6)
            snprintf(b->label, sizeof(b->label), "%s/[%s]:%u", r->region, r->address, r->port);
        else
            snprintf(b->label, sizeof(b->label), "%s/%s:%u", r->region, r->address, r->port);
        nb[i] = b;
    }
    for (size_t j = 0; j < px->nbackends; j++) {
        if (kept[j])
            continue;
        struct backend *o = px->backends[j];
        o->retired = true;
        health_stop(o);
        if (o->refs > 1) { /* connections still use it: keep it visible */
            o->rnext = px->retired;
            if (px->retired)
                px->retired->rprev = o;
            px->retired = o;
        }
        backend_unref(o);
    }
    for (size_t i = 0; i < t->n; i++) {
        if (nb[i]->refs == 0) { /* new: the table's reference */
            backend_ref(nb[i]);
            health_start(nb[i]);
        }
    }
    free(kept);
    free(px->backends);
    px->backends = nb;
    px->nbackends = t->n;
    return 0;
}

/* ---- loading and reloading ---- */

static int load_routes(struct proxy *px, char *err, size_t errlen)
{
    struct route_table t = {0};
    int rc;
    if (px->cfg.routes_pg) {
        if (!px->pg) {
            snprintf(err, errlen, "not connected to the routing database");
            return -1;
        }
        rc = routes_load_pg(px->pg, px->cfg.app, &t, err, errlen);
    } else {
        rc = routes_load_sqlite(px->cfg.routes_file, px->cfg.app, &t, err, errlen);
    }
    if (rc == 0) {
        rc = proxy_apply_table(px, &t);
        if (rc < 0)
            snprintf(err, errlen, "out of memory");
    }
    routes_table_free(&t);
    return rc;
}

static void reload_routes(struct proxy *px, const char *why)
{
    char err[512];
    if (load_routes(px, err, sizeof(err)) < 0) {
        px->reloads_failed++;
        /* "create it with routes init" is advice for a start, not for a
         * running proxy whose table went bad */
        char *hint = strstr(err, " (" ROUTES_CREATE_HINT ")");
        if (hint)
            *hint = 0;
        log_warn("routing table rejected (%s): %s; keeping the last good table (%zu backends); "
                 "fix the table, or restore it",
                 why, err, px->nbackends);
        return;
    }
    px->reloads_ok++;
    log_info("routing table reloaded (%s): %zu backends", why, px->nbackends);
}

static uint64_t file_stamp(const char *path)
{
    uint64_t h = 1469598103934665603ull;
    char wal[4096];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    const char *paths[2] = {path, wal};
    for (int i = 0; i < 2; i++) {
        struct stat st;
        uint64_t v[4] = {0, 0, 0, 0};
        if (stat(paths[i], &st) == 0) {
            v[0] = (uint64_t)st.st_mtim.tv_sec;
            v[1] = (uint64_t)st.st_mtim.tv_nsec;
            v[2] = (uint64_t)st.st_size;
            v[3] = (uint64_t)st.st_ino;
        }
        for (int k = 0; k < 4; k++)
            h = (h ^ v[k]) * 1099511628211ull;
    }
    return h;
}

static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    uint64_t s = file_stamp(px->cfg.routes_file);
    if (s == px->routes_stamp)
        return;
    px->routes_stamp = s;
    reload_routes(px, "file changed");
}

static void pg_connect_and_watch(struct proxy *px);

static void pg_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    PGconn *c = px->pg;
    if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
        log_warn("lost the routing database (%s); keeping the last good table, reconnecting",
                 PQerrorMessage(c));
        event_free(px->pg_event);
        px->pg_event = NULL;
        PQfinish(c);
        px->pg = NULL;
        struct timeval tv = {2, 0};
        evtimer_add(px->pg_retry, &tv);
        return;
    }
    bool changed = false;
    PGnotify *n;
    while ((n = PQnotifies(c)) != NULL) {
        changed = true;
        PQfreemem(n);
    }
    if (changed)
        reload_routes(px, "NOTIFY " ROUTES_PG_CHANNEL);
}

static void pg_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    pg_connect_and_watch(px);
    if (px->pg)
        reload_routes(px, "reconnected to the routing database");
}

static void pg_connect_and_watch(struct proxy *px)
{
    char err[512];
    px->pg = routes_pg_connect(px->cfg.routes_pg, err, sizeof(err));
    if (!px->pg) {
        log_warn("%s; retrying in 2 s", err);
        struct timeval tv = {2, 0};
        evtimer_add(px->pg_retry, &tv);
        return;
    }
    PQsetnonblocking(px->pg, 1);
    px->pg_event = event_new(px->base, PQsocket(px->pg), EV_READ | EV_PERSIST, pg_read_cb, px);
    event_add(px->pg_event, NULL);
}

static int load_geo(struct proxy *px, char *err, size_t errlen)
{
    struct geo *g = px->cfg.geoip ? geo_open_mmdb(px->cfg.geoip, err, errlen)
                                  : geo_open_csv(px->cfg.geoip_csv, err, errlen);
    if (!g)
        return -1;
    geo_free(px->geo);
    px->geo = g;
    return 0;
}

static int load_rtt(struct proxy *px, const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    int ret = -1;
    json_t *regions = root ? json_object_get(root, "regions") : NULL;
    if (!root) {
        struct stat st;
        if (stat(path, &st) < 0)
            snprintf(err, errlen,
                     "--rtt-from '%s': %s; give the results.json that `edgebench run` (or the "
                     "lab) wrote",
                     path, strerror(errno));
        else
            snprintf(err, errlen,
                     "--rtt-from '%s' is not JSON (line %d: %s); give the results.json that "
                     "`edgebench run` (or the lab) wrote",
                     path, je.line, je.text);
        goto cleanup;
    }
    if (!json_is_array(regions)) {
        snprintf(err, errlen,
                 "--rtt-from '%s' has no \"regions\" array: is it a results.json "
                 "of `edgebench run`?",
                 path);
        goto cleanup;
    }
    px->rtt = calloc(json_array_size(regions) + 1, sizeof(*px->rtt));
    if (!px->rtt) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    size_t i;
    json_t *r;
    json_array_foreach(regions, i, r)
    {
        const char *code = json_string_value(json_object_get(r, "region"));
        json_t *ms = json_object_get(r, "rtt_avg_ms");
        if (!json_is_number(ms))
            ms = json_object_get(r, "read_min_ms");
        if (!code || !json_is_number(ms) || strlen(code) >= sizeof(px->rtt[0].region))
            continue;
        snprintf(px->rtt[px->nrtt].region, sizeof(px->rtt[0].region), "%s", code);
        px->rtt[px->nrtt].ms = json_number_value(ms);
        px->nrtt++;
    }
    if (px->nrtt == 0) {
        snprintf(err, errlen, "--rtt-from '%s' has no region with rtt_avg_ms", path);
        goto cleanup;
    }
    ret = 0;
cleanup:
    json_decref(root);
    return ret;
}

/* ---- signals, listener ---- */

void proxy_conn_gone(struct proxy *px)
{
    if (!px->cutting)
        log_info("drained: every connection finished");
    event_base_loopexit(px->base, NULL);
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    log_warn("drain timeout: cutting %ld connections still open (reset)", px->nconns);
    px->cutting = true;
    conn_close_all(px, "drain_timeout");
    event_base_loopexit(px->base, NULL);
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    struct proxy *px = arg;
    if (px->draining) {
        log_warn("second signal: cutting %ld connections now (reset)", px->nconns);
        px->cutting = true;
        conn_close_all(px, "drain_cut");
        event_base_loopexit(px->base, NULL);
        return;
    }
    px->draining = true;
    if (px->listener) {
        evconnlistener_free(px->listener);
        px->listener = NULL;
    }
    log_info("signal %d: no longer accepting; draining %ld connections", (int)sig, px->nconns);
    if (px->nconns == 0) {
        event_base_loopexit(px->base, NULL);
        return;
    }
    px->drain_timer = evtimer_new(px->base, drain_timeout_cb, px);
    struct timeval tv = {(time_t)(px->cfg.drain_timeout_ms / 1000),
                         (suseconds_t)((long)px->cfg.drain_timeout_ms % 1000 * 1000)};
    if (px->drain_timer)
        evtimer_add(px->drain_timer, &tv);
}

/* SIGHUP: the access log file is opened again, so that a rotated one
 * (moved away, then signalled) is left alone from then on. */
static void reopen_access_log(struct proxy *px)
{
    const char *path = px->cfg.access_log;
    if (!px->access_log || px->access_log == stdout)
        return;
    FILE *f = fopen(path, "a");
    if (!f) {
        log_warn("SIGHUP: cannot reopen --access-log '%s': %s; still writing to the file "
                 "already open",
                 path, strerror(errno));
        return;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    fclose(px->access_log);
    px->access_log = f;
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
    struct proxy *px = arg;
    char err[512];
    reopen_access_log(px);
    if (load_geo(px, err, sizeof(err)) < 0)
        log_warn("SIGHUP: %s; keeping the previous geo database", err);
    reload_routes(px, "SIGHUP");
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    affinity_sweep(px->affinity, clock_now_ns());
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    conn_accept(arg, fd, sa, len);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    if (px->listener && !px->draining)
        evconnlistener_enable(px->listener);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct proxy *px = arg;
    int err = EVUTIL_SOCKET_ERROR();
    log_warn("accept: %s; pausing new connections for 100 ms", strerror(err));
    evconnlistener_disable(l);
    struct timeval tv = {0, 100000};
    event_base_once(px->base, -1, EV_TIMEOUT, resume_cb, px, &tv);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- options ---- */

/* A year: longer is a typo, and would overflow the nanosecond clocks. */
#define MAX_DURATION_MS (365.0 * 24 * 3600 * 1000)

static int opt_duration(const char *name, const char *v, double *out)
{
    if (parse_duration_ms(v, 1000.0, out) < 0) {
        fprintf(stderr, "edgebench proxy: %s '%s' is not a duration (e.g. 500ms, 2s, 10m)\n", name,
                v);
        return -1;
    }
    if (*out > MAX_DURATION_MS) {
        fprintf(stderr, "edgebench proxy: %s '%s' is longer than a year; give e.g. 10m\n", name, v);
        return -1;
    }
    return 0;
}

static int opt_long(const char *name, const char *v, long min, long max, long *out)
{
    if (parse_long(v, min, max, out) < 0) {
        fprintf(stderr, "edgebench proxy: %s '%s' is not a whole number in %ld..%ld\n", name, v,
                min, max);
        return -1;
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct proxy_config *cfg)
{
    enum {
        O_LISTEN = 256,
        O_ROUTES,
        O_ROUTES_PG,
        O_APP,
        O_GEOIP,
        O_GEOIP_CSV,
        O_POP,
        O_ADMIN,
        O_RTT_FROM,
        O_AFF,
        O_HEALTH,
        O_HINT,
        O_HTIMEOUT,
        O_RISE,
        O_FALL,
        O_HOLD,
        O_CTIMEOUT,
        O_ATTEMPTS,
        O_SEND_PROXY,
        O_ACCEPT_PROXY,
        O_IDLE,
        O_MAXCONNS,
        O_BUFFER,
        O_DRAIN,
        O_ALOG,
        O_VERBOSE,
        O_QUIET
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"routes", required_argument, NULL, O_ROUTES},
        {"routes-pg", required_argument, NULL, O_ROUTES_PG},
        {"app", required_argument, NULL, O_APP},
        {"geoip", required_argument, NULL, O_GEOIP},
        {"geoip-csv", required_argument, NULL, O_GEOIP_CSV},
        {"pop", required_argument, NULL, O_POP},
        {"admin", required_argument, NULL, O_ADMIN},
        {"rtt-from", required_argument, NULL, O_RTT_FROM},
        {"affinity-ttl", required_argument, NULL, O_AFF},
        {"health", required_argument, NULL, O_HEALTH},
        {"health-interval", required_argument, NULL, O_HINT},
        {"health-timeout", required_argument, NULL, O_HTIMEOUT},
        {"rise", required_argument, NULL, O_RISE},
        {"fall", required_argument, NULL, O_FALL},
        {"passive-hold", required_argument, NULL, O_HOLD},
        {"connect-timeout", required_argument, NULL, O_CTIMEOUT},
        {"max-attempts", required_argument, NULL, O_ATTEMPTS},
        {"send-proxy", required_argument, NULL, O_SEND_PROXY},
        {"accept-proxy-from", required_argument, NULL, O_ACCEPT_PROXY},
        {"idle-timeout", required_argument, NULL, O_IDLE},
        {"max-conns", required_argument, NULL, O_MAXCONNS},
        {"buffer", required_argument, NULL, O_BUFFER},
        {"drain-timeout", required_argument, NULL, O_DRAIN},
        {"access-log", required_argument, NULL, O_ALOG},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    long v;
    int c;
    optind = 1;
    opterr = 0; /* our own messages, not getopt's "proxy: unrecognized option" */
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            cfg->listen = optarg;
            break;
        case O_ROUTES:
            cfg->routes_file = optarg;
            break;
        case O_ROUTES_PG:
            cfg->routes_pg = optarg;
            break;
        case O_APP:
            if (!*optarg) {
                fprintf(stderr, "edgebench proxy: --app '' is empty; give an app name, or leave "
                                "--app out for every app's rows\n");
                return -1;
            }
            cfg->app = optarg;
            break;
        case O_GEOIP:
            cfg->geoip = optarg;
            break;
        case O_GEOIP_CSV:
            cfg->geoip_csv = optarg;
            break;
        case O_POP:
            cfg->pop = optarg;
            break;
        case O_ADMIN:
            cfg->admin = optarg;
            break;
        case O_RTT_FROM:
            cfg->rtt_from = optarg;
            break;
        case O_ALOG:
            cfg->access_log = optarg;
            break;
        case O_AFF:
            if (opt_duration("--affinity-ttl", optarg, &cfg->affinity_ttl_ms) < 0)
                return -1;
            break;
        case O_HEALTH:
            if (!strcmp(optarg, "tcp")) {
                cfg->health = HEALTH_TCP;
            } else if (!strcmp(optarg, "none")) {
                cfg->health = HEALTH_NONE;
            } else if (!strncmp(optarg, "http:/", 6) && !strpbrk(optarg, " \r\n")) {
                cfg->health = HEALTH_HTTP;
                cfg->health_path = optarg + 5;
            } else {
                fprintf(stderr,
                        "edgebench proxy: --health '%s' is not tcp, none or "
                        "http:/PATH (e.g. http:/api/rds/health)\n",
                        optarg);
                return -1;
            }
            break;
        case O_HINT:
            if (opt_duration("--health-interval", optarg, &cfg->health_interval_ms) < 0)
                return -1;
            break;
        case O_HTIMEOUT:
            if (opt_duration("--health-timeout", optarg, &cfg->health_timeout_ms) < 0)
                return -1;
            break;
        case O_RISE:
            if (opt_long("--rise", optarg, 1, 100, &cfg->rise) < 0)
                return -1;
            break;
        case O_FALL:
            if (opt_long("--fall", optarg, 1, 100, &cfg->fall) < 0)
                return -1;
            break;
        case O_HOLD:
            if (opt_duration("--passive-hold", optarg, &cfg->passive_hold_ms) < 0)
                return -1;
            break;
        case O_CTIMEOUT:
            if (opt_duration("--connect-timeout", optarg, &cfg->connect_timeout_ms) < 0)
                return -1;
            break;
        case O_ATTEMPTS:
            if (opt_long("--max-attempts", optarg, 1, PROXY_MAX_ATTEMPTS, &cfg->max_attempts) < 0)
                return -1;
            break;
        case O_SEND_PROXY:
            if (!strcmp(optarg, "v1") || !strcmp(optarg, "1")) {
                cfg->send_proxy = 1;
            } else if (!strcmp(optarg, "v2") || !strcmp(optarg, "2")) {
                cfg->send_proxy = 2;
            } else {
                fprintf(stderr, "edgebench proxy: --send-proxy '%s' is not v1 or v2\n", optarg);
                return -1;
            }
            break;
        case O_ACCEPT_PROXY:
            if (cfg->ntrusted == PROXY_MAX_TRUSTED) {
                fprintf(stderr, "edgebench proxy: at most %d --accept-proxy-from networks\n",
                        PROXY_MAX_TRUSTED);
                return -1;
            }
            if (geo_parse_cidr(optarg, false, &cfg->trusted[cfg->ntrusted].family,
                               cfg->trusted[cfg->ntrusted].addr,
                               &cfg->trusted[cfg->ntrusted].prefix) < 0) {
                fprintf(stderr,
                        "edgebench proxy: --accept-proxy-from '%s' is not a network "
                        "(e.g. 10.0.0.0/8 or 127.0.0.1)\n",
                        optarg);
                return -1;
            }
            if (geo_parse_cidr(optarg, true, &cfg->trusted[cfg->ntrusted].family,
                               cfg->trusted[cfg->ntrusted].addr,
                               &cfg->trusted[cfg->ntrusted].prefix) < 0) {
                /* 10.0.0.1/8: which was meant, the network or the host? */
                fprintf(stderr,
                        "edgebench proxy: --accept-proxy-from '%s' has host bits set after "
                        "the prefix; write the network (e.g. 10.0.0.0/8), or one address "
                        "alone (10.0.0.1)\n",
                        optarg);
                return -1;
            }
            cfg->ntrusted++;
            break;
        case O_IDLE:
            if (opt_duration("--idle-timeout", optarg, &cfg->idle_timeout_ms) < 0)
                return -1;
            break;
        case O_MAXCONNS:
            if (opt_long("--max-conns", optarg, 1, 10000000, &cfg->max_conns) < 0)
                return -1;
            break;
        case O_BUFFER:
            if (opt_long("--buffer", optarg, 1024, 64L * 1024 * 1024, &v) < 0)
                return -1;
            cfg->buffer = (size_t)v;
            break;
        case O_DRAIN:
            if (opt_duration("--drain-timeout", optarg, &cfg->drain_timeout_ms) < 0)
                return -1;
            break;
        case O_VERBOSE:
            log_set_level(LOG_LEVEL_DEBUG);
            break;
        case O_QUIET:
            log_set_level(LOG_LEVEL_WARN);
            break;
        case 'h':
            usage(stdout);
            return 1;
        case ':':
            fprintf(stderr,
                    "edgebench proxy: option '%s' needs a value; see edgebench proxy --help\n",
                    argv[optind - 1]);
            return -1;
        default:
            routes_bad_option("edgebench proxy", argv);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "edgebench proxy: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!cfg->listen) {
        fprintf(stderr, "edgebench proxy: --listen ADDR:PORT is required\n");
        return -1;
    }
    if (!cfg->routes_file == !cfg->routes_pg) {
        fprintf(stderr, "edgebench proxy: give exactly one of --routes FILE or --routes-pg URL\n");
        return -1;
    }
    if (!cfg->geoip == !cfg->geoip_csv) {
        fprintf(stderr, "edgebench proxy: give exactly one of --geoip FILE.mmdb or --geoip-csv "
                        "FILE (see docs/proxy.md for the free ip-location-db database)\n");
        return -1;
    }
    if (cfg->health_timeout_ms <= 0 || cfg->health_interval_ms <= 0 ||
        cfg->connect_timeout_ms <= 0) {
        fprintf(stderr, "edgebench proxy: --health-interval, --health-timeout and "
                        "--connect-timeout must be above 0\n");
        return -1;
    }
    return 0;
}

/* `edgebench proxy lookup (--geoip FILE | --geoip-csv FILE) ADDRESS...`:
 * what the proxy would decide about each address's country and position. */
static int lookup_main(int argc, char **argv)
{
    const char *mmdb = NULL, *csv = NULL;
    int i = 1;
    for (; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--geoip"))
            mmdb = argv[i + 1];
        else if (!strcmp(argv[i], "--geoip-csv"))
            csv = argv[i + 1];
        else
            break;
    }
    if (!mmdb == !csv || i >= argc || argv[i][0] == '-') {
        fprintf(stderr, "Usage: edgebench proxy lookup (--geoip FILE.mmdb | --geoip-csv FILE) "
                        "ADDRESS...\n");
        return 2;
    }
    char err[512];
    struct geo *g =
        mmdb ? geo_open_mmdb(mmdb, err, sizeof(err)) : geo_open_csv(csv, err, sizeof(err));
    if (!g) {
        fprintf(stderr, "edgebench proxy lookup: %s\n", err);
        return 1;
    }
    int rc = 0;
    for (; i < argc; i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, argv[i], &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
        } else if (inet_pton(AF_INET6, argv[i], &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
        } else {
            fprintf(stderr, "edgebench proxy lookup: '%s' is not an IPv4 or IPv6 address\n",
                    argv[i]);
            rc = 2;
            continue;
        }
        char cc[3];
        geo_lookup(g, (struct sockaddr *)&ss, cc);
        const struct country *c = countries_find(cc);
        if (c)
            printf("%s %s %.2f %.2f %s\n", argv[i], cc, c->lat, c->lon, c->name);
        else
            printf("%s %s\n", argv[i], cc);
    }
    geo_free(g);
    return rc;
}

int proxy_main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "routes"))
        return routes_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "lookup"))
        return lookup_main(argc - 1, argv + 1);
    struct proxy px;
    memset(&px, 0, sizeof(px));
    px.epfd = -1;
    struct proxy_config *cfg = &px.cfg;
    cfg->health = HEALTH_TCP;
    cfg->health_interval_ms = 2000;
    cfg->health_timeout_ms = 1000;
    cfg->rise = 2;
    cfg->fall = 3;
    cfg->passive_hold_ms = 10000;
    cfg->connect_timeout_ms = 2000;
    cfg->idle_timeout_ms = 300000;
    cfg->drain_timeout_ms = 30000;
    cfg->affinity_ttl_ms = 600000;
    cfg->max_attempts = 3;
    cfg->max_conns = 20000;
    cfg->buffer = 65536;
    cfg->access_log = "-";
    int rc = 2;
    struct event *sigs[4] = {NULL, NULL, NULL, NULL};
    struct event *sweep = NULL;
    char err[512];
    log_set_component("proxy");

    int p = parse_options(argc, argv, cfg);
    if (p != 0)
        return p > 0 ? 0 : 2;
    if (cfg->pop) {
        px.pop = catalog_region(cfg->pop);
        if (!px.pop) {
            fprintf(stderr, "edgebench proxy: --pop '%s' is not a region; use one of %s\n",
                    cfg->pop, catalog_region_codes());
            return 2;
        }
    } else if (cli_env("FLY_REGION")) {
        px.pop = catalog_region(cli_env("FLY_REGION"));
    }
    struct sockaddr_storage listen_sa;
    int listen_len = sizeof(listen_sa);
    char lbuf[300];
    snprintf(lbuf, sizeof(lbuf), "%s%s", cfg->listen[0] == ':' ? "0.0.0.0" : "", cfg->listen);
    char lhost[256];
    uint16_t lport = 0;
    /* the port whole, 1 to 65535 (libevent's parser would take "8443x" as 8443) */
    if (parse_hostport(lbuf, lhost, sizeof(lhost), &lport) < 0 ||
        evutil_parse_sockaddr_port(lbuf, (struct sockaddr *)&listen_sa, &listen_len) < 0) {
        fprintf(stderr,
                "edgebench proxy: --listen '%s' is not ADDR:PORT, with a numeric address (no "
                "host names) and a port from 1 to 65535 (e.g. 0.0.0.0:8443)\n",
                cfg->listen);
        return 2;
    }
    if (cfg->admin) {
        char ahost[256];
        uint16_t aport = 0;
        if (parse_hostport(cfg->admin, ahost, sizeof(ahost), &aport) < 0 || !aport) {
            fprintf(stderr,
                    "edgebench proxy: --admin '%s' is not ADDR:PORT with a port from 1 to 65535 "
                    "(e.g. 127.0.0.1:9100)\n",
                    cfg->admin);
            return 2;
        }
    }
    if (cfg->routes_pg) {
        char *perr = NULL;
        PQconninfoOption *o = PQconninfoParse(cfg->routes_pg, &perr);
        PQfreemem(perr); /* it may quote the value, password included */
        if (!o) {
            fprintf(stderr, "edgebench proxy: --routes-pg is not a libpq URI or conninfo string "
                            "(its value is not shown: it may hold a password); use e.g. "
                            "postgresql://USER:PASSWORD@HOST:5432/DBNAME\n");
            return 2;
        }
        PQconninfoFree(o);
    }
    rc = 1;
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
        seed = clock_now_ns();
    px.rng = seed | 1;
    px.started_ns = clock_now_ns();
    /* the changelist coalesces the several epoll_ctl calls a connection's
     * setup and teardown make within one loop iteration */
    struct event_config *ecfg = event_config_new();
    if (ecfg) {
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        px.base = event_base_new_with_config(ecfg);
        event_config_free(ecfg);
    }
    px.affinity = affinity_new();
    if (!px.base || !px.affinity || conn_init(&px) < 0) {
        fprintf(stderr, "edgebench proxy: out of memory\n");
        goto cleanup;
    }
    if (!strcmp(cfg->access_log, "-")) {
        px.access_log = stdout;
        setvbuf(stdout, NULL, _IOLBF, 0);
    } else if (strcmp(cfg->access_log, "off")) {
        px.access_log = fopen(cfg->access_log, "a");
        if (!px.access_log) {
            fprintf(stderr, "edgebench proxy: cannot open --access-log '%s': %s\n", cfg->access_log,
                    strerror(errno));
            goto cleanup;
        }
        setvbuf(px.access_log, NULL, _IOLBF, 0);
    }
    if (load_geo(&px, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench proxy: %s\n", err);
        goto cleanup;
    }
    if (cfg->rtt_from && load_rtt(&px, cfg->rtt_from, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench proxy: %s\n", err);
        goto cleanup;
    }
    px.pg_retry = evtimer_new(px.base, pg_retry_cb, &px);
    if (cfg->routes_pg) {
        px.pg = routes_pg_connect(cfg->routes_pg, err, sizeof(err));
        if (!px.pg) {
            fprintf(stderr, "edgebench proxy: %s\n", err);
            goto cleanup;
        }
        PQsetnonblocking(px.pg, 1);
        px.pg_event = event_new(px.base, PQsocket(px.pg), EV_READ | EV_PERSIST, pg_read_cb, &px);
        event_add(px.pg_event, NULL);
    } else {
        px.routes_stamp = file_stamp(cfg->routes_file);
    }
    if (load_routes(&px, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench proxy: %s\n", err);
        goto cleanup;
    }
    if (px.nbackends == 0)
        log_warn("the routing table has no backends%s%s%s: connections will be refused until it "
                 "has%s",
                 cfg->app ? " for --app '" : "", cfg->app ? cfg->app : "", cfg->app ? "'" : "",
                 cfg->app ? " (routes list shows every app's rows)" : "");
    if (cfg->routes_file) {
        px.watch_timer = event_new(px.base, -1, EV_PERSIST, watch_cb, &px);
        struct timeval one = {1, 0};
        event_add(px.watch_timer, &one);
    }
    px.listener = evconnlistener_new_bind(
        px.base, accept_cb, &px, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        4096, (struct sockaddr *)&listen_sa, listen_len);
    if (!px.listener) {
        fprintf(stderr, "edgebench proxy: cannot listen on %s: %s\n", cfg->listen, strerror(errno));
        goto cleanup;
    }
    evconnlistener_set_error_cb(px.listener, accept_error_cb);
    {
        /* accepted sockets inherit it (Linux): one call, not one per connection */
        int one = 1;
        setsockopt(evconnlistener_get_fd(px.listener), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (cfg->admin && admin_start(&px, cfg->admin, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench proxy: %s\n", err);
        goto cleanup;
    }
    sigs[0] = evsignal_new(px.base, SIGTERM, stop_cb, &px);
    sigs[1] = evsignal_new(px.base, SIGINT, stop_cb, &px);
    sigs[2] = evsignal_new(px.base, SIGHUP, hup_cb, &px);
    for (int i = 0; i < 3; i++)
        if (sigs[i])
            event_add(sigs[i], NULL);
    if (cfg->affinity_ttl_ms > 0) {
        sweep = event_new(px.base, -1, EV_PERSIST, sweep_cb, &px);
        struct timeval tv = {cfg->affinity_ttl_ms < 60000 ? 1 : 60, 0};
        event_add(sweep, &tv);
    }
    log_info("listening on %s: %zu backends, geo %s (%zu entries), pop %s%s%s", cfg->listen,
             px.nbackends, cfg->geoip ? cfg->geoip : cfg->geoip_csv, geo_size(px.geo),
             px.pop ? px.pop->code : "none", cfg->admin ? ", admin on " : "",
             cfg->admin ? cfg->admin : "");
    event_base_dispatch(px.base);
    rc = 0;
cleanup:
    conn_fini(&px);
    if (px.listener)
        evconnlistener_free(px.listener);
    admin_stop(&px);
    for (size_t i = 0; i < px.nbackends; i++) {
        px.backends[i]->retired = true;
        backend_unref(px.backends[i]);
    }
    free(px.backends);
    for (int i = 0; i < 4; i++)
        if (sigs[i])
            event_free(sigs[i]);
    if (sweep)
        event_free(sweep);
    if (px.watch_timer)
        event_free(px.watch_timer);
    if (px.drain_timer)
        event_free(px.drain_timer);
    if (px.pg_event)
        event_free(px.pg_event);
    if (px.pg_retry)
        event_free(px.pg_retry);
    PQfinish(px.pg);
    geo_free(px.geo);
    affinity_free(px.affinity);
    free(px.rtt);
    free(px.counters);
    if (px.access_log && px.access_log != stdout)
        fclose(px.access_log);
    if (px.base)
        event_base_free(px.base);
    return rc;
}
