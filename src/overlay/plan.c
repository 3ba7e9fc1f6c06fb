#include "overlay/plan.h"

#include "core/catalog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Copies an optional or required string member into dst. */
static int get_str(json_t *obj, const char *where, const char *key, int required, char *dst,
                   size_t dstlen, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        dst[0] = 0;
        return required ? fail(err, errlen, "%s: \"%s\" is missing", where, key) : 0;
    }
    if (!json_is_string(v))
        return fail(err, errlen, "%s: \"%s\" must be a string", where, key);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n != strlen(s))
        return fail(err, errlen, "%s: \"%s\" contains a NUL byte", where, key);
    if (n >= dstlen)
        return fail(err, errlen, "%s: \"%s\" is longer than %zu bytes", where, key, dstlen - 1);
    memcpy(dst, s, n + 1);
    return 0;
}

static int get_int(json_t *obj, const char *where, const char *key, long *out, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return fail(err, errlen, "%s: \"%s\" is missing", where, key);
    if (!json_is_integer(v))
        return fail(err, errlen, "%s: \"%s\" must be an integer", where, key);
    json_int_t i = json_integer_value(v);
    if (i < -1000000 || i > 1000000)
        return fail(err, errlen, "%s: \"%s\" = %lld is out of range", where, key, (long long)i);
    *out = (long)i;
    return 0;
}

static int parse_region(json_t *r, size_t i, struct plan_region *pr, char *err, size_t errlen)
{
    char where[48];
    snprintf(where, sizeof(where), "regions[%zu]", i);
    if (!json_is_object(r))
        return fail(err, errlen, "%s must be an object", where);
    if (get_str(r, where, "code", 1, pr->code, sizeof(pr->code), err, errlen) ||
        get_str(r, where, "address", 1, pr->address, sizeof(pr->address), err, errlen) ||
        get_str(r, where, "public_key", 1, pr->public_key, sizeof(pr->public_key), err, errlen) ||
        get_str(r, where, "endpoint", 0, pr->endpoint, sizeof(pr->endpoint), err, errlen))
        return -1;
    return 0;
}

int plan_parse(const char *text, size_t len, struct plan *p, char *err, size_t errlen)
{
    json_error_t je;
    int rc = -1;
    memset(p, 0, sizeof(*p));
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(err, errlen, "not valid JSON (line %d: %s)", je.line, je.text);
    json_t *hub, *db, *regions, *v;
    long format = 0;
    if (!json_is_object(root)) {
        fail(err, errlen, "the plan must be a JSON object");
        goto cleanup;
    }
    v = json_object_get(root, "tool");
    if (!json_is_string(v) || strcmp(json_string_value(v), "edgebench-overlay")) {
        fail(err, errlen, "not an edgebench overlay plan (\"tool\" must be \"edgebench-overlay\")");
        goto cleanup;
    }
    if (get_int(root, "plan", "format", &format, err, errlen))
        goto cleanup;
    if (format != PLAN_FORMAT) {
        fail(err, errlen, "plan format %ld is not supported (this edgebench reads format %d)",
             format, PLAN_FORMAT);
        goto cleanup;
    }
    if (get_str(root, "plan", "topology", 1, p->topology, sizeof(p->topology), err, errlen) ||
        get_str(root, "plan", "subnet", 1, p->subnet, sizeof(p->subnet), err, errlen) ||
        get_int(root, "plan", "mtu", &p->mtu, err, errlen) ||
        get_int(root, "plan", "keepalive", &p->keepalive, err, errlen))
        goto cleanup;
    hub = json_object_get(root, "hub");
    if (!json_is_object(hub)) {
        fail(err, errlen, "plan: \"hub\" must be an object");
        goto cleanup;
    }
    if (get_str(hub, "hub", "endpoint", 1, p->hub_endpoint, sizeof(p->hub_endpoint), err, errlen) ||
        get_str(hub, "hub", "address", 1, p->hub_address, sizeof(p->hub_address), err, errlen) ||
        get_str(hub, "hub", "public_key", 1, p->hub_public_key, sizeof(p->hub_public_key), err,
                errlen) ||
        get_str(hub, "hub", "network", 0, p->hub_network, sizeof(p->hub_network), err, errlen))
        goto cleanup;
    db = json_object_get(root, "db");
    if (!json_is_object(db)) {
        fail(err, errlen, "plan: \"db\" must be an object");
        goto cleanup;
    }
    if (get_str(db, "db", "host", 1, p->db_host, sizeof(p->db_host), err, errlen) ||
        get_int(db, "db", "port", &p->db_port, err, errlen))
        goto cleanup;
    regions = json_object_get(root, "regions");
    if (!json_is_array(regions)) {
        fail(err, errlen, "plan: \"regions\" must be an array");
        goto cleanup;
    }
    if (json_array_size(regions) > PLAN_MAX_REGIONS) {
        fail(err, errlen, "plan: more than %d regions", PLAN_MAX_REGIONS);
        goto cleanup;
    }
    for (size_t i = 0; i < json_array_size(regions); i++) {
        if (parse_region(json_array_get(regions, i), i, &p->regions[i], err, errlen))
            goto cleanup;
        p->nregions++;
    }
    rc = 0;
cleanup:
    json_decref(root);
    return rc;
}

char *plan_dump(const struct plan *p)
{
    char *out = NULL;
    json_t *root = json_object();
    json_t *hub = json_object();
    json_t *db = json_object();
    json_t *regions = json_array();
    if (!root || !hub || !db || !regions)
        goto cleanup;
    json_object_set_new(root, "tool", json_string("edgebench-overlay"));
    json_object_set_new(root, "format", json_integer(PLAN_FORMAT));
    json_object_set_new(root, "topology", json_string(p->topology));
    json_object_set_new(root, "subnet", json_string(p->subnet));
    json_object_set_new(root, "mtu", json_integer(p->mtu));
    json_object_set_new(root, "keepalive", json_integer(p->keepalive));
    json_object_set_new(hub, "endpoint", json_string(p->hub_endpoint));
    json_object_set_new(hub, "address", json_string(p->hub_address));
    json_object_set_new(hub, "public_key", json_string(p->hub_public_key));
    if (p->hub_network[0])
        json_object_set_new(hub, "network", json_string(p->hub_network));
    json_object_set(root, "hub", hub);
    json_object_set_new(db, "host", json_string(p->db_host));
    json_object_set_new(db, "port", json_integer(p->db_port));
    json_object_set(root, "db", db);
    for (size_t i = 0; i < p->nregions; i++) {
        const struct plan_region *r = &p->regions[i];
        json_t *o = json_object();
        if (!o)
            goto cleanup;
        json_object_set_new(o, "code", json_string(r->code));
        json_object_set_new(o, "address", json_string(r->address));
        json_object_set_new(o, "public_key", json_string(r->public_key));
        if (r->endpoint[0])
            json_object_set_new(o, "endpoint", json_string(r->endpoint));
        json_array_append_new(regions, o);
    }
    json_object_set(root, "regions", regions);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        size_t n = strlen(s);
        out = malloc(n + 2);
        if (out) {
            memcpy(out, s, n);
            out[n] = '\n';
            out[n + 1] = 0;
        }
        free(s);
    }
cleanup:
    json_decref(regions);
    json_decref(db);
    json_decref(hub);
    json_decref(root);
    return out;
}

int plan_load(const char *path, struct plan *p, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = -1;
    char perr[256];
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
    buf = malloc(1 << 20);
    if (!buf) {
        fail(err, errlen, "out of memory reading %s", path);
        goto cleanup;
    }
    len = fread(buf, 1, 1 << 20, f);
    if (ferror(f)) {
        fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (len == 1 << 20) {
        fail(err, errlen, "%s is larger than 1 MB: not a plan", path);
        goto cleanup;
    }
    if (plan_parse(buf, len, p, perr, sizeof(perr))) {
        fail(err, errlen, "%s: %s", path, perr);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

int plan_save(const char *path, const struct plan *p)
{
    char tmp[4096];
    int rc = 0;
    char *text = plan_dump(p);
    if (!text)
        return -ENOMEM;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        rc = -ENAMETOOLONG;
        goto cleanup;
    }
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto cleanup;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = -errno;
            break;
        }
        off += (size_t)w;
    }
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
cleanup:
    free(text);
    return rc;
}

struct plan_region *plan_find(struct plan *p, const char *code)
{
    for (size_t i = 0; i < p->nregions; i++)
        if (!strcmp(p->regions[i].code, code))
            return &p->regions[i];
    return NULL;
}

int plan_has(const struct plan *p, const char *code)
{
    for (size_t i = 0; i < p->nregions; i++)
        if (!strcmp(p->regions[i].code, code))
            return 1;
    return 0;
}

static size_t catalog_rank(const char *code)
{
    const struct region *r = catalog_region(code);
    return r ? r->index : (size_t)-1;
}

void plan_sort(struct plan *p)
{
    /* Insertion sort: stable, and the list is short. */
    for (size_t i = 1; i < p->nregions; i++) {
        struct plan_region tmp = p->regions[i];
        size_t rank = catalog_rank(tmp.code), j = i;
        while (j > 0 && catalog_rank(p->regions[j - 1].code) > rank) {
            p->regions[j] = p->regions[j - 1];
            j--;
        }
        p->regions[j] = tmp;
    }
}

int plan_ip_parse(const char *s, uint32_t *ip)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *ip = ntohl(a.s_addr);
    return 0;
}

void plan_ip_format(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int plan_cidr_parse(const char *s, uint32_t *net, int *prefix)
{
    char buf[40];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || (size_t)(slash - s) >= sizeof(buf))
        return -1;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = 0;
    uint32_t ip;
    if (plan_ip_parse(buf, &ip))
        return -1;
    const char *q = slash + 1;
    if (!*q || strlen(q) > 2 || (q[0] == '0' && q[1]))
        return -1;
    int n = 0;
    for (; *q; q++) {
        if (*q < '0' || *q > '9')
            return -1;
        n = n * 10 + (*q - '0');
    }
    if (n > 32)
        return -1;
    uint32_t mask = n ? ~(uint32_t)0 << (32 - n) : 0;
    if (ip & ~mask)
        return -1;
    *net = ip;
    *prefix = n;
    return 0;
}

int plan_area_number(const char *area)
{
    static const char *const areas[] = {"hub", "sa", "na", "eu", "ap", "af"};
    for (int i = 0; i < (int)(sizeof(areas) / sizeof(areas[0])); i++)
        if (!strcmp(area, areas[i]))
            return i;
    return -1;
}

int plan_area_block(uint32_t net, int prefix, int area, uint32_t *first, uint32_t *size, char *err,
                    size_t errlen)
{
    if (prefix < 8 || prefix > 26)
        return fail(err, errlen,
                    "a /%d cannot hold the layout (a /24 per area from /8 to /21; eight "
                    "equal blocks from /22 to /26)",
                    prefix);
    if (area < 0 || area > 7)
        return fail(err, errlen, "area number %d is out of range", area);
    uint32_t block = prefix <= 21 ? 256u : (1u << (32 - prefix)) / 8u;
    *first = net + (uint32_t)area * block;
    *size = block;
    return 0;
}

int plan_hub_address(const char *subnet, char out[16], char *err, size_t errlen)
{
    uint32_t net = 0, first = 0, size = 0;
    int prefix;
    if (plan_cidr_parse(subnet, &net, &prefix))
        return fail(err, errlen, "subnet '%s' is not A.B.C.D/N with the host bits zero", subnet);
    if (plan_area_block(net, prefix, 0, &first, &size, err, errlen))
        return -1;
    plan_ip_format(first + 1, out);
    return 0;
}

int plan_allocate(const struct plan *p, const char *code, char out[16], char *err, size_t errlen)
{
    uint32_t net = 0, first = 0, size = 0;
    int prefix;
    const struct region *reg = catalog_region(code);
    if (!reg)
        return fail(err, errlen, "unknown region code '%s'", code);
    int area = plan_area_number(reg->area);
    if (area < 1)
        return fail(err, errlen, "region '%s' has area '%s', which has no block", code, reg->area);
    if (plan_cidr_parse(p->subnet, &net, &prefix))
        return fail(err, errlen, "subnet '%s' is not A.B.C.D/N with the host bits zero", p->subnet);
    if (plan_area_block(net, prefix, area, &first, &size, err, errlen))
        return -1;
    for (uint32_t off = 1; off + 1 < size; off++) {
        uint32_t ip = first + off, other;
        int used = !plan_ip_parse(p->hub_address, &other) && other == ip;
        for (size_t i = 0; !used && i < p->nregions; i++)
            used = !plan_ip_parse(p->regions[i].address, &other) && other == ip;
        if (!used) {
            plan_ip_format(ip, out);
            return 0;
        }
    }
    return fail(err, errlen,
                "area '%s' is full in %s (%u addresses per area): use a larger --subnet", reg->area,
                p->subnet, size - 2);
}
