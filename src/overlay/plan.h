/* The overlay plan (DIR/plan.json): settings, the hub, and one entry per
 * region with its overlay address and public key. The parser checks types
 * and sizes only; check.c judges the values, so a damaged plan can still be
 * loaded and every problem in it reported. */
#ifndef EB_OVERLAY_PLAN_H
#define EB_OVERLAY_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define PLAN_FORMAT 1
#define PLAN_MAX_REGIONS 128
#define PLAN_DEFAULT_SUBNET "10.50.0.0/16"
#define PLAN_DEFAULT_MTU 1420
#define PLAN_DEFAULT_KEEPALIVE 25

struct plan_region {
    char code[16];
    char address[40];    /* dotted IPv4, as written in the plan */
    char public_key[64]; /* base64, as written in the plan */
    char endpoint[264];  /* "HOST:PORT" where the spoke can be reached, or "" */
};

struct plan {
    char topology[8]; /* "hub" | "mesh" */
    char subnet[40];  /* "10.50.0.0/16" */
    long mtu;
    long keepalive;
    char hub_endpoint[264];  /* "HOST:PORT" */
    char hub_address[40];    /* "10.50.0.1" */
    char hub_public_key[64]; /* base64 */
    char hub_network[40];    /* the hub's own (VPC) network "172.31.0.0/16", or "" */
    char db_host[256];
    long db_port;
    size_t nregions;
    struct plan_region regions[PLAN_MAX_REGIONS];
};

/* Parses plan JSON. 0, or -1 with a message in err naming the field. */
int plan_parse(const char *text, size_t len, struct plan *p, char *err, size_t errlen);
/* The plan as JSON text (keys in a fixed order, 2-space indent, trailing
 * newline); malloc'd, NULL on allocation failure. */
char *plan_dump(const struct plan *p);
/* Reads and parses DIR/plan.json. 0, or -1 with a message in err. */
int plan_load(const char *path, struct plan *p, char *err, size_t errlen);
/* Writes atomically (temporary file, rename), mode 0644. 0 or -errno. */
int plan_save(const char *path, const struct plan *p);

struct plan_region *plan_find(struct plan *p, const char *code);
int plan_has(const struct plan *p, const char *code);
/* Orders regions as the catalog does (unknown codes last, in plan order). */
void plan_sort(struct plan *p);

/* IPv4 helpers (host byte order). */
int plan_ip_parse(const char *s, uint32_t *ip);
void plan_ip_format(uint32_t ip, char out[16]);
/* "A.B.C.D/N" with no host bits set, N in 0..32. */
int plan_cidr_parse(const char *s, uint32_t *net, int *prefix);

/* Address layout. Area numbers: 0 hub, 1 sa, 2 na, 3 eu, 4 ap, 5 af; -1 unknown. */
int plan_area_number(const char *area);
/* First address and size of an area's block in the subnet; the usable host
 * offsets are 1 .. size-2. -1 with a reason in err when the subnet cannot
 * hold the layout (prefix outside 8..26). */
int plan_area_block(uint32_t net, int prefix, int area, uint32_t *first, uint32_t *size, char *err,
                    size_t errlen);
/* The hub's address for a subnet (first block, offset 1). */
int plan_hub_address(const char *subnet, char out[16], char *err, size_t errlen);
/* Gives `code` the lowest free address of its area's block, never touching
 * the other regions' addresses. 0, or -1 with a message in err. */
int plan_allocate(const struct plan *p, const char *code, char out[16], char *err, size_t errlen);

#endif
