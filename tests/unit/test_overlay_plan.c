/* Unit tests of src/overlay: key encoding, address layout, plan JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "overlay/check.h"
#include "overlay/keys.h"
#include "overlay/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_keys_rfc7748_vector(void **state)
{
    (void)state;
    /* RFC 7748 section 6.1: Alice's private and public keys. */
    static const uint8_t priv[KEY_LEN] = {0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d,
                                          0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
                                          0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a,
                                          0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
    static const uint8_t want[KEY_LEN] = {0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54,
                                          0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
                                          0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4,
                                          0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};
    uint8_t pub[KEY_LEN], back[KEY_LEN];
    char b64[KEY_B64_LEN + 1];
    assert_int_equal(keys_init(), 0);
    keys_public(pub, priv);
    assert_memory_equal(pub, want, KEY_LEN);
    keys_to_base64(b64, pub);
    assert_string_equal(b64, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
    assert_int_equal(keys_from_base64(back, b64), 0);
    assert_memory_equal(back, pub, KEY_LEN);
}

static void test_keys_base64_rejects(void **state)
{
    (void)state;
    uint8_t k[KEY_LEN];
    assert_int_equal(keys_from_base64(k, ""), -1);
    assert_int_equal(keys_from_base64(k, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo"), -1);
    assert_int_equal(keys_from_base64(k, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=="), -1);
    assert_int_equal(keys_from_base64(k, "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo="), -1);
    assert_int_equal(keys_from_base64(k, NULL), -1);
}

static void test_keys_generate_clamped(void **state)
{
    (void)state;
    uint8_t a[KEY_LEN], b[KEY_LEN];
    keys_generate(a, "x");
    keys_generate(b, "x");
    assert_int_equal(a[0] & 7, 0);
    assert_int_equal(a[31] & 128, 0);
    assert_int_equal(a[31] & 64, 64);
    assert_memory_not_equal(a, b, KEY_LEN);
}

static void test_cidr(void **state)
{
    (void)state;
    uint32_t net;
    int prefix;
    assert_int_equal(plan_cidr_parse("10.50.0.0/16", &net, &prefix), 0);
    assert_int_equal(net, 0x0a320000u);
    assert_int_equal(prefix, 16);
    assert_int_equal(plan_cidr_parse("10.50.0.1/16", &net, &prefix), -1); /* host bits */
    assert_int_equal(plan_cidr_parse("10.50.0.0/33", &net, &prefix), -1);
    assert_int_equal(plan_cidr_parse("10.50.0.0/016", &net, &prefix), -1);
    assert_int_equal(plan_cidr_parse("10.50.0.0", &net, &prefix), -1);
    assert_int_equal(plan_cidr_parse("10.50.0.0/", &net, &prefix), -1);
    assert_int_equal(plan_cidr_parse("10.50.0.0/1x", &net, &prefix), -1);
    assert_int_equal(plan_cidr_parse("0.0.0.0/0", &net, &prefix), 0);
}

static void test_area_layout(void **state)
{
    (void)state;
    uint32_t first, size;
    char ip[16], err[256];
    /* /16 and wider: a /24 per area (the seed's plan). */
    assert_int_equal(plan_area_block(0x0a320000u, 16, 3, &first, &size, err, sizeof(err)), 0);
    plan_ip_format(first, ip);
    assert_string_equal(ip, "10.50.3.0");
    assert_int_equal(size, 256);
    assert_int_equal(plan_area_block(0x0a000000u, 8, 1, &first, &size, err, sizeof(err)), 0);
    plan_ip_format(first, ip);
    assert_string_equal(ip, "10.0.1.0");
    /* /24: eight blocks of 32. */
    assert_int_equal(plan_area_block(0xc0a80a00u, 24, 2, &first, &size, err, sizeof(err)), 0);
    plan_ip_format(first, ip);
    assert_string_equal(ip, "192.168.10.64");
    assert_int_equal(size, 32);
    /* too small */
    assert_int_equal(plan_area_block(0xc0a80a00u, 27, 2, &first, &size, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/26"));
    assert_int_equal(plan_hub_address("172.16.8.0/22", ip, err, sizeof(err)), 0);
    assert_string_equal(ip, "172.16.8.1");
}

static struct plan *seed_plan(const char *subnet)
{
    struct plan *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    strcpy(p->topology, "hub");
    strcpy(p->subnet, subnet);
    p->mtu = 1420;
    p->keepalive = 25;
    strcpy(p->hub_endpoint, "203.0.113.10:51820");
    assert_int_equal(plan_hub_address(subnet, p->hub_address, NULL, 0), 0);
    strcpy(p->db_host, "db.example.internal");
    p->db_port = 5432;
    return p;
}

static void add(struct plan *p, const char *code)
{
    struct plan_region *r = &p->regions[p->nregions];
    char err[256];
    memset(r, 0, sizeof(*r));
    strcpy(r->code, code);
    assert_int_equal(plan_allocate(p, code, r->address, err, sizeof(err)), 0);
    strcpy(r->public_key, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
    p->nregions++;
}

static void test_allocate_seed_and_stable(void **state)
{
    (void)state;
    struct plan *p = seed_plan("10.50.0.0/16");
    static const char *const seed[] = {"gru", "iad", "ord", "lax", "lhr",
                                       "fra", "cdg", "nrt", "sin", "syd"};
    static const char *const want[] = {"10.50.1.1", "10.50.2.1", "10.50.2.2", "10.50.2.3",
                                       "10.50.3.1", "10.50.3.2", "10.50.3.3", "10.50.4.1",
                                       "10.50.4.2", "10.50.4.3"};
    for (size_t i = 0; i < 10; i++)
        add(p, seed[i]);
    for (size_t i = 0; i < 10; i++)
        assert_string_equal(plan_find(p, seed[i])->address, want[i]);
    /* remove iad: ord and lax keep theirs; a new NA region takes the free .1 */
    memmove(&p->regions[1], &p->regions[2], 8 * sizeof(p->regions[0]));
    p->nregions--;
    add(p, "sea");
    assert_string_equal(plan_find(p, "sea")->address, "10.50.2.1");
    assert_string_equal(plan_find(p, "ord")->address, "10.50.2.2");
    add(p, "jnb");
    assert_string_equal(plan_find(p, "jnb")->address, "10.50.5.1");
    plan_sort(p);
    assert_string_equal(p->regions[0].code, "gru");
    assert_string_equal(p->regions[1].code, "ord");
    assert_int_equal(check_plan(p, NULL, stderr), 0);
    free(p);
}

static void test_allocate_small_subnet_full(void **state)
{
    (void)state;
    struct plan *p = seed_plan("10.9.0.0/26"); /* blocks of 8: 6 addresses per area */
    char err[256], ip[16];
    static const char *const na[] = {"iad", "ord", "lax", "den", "dfw", "ewr"};
    for (size_t i = 0; i < 6; i++)
        add(p, na[i]);
    assert_string_equal(plan_find(p, "iad")->address, "10.9.0.17");
    assert_string_equal(plan_find(p, "ewr")->address, "10.9.0.22");
    assert_int_equal(plan_allocate(p, "sea", ip, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "full"));
    free(p);
}

static void test_plan_roundtrip(void **state)
{
    (void)state;
    struct plan *p = seed_plan("10.50.0.0/16"), *q = calloc(1, sizeof(*q));
    char err[256];
    add(p, "lhr");
    strcpy(p->regions[0].endpoint, "198.51.100.7:51820");
    strcpy(p->hub_network, "172.31.0.0/16");
    char *text = plan_dump(p);
    assert_non_null(text);
    assert_int_equal(plan_parse(text, strlen(text), q, err, sizeof(err)), 0);
    char *again = plan_dump(q);
    assert_string_equal(text, again);
    assert_string_equal(q->regions[0].endpoint, "198.51.100.7:51820");
    free(text);
    free(again);
    free(p);
    free(q);
}

static void test_plan_parse_errors(void **state)
{
    (void)state;
    struct plan *p = calloc(1, sizeof(*p));
    char err[256];
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"", "not valid JSON"},
        {"[]", "object"},
        {"{\"tool\":\"x\"}", "edgebench-overlay"},
        {"{\"tool\":\"edgebench-overlay\",\"format\":2}", "format 2"},
        {"{\"tool\":\"edgebench-overlay\",\"format\":1,\"topology\":3}", "topology"},
        {"{\"tool\":\"edgebench-overlay\",\"format\":1,\"format\":1}", "not valid JSON"},
        {"{\"tool\":\"edgebench-overlay\",\"format\":1,\"topology\":\"hub\",\"subnet\":"
         "\"10.50.0.0/16\",\"mtu\":1420,\"keepalive\":25,\"hub\":{\"endpoint\":\"a:1\","
         "\"address\":\"10.50.0.1\",\"public_key\":\"k\"},\"db\":{\"host\":\"d\",\"port\":"
         "5432},\"regions\":[{\"code\":\"lhr\"}]}",
         "regions[0]: \"address\" is missing"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = 0;
        assert_int_equal(plan_parse(cases[i].text, strlen(cases[i].text), p, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].needle))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].needle);
    }
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_rfc7748_vector),
        cmocka_unit_test(test_keys_base64_rejects),
        cmocka_unit_test(test_keys_generate_clamped),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_area_layout),
        cmocka_unit_test(test_allocate_seed_and_stable),
        cmocka_unit_test(test_allocate_small_subnet_full),
        cmocka_unit_test(test_plan_roundtrip),
        cmocka_unit_test(test_plan_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
