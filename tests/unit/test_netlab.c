/* Unit tests of src/netlab: the wg-quick config parser, prefixes, state lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "netlab/nlstate.h"
#include "netlab/nlwgconf.h"

#include <string.h>
#include <sys/socket.h>

static const char spoke[] = "[Interface]\n"
                            "# lhr\n"
                            "Address = 10.50.3.1/32\n"
                            "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
                            "MTU = 1380\n"
                            "DNS = 1.1.1.1\n"
                            "\n"
                            "[Peer]\n"
                            "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
                            "Endpoint = 54.1.2.3:51820\n"
                            "AllowedIPs = 10.50.0.0/16, fd00::/64\n"
                            "PersistentKeepalive = 25\n";

static void test_parse_spoke(void **state)
{
    (void)state;
    struct nlwg_conf c;
    char err[128] = "";
    assert_int_equal(nlwgconf_parse(spoke, strlen(spoke), &c, err, sizeof(err)), 0);
    assert_int_equal(c.n_addrs, 1);
    assert_string_equal(c.addrs[0].text, "10.50.3.1/32");
    assert_int_equal(c.mtu, 1380);
    assert_true(c.has_hooks);
    assert_false(c.table_off);
    assert_int_equal(c.n_peers, 1);
    assert_string_equal(c.peers[0].endpoint, "54.1.2.3:51820");
    assert_int_equal(c.peers[0].n_allowed, 2);
    assert_string_equal(c.peers[0].allowed[0].text, "10.50.0.0/16");
    assert_int_equal(c.peers[0].allowed[1].family, AF_INET6);
    assert_string_equal(c.peers[0].public_key, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
    nlwgconf_free(&c);
    nlwgconf_free(NULL);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"Address = 10.0.0.1/32\n", "line 1: 'Address' outside"},
        {"[Interface]\nAddress = 10.0.0.300/32\n", "line 2: Address '10.0.0.300/32'"},
        {"[Interface]\nAddress = 10.0.0.1/33\n", "line 2: Address"},
        {"[Interface]\nAddress = 10.0.0.1/32\nMTU = big\n", "line 3: MTU 'big'"},
        {"[Interface]\nAddress = 10.0.0.1/32\n[Peer]\nAllowedIPs = 10.0.0.0/8, x\n",
         "line 4: AllowedIPs 'x'"},
        {"[Interface]\nAddress = 10.0.0.1/32\n[Wat]\n", "line 3: unknown section"},
        {"[Interface]\nAddress\n", "line 2: expected 'Key = Value'"},
        {"[Interface]\nListenPort = 51820\n", "no [Interface] Address"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct nlwg_conf c;
        char err[128] = "";
        assert_int_equal(nlwgconf_parse(bad[i].text, strlen(bad[i].text), &c, err, sizeof(err)),
                         -1);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err, bad[i].want);
    }
}

static void test_cidr(void **state)
{
    (void)state;
    struct nlwg_cidr a, b, c, d;
    assert_int_equal(nlwgconf_parse_cidr("10.50.0.0/16", &a), 0);
    assert_int_equal(nlwgconf_parse_cidr("10.50.3.7", &b), 0);
    assert_string_equal(b.text, "10.50.3.7/32");
    assert_int_equal(nlwgconf_parse_cidr("10.51.0.0/24", &c), 0);
    assert_int_equal(nlwgconf_parse_cidr("::/0", &d), 0);
    assert_true(nlwgconf_cidr_within(&b, &a));
    assert_false(nlwgconf_cidr_within(&a, &b));
    assert_true(nlwgconf_cidr_overlap(&a, &b));
    assert_false(nlwgconf_cidr_overlap(&a, &c));
    assert_false(nlwgconf_cidr_overlap(&a, &d)); /* different families */
    assert_int_equal(nlwgconf_parse_cidr("10.50.0.0/", &a), -1);
    assert_int_equal(nlwgconf_parse_cidr("", &a), -1);
    assert_int_equal(nlwgconf_parse_cidr("10.50.0.0/+8", &a), -1);
}

static void test_state_lines(void **state)
{
    (void)state;
    char k[16], v[256];
    assert_int_equal(nlstate_parse_line("ns eb12-hub\n", k, sizeof(k), v, sizeof(v)), 0);
    assert_string_equal(k, "ns");
    assert_string_equal(v, "eb12-hub");
    assert_int_equal(nlstate_parse_line("owner 123 456", k, sizeof(k), v, sizeof(v)), 0);
    assert_int_equal(
        nlstate_parse_line("wgsock /var/run/wireguard/ebw1h.sock", k, sizeof(k), v, sizeof(v)), 0);
    assert_int_equal(nlstate_parse_line("dir /tmp/ebnetlab.abc", k, sizeof(k), v, sizeof(v)), 0);
    /* Nothing outside what a lab creates can be named. */
    assert_int_equal(nlstate_parse_line("dir /etc", k, sizeof(k), v, sizeof(v)), -1);
    assert_int_equal(nlstate_parse_line("dir /tmp/eb/../../etc", k, sizeof(k), v, sizeof(v)), -1);
    assert_int_equal(nlstate_parse_line("wgsock /etc/passwd", k, sizeof(k), v, sizeof(v)), -1);
    assert_int_equal(nlstate_parse_line("ns ../x", k, sizeof(k), v, sizeof(v)), -1);
    assert_int_equal(nlstate_parse_line("ns a b", k, sizeof(k), v, sizeof(v)), -1);
    assert_int_equal(nlstate_parse_line("pid 1 5", k, sizeof(k), v, sizeof(v)), -1);
    assert_int_equal(nlstate_parse_line("pid 12x 5", k, sizeof(k), v, sizeof(v)), -1);
    assert_int_equal(nlstate_parse_line("rm -rf /", k, sizeof(k), v, sizeof(v)), -1);
    assert_int_equal(nlstate_parse_line("ns x\ny", k, sizeof(k), v, sizeof(v)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_spoke),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_state_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
