/* One client connection: optional inbound PROXY header, backend selection
 * with connect timeout and failover, then a relay between the two sockets
 * with bounded queues, half-close and an idle timeout. One access-log line
 * when it ends.
 *
 * States move only through conn_set_state():
 *   HEADER     (reading a PROXY header from a trusted upstream)
 *   CONNECTING (a connect to a backend is in flight, with a deadline)
 *   RELAY      (bytes flow both ways until both sides finished or an error)
 *
 * Each socket has one read and one write event (libevent), no bufferevent:
 * the relay reads into a scratch buffer and writes straight to the other
 * socket, queueing only what that socket does not take, and bulk bursts go
 * through a pipe with splice(2). That is one syscall per read and per
 * write, as HAProxy makes (a bufferevent asks ioctl(FIONREAD) before every
 * read), and writability is watched only while bytes wait, or while a
 * connect is in flight. What the client sends before the relay starts
 * waits in the queue toward the server. */
#include "proxy/state.h"

#include "core/clock.h"
#include "core/log.h"
#include "proxy/geo.h"
#include "proxy/pp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum conn_state { CONN_HEADER, CONN_CONNECTING, CONN_RELAY };

/* One side of the relay (client or server). */
struct side {
    int fd;                /* owned by the relay; -1 before it starts */
    struct event *rev;     /* readable, with the idle timeout */
    struct event *wev;     /* writable, while bytes wait to be written here */
    struct evbuffer *q;    /* bytes waiting to be written to this side */
    bool reading, writing; /* rev / wev added */
    bool eof;              /* this side sent EOF */
    bool shut;             /* we shut this side's write half */
    /* The kernel pipe carrying bulk bursts toward this side: splice(2)
     * moves bytes socket -> pipe -> socket without a copy through user
     * space. Made on the first full read toward this side (a connection
     * that only trades small messages never has one). While `pending` bytes
     * wait in it, nothing is added to q (order) and the other side is not
     * read (bounded). */
    int prfd, pwfd; /* -1: none yet */
    size_t pending;
    bool no_pipe; /* none could be made: copy instead */
};

enum { CLIENT = 0, SERVER = 1 };

struct conn {
    struct conn *prev, *next;
    struct proxy *px;
    enum conn_state state;
    struct event *timer; /* PROXY header or connect deadline */
    struct sockaddr_storage peer, local, client_addr;
    char country[3];
    struct backend *backend;
    struct backend *tried[PROXY_MAX_ATTEMPTS];
    size_t ntried;
    enum reason reason;
    uint64_t start_ns, last_active_ns;
    uint64_t up, down;
    struct side side[2]; /* [CLIENT], [SERVER] */
};

static void conn_set_state(struct conn *c, enum conn_state s)
{
    /* HEADER -> CONNECTING -> (CONNECTING ->)* RELAY; anything else is a bug */
    bool ok = (c->state == CONN_HEADER && s == CONN_CONNECTING) ||
              (c->state == CONN_CONNECTING && (s == CONN_CONNECTING || s == CONN_RELAY));
    if (!ok) {
        log_error("connection state %d -> %d is impossible", c->state, s);
        abort();
    }
    c->state = s;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        port = ntohs(in->sin_port);
        snprintf(buf, len, "%s:%u", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
        snprintf(buf, len, "[%s]:%u", ip, port);
    } else {
        snprintf(buf, len, "?");
    }
}

static void access_log(struct conn *c, const char *result)
{
    FILE *f = c->px->access_log;
    if (!f)
        return;
    char client[64], ts[40];
    fmt_addr(&c->client_addr, client, sizeof(client));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
    fprintf(f,
            "%s client=%s country=%s backend=%s reason=%s attempts=%zu bytes_up=%llu "
            "bytes_down=%llu duration_ms=%.3f result=%s\n",
            ts, client, c->country, c->backend ? c->backend->label : "-",
            c->backend ? reason_name(c->reason) : "-", c->ntried, (unsigned long long)c->up,
            (unsigned long long)c->down, (double)(clock_now_ns() - c->start_ns) / 1e6, result);
}

static void release_backend(struct conn *c)
{
    if (!c->backend)
        return;
    c->backend->active--;
    backend_unref(c->backend);
}

/* Closing with a reset, not a FIN: the peer must not take a cut-off
 * stream for a complete one. */
static void abort_fd(int fd)
{
    struct linger lg = {1, 0};
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void conn_free(struct conn *c, const char *result)
{
    struct proxy *px = c->px;
    access_log(c, result);
    /* a reset on one side, or the proxy cutting both, reaches the other
     * side(s) as a reset */
    bool cut = !strcmp(result, "drain_timeout");
    if (cut || !strcmp(result, "backend_error"))
        abort_fd(c->side[CLIENT].fd);
    if (cut || !strcmp(result, "client_error"))
        abort_fd(c->side[SERVER].fd);
    if (c->timer)
        event_free(c->timer);
    for (int i = 0; i < 2; i++) {
        struct side *sd = &c->side[i];
        if (sd->rev)
            event_free(sd->rev);
        if (sd->wev)
            event_free(sd->wev);
        if (sd->q)
            evbuffer_free(sd->q);
        if (sd->prfd >= 0)
            close(sd->prfd), close(sd->pwfd);
        if (sd->fd >= 0)
            close(sd->fd);
    }
    release_backend(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        px->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    px->nconns--;
    free(c);
    if (px->draining && px->nconns == 0)
        proxy_conn_gone(px);
}

void conn_close_all(struct proxy *px)
{
    while (px->conns)
        conn_free(px->conns, "drain_timeout");
}

static struct timeval ms_tv(double ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((long)ms % 1000 * 1000)};
    return tv;
}

/* ---- relay ---- */

static const char *side_error(int i)
{
    return i == CLIENT ? "client_error" : "backend_error";
}

static bool again(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

static size_t queued(const struct side *sd)
{
    return sd->pending + (sd->q ? evbuffer_get_length(sd->q) : 0);
}

static void read_on(struct conn *c, int i)
{
    struct side *sd = &c->side[i];
    if (sd->reading || sd->eof)
        return;
    struct timeval tv = ms_tv(c->px->cfg.idle_timeout_ms);
    event_add(sd->rev, c->px->cfg.idle_timeout_ms > 0 ? &tv : NULL);
    sd->reading = true;
}

static void read_off(struct conn *c, int i)
{
    if (c->side[i].reading)
        event_del(c->side[i].rev), c->side[i].reading = false;
}

static void write_on(struct conn *c, int i)
{
    struct side *sd = &c->side[i];
    if (sd->writing)
        return;
    struct timeval tv = ms_tv(c->px->cfg.idle_timeout_ms);
    event_add(sd->wev, c->px->cfg.idle_timeout_ms > 0 ? &tv : NULL);
    sd->writing = true;
}

static void write_off(struct conn *c, int i)
{
    if (c->side[i].writing)
        event_del(c->side[i].wev), c->side[i].writing = false;
}

/* Queues bytes toward side i (behind what already waits there). */
static int enqueue(struct conn *c, int i, const void *data, size_t n)
{
    struct side *sd = &c->side[i];
    if (!sd->q && !(sd->q = evbuffer_new()))
        return -1;
    if (evbuffer_add(sd->q, data, n) < 0)
        return -1;
    write_on(c, i);
    return 0;
}

/* The pipe toward side i, made on first use; false when there can be none
 * (then bytes are copied, as for small messages). */
static bool pipe_ready(struct conn *c, int i)
{
    struct side *sd = &c->side[i];
    if (sd->prfd >= 0)
        return true;
    if (sd->no_pipe)
        return false;
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        sd->no_pipe = true; /* e.g. out of descriptors */
        return false;
    }
    if ((size_t)fcntl(fds[1], F_GETPIPE_SZ) < c->px->cfg.buffer)
        fcntl(fds[1], F_SETPIPE_SZ, (int)c->px->cfg.buffer); /* best effort */
    sd->prfd = fds[0];
    sd->pwfd = fds[1];
    return true;
}

/* After any change: once one side sent EOF and everything it sent was
 * written to the other, shut the other's write half (half-close); once
 * both did, the connection is over. False when the connection was freed. */
static bool settle(struct conn *c)
{
    struct side *cl = &c->side[CLIENT], *sv = &c->side[SERVER];
    if (cl->eof && sv->eof && queued(cl) == 0 && queued(sv) == 0) {
        conn_free(c, "ok");
        return false;
    }
    for (int i = 0; i < 2; i++) {
        struct side *dst = &c->side[i], *src = &c->side[1 - i];
        if (src->eof && !dst->shut && queued(dst) == 0) {
            /* later in this same loop iteration (c->timer is free during
             * the relay): when the other side's EOF came in the same
             * wake-up, as it does when both end together, its event runs
             * first and both sockets simply close, with no shutdown */
            event_active(c->timer, EV_TIMEOUT, 1);
            break;
        }
    }
    return true;
}

/* The deferred half of settle(): shut the write half of each side whose
 * peer sent EOF and that was given everything before it. */
static void settle_shutdowns(struct conn *c)
{
    struct side *cl = &c->side[CLIENT], *sv = &c->side[SERVER];
    if (cl->eof && sv->eof && queued(cl) == 0 && queued(sv) == 0) {
        conn_free(c, "ok");
        return;
    }
    for (int i = 0; i < 2; i++) {
        struct side *dst = &c->side[i], *src = &c->side[1 - i];
        if (src->eof && !dst->shut && queued(dst) == 0) {
            shutdown(dst->fd, SHUT_WR);
            dst->shut = true;
        }
    }
}

/* Moves what side s has to the other side: straight to its socket while
 * nothing waits for it, else behind what does. A bounded number of rounds
 * per wake-up; the first is a read(), and once a read comes back full (a
 * bulk transfer) the rest go by splice until the socket is drained. The
 * bytes waiting toward the other side stay under --buffer: past it, s is
 * not read until they drain. */
/* Below this, what a read brought is a message, not part of a transfer. */
#define SMALL_MESSAGE 4096

static void relay_read_from(struct conn *c, int s, bool may_peek)
{
    static char chunk[256 * 1024]; /* one thread: one scratch buffer */
    struct proxy *px = c->px;
    int t = 1 - s;
    struct side *src = &c->side[s], *dst = &c->side[t];
    size_t max = px->cfg.buffer < sizeof(chunk) ? px->cfg.buffer : sizeof(chunk);
    size_t moved = 0;
    bool bulk = false;
    for (int round = 0; round < 16; round++) {
        size_t waiting = queued(dst);
        if (dst->pending || waiting >= px->cfg.buffer) {
            read_off(c, s); /* resumed by relay_write when dst drains */
            break;
        }
        ssize_t r;
        if (bulk && waiting == 0 && pipe_ready(c, t)) {
            r = splice(src->fd, NULL, dst->pwfd, NULL, max, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (r > 0) {
                moved += (size_t)r;
                px->spliced += (size_t)r;
                ssize_t w = splice(dst->prfd, NULL, dst->fd, NULL, (size_t)r,
                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (w < 0 && !again()) {
                    conn_free(c, side_error(t));
                    return;
                }
                dst->pending = (size_t)r - (size_t)(w > 0 ? w : 0);
                if (dst->pending) {
                    px->splice_waits++;
                    write_on(c, t);
                    read_off(c, s);
                    break;
                }
                continue; /* until EAGAIN: cheaper than the wake-up it may spare */
            }
        } else {
            size_t n = max < px->cfg.buffer - waiting ? max : px->cfg.buffer - waiting;
            r = read(src->fd, chunk, n);
            if (r > 0) {
                moved += (size_t)r;
                ssize_t w = 0;
                if (waiting == 0) {
                    w = write(dst->fd, chunk, (size_t)r);
                    if (w < 0 && !again()) {
                        conn_free(c, side_error(t));
                        return;
                    }
                    if (w < 0)
                        w = 0;
                }
                if (w < r && enqueue(c, t, chunk + w, (size_t)(r - w)) < 0) {
                    conn_free(c, "out_of_memory");
                    return;
                }
                bulk = (size_t)r == n;
                if (!bulk)
                    break; /* a short read: the socket is drained */
                continue;
            }
        }
        if (r == 0) {
            src->eof = true;
            read_off(c, s);
            break;
        }
        if (!again()) {
            conn_free(c, side_error(s));
            return;
        }
        break;
    }
    if (s == CLIENT) {
        c->up += moved;
        px->bytes_up += moved;
    } else {
        c->down += moved;
        px->bytes_down += moved;
    }
    if (moved)
        c->last_active_ns = clock_now_ns();
    if (!settle(c))
        return;
    /* A small request went straight through to the backend: look for the
     * answer at once, as HAProxy does, before going back to sleep.
     * A backend on the same host (or one the proxy shares a machine with)
     * has often answered already, which spares a sleep and a wake-up; when
     * it has not, this costs one read() that says EAGAIN. */
    struct side *back = &c->side[t];
    if (may_peek && s == CLIENT && moved && moved < SMALL_MESSAGE && !bulk && queued(dst) == 0 &&
        back->reading && !back->eof && queued(src) == 0)
        relay_read_from(c, t, false);
}

static void relay_read(struct conn *c, int s)
{
    relay_read_from(c, s, true);
}

/* Side t can take more of what waits for it: the pipe first, then q. */
static void relay_write(struct conn *c, int t)
{
    struct proxy *px = c->px;
    struct side *dst = &c->side[t], *src = &c->side[1 - t];
    if (dst->pending) {
        ssize_t w =
            splice(dst->prfd, NULL, dst->fd, NULL, dst->pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (w < 0 && !again()) {
            conn_free(c, side_error(t));
            return;
        }
        if (w > 0) {
            dst->pending -= (size_t)w;
            c->last_active_ns = clock_now_ns();
        }
        if (dst->pending)
            return; /* wev persists: wait for the next writable */
    }
    if (dst->q && evbuffer_get_length(dst->q)) {
        int w = evbuffer_write(dst->q, dst->fd);
        if (w < 0 && !again()) {
            conn_free(c, side_error(t));
            return;
        }
        if (w > 0)
            c->last_active_ns = clock_now_ns();
    }
    size_t left = queued(dst);
    if (left == 0)
        write_off(c, t);
    if (left <= px->cfg.buffer / 2 && !src->eof && !src->reading) {
        read_on(c, 1 - t);
        if (left == 0) {
            relay_read(c, 1 - t); /* read at once rather than wait for its event */
            return;
        }
    }
    settle(c);
}

/* A timeout on a side's read event: the connection was silent both ways
 * for --idle-timeout; on a write event: that side took nothing for that
 * long. */
static void relay_idle(struct conn *c, struct event *ev, bool writing)
{
    uint64_t idle = (uint64_t)(c->px->cfg.idle_timeout_ms * 1e6);
    uint64_t quiet = clock_now_ns() - c->last_active_ns;
    /* the timer ran from when the event was armed; traffic since (the
     * other direction's) moves the deadline: wait for what is left of it,
     * not for a whole new period (within a millisecond is due now) */
    if (writing || quiet + 1000000 >= idle) {
        conn_free(c, "idle_timeout");
        return;
    }
    uint64_t left = idle - quiet;
    struct timeval tv = {(time_t)(left / 1000000000), (suseconds_t)(left % 1000000000 / 1000)};
    event_add(ev, &tv);
}

static void header_read(struct conn *c);
static void early_read(struct conn *c);
static void connected(struct conn *c);

/* The client's socket is readable: a PROXY header, bytes sent while we
 * connect to a backend, or the relay. */
static void client_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (what & EV_TIMEOUT)
        relay_idle(c, c->side[CLIENT].rev, false);
    else if (c->state == CONN_HEADER)
        header_read(c);
    else if (c->state == CONN_CONNECTING)
        early_read(c);
    else
        relay_read(c, CLIENT);
}

static void server_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (what & EV_TIMEOUT)
        relay_idle(c, c->side[SERVER].rev, false);
    else
        relay_read(arg, SERVER);
}

static void client_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (what & EV_TIMEOUT)
        relay_idle(c, c->side[CLIENT].wev, true);
    else
        relay_write(arg, CLIENT);
}

/* The server's socket is writable: the connect finished (either way), or
 * the relay has bytes waiting for it. */
static void server_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->state == CONN_CONNECTING) {
        if (!(what & EV_TIMEOUT)) /* the connect deadline is c->timer's */
            connected(c);
    } else if (what & EV_TIMEOUT) {
        relay_idle(c, c->side[SERVER].wev, true);
    } else {
        relay_write(c, SERVER);
    }
}

/* ---- connecting ---- */

static void try_next(struct conn *c);

/* Closes the server socket of a failed attempt. */
static void server_close(struct conn *c)
{
    struct side *sv = &c->side[SERVER];
    if (sv->rev)
        event_free(sv->rev);
    if (sv->wev)
        event_free(sv->wev);
    sv->rev = sv->wev = NULL;
    sv->reading = sv->writing = false;
    if (sv->fd >= 0)
        close(sv->fd);
    sv->fd = -1;
}

static void start_relay(struct conn *c)
{
    struct proxy *px = c->px;
    struct side *sv = &c->side[SERVER];
    event_del(c->timer);
    conn_set_state(c, CONN_RELAY);
    backend_passive_success(c->backend);
    proxy_count_connection(px, c->backend, c->country);
    px->decisions[c->reason]++;
    int one = 1;
    setsockopt(sv->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* our PROXY header goes before what the client sent while we connected */
    if (px->cfg.send_proxy) {
        uint8_t hdr[128];
        int n = px->cfg.send_proxy == 1
                    ? pp_write_v1((struct sockaddr *)&c->client_addr, (struct sockaddr *)&c->local,
                                  (char *)hdr, sizeof(hdr))
                    : pp_write_v2((struct sockaddr *)&c->client_addr, (struct sockaddr *)&c->local,
                                  hdr, sizeof(hdr));
        if (n > 0)
            evbuffer_prepend(sv->q, hdr, (size_t)n);
    }
    c->last_active_ns = clock_now_ns();
    /* the socket has just connected: it takes what waits at once */
    bool sent_early = evbuffer_get_length(sv->q) > 0 && evbuffer_get_length(sv->q) < SMALL_MESSAGE;
    if (evbuffer_get_length(sv->q) && evbuffer_write(sv->q, sv->fd) < 0 && !again()) {
        conn_free(c, "backend_error");
        return;
    }
    write_off(c, SERVER); /* it watched the connect, without the idle timeout */
    if (evbuffer_get_length(sv->q))
        write_on(c, SERVER);
    read_on(c, SERVER);
    if (queued(sv) < px->cfg.buffer)
        read_on(c, CLIENT); /* not when it already sent EOF */
    if (!settle(c))
        return;
    /* the request is on its way: the answer may be there already (see
     * relay_read_from) */
    if (sent_early && queued(sv) == 0)
        relay_read_from(c, SERVER, false);
}

static void connect_failed(struct conn *c, const char *why)
{
    struct proxy *px = c->px;
    struct backend *b = c->backend;
    event_del(c->timer);
    b->failures++;
    backend_passive_failure(b, why);
    log_info("connect to %s failed (%s); trying the next candidate", b->label, why);
    server_close(c);
    release_backend(c);
    c->backend = NULL;
    px->failovers++;
    try_next(c);
}

/* The connect finished: SO_ERROR says how. */
static void connected(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->side[SERVER].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err)
        connect_failed(c, strerror(err));
    else
        start_relay(c);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->state == CONN_RELAY) {
        settle_shutdowns(c);
        return;
    }
    if (c->state == CONN_HEADER) {
        c->px->bad_proxy_header++;
        conn_free(c, "proxy_header_timeout");
        return;
    }
    connect_failed(c, "connect timeout");
}

static void try_next(struct conn *c)
{
    struct proxy *px = c->px;
    enum reason reason = REASON_NEAREST;
    struct backend *b = NULL;
    if (c->ntried < (size_t)px->cfg.max_attempts)
        b = balance_pick(px, (struct sockaddr *)&c->client_addr, c->country, c->tried, c->ntried,
                         &reason);
    if (!b) {
        px->refused_nobackend++;
        conn_free(c, c->ntried ? "all_backends_failed" : "no_backend");
        return;
    }
    if (c->ntried == 0)
        c->reason = reason;
    else
        c->reason = REASON_FAILOVER;
    c->tried[c->ntried++] = b;
    c->backend = b;
    conn_set_state(c, CONN_CONNECTING);
    struct side *sv = &c->side[SERVER];
    const struct sockaddr *sa = (const struct sockaddr *)&b->route.sa;
    sv->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sv->fd < 0) {
        connect_failed(c, strerror(errno));
        return;
    }
    sv->rev = event_new(px->base, sv->fd, EV_READ | EV_PERSIST, server_read_cb, c);
    sv->wev = event_new(px->base, sv->fd, EV_WRITE | EV_PERSIST, server_write_cb, c);
    if (!sv->rev || !sv->wev) {
        conn_free(c, "out_of_memory");
        return;
    }
    if (connect(sv->fd, sa, b->route.salen) < 0 && errno != EINPROGRESS) {
        connect_failed(c, strerror(errno));
        return;
    }
    /* done or in progress: writability says when (and SO_ERROR how) */
    struct timeval tv = ms_tv(px->cfg.connect_timeout_ms);
    evtimer_add(c->timer, &tv);
    event_add(sv->wev, NULL);
    sv->writing = true;
}

static void route_client(struct conn *c)
{
    geo_lookup(c->px->geo, (struct sockaddr *)&c->client_addr, c->country);
    try_next(c);
}

/* What the client sends before the relay starts waits in the queue toward
 * the server (at most --buffer of it). Returns the bytes read, 0 at EOF or
 * when nothing came, -1 when the connection was freed. */
static ssize_t client_gather(struct conn *c, size_t cap, const char *eof_result)
{
    struct side *cl = &c->side[CLIENT], *sv = &c->side[SERVER];
    size_t have = evbuffer_get_length(sv->q);
    if (have >= cap) {
        read_off(c, CLIENT); /* resumed when the relay starts */
        return 0;
    }
    char buf[16384];
    size_t want = cap - have < sizeof(buf) ? cap - have : sizeof(buf);
    ssize_t r = read(cl->fd, buf, want);
    if (r > 0) {
        evbuffer_add(sv->q, buf, (size_t)r);
        c->up += (size_t)r;
        c->px->bytes_up += (size_t)r;
        return r;
    }
    if (r < 0 && again())
        return 0;
    if (r == 0 && !eof_result) {
        cl->eof = true; /* relay what was sent, then half-close */
        read_off(c, CLIENT);
        return 0;
    }
    conn_free(c, r == 0 ? eof_result : "client_error");
    return -1;
}

static void early_read(struct conn *c)
{
    client_gather(c, c->px->cfg.buffer, NULL);
}

static void header_read(struct conn *c)
{
    if (client_gather(c, PP_MAX_HEADER, "client_closed") < 0)
        return;
    struct evbuffer *in = c->side[SERVER].q;
    size_t len = evbuffer_get_length(in);
    if (len > PP_MAX_HEADER)
        len = PP_MAX_HEADER;
    const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
    struct pp_header h;
    int n = pp_parse(p, len, &h);
    if (n == 0 && len < PP_MAX_HEADER)
        return;
    if (n <= 0) {
        c->px->bad_proxy_header++;
        conn_free(c, "bad_proxy_header");
        return;
    }
    evbuffer_drain(in, (size_t)n);
    c->up -= (size_t)n; /* the header is ours, not the client's bytes */
    c->px->bytes_up -= (size_t)n;
    event_del(c->timer);
    if (!h.local) {
        c->client_addr = h.src;
        c->local = h.dst;
    }
    route_client(c);
}

static bool trusted(const struct proxy *px, const struct sockaddr *sa)
{
    for (size_t i = 0; i < px->cfg.ntrusted; i++)
        if (geo_cidr_match(px->cfg.trusted[i].family, px->cfg.trusted[i].addr,
                           px->cfg.trusted[i].prefix, sa))
            return true;
    return false;
}

void conn_accept(struct proxy *px, int fd, const struct sockaddr *peer, int peerlen)
{
    if (px->nconns >= px->cfg.max_conns || px->draining) {
        px->refused_cap++;
        /* one access-log line for it too, like every connection */
        struct conn r = {.px = px, .start_ns = clock_now_ns()};
        memcpy(&r.client_addr, peer,
               (size_t)peerlen < sizeof(r.client_addr) ? (size_t)peerlen : sizeof(r.client_addr));
        strcpy(r.country, "--");
        access_log(&r, px->draining ? "refused_draining" : "refused_max_conns");
        close(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    px->accepted++;
    c->px = px;
    c->start_ns = clock_now_ns();
    memcpy(&c->peer, peer, (size_t)peerlen < sizeof(c->peer) ? (size_t)peerlen : sizeof(c->peer));
    c->client_addr = c->peer;
    if (px->cfg.send_proxy) { /* our address is the header's destination */
        socklen_t sl = sizeof(c->local);
        getsockname(fd, (struct sockaddr *)&c->local, &sl);
    }
    strcpy(c->country, "--");
    for (int i = 0; i < 2; i++)
        c->side[i].fd = c->side[i].prfd = c->side[i].pwfd = -1;
    c->next = px->conns;
    if (px->conns)
        px->conns->prev = c;
    px->conns = c;
    px->nconns++;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct side *cl = &c->side[CLIENT];
    cl->fd = fd;
    c->last_active_ns = c->start_ns;
    cl->rev = event_new(px->base, fd, EV_READ | EV_PERSIST, client_read_cb, c);
    cl->wev = event_new(px->base, fd, EV_WRITE | EV_PERSIST, client_write_cb, c);
    c->side[SERVER].q = evbuffer_new();
    c->timer = evtimer_new(px->base, deadline_cb, c);
    if (!cl->rev || !cl->wev || !c->side[SERVER].q || !c->timer) {
        conn_free(c, "out_of_memory");
        return;
    }
    c->state = CONN_HEADER;
    read_on(c, CLIENT);
    if (trusted(px, peer)) {
        struct timeval tv = ms_tv(px->cfg.connect_timeout_ms);
        evtimer_add(c->timer, &tv);
        return;
    }
    /* no header expected: move on at once */
    route_client(c);
}
