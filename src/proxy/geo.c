#include "proxy/geo.h"

#include "core/countries.h"
#include "core/csv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct geo_net {
    int family;
    uint8_t addr[16];
    unsigned prefix;
    char cc[3];
    size_t line; /* in the CSV, for messages */
};

struct geo {
    bool is_mmdb;
    MMDB_s mmdb;
    struct geo_csv csv;
};

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The address bytes of sa, with mapped IPv6 folded to IPv4. */
static int sa_bytes(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (!memcmp(b, mapped_prefix, 12)) {
            memcpy(out, b + 12, 4);
            return AF_INET;
        }
        memcpy(out, b, 16);
        return AF_INET6;
    }
    return -1;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, full))
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool geo_cidr_match(int family, const uint8_t addr[16], unsigned prefix, const struct sockaddr *sa)
{
    uint8_t b[16];
    return sa_bytes(sa, b) == family && prefix_match(addr, b, prefix);
}

int geo_parse_cidr(const char *s, bool strict, int *family, uint8_t addr[16], unsigned *prefix)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    size_t iplen = slash ? (size_t)(slash - s) : strlen(s);
    if (iplen == 0 || iplen >= sizeof(ip))
        return -1;
    memcpy(ip, s, iplen);
    ip[iplen] = 0;
    uint8_t a[16] = {0};
    int fam;
    unsigned max;
    if (inet_pton(AF_INET, ip, a) == 1) {
        fam = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        fam = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    unsigned p = max;
    if (slash) {
        const char *d = slash + 1;
        size_t n = strlen(d);
        if (n == 0 || n > 3 || (n > 1 && d[0] == '0'))
            return -1;
        p = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)d[i]))
                return -1;
            p = p * 10 + (unsigned)(d[i] - '0');
        }
        if (p > max)
            return -1;
    }
    if (fam == AF_INET6 && !memcmp(a, mapped_prefix, 12) && p >= 96) {
        memmove(a, a + 12, 4);
        memset(a + 4, 0, 12);
        fam = AF_INET;
        p -= 96;
        max = 32;
    }
    if (strict) {
        uint8_t masked[16];
        memcpy(masked, a, 16);
        for (unsigned bit = p; bit < max; bit++)
            masked[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
        if (memcmp(masked, a, 16))
            return -1;
    }
    *family = fam;
    memcpy(addr, a, 16);
    *prefix = p;
    return 0;
}

void geo_csv_init(struct geo_csv *c)
{
    memset(c, 0, sizeof(*c));
}

void geo_csv_free(struct geo_csv *c)
{
    if (!c)
        return;
    free(c->nets);
    c->nets = NULL;
    c->n = c->cap = 0;
}

int geo_csv_line(struct geo_csv *c, const char *line, char *err, size_t errlen)
{
    static __thread struct csv_row row;
    c->lineno++;
    if (c->lineno == 1 && !strncmp(line, "\xEF\xBB\xBF", 3))
        line += 3; /* a UTF-8 byte-order mark, as spreadsheets write */
    int nf = csv_split(line, &row);
    if (nf == 0)
        return 0;
    if (nf < 0) {
        snprintf(err, errlen, "line %zu: not a CSV line (unterminated quote or too long)",
                 c->lineno);
        return -1;
    }
    if (c->n == 0 && (!strcasecmp(row.fields[0], "cidr") || !strcasecmp(row.fields[0], "network")))
        return 0;
    if (nf != 2) {
        snprintf(err, errlen, "line %zu: expected 2 fields (cidr,country), found %d", c->lineno,
                 nf);
        return -1;
    }
    struct geo_net net;
    memset(&net, 0, sizeof(net));
    if (geo_parse_cidr(row.fields[0], true, &net.family, net.addr, &net.prefix) < 0) {
        snprintf(err, errlen,
                 "line %zu: '%.64s' is not a network (write e.g. 127.1.0.0/16 or 2001:db8::/32, "
                 "with no host bits set)",
                 c->lineno, row.fields[0]);
        return -1;
    }
    const char *cc = row.fields[1];
    if (strlen(cc) != 2 || !isalpha((unsigned char)cc[0]) || !isalpha((unsigned char)cc[1])) {
        snprintf(err, errlen, "line %zu: '%.16s' is not a two-letter ISO 3166 country code",
                 c->lineno, cc);
        return -1;
    }
    if (!countries_find(cc)) { /* a typo would send its clients to the POP, silently */
        snprintf(err, errlen,
                 "line %zu: '%s' is not an ISO 3166 country code (the codes known are those of "
                 "data/countries.csv, e.g. GB, FR, JP)",
                 c->lineno, cc);
        return -1;
    }
    net.line = c->lineno;
    net.cc[0] = (char)toupper((unsigned char)cc[0]);
    net.cc[1] = (char)toupper((unsigned char)cc[1]);
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        struct geo_net *p = realloc(c->nets, ncap * sizeof(*p));
        if (!p) {
            snprintf(err, errlen, "line %zu: out of memory", c->lineno);
            return -1;
        }
        c->nets = p;
        c->cap = ncap;
    }
    c->nets[c->n++] = net;
    return 0;
}

/* Longest prefix first; then by network, so that the same network twice
 * sits side by side (then by line, for a stable message). */
static int by_prefix_desc(const void *a, const void *b)
{
    const struct geo_net *x = a, *y = b;
    if (x->prefix != y->prefix)
        return (int)y->prefix - (int)x->prefix;
    if (x->family != y->family)
        return x->family - y->family;
    int c = memcmp(x->addr, y->addr, sizeof(x->addr));
    if (c)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

struct geo *geo_open_csv(const char *path, char *err, size_t errlen)
{
    struct geo *g = calloc(1, sizeof(*g));
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    if (!g) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    geo_csv_init(&g->csv);
    f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open geo CSV '%s': %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "geo CSV '%s' is a directory; give the file of cidr,country lines",
                 path);
        goto fail;
    }
    char msg[256];
    while (getline(&line, &cap, f) >= 0) {
        if (geo_csv_line(&g->csv, line, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "geo CSV '%s' %s", path, msg);
            goto fail;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read geo CSV '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (g->csv.n == 0) { /* every client would be "unknown": surely not what was meant */
        snprintf(err, errlen,
                 "geo CSV '%s' has no networks; write lines of cidr,country "
                 "(e.g. 127.1.0.0/16,GB)",
                 path);
        goto fail;
    }
    /* longest prefix first, so the first match is the most specific */
    qsort(g->csv.nets, g->csv.n, sizeof(*g->csv.nets), by_prefix_desc);
    for (size_t i = 1; i < g->csv.n; i++) {
        const struct geo_net *a = &g->csv.nets[i - 1], *b = &g->csv.nets[i];
        if (a->prefix == b->prefix && a->family == b->family &&
            !memcmp(a->addr, b->addr, sizeof(a->addr))) {
            /* which country is it? the file says two things */
            snprintf(err, errlen,
                     "geo CSV '%s' line %zu: the network of line %zu again (%s there, %s here); "
                     "keep one line per network",
                     path, b->line, a->line, a->cc, b->cc);
            goto fail;
        }
    }
    free(line);
    fclose(f);
    return g;
fail:
    free(line);
    if (f)
        fclose(f);
    geo_free(g);
    return NULL;
}

struct geo *geo_open_mmdb(const char *path, char *err, size_t errlen)
{
    struct geo *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (S_ISDIR(st.st_mode) || st.st_size == 0)) {
        snprintf(err, errlen, "MaxMind DB '%s' is %s; give the .mmdb file (see docs/proxy.md)",
                 path, S_ISDIR(st.st_mode) ? "a directory" : "empty");
        free(g);
        return NULL;
    }
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (rc != MMDB_SUCCESS) {
        bool sys = rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR;
        snprintf(err, errlen, "cannot open MaxMind DB '%s': %s%s%s%s", path, MMDB_strerror(rc),
                 sys ? ": " : "", sys ? strerror(errno) : "",
                 rc == MMDB_INVALID_METADATA_ERROR
                     ? " (not a MaxMind DB file; for a CSV of cidr,country lines use "
                       "--geoip-csv)"
                     : "");
        free(g);
        return NULL;
    }
    g->is_mmdb = true;
    return g;
}

void geo_free(struct geo *g)
{
    if (!g)
        return;
    if (g->is_mmdb)
        MMDB_close(&g->mmdb);
    geo_csv_free(&g->csv);
    free(g);
}

size_t geo_size(const struct geo *g)
{
    return g->is_mmdb ? g->mmdb.metadata.node_count : g->csv.n;
}

static int copy_cc(const MMDB_entry_data_s *d, char cc[3])
{
    if (!d->has_data || d->type != MMDB_DATA_TYPE_UTF8_STRING || d->data_size != 2)
        return -1;
    if (!isalpha((unsigned char)d->utf8_string[0]) || !isalpha((unsigned char)d->utf8_string[1]))
        return -1;
    cc[0] = (char)toupper((unsigned char)d->utf8_string[0]);
    cc[1] = (char)toupper((unsigned char)d->utf8_string[1]);
    cc[2] = 0;
    return 0;
}

static int lookup_mmdb(const struct geo *g, const struct sockaddr *sa, char cc[3])
{
    struct sockaddr_in v4;
    uint8_t b[16];
    if (sa_bytes(sa, b) == AF_INET && sa->sa_family == AF_INET6) {
        memset(&v4, 0, sizeof(v4));
        v4.sin_family = AF_INET;
        memcpy(&v4.sin_addr, b, 4);
        sa = (const struct sockaddr *)&v4;
    }
    int mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr((MMDB_s *)&g->mmdb, sa, &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS || !r.found_entry)
        return -1;
    MMDB_entry_data_s d;
    if (MMDB_get_value(&r.entry, &d, "country_code", NULL) == MMDB_SUCCESS && !copy_cc(&d, cc))
        return 0;
    if (MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS &&
        !copy_cc(&d, cc))
        return 0;
    return -1;
}

int geo_lookup(const struct geo *g, const struct sockaddr *sa, char cc[3])
{
    strcpy(cc, "--");
    if (!g || !sa)
        return -1;
    if (g->is_mmdb)
        return lookup_mmdb(g, sa, cc);
    uint8_t b[16];
    int fam = sa_bytes(sa, b);
    for (size_t i = 0; i < g->csv.n; i++) {
        const struct geo_net *n = &g->csv.nets[i];
        if (n->family == fam && prefix_match(n->addr, b, n->prefix)) {
            memcpy(cc, n->cc, 3);
            return 0;
        }
    }
    return -1;
}
