/* TCP relay of `edgebench wan`.
 *
 * Each accepted connection has two directions. A direction reads its source
 * socket into a queue of chunks, each stamped with its departure time
 * (sched_stream: arrival + one-way delay + jitter, never before the previous
 * chunk), and one timer per direction fires for the head of the queue. A
 * queue above queue_cap stops reading its source, so a slow receiver pushes
 * back on the sender through the kernel's windows. The bytes themselves wait
 * in a pipe per direction (splice(2): no copy through user space); the queue
 * holds only their lengths and departure times, in the pipe's FIFO order.
 *
 * Set-up: the kernel completes the client's handshake at once, so the relay
 * models it: it connects upstream one one-way delay after the accept (the
 * SYN's trip) and holds the client's bytes as if they were sent one RTT after
 * the accept (when the SYN-ACK would have reached the client). A client's
 * connect plus first request therefore costs two RTTs, as on a real path.
 *
 * End of stream: a FIN is queued like data and becomes shutdown(SHUT_WR) on
 * the other side when it departs. A reset (ECONNRESET/EPIPE) is queued the same
 * way and becomes a close with SO_LINGER 0, which sends an RST. */
#include "wan/relay.h"

#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK_MAX (256 * 1024)
#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

enum chunk_kind { CHUNK_DATA, CHUNK_FIN, CHUNK_RST };

struct chunk {
    struct chunk *next;
    uint64_t depart_ns;
    size_t len, off;
    enum chunk_kind kind;
};

enum conn_state {
    CONN_SYN_SENT,   /* waiting the SYN's one-way delay before connecting upstream */
    CONN_CONNECTING, /* non-blocking connect upstream in progress */
    CONN_OPEN,       /* both sockets open */
};

struct tcp_conn;

struct dir {
    struct tcp_conn *c;
    int idx;          /* WAN_UP: client -> upstream; WAN_DOWN: upstream -> client */
    struct event *rd; /* readable source */
    struct event *wr; /* writable destination */
    struct event *timer;
    struct chunk *head, *tail;
    int pipe[2]; /* the queued bytes, in order */
    size_t pipe_cap;
    size_t queued;
    uint64_t last_depart_ns;
    uint64_t floor_ns; /* nothing departs before the set-up is over */
    bool src_done;     /* EOF or reset read, or reading stopped for good */
    bool fin_sent;
};

struct tcp_conn {
    struct tcp_conn *next, *prev;
    struct wan_link *l;
    uint64_t id;
    enum conn_state state;
    int fd[2]; /* [WAN_UP] client, [WAN_DOWN] upstream */
    struct dir dir[2];
    struct event *connect_ev;
    bool reset; /* a reset is on its way; no more data */
};

static void conn_free(struct tcp_conn *c);
static bool dir_flush(struct dir *d);
static void dir_arm(struct dir *d, uint64_t now);

/* The fd a direction reads from and the one it writes to. */
static int dir_src(const struct dir *d)
{
    return d->c->fd[d->idx];
}

static int dir_dst(const struct dir *d)
{
    return d->c->fd[1 - d->idx];
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void close_with_rst(int fd)
{
    if (fd < 0)
        return;
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

static void chunks_free(struct dir *d)
{
    struct chunk *k = d->head;
    while (k) {
        struct chunk *n = k->next;
        free(k);
        k = n;
    }
    d->head = d->tail = NULL;
    d->queued = 0;
    if (d->timer)
        evtimer_del(d->timer);
    if (d->wr)
        event_del(d->wr);
}

static void dir_stop_reading(struct dir *d)
{
    d->src_done = true;
    if (d->rd)
        event_del(d->rd);
}

/* Reading resumes when the queue has room again. */
static void dir_update_reading(struct dir *d)
{
    if (!d->rd || d->src_done || d->c->reset)
        return;
    if (d->queued < d->pipe_cap)
        event_add(d->rd, NULL);
    else
        event_del(d->rd);
}

static void dir_append(struct dir *d, struct chunk *k)
{
    k->next = NULL;
    if (d->tail)
        d->tail->next = k;
    else
        d->head = k;
    d->tail = k;
    d->queued += k->len;
    d->last_depart_ns = k->depart_ns;
}

static struct chunk *chunk_new(enum chunk_kind kind, size_t n, uint64_t depart_ns)
{
    struct chunk *k = malloc(sizeof(*k));
    if (!k)
        return NULL;
    k->kind = kind;
    k->len = n;
    k->off = 0;
    k->depart_ns = depart_ns;
    return k;
}

/* Queues a reset toward the destination of d; everything else stops. */
static void dir_queue_reset(struct dir *d)
{
    struct tcp_conn *c = d->c;
    struct dir *o = &c->dir[1 - d->idx];
    if (c->reset)
        return;
    c->reset = true;
    /* the side that reset has no socket any more: what was sent to it is lost */
    chunks_free(o);
    dir_stop_reading(o);
    dir_stop_reading(d);
    /* a reset is neither shaped nor retransmitted: it only follows what is queued */
    uint64_t now = clock_now_ns();
    uint64_t t = now + c->l->shaper[d->idx].one_way_ns;
    struct chunk *k = chunk_new(CHUNK_RST, 0, t > d->last_depart_ns ? t : d->last_depart_ns);
    if (!k) {
        conn_free(c);
        return;
    }
    dir_append(d, k);
    dir_arm(d, now);
}

static void dir_arm(struct dir *d, uint64_t now)
{
    if (!d->head)
        return;
    uint64_t due = d->head->depart_ns;
    uint64_t wait = due > now ? due - now : 0;
    /* round up to the microsecond: never fire before the departure time */
    struct timeval tv = {(time_t)(wait / 1000000000ull),
                         (suseconds_t)((wait % 1000000000ull + 999) / 1000)};
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    evtimer_add(d->timer, &tv);
}

/* Delivers every due chunk. Returns false when the connection was freed. */
static bool dir_flush(struct dir *d)
{
    struct tcp_conn *c = d->c;
    uint64_t now = clock_now_ns();
    while (d->head && d->head->depart_ns <= now) {
        if (c->state != CONN_OPEN)
            return true; /* the connect completion flushes again */
        struct chunk *k = d->head;
        int dst = dir_dst(d);
        if (k->kind == CHUNK_RST) {
            log_debug("conn %llu: reset delivered to the %s", (unsigned long long)c->id,
                      d->idx == WAN_UP ? "upstream" : "client");
            close_with_rst(dst);
            c->fd[1 - d->idx] = -1;
            conn_free(c);
            return false;
        }
        if (k->kind == CHUNK_FIN) {
            shutdown(dst, SHUT_WR);
            d->fin_sent = true;
            d->head = k->next;
            if (!d->head)
                d->tail = NULL;
            free(k);
            if (c->dir[1 - d->idx].fin_sent) {
                conn_free(c);
                return false;
            }
            continue;
        }
        ssize_t n = splice(d->pipe[0], NULL, dst, NULL, k->len - k->off, SPLICE_FLAGS);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                event_add(d->wr, NULL);
                return true;
            }
            /* the destination reset: tell the source, after the way back */
            log_debug("conn %llu: send to the %s: %s", (unsigned long long)c->id,
                      d->idx == WAN_UP ? "upstream" : "client", strerror(errno));
            dir_queue_reset(&c->dir[1 - d->idx]);
            return true;
        }
        k->off += (size_t)n;
        d->queued -= (size_t)n;
        if (k->off < k->len) {
            event_add(d->wr, NULL);
            dir_update_reading(d);
            return true;
        }
        d->head = k->next;
        if (!d->head)
            d->tail = NULL;
        free(k);
    }
    dir_update_reading(d);
    dir_arm(d, now);
    return true;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dir *d = arg;
    (void)fd;
    (void)what;
    if (d->wr && event_pending(d->wr, EV_WRITE, NULL))
        return; /* waiting for room; the write callback flushes */
    dir_flush(d);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dir_flush(arg);
}

/* Reads one chunk. Returns true only when it went straight through and the
 * source may hold more (the caller reads again before sleeping). */
static bool read_once(struct dir *d, int fd)
{
    struct tcp_conn *c = d->c;
    struct wan_link *l = c->l;
    size_t max = CHUNK_MAX;
    if (l->shaper[d->idx].ns_per_byte > 0) {
        /* at a limited rate, chunks of about 1 ms keep the serialisation smooth */
        double per_ms = 1e6 / l->shaper[d->idx].ns_per_byte;
        max = per_ms < WAN_TCP_MSS ? WAN_TCP_MSS : per_ms > CHUNK_MAX ? CHUNK_MAX : (size_t)per_ms;
    }
    if (max > d->pipe_cap - d->queued)
        max = d->pipe_cap - d->queued;
    if (!max) {
        event_del(d->rd); /* the pipe is full: wait for the destination */
        return false;
    }
    ssize_t n = splice(fd, NULL, d->pipe[1], NULL, max, SPLICE_FLAGS);
    uint64_t now = clock_now_ns();
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (n < 0) {
        log_debug("conn %llu: %s reset (%s)", (unsigned long long)c->id,
                  d->idx == WAN_UP ? "client" : "upstream", strerror(errno));
        dir_queue_reset(d);
        return false;
    }
    size_t len = (size_t)n, sent = 0;
    uint64_t depart = sched_stream(&l->shaper[d->idx], now, len, d->last_depart_ns, d->floor_ns);
    bool idle = !d->head && !(d->wr && event_pending(d->wr, EV_WRITE, NULL));
    if (len && idle && depart <= now && c->state == CONN_OPEN) {
        /* a 0 ms link: straight through, no queue and no timer */
        ssize_t w = splice(d->pipe[0], NULL, dir_dst(d), NULL, len, SPLICE_FLAGS);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            dir_queue_reset(&c->dir[1 - d->idx]);
            return false;
        }
        d->last_depart_ns = depart;
        sent = w > 0 ? (size_t)w : 0;
        if (sent == len)
            return len == max;
    }
    struct chunk *k = chunk_new(len ? CHUNK_DATA : CHUNK_FIN, len - sent, depart);
    if (!k) {
        log_error("conn %llu: out of memory; resetting it", (unsigned long long)c->id);
        dir_queue_reset(d);
        return false;
    }
    dir_append(d, k);
    if (!len)
        dir_stop_reading(d);
    else
        dir_update_reading(d);
    if (!idle)
        return false;
    if (depart <= now)
        dir_flush(d); /* may free the connection */
    else
        dir_arm(d, now);
    return false;
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    for (int i = 0; i < 16 && read_once(arg, fd); i++)
        ;
}

static int dir_events(struct dir *d)
{
    struct event_base *b = d->c->l->base;
    if (!d->timer)
        d->timer = evtimer_new(b, timer_cb, d);
    if (!d->rd && dir_src(d) >= 0)
        d->rd = event_new(b, dir_src(d), EV_READ | EV_PERSIST, read_cb, d);
    if (!d->wr && dir_dst(d) >= 0)
        d->wr = event_new(b, dir_dst(d), EV_WRITE, write_cb, d);
    return d->timer ? 0 : -1;
}

static void connect_failed(struct tcp_conn *c, int err)
{
    const struct wan_link_spec *s = &c->l->spec;
    log_warn("link %s%s%s:%u: connect to %s:%u failed: %s; resetting the client", s->name,
             *s->name ? " " : "", *s->listen_host ? s->listen_host : "*", s->listen_port,
             s->to_host, s->to_port, strerror(err));
    if (c->fd[WAN_DOWN] >= 0)
        close(c->fd[WAN_DOWN]);
    c->fd[WAN_DOWN] = -1;
    c->state = CONN_OPEN; /* only the reset toward the client remains */
    dir_queue_reset(&c->dir[WAN_DOWN]);
}

static void connected_cb(evutil_socket_t fd, short what, void *arg)
{
    struct tcp_conn *c = arg;
    (void)what;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return;
    event_free(c->connect_ev);
    c->connect_ev = NULL;
    if (err) {
        connect_failed(c, err);
        return;
    }
    c->state = CONN_OPEN;
    set_nodelay(fd);
    if (dir_events(&c->dir[WAN_UP]) < 0 || dir_events(&c->dir[WAN_DOWN]) < 0) {
        conn_free(c);
        return;
    }
    if (!c->reset)
        dir_update_reading(&c->dir[WAN_DOWN]);
    if (dir_flush(&c->dir[WAN_UP]))
        dir_flush(&c->dir[WAN_DOWN]);
}

/* The SYN has crossed the link: connect upstream. */
static void syn_arrived_cb(evutil_socket_t unused, short what, void *arg)
{
    struct tcp_conn *c = arg;
    struct wan_link *l = c->l;
    (void)unused;
    (void)what;
    event_free(c->connect_ev);
    c->connect_ev = NULL;
    if (c->reset) {
        /* the client reset before its SYN arrived: nothing reaches upstream */
        conn_free(c);
        return;
    }
    int fd = socket(l->to_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        connect_failed(c, errno);
        return;
    }
    c->fd[WAN_DOWN] = fd;
    c->state = CONN_CONNECTING;
    if (connect(fd, (struct sockaddr *)&l->to_addr, l->to_len) < 0 && errno != EINPROGRESS) {
        connect_failed(c, errno);
        return;
    }
    c->connect_ev = event_new(l->base, fd, EV_WRITE | EV_PERSIST, connected_cb, c);
    if (!c->connect_ev || event_add(c->connect_ev, NULL) < 0) {
        conn_free(c);
        return;
    }
}

static void conn_free(struct tcp_conn *c)
{
    if (!c)
        return;
    struct wan_link *l = c->l;
    for (int i = 0; i < 2; i++) {
        struct dir *d = &c->dir[i];
        chunks_free(d);
        if (d->rd)
            event_free(d->rd);
        if (d->wr)
            event_free(d->wr);
        if (d->timer)
            event_free(d->timer);
    }
    if (c->connect_ev)
        event_free(c->connect_ev);
    for (int i = 0; i < 2; i++) {
        if (c->fd[i] >= 0)
            close(c->fd[i]);
        for (int j = 0; j < 2; j++)
            if (c->dir[i].pipe[j] >= 0)
                close(c->dir[i].pipe[j]);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    log_debug("conn %llu closed", (unsigned long long)c->id);
    free(c);
}

/* The pipe that holds a direction's bytes, as large as the queue may grow. */
static int dir_pipe(struct dir *d, size_t cap)
{
    if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    fcntl(d->pipe[1], F_SETPIPE_SZ, (int)cap); /* may be refused: keep what we got */
    int got = fcntl(d->pipe[1], F_GETPIPE_SZ);
    d->pipe_cap = got > 0 ? (size_t)got : 4096;
    return 0;
}

static void conn_start(struct wan_link *l, int fd)
{
    struct tcp_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close_with_rst(fd);
        return;
    }
    c->l = l;
    c->id = ++l->accepted;
    c->fd[WAN_UP] = fd;
    c->fd[WAN_DOWN] = -1;
    c->state = CONN_SYN_SENT;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    set_nodelay(fd);
    uint64_t now = clock_now_ns();
    uint64_t syn = l->shaper[WAN_UP].one_way_ns + sched_jitter(&l->shaper[WAN_UP]);
    uint64_t synack = l->shaper[WAN_DOWN].one_way_ns + sched_jitter(&l->shaper[WAN_DOWN]);
    for (int i = 0; i < 2; i++) {
        c->dir[i].c = c;
        c->dir[i].idx = i;
        c->dir[i].pipe[0] = c->dir[i].pipe[1] = -1;
    }
    /* the client may send once the SYN-ACK is back; upstream answers after the SYN */
    c->dir[WAN_UP].floor_ns = now + syn + synack;
    c->dir[WAN_DOWN].floor_ns = now + syn;
    struct timeval tv = {(time_t)(syn / 1000000000ull),
                         (suseconds_t)((syn % 1000000000ull + 999) / 1000)};
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    for (int i = 0; i < 2; i++) {
        if (dir_pipe(&c->dir[i], l->queue_cap) < 0) {
            log_warn("conn %llu: cannot create a pipe (%s); resetting it",
                     (unsigned long long)c->id, strerror(errno));
            close_with_rst(fd);
            c->fd[WAN_UP] = -1;
            conn_free(c);
            return;
        }
    }
    c->connect_ev = evtimer_new(l->base, syn_arrived_cb, c);
    if (!c->connect_ev || evtimer_add(c->connect_ev, &tv) < 0 || dir_events(&c->dir[WAN_UP]) < 0 ||
        dir_events(&c->dir[WAN_DOWN]) < 0) {
        log_error("conn %llu: out of memory", (unsigned long long)c->id);
        conn_free(c);
        return;
    }
    dir_update_reading(&c->dir[WAN_UP]);
    log_debug("conn %llu accepted on %s:%u", (unsigned long long)c->id, l->spec.listen_host,
              l->spec.listen_port);
}

static void accept_resume_cb(evutil_socket_t unused, short what, void *arg)
{
    struct wan_link *l = arg;
    (void)unused;
    (void)what;
    if (l->listen_ev)
        event_add(l->listen_ev, NULL);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    struct wan_link *l = arg;
    (void)what;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
                return;
            /* out of descriptors or memory: the listener stays readable, so
             * pause it rather than spin; pending clients wait in the backlog */
            static const struct timeval pause = {0, 100000};
            log_warn("accept on %s:%u: %s; pausing accepts for 100 ms", l->spec.listen_host,
                     l->spec.listen_port, strerror(errno));
            event_del(l->listen_ev);
            event_base_once(l->base, -1, EV_TIMEOUT, accept_resume_cb, l, &pause);
            return;
        }
        conn_start(l, fd);
    }
}

int tcp_link_start(struct wan_link *l)
{
    int one = 1;
    int fd = socket(l->listen_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&l->listen_addr, l->listen_len) < 0 || listen(fd, 511) < 0) {
        log_error("cannot listen on %s:%u (tcp): %s",
                  *l->spec.listen_host ? l->spec.listen_host : "*", l->spec.listen_port,
                  strerror(errno));
        close(fd);
        return -1;
    }
    l->listen_fd = fd;
    l->listen_ev = event_new(l->base, fd, EV_READ | EV_PERSIST, accept_cb, l);
    if (!l->listen_ev || event_add(l->listen_ev, NULL) < 0) {
        log_error("cannot watch the listener of %s:%u", l->spec.listen_host, l->spec.listen_port);
        return -1;
    }
    return 0;
}

void tcp_link_stop(struct wan_link *l)
{
    if (!l)
        return;
    while (l->conns)
        conn_free(l->conns);
    if (l->listen_ev)
        event_free(l->listen_ev);
    l->listen_ev = NULL;
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    l->listen_fd = -1;
}
