/* The lab's WireGuard mode (`edgebench lab --overlay wireguard`): the overlay
 * plan and files made by `edgebench overlay init` / `overlay render`, and the
 * namespace world of netlab.h built from exactly those files.
 *
 * Order, because PostgreSQL must listen on an address that exists only once
 * the underlay does:
 *   labwg_prepare    namespaces and links; the address PostgreSQL must add
 *   (the caller starts PostgreSQL listening also on labwg_db_listen(),
 *    accepting labwg_db_client())
 *   labwg_up         overlay init + render, wireguard-go, nat.sh, WAN links,
 *                    handshakes
 *   (backends in labwg_ns(i) listening on labwg_overlay_addr(i), with
 *    DB_HOST = labwg_db_host(); the collector in the hub's namespace)
 *   labwg_down */
#ifndef EB_NETLAB_LABWG_H
#define EB_NETLAB_LABWG_H

#include "netlab/netlab.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct labwg;

struct labwg_config {
    const char *exe;          /* the edgebench binary (/proc/self/exe will do) */
    const char *dir;          /* existing private directory: plan, keys, rendered files, logs */
    const char *const *codes; /* region codes of the catalog */
    const double *rtt_ms;     /* each region's round-trip time to the hub */
    size_t n;
    const char *topology;   /* "hub" or "mesh"; NULL: hub */
    const char *record_dir; /* removed by `lab cleanup` if the lab dies; NULL: none */
    const struct netlab_spawner *spawner;
    volatile sig_atomic_t *stop;
};

/* Why this machine cannot run it (a sentence naming the fix), or NULL. */
const char *labwg_unsupported(char *buf, size_t len);

int labwg_prepare(const struct labwg_config *cfg, struct labwg **out, char *err, size_t errlen);

/* The address PostgreSQL must listen on (besides 127.0.0.1), and the
 * client prefix (CIDR) it must accept: the hub's end of the link. */
const char *labwg_db_listen(const struct labwg *lw);
const char *labwg_db_client(const struct labwg *lw);

/* db_port: PostgreSQL's TCP port on labwg_db_listen(). */
int labwg_up(struct labwg *lw, uint16_t db_port, char *err, size_t errlen);

const char *labwg_overlay_addr(const struct labwg *lw, size_t region); /* "10.50.3.1" */
const char *labwg_db_host(const struct labwg *lw);                     /* "10.50.0.1" */
const char *labwg_ns(const struct labwg *lw, int region);              /* < 0: the hub */
struct netlab *labwg_netlab(struct labwg *lw);

/* The handshake of every interface, one line each, for the lab's output. */
void labwg_report(struct labwg *lw, FILE *f);

void labwg_down(struct labwg *lw);

#endif
