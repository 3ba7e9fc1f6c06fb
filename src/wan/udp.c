/* UDP relay of `edgebench wan`.
 *
 * Like a NAT: each client source address gets its own socket connected to
 * --to, so replies find their way back; a mapping idle for udp_idle_ns (and
 * with nothing queued) is closed. Each direction keeps one min-heap of
 * datagrams by departure time and one timer for its head; datagrams may
 * overtake each other under jitter, as on a real path. A lost datagram is
 * dropped; a direction holding queue_cap bytes drops new datagrams (a full
 * router queue), and both are counted. */
#include "wan/relay.h"

#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DGRAM_MAX 65536
#define BATCH 64
#define UDP_SOCKBUF (4 << 20)

struct udp_map {
    struct udp_map *next;
    struct wan_link *l;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    int fd;
    struct event *rd;
    uint64_t last_ns;
    size_t pending; /* datagrams queued that refer to this mapping */
};

struct dgram {
    struct udp_map *m;
    size_t len;
    unsigned char data[];
};

struct udp_timer_arg {
    struct wan_link *l;
    int dir;
};

static unsigned char dgbuf[DGRAM_MAX];

/* Larger socket buffers than the default, so bursts are queued by the
 * emulator (and counted) rather than dropped by the kernel; best effort. */
static void big_buffers(int fd)
{
    int sz = UDP_SOCKBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static void map_free(struct udp_map *m)
{
    if (!m)
        return;
    if (m->rd)
        event_free(m->rd);
    if (m->fd >= 0)
        close(m->fd);
    free(m);
}

static void arm(struct wan_link *l, int dir, uint64_t now)
{
    const struct sched_item *it = sched_heap_peek(&l->heap[dir]);
    if (!it)
        return;
    uint64_t wait = it->depart_ns > now ? it->depart_ns - now : 0;
    struct timeval tv = {(time_t)(wait / 1000000000ull),
                         (suseconds_t)((wait % 1000000000ull + 999) / 1000)};
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    evtimer_add(l->timer[dir], &tv);
}

static void flush(struct wan_link *l, int dir);

static void enqueue(struct wan_link *l, int dir, struct udp_map *m, const void *data, size_t n,
                    uint64_t now)
{
    uint64_t depart;
    if (!sched_datagram(&l->shaper[dir], now, n, &depart)) {
        l->dropped_loss++;
        return;
    }
    if (l->queued[dir] + n > l->queue_cap) {
        l->dropped_full++;
        return;
    }
    struct dgram *g = malloc(sizeof(*g) + n);
    if (!g) {
        l->dropped_full++;
        return;
    }
    g->m = m;
    g->len = n;
    memcpy(g->data, data, n);
    const struct sched_item *head = sched_heap_peek(&l->heap[dir]);
    bool new_head = !head || depart < head->depart_ns;
    if (sched_heap_push(&l->heap[dir], depart, g) < 0) {
        free(g);
        l->dropped_full++;
        return;
    }
    m->pending++;
    l->queued[dir] += n;
    if (new_head && depart <= now)
        flush(l, dir); /* a 0 ms link: no trip through the timer */
    else if (new_head)
        arm(l, dir, now);
}

/* Sends every due datagram of one direction, then re-arms its timer. */
static void flush(struct wan_link *l, int dir)
{
    uint64_t now = clock_now_ns();
    const struct sched_item *it;
    while ((it = sched_heap_peek(&l->heap[dir])) && it->depart_ns <= now) {
        struct dgram *g = sched_heap_pop(&l->heap[dir]);
        struct udp_map *m = g->m;
        ssize_t r;
        if (dir == WAN_UP)
            r = send(m->fd, g->data, g->len, MSG_DONTWAIT);
        else
            r = sendto(l->listen_fd, g->data, g->len, MSG_DONTWAIT, (struct sockaddr *)&m->peer,
                       m->peer_len);
        if (r < 0)
            log_debug("udp send toward the %s: %s", dir == WAN_UP ? "upstream" : "client",
                      strerror(errno));
        l->queued[dir] -= g->len;
        m->pending--;
        free(g);
    }
    arm(l, dir, now);
}

static void timer_cb(evutil_socket_t unused, short what, void *arg)
{
    struct udp_timer_arg *ta = arg;
    (void)unused;
    (void)what;
    flush(ta->l, ta->dir);
}

static void map_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct udp_map *m = arg;
    (void)what;
    for (int i = 0; i < BATCH; i++) {
        ssize_t n = recv(fd, dgbuf, sizeof(dgbuf), 0);
        if (n < 0)
            return; /* EAGAIN, or an ICMP error from upstream: nothing to relay */
        uint64_t now = clock_now_ns();
        m->last_ns = now;
        enqueue(m->l, WAN_DOWN, m, dgbuf, (size_t)n, now);
    }
}

static bool same_peer(const struct udp_map *m, const struct sockaddr_storage *a, socklen_t len)
{
    return m->peer_len == len && !memcmp(&m->peer, a, len);
}

static struct udp_map *map_get(struct wan_link *l, const struct sockaddr_storage *peer,
                               socklen_t len)
{
    struct udp_map **pp = &l->maps;
    for (struct udp_map *m = l->maps; m; pp = &m->next, m = m->next) {
        if (same_peer(m, peer, len)) {
            *pp = m->next; /* move to front: the busy clients are found first */
            m->next = l->maps;
            l->maps = m;
            return m;
        }
    }
    struct udp_map *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->l = l;
    m->fd = -1;
    memcpy(&m->peer, peer, len);
    m->peer_len = len;
    m->fd = socket(l->to_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m->fd < 0 || connect(m->fd, (struct sockaddr *)&l->to_addr, l->to_len) < 0) {
        log_warn("udp: cannot open a socket toward %s:%u: %s", l->spec.to_host, l->spec.to_port,
                 strerror(errno));
        map_free(m);
        return NULL;
    }
    big_buffers(m->fd);
    m->rd = event_new(l->base, m->fd, EV_READ | EV_PERSIST, map_read_cb, m);
    if (!m->rd || event_add(m->rd, NULL) < 0) {
        map_free(m);
        return NULL;
    }
    m->next = l->maps;
    l->maps = m;
    log_debug("udp: new mapping on %s:%u", l->spec.listen_host, l->spec.listen_port);
    return m;
}

static void listen_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wan_link *l = arg;
    (void)what;
    for (int i = 0; i < BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);
        ssize_t n = recvfrom(fd, dgbuf, sizeof(dgbuf), 0, (struct sockaddr *)&peer, &len);
        if (n < 0)
            return;
        struct udp_map *m = map_get(l, &peer, len);
        if (!m)
            continue;
        uint64_t now = clock_now_ns();
        m->last_ns = now;
        enqueue(l, WAN_UP, m, dgbuf, (size_t)n, now);
    }
}

static void sweep_cb(evutil_socket_t unused, short what, void *arg)
{
    struct wan_link *l = arg;
    (void)unused;
    (void)what;
    uint64_t now = clock_now_ns();
    struct udp_map **pp = &l->maps;
    while (*pp) {
        struct udp_map *m = *pp;
        if (!m->pending && now - m->last_ns > l->udp_idle_ns) {
            *pp = m->next;
            log_debug("udp: mapping idle, closed");
            map_free(m);
            continue;
        }
        pp = &m->next;
    }
}

int udp_link_start(struct wan_link *l)
{
    int one = 1;
    int fd = socket(l->listen_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    big_buffers(fd);
    if (bind(fd, (struct sockaddr *)&l->listen_addr, l->listen_len) < 0) {
        log_error("cannot listen on %s:%u (udp): %s",
                  *l->spec.listen_host ? l->spec.listen_host : "*", l->spec.listen_port,
                  strerror(errno));
        close(fd);
        return -1;
    }
    l->listen_fd = fd;
    struct udp_timer_arg *ta = calloc(2, sizeof(*ta));
    if (!ta)
        return -1;
    for (int d = 0; d < 2; d++) {
        ta[d].l = l;
        ta[d].dir = d;
        l->timer[d] = evtimer_new(l->base, timer_cb, &ta[d]);
    }
    l->udp_timer_args = ta;
    l->listen_ev = event_new(l->base, fd, EV_READ | EV_PERSIST, listen_read_cb, l);
    l->sweep_ev = event_new(l->base, -1, EV_PERSIST, sweep_cb, l);
    struct timeval sweep = {1, 0};
    if (!l->timer[0] || !l->timer[1] || !l->listen_ev || !l->sweep_ev ||
        event_add(l->listen_ev, NULL) < 0 || event_add(l->sweep_ev, &sweep) < 0) {
        log_error("cannot watch the udp socket of %s:%u", l->spec.listen_host, l->spec.listen_port);
        return -1;
    }
    return 0;
}

void udp_link_stop(struct wan_link *l)
{
    if (!l)
        return;
    for (int d = 0; d < 2; d++) {
        struct dgram *g;
        while ((g = sched_heap_pop(&l->heap[d])))
            free(g);
        sched_heap_free(&l->heap[d]);
        if (l->timer[d])
            event_free(l->timer[d]);
        l->timer[d] = NULL;
    }
    free(l->udp_timer_args);
    l->udp_timer_args = NULL;
    while (l->maps) {
        struct udp_map *m = l->maps;
        l->maps = m->next;
        map_free(m);
    }
    if (l->sweep_ev)
        event_free(l->sweep_ev);
    l->sweep_ev = NULL;
    if (l->listen_ev)
        event_free(l->listen_ev);
    l->listen_ev = NULL;
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    l->listen_fd = -1;
}
