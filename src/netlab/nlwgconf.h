/* The parts of a wg-quick configuration file that wg-quick itself applies and
 * `wg setconf` does not: [Interface] Address, MTU, Table, and each [Peer]'s
 * AllowedIPs (routes) and Endpoint. `wg-quick strip` + `wg setconf` handle the
 * rest (keys, ports, keepalive). PreUp/PostUp/DNS hooks are never run. */
#ifndef EB_NETLAB_NLWGCONF_H
#define EB_NETLAB_NLWGCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlwg_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int prefix;
    char text[64]; /* as "a.b.c.d/n" */
};

struct nlwg_peer {
    char public_key[64];
    char endpoint[128]; /* "" when none */
    struct nlwg_cidr *allowed;
    size_t n_allowed;
};

struct nlwg_conf {
    struct nlwg_cidr *addrs;
    size_t n_addrs;
    int mtu;         /* 0: not set */
    int listen_port; /* 0: not set */
    bool table_off;  /* Table = off: no routes */
    bool has_hooks;  /* PreUp/PostUp/PreDown/PostDown/DNS present (ignored) */
    struct nlwg_peer *peers;
    size_t n_peers;
};

/* Parses text (len bytes, need not be NUL-terminated). On error returns -1
 * and writes "line N: reason" into err. */
int nlwgconf_parse(const char *text, size_t len, struct nlwg_conf *out, char *err, size_t errlen);

/* Reads and parses a file. */
int nlwgconf_load(const char *path, struct nlwg_conf *out, char *err, size_t errlen);

void nlwgconf_free(struct nlwg_conf *conf);

/* "a.b.c.d/n" or "a:b::c/n" (prefix optional: host route). 0 or -1. */
int nlwgconf_parse_cidr(const char *s, struct nlwg_cidr *out);

/* True when prefix `inner` lies within `outer`. */
bool nlwgconf_cidr_within(const struct nlwg_cidr *inner, const struct nlwg_cidr *outer);

/* True when the two prefixes share any address. */
bool nlwgconf_cidr_overlap(const struct nlwg_cidr *a, const struct nlwg_cidr *b);

#endif
