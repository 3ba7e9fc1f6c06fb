/* Client address -> ISO 3166-1 alpha-2 country: a MaxMind DB file
 * (libmaxminddb; the top-level "country_code" layout of ip-location-db and
 * MaxMind's "country.iso_code") or a CSV of "cidr,country" lines.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are looked up as IPv4. */
#ifndef EB_PROXY_GEO_H
#define EB_PROXY_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct geo;

/* Opens a database; on failure returns NULL with a message in err. */
struct geo *geo_open_mmdb(const char *path, char *err, size_t errlen);
struct geo *geo_open_csv(const char *path, char *err, size_t errlen);
void geo_free(struct geo *g);

/* Writes the upper-case country code into cc; returns 0, or -1 when the
 * address is not in the database (cc is then "--"). */
int geo_lookup(const struct geo *g, const struct sockaddr *sa, char cc[3]);

/* Number of networks (CSV) or nodes (mmdb), for the startup log line. */
size_t geo_size(const struct geo *g);

/* The streaming CSV parser behind geo_open_csv (and its fuzz harness):
 * init, then one call per line, then free. A line is "cidr,country" (a bare
 * address is a /32 or /128); a first line "cidr,country" (or "network,...")
 * is a header; '#' comments and blank lines are skipped. */
struct geo_csv {
    struct geo_net *nets;
    size_t n, cap;
    size_t lineno;
};
void geo_csv_init(struct geo_csv *c);
/* 0 when the line is accepted, -1 with a message naming the line otherwise. */
int geo_csv_line(struct geo_csv *c, const char *line, char *err, size_t errlen);
void geo_csv_free(struct geo_csv *c);

/* Parses "a.b.c.d/n", "x::y/n" or a bare address into family (AF_INET or
 * AF_INET6, mapped IPv6 folded to IPv4), address bytes and prefix length.
 * With strict, host bits beyond the prefix are an error. */
int geo_parse_cidr(const char *s, bool strict, int *family, uint8_t addr[16], unsigned *prefix);

/* True when sa's address is inside family/addr/prefix (mapped IPv6 as IPv4). */
bool geo_cidr_match(int family, const uint8_t addr[16], unsigned prefix, const struct sockaddr *sa);

#endif
