#include "wan/links.h"

#include "core/parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RTT_MS 600000.0 /* ten minutes: anything longer is a typo */
#define MAX_TOKENS 32
#define MAX_LINE 4096

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A host is a numeric IPv4 or IPv6 address or a DNS name made of letters,
 * digits, '-' and '.'; digits-and-dots that are not an IPv4 address are refused. */
static bool host_valid(const char *h)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1)
        return true;
    size_t n = strlen(h);
    if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
        return false;
    bool alpha = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (isalpha(c))
            alpha = true;
        else if (!isdigit(c) && c != '-' && c != '.')
            return false;
    }
    return alpha;
}

static int parse_addr(const char *flag, const char *v, bool allow_empty_host, char *host,
                      uint16_t *port, char *err, size_t errlen)
{
    char h[WAN_HOST_MAX];
    if (parse_hostport(v, h, sizeof(h), port) < 0 || (!*h && !allow_empty_host) ||
        (*h && !host_valid(h))) {
        set_err(err, errlen,
                "%s '%s' is not an address; write ADDR:PORT, e.g. 127.0.0.1:7001 or "
                "[::1]:7001%s",
                flag, v, allow_empty_host ? " (or :PORT for every address)" : "");
        return -1;
    }
    memcpy(host, h, strlen(h) + 1);
    return 0;
}

static int parse_delay(const char *flag, const char *v, double *out, char *err, size_t errlen)
{
    double ms;
    if (parse_duration_ms(v, 1.0, &ms) < 0 || ms > MAX_RTT_MS) {
        set_err(err, errlen,
                "%s '%s' is not a delay; write a non-negative duration up to 10m, e.g. 80ms, "
                "0.5ms, 250us or 1.5s",
                flag, v);
        return -1;
    }
    *out = ms;
    return 0;
}

/* Flags that take a value. */
enum flag_id { F_LISTEN, F_TO, F_RTT, F_JITTER, F_LOSS, F_RATE, F_NAME, F_UDP, F_COUNT };
static const char *const flag_names[F_COUNT] = {"--listen", "--to",   "--rtt",  "--jitter",
                                                "--loss",   "--rate", "--name", "--udp"};

static int set_flag(enum flag_id id, const char *v, struct wan_link_spec *o, char *err,
                    size_t errlen)
{
    const char *f = flag_names[id];
    switch (id) {
    case F_LISTEN:
        return parse_addr(f, v, true, o->listen_host, &o->listen_port, err, errlen);
    case F_TO:
        return parse_addr(f, v, false, o->to_host, &o->to_port, err, errlen);
    case F_RTT:
        return parse_delay(f, v, &o->rtt_ms, err, errlen);
    case F_JITTER:
        return parse_delay(f, v, &o->jitter_ms, err, errlen);
    case F_LOSS:
        if (parse_percent(v, &o->loss_pct) < 0) {
            set_err(err, errlen, "--loss '%s' is not a percentage from 0%% to 100%%, e.g. 0.1%%",
                    v);
            return -1;
        }
        return 0;
    case F_RATE:
        if (parse_rate_bps(v, &o->rate_bps) < 0 || o->rate_bps < 8000 || o->rate_bps > 1e12) {
            set_err(err, errlen,
                    "--rate '%s' is not a rate from 8kbit to 1000gbit; write e.g. 100mbit, "
                    "500kbit or 1gbit",
                    v);
            return -1;
        }
        return 0;
    case F_NAME: {
        size_t n = strlen(v);
        bool good = n > 0 && n < WAN_NAME_MAX;
        for (size_t i = 0; good && i < n; i++)
            good = isalnum((unsigned char)v[i]) || strchr("-_.:", v[i]);
        if (!good) {
            set_err(err, errlen,
                    "--name '%s' must be 1 to %d letters, digits or '-', '_', '.', ':'", v,
                    WAN_NAME_MAX - 1);
            return -1;
        }
        memcpy(o->name, v, n + 1);
        return 0;
    }
    case F_UDP:
    case F_COUNT:
        break;
    }
    return -1;
}

int wan_links_parse_args(int argc, char **argv, struct wan_link_spec *out, char *err, size_t errlen)
{
    struct wan_link_spec o;
    bool seen[F_COUNT] = {false};
    memset(&o, 0, sizeof(o));
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : strlen(a);
        int id = -1;
        for (int k = 0; k < F_COUNT; k++)
            if (strlen(flag_names[k]) == klen && !strncmp(a, flag_names[k], klen))
                id = k;
        if (id < 0) {
            set_err(err, errlen,
                    "unknown flag '%s'; a link takes --listen, --to, --rtt, --jitter, --loss, "
                    "--rate, --udp and --name",
                    a);
            return -1;
        }
        if (seen[id]) {
            set_err(err, errlen, "%s is given twice", flag_names[id]);
            return -1;
        }
        seen[id] = true;
        if (id == F_UDP) {
            if (eq) {
                set_err(err, errlen, "--udp takes no value (got '%s')", a);
                return -1;
            }
            o.udp = true;
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) {
                set_err(err, errlen, "%s needs a value", flag_names[id]);
                return -1;
            }
            v = argv[++i];
        }
        if (set_flag((enum flag_id)id, v, &o, err, errlen) < 0)
            return -1;
    }
    static const enum flag_id required[] = {F_LISTEN, F_TO, F_RTT};
    for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++) {
        if (!seen[required[k]]) {
            set_err(err, errlen,
                    "%s is missing; a link needs --listen ADDR:PORT --to ADDR:PORT --rtt DELAY",
                    flag_names[required[k]]);
            return -1;
        }
    }
    *out = o;
    return 0;
}

int wan_links_parse_line(const char *line, struct wan_link_spec *out, char *err, size_t errlen)
{
    size_t n = strlen(line);
    if (n >= MAX_LINE) {
        set_err(err, errlen, "line is longer than %d characters", MAX_LINE - 1);
        return -1;
    }
    char buf[MAX_LINE];
    memcpy(buf, line, n + 1);
    char *argv[MAX_TOKENS];
    int argc = 0;
    char *p = buf;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            break;
        if (argc == MAX_TOKENS) {
            set_err(err, errlen, "too many words (more than %d)", MAX_TOKENS);
            return -1;
        }
        argv[argc++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = 0;
    }
    if (argc == 0)
        return 0;
    return wan_links_parse_args(argc, argv, out, err, errlen) < 0 ? -1 : 1;
}

static bool same_listen(const struct wan_link_spec *a, const struct wan_link_spec *b)
{
    return a->listen_port == b->listen_port && a->udp == b->udp &&
           (!strcmp(a->listen_host, b->listen_host) || !*a->listen_host || !*b->listen_host);
}

int wan_links_parse_text(const char *text, size_t len, struct wan_link_spec **out, size_t *count,
                         char *err, size_t errlen)
{
    struct wan_link_spec *links = NULL;
    size_t n = 0, cap = 0;
    char line[MAX_LINE];
    char why[WAN_ERR_MAX];
    size_t lineno = 0;
    int rc = -1;
    *out = NULL;
    *count = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t l = end - pos;
        lineno++;
        if (l && text[pos + l - 1] == '\r')
            l--;
        if (l >= sizeof(line)) {
            set_err(err, errlen, "line %zu: longer than %zu characters", lineno, sizeof(line) - 1);
            goto cleanup;
        }
        if (memchr(text + pos, 0, l)) {
            set_err(err, errlen, "line %zu: contains a NUL byte", lineno);
            goto cleanup;
        }
        memcpy(line, text + pos, l);
        line[l] = 0;
        pos = end + 1;
        struct wan_link_spec s;
        int r = wan_links_parse_line(line, &s, why, sizeof(why));
        if (r < 0) {
            set_err(err, errlen, "line %zu: %s", lineno, why);
            goto cleanup;
        }
        if (r == 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (same_listen(&links[i], &s)) {
                set_err(err, errlen, "line %zu: listen address %s:%u is already used by link %zu",
                        lineno, *s.listen_host ? s.listen_host : "*", s.listen_port, i + 1);
                goto cleanup;
            }
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct wan_link_spec *nl2 = realloc(links, ncap * sizeof(*links));
            if (!nl2) {
                set_err(err, errlen, "out of memory");
                goto cleanup;
            }
            links = nl2;
            cap = ncap;
        }
        links[n++] = s;
    }
    *out = links;
    *count = n;
    links = NULL;
    rc = 0;
cleanup:
    free(links);
    return rc;
}
