#include "netlab/nlwgconf.h"

#include "core/parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

int nlwgconf_parse_cidr(const char *s, struct nlwg_cidr *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    long prefix = -1;
    if (slash) {
        *slash = '\0';
        if (parse_long(slash + 1, 0, 128, &prefix) < 0)
            return -1;
    }
    struct nlwg_cidr c = {0};
    if (inet_pton(AF_INET, buf, c.addr) == 1) {
        c.family = AF_INET;
        if (prefix > 32)
            return -1;
        c.prefix = prefix < 0 ? 32 : (int)prefix;
    } else if (inet_pton(AF_INET6, buf, c.addr) == 1) {
        c.family = AF_INET6;
        c.prefix = prefix < 0 ? 128 : (int)prefix;
    } else {
        return -1;
    }
    char a[INET6_ADDRSTRLEN];
    inet_ntop(c.family, c.addr, a, sizeof(a));
    snprintf(c.text, sizeof(c.text), "%s/%d", a, c.prefix);
    *out = c;
    return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8, rem = bits % 8;
    if (memcmp(a, b, (size_t)bytes))
        return false;
    if (rem) {
        uint8_t mask = (uint8_t)(0xff << (8 - rem));
        if ((a[bytes] & mask) != (b[bytes] & mask))
            return false;
    }
    return true;
}

bool nlwgconf_cidr_within(const struct nlwg_cidr *inner, const struct nlwg_cidr *outer)
{
    return inner->family == outer->family && inner->prefix >= outer->prefix &&
           prefix_equal(inner->addr, outer->addr, outer->prefix);
}

bool nlwgconf_cidr_overlap(const struct nlwg_cidr *a, const struct nlwg_cidr *b)
{
    return nlwgconf_cidr_within(a, b) || nlwgconf_cidr_within(b, a);
}

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int add_cidr(struct nlwg_cidr **v, size_t *n, const struct nlwg_cidr *c)
{
    if (*n >= 4096)
        return -1;
    struct nlwg_cidr *p = realloc(*v, (*n + 1) * sizeof(*p));
    if (!p)
        return -1;
    p[(*n)++] = *c;
    *v = p;
    return 0;
}

/* Comma-separated CIDR list into v. */
static int add_list(char *value, struct nlwg_cidr **v, size_t *n, char *bad, size_t badlen)
{
    char *save = NULL;
    for (char *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *t = trim(tok);
        struct nlwg_cidr c;
        if (nlwgconf_parse_cidr(t, &c) < 0 || add_cidr(v, n, &c) < 0) {
            snprintf(bad, badlen, "%.60s", t);
            return -1;
        }
    }
    return 0;
}

enum section { SEC_NONE, SEC_INTERFACE, SEC_PEER };

int nlwgconf_parse(const char *text, size_t len, struct nlwg_conf *out, char *err, size_t errlen)
{
    struct nlwg_conf c = {0};
    enum section sec = SEC_NONE;
    int rc = -1, lineno = 0;
    char line[1024];
    size_t pos = 0;
    memset(out, 0, sizeof(*out));
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        lineno++;
        size_t ll = end - pos;
        if (ll >= sizeof(line)) {
            snprintf(err, errlen, "line %d: longer than %zu characters", lineno, sizeof(line) - 1);
            goto cleanup;
        }
        memcpy(line, text + pos, ll);
        line[ll] = '\0';
        pos = end + 1;
        if (memchr(line, '\0', ll)) {
            snprintf(err, errlen, "line %d: contains a NUL byte", lineno);
            goto cleanup;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        if (*s == '[') {
            if (!strcasecmp(s, "[Interface]")) {
                sec = SEC_INTERFACE;
            } else if (!strcasecmp(s, "[Peer]")) {
                struct nlwg_peer *p =
                    c.n_peers < 4096 ? realloc(c.peers, (c.n_peers + 1) * sizeof(*p)) : NULL;
                if (!p) {
                    snprintf(err, errlen, "line %d: too many peers", lineno);
                    goto cleanup;
                }
                c.peers = p;
                memset(&c.peers[c.n_peers++], 0, sizeof(*p));
                sec = SEC_PEER;
            } else {
                snprintf(err, errlen, "line %d: unknown section '%.40s'", lineno, s);
                goto cleanup;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "line %d: expected 'Key = Value', got '%.40s'", lineno, s);
            goto cleanup;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        char bad[64];
        if (sec == SEC_NONE) {
            snprintf(err, errlen, "line %d: '%.40s' outside [Interface] or [Peer]", lineno, key);
            goto cleanup;
        }
        if (sec == SEC_INTERFACE) {
            if (!strcasecmp(key, "Address")) {
                if (add_list(value, &c.addrs, &c.n_addrs, bad, sizeof(bad)) < 0) {
                    snprintf(err, errlen, "line %d: Address '%s' is not an address/prefix", lineno,
                             bad);
                    goto cleanup;
                }
            } else if (!strcasecmp(key, "MTU")) {
                long v;
                if (parse_long(value, 576, 65535, &v) < 0) {
                    snprintf(err, errlen, "line %d: MTU '%.20s' is not a number in 576..65535",
                             lineno, value);
                    goto cleanup;
                }
                c.mtu = (int)v;
            } else if (!strcasecmp(key, "ListenPort")) {
                long v;
                if (parse_long(value, 0, 65535, &v) < 0) {
                    snprintf(err, errlen, "line %d: ListenPort '%.20s' is not a port", lineno,
                             value);
                    goto cleanup;
                }
                c.listen_port = (int)v;
            } else if (!strcasecmp(key, "Table")) {
                c.table_off = !strcasecmp(value, "off");
            } else if (!strcasecmp(key, "DNS") || !strcasecmp(key, "PreUp") ||
                       !strcasecmp(key, "PostUp") || !strcasecmp(key, "PreDown") ||
                       !strcasecmp(key, "PostDown") || !strcasecmp(key, "SaveConfig")) {
                c.has_hooks = true;
            }
            /* Other keys (PrivateKey, FwMark) are `wg setconf`'s business. */
            continue;
        }
        struct nlwg_peer *p = &c.peers[c.n_peers - 1];
        if (!strcasecmp(key, "AllowedIPs")) {
            if (add_list(value, &p->allowed, &p->n_allowed, bad, sizeof(bad)) < 0) {
                snprintf(err, errlen, "line %d: AllowedIPs '%s' is not an address/prefix", lineno,
                         bad);
                goto cleanup;
            }
        } else if (!strcasecmp(key, "PublicKey")) {
            snprintf(p->public_key, sizeof(p->public_key), "%s", value);
        } else if (!strcasecmp(key, "Endpoint")) {
            snprintf(p->endpoint, sizeof(p->endpoint), "%s", value);
        }
    }
    if (c.n_addrs == 0) {
        snprintf(err, errlen, "no [Interface] Address");
        goto cleanup;
    }
    *out = c;
    memset(&c, 0, sizeof(c));
    rc = 0;
cleanup:
    nlwgconf_free(&c);
    return rc;
}

int nlwgconf_load(const char *path, struct nlwg_conf *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    char *text = malloc(1 << 20);
    size_t n = text ? fread(text, 1, 1 << 20, f) : 0;
    int big = text && n == (1 << 20);
    fclose(f);
    int rc = -1;
    if (!text)
        snprintf(err, errlen, "out of memory");
    else if (big)
        snprintf(err, errlen, "larger than 1 MB");
    else
        rc = nlwgconf_parse(text, n, out, err, errlen);
    free(text);
    return rc;
}

void nlwgconf_free(struct nlwg_conf *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n_peers; i++)
        free(conf->peers[i].allowed);
    free(conf->peers);
    free(conf->addrs);
    memset(conf, 0, sizeof(*conf));
}
