#include "backend/query.h"

#include "core/parse.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const mode_names[] = {"simple", "extended", "prepared", "pipeline",
                                         "compat2rtt"};
static const char *const read_names[] = {"count", "pk"};

const char *query_mode_name(enum bench_mode m)
{
    return (unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "?";
}

const char *query_read_name(enum read_kind k)
{
    return (unsigned)k < sizeof(read_names) / sizeof(read_names[0]) ? read_names[k] : "?";
}

void query_defaults(struct bench_params *p)
{
    p->iterations = 10;
    p->mode = MODE_EXTENDED;
    p->read = READ_COUNT;
    p->warmup = 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into out (size outlen); -1 on a bad escape, a NUL byte or
 * when it does not fit. */
static int decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = 0;
    return 0;
}

static void printable(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *in && o + 1 < outlen; in++)
        out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    out[o] = 0;
}

static int name_index(const char *value, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(value, names[i]))
            return (int)i;
    return -1;
}

#define NKNOWN 4
static const char *const known[NKNOWN] = {"iterations", "mode", "read", "warmup"};

/* Parses "a=1&b=2" into p (already holding defaults), marking seen[]. */
static int parse_pairs(const char *query, struct bench_params *outp, bool seen[NKNOWN], char *err,
                       size_t errlen, char *param, size_t paramlen)
{
    struct bench_params p = *outp;
    const char *s = query ? query : "";
    char name[64], value[128], shown[64];

    while (*s) {
        const char *amp = strchr(s, '&');
        size_t len = amp ? (size_t)(amp - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        size_t nlen = eq ? (size_t)(eq - s) : len;
        if (len == 0) { /* "a=1&&b=2" or a trailing '&' */
            s += amp ? 1 : 0;
            continue;
        }
        if (decode(s, nlen, name, sizeof(name)) < 0) {
            snprintf(param, paramlen, "%s", "?");
            snprintf(err, errlen, "malformed parameter name in the query string");
            return -1;
        }
        int k = name_index(name, known, NKNOWN);
        printable(name, shown, sizeof(shown));
        snprintf(param, paramlen, "%s", shown);
        if (k < 0) {
            snprintf(
                err, errlen,
                "unknown parameter '%s'; the benchmark takes iterations, mode, read and warmup",
                shown);
            return -1;
        }
        if (seen[k]) {
            snprintf(err, errlen, "parameter '%s' is given more than once", shown);
            return -1;
        }
        seen[k] = true;
        if (!eq || decode(eq + 1, len - nlen - 1, value, sizeof(value)) < 0 || !value[0]) {
            value[0] = 0;
            if (eq && len - nlen - 1 > 0)
                snprintf(value, sizeof(value), "(malformed)");
        }
        char vshown[64];
        printable(value, vshown, sizeof(vshown));
        int idx;
        switch (k) {
        case 0:
            if (parse_long(value, 1, 100, &p.iterations) < 0) {
                snprintf(err, errlen,
                         "iterations='%s' is not valid; use a whole number from 1 to 100", vshown);
                return -1;
            }
            break;
        case 1:
            idx = name_index(value, mode_names, sizeof(mode_names) / sizeof(mode_names[0]));
            if (idx < 0) {
                snprintf(err, errlen,
                         "mode='%s' is not valid; use simple, extended, prepared, pipeline or "
                         "compat2rtt",
                         vshown);
                return -1;
            }
            p.mode = (enum bench_mode)idx;
            break;
        case 2:
            idx = name_index(value, read_names, sizeof(read_names) / sizeof(read_names[0]));
            if (idx < 0) {
                snprintf(err, errlen, "read='%s' is not valid; use count or pk", vshown);
                return -1;
            }
            p.read = (enum read_kind)idx;
            break;
        case 3:
            if (parse_long(value, 0, 20, &p.warmup) < 0) {
                snprintf(err, errlen, "warmup='%s' is not valid; use a whole number from 0 to 20",
                         vshown);
                return -1;
            }
            break;
        }
        s += len + (amp ? 1 : 0);
    }
    *outp = p;
    return 0;
}

static void clear_error(char *err, size_t errlen, char *param, size_t paramlen)
{
    if (paramlen)
        param[0] = 0;
    if (errlen)
        err[0] = 0;
}

int query_parse(const char *query, struct bench_params *out, char *err, size_t errlen, char *param,
                size_t paramlen)
{
    struct bench_params p;
    bool seen[NKNOWN] = {false, false, false, false};
    query_defaults(&p);
    if (parse_pairs(query, &p, seen, err, errlen, param, paramlen) < 0)
        return -1;
    *out = p;
    clear_error(err, errlen, param, paramlen);
    return 0;
}

static long field(const struct bench_params *p, int k)
{
    switch (k) {
    case 0:
        return p->iterations;
    case 1:
        return (long)p->mode;
    case 2:
        return (long)p->read;
    default:
        return p->warmup;
    }
}

static void set_field(struct bench_params *p, int k, long v)
{
    switch (k) {
    case 0:
        p->iterations = v;
        break;
    case 1:
        p->mode = (enum bench_mode)v;
        break;
    case 2:
        p->read = (enum read_kind)v;
        break;
    default:
        p->warmup = v;
        break;
    }
}

static void field_text(const struct bench_params *p, int k, char *out, size_t len)
{
    if (k == 1)
        snprintf(out, len, "%s", query_mode_name(p->mode));
    else if (k == 2)
        snprintf(out, len, "%s", query_read_name(p->read));
    else
        snprintf(out, len, "%ld", field(p, k));
}

/* The JSON object body: {"iterations":3,"mode":"simple",...}, strictly typed. */
static int parse_json(const char *body, size_t len, struct bench_params *p, bool seen[NKNOWN],
                      char *err, size_t errlen, char *param, size_t paramlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -1;
    char shown[64];
    snprintf(param, paramlen, "%s", "body");
    if (!root) {
        printable(jerr.text, shown, sizeof(shown));
        snprintf(err, errlen,
                 "the request body is not valid JSON (%s, at line %d column %d); send an object "
                 "such as {\"iterations\": 3, \"mode\": \"extended\"}",
                 shown, jerr.line, jerr.column);
        goto cleanup;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen,
                 "the JSON request body must be an object such as {\"iterations\": 3, \"mode\": "
                 "\"extended\"}");
        goto cleanup;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        printable(key, shown, sizeof(shown));
        snprintf(param, paramlen, "%s", shown);
        int k = name_index(key, known, NKNOWN);
        if (k < 0) {
            snprintf(
                err, errlen,
                "unknown parameter '%s' in the JSON body; the benchmark takes iterations, mode, "
                "read and warmup",
                shown);
            goto cleanup;
        }
        seen[k] = true;
        if (k == 0 || k == 3) {
            long lo = k == 0 ? 1 : 0, hi = k == 0 ? 100 : 20;
            json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
            if (!json_is_integer(v) || n < lo || n > hi) {
                snprintf(err, errlen,
                         "%s in the JSON body must be a whole number (a JSON integer, not a "
                         "string) from %ld to %ld",
                         known[k], lo, hi);
                goto cleanup;
            }
            set_field(p, k, (long)n);
            continue;
        }
        const char *const *names = k == 1 ? mode_names : read_names;
        size_t nnames = k == 1 ? sizeof(mode_names) / sizeof(mode_names[0])
                               : sizeof(read_names) / sizeof(read_names[0]);
        int idx = json_is_string(v) ? name_index(json_string_value(v), names, nnames) : -1;
        if (idx < 0) {
            snprintf(err, errlen, "%s in the JSON body must be one of the strings %s", known[k],
                     k == 1 ? "simple, extended, prepared, pipeline or compat2rtt" : "count or pk");
            goto cleanup;
        }
        set_field(p, k, idx);
    }
    rc = 0;
cleanup:
    json_decref(root);
    return rc;
}

/* The media type of a Content-Type header, without parameters or case. */
static bool media_is(const char *ctype, const char *want)
{
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    size_t n = strcspn(ctype, "; \t");
    return n == strlen(want) && !strncasecmp(ctype, want, n);
}

int query_parse_request(const char *query, const char *content_type, const char *body,
                        size_t bodylen, struct bench_params *out, char *err, size_t errlen,
                        char *param, size_t paramlen)
{
    struct bench_params q, b;
    bool seen_q[NKNOWN] = {false, false, false, false},
         seen_b[NKNOWN] = {false, false, false, false};
    char *copy = NULL;
    int rc = 400;
    query_defaults(&q);
    query_defaults(&b);
    if (parse_pairs(query, &q, seen_q, err, errlen, param, paramlen) < 0)
        goto cleanup;
    if (body && bodylen > 0) {
        if (!content_type || !*content_type) {
            snprintf(err, errlen,
                     "the request has a body but no Content-Type; send "
                     "application/x-www-form-urlencoded or application/json");
            snprintf(param, paramlen, "%s", "body");
            rc = 415;
            goto cleanup;
        }
        if (media_is(content_type, "application/json")) {
            if (parse_json(body, bodylen, &b, seen_b, err, errlen, param, paramlen) < 0)
                goto cleanup;
        } else if (media_is(content_type, "application/x-www-form-urlencoded")) {
            if (memchr(body, 0, bodylen)) {
                snprintf(err, errlen, "the form body contains a NUL byte");
                snprintf(param, paramlen, "%s", "body");
                goto cleanup;
            }
            copy = malloc(bodylen + 1);
            if (!copy) {
                snprintf(err, errlen, "out of memory");
                snprintf(param, paramlen, "%s", "body");
                rc = 500;
                goto cleanup;
            }
            memcpy(copy, body, bodylen);
            copy[bodylen] = 0;
            if (parse_pairs(copy, &b, seen_b, err, errlen, param, paramlen) < 0)
                goto cleanup;
        } else {
            char shown[64];
            printable(content_type, shown, sizeof(shown));
            snprintf(err, errlen,
                     "Content-Type '%s' is not accepted; send the parameters in the query string, "
                     "or as application/x-www-form-urlencoded or application/json",
                     shown);
            snprintf(param, paramlen, "%s", "body");
            rc = 415;
            goto cleanup;
        }
    }
    for (int k = 0; k < NKNOWN; k++) {
        if (seen_q[k] && seen_b[k] && field(&q, k) != field(&b, k)) {
            char a[32], c[32];
            field_text(&q, k, a, sizeof(a));
            field_text(&b, k, c, sizeof(c));
            snprintf(err, errlen,
                     "parameter '%s' is given in the query string (%s) and in the body (%s) with "
                     "different values; give it once",
                     known[k], a, c);
            snprintf(param, paramlen, "%s", known[k]);
            goto cleanup;
        }
        if (seen_b[k])
            set_field(&q, k, field(&b, k));
    }
    *out = q;
    clear_error(err, errlen, param, paramlen);
    rc = 0;
cleanup:
    free(copy);
    return rc;
}
