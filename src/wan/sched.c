#include "wan/sched.h"

#include <math.h>
#include <stdlib.h>

/* Linux: RTO = SRTT + max(4 * RTTVAR, 200 ms); on a steady path that is RTT + 200 ms. */
#define RTO_MIN_NS 200000000ull

static uint64_t ms_to_ns(double ms)
{
    return (uint64_t)llround(ms * 1e6);
}

void sched_init(struct wan_shaper *s, double one_way_ms, double jitter_ms, double loss_pct,
                double rate_bps, uint64_t seed)
{
    s->one_way_ns = ms_to_ns(one_way_ms);
    s->jitter_ns = ms_to_ns(jitter_ms);
    s->rto_ns = RTO_MIN_NS + 2 * s->one_way_ns + s->jitter_ns;
    s->loss = loss_pct / 100.0;
    s->ns_per_byte = rate_bps > 0 ? 8e9 / rate_bps : 0;
    /* bucket depth: 1 ms at the rate, at least one full-size packet */
    s->burst_ns = 0;
    if (rate_bps > 0) {
        double mtu_ns = 1514 * s->ns_per_byte;
        s->burst_ns = (uint64_t)(mtu_ns > 1e6 ? mtu_ns : 1e6);
    }
    s->tat_ns = 0;
    s->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint64_t rng_next(struct wan_shaper *s)
{
    /* xorshift64* */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, 1). */
static double rng_unit(struct wan_shaper *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t sched_shape(struct wan_shaper *s, uint64_t arrival_ns, size_t bytes)
{
    if (s->ns_per_byte <= 0)
        return arrival_ns;
    uint64_t start = s->tat_ns > arrival_ns ? s->tat_ns : arrival_ns;
    s->tat_ns = start + (uint64_t)llround((double)bytes * s->ns_per_byte);
    /* leaves once the bucket holds the chunk: at tat - depth, never before arrival */
    uint64_t leave = s->tat_ns > s->burst_ns ? s->tat_ns - s->burst_ns : 0;
    return leave > arrival_ns ? leave : arrival_ns;
}

uint64_t sched_jitter(struct wan_shaper *s)
{
    if (!s->jitter_ns)
        return 0;
    return (uint64_t)llround(rng_unit(s) * (double)s->jitter_ns);
}

bool sched_lost(struct wan_shaper *s)
{
    if (s->loss <= 0)
        return false;
    if (s->loss >= 1)
        return true;
    return rng_unit(s) < s->loss;
}

bool sched_datagram(struct wan_shaper *s, uint64_t arrival_ns, size_t bytes, uint64_t *depart_ns)
{
    if (sched_lost(s))
        return false;
    *depart_ns = sched_shape(s, arrival_ns, bytes) + s->one_way_ns + sched_jitter(s);
    return true;
}

uint64_t sched_stream(struct wan_shaper *s, uint64_t arrival_ns, size_t bytes,
                      uint64_t prev_depart_ns, uint64_t floor_ns)
{
    uint64_t t = arrival_ns > floor_ns ? arrival_ns : floor_ns;
    t = sched_shape(s, t, bytes) + s->one_way_ns + sched_jitter(s);
    if (s->loss > 0) {
        /* probability that at least one of the chunk's segments is lost */
        size_t segs = bytes ? (bytes + WAN_TCP_MSS - 1) / WAN_TCP_MSS : 1;
        double p = s->loss >= 1 ? 1 : 1 - pow(1 - s->loss, (double)segs);
        if (rng_unit(s) < p)
            t += s->rto_ns;
    }
    return t > prev_depart_ns ? t : prev_depart_ns;
}

static bool item_less(const struct sched_item *a, const struct sched_item *b)
{
    return a->depart_ns < b->depart_ns || (a->depart_ns == b->depart_ns && a->seq < b->seq);
}

int sched_heap_push(struct sched_heap *h, uint64_t depart_ns, void *ptr)
{
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 64;
        struct sched_item *nv = realloc(h->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        h->v = nv;
        h->cap = ncap;
    }
    struct sched_item it = {depart_ns, h->next_seq++, ptr};
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!item_less(&it, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = it;
    return 0;
}

const struct sched_item *sched_heap_peek(const struct sched_heap *h)
{
    return h->n ? &h->v[0] : NULL;
}

void *sched_heap_pop(struct sched_heap *h)
{
    if (!h->n)
        return NULL;
    void *top = h->v[0].ptr;
    struct sched_item last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && item_less(&h->v[c + 1], &h->v[c]))
            c++;
        if (!item_less(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

void sched_heap_free(struct sched_heap *h)
{
    if (!h)
        return;
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
