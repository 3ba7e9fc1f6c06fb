/* The proxy's MaxMind DB path, against a tiny database written here by a
 * minimal MaxMind DB writer (format 2.0: a binary search tree of 24-bit
 * records, a data section, a metadata map), so no download is needed.
 * Records use both layouts: ip-location-db's top-level "country_code" and
 * MaxMind's "country" -> "iso_code". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy/geo.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct buf {
    uint8_t b[4096];
    size_t n;
};

static void put(struct buf *o, const void *p, size_t n)
{
    assert_true(o->n + n <= sizeof(o->b));
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_u8(struct buf *o, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(o, &b, 1);
}

static void put_str(struct buf *o, const char *s)
{
    size_t n = strlen(s);
    assert_true(n < 29);
    put_u8(o, (2u << 5) | (unsigned)n);
    put(o, s, n);
}

static void put_map(struct buf *o, unsigned n)
{
    put_u8(o, (7u << 5) | n);
}

static void put_u16(struct buf *o, unsigned v)
{
    put_u8(o, (5u << 5) | 2);
    put_u8(o, v >> 8);
    put_u8(o, v & 0xff);
}

static void put_u32(struct buf *o, uint32_t v)
{
    put_u8(o, (6u << 5) | 4);
    for (int i = 3; i >= 0; i--)
        put_u8(o, (v >> (i * 8)) & 0xff);
}

static void put_u64(struct buf *o, uint64_t v)
{
    put_u8(o, 8);     /* extended type, size 8 */
    put_u8(o, 9 - 7); /* uint64 */
    for (int i = 7; i >= 0; i--)
        put_u8(o, (unsigned)(v >> (i * 8)) & 0xff);
}

static void put_empty_array(struct buf *o)
{
    put_u8(o, 0);      /* extended type, size 0 */
    put_u8(o, 11 - 7); /* array */
}

/* A binary trie over 128-bit keys. Record values: >= 0 node index,
 * EMPTY, or DATA(k) for the k-th data record. */
#define MAX_NODES 1024
#define EMPTY (-1)
#define DATA(k) (-2 - (k))
static long tree[MAX_NODES][2];
static size_t nnodes;

static long new_node(void)
{
    assert_true(nnodes < MAX_NODES);
    tree[nnodes][0] = tree[nnodes][1] = EMPTY;
    return (long)nnodes++;
}

static void insert(const uint8_t key[16], unsigned prefix, int data)
{
    long node = 0;
    for (unsigned i = 0; i < prefix; i++) {
        int bit = (key[i / 8] >> (7 - i % 8)) & 1;
        if (i == prefix - 1) {
            tree[node][bit] = DATA(data);
            return;
        }
        if (tree[node][bit] < 0)
            tree[node][bit] = new_node();
        node = tree[node][bit];
    }
}

static void write_db(const char *path)
{
    static const struct {
        const char *net;
        unsigned prefix;
        int data;
    } nets[] = {{"::127.1.0.0", 96 + 16, 0}, {"::127.2.0.0", 96 + 16, 1}, {"2001:db8::", 32, 2}};
    struct buf data = {.n = 0};
    size_t off[3];
    /* 0: {"country_code": "GB"} (ip-location-db layout) */
    off[0] = data.n;
    put_map(&data, 1);
    put_str(&data, "country_code");
    put_str(&data, "GB");
    /* 1: {"country": {"iso_code": "JP"}} (MaxMind layout) */
    off[1] = data.n;
    put_map(&data, 1);
    put_str(&data, "country");
    put_map(&data, 1);
    put_str(&data, "iso_code");
    put_str(&data, "JP");
    /* 2: {"country_code": "FR"} */
    off[2] = data.n;
    put_map(&data, 1);
    put_str(&data, "country_code");
    put_str(&data, "FR");

    nnodes = 0;
    new_node();
    for (size_t i = 0; i < 3; i++) {
        uint8_t key[16];
        assert_int_equal(inet_pton(AF_INET6, nets[i].net, key), 1);
        insert(key, nets[i].prefix, nets[i].data);
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < nnodes; i++) {
        for (int side = 0; side < 2; side++) {
            long v = tree[i][side];
            uint32_t rec = v >= 0       ? (uint32_t)v
                           : v == EMPTY ? (uint32_t)nnodes
                                        : (uint32_t)(nnodes + 16 + off[-2 - v]);
            uint8_t b[3] = {(uint8_t)(rec >> 16), (uint8_t)(rec >> 8), (uint8_t)rec};
            fwrite(b, 1, 3, f);
        }
    }
    static const uint8_t zeros[16];
    fwrite(zeros, 1, 16, f);
    fwrite(data.b, 1, data.n, f);
    struct buf meta = {.n = 0};
    put(&meta, "\xAB\xCD\xEFMaxMind.com", 14);
    put_map(&meta, 9);
    put_str(&meta, "node_count");
    put_u32(&meta, (uint32_t)nnodes);
    put_str(&meta, "record_size");
    put_u16(&meta, 24);
    put_str(&meta, "ip_version");
    put_u16(&meta, 6);
    put_str(&meta, "database_type");
    put_str(&meta, "edgebench-test");
    put_str(&meta, "languages");
    put_empty_array(&meta);
    put_str(&meta, "binary_format_major_version");
    put_u16(&meta, 2);
    put_str(&meta, "binary_format_minor_version");
    put_u16(&meta, 0);
    put_str(&meta, "build_epoch");
    put_u64(&meta, 1700000000);
    put_str(&meta, "description");
    put_map(&meta, 0);
    fwrite(meta.b, 1, meta.n, f);
    fclose(f);
}

static void expect(struct geo *g, int family, const char *ip, int rc, const char *cc)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
    }
    char got[3];
    if (geo_lookup(g, (struct sockaddr *)&ss, got) != rc || strcmp(got, cc))
        fail_msg("%s: expected %s, got %s", ip, cc, got);
}

static void test_mmdb_layouts(void **state)
{
    (void)state;
    char path[] = "/tmp/eb-mmdb-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_db(path);
    char err[256];
    struct geo *g = geo_open_mmdb(path, err, sizeof(err));
    if (!g)
        fail_msg("%s", err);
    expect(g, AF_INET, "127.1.2.3", 0, "GB");         /* top-level country_code */
    expect(g, AF_INET, "127.2.0.9", 0, "JP");         /* country.iso_code */
    expect(g, AF_INET6, "::ffff:127.1.0.1", 0, "GB"); /* IPv4-mapped looked up as IPv4 */
    expect(g, AF_INET6, "::ffff:127.2.200.1", 0, "JP");
    expect(g, AF_INET6, "2001:db8:5::1", 0, "FR");
    expect(g, AF_INET, "127.3.0.1", -1, "--");
    expect(g, AF_INET6, "2001:db9::1", -1, "--");
    geo_free(g);
    unlink(path);

    /* not a database: a clear error naming the file */
    assert_null(geo_open_mmdb("/nonexistent/x.mmdb", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/x.mmdb"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mmdb_layouts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
