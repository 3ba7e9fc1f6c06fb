/* Choosing a backend: nearest healthy candidates first, soft and hard
 * limits, weighted random among equally near candidates, client affinity. */
#include "proxy/state.h"

#include "core/catalog.h"
#include "core/clock.h"
#include "core/countries.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

const char *reason_name(enum reason r)
{
    static const char *const names[] = {"nearest",  "affinity", "soft_limit",
                                        "failover", "pop",      "hard_limit"};
    return (unsigned)r < REASON_COUNT ? names[r] : "?";
}

/* ---- affinity: client address -> route id, with expiry ---- */

struct aff_entry {
    struct aff_entry *next;
    uint8_t key[17]; /* family byte + address */
    long route_id;
    uint64_t expires_ns;
};

struct affinity {
    struct aff_entry **slots;
    size_t nslots, count;
};

struct affinity *affinity_new(void)
{
    struct affinity *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->nslots = 1024;
    a->slots = calloc(a->nslots, sizeof(*a->slots));
    if (!a->slots) {
        free(a);
        return NULL;
    }
    return a;
}

void affinity_free(struct affinity *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nslots; i++) {
        struct aff_entry *e = a->slots[i];
        while (e) {
            struct aff_entry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(a->slots);
    free(a);
}

size_t affinity_count(const struct affinity *a)
{
    return a ? a->count : 0;
}

static void client_key(const struct sockaddr *sa, uint8_t key[17])
{
    memset(key, 0, 17);
    if (sa->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        key[0] = 6;
        memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
}

static size_t key_hash(const uint8_t key[17], size_t nslots)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)(h & (nslots - 1));
}

static void affinity_grow(struct affinity *a)
{
    size_t n = a->nslots * 2;
    struct aff_entry **slots = calloc(n, sizeof(*slots));
    if (!slots)
        return; /* keep the smaller table: lookups still work */
    for (size_t i = 0; i < a->nslots; i++) {
        struct aff_entry *e = a->slots[i];
        while (e) {
            struct aff_entry *next = e->next;
            size_t h = key_hash(e->key, n);
            e->next = slots[h];
            slots[h] = e;
            e = next;
        }
    }
    free(a->slots);
    a->slots = slots;
    a->nslots = n;
}

size_t affinity_sweep(struct affinity *a, uint64_t now_ns)
{
    for (size_t i = 0; i < a->nslots; i++) {
        struct aff_entry **pp = &a->slots[i];
        while (*pp) {
            struct aff_entry *e = *pp;
            if (e->expires_ns <= now_ns) {
                *pp = e->next;
                free(e);
                a->count--;
            } else {
                pp = &e->next;
            }
        }
    }
    return a->count;
}

static struct aff_entry *affinity_find(struct affinity *a, const uint8_t key[17], uint64_t now)
{
    struct aff_entry **pp = &a->slots[key_hash(key, a->nslots)];
    while (*pp) {
        struct aff_entry *e = *pp;
        if (!memcmp(e->key, key, 17)) {
            if (e->expires_ns > now)
                return e;
            *pp = e->next;
            free(e);
            a->count--;
            return NULL;
        }
        pp = &e->next;
    }
    return NULL;
}

static void affinity_set(struct affinity *a, const uint8_t key[17], long route_id, uint64_t exp)
{
    struct aff_entry *e = affinity_find(a, key, 0);
    if (!e) {
        if (a->count >= a->nslots)
            affinity_grow(a);
        e = calloc(1, sizeof(*e));
        if (!e)
            return;
        memcpy(e->key, key, 17);
        size_t h = key_hash(key, a->nslots);
        e->next = a->slots[h];
        a->slots[h] = e;
        a->count++;
    }
    e->route_id = route_id;
    e->expires_ns = exp;
}

/* ---- selection ---- */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

double balance_cost(const struct proxy *px, const struct backend *b, bool have_pos, double lat,
                    double lon)
{
    if (!have_pos)
        return 0;
    double km = catalog_distance_km(lat, lon, b->lat, b->lon);
    if (!px->nrtt)
        return km;
    /* estimated client -> region RTT (the lab's model, k = 1.8) plus the
     * region's measured round trip to the database; unmeasured regions last */
    double est = 2.0 * km / 200.0 * 1.8;
    return b->measured_ms >= 0 ? est + b->measured_ms : 1e9 + est;
}

static bool under_hard(const struct backend *b)
{
    return b->route.hard_limit == 0 || b->active < b->route.hard_limit;
}

static bool under_soft(const struct backend *b)
{
    return b->route.soft_limit == 0 || b->active < b->route.soft_limit;
}

static void take(struct proxy *px, struct backend *b, const uint8_t key[17])
{
    b->active++;
    b->total++;
    backend_ref(b);
    if (px->cfg.affinity_ttl_ms > 0 && key[0])
        affinity_set(px->affinity, key, b->route.id,
                     clock_now_ns() + (uint64_t)(px->cfg.affinity_ttl_ms * 1e6));
}

struct backend *balance_pick(struct proxy *px, const struct sockaddr *client, const char *country,
                             struct backend *const *tried, size_t ntried, enum reason *reason)
{
    size_t n = px->nbackends;
    if (n == 0)
        return NULL;
    struct backend **cand = malloc(n * sizeof(*cand));
    double *cost = malloc(n * sizeof(*cost));
    struct backend *chosen = NULL;
    if (!cand || !cost)
        goto cleanup;
    uint8_t key[17];
    client_key(client, key);
    uint64_t now = clock_now_ns();

    /* position of the client: its country, else the proxy's own region */
    bool have_pos = false, known = false;
    double lat = 0, lon = 0;
    const struct country *c = countries_find(country);
    if (c) {
        have_pos = known = true;
        lat = c->lat;
        lon = c->lon;
    } else if (px->pop) {
        have_pos = true;
        lat = px->pop->lat;
        lon = px->pop->lon;
    }

    size_t nc = 0;
    double best_usable = 1e300; /* hard limits aside: to tell why a farther one was chosen */
    for (size_t i = 0; i < n; i++) {
        struct backend *b = px->backends[i];
        bool was_tried = false;
        for (size_t j = 0; j < ntried; j++)
            was_tried |= tried[j] == b;
        if (was_tried || !backend_usable(b))
            continue;
        if (!under_hard(b)) {
            double full = balance_cost(px, b, have_pos, lat, lon);
            if (full < best_usable)
                best_usable = full;
            continue;
        }
        cand[nc] = b;
        cost[nc] = balance_cost(px, b, have_pos, lat, lon);
        nc++;
    }
    if (nc == 0)
        goto cleanup;

    /* affinity: the same client keeps its backend while it is usable */
    if (ntried == 0 && px->cfg.affinity_ttl_ms > 0 && key[0]) {
        struct aff_entry *e = affinity_find(px->affinity, key, now);
        for (size_t i = 0; e && i < nc; i++) {
            if (cand[i]->route.id == e->route_id) {
                chosen = cand[i];
                *reason = REASON_AFFINITY;
                take(px, chosen, key);
                goto cleanup;
            }
        }
    }

    /* above soft: only when every candidate is above soft */
    bool any_under_soft = false;
    double best_all = 1e300, best = 1e300;
    for (size_t i = 0; i < nc; i++) {
        any_under_soft |= under_soft(cand[i]);
        if (cost[i] < best_all)
            best_all = cost[i];
    }
    for (size_t i = 0; i < nc; i++)
        if ((!any_under_soft || under_soft(cand[i])) && cost[i] < best)
            best = cost[i];

    /* weighted random among the equally near eligible candidates */
    uint64_t total = 0;
    for (size_t i = 0; i < nc; i++) {
        bool ok = (!any_under_soft || under_soft(cand[i])) && cost[i] < best + PROXY_EQUAL_COST;
        if (!ok)
            cand[i] = NULL;
        else
            total += (uint64_t)cand[i]->route.weight;
    }
    uint64_t r = total ? rng_next(&px->rng) % total : 0;
    for (size_t i = 0; i < nc; i++) {
        if (!cand[i])
            continue;
        if (r < (uint64_t)cand[i]->route.weight) {
            chosen = cand[i];
            break;
        }
        r -= (uint64_t)cand[i]->route.weight;
    }
    if (!chosen)
        goto cleanup;
    if (ntried > 0)
        *reason = REASON_FAILOVER;
    else if (best_all > best_usable + PROXY_EQUAL_COST)
        *reason = REASON_HARD_LIMIT;
    else if (best > best_all + PROXY_EQUAL_COST)
        *reason = REASON_SOFT_LIMIT;
    else if (!known)
        *reason = REASON_POP;
    else
        *reason = REASON_NEAREST;
    take(px, chosen, key);
cleanup:
    free(cand);
    free(cost);
    return chosen;
}
