/* When a byte or datagram may leave the emulator: the pure scheduling logic
 * of one direction of a link (no sockets, no clock), unit tested on its own.
 *
 * departure = shaped(arrival, bytes) + one_way + jitter_sample [+ rto if lost]
 *   shaped():  a token bucket of rate R and depth `burst` bytes (GCRA form):
 *              a chunk leaves the bucket once enough tokens have accrued.
 *   jitter:    uniform in [0, jitter], so nothing leaves before arrival + delay.
 * TCP keeps a stream's order: departure = max(previous departure, the above).
 * UDP does not: datagrams may overtake each other, as on a real path. */
#ifndef EB_WAN_SCHED_H
#define EB_WAN_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wan_shaper {
    uint64_t one_way_ns;
    uint64_t jitter_ns;
    uint64_t rto_ns;    /* extra delay of a TCP chunk that would have lost a segment */
    double loss;        /* probability 0..1 per packet */
    double ns_per_byte; /* 0: unlimited rate */
    uint64_t burst_ns;  /* bucket depth, as time at the rate */
    uint64_t tat_ns;    /* theoretical arrival time (GCRA) */
    uint64_t rng;       /* xorshift state, never 0 */
};

/* TCP segment payload used to turn a per-packet loss rate into a per-chunk one. */
#define WAN_TCP_MSS 1448

void sched_init(struct wan_shaper *s, double one_way_ms, double jitter_ms, double loss_pct,
                double rate_bps, uint64_t seed);

/* Time the chunk leaves the token bucket (== arrival when the rate is unlimited). */
uint64_t sched_shape(struct wan_shaper *s, uint64_t arrival_ns, size_t bytes);

/* A uniform sample in [0, jitter_ns]. */
uint64_t sched_jitter(struct wan_shaper *s);

/* True with probability `loss` (one packet). */
bool sched_lost(struct wan_shaper *s);

/* Departure of a UDP datagram; returns false when it is dropped. */
bool sched_datagram(struct wan_shaper *s, uint64_t arrival_ns, size_t bytes, uint64_t *depart_ns);

/* Departure of a TCP chunk of a stream whose previous chunk departs at
 * prev_depart_ns; never earlier than floor_ns (connection set-up) nor than
 * prev_depart_ns. A chunk that would have lost one of its segments waits
 * one retransmission timeout more. */
uint64_t sched_stream(struct wan_shaper *s, uint64_t arrival_ns, size_t bytes,
                      uint64_t prev_depart_ns, uint64_t floor_ns);

/* A binary min-heap of departures (UDP), ties kept in insertion order. */
struct sched_item {
    uint64_t depart_ns;
    uint64_t seq;
    void *ptr;
};
struct sched_heap {
    struct sched_item *v;
    size_t n, cap;
    uint64_t next_seq;
};

int sched_heap_push(struct sched_heap *h, uint64_t depart_ns, void *ptr);
/* The earliest item, or NULL when empty. */
const struct sched_item *sched_heap_peek(const struct sched_heap *h);
void *sched_heap_pop(struct sched_heap *h);
void sched_heap_free(struct sched_heap *h);

#endif
