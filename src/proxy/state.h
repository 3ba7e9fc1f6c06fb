/* The proxy's shared runtime state: configuration, the live backends, the
 * connection list and the counters the admin listener exports. One thread,
 * one event loop: nothing here is locked.
 *
 * Ownership: backends are reference counted. The table (proxy.backends)
 * holds one reference to each; every connection or health check that points
 * at a backend holds one more. A reload that drops a backend marks it
 * retired and releases the table's reference; the backend is freed when its
 * last connection ends. */
#ifndef EB_PROXY_STATE_H
#define EB_PROXY_STATE_H

#include "proxy/routes.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROXY_MAX_ATTEMPTS 8
#define PROXY_MAX_TRUSTED 16

/* Candidates whose cost (km, or ms with measured RTTs) differs by less than
 * this are "equally near": the proxy picks among them by weight. */
#define PROXY_EQUAL_COST 1.0

struct geo;
struct conn;
struct affinity;

enum reason {
    REASON_NEAREST,
    REASON_AFFINITY,
    REASON_SOFT_LIMIT,
    REASON_FAILOVER,
    REASON_POP,
    REASON_HARD_LIMIT, /* a nearer backend was at its hard limit */
    REASON_COUNT
};
const char *reason_name(enum reason r);

enum health_mode { HEALTH_NONE, HEALTH_TCP, HEALTH_HTTP };

struct proxy_config {
    const char *listen;
    const char *routes_file, *routes_pg, *app;
    const char *geoip, *geoip_csv;
    const char *pop;
    const char *admin;
    const char *rtt_from;
    const char *access_log;
    enum health_mode health;
    const char *health_path;
    double health_interval_ms, health_timeout_ms;
    long rise, fall;
    double passive_hold_ms;
    double connect_timeout_ms, idle_timeout_ms, drain_timeout_ms, affinity_ttl_ms;
    long max_attempts, max_conns;
    size_t buffer;
    int send_proxy; /* 0, 1 or 2 */
    struct {
        int family;
        uint8_t addr[16];
        unsigned prefix;
    } trusted[PROXY_MAX_TRUSTED];
    size_t ntrusted;
};

struct backend {
    struct route route;
    double lat, lon;    /* the region's position */
    double measured_ms; /* the region's measured RTT from --rtt-from, or -1 */
    char label[96];     /* "lhr/127.0.0.1:9001" */
    bool healthy;
    long ok_streak, fail_streak;
    uint64_t down_until_ns; /* passive hold when active checks are off */
    long active;            /* connections counted at selection */
    uint64_t total, failures, checks_ok, checks_failed;
    int refs;
    bool retired;                  /* out of the table; alive while connections hold it */
    struct backend *rprev, *rnext; /* in px->retired while retired and held */
    struct proxy *px;
    struct event *check_timer;
    struct bufferevent *check_bev;
    struct event *check_deadline;
};

/* Connections served, by backend, region and client country. */
struct conn_counter {
    char backend[72];
    char region[8];
    char country[3];
    uint64_t n;
};

struct proxy {
    struct proxy_config cfg;
    struct event_base *base;
    struct evconnlistener *listener;
    struct evhttp *admin;
    struct geo *geo;
    struct backend **backends;
    size_t nbackends;
    const struct region *pop;
    struct affinity *affinity;
    FILE *access_log;
    struct conn *conns; /* doubly linked list of live connections */
    /* the connections' sockets: an edge-triggered epoll set (conn.c) */
    int epfd;
    struct event *ep_event, *runq_timer;
    struct conn *runq, *runq_tail; /* connections to run again */
    struct conn *grave;            /* ended, freed after the batch */
    bool in_batch;
    const struct timeval *idle_tv; /* --idle-timeout, as a common timeout */
    struct backend *retired;       /* removed from the table, still serving */
    long nconns;
    bool draining;
    bool at_cap;  /* refusing over --max-conns (logged when it starts and ends) */
    bool cutting; /* the drain ended early: what is left is being cut */
    struct event *drain_timer;
    uint64_t started_ns;
    uint64_t rng;
    /* routing.db change detection */
    struct event *watch_timer;
    uint64_t routes_stamp;
    /* PostgreSQL LISTEN connection */
    void *pg;
    struct event *pg_event, *pg_retry;
    /* rtt table from --rtt-from */
    struct {
        char region[8];
        double ms;
    } * rtt;
    size_t nrtt;
    /* counters */
    uint64_t accepted, refused_cap, refused_nobackend, failovers, bad_proxy_header;
    uint64_t bytes_up, bytes_down;
    uint64_t spliced;      /* of those, bytes moved by splice(2) */
    uint64_t splice_waits; /* times a pipe waited for a slow destination */
    uint64_t decisions[REASON_COUNT];
    uint64_t reloads_ok, reloads_failed;
    struct conn_counter *counters;
    size_t ncounters, capcounters;
};

/* backends */
void backend_ref(struct backend *b);
void backend_unref(struct backend *b);
/* True when new connections may go to b now (enabled, weight > 0, healthy). */
bool backend_usable(struct backend *b);
/* A connect to b failed or timed out: mark it down until checks bring it up. */
void backend_passive_failure(struct backend *b, const char *why);
void backend_passive_success(struct backend *b);
/* Replaces the live table with t (keeping state of unchanged backends). */
int proxy_apply_table(struct proxy *px, const struct route_table *t);

/* balance.c */
struct affinity *affinity_new(void);
void affinity_free(struct affinity *a);
/* Drops expired entries; returns how many remain. */
size_t affinity_sweep(struct affinity *a, uint64_t now_ns);
size_t affinity_count(const struct affinity *a);
/* Picks the next backend for a client (country "--" when unknown) not in
 * tried[]; counts it at once (active++, a reference taken). NULL when no
 * backend can take the connection. */
struct backend *balance_pick(struct proxy *px, const struct sockaddr *client, const char *country,
                             struct backend *const *tried, size_t ntried, enum reason *reason);
/* Cost of a backend for a client at (lat, lon): km, or estimated ms with --rtt-from. */
double balance_cost(const struct proxy *px, const struct backend *b, bool have_pos, double lat,
                    double lon);

/* health.c */
void health_start(struct backend *b);
void health_stop(struct backend *b);

/* admin.c */
int admin_start(struct proxy *px, const char *addr, char *err, size_t errlen);
void admin_stop(struct proxy *px);
void proxy_count_connection(struct proxy *px, const struct backend *b, const char *country);

/* conn.c */
int conn_init(struct proxy *px);
void conn_fini(struct proxy *px); /* after conn_close_all, before the base goes */
void conn_accept(struct proxy *px, int fd, const struct sockaddr *peer, int peerlen);
/* Ends every connection with a reset; result: drain_timeout or drain_cut. */
void conn_close_all(struct proxy *px, const char *result);
/* Called by conn.c when the last connection ends during a drain. */
void proxy_conn_gone(struct proxy *px);

#endif
