#include "lab/dburl.h"

#include "core/cli.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *opt(const PQconninfoOption *o, const char *key)
{
    for (; o && o->keyword; o++)
        if (!strcmp(o->keyword, key))
            return o->val && *o->val ? o->val : NULL;
    return NULL;
}

int dburl_endpoint(const char *url, struct lab_db_endpoint *out, char *err, size_t errlen)
{
    int rc = -1;
    char *perr = NULL;
    struct addrinfo *ai = NULL;
    PQconninfoOption *o = PQconninfoParse(url, &perr);
    if (!o) {
        /* libpq's reason quotes the input, password included: not shown */
        snprintf(err, errlen,
                 "--db: not a valid libpq URI (postgresql://USER@HOST:PORT/DBNAME) or conninfo "
                 "string (host=HOST port=PORT dbname=DBNAME ...)");
        goto cleanup;
    }
    const char *host = opt(o, "hostaddr");
    if (!host)
        host = opt(o, "host");
    if (!host)
        host = cli_env("PGHOST");
    const char *port = opt(o, "port");
    if (!port)
        port = cli_env("PGPORT");
    if (!port)
        port = "5432";
    if (!host || host[0] == '/' || host[0] == '@') {
        snprintf(err, errlen,
                 "--db: the server must be named by a TCP host (the lab's WAN links relay TCP), "
                 "not a unix socket; add host=ADDRESS");
        goto cleanup;
    }
    if (strchr(host, ',') || strchr(port, ',')) {
        snprintf(err, errlen, "--db: give one host and port, not a list");
        goto cleanup;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "--db: cannot resolve host '%s' port '%s': %s", host, port,
                 gai_strerror(gai));
        goto cleanup;
    }
    char num[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof(num), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(err, errlen, "--db: cannot use the address of '%s'", host);
        goto cleanup;
    }
    if (strlen(num) >= sizeof(out->host)) {
        snprintf(err, errlen, "--db: address of %s too long", host);
        goto cleanup;
    }
    memcpy(out->host, num, strlen(num) + 1);
    out->port = (uint16_t)strtoul(serv, NULL, 10);
    rc = 0;
cleanup:
    if (ai)
        freeaddrinfo(ai);
    PQfreemem(perr);
    PQconninfoFree(o);
    return rc;
}

/* Appends s to out percent-encoding all but RFC 3986 unreserved bytes. */
static int append_encoded(char *out, size_t outlen, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (*pos + (plain ? 1 : 3) >= outlen)
            return -1;
        if (plain) {
            out[(*pos)++] = (char)*p;
        } else {
            out[(*pos)++] = '%';
            out[(*pos)++] = hex[*p >> 4];
            out[(*pos)++] = hex[*p & 15];
        }
    }
    out[*pos] = 0;
    return 0;
}

static int append_param(char *out, size_t outlen, size_t *pos, bool *first, const char *key,
                        const char *val)
{
    if (*pos + strlen(key) + 2 >= outlen)
        return -1;
    *pos += (size_t)snprintf(out + *pos, outlen - *pos, "%s%s=", *first ? "?" : "&", key);
    *first = false;
    return append_encoded(out, outlen, pos, val);
}

int dburl_rewrite(const char *url, const char *hostaddr, unsigned port, char *out, size_t outlen)
{
    int rc = -1;
    char *perr = NULL;
    PQconninfoOption *o = PQconninfoParse(url, &perr);
    if (!o || outlen < 32)
        goto cleanup;
    size_t pos = (size_t)snprintf(out, outlen, "postgresql://");
    bool first = true;
    for (const PQconninfoOption *p = o; p->keyword; p++) {
        if (!p->val || !*p->val || !strcmp(p->keyword, "hostaddr") || !strcmp(p->keyword, "port"))
            continue;
        if (append_param(out, outlen, &pos, &first, p->keyword, p->val) < 0)
            goto cleanup;
    }
    char portbuf[8];
    snprintf(portbuf, sizeof(portbuf), "%u", port);
    if (append_param(out, outlen, &pos, &first, "hostaddr", hostaddr) < 0 ||
        append_param(out, outlen, &pos, &first, "port", portbuf) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc < 0 && outlen)
        out[0] = 0;
    PQfreemem(perr);
    PQconninfoFree(o);
    return rc;
}
