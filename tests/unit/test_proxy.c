/* Unit tests of src/proxy: PROXY protocol, geo CSV, routing decisions,
 * weights, limits and affinity (on the balancer itself, no sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/catalog.h"
#include "core/countries.h"
#include "proxy/geo.h"
#include "proxy/pp.h"
#include "proxy/routes.h"
#include "proxy/state.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
    in->sin6_family = AF_INET6;
    in->sin6_port = htons(port);
    assert_int_equal(inet_pton(AF_INET6, ip, &in->sin6_addr), 1);
    return ss;
}

/* ---- PROXY protocol ---- */

static void test_pp_v1(void **state)
{
    (void)state;
    struct pp_header h;
    const char *s = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /";
    assert_int_equal(pp_parse((const uint8_t *)s, strlen(s), &h), 45);
    assert_int_equal(h.version, 1);
    assert_false(h.local);
    const struct sockaddr_in *src = (const struct sockaddr_in *)&h.src;
    assert_int_equal(ntohs(src->sin_port), 56324);
    assert_int_equal(ntohl(src->sin_addr.s_addr), 0xC0000201);
    /* every prefix of a valid header needs more bytes */
    for (size_t n = 1; n < 45; n++)
        assert_int_equal(pp_parse((const uint8_t *)s, n, &h), 0);
    const char *un = "PROXY UNKNOWN\r\n";
    assert_int_equal(pp_parse((const uint8_t *)un, strlen(un), &h), 15);
    assert_true(h.local);
    const char *six = "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n";
    assert_int_equal(pp_parse((const uint8_t *)six, strlen(six), &h), (int)strlen(six));
    assert_int_equal(h.src.ss_family, AF_INET6);
    const char *bad[] = {"GET / HTTP/1.1\r\n",
                         "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
                         "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
                         "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
                         "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
                         "PROXY TCP4 ::1 ::2 1 2\r\n",
                         "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
                         "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
                         "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(pp_parse((const uint8_t *)bad[i], strlen(bad[i]), &h), -1);
    /* no CRLF within 107 bytes */
    char longline[200];
    memset(longline, 'x', sizeof(longline));
    memcpy(longline, "PROXY ", 6);
    assert_int_equal(pp_parse((const uint8_t *)longline, sizeof(longline), &h), -1);
}

static void test_pp_roundtrip(void **state)
{
    (void)state;
    struct sockaddr_storage pairs[][2] = {{v4("127.1.2.3", 40000), v4("10.0.0.1", 8443)},
                                          {v6("2001:db8::5", 1), v6("::1", 65535)}};
    for (size_t i = 0; i < 2; i++) {
        struct pp_header h;
        char b1[128];
        uint8_t b2[128];
        int n1 = pp_write_v1((struct sockaddr *)&pairs[i][0], (struct sockaddr *)&pairs[i][1], b1,
                             sizeof(b1));
        assert_true(n1 > 0);
        assert_int_equal(pp_parse((uint8_t *)b1, (size_t)n1, &h), n1);
        assert_memory_equal(&h.src, &pairs[i][0], sizeof(struct sockaddr_in));
        int n2 = pp_write_v2((struct sockaddr *)&pairs[i][0], (struct sockaddr *)&pairs[i][1], b2,
                             sizeof(b2));
        assert_true(n2 > 0);
        for (int k = 0; k < n2; k++)
            assert_int_equal(pp_parse(b2, (size_t)k, &h), 0);
        assert_int_equal(pp_parse(b2, (size_t)n2, &h), n2);
        assert_int_equal(h.version, 2);
        assert_false(h.local);
        assert_memory_equal(&h.src, &pairs[i][0], sizeof(struct sockaddr_in));
        assert_memory_equal(&h.dst, &pairs[i][1], sizeof(struct sockaddr_in));
    }
    /* mixed families: UNKNOWN / LOCAL */
    char b1[128];
    uint8_t b2[64];
    struct pp_header h;
    int n = pp_write_v1((struct sockaddr *)&pairs[0][0], (struct sockaddr *)&pairs[1][1], b1,
                        sizeof(b1));
    assert_int_equal(pp_parse((uint8_t *)b1, (size_t)n, &h), n);
    assert_true(h.local);
    n = pp_write_v2((struct sockaddr *)&pairs[0][0], (struct sockaddr *)&pairs[1][1], b2,
                    sizeof(b2));
    assert_int_equal(n, 16);
    assert_int_equal(pp_parse(b2, 16, &h), 16);
    assert_true(h.local);
    /* v2 with a wrong version nibble */
    b2[12] = 0x11;
    assert_int_equal(pp_parse(b2, 16, &h), -1);
}

/* ---- geo CSV ---- */

static void test_geo_csv(void **state)
{
    (void)state;
    char path[] = "/tmp/eb-geo-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "cidr,country\n"
                       "# comment\n"
                       "127.1.0.0/16,gb\n"
                       "127.1.2.0/24,FR\n"
                       "10.0.0.0/8,US\n"
                       "2001:db8::/32,JP\n"
                       "\n"
                       "192.0.2.7,AU\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[256];
    struct geo *g = geo_open_csv(path, err, sizeof(err));
    unlink(path);
    assert_non_null(g);
    assert_int_equal(geo_size(g), 5);
    char cc[3];
    struct sockaddr_storage a = v4("127.1.9.9", 1);
    assert_int_equal(geo_lookup(g, (struct sockaddr *)&a, cc), 0);
    assert_string_equal(cc, "GB");
    a = v4("127.1.2.200", 1); /* longest prefix wins */
    assert_int_equal(geo_lookup(g, (struct sockaddr *)&a, cc), 0);
    assert_string_equal(cc, "FR");
    a = v6("::ffff:10.1.2.3", 1); /* IPv4-mapped IPv6 is IPv4 */
    assert_int_equal(geo_lookup(g, (struct sockaddr *)&a, cc), 0);
    assert_string_equal(cc, "US");
    a = v6("2001:db8:1::1", 1);
    assert_int_equal(geo_lookup(g, (struct sockaddr *)&a, cc), 0);
    assert_string_equal(cc, "JP");
    a = v4("192.0.2.7", 1);
    assert_int_equal(geo_lookup(g, (struct sockaddr *)&a, cc), 0);
    assert_string_equal(cc, "AU");
    a = v4("192.0.2.8", 1);
    assert_int_equal(geo_lookup(g, (struct sockaddr *)&a, cc), -1);
    assert_string_equal(cc, "--");
    geo_free(g);

    struct geo_csv c;
    const char *bad[] = {"127.1.0.1/16,GB", "127.1.0.0/33,GB",   "127.1.0.0/16,GBR",
                         "127.1.0.0/16",    "nonsense,GB",       "127.1.0.0/16,G1",
                         "1.2.3.4/8,US,x",  "\"unterminated,GB", "127.1.0.0/16,ZZ"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        geo_csv_init(&c);
        assert_int_equal(geo_csv_line(&c, bad[i], err, sizeof(err)), -1);
        assert_non_null(strstr(err, "line 1"));
        geo_csv_free(&c);
    }
    assert_null(geo_open_csv("/nonexistent/geo.csv", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/geo.csv"));
    /* a directory, or a file with no networks, is a mistake, not "all unknown" */
    assert_null(geo_open_csv("/tmp", err, sizeof(err)));
    assert_non_null(strstr(err, "is a directory"));
    assert_null(geo_open_csv("/dev/null", err, sizeof(err)));
    assert_non_null(strstr(err, "has no networks"));
    /* a CSV given as a MaxMind DB says which flag it wants */
    char csv[] = "/tmp/eb-geo-XXXXXX";
    fd = mkstemp(csv);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_null(geo_open_mmdb(csv, err, sizeof(err)));
    assert_non_null(strstr(err, "--geoip-csv"));
    assert_null(geo_open_mmdb("/tmp", err, sizeof(err)));
    assert_non_null(strstr(err, "is a directory"));
    assert_null(geo_open_mmdb("/dev/null", err, sizeof(err)));
    /* the same network twice, with two countries: which is it? */
    const char *dup = "127.1.0.0/16,GB\n10.0.0.0/8,US\n127.1.0.0/16,FR\n";
    fd = open(csv, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, dup, strlen(dup)), (ssize_t)strlen(dup));
    close(fd);
    assert_null(geo_open_csv(csv, err, sizeof(err)));
    assert_non_null(strstr(err, "line 3: the network of line 1 again (GB there, FR here)"));
    /* a spreadsheet's byte-order mark before the header is not a network */
    const char *bom = "\xEF\xBB\xBF"
                      "cidr,country\r\n127.1.0.0/16,GB\r\n";
    fd = open(csv, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bom, strlen(bom)), (ssize_t)strlen(bom));
    close(fd);
    g = geo_open_csv(csv, err, sizeof(err));
    assert_non_null(g);
    assert_int_equal(geo_size(g), 1);
    geo_free(g);
    unlink(csv);
}

static void test_countries(void **state)
{
    (void)state;
    assert_true(countries_count() >= 200);
    /* every country of the region catalog has a centroid */
    for (size_t i = 0; i < catalog_region_count(); i++)
        assert_non_null(countries_find(catalog_region_at(i)->country));
    const struct country *gb = countries_find("gb");
    assert_non_null(gb);
    assert_true(gb->lat > 50 && gb->lat < 60 && gb->lon > -8 && gb->lon < 2);
    assert_null(countries_find("XX"));
    assert_null(countries_find(NULL));
}

/* ---- balancer ---- */

/* health.c and the admin counters are linked in; with HEALTH_NONE nothing
 * schedules events, so a proxy without an event base is enough here. */
static struct proxy *mkproxy(const char *const *rows, size_t n)
{
    struct proxy *px = calloc(1, sizeof(*px));
    px->cfg.health = HEALTH_NONE;
    px->cfg.fall = 3;
    px->cfg.rise = 2;
    px->cfg.passive_hold_ms = 100000;
    px->cfg.affinity_ttl_ms = 0;
    px->rng = 0x9E3779B97F4A7C15ull;
    px->affinity = affinity_new();
    struct route_table t = {calloc(n, sizeof(struct route)), n};
    for (size_t i = 0; i < n; i++) {
        /* "region weight soft hard" */
        struct route *r = &t.rows[i];
        long w, s, h;
        assert_int_equal(sscanf(rows[i], "%7s %ld %ld %ld", r->region, &w, &s, &h), 4);
        r->id = (long)i + 1;
        r->weight = w;
        r->soft_limit = s;
        r->hard_limit = h;
        r->enabled = true;
        snprintf(r->app, sizeof(r->app), "default");
        snprintf(r->address, sizeof(r->address), "127.0.0.1");
        r->port = (uint16_t)(20000 + i);
        struct sockaddr_storage sa = v4("127.0.0.1", r->port);
        memcpy(&r->sa, &sa, sizeof(sa));
        r->salen = sizeof(struct sockaddr_in);
    }
    assert_int_equal(proxy_apply_table(px, &t), 0);
    routes_table_free(&t);
    return px;
}

static void release(struct backend *b)
{
    b->active--;
    backend_unref(b);
}

static void freeproxy(struct proxy *px)
{
    struct route_table empty = {0};
    proxy_apply_table(px, &empty);
    free(px->backends);
    affinity_free(px->affinity);
    free(px->counters);
    free(px);
}

static void test_routing_table_of_countries(void **state)
{
    (void)state;
    const char *rows[] = {"gru 100 0 0", "iad 100 0 0", "lax 100 0 0", "lhr 100 0 0",
                          "fra 100 0 0", "cdg 100 0 0", "nrt 100 0 0", "sin 100 0 0",
                          "syd 100 0 0", "jnb 100 0 0"};
    struct proxy *px = mkproxy(rows, 10);
    static const struct {
        const char *country, *region;
    } cases[] = {{"GB", "lhr"}, {"FR", "cdg"}, {"DE", "fra"}, {"JP", "nrt"}, {"SG", "sin"},
                 {"AU", "syd"}, {"BR", "gru"}, {"AR", "gru"}, {"ZA", "jnb"}, {"IE", "lhr"},
                 {"CH", "fra"}, {"ES", "cdg"}, {"KR", "nrt"}, {"ID", "sin"}, {"NZ", "syd"},
                 {"US", "iad"}, {"MX", "lax"}, {"AT", "fra"}, {"PL", "fra"}, {"TH", "sin"}};
    struct sockaddr_storage client = v4("127.0.0.1", 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum reason why;
        struct backend *b =
            balance_pick(px, (struct sockaddr *)&client, cases[i].country, NULL, 0, &why);
        assert_non_null(b);
        if (strcmp(b->route.region, cases[i].region))
            fail_msg("%s routed to %s, expected %s", cases[i].country, b->route.region,
                     cases[i].region);
        assert_int_equal(why, REASON_NEAREST);
        release(b);
    }
    /* unknown country: the POP's region; without a POP: any backend */
    px->pop = catalog_region("syd");
    enum reason why;
    struct backend *b = balance_pick(px, (struct sockaddr *)&client, "--", NULL, 0, &why);
    assert_string_equal(b->route.region, "syd");
    assert_int_equal(why, REASON_POP);
    release(b);
    /* failover: the nearest excluded, the next nearest chosen */
    struct backend *first = balance_pick(px, (struct sockaddr *)&client, "GB", NULL, 0, &why);
    struct backend *second = balance_pick(px, (struct sockaddr *)&client, "GB", &first, 1, &why);
    assert_string_equal(second->route.region, "cdg");
    assert_int_equal(why, REASON_FAILOVER);
    release(first);
    release(second);
    /* a passively failed backend is skipped */
    backend_passive_failure(px->backends[3], "test");
    b = balance_pick(px, (struct sockaddr *)&client, "GB", NULL, 0, &why);
    assert_string_equal(b->route.region, "cdg");
    release(b);
    freeproxy(px);
}

static void test_weights(void **state)
{
    (void)state;
    /* three backends in one region with weights 1:2:5; another region farther */
    const char *rows[] = {"lhr 100 0 0", "lhr 200 0 0", "lhr 500 0 0", "fra 1000 0 0"};
    struct proxy *px = mkproxy(rows, 4);
    struct sockaddr_storage client = v4("127.0.0.1", 1);
    long count[4] = {0};
    const int n = 16000;
    for (int i = 0; i < n; i++) {
        enum reason why;
        struct backend *b = balance_pick(px, (struct sockaddr *)&client, "GB", NULL, 0, &why);
        count[b->route.id - 1]++;
        release(b);
    }
    assert_int_equal(count[3], 0);
    double expect[3] = {n / 8.0, n * 2 / 8.0, n * 5 / 8.0}, chi2 = 0;
    for (int i = 0; i < 3; i++)
        chi2 += (count[i] - expect[i]) * (count[i] - expect[i]) / expect[i];
    /* 2 degrees of freedom: P(chi2 > 13.8) = 0.001 */
    if (chi2 > 13.8)
        fail_msg("weights 1:2:5 gave %ld/%ld/%ld (chi2 %.1f)", count[0], count[1], count[2], chi2);
    freeproxy(px);
}

static void test_limits(void **state)
{
    (void)state;
    /* lhr: soft 2, hard 4; cdg: soft 0, hard 3 */
    const char *rows[] = {"lhr 100 2 4", "cdg 100 0 3"};
    struct proxy *px = mkproxy(rows, 2);
    struct sockaddr_storage client = v4("127.0.0.1", 1);
    struct backend *held[16];
    enum reason why[16];
    int n = 0;
    for (;;) {
        struct backend *b = balance_pick(px, (struct sockaddr *)&client, "GB", NULL, 0, &why[n]);
        if (!b)
            break;
        held[n++] = b;
        assert_true(n <= 7);
    }
    /* 2 to lhr (soft), then 3 to cdg (until its hard), then lhr to its hard */
    assert_int_equal(n, 7);
    const char *expect[] = {"lhr", "lhr", "cdg", "cdg", "cdg", "lhr", "lhr"};
    const enum reason reasons[] = {REASON_NEAREST,    REASON_NEAREST,    REASON_SOFT_LIMIT,
                                   REASON_SOFT_LIMIT, REASON_SOFT_LIMIT, REASON_NEAREST,
                                   REASON_NEAREST};
    for (int i = 0; i < n; i++) {
        assert_string_equal(held[i]->route.region, expect[i]);
        assert_int_equal(why[i], reasons[i]);
    }
    assert_int_equal(px->backends[0]->active, 4);
    assert_int_equal(px->backends[1]->active, 3);
    for (int i = 0; i < n; i++)
        release(held[i]);
    freeproxy(px);
}

static void test_affinity(void **state)
{
    (void)state;
    const char *rows[] = {"lhr 100 0 0", "lhr 100 0 0", "lhr 100 0 0", "lhr 100 0 0"};
    struct proxy *px = mkproxy(rows, 4);
    px->cfg.affinity_ttl_ms = 50;
    struct sockaddr_storage client = v4("127.5.0.1", 1);
    enum reason why;
    struct backend *first = balance_pick(px, (struct sockaddr *)&client, "GB", NULL, 0, &why);
    long id = first->route.id;
    release(first);
    for (int i = 0; i < 50; i++) {
        struct backend *b = balance_pick(px, (struct sockaddr *)&client, "GB", NULL, 0, &why);
        assert_int_equal(b->route.id, id);
        assert_int_equal(why, REASON_AFFINITY);
        release(b);
    }
    /* unhealthy: affinity yields */
    backend_passive_failure(px->backends[id - 1], "test");
    struct backend *b = balance_pick(px, (struct sockaddr *)&client, "GB", NULL, 0, &why);
    assert_int_not_equal(b->route.id, id);
    release(b);
    /* expiry: after the TTL the choice is free again (sliding on use) */
    usleep(80 * 1000);
    bool changed = false;
    for (int i = 0; i < 40 && !changed; i++) {
        usleep(60 * 1000);
        b = balance_pick(px, (struct sockaddr *)&client, "GB", NULL, 0, &why);
        changed = why != REASON_AFFINITY;
        release(b);
    }
    assert_true(changed);
    assert_int_equal(affinity_sweep(px->affinity, UINT64_MAX), 0);
    freeproxy(px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pp_v1),
        cmocka_unit_test(test_pp_roundtrip),
        cmocka_unit_test(test_geo_csv),
        cmocka_unit_test(test_countries),
        cmocka_unit_test(test_routing_table_of_countries),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_affinity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
