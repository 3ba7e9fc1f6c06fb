/* One running link of `edgebench wan`: its listener, its two shapers (one per
 * direction) and the TCP connections or UDP mappings relayed through it.
 * tcp.c and udp.c implement the two kinds; wan.c owns the event loop. */
#ifndef EB_WAN_RELAY_H
#define EB_WAN_RELAY_H

#include "wan/links.h"
#include "wan/sched.h"

#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct event;
struct tcp_conn;
struct udp_map;

/* Direction 0 carries what the client sends toward --to; direction 1 the replies. */
enum { WAN_UP = 0, WAN_DOWN = 1 };

struct wan_link {
    struct wan_link_spec spec;
    struct event_base *base;
    struct sockaddr_storage listen_addr, to_addr;
    socklen_t listen_len, to_len;
    struct wan_shaper shaper[2];
    size_t queue_cap; /* bytes held per direction (TCP: per connection) before pushing back */
    int listen_fd;
    struct event *listen_ev;
    /* TCP */
    struct tcp_conn *conns;
    uint64_t accepted;
    /* UDP */
    struct udp_map *maps;
    struct sched_heap heap[2];
    struct event *timer[2];
    void *udp_timer_args;
    struct event *sweep_ev;
    size_t queued[2];
    uint64_t udp_idle_ns;
    uint64_t dropped_loss, dropped_full;
};

/* Bind and listen; returns 0 or -1 after logging why. */
int tcp_link_start(struct wan_link *l);
void tcp_link_stop(struct wan_link *l);
int udp_link_start(struct wan_link *l);
void udp_link_stop(struct wan_link *l);

#endif
