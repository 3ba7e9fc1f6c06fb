#include "backend/slowguard.h"

#include "core/clock.h"
#include "core/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#define NBUCKETS 1024

struct guard_conn {
    struct slowguard *g;
    struct bufferevent *bev;   /* we hold one reference */
    uint64_t request_start_ns; /* 0: no request being received */
    bool handling;             /* between slowguard_request_start and _done */
    bool cut;
    struct guard_conn *next;
};

struct slowguard {
    struct event_base *base;
    uint64_t deadline_ns;
    struct event *sweep;
    struct guard_conn *bucket[NBUCKETS];
};

static size_t slot(const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) % NBUCKETS);
}

static struct guard_conn *find(struct slowguard *g, const struct bufferevent *bev)
{
    struct guard_conn *c = g->bucket[slot(bev)];
    while (c && c->bev != bev)
        c = c->next;
    return c;
}

static void input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct guard_conn *c = arg;
    if (info->n_added > 0 && !c->handling && !c->request_start_ns)
        c->request_start_ns = clock_now_ns();
}

static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
    struct slowguard *g = arg;
    struct guard_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev || !evbuffer_add_cb(bufferevent_get_input(c->bev), input_cb, c)) {
        if (c->bev)
            bufferevent_free(c->bev);
        free(c);
        return NULL;
    }
    bufferevent_incref(c->bev);
    c->g = g;
    size_t k = slot(c->bev);
    c->next = g->bucket[k];
    g->bucket[k] = c;
    return c->bev;
}

/* evhttp sets its callbacks as soon as bev_cb returns (in the same accept
 * callback) and its bufferevent_free clears them; our reference keeps the
 * object and its descriptor alive until the sweep sees that. */
static bool freed_by_evhttp(struct guard_conn *c)
{
    bufferevent_event_cb eventcb = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, &eventcb, NULL);
    return eventcb == NULL;
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct slowguard *g = arg;
    uint64_t now = clock_now_ns();
    for (size_t k = 0; k < NBUCKETS; k++) {
        struct guard_conn **pp = &g->bucket[k];
        while (*pp) {
            struct guard_conn *c = *pp;
            if (freed_by_evhttp(c)) {
                *pp = c->next;
                bufferevent_decref(c->bev); /* closes the descriptor */
                free(c);
                continue;
            }
            if (!c->handling && !c->cut && c->request_start_ns &&
                now - c->request_start_ns > g->deadline_ns) {
                log_warn("closing a connection whose request took longer than %.0f s to arrive",
                         (double)g->deadline_ns / 1e9);
                c->cut = true;
                /* evhttp sees end-of-file and frees the connection */
                evutil_socket_t s = bufferevent_getfd(c->bev);
                if (s >= 0)
                    shutdown(s, SHUT_RDWR);
            }
            pp = &c->next;
        }
    }
}

struct slowguard *slowguard_new(struct event_base *base, struct evhttp *http, long deadline_s)
{
    struct slowguard *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    struct timeval period = {0, 250000};
    g->base = base;
    g->deadline_ns = (uint64_t)deadline_s * 1000000000ull;
    g->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, g);
    if (!g->sweep || event_add(g->sweep, &period) < 0) {
        slowguard_free(g);
        return NULL;
    }
    evhttp_set_bevcb(http, bev_cb, g);
    return g;
}

void slowguard_free(struct slowguard *g)
{
    if (!g)
        return;
    for (size_t k = 0; k < NBUCKETS; k++) {
        while (g->bucket[k]) {
            struct guard_conn *c = g->bucket[k];
            g->bucket[k] = c->next;
            bufferevent_decref(c->bev);
            free(c);
        }
    }
    if (g->sweep)
        event_free(g->sweep);
    free(g);
}

static struct guard_conn *of_request(struct slowguard *g, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    return evcon ? find(g, evhttp_connection_get_bufferevent(evcon)) : NULL;
}

void slowguard_request_start(struct slowguard *g, struct evhttp_request *req)
{
    struct guard_conn *c = of_request(g, req);
    if (c) {
        c->handling = true;
        c->request_start_ns = 0;
    }
}

void slowguard_request_done(struct slowguard *g, struct evhttp_request *req)
{
    struct guard_conn *c = of_request(g, req);
    if (c)
        c->handling = false;
}
