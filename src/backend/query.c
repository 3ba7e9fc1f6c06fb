#include "backend/query.h"

#include "core/parse.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

int query_parse(const char *query, struct bench_params *out, char *err, size_t errlen, char *param,
                size_t paramlen)
{
    struct bench_params p;
    query_defaults(&p);
    bool seen[4] = {false, false, false, false};
    static const char *const known[] = {"iterations", "mode", "read", "warmup"};
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
        int k = name_index(name, known, 4);
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
    *out = p;
    if (paramlen)
        param[0] = 0;
    if (errlen)
        err[0] = 0;
    return 0;
}
