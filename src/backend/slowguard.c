#include "backend/slowguard.h"

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
    struct bufferevent *filter; /* the key: what evhttp holds */
    struct bufferevent *under;
    struct event *timer;
    bool handling;
    struct guard_conn *next;
};

struct slowguard {
    struct event_base *base;
    struct timeval deadline;
    struct guard_conn *bucket[NBUCKETS];
};

static size_t slot(const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) % NBUCKETS);
}

static struct guard_conn *find(struct slowguard *g, const struct bufferevent *filter)
{
    struct guard_conn *c = g->bucket[slot(filter)];
    while (c && c->filter != filter)
        c = c->next;
    return c;
}

static void unlink_conn(struct guard_conn *c)
{
    struct guard_conn **pp = &c->g->bucket[slot(c->filter)];
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp)
        *pp = c->next;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct guard_conn *c = arg;
    if (c->handling)
        return;
    evutil_socket_t sock = bufferevent_getfd(c->under);
    log_warn("closing a connection whose request took longer than %ld s to arrive",
             (long)c->g->deadline.tv_sec);
    /* evhttp sees end-of-file and frees the connection, and with it this guard */
    if (sock >= 0)
        shutdown(sock, SHUT_RDWR);
}

static enum bufferevent_filter_result in_filter(struct evbuffer *src, struct evbuffer *dst,
                                                ev_ssize_t limit, enum bufferevent_flush_mode mode,
                                                void *ctx)
{
    struct guard_conn *c = ctx;
    size_t n = evbuffer_get_length(src);
    if (n == 0)
        return BEV_NEED_MORE;
    if (!c->handling && !evtimer_pending(c->timer, NULL))
        evtimer_add(c->timer, &c->g->deadline);
    evbuffer_add_buffer(dst, src);
    return BEV_OK;
}

static enum bufferevent_filter_result out_filter(struct evbuffer *src, struct evbuffer *dst,
                                                 ev_ssize_t limit, enum bufferevent_flush_mode mode,
                                                 void *ctx)
{
    evbuffer_add_buffer(dst, src);
    return BEV_OK;
}

static void free_conn(void *ctx)
{
    struct guard_conn *c = ctx;
    unlink_conn(c);
    event_free(c->timer);
    free(c);
}

static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
    struct slowguard *g = arg;
    struct guard_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->g = g;
    c->timer = evtimer_new(base, timer_cb, c);
    c->under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->timer && c->under)
        c->filter = bufferevent_filter_new(c->under, in_filter, out_filter, BEV_OPT_CLOSE_ON_FREE,
                                           free_conn, c);
    if (!c->filter) {
        if (c->under)
            bufferevent_free(c->under);
        if (c->timer)
            event_free(c->timer);
        free(c);
        return NULL;
    }
    size_t k = slot(c->filter);
    c->next = g->bucket[k];
    g->bucket[k] = c;
    return c->filter;
}

struct slowguard *slowguard_new(struct event_base *base, struct evhttp *http, long deadline_s)
{
    struct slowguard *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->base = base;
    g->deadline.tv_sec = deadline_s;
    evhttp_set_bevcb(http, bev_cb, g);
    return g;
}

void slowguard_free(struct slowguard *g)
{
    /* connections still open are freed by evhttp_free, which calls free_conn */
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
        evtimer_del(c->timer);
    }
}

void *slowguard_request_done(struct slowguard *g, struct evhttp_request *req)
{
    struct guard_conn *c = of_request(g, req);
    if (c)
        c->handling = false;
    return c ? c->filter : NULL;
}

void slowguard_flush(void *token)
{
    if (token)
        bufferevent_flush(token, EV_WRITE, BEV_NORMAL);
}
