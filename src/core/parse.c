#include "core/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

int parse_long(const char *s, long min, long max, long *out)
{
    if (!s)
        return -1;
    const char *p = s;
    if (*p == '-')
        p++;
    if (!all_digits(p, strlen(p)) || strlen(p) > 18)
        return -1;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Checks the shape [-]digits[.digits] before strtod so "1e3", "inf", "nan",
 * "0x10" and " 1" are refused. */
static bool number_shape(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && s[i] == '-')
        i++;
    while (i < n && isdigit((unsigned char)s[i]))
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i]))
            i++, digits++;
    }
    return digits > 0 && i == n && n < 64;
}

static int number_prefix(const char *s, size_t n, double *out)
{
    char buf[64];
    if (!number_shape(s, n))
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return isfinite(*out) ? 0 : -1;
}

int parse_double(const char *s, double min, double max, double *out)
{
    double v;
    if (!s || number_prefix(s, strlen(s), &v) < 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Splits "12.5ms" into the number part and the unit part. */
static size_t number_len(const char *s)
{
    size_t i = 0;
    while (s[i] && (isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'))
        i++;
    return i;
}

int parse_duration_ms(const char *s, double bare_unit_ms, double *out_ms)
{
    if (!s || !*s)
        return -1;
    size_t n = number_len(s);
    double v;
    if (number_prefix(s, n, &v) < 0 || v < 0)
        return -1;
    const char *unit = s + n;
    double mul;
    if (!*unit)
        mul = bare_unit_ms;
    else if (!strcmp(unit, "ms"))
        mul = 1;
    else if (!strcmp(unit, "s"))
        mul = 1000;
    else if (!strcmp(unit, "us") || !strcmp(unit, "µs"))
        mul = 0.001;
    else if (!strcmp(unit, "m") || !strcmp(unit, "min"))
        mul = 60000;
    else
        return -1;
    *out_ms = v * mul;
    return 0;
}

int parse_percent(const char *s, double *out_percent)
{
    if (!s || !*s)
        return -1;
    size_t n = strlen(s);
    if (s[n - 1] == '%')
        n--;
    double v;
    if (number_prefix(s, n, &v) < 0 || v < 0 || v > 100)
        return -1;
    *out_percent = v;
    return 0;
}

int parse_rate_bps(const char *s, double *out_bps)
{
    if (!s || !*s)
        return -1;
    size_t n = number_len(s);
    double v;
    if (number_prefix(s, n, &v) < 0 || v <= 0)
        return -1;
    const char *u = s + n;
    double mul;
    if (!strcasecmp(u, "bit") || !strcasecmp(u, "bps"))
        mul = 1;
    else if (!strcasecmp(u, "kbit"))
        mul = 1e3;
    else if (!strcasecmp(u, "mbit"))
        mul = 1e6;
    else if (!strcasecmp(u, "gbit"))
        mul = 1e9;
    else
        return -1;
    *out_bps = v * mul;
    return 0;
}

int parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    if (!s)
        return -1;
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -1; /* bare IPv6 needs brackets */
        hl = (size_t)(colon - s);
    }
    long p;
    if (parse_long(colon + 1, 1, 65535, &p) < 0 || hl >= hostlen)
        return -1;
    for (size_t i = 0; i < hl; i++)
        if (isspace((unsigned char)h[i]) || h[i] == '/')
            return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = (uint16_t)p;
    return 0;
}

int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    if (!s)
        return -1;
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}
