#include "collect/targets.h"

#include "core/catalog.h"
#include "core/csv.h"
#include "core/parse.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARGETS_MAX 10000
#define TARGETS_FILE_MAX (4 * 1024 * 1024)

static int seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int check_region(const char *s, char *err, size_t errlen, int line)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(((struct target *)0)->region))
        return seterr(err, errlen, "line %d: region '%s' must be 1 to 31 characters", line, s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(islower(c) || isdigit(c) || c == '-' || c == '_'))
            return seterr(err, errlen,
                          "line %d: region '%s' may only hold a-z, 0-9, '-' and '_' (e.g. lhr)",
                          line, s);
    }
    return 0;
}

int targets_check_url(const char *url, char *err, size_t errlen)
{
    int rc = -1;
    char *scheme = NULL, *host = NULL;
    CURLU *u = curl_url();
    if (!u)
        return seterr(err, errlen, "out of memory");
    if (strlen(url) >= sizeof(((struct target *)0)->url)) {
        seterr(err, errlen, "URL is longer than 511 characters");
        goto cleanup;
    }
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            seterr(err, errlen, "URL '%s' contains a space or control character", url);
            goto cleanup;
        }
    }
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        seterr(err, errlen, "URL '%s' must start with http:// or https://", url);
        goto cleanup;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
        seterr(err, errlen, "URL '%s' is not a valid http(s) URL (e.g. http://10.50.3.1:8080)",
               url);
        goto cleanup;
    }
    rc = 0;
cleanup:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static struct target *list_push(struct target_list *list, char *err, size_t errlen)
{
    if (list->n >= TARGETS_MAX) {
        seterr(err, errlen, "more than %d targets", TARGETS_MAX);
        return NULL;
    }
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct target *items = realloc(list->items, cap * sizeof(*items));
        if (!items) {
            seterr(err, errlen, "out of memory");
            return NULL;
        }
        list->items = items;
        list->cap = cap;
    }
    struct target *t = &list->items[list->n];
    memset(t, 0, sizeof(*t));
    t->expected_rtt_ms = NAN;
    return t;
}

/* Validates the entry being built at items[n] and commits it. */
static int list_commit(struct target_list *list, const char *region, const char *url,
                       const char *location, const char *flag, const char *token, const char *rtt,
                       int line, char *err, size_t errlen)
{
    char uerr[600];
    struct target *t = list_push(list, err, errlen);
    if (!t)
        return -1;
    if (check_region(region, err, errlen, line) < 0)
        return -1;
    if (targets_check_url(url, uerr, sizeof(uerr)) < 0)
        return seterr(err, errlen, "line %d: %s", line, uerr);
    for (size_t i = 0; i < list->n; i++) {
        if (!strcmp(list->items[i].region, region)) {
            if (list->items[i].line)
                return seterr(err, errlen, "line %d: region '%s' already listed on line %d", line,
                              region, list->items[i].line);
            return seterr(err, errlen, "line %d: region '%s' is listed twice", line, region);
        }
    }
    if (location && strlen(location) >= sizeof(t->location))
        return seterr(err, errlen, "line %d: location is longer than 63 bytes", line);
    if (flag && strlen(flag) >= sizeof(t->flag))
        return seterr(err, errlen, "line %d: flag is longer than 31 bytes", line);
    double ms = NAN;
    if (rtt && rtt[0] && parse_double(rtt, 0, 1e6, &ms) < 0)
        return seterr(err, errlen,
                      "line %d: expected_rtt_ms '%s' is not a number of milliseconds (e.g. 80.5)",
                      line, rtt);
    const struct region *cat = catalog_region(region);
    snprintf(t->region, sizeof(t->region), "%s", region);
    snprintf(t->url, sizeof(t->url), "%s", url);
    snprintf(t->location, sizeof(t->location), "%s",
             location && location[0] ? location
             : cat                   ? cat->city
                                     : "");
    snprintf(t->flag, sizeof(t->flag), "%s", flag && flag[0] ? flag : cat ? cat->flag : "");
    t->expected_rtt_ms = ms;
    t->line = line;
    if (token && token[0]) {
        t->token = strdup(token);
        if (!t->token)
            return seterr(err, errlen, "out of memory");
    }
    list->n++;
    return 0;
}

void targets_parser_init(struct targets_parser *p, struct target_list *list)
{
    memset(p, 0, sizeof(*p));
    p->list = list;
    p->col_region = p->col_url = p->col_location = p->col_flag = p->col_token = p->col_rtt = -1;
}

static int parse_header(struct targets_parser *p, const struct csv_row *row, char *err,
                        size_t errlen)
{
    static const char *const known[] = {"region", "url",   "location",
                                        "flag",   "token", "expected_rtt_ms"};
    int *cols[] = {&p->col_region, &p->col_url,   &p->col_location,
                   &p->col_flag,   &p->col_token, &p->col_rtt};
    for (size_t i = 0; i < row->nfields; i++) {
        size_t k;
        for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            if (!strcmp(row->fields[i], known[k]))
                break;
        if (k == sizeof(known) / sizeof(known[0]))
            return seterr(err, errlen,
                          "line %d: unknown column '%s'; the header is "
                          "region,url,location,flag with optional token,expected_rtt_ms",
                          p->lineno, row->fields[i]);
        if (*cols[k] >= 0)
            return seterr(err, errlen, "line %d: column '%s' appears twice", p->lineno, known[k]);
        *cols[k] = (int)i;
    }
    if (p->col_region < 0 || p->col_url < 0)
        return seterr(err, errlen,
                      "line %d: the header must name the columns region and url "
                      "(region,url,location,flag)",
                      p->lineno);
    p->ncols = row->nfields;
    p->have_header = true;
    return 0;
}

static const char *field(const struct csv_row *row, int col)
{
    return col >= 0 ? row->fields[col] : NULL;
}

int targets_parser_line(struct targets_parser *p, const char *line, char *err, size_t errlen)
{
    struct csv_row *row = malloc(sizeof(*row));
    int rc = -1;
    if (!row)
        return seterr(err, errlen, "out of memory");
    p->lineno++;
    int n = csv_split(line, row);
    if (n < 0) {
        seterr(err, errlen, "line %d: unterminated quote, too many fields or line too long",
               p->lineno);
        goto cleanup;
    }
    if (n == 0) {
        rc = 0;
        goto cleanup;
    }
    if (!p->have_header) {
        rc = parse_header(p, row, err, errlen);
        goto cleanup;
    }
    if ((size_t)n != p->ncols) {
        seterr(err, errlen, "line %d: %d fields but the header has %zu", p->lineno, n, p->ncols);
        goto cleanup;
    }
    rc = list_commit(p->list, field(row, p->col_region), field(row, p->col_url),
                     field(row, p->col_location), field(row, p->col_flag), field(row, p->col_token),
                     field(row, p->col_rtt), p->lineno, err, errlen);
cleanup:
    free(row);
    return rc;
}

int targets_parser_finish(struct targets_parser *p, char *err, size_t errlen)
{
    if (!p->have_header)
        return seterr(err, errlen, "no header line (region,url,location,flag)");
    return 0;
}

/* The overlay plan (contract 4): regions with a code and an overlay
 * address; the backends listen on port 8080 there unless the plan says
 * otherwise ("backend_port"). */
static const char *plan_str(json_t *o, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(o, *keys);
        if (json_is_string(v))
            return json_string_value(v);
    }
    return NULL;
}

static int plan_region(struct target_list *list, const char *key, json_t *r, long port, int index,
                       char *err, size_t errlen)
{
    static const char *const code_keys[] = {"code", "region", "name", NULL};
    static const char *const addr_keys[] = {"address", "overlay_ip", "overlay_address",
                                            "ip",      "addr",       NULL};
    if (!json_is_object(r))
        return seterr(err, errlen, "plan region %d is not an object", index);
    const char *code = plan_str(r, code_keys);
    if (!code)
        code = key;
    const char *addr = plan_str(r, addr_keys);
    if (!code || !addr)
        return seterr(err, errlen, "plan region %d has no code or overlay address", index);
    char host[64], url[128];
    snprintf(host, sizeof(host), "%s", addr);
    char *slash = strchr(host, '/');
    if (slash)
        *slash = 0;
    snprintf(url, sizeof(url), "http://%s:%ld", host, port);
    return list_commit(list, code, url, NULL, NULL, NULL, NULL, index, err, errlen);
}

static int parse_plan(struct target_list *list, const char *buf, size_t len, char *err,
                      size_t errlen)
{
    json_error_t jerr;
    int rc = -1;
    json_t *root = json_loadb(buf, len, 0, &jerr);
    if (!root)
        return seterr(err, errlen, "line %d: not valid JSON: %s", jerr.line, jerr.text);
    json_t *regions = json_object_get(root, "regions");
    if (!regions)
        regions = json_object_get(root, "spokes");
    json_t *jp = json_object_get(root, "backend_port");
    long port = json_is_integer(jp) ? (long)json_integer_value(jp) : 8080;
    if (port < 1 || port > 65535) {
        seterr(err, errlen, "plan backend_port %ld is out of range 1..65535", port);
        goto cleanup;
    }
    if (json_is_array(regions)) {
        size_t i;
        json_t *r;
        json_array_foreach(regions, i, r)
        {
            if (plan_region(list, NULL, r, port, (int)i + 1, err, errlen) < 0)
                goto cleanup;
        }
    } else if (json_is_object(regions)) {
        const char *k;
        json_t *r;
        int i = 0;
        json_object_foreach(regions, k, r)
        {
            if (plan_region(list, k, r, port, ++i, err, errlen) < 0)
                goto cleanup;
        }
    } else {
        seterr(err, errlen, "JSON targets must be an overlay plan with a \"regions\" list");
        goto cleanup;
    }
    rc = 0;
cleanup:
    json_decref(root);
    return rc;
}

int targets_parse_buffer(struct target_list *list, const char *buf, size_t len, char *err,
                         size_t errlen)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    if (i < len && buf[i] == '{')
        return parse_plan(list, buf, len, err, errlen);
    if (memchr(buf, 0, len))
        return seterr(err, errlen, "the file contains a NUL byte; it is not a CSV file");
    struct targets_parser p;
    targets_parser_init(&p, list);
    const char *s = buf, *end = buf + len;
    char *line = NULL;
    int rc = -1;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        free(line);
        line = strndup(s, n);
        if (!line) {
            seterr(err, errlen, "out of memory");
            goto cleanup;
        }
        if (targets_parser_line(&p, line, err, errlen) < 0)
            goto cleanup;
        s += n + (nl ? 1 : 0);
    }
    rc = targets_parser_finish(&p, err, errlen);
cleanup:
    free(line);
    return rc;
}

int targets_load_file(struct target_list *list, const char *path, char *err, size_t errlen)
{
    char inner[700];
    char *buf = NULL;
    int rc = -1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return seterr(err, errlen,
                      "cannot read the targets file '%s': %s; check the --targets path", path,
                      strerror(errno));
    buf = malloc(TARGETS_FILE_MAX + 1);
    if (!buf) {
        seterr(err, errlen, "out of memory");
        goto cleanup;
    }
    size_t n = fread(buf, 1, TARGETS_FILE_MAX + 1, f);
    if (ferror(f) || n > TARGETS_FILE_MAX) {
        seterr(err, errlen, "%s: %s", path,
               ferror(f) ? "read error" : "larger than 4 MB; is it a targets file?");
        goto cleanup;
    }
    if (targets_parse_buffer(list, buf, n, inner, sizeof(inner)) < 0) {
        seterr(err, errlen, "%s: %s", path, inner);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

int targets_add_flag(struct target_list *list, const char *arg, char *err, size_t errlen)
{
    char region[64];
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(region))
        return seterr(err, errlen,
                      "--target '%s' must be REGION=URL (e.g. lhr=http://10.50.3.1:8080)", arg);
    memcpy(region, arg, (size_t)(eq - arg));
    region[eq - arg] = 0;
    char inner[700];
    if (list_commit(list, region, eq + 1, NULL, NULL, NULL, NULL, 0, inner, sizeof(inner)) < 0) {
        const char *msg = strncmp(inner, "line 0: ", 8) ? inner : inner + 8;
        return seterr(err, errlen, "--target '%s': %s", arg, msg);
    }
    return 0;
}

bool targets_have_expected_rtt(const struct target_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        if (!isnan(list->items[i].expected_rtt_ms))
            return true;
    return false;
}

void targets_free(struct target_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i].token);
    free(list->items);
    list->items = NULL;
    list->n = list->cap = 0;
}
