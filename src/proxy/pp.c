#include "proxy/pp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* "0".."65535" without sign, leading zeros or spaces. */
static int parse_port(const char *s, uint16_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return -1;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

static int set_addr(struct sockaddr_storage *ss, int family, const char *ip, const char *port)
{
    uint16_t p;
    if (parse_port(port, &p) < 0)
        return -1;
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(p);
        return inet_pton(AF_INET, ip, &in->sin_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(p);
    return inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1 ? 0 : -1;
}

static int parse_v1(const uint8_t *buf, size_t len, struct pp_header *out)
{
    /* "PROXY " ... "\r\n", at most 107 bytes including CRLF */
    size_t max = len < 107 ? len : 107;
    size_t end = 0;
    for (end = 0; end + 1 < max; end++)
        if (buf[end] == '\r' && buf[end + 1] == '\n')
            break;
    if (end + 1 >= max) {
        if (len >= 107)
            return -1;
        for (size_t i = 0; i < len; i++)
            if (buf[i] == '\n')
                return -1;
        return 0;
    }
    char line[108];
    memcpy(line, buf, end);
    line[end] = 0;
    if (strlen(line) != end)
        return -1; /* embedded NUL */
    char *fields[7];
    int nf = 0;
    char *save = NULL;
    /* exactly single spaces between fields */
    for (size_t i = 0; i + 1 < end; i++)
        if (line[i] == ' ' && line[i + 1] == ' ')
            return -1;
    if (end > 0 && line[end - 1] == ' ')
        return -1;
    for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (nf == 6)
            return -1;
        fields[nf++] = t;
    }
    if (nf < 2 || strcmp(fields[0], "PROXY"))
        return -1;
    memset(out, 0, sizeof(*out));
    out->version = 1;
    if (!strcmp(fields[1], "UNKNOWN")) {
        out->local = true;
        return (int)end + 2;
    }
    int family;
    if (!strcmp(fields[1], "TCP4"))
        family = AF_INET;
    else if (!strcmp(fields[1], "TCP6"))
        family = AF_INET6;
    else
        return -1;
    if (nf != 6)
        return -1;
    if (set_addr(&out->src, family, fields[2], fields[4]) < 0 ||
        set_addr(&out->dst, family, fields[3], fields[5]) < 0)
        return -1;
    return (int)end + 2;
}

static int parse_v2(const uint8_t *buf, size_t len, struct pp_header *out)
{
    if (len < 16)
        return 0;
    uint8_t ver_cmd = buf[12], fam = buf[13];
    size_t alen = ((size_t)buf[14] << 8) | buf[15];
    if ((ver_cmd & 0xF0) != 0x20)
        return -1;
    if (16 + alen > PP_MAX_HEADER)
        return -1;
    if (len < 16 + alen)
        return 0;
    memset(out, 0, sizeof(*out));
    out->version = 2;
    uint8_t cmd = ver_cmd & 0x0F;
    if (cmd == 0x0) {
        out->local = true;
        return (int)(16 + alen);
    }
    if (cmd != 0x1)
        return -1;
    const uint8_t *a = buf + 16;
    switch (fam) {
    case 0x11: /* TCP over IPv4 */
    case 0x12: /* UDP over IPv4 */
    {
        if (alen < 12)
            return -1;
        struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
        struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;
        s->sin_family = d->sin_family = AF_INET;
        memcpy(&s->sin_addr, a, 4);
        memcpy(&d->sin_addr, a + 4, 4);
        memcpy(&s->sin_port, a + 8, 2);
        memcpy(&d->sin_port, a + 10, 2);
        break;
    }
    case 0x21:
    case 0x22: {
        if (alen < 36)
            return -1;
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
        struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;
        s->sin6_family = d->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, a, 16);
        memcpy(&d->sin6_addr, a + 16, 16);
        memcpy(&s->sin6_port, a + 32, 2);
        memcpy(&d->sin6_port, a + 34, 2);
        break;
    }
    default:
        /* UNSPEC or AF_UNIX: addresses we cannot use; treat as local */
        out->local = true;
        break;
    }
    return (int)(16 + alen);
}

int pp_parse(const uint8_t *buf, size_t len, struct pp_header *out)
{
    if (len == 0)
        return 0;
    size_t n = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
    if (!memcmp(buf, v2_sig, n))
        return len < sizeof(v2_sig) ? 0 : parse_v2(buf, len, out);
    n = len < 6 ? len : 6;
    if (!memcmp(buf, "PROXY ", n))
        return len < 6 ? 0 : parse_v1(buf, len, out);
    return -1;
}

static int same_ip_family(const struct sockaddr *a, const struct sockaddr *b)
{
    return a && b && a->sa_family == b->sa_family &&
           (a->sa_family == AF_INET || a->sa_family == AF_INET6);
}

int pp_write_v1(const struct sockaddr *src, const struct sockaddr *dst, char *buf, size_t len)
{
    int n;
    if (!same_ip_family(src, dst)) {
        n = snprintf(buf, len, "PROXY UNKNOWN\r\n");
    } else if (src->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)src;
        const struct sockaddr_in *d = (const struct sockaddr_in *)dst;
        char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
        inet_ntop(AF_INET, &d->sin_addr, b, sizeof(b));
        n = snprintf(buf, len, "PROXY TCP4 %s %s %u %u\r\n", a, b, ntohs(s->sin_port),
                     ntohs(d->sin_port));
    } else {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)src;
        const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)dst;
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
        inet_ntop(AF_INET6, &d->sin6_addr, b, sizeof(b));
        n = snprintf(buf, len, "PROXY TCP6 %s %s %u %u\r\n", a, b, ntohs(s->sin6_port),
                     ntohs(d->sin6_port));
    }
    return n < 0 || (size_t)n >= len ? -1 : n;
}

int pp_write_v2(const struct sockaddr *src, const struct sockaddr *dst, uint8_t *buf, size_t len)
{
    size_t alen = 0;
    uint8_t fam = 0x00, cmd = 0x20; /* LOCAL */
    if (same_ip_family(src, dst)) {
        cmd = 0x21;
        fam = src->sa_family == AF_INET ? 0x11 : 0x21;
        alen = src->sa_family == AF_INET ? 12 : 36;
    }
    if (len < 16 + alen)
        return -1;
    memcpy(buf, v2_sig, sizeof(v2_sig));
    buf[12] = cmd;
    buf[13] = fam;
    buf[14] = (uint8_t)(alen >> 8);
    buf[15] = (uint8_t)alen;
    uint8_t *a = buf + 16;
    if (fam == 0x11) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)src;
        const struct sockaddr_in *d = (const struct sockaddr_in *)dst;
        memcpy(a, &s->sin_addr, 4);
        memcpy(a + 4, &d->sin_addr, 4);
        memcpy(a + 8, &s->sin_port, 2);
        memcpy(a + 10, &d->sin_port, 2);
    } else if (fam == 0x21) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)src;
        const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)dst;
        memcpy(a, &s->sin6_addr, 16);
        memcpy(a + 16, &d->sin6_addr, 16);
        memcpy(a + 32, &s->sin6_port, 2);
        memcpy(a + 34, &d->sin6_port, 2);
    }
    return (int)(16 + alen);
}
