/* Active health checks, HAProxy style: every interval a TCP connect (or an
 * HTTP GET of a path, 2xx/3xx = good) with a timeout; `rise` consecutive
 * successes bring a backend up, `fall` consecutive failures take it down. */
#include "proxy/state.h"

#include "core/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_done(struct backend *b, bool ok, const char *why)
{
    struct proxy *px = b->px;
    if (b->check_bev) {
        bufferevent_free(b->check_bev);
        b->check_bev = NULL;
    }
    if (b->check_deadline)
        event_del(b->check_deadline);
    if (ok) {
        b->checks_ok++;
        b->fail_streak = 0;
        b->ok_streak++;
        if (!b->healthy && b->ok_streak >= px->cfg.rise) {
            b->healthy = true;
            log_info("backend %s is up (%ld checks passed)", b->label, b->ok_streak);
        }
    } else {
        b->checks_failed++;
        b->ok_streak = 0;
        b->fail_streak++;
        if (b->healthy && b->fail_streak >= px->cfg.fall) {
            b->healthy = false;
            log_warn("backend %s is down: %s (%ld checks failed)", b->label, why, b->fail_streak);
        }
    }
}

static void check_read_cb(struct bufferevent *bev, void *arg)
{
    struct backend *b = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_CRLF);
    if (eol.pos < 0) {
        if (evbuffer_get_length(in) > 1024)
            check_done(b, false, "HTTP status line too long");
        return;
    }
    char line[64] = {0};
    evbuffer_copyout(in, line, sizeof(line) - 1);
    int status = 0;
    if (sscanf(line, "HTTP/1.%*d %d", &status) == 1 && status >= 200 && status < 400) {
        check_done(b, true, NULL);
    } else {
        char why[96];
        snprintf(why, sizeof(why), "health check answered HTTP %d", status);
        check_done(b, false, why);
    }
}

static void check_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct backend *b = arg;
    struct proxy *px = b->px;
    if (what & BEV_EVENT_CONNECTED) {
        if (px->cfg.health == HEALTH_TCP) {
            check_done(b, true, NULL);
            return;
        }
        evbuffer_add_printf(bufferevent_get_output(bev),
                            "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: edgebench-proxy\r\n"
                            "Connection: close\r\n\r\n",
                            px->cfg.health_path, b->route.address);
        bufferevent_enable(bev, EV_READ);
        return;
    }
    check_done(b, false, (what & BEV_EVENT_EOF) ? "connection closed" : "connect failed");
}

static void check_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct backend *b = arg;
    check_done(b, false, "health check timed out");
}

static void check_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct backend *b = arg;
    struct proxy *px = b->px;
    if (b->check_bev) /* previous one still running: its deadline will end it */
        return;
    b->check_bev = bufferevent_socket_new(px->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!b->check_bev)
        return;
    bufferevent_setcb(b->check_bev, check_read_cb, NULL, check_event_cb, b);
    struct timeval tv = {(time_t)(px->cfg.health_timeout_ms / 1000),
                         (suseconds_t)((long)px->cfg.health_timeout_ms % 1000 * 1000)};
    evtimer_add(b->check_deadline, &tv);
    if (bufferevent_socket_connect(b->check_bev, (struct sockaddr *)&b->route.sa,
                                   (int)b->route.salen) < 0)
        check_done(b, false, "connect failed");
}

void health_start(struct backend *b)
{
    struct proxy *px = b->px;
    if (px->cfg.health == HEALTH_NONE || b->check_timer)
        return;
    b->check_timer = event_new(px->base, -1, EV_PERSIST, check_timer_cb, b);
    b->check_deadline = evtimer_new(px->base, check_deadline_cb, b);
    if (!b->check_timer || !b->check_deadline)
        return;
    struct timeval tv = {(time_t)(px->cfg.health_interval_ms / 1000),
                         (suseconds_t)((long)px->cfg.health_interval_ms % 1000 * 1000)};
    event_add(b->check_timer, &tv);
    check_timer_cb(-1, 0, b); /* first check now */
}

void health_stop(struct backend *b)
{
    if (b->check_bev) {
        bufferevent_free(b->check_bev);
        b->check_bev = NULL;
    }
    if (b->check_timer) {
        event_free(b->check_timer);
        b->check_timer = NULL;
    }
    if (b->check_deadline) {
        event_free(b->check_deadline);
        b->check_deadline = NULL;
    }
}
