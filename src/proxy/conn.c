/* One client connection: optional inbound PROXY header, backend selection
 * with connect timeout and failover, then a relay between two bufferevents
 * with bounded buffers, half-close and an idle timeout. One access-log line
 * when it ends.
 *
 * States move only through conn_set_state():
 *   HEADER     (reading a PROXY header from a trusted upstream)
 *   CONNECTING (a connect to a backend is in flight, with a deadline)
 *   RELAY      (bytes flow both ways until both sides finished or an error)
 */
#include "proxy/state.h"

#include "core/clock.h"
#include "core/log.h"
#include "proxy/geo.h"
#include "proxy/pp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum conn_state { CONN_HEADER, CONN_CONNECTING, CONN_RELAY };

/* One direction's kernel pipe for bulk transfers: splice(2) moves bytes
 * socket -> pipe -> socket without copying them through user space. Made
 * on the first bulk read of that direction (a connection that only trades
 * small messages never has one). While `pending` bytes wait in the pipe for
 * the destination to take them, nothing else is queued toward it (order)
 * and the source is not read (bounded): `wev` waits for the destination to
 * become writable, with the idle timeout. */
struct splicer {
    int rfd, wfd; /* -1: none yet */
    size_t pending;
    struct event *wev;
    bool unusable; /* no pipe could be made: read/write instead */
};

struct conn {
    struct conn *prev, *next;
    struct proxy *px;
    enum conn_state state;
    struct bufferevent *client, *server;
    struct event *timer; /* PROXY header or connect deadline */
    struct sockaddr_storage peer, local, client_addr;
    char country[3];
    struct backend *backend;
    struct backend *tried[PROXY_MAX_ATTEMPTS];
    size_t ntried;
    enum reason reason;
    bool client_eof, server_eof, client_shut, server_shut;
    uint64_t start_ns, last_active_ns;
    uint64_t up, down;
    struct splicer sp[2]; /* [0] client -> server, [1] server -> client */
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

static void conn_free(struct conn *c, const char *result)
{
    struct proxy *px = c->px;
    access_log(c, result);
    if (c->timer)
        event_free(c->timer);
    for (int d = 0; d < 2; d++) {
        if (c->sp[d].wev)
            event_free(c->sp[d].wev);
        if (c->sp[d].rfd >= 0)
            close(c->sp[d].rfd), close(c->sp[d].wfd);
    }
    if (c->client)
        bufferevent_free(c->client);
    if (c->server)
        bufferevent_free(c->server);
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

static void maybe_finish(struct conn *c)
{
    if (c->client_eof && c->server_eof && c->sp[0].pending == 0 && c->sp[1].pending == 0 &&
        evbuffer_get_length(bufferevent_get_output(c->client)) == 0 &&
        evbuffer_get_length(bufferevent_get_output(c->server)) == 0)
        conn_free(c, "ok");
}

/* Half-close: once one side sent EOF and everything it sent was written to
 * the other side, shut the other side's write half. */
static void maybe_shutdown(struct conn *c)
{
    if (c->client_eof && c->server_eof && c->sp[0].pending == 0 && c->sp[1].pending == 0 &&
        evbuffer_get_length(bufferevent_get_output(c->client)) == 0 &&
        evbuffer_get_length(bufferevent_get_output(c->server)) == 0)
        return; /* both finished: maybe_finish closes both, no shutdown needed */
    if (c->client_eof && !c->server_shut && c->sp[0].pending == 0 &&
        evbuffer_get_length(bufferevent_get_output(c->server)) == 0) {
        shutdown(bufferevent_getfd(c->server), SHUT_WR);
        c->server_shut = true;
    }
    if (c->server_eof && !c->client_shut && c->sp[1].pending == 0 &&
        evbuffer_get_length(bufferevent_get_output(c->client)) == 0) {
        shutdown(bufferevent_getfd(c->client), SHUT_WR);
        c->client_shut = true;
    }
}

/* Relays what src received. While nothing is queued toward dst, bytes go
 * straight to dst's socket, and more are read from src in the same wake-up
 * (a bounded number of rounds, in chunks of up to --buffer bytes, where
 * libevent 2.1 reads at most 4 KiB per call). This spares the event loop a
 * round trip and dst's write event per chunk. Those read-ahead rounds move
 * the bytes with splice(2) through the direction's pipe when it has one
 * (else read/write through one scratch buffer). Whatever dst does not take
 * is queued in order (in the pipe, or in dst's output buffer), and src
 * stops reading when the queue reaches --buffer. EOF and errors are left
 * for libevent to report on its next read. */
/* What libevent 2.1 reads at most per call (EVBUFFER_MAX_READ). */
#define LIBEVENT_MAX_READ 4096

static void splice_writable_cb(evutil_socket_t fd, short what, void *arg);

/* The direction's pipe, made on first use; NULL when splicing is not
 * possible (then read/write is used, as before). */
static struct splicer *splicer_get(struct conn *c, int d, int dfd)
{
    struct splicer *sp = &c->sp[d];
    if (sp->rfd >= 0)
        return sp;
    if (sp->unusable)
        return NULL;
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        sp->unusable = true; /* e.g. out of descriptors: copy instead */
        return NULL;
    }
    sp->wev = event_new(c->px->base, dfd, EV_WRITE | EV_PERSIST, splice_writable_cb, c);
    if (!sp->wev) {
        close(fds[0]), close(fds[1]);
        sp->unusable = true;
        return NULL;
    }
    if ((size_t)fcntl(fds[1], F_GETPIPE_SZ) < c->px->cfg.buffer)
        fcntl(fds[1], F_SETPIPE_SZ, (int)c->px->cfg.buffer); /* best effort */
    sp->rfd = fds[0];
    sp->wfd = fds[1];
    return sp;
}

/* Bytes left in the pipe: wait for dst, and stop reading src meanwhile. */
static void splice_wait(struct conn *c, struct splicer *sp, struct bufferevent *src)
{
    bufferevent_disable(src, EV_READ);
    c->px->splice_waits++;
    if (c->px->cfg.idle_timeout_ms > 0) {
        struct timeval tv = {(time_t)(c->px->cfg.idle_timeout_ms / 1000),
                             (suseconds_t)((long)c->px->cfg.idle_timeout_ms % 1000 * 1000)};
        event_add(sp->wev, &tv);
    } else {
        event_add(sp->wev, NULL);
    }
}

static void pump(struct conn *c, struct bufferevent *src, struct bufferevent *dst,
                 bool from_write_cb)
{
    static char chunk[256 * 1024]; /* one thread: one scratch buffer */
    struct proxy *px = c->px;
    struct evbuffer *in = bufferevent_get_input(src), *out = bufferevent_get_output(dst);
    int sfd = bufferevent_getfd(src), dfd = bufferevent_getfd(dst);
    int d = src == c->client ? 0 : 1;
    if (c->sp[d].pending) {
        /* the pipe goes first: what src sent since waits in its input */
        bufferevent_disable(src, EV_READ);
        return;
    }
    size_t moved = evbuffer_get_length(in);
    if (evbuffer_get_length(out) == 0 && moved)
        evbuffer_write(in, dfd);
    size_t max = px->cfg.buffer < sizeof(chunk) ? px->cfg.buffer : sizeof(chunk);
    /* read ahead only when the last read was full: a small request or
     * answer has nothing behind it, and the read would only say EAGAIN */
    bool full = moved >= LIBEVENT_MAX_READ || from_write_cb;
    /* a pipe is made only once a read came back full (a bulk transfer);
     * an answer of a few hundred bytes is not worth a pipe2() and close() */
    bool bulk = moved >= LIBEVENT_MAX_READ;
    for (int round = 0; round < 16 && full; round++) {
        if (evbuffer_get_length(out) != 0 || evbuffer_get_length(in) != 0)
            break;
        struct splicer *sp = bulk || c->sp[d].rfd >= 0 ? splicer_get(c, d, dfd) : NULL;
        if (sp) {
            ssize_t r = splice(sfd, NULL, sp->wfd, NULL, max, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (r <= 0)
                break;
            /* go on until EAGAIN: a splice that finds nothing costs less
             * than the wake-up it may spare */
            moved += (size_t)r;
            px->spliced += (size_t)r;
            ssize_t w =
                splice(sp->rfd, NULL, dfd, NULL, (size_t)r, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            sp->pending = (size_t)r - (size_t)(w > 0 ? w : 0);
            if (sp->pending) {
                splice_wait(c, sp, src); /* EAGAIN, or an error the wait reports */
                break;
            }
            continue;
        }
        ssize_t r = read(sfd, chunk, max);
        if (r <= 0)
            break;
        full = bulk = (size_t)r == max;
        moved += (size_t)r;
        ssize_t w = write(dfd, chunk, (size_t)r);
        if (w < 0)
            w = 0; /* EAGAIN, or an error libevent reports on its write */
        if (w < r)
            evbuffer_add(out, chunk + w, (size_t)(r - w));
    }
    if (src == c->client) {
        c->up += moved;
        px->bytes_up += moved;
    } else {
        c->down += moved;
        px->bytes_down += moved;
    }
    c->last_active_ns = clock_now_ns();
    evbuffer_add_buffer(out, in);
    size_t queued = evbuffer_get_length(out);
    if (queued)
        bufferevent_enable(dst, EV_WRITE); /* a no-op once enabled */
    if (queued >= px->cfg.buffer)
        bufferevent_disable(src, EV_READ); /* resumed by relay_write_cb */
}

/* dst can take more of what waits in the pipe. */
static void splice_writable_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    int d = fd == bufferevent_getfd(c->server) ? 0 : 1; /* [0] writes to the server */
    struct splicer *sp = &c->sp[d];
    struct bufferevent *src = d == 0 ? c->client : c->server;
    struct bufferevent *dst = d == 0 ? c->server : c->client;
    if (what & EV_TIMEOUT) {
        conn_free(c, "idle_timeout");
        return;
    }
    ssize_t w = splice(sp->rfd, NULL, fd, NULL, sp->pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (w < 0 && errno != EAGAIN && errno != EINTR) {
        conn_free(c, d == 0 ? "backend_error" : "client_error");
        return;
    }
    if (w > 0) {
        sp->pending -= (size_t)w;
        c->last_active_ns = clock_now_ns();
    }
    if (sp->pending)
        return; /* EV_PERSIST: wait for the next writable */
    event_del(sp->wev);
    bool src_eof = d == 0 ? c->client_eof : c->server_eof;
    if (!src_eof) {
        bufferevent_enable(src, EV_READ);
        pump(c, src, dst, true);
    }
    maybe_shutdown(c);
    maybe_finish(c);
}

static void relay_read_cb(struct bufferevent *src, void *arg)
{
    struct conn *c = arg;
    if (c->state != CONN_RELAY)
        return; /* data waits in the input buffer (read is capped by a watermark) */
    pump(c, src, src == c->client ? c->server : c->client, false);
}

static void relay_write_cb(struct bufferevent *dst, void *arg)
{
    struct conn *c = arg;
    if (c->state != CONN_RELAY)
        return;
    struct bufferevent *src = dst == c->client ? c->server : c->client;
    bool src_eof = src == c->client ? c->client_eof : c->server_eof;
    c->last_active_ns = clock_now_ns();
    if (!src_eof) {
        bufferevent_enable(src, EV_READ);
        /* dst drained: read src at once rather than wait for its event */
        if (evbuffer_get_length(bufferevent_get_output(dst)) == 0)
            pump(c, src, dst, true);
    }
    maybe_shutdown(c);
    maybe_finish(c);
}

static void relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    bool is_client = bev == c->client;
    if (what & BEV_EVENT_TIMEOUT) {
        uint64_t idle = (uint64_t)(c->px->cfg.idle_timeout_ms * 1e6);
        if ((what & BEV_EVENT_WRITING) || clock_now_ns() - c->last_active_ns >= idle) {
            conn_free(c, "idle_timeout");
            return;
        }
        bufferevent_enable(bev, EV_READ); /* the other direction was active */
        return;
    }
    if (what & BEV_EVENT_EOF) {
        if (c->state == CONN_RELAY)
            relay_read_cb(bev, c); /* anything still in the input buffer */
        if (is_client)
            c->client_eof = true;
        else
            c->server_eof = true;
        bufferevent_disable(bev, EV_READ);
        if (c->state != CONN_RELAY)
            return;
        maybe_shutdown(c);
        maybe_finish(c);
        return;
    }
    /* BEV_EVENT_ERROR: a reset or a failed write; nothing more can be delivered */
    conn_free(c, is_client ? "client_error" : "backend_error");
}

/* ---- connecting ---- */

static void try_next(struct conn *c);

static void start_relay(struct conn *c)
{
    struct proxy *px = c->px;
    event_del(c->timer);
    conn_set_state(c, CONN_RELAY);
    backend_passive_success(c->backend);
    proxy_count_connection(px, c->backend, c->country);
    px->decisions[c->reason]++;
    int fd = bufferevent_getfd(c->server);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (px->cfg.send_proxy) {
        uint8_t hdr[128];
        int n = px->cfg.send_proxy == 1
                    ? pp_write_v1((struct sockaddr *)&c->client_addr, (struct sockaddr *)&c->local,
                                  (char *)hdr, sizeof(hdr))
                    : pp_write_v2((struct sockaddr *)&c->client_addr, (struct sockaddr *)&c->local,
                                  hdr, sizeof(hdr));
        if (n > 0)
            bufferevent_write(c->server, hdr, (size_t)n);
    }
    struct timeval idle = ms_tv(px->cfg.idle_timeout_ms);
    bufferevent_setcb(c->client, relay_read_cb, relay_write_cb, relay_event_cb, c);
    bufferevent_setcb(c->server, relay_read_cb, relay_write_cb, relay_event_cb, c);
    bufferevent_setwatermark(c->client, EV_WRITE, px->cfg.buffer / 2, 0);
    bufferevent_setwatermark(c->server, EV_WRITE, px->cfg.buffer / 2, 0);
    bufferevent_setwatermark(c->client, EV_READ, 0, px->cfg.buffer);
    bufferevent_setwatermark(c->server, EV_READ, 0, px->cfg.buffer);
    /* bulk transfers: one read or write syscall may move a whole buffer
     * (libevent's default is 16 KiB); the watermarks still bound memory */
    bufferevent_set_max_single_read(c->client, px->cfg.buffer);
    bufferevent_set_max_single_read(c->server, px->cfg.buffer);
    bufferevent_set_max_single_write(c->client, px->cfg.buffer);
    bufferevent_set_max_single_write(c->server, px->cfg.buffer);
    if (px->cfg.idle_timeout_ms > 0) {
        bufferevent_set_timeouts(c->client, &idle, &idle);
        bufferevent_set_timeouts(c->server, &idle, &idle);
    }
    c->last_active_ns = clock_now_ns();
    /* EV_WRITE is enabled when something is first queued toward a side
     * (see pump): enabled on an empty output, libevent would watch for
     * writability at once, wake up to find nothing to write, and stop: two
     * epoll_ctl and a wake-up per connection for nothing */
    bufferevent_enable(c->server, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->server)))
        bufferevent_enable(c->server, EV_WRITE); /* the PROXY header */
    if (!c->client_eof)
        bufferevent_enable(c->client, EV_READ);
    /* bytes the client sent while we were connecting */
    if (evbuffer_get_length(bufferevent_get_input(c->client)))
        relay_read_cb(c->client, c);
    maybe_shutdown(c);
}

static void connect_failed(struct conn *c, const char *why)
{
    struct proxy *px = c->px;
    struct backend *b = c->backend;
    b->failures++;
    backend_passive_failure(b, why);
    log_info("connect to %s failed (%s); trying the next candidate", b->label, why);
    bufferevent_free(c->server);
    c->server = NULL;
    release_backend(c);
    c->backend = NULL;
    px->failovers++;
    try_next(c);
}

static void connect_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        start_relay(c);
        return;
    }
    int err = EVUTIL_SOCKET_ERROR();
    connect_failed(c, err ? strerror(err) : "connection refused");
}

static void client_wait_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_EOF) {
        c->client_eof = true;
        bufferevent_disable(bev, EV_READ);
        if (c->state == CONN_HEADER)
            conn_free(c, "client_closed");
        return; /* still connecting: relay what was sent, then half-close */
    }
    conn_free(c, "client_error");
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
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
    c->server = bufferevent_socket_new(px->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->server) {
        conn_free(c, "out_of_memory");
        return;
    }
    bufferevent_setcb(c->server, NULL, NULL, connect_event_cb, c);
    struct timeval tv = ms_tv(px->cfg.connect_timeout_ms);
    evtimer_add(c->timer, &tv);
    if (bufferevent_socket_connect(c->server, (struct sockaddr *)&b->route.sa,
                                   (int)b->route.salen) < 0) {
        event_del(c->timer);
        connect_failed(c, strerror(errno ? errno : ECONNREFUSED));
    }
}

static void route_client(struct conn *c)
{
    geo_lookup(c->px->geo, (struct sockaddr *)&c->client_addr, c->country);
    try_next(c);
}

static void header_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->state != CONN_HEADER)
        return;
    struct evbuffer *in = bufferevent_get_input(bev);
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
    c->sp[0].rfd = c->sp[0].wfd = c->sp[1].rfd = c->sp[1].wfd = -1;
    c->next = px->conns;
    if (px->conns)
        px->conns->prev = c;
    px->conns = c;
    px->nconns++;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->client = bufferevent_socket_new(px->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(px->base, deadline_cb, c);
    if (!c->client || !c->timer) {
        if (!c->client)
            close(fd);
        conn_free(c, "out_of_memory");
        return;
    }
    /* the client may send while we connect: keep at most one buffer of it */
    bufferevent_setwatermark(c->client, EV_READ, 0, px->cfg.buffer);
    if (trusted(px, peer)) {
        c->state = CONN_HEADER;
        bufferevent_setcb(c->client, header_read_cb, NULL, client_wait_event_cb, c);
        bufferevent_enable(c->client, EV_READ);
        struct timeval tv = ms_tv(px->cfg.connect_timeout_ms);
        evtimer_add(c->timer, &tv);
        return;
    }
    c->state = CONN_HEADER; /* no header expected: move on at once */
    bufferevent_setcb(c->client, relay_read_cb, NULL, client_wait_event_cb, c);
    bufferevent_enable(c->client, EV_READ);
    route_client(c);
}
