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
 * The sockets of connections live in an epoll set of the proxy's own, in
 * edge-triggered mode, driven from one libevent event on that set. Each
 * socket is added once, for reading and writing, and never modified: the
 * kernel drops it from the set when it is closed. That is two epoll_ctl
 * calls per connection, where one libevent event per socket and direction
 * made five (each change of interest is a call, and a closed descriptor's
 * pending delete turns into a failed modify and an add when its number is
 * reused). In exchange the relay keeps, per socket, what the kernel last
 * said (readable, writable, the peer's FIN) until a read or write says
 * EAGAIN, and what it wants (reading, writing): when it wants something
 * the kernel already said, it runs the connection again itself (the run
 * queue), since no second edge will come.
 *
 * The relay reads into a scratch buffer and writes straight to the other
 * socket, queueing only what that socket does not take, and bulk bursts go
 * through a pipe with splice(2). What the client sends before the relay
 * starts waits in the queue toward the server.
 *
 * A connection that ends while a batch of events is being handled is freed
 * after the batch (the graveyard): later events of the same batch may still
 * name it. */
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum conn_state { CONN_HEADER, CONN_CONNECTING, CONN_RELAY };

/* One side of the relay (client or server). */
struct side {
    int fd;                  /* owned by the relay; -1 before it starts */
    struct evbuffer *q;      /* bytes waiting to be written to this side */
    bool reading, writing;   /* what the relay wants of the socket */
    bool rd_ready, wr_ready; /* what the kernel said, until EAGAIN said otherwise */
    bool rdhup;              /* the peer's FIN is in: read on to the EOF */
    bool err;                /* EPOLLERR or EPOLLHUP (a failed connect) */
    bool eof;                /* this side sent EOF */
    bool shut;               /* we shut this side's write half */
    uint64_t stall_ns;       /* bytes wait here, and took nothing since; 0: none wait */
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

/* An epoll registration names the connection, the side and, for the
 * server, the attempt (an event of a failed attempt's socket can still be
 * in the batch that sees the next attempt start). Connections are aligned
 * so the low bits are free for that. */
#define CONN_ALIGN 64
#define GEN_MASK 31u

struct conn {
    struct conn *prev, *next; /* px->conns; next also chains the graveyard */
    struct conn *run_next;    /* px->runq */
    struct proxy *px;
    enum conn_state state;
    bool dead;           /* ended; freed after the batch */
    bool in_runq;        /* in px->runq */
    bool want_settle;    /* half-closes to make once the batch's events are in */
    unsigned gen;        /* the server socket's attempt */
    struct event *timer; /* PROXY header or connect deadline */
    struct event *idle;  /* --idle-timeout */
    struct sockaddr_storage peer, local, client_addr;
    char country[3];
    struct backend *backend;
    struct backend *tried[PROXY_MAX_ATTEMPTS];
    size_t ntried;
    enum reason reason;
    uint64_t start_ns, last_active_ns;
    uint64_t up, down;   /* bytes handed to the server's socket, and to the client's */
    size_t hdr_out;      /* of our PROXY header, bytes not yet written (not the client's) */
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

/* ---- the run queue and the graveyard ---- */

/* Runs the run queue and frees the graveyard soon, from the event loop,
 * after it has polled once more (a zero timeout). */
static void kick(struct proxy *px)
{
    static const struct timeval zero = {0, 0};
    if (!evtimer_pending(px->runq_timer, NULL))
        evtimer_add(px->runq_timer, &zero);
}

/* c has something to do that no event will announce (the kernel said it
 * already): run it at the end of this batch, or soon. */
static void runq_push(struct conn *c)
{
    struct proxy *px = c->px;
    if (c->in_runq || c->dead)
        return;
    c->in_runq = true;
    c->run_next = NULL;
    if (px->runq_tail)
        px->runq_tail->run_next = c;
    else
        px->runq = c;
    px->runq_tail = c;
    if (!px->in_batch)
        kick(px);
}

/* Frees what ended, except what the run queue still names. */
static void bury(struct proxy *px)
{
    struct conn *g = px->grave, *keep = NULL;
    px->grave = NULL;
    while (g) {
        struct conn *n = g->next;
        if (g->in_runq) {
            g->next = keep;
            keep = g;
        } else {
            free(g);
        }
        g = n;
    }
    px->grave = keep;
}

static void conn_free(struct conn *c, const char *result)
{
    struct proxy *px = c->px;
    access_log(c, result);
    /* a reset on one side, or the proxy cutting both, reaches the other
     * side(s) as a reset */
    bool cut = !strcmp(result, "drain_timeout") || !strcmp(result, "drain_cut");
    if (cut || !strcmp(result, "backend_error"))
        abort_fd(c->side[CLIENT].fd);
    if (cut || !strcmp(result, "client_error"))
        abort_fd(c->side[SERVER].fd);
    if (c->timer)
        event_free(c->timer);
    if (c->idle)
        event_free(c->idle);
    c->timer = c->idle = NULL;
    for (int i = 0; i < 2; i++) {
        struct side *sd = &c->side[i];
        if (sd->q)
            evbuffer_free(sd->q);
        sd->q = NULL;
        if (sd->prfd >= 0)
            close(sd->prfd), close(sd->pwfd);
        if (sd->fd >= 0)
            close(sd->fd); /* which also takes it out of the epoll set */
        sd->fd = sd->prfd = sd->pwfd = -1;
    }
    release_backend(c);
    c->backend = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        px->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    px->nconns--;
    if (px->at_cap && px->nconns < px->cfg.max_conns) {
        px->at_cap = false;
        log_info("below --max-conns %ld again: accepting", px->cfg.max_conns);
    }
    c->dead = true;
    c->prev = NULL;
    c->next = px->grave;
    px->grave = c;
    if (!px->in_batch)
        kick(px);
    if (px->draining && px->nconns == 0)
        proxy_conn_gone(px);
}

void conn_close_all(struct proxy *px, const char *result)
{
    while (px->conns)
        conn_free(px->conns, result);
}

static struct timeval ms_tv(double ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((long)ms % 1000 * 1000)};
    return tv;
}

static struct timeval ns_tv(uint64_t ns)
{
    struct timeval tv = {(time_t)(ns / 1000000000), (suseconds_t)(ns % 1000000000 / 1000)};
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

/* n bytes were handed to side t's socket: that is what the access log
 * counts, so a connection cut by an error still shows what got through.
 * Our own PROXY header is not the client's. */
static void delivered(struct conn *c, int t, size_t n)
{
    if (t == SERVER) {
        size_t h = n < c->hdr_out ? n : c->hdr_out;
        c->hdr_out -= h;
        c->up += n - h;
        c->px->bytes_up += n - h;
    } else {
        c->down += n;
        c->px->bytes_down += n;
    }
}

static void read_on(struct conn *c, int i)
{
    struct side *sd = &c->side[i];
    if (sd->reading || sd->eof)
        return;
    sd->reading = true;
    if (sd->rd_ready)
        runq_push(c);
}

static void read_off(struct conn *c, int i)
{
    c->side[i].reading = false;
}

/* Bytes wait toward side i. */
static void write_on(struct conn *c, int i)
{
    struct side *sd = &c->side[i];
    if (!sd->stall_ns)
        sd->stall_ns = clock_now_ns();
    if (sd->writing)
        return;
    sd->writing = true;
    if (sd->wr_ready)
        runq_push(c);
}

static void write_off(struct conn *c, int i)
{
    c->side[i].writing = false;
    c->side[i].stall_ns = 0;
}

/* Writes what q holds to side i until it is empty or the socket is full.
 * -1 on a socket error. */
static int flush_q(struct conn *c, int i)
{
    struct side *sd = &c->side[i];
    while (sd->q && evbuffer_get_length(sd->q)) {
        int w = evbuffer_write(sd->q, sd->fd);
        if (w < 0) {
            if (!again())
                return -1;
            sd->wr_ready = false;
            break;
        }
        delivered(c, i, (size_t)w);
        c->last_active_ns = sd->stall_ns = clock_now_ns();
    }
    return 0;
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
 * both did, the connection is over. False when the connection ended. */
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
            /* after this batch's events: when the other side's EOF came in
             * the same batch, as it does when both end together, both
             * sockets simply close, with no shutdown */
            c->want_settle = true;
            runq_push(c);
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

/* Reads from one socket per turn, before the others get theirs. */
#define ROUNDS 16

/* Moves what side s has to the other side: straight to its socket while
 * nothing waits for it, else behind what does. At most ROUNDS reads or
 * splices per turn (then the run queue gives it another); the first is a
 * read(), and once a read comes back full (a bulk transfer) the rest go by
 * splice. The bytes waiting toward the other side stay under --buffer:
 * past it, s is not read until they drain. False when the connection
 * ended. */
static bool relay_read(struct conn *c, int s)
{
    static char chunk[256 * 1024]; /* one thread: one scratch buffer */
    struct proxy *px = c->px;
    int t = 1 - s;
    struct side *src = &c->side[s], *dst = &c->side[t];
    size_t max = px->cfg.buffer < sizeof(chunk) ? px->cfg.buffer : sizeof(chunk);
    size_t moved = 0;
    bool bulk = false, more = false;
    for (int round = 0;; round++) {
        if (round == ROUNDS) {
            more = true;
            break;
        }
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
                    return false;
                }
                if (w > 0)
                    delivered(c, t, (size_t)w);
                dst->pending = (size_t)r - (size_t)(w > 0 ? w : 0);
                if (dst->pending) {
                    px->splice_waits++;
                    dst->wr_ready = false;
                    write_on(c, t);
                    read_off(c, s);
                    break;
                }
                /* a short splice does not say the socket is drained (the
                 * pipe has room for so many segments): on to EAGAIN */
                continue;
            }
        } else {
            size_t n = max < px->cfg.buffer - waiting ? max : px->cfg.buffer - waiting;
            r = read(src->fd, chunk, n);
            if (r > 0) {
                moved += (size_t)r;
                ssize_t w = 0;
                if (waiting == 0) {
                    /* a short read after the peer's FIN came in: the next
                     * read is the EOF, and a shutdown or close follows in
                     * this batch, so the FIN can leave with these bytes in
                     * one segment (fewer for both kernels to carry) */
                    int cork = src->rdhup && (size_t)r < n ? MSG_MORE : 0;
                    w = send(dst->fd, chunk, (size_t)r, MSG_NOSIGNAL | cork);
                    if (w < 0 && !again()) {
                        conn_free(c, side_error(t));
                        return false;
                    }
                    if (w < 0)
                        w = 0;
                    delivered(c, t, (size_t)w);
                }
                if (w < r) {
                    dst->wr_ready = false;
                    if (enqueue(c, t, chunk + w, (size_t)(r - w)) < 0) {
                        conn_free(c, "out_of_memory");
                        return false;
                    }
                }
                bulk = (size_t)r == n;
                /* a short read drained the socket: what comes next will be
                 * a new edge, except the EOF of a FIN already in */
                if (!bulk && !src->rdhup) {
                    src->rd_ready = false;
                    break;
                }
                continue;
            }
        }
        if (r == 0) {
            src->eof = true;
            src->rd_ready = false;
            read_off(c, s);
            break;
        }
        if (!again()) {
            conn_free(c, side_error(s));
            return false;
        }
        src->rd_ready = false;
        break;
    }
    if (moved)
        c->last_active_ns = clock_now_ns();
    if (more && src->reading)
        runq_push(c); /* its turn is over; there is more */
    return settle(c);
}

/* Side t can take more of what waits for it: the pipe first, then q.
 * False when the connection ended. */
static bool relay_write(struct conn *c, int t)
{
    struct proxy *px = c->px;
    struct side *dst = &c->side[t], *src = &c->side[1 - t];
    if (dst->pending) {
        ssize_t w =
            splice(dst->prfd, NULL, dst->fd, NULL, dst->pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (w < 0 && !again()) {
            conn_free(c, side_error(t));
            return false;
        }
        if (w > 0) {
            dst->pending -= (size_t)w;
            delivered(c, t, (size_t)w);
            c->last_active_ns = dst->stall_ns = clock_now_ns();
        }
        if (dst->pending) {
            dst->wr_ready = false; /* the next edge says when it takes more */
            return true;
        }
    }
    if (flush_q(c, t) < 0) {
        conn_free(c, side_error(t));
        return false;
    }
    size_t left = queued(dst);
    if (left == 0)
        write_off(c, t);
    if (left <= px->cfg.buffer / 2 && !src->eof && !src->reading) {
        read_on(c, 1 - t);
        if (left == 0 && src->rd_ready)
            return relay_read(c, 1 - t); /* at once rather than at the end of the batch */
    }
    return settle(c);
}

static void relay_run(struct conn *c)
{
    for (int i = 0; i < 2; i++) {
        struct side *sd = &c->side[i];
        if (sd->writing && sd->wr_ready && !relay_write(c, i))
            return;
    }
    for (int s = 0; s < 2; s++) {
        struct side *sd = &c->side[s];
        if (sd->reading && sd->rd_ready && !sd->eof && !relay_read(c, s))
            return;
    }
}

/* --idle-timeout: the connection was silent both ways that long, or a side
 * with bytes waiting for it took nothing that long. */
static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    uint64_t idle = (uint64_t)(c->px->cfg.idle_timeout_ms * 1e6);
    uint64_t due = c->last_active_ns + idle;
    for (int i = 0; i < 2; i++)
        if (c->side[i].stall_ns && c->side[i].stall_ns + idle < due)
            due = c->side[i].stall_ns + idle;
    uint64_t now = clock_now_ns();
    /* traffic since the timer was armed moved the deadline: wait for what
     * is left of it (within a millisecond is due now) */
    if (now + 1000000 >= due) {
        /* bytes still waiting for a side: the stream is cut, and a reset
         * says so to both (a clean EOF would pass it for complete) */
        if (queued(&c->side[CLIENT]) > 0 || queued(&c->side[SERVER]) > 0)
            abort_fd(c->side[CLIENT].fd), abort_fd(c->side[SERVER].fd);
        conn_free(c, "idle_timeout");
        return;
    }
    struct timeval tv = ns_tv(due - now);
    evtimer_add(c->idle, &tv);
}

/* ---- connecting ---- */

static void try_next(struct conn *c);
static void header_read(struct conn *c);
static void early_read(struct conn *c);

/* Closes the server socket of a failed attempt. */
static void server_close(struct conn *c)
{
    struct side *sv = &c->side[SERVER];
    if (sv->fd >= 0)
        close(sv->fd);
    sv->fd = -1;
    sv->reading = sv->writing = sv->rd_ready = sv->wr_ready = sv->rdhup = sv->err = false;
    sv->stall_ns = 0;
    c->gen++; /* what the batch still holds of that socket is stale */
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
    /* our PROXY header goes before what the client sent while we connected */
    if (px->cfg.send_proxy) {
        uint8_t hdr[128];
        int n = px->cfg.send_proxy == 1
                    ? pp_write_v1((struct sockaddr *)&c->client_addr, (struct sockaddr *)&c->local,
                                  (char *)hdr, sizeof(hdr))
                    : pp_write_v2((struct sockaddr *)&c->client_addr, (struct sockaddr *)&c->local,
                                  hdr, sizeof(hdr));
        if (n > 0 && evbuffer_prepend(sv->q, hdr, (size_t)n) == 0)
            c->hdr_out = (size_t)n;
    }
    c->last_active_ns = clock_now_ns();
    /* the socket has just connected: it takes what waits at once */
    if (flush_q(c, SERVER) < 0) {
        conn_free(c, "backend_error");
        return;
    }
    if (evbuffer_get_length(sv->q))
        write_on(c, SERVER);
    read_on(c, SERVER);
    if (queued(sv) < px->cfg.buffer)
        read_on(c, CLIENT); /* not when it already sent EOF */
    settle(c);
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

/* The connect finished: the event says how, SO_ERROR why it failed. */
static void connected(struct conn *c)
{
    struct side *sv = &c->side[SERVER];
    if (!sv->err) {
        start_relay(c);
        return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(sv->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    connect_failed(c, err ? strerror(err) : "closed by the backend");
}

/* Whatever the connection can do now with what its sockets said. */
static void conn_run(struct conn *c)
{
    struct side *cl = &c->side[CLIENT], *sv = &c->side[SERVER];
    switch (c->state) {
    case CONN_HEADER:
        if (cl->reading && cl->rd_ready)
            header_read(c);
        break;
    case CONN_CONNECTING:
        /* what the client sent first, so it leaves with the first write */
        if (cl->reading && cl->rd_ready) {
            early_read(c);
            if (c->dead)
                break;
        }
        if (sv->wr_ready)
            connected(c);
        break;
    case CONN_RELAY:
        relay_run(c);
        break;
    }
}

static void side_event(struct conn *c, int i, uint32_t ev)
{
    struct side *sd = &c->side[i];
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        sd->rd_ready = true;
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        sd->wr_ready = true;
    if (ev & (EPOLLRDHUP | EPOLLHUP))
        sd->rdhup = true;
    if (ev & (EPOLLHUP | EPOLLERR))
        sd->err = true;
    conn_run(c);
}

static void run_queue(struct proxy *px)
{
    struct conn *list = px->runq;
    px->runq = px->runq_tail = NULL;
    while (list) {
        struct conn *c = list;
        list = c->run_next;
        c->in_runq = false;
        if (c->dead)
            continue;
        if (c->want_settle) {
            c->want_settle = false;
            settle_shutdowns(c);
            if (c->dead)
                continue;
        }
        conn_run(c);
    }
    if (px->runq)
        kick(px); /* more after the loop has polled again */
}

/* The epoll set has events: one batch. */
static void ep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    struct epoll_event evs[128];
    px->in_batch = true;
    int n = epoll_wait(px->epfd, evs, 128, 0);
    for (int k = 0; k < n; k++) {
        uint64_t tag = evs[k].data.u64;
        struct conn *c = (struct conn *)(uintptr_t)(tag & ~(uint64_t)(CONN_ALIGN - 1));
        int i = (int)(tag & 1);
        if (c->dead || (i == SERVER && ((tag >> 1) & GEN_MASK) != (c->gen & GEN_MASK)))
            continue;
        side_event(c, i, evs[k].events);
    }
    run_queue(px);
    px->in_batch = false;
    bury(px);
}

static void runq_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;
    px->in_batch = true;
    run_queue(px);
    px->in_batch = false;
    bury(px);
}

static int watch(struct conn *c, int i)
{
    uint64_t tag = (uint64_t)(uintptr_t)c | (uint64_t)i;
    if (i == SERVER)
        tag |= (uint64_t)(c->gen & GEN_MASK) << 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag};
    return epoll_ctl(c->px->epfd, EPOLL_CTL_ADD, c->side[i].fd, &ev);
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
    struct side *sv = &c->side[SERVER];
    const struct sockaddr *sa = (const struct sockaddr *)&b->route.sa;
    sv->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sv->fd < 0) {
        connect_failed(c, strerror(errno));
        return;
    }
    int one = 1; /* before the first write, which may come right after the connect */
    setsockopt(sv->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(sv->fd, sa, b->route.salen) < 0 && errno != EINPROGRESS) {
        connect_failed(c, strerror(errno));
        return;
    }
    /* done or in progress: writability says when (an error or hang-up, how) */
    if (watch(c, SERVER) < 0) {
        connect_failed(c, strerror(errno));
        return;
    }
    struct timeval tv = ms_tv(px->cfg.connect_timeout_ms);
    evtimer_add(c->timer, &tv);
}

/* Just after the connect: when the client's first bytes are in, writing
 * them says whether the connect is done already (as it often is on the
 * same host), with no wait for the event: it takes them, it says EAGAIN
 * (still connecting), or it says why the connect failed. */
static void probe_connect(struct conn *c)
{
    struct side *sv = &c->side[SERVER];
    if (c->state != CONN_CONNECTING || c->px->cfg.send_proxy || !evbuffer_get_length(sv->q))
        return; /* our PROXY header must go first: start_relay() writes it */
    int w = evbuffer_write(sv->q, sv->fd);
    if (w > 0) {
        delivered(c, SERVER, (size_t)w);
        start_relay(c);
    } else if (w < 0 && !again() && errno != ENOTCONN)
        connect_failed(c, strerror(errno));
}

static void route_client(struct conn *c)
{
    geo_lookup(c->px->geo, (struct sockaddr *)&c->client_addr, c->country);
    try_next(c);
}

/* What the client sends before the relay starts waits in the queue toward
 * the server (at most cap of it). Reads until the socket is drained, the
 * cap is reached or the EOF. Returns -1 when the connection ended. */
static int client_gather(struct conn *c, size_t cap)
{
    struct side *cl = &c->side[CLIENT], *sv = &c->side[SERVER];
    char buf[16384];
    while (cl->rd_ready) {
        size_t have = evbuffer_get_length(sv->q);
        if (have >= cap) {
            read_off(c, CLIENT); /* resumed when the relay starts */
            return 0;
        }
        size_t want = cap - have < sizeof(buf) ? cap - have : sizeof(buf);
        ssize_t r = read(cl->fd, buf, want);
        if (r > 0) {
            evbuffer_add(sv->q, buf, (size_t)r);
            c->last_active_ns = clock_now_ns();
            if ((size_t)r < want && !cl->rdhup)
                cl->rd_ready = false;
            continue;
        }
        if (r < 0 && again()) {
            cl->rd_ready = false;
            return 0;
        }
        if (r == 0) {
            cl->eof = true; /* relay what was sent, then half-close */
            cl->rd_ready = false;
            read_off(c, CLIENT);
            return 0;
        }
        conn_free(c, "client_error");
        return -1;
    }
    return 0;
}

static void early_read(struct conn *c)
{
    client_gather(c, c->px->cfg.buffer);
}

static void header_read(struct conn *c)
{
    if (client_gather(c, PP_MAX_HEADER) < 0)
        return;
    struct evbuffer *in = c->side[SERVER].q;
    size_t len = evbuffer_get_length(in);
    if (len > PP_MAX_HEADER)
        len = PP_MAX_HEADER;
    const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
    struct pp_header h;
    int n = pp_parse(p, len, &h);
    if (n == 0 && c->side[CLIENT].eof) {
        conn_free(c, "client_closed"); /* before a whole header */
        return;
    }
    if (n == 0 && len < PP_MAX_HEADER)
        return;
    if (n <= 0) {
        c->px->bad_proxy_header++;
        conn_free(c, "bad_proxy_header");
        return;
    }
    evbuffer_drain(in, (size_t)n); /* the header is not the client's bytes */
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
        if (!px->draining && !px->at_cap) /* once per episode, not per refusal */
            log_warn("--max-conns %ld reached: refusing new connections until some end",
                     px->cfg.max_conns);
        px->at_cap = !px->draining;
        /* one access-log line for it too, like every connection */
        struct conn r = {.px = px, .start_ns = clock_now_ns()};
        memcpy(&r.client_addr, peer,
               (size_t)peerlen < sizeof(r.client_addr) ? (size_t)peerlen : sizeof(r.client_addr));
        strcpy(r.country, "--");
        access_log(&r, px->draining ? "refused_draining" : "refused_max_conns");
        close(fd);
        return;
    }
    size_t size = (sizeof(struct conn) + CONN_ALIGN - 1) / CONN_ALIGN * CONN_ALIGN;
    struct conn *c = aligned_alloc(CONN_ALIGN, size);
    if (!c) {
        close(fd);
        return;
    }
    memset(c, 0, sizeof(*c));
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
    /* TCP_NODELAY comes from the listening socket */
    struct side *cl = &c->side[CLIENT];
    cl->fd = fd;
    c->last_active_ns = c->start_ns;
    c->side[SERVER].q = evbuffer_new();
    c->timer = evtimer_new(px->base, deadline_cb, c);
    c->idle = evtimer_new(px->base, idle_cb, c);
    if (!c->side[SERVER].q || !c->timer || !c->idle) {
        conn_free(c, "out_of_memory");
        return;
    }
    if (watch(c, CLIENT) < 0) {
        log_warn("cannot watch a client socket: %s", strerror(errno));
        conn_free(c, "client_error");
        return;
    }
    if (px->idle_tv)
        evtimer_add(c->idle, px->idle_tv);
    c->state = CONN_HEADER;
    read_on(c, CLIENT);
    if (trusted(px, peer)) {
        struct timeval tv = ms_tv(px->cfg.connect_timeout_ms);
        evtimer_add(c->timer, &tv);
        return;
    }
    /* no header expected: move on at once */
    route_client(c);
    if (c->dead || c->state != CONN_CONNECTING)
        return;
    /* the client has often sent its first bytes already (they were in
     * before the accept): read them now, and try them on the backend */
    c->side[CLIENT].rd_ready = true;
    early_read(c);
    if (!c->dead)
        probe_connect(c);
}

int conn_init(struct proxy *px)
{
    px->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (px->epfd < 0)
        return -1;
    px->ep_event = event_new(px->base, px->epfd, EV_READ | EV_PERSIST, ep_cb, px);
    px->runq_timer = evtimer_new(px->base, runq_cb, px);
    if (!px->ep_event || !px->runq_timer || event_add(px->ep_event, NULL) < 0)
        return -1;
    if (px->cfg.idle_timeout_ms > 0) {
        /* every connection's first idle deadline is the same distance away:
         * libevent keeps those in a queue, not its heap */
        struct timeval tv = ms_tv(px->cfg.idle_timeout_ms);
        px->idle_tv = event_base_init_common_timeout(px->base, &tv);
    }
    return 0;
}

void conn_fini(struct proxy *px)
{
    conn_close_all(px, "drain_timeout");
    for (struct conn *c = px->runq; c; c = c->run_next)
        c->in_runq = false;
    px->runq = px->runq_tail = NULL;
    bury(px);
    if (px->ep_event)
        event_free(px->ep_event);
    if (px->runq_timer)
        event_free(px->runq_timer);
    px->ep_event = px->runq_timer = NULL;
    if (px->epfd >= 0)
        close(px->epfd);
    px->epfd = -1;
}
