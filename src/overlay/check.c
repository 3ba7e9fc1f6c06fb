#include "overlay/check.h"

#include <arpa/inet.h>
#include <ctype.h>

#include "core/catalog.h"
#include "core/parse.h"
#include "overlay/files.h"
#include "overlay/keys.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int problem(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int problem(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("overlay check: ", out);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    va_end(ap);
    return 1;
}

/* An IPv4 or IPv6 literal, or a DNS name (RFC 1123 labels of letters,
 * digits and '-'). Host names end up in shell scripts and configs that run as
 * root on the hub, so nothing else may pass: no spaces, quotes, '$', '`', ';'. */
int check_host(const char *h)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1)
        return 0;
    size_t n = strlen(h), label = 0;
    if (n == 0 || n > 253)
        return -1;
    for (size_t i = 0; i <= n; i++) {
        char c = h[i];
        if (c == '.' || c == 0) {
            if (label == 0 || label > 63 || h[i - 1] == '-')
                return -1;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-')
            return -1;
        if (label == 0 && c == '-')
            return -1;
        label++;
    }
    return 0;
}

int check_hostport(const char *s, char *host, size_t hostlen, unsigned *port)
{
    uint16_t p16 = 0;
    if (parse_hostport(s, host, hostlen, &p16) || !host[0] || p16 == 0 || check_host(host))
        return -1;
    *port = p16;
    return 0;
}

static int overlaps(uint32_t a, int pa, uint32_t b, int pb)
{
    int p = pa < pb ? pa : pb;
    uint32_t mask = p ? ~(uint32_t)0 << (32 - p) : 0;
    return (a & mask) == (b & mask);
}

static int in_subnet(uint32_t ip, uint32_t net, int prefix)
{
    return overlaps(ip, 32, net, prefix);
}

int check_settings(const struct plan *p, FILE *out)
{
    int n = 0;
    uint32_t net = 0, ip, other;
    int prefix = 0, subnet_ok = 0;
    char host[256], err[256];
    unsigned port;
    if (strcmp(p->topology, "hub") && strcmp(p->topology, "mesh"))
        n += problem(out, "topology '%s' is unknown; fix: use --topology hub or mesh", p->topology);
    if (plan_cidr_parse(p->subnet, &net, &prefix))
        n += problem(out,
                     "subnet '%s' is not A.B.C.D/N with the host bits zero; fix: use e.g. "
                     "--subnet 10.50.0.0/16",
                     p->subnet);
    else if (plan_area_block(net, prefix, 0, &ip, &other, err, sizeof(err)))
        n += problem(
            out, "subnet '%s': %s; fix: use a prefix from /8 to /26, e.g. --subnet 10.50.0.0/16",
            p->subnet, err);
    else
        subnet_ok = 1;
    if (p->mtu < 1280 || p->mtu > 1500)
        n += problem(out,
                     "MTU %ld is out of 1280..1500 (WireGuard over a 1500-byte path needs at "
                     "most 1420); fix: use --mtu 1420",
                     p->mtu);
    if (p->keepalive < 0 || p->keepalive > 65535)
        n += problem(out, "keepalive %ld is out of 0..65535 seconds; fix: use --keepalive 25",
                     p->keepalive);
    if (check_hostport(p->hub_endpoint, host, sizeof(host), &port))
        n += problem(out,
                     "hub endpoint '%s' is not HOST:PORT; fix: use --hub-endpoint "
                     "HOST:51820 (the hub's public address and WireGuard port)",
                     p->hub_endpoint);
    else if (subnet_ok && !plan_ip_parse(host, &ip) && in_subnet(ip, net, prefix))
        n += problem(out,
                     "hub endpoint %s is inside the overlay subnet %s: the tunnel would route "
                     "its own packets; fix: use the hub's public address or another --subnet",
                     p->hub_endpoint, p->subnet);
    if (!p->db_host[0] || p->db_port < 1 || p->db_port > 65535)
        n += problem(out, "database '%s' port %ld is not HOST:PORT; fix: use --db HOST[:5432]",
                     p->db_host, p->db_port);
    else if (check_host(p->db_host))
        n += problem(out,
                     "database host '%s' is not an IP address or a DNS name (letters, digits, "
                     "'-' and '.'); fix: use --db HOST[:5432] with the database's name or address",
                     p->db_host);
    else if (subnet_ok && !plan_ip_parse(p->db_host, &ip) && in_subnet(ip, net, prefix))
        n += problem(out,
                     "database address %s is inside the overlay subnet %s; fix: choose a "
                     "--subnet that does not overlap the hub's network",
                     p->db_host, p->subnet);
    else if (!strcasecmp(p->db_host, "localhost") || !strcmp(p->db_host, "::1") ||
             (!plan_ip_parse(p->db_host, &ip) && (ip >> 24) == 127))
        n += problem(out,
                     "database host '%s' is a loopback address: the hub forwards the spokes' "
                     "packets to it (DNAT), and Linux drops forwarded packets to loopback; "
                     "fix: use --db with an address of the database host on the hub's network "
                     "(its VPC or LAN address, or the hub's own if PostgreSQL runs there)",
                     p->db_host);
    if (p->hub_network[0]) {
        uint32_t hnet;
        int hprefix;
        if (plan_cidr_parse(p->hub_network, &hnet, &hprefix))
            n += problem(out,
                         "hub network '%s' is not A.B.C.D/N with the host bits zero; fix: use "
                         "e.g. --hub-network 172.31.0.0/16",
                         p->hub_network);
        else if (subnet_ok && overlaps(net, prefix, hnet, hprefix))
            n += problem(out,
                         "subnet %s overlaps the hub's own network %s: replies would leave "
                         "through the wrong interface; fix: choose another --subnet (e.g. "
                         "10.50.0.0/16 next to a 172.31.0.0/16 VPC)",
                         p->subnet, p->hub_network);
    }
    if (subnet_ok) {
        char want[16];
        if (plan_ip_parse(p->hub_address, &ip))
            n += problem(out, "hub address '%s' is not an IPv4 address; fix: set it to %s",
                         p->hub_address,
                         plan_hub_address(p->subnet, want, NULL, 0) ? "10.50.0.1" : want);
        else if (!in_subnet(ip, net, prefix) || ip == net)
            n += problem(out,
                         "hub address %s is outside the subnet %s; fix: set \"hub\".\"address\" "
                         "to %s",
                         p->hub_address, p->subnet,
                         plan_hub_address(p->subnet, want, NULL, 0) ? "an address in it" : want);
    }
    return n;
}

static int check_key_pair(const char *dir, const char *name, const char *what, const char *plan_pub,
                          FILE *out)
{
    char path[4096];
    uint8_t priv[KEY_LEN], pub[KEY_LEN], listed[KEY_LEN];
    struct stat st;
    int n = 0;
    if (keys_from_base64(listed, plan_pub))
        n += problem(out,
                     "%s: public key '%s' in plan.json is not a base64 WireGuard key; fix: run "
                     "`edgebench overlay rotate %s --dir %s`",
                     what, plan_pub, name, dir);
    if (files_key_path(path, sizeof(path), dir, name, "key"))
        return n + problem(out, "%s: key path too long", what);
    if (lstat(path, &st) < 0)
        return n + problem(out,
                           "%s has no private key (%s: %s); fix: run `edgebench overlay rotate "
                           "%s --dir %s` to create one, then re-render and redeploy it",
                           what, path, strerror(errno), name, dir);
    if (!S_ISREG(st.st_mode))
        return n + problem(out, "%s: %s is not a regular file; fix: replace it with the key file",
                           what, path);
    if ((st.st_mode & 07777) != 0600)
        n += problem(out,
                     "%s: private key file %s has mode %04o; fix: chmod 600 %s (and consider "
                     "the key exposed: rotate it)",
                     what, path, (unsigned)(st.st_mode & 07777), path);
    int rc = keys_read(path, priv);
    if (rc)
        return n + problem(out,
                           "%s: cannot read a key from %s (%s); fix: restore it from a backup or "
                           "run `edgebench overlay rotate %s --dir %s`",
                           what, path, rc == -EINVAL ? "not a base64 key" : strerror(-rc), name,
                           dir);
    keys_public(pub, priv);
    if (!keys_from_base64(listed, plan_pub) && memcmp(pub, listed, KEY_LEN)) {
        char b64[KEY_B64_LEN + 1];
        keys_to_base64(b64, pub);
        n += problem(out,
                     "%s: the public key in plan.json (%s) does not match its private key "
                     "%s (which gives %s); fix: restore the right key file, or run `edgebench "
                     "overlay rotate %s --dir %s` and redeploy",
                     what, plan_pub, path, b64, name, dir);
    }
    memset(priv, 0, sizeof(priv));
    return n;
}

int check_plan(const struct plan *p, const char *dir, FILE *out)
{
    int n = check_settings(p, out);
    uint32_t net = 0, first, size, ip, hub = 0;
    int prefix = 0;
    int subnet_ok = !plan_cidr_parse(p->subnet, &net, &prefix) &&
                    !plan_area_block(net, prefix, 0, &first, &size, NULL, 0);
    int hub_ok = !plan_ip_parse(p->hub_address, &hub);
    for (size_t i = 0; i < p->nregions; i++) {
        const struct plan_region *r = &p->regions[i];
        const struct region *reg = catalog_region(r->code);
        if (!reg)
            n += problem(out,
                         "region '%s': unknown region code; fix: remove it (`edgebench overlay "
                         "remove %s --dir %s`) or use one of %s",
                         r->code, r->code, dir ? dir : "DIR", catalog_region_codes());
        for (size_t j = 0; j < i; j++)
            if (!strcmp(p->regions[j].code, r->code))
                n += problem(out,
                             "region '%s' is listed twice; fix: remove one entry from plan.json",
                             r->code);
        if (plan_ip_parse(r->address, &ip)) {
            n += problem(out,
                         "region '%s': address '%s' is not an IPv4 address; fix: remove and add "
                         "the region again",
                         r->code, r->address);
            continue;
        }
        if (subnet_ok && (!in_subnet(ip, net, prefix) || ip == net))
            n += problem(out,
                         "region '%s': address %s is outside the subnet %s; fix: remove and add "
                         "the region again (`edgebench overlay remove %s`, then `add %s`)",
                         r->code, r->address, p->subnet, r->code, r->code);
        if (hub_ok && ip == hub)
            n += problem(out,
                         "region '%s': address %s is the hub's address; fix: remove and add the "
                         "region again",
                         r->code, r->address);
        for (size_t j = 0; j < i; j++) {
            uint32_t o;
            if (!plan_ip_parse(p->regions[j].address, &o) && o == ip)
                n += problem(out,
                             "regions '%s' and '%s' have the same address %s; fix: remove and "
                             "add one of them again",
                             p->regions[j].code, r->code, r->address);
        }
        if (r->endpoint[0]) {
            char host[256];
            unsigned port;
            if (check_hostport(r->endpoint, host, sizeof(host), &port))
                n += problem(out,
                             "region '%s': endpoint '%s' is not HOST:PORT; fix: correct it or "
                             "delete \"endpoint\" from plan.json",
                             r->code, r->endpoint);
        }
    }
    if (!dir)
        return n;
    char keysdir[4096];
    struct stat st;
    snprintf(keysdir, sizeof(keysdir), "%s/keys", dir);
    if (stat(keysdir, &st) < 0)
        n += problem(out, "keys directory %s is missing (%s); fix: run `edgebench overlay init`",
                     keysdir, strerror(errno));
    else if ((st.st_mode & 07777) != 0700)
        n += problem(out, "keys directory %s has mode %04o; fix: chmod 700 %s", keysdir,
                     (unsigned)(st.st_mode & 07777), keysdir);
    n += check_key_pair(dir, "hub", "hub", p->hub_public_key, out);
    for (size_t i = 0; i < p->nregions; i++) {
        char what[48];
        if (!catalog_region(p->regions[i].code))
            continue; /* reported above; never a file name */
        snprintf(what, sizeof(what), "region '%s'", p->regions[i].code);
        n += check_key_pair(dir, p->regions[i].code, what, p->regions[i].public_key, out);
    }
    return n;
}
