/* Unit tests of src/wan: link parsing and the scheduling logic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wan/links.h"
#include "wan/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

static void test_parse_line_full(void **state)
{
    (void)state;
    struct wan_link_spec s;
    char err[WAN_ERR_MAX];
    int r = wan_links_parse_line("  --listen 127.0.0.1:7001 --to=127.0.0.1:5432 --rtt 80ms "
                                 "--jitter 1ms --loss 0.5% --rate 100mbit --name lhr # c",
                                 &s, err, sizeof(err));
    assert_int_equal(r, 1);
    assert_string_equal(s.listen_host, "127.0.0.1");
    assert_int_equal(s.listen_port, 7001);
    assert_string_equal(s.to_host, "127.0.0.1");
    assert_int_equal(s.to_port, 5432);
    assert_float_equal(s.rtt_ms, 80, 1e-9);
    assert_float_equal(s.jitter_ms, 1, 1e-9);
    assert_float_equal(s.loss_pct, 0.5, 1e-9);
    assert_float_equal(s.rate_bps, 100e6, 1e-3);
    assert_string_equal(s.name, "lhr");
    assert_false(s.udp);
    r = wan_links_parse_line("--udp --listen :51820 --to [::1]:51821 --rtt 250us", &s, err,
                             sizeof(err));
    assert_int_equal(r, 1);
    assert_true(s.udp);
    assert_string_equal(s.listen_host, "");
    assert_string_equal(s.to_host, "::1");
    assert_float_equal(s.rtt_ms, 0.25, 1e-9);
    assert_int_equal(wan_links_parse_line("   # only a comment", &s, err, sizeof(err)), 0);
    assert_int_equal(wan_links_parse_line("", &s, err, sizeof(err)), 0);
    /* a DNS name is accepted by the parser (resolved at start) */
    assert_int_equal(wan_links_parse_line("--listen 127.0.0.1:1 --to db.example.com:5432 --rtt 1",
                                          &s, err, sizeof(err)),
                     1);
}

static void expect_bad(const char *line, const char *needle)
{
    struct wan_link_spec s;
    char err[WAN_ERR_MAX] = "";
    int r = wan_links_parse_line(line, &s, err, sizeof(err));
    if (r != -1 || !strstr(err, needle))
        fail_msg("line '%s': r=%d err='%s' (wanted '%s')", line, r, err, needle);
}

static void test_parse_line_bad(void **state)
{
    (void)state;
    const char *base = "--listen 127.0.0.1:7001 --to 127.0.0.1:5432";
    char line[512];
    expect_bad("--listen 127.0.0.1:7001 --to 127.0.0.1:5432 --rtt -5ms", "--rtt '-5ms'");
    expect_bad("--listen 127.0.0.1:7001 --to 127.0.0.1:5432 --rtt 5 --loss 101%", "--loss");
    expect_bad("--listen 127.0.0.1:7001 --to 127.0.0.1:5432 --rtt 5 --loss -1%", "--loss");
    expect_bad("--listen 127.0.0.1 --to 127.0.0.1:5432 --rtt 5", "--listen '127.0.0.1'");
    expect_bad("--listen 127.0.0.1:70000 --to 127.0.0.1:5432 --rtt 5", "--listen");
    expect_bad("--listen 999.1.1.1:7 --to 127.0.0.1:5432 --rtt 5", "not an address");
    expect_bad("--listen 127.0.0.1:7 --to :5432 --rtt 5", "--to ':5432'");
    expect_bad("--listen 127.0.0.1:7 --to a_b:5432 --rtt 5", "--to");
    expect_bad("--listen 127.0.0.1:7 --to 127.0.0.1:5432 --rtt 5 --bogus 1",
               "unknown flag '--bogus'");
    expect_bad("--listen 127.0.0.1:7 --to 127.0.0.1:5432", "--rtt is missing");
    expect_bad("--to 127.0.0.1:5432 --rtt 5", "--listen is missing");
    expect_bad("--listen 127.0.0.1:7 --to 127.0.0.1:5432 --rtt 5 --rtt 6", "twice");
    expect_bad("--listen 127.0.0.1:7 --to 127.0.0.1:5432 --rtt", "needs a value");
    expect_bad("--listen 127.0.0.1:7 --to 127.0.0.1:5432 --rtt 5 --udp=1", "--udp takes no value");
    expect_bad("--listen 127.0.0.1:7 --to 127.0.0.1:5432 --rtt 5 --rate fast", "--rate 'fast'");
    expect_bad("--listen 127.0.0.1:7 --to 127.0.0.1:5432 --rtt 1e3", "--rtt '1e3'");
    expect_bad("--listen 127.0.0.1:7 --to 127.0.0.1:5432 --rtt 5 --jitter 2 parsecs", "unknown");
    snprintf(line, sizeof(line), "%s --rtt 5 --name 'a b'", base);
    expect_bad(line, "--name");
}

static void test_parse_text(void **state)
{
    (void)state;
    const char text[] = "# links of the lab\n"
                        "\n"
                        "--listen 127.0.0.1:7001 --to 127.0.0.1:5432 --rtt 80ms --jitter 1ms\r\n"
                        "--listen 127.0.0.1:7001 --to 127.0.0.1:5432 --rtt 8ms --udp\n"
                        "--listen 127.0.0.1:7002 --to 127.0.0.1:5432 --rtt 20ms";
    struct wan_link_spec *l = NULL;
    size_t n = 0;
    char err[WAN_ERR_MAX];
    assert_int_equal(wan_links_parse_text(text, strlen(text), &l, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_float_equal(l[0].rtt_ms, 80, 0);
    assert_true(l[1].udp);
    assert_int_equal(l[2].listen_port, 7002);
    free(l);

    const char bad[] = "--listen 127.0.0.1:7001 --to 127.0.0.1:5432 --rtt 80ms\n"
                       "# fine\n"
                       "--listen 127.0.0.1:7002 --to 127.0.0.1:5432 --rtt -1ms\n";
    assert_int_equal(wan_links_parse_text(bad, strlen(bad), &l, &n, err, sizeof(err)), -1);
    assert_null(l);
    assert_non_null(strstr(err, "line 3:"));

    const char dup[] = "--listen 127.0.0.1:7001 --to 127.0.0.1:5432 --rtt 80ms\n"
                       "--listen :7001 --to 127.0.0.1:5433 --rtt 8ms\n";
    assert_int_equal(wan_links_parse_text(dup, strlen(dup), &l, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 2:"));
    assert_non_null(strstr(err, "already used"));

    assert_int_equal(wan_links_parse_text("", 0, &l, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    free(l);
}

static void test_departure_plain(void **state)
{
    (void)state;
    struct wan_shaper s;
    sched_init(&s, 40, 0, 0, 0, 1);
    uint64_t d;
    assert_true(sched_datagram(&s, 1000, 100, &d));
    assert_int_equal(d, 1000 + 40 * MS);
    /* a stream chunk waits for the set-up floor, then the delay */
    assert_int_equal(sched_stream(&s, 5 * MS, 10, 0, 100 * MS), 140 * MS);
    assert_int_equal(sched_stream(&s, 200 * MS, 10, 0, 100 * MS), 240 * MS);
    /* sub-millisecond delays are kept to the nanosecond */
    sched_init(&s, 0.125, 0, 0, 0, 1);
    assert_int_equal(sched_stream(&s, 0, 1, 0, 0), 125000);
}

static void test_jitter_bounds_and_stream_order(void **state)
{
    (void)state;
    struct wan_shaper s;
    sched_init(&s, 10, 8, 0, 0, 42);
    uint64_t prev = 0, lo = UINT64_MAX, hi = 0;
    bool reordered_udp = false;
    uint64_t last_udp = 0;
    for (uint64_t i = 0; i < 20000; i++) {
        uint64_t arrival = i * 100000; /* every 0.1 ms */
        uint64_t d = sched_stream(&s, arrival, 100, prev, 0);
        assert_true(d >= prev);              /* never reorders */
        assert_true(d >= arrival + 10 * MS); /* never early */
        prev = d;
        uint64_t u;
        assert_true(sched_datagram(&s, arrival, 100, &u));
        assert_true(u >= arrival + 10 * MS);
        assert_true(u <= arrival + 18 * MS);
        if (u < last_udp)
            reordered_udp = true;
        last_udp = u;
        uint64_t j = sched_jitter(&s);
        lo = j < lo ? j : lo;
        hi = j > hi ? j : hi;
    }
    assert_true(reordered_udp); /* UDP may overtake under jitter */
    assert_true(lo < 100000);
    assert_true(hi > 8 * MS - 100000 && hi <= 8 * MS);
}

static void test_token_bucket(void **state)
{
    (void)state;
    struct wan_shaper s;
    /* 80 mbit/s: 10 bytes per microsecond; bucket depth 1 ms = 10000 bytes */
    sched_init(&s, 0, 0, 0, 80e6, 1);
    uint64_t last = 0;
    for (int i = 0; i < 100; i++)
        last = sched_shape(&s, 0, 10000);
    /* 1 MB at 10 bytes/us leaves over 100 ms, less the 1 ms burst */
    assert_int_equal(last, 99 * MS);
    /* after an idle second the bucket is full again: the next chunk leaves at once */
    assert_int_equal(sched_shape(&s, 2000 * MS, 500), 2000 * MS);
    /* and a long run settles at the rate */
    uint64_t t0 = 3000 * MS, d = 0;
    for (int i = 0; i < 1000; i++)
        d = sched_shape(&s, t0, 1500);
    double rate = 1500.0 * 1000 / ((double)(d - t0) / 1e9);
    assert_true(rate > 9.9e6 && rate < 10.1e6);
    /* unlimited: no shaping */
    sched_init(&s, 0, 0, 0, 0, 1);
    assert_int_equal(sched_shape(&s, 77, 1 << 20), 77);
    /* a slow link: the bucket holds at least one full-size packet */
    sched_init(&s, 0, 0, 0, 8e3, 1);
    assert_int_equal(sched_shape(&s, 0, 1514), 0);
    assert_true(sched_shape(&s, 0, 1000) >= 999 * MS);
}

static void test_loss(void **state)
{
    (void)state;
    struct wan_shaper s;
    sched_init(&s, 1, 0, 5, 0, 7);
    int kept = 0;
    uint64_t d;
    for (int i = 0; i < 100000; i++)
        kept += sched_datagram(&s, 0, 100, &d);
    assert_true(kept > 94500 && kept < 95500);
    sched_init(&s, 1, 0, 100, 0, 7);
    assert_false(sched_datagram(&s, 0, 100, &d));
    sched_init(&s, 1, 0, 0, 0, 7);
    assert_true(sched_datagram(&s, 0, 100, &d));
    /* TCP: a lost segment delays its chunk by one RTO (RTT + 200 ms), never drops it */
    sched_init(&s, 10, 0, 100, 0, 7);
    assert_int_equal(sched_stream(&s, 0, 1, 0, 0), 10 * MS + 220 * MS);
}

static void test_heap(void **state)
{
    (void)state;
    struct sched_heap h = {0};
    static int vals[1000];
    uint64_t x = 12345;
    for (int i = 0; i < 1000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        vals[i] = i;
        assert_int_equal(sched_heap_push(&h, (x >> 33) % 500, &vals[i]), 0);
    }
    uint64_t prev = 0;
    int n = 0;
    while (sched_heap_peek(&h)) {
        uint64_t t = sched_heap_peek(&h)->depart_ns;
        assert_true(t >= prev);
        prev = t;
        assert_non_null(sched_heap_pop(&h));
        n++;
    }
    assert_int_equal(n, 1000);
    assert_null(sched_heap_pop(&h));
    /* equal times come out in insertion order */
    for (int i = 0; i < 10; i++)
        sched_heap_push(&h, 5, &vals[i]);
    for (int i = 0; i < 10; i++)
        assert_ptr_equal(sched_heap_pop(&h), &vals[i]);
    sched_heap_free(&h);
    sched_heap_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_line_full),
        cmocka_unit_test(test_parse_line_bad),
        cmocka_unit_test(test_parse_text),
        cmocka_unit_test(test_departure_plain),
        cmocka_unit_test(test_jitter_bounds_and_stream_order),
        cmocka_unit_test(test_token_bucket),
        cmocka_unit_test(test_loss),
        cmocka_unit_test(test_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
