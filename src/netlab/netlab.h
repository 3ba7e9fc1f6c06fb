/* The namespace world behind `edgebench lab --overlay wireguard`.
 *
 * Underlay: one network namespace per region and one for the hub, each region
 * joined to the hub by a veth pair (a /30 of one private /24), plus a veth
 * pair from the hub to the host namespace, where PostgreSQL listens. The hub
 * also owns the "public" address spokes use as their WireGuard endpoint.
 *
 * Overlay: one wireguard-go interface per namespace (names unique across
 * namespaces, as the control sockets share /var/run/wireguard), configured
 * from the rendered configs with `wg-quick strip` + `wg setconf`, addresses,
 * MTU and routes set as wg-quick sets them; the hub applies the rendered
 * nat.sh (DNAT of the overlay address's port 5432 to PostgreSQL, MASQUERADE).
 * Each spoke's UDP to the hub endpoint is diverted to an `edgebench wan --udp`
 * link with that region's delay, running in the hub namespace.
 *
 * Everything is recorded in a state file (nlstate.h) before it is created.
 * See docs/lab-wireguard.md for the addressing plan. */
#ifndef EB_NETLAB_NETLAB_H
#define EB_NETLAB_NETLAB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct netlab;
struct nlstate;

/* How the caller starts the long-running children (wireguard-go, the WAN)
 * when it supervises its children itself (e.g. reaps with waitpid(-1)):
 * spawn runs argv in namespace ns with env entries ("K=V") added and stdout
 * and stderr appended to log_path, and returns the pid (-1 on failure). The
 * caller reaps them; netlab only watches whether they still run. */
struct netlab_spawner {
    void *ctx;
    pid_t (*spawn)(void *ctx, const char *name, const char *ns, const char *const argv[],
                   const char *const env[], const char *log_path);
};

struct netlab_options {
    const char *const *codes; /* region codes, [a-z0-9]{1,8} */
    size_t n_regions;         /* 1..NETLAB_MAX_REGIONS */
    const char *workdir;      /* existing directory for logs and the WAN links file */
    const char *underlay;     /* "a.b.c.0/24", or NULL: the first free /24 of 10.201-254.x */
    const char *avoid;        /* a CIDR the underlay must not overlap (the overlay), or NULL */
    const char *wan_exe;      /* run as `WAN_EXE wan --links FILE`; NULL: this program */
    const struct netlab_spawner *spawner; /* NULL: netlab forks and reaps them itself */
    /* Set by a signal handler: long waits give up and return -1 when it is non-zero. */
    volatile sig_atomic_t *stop;
};

#define NETLAB_MAX_REGIONS 62

/* Why this machine cannot run the overlay lab (root, /dev/net/tun, wireguard-go,
 * wg, wg-quick, ip, iptables), as a sentence naming the fix; NULL when it can. */
const char *netlab_unsupported(char *buf, size_t len);

/* Chooses the lab's id, names and addresses and opens its state file. Takes
 * a machine-wide lock that netlab_underlay_up releases once the host-side
 * addresses exist. */
int netlab_plan(const struct netlab_options *opt, struct netlab **out);

/* Namespaces, veth pairs, addresses, routes. */
int netlab_underlay_up(struct netlab *lab);

/* wireguard-go everywhere, the configs, nat.sh on the hub, the WAN links.
 * spoke_confs[i] and rtt_ms[i] belong to region i (rtt_ms[i] < 0: no WAN
 * link, the spoke reaches the hub directly). */
int netlab_overlay_up(struct netlab *lab, const char *hub_conf, const char *nat_sh,
                      const char *const *spoke_confs, const double *rtt_ms);

/* Waits until every spoke has a handshake with the hub. 0, or -1 (logged). */
int netlab_wait_handshakes(struct netlab *lab, int timeout_ms);

/* One line per interface: its latest handshake per peer. */
void netlab_print_handshakes(struct netlab *lab, FILE *f);

/* 0 while every supervised child (wireguard-go, the WAN) runs; -1 (logged,
 * with the child's log file named) when one has exited. */
int netlab_poll(struct netlab *lab);

/* Whether pid is one of the lab's supervised children (for a caller that
 * reaps with waitpid(-1)); marks it exited. */
bool netlab_owns_child(struct netlab *lab, pid_t pid);

/* Runs argv in the hub's (region < 0) or a region's namespace; see nlproc_spawn. */
pid_t netlab_spawn(struct netlab *lab, int region, const char *const argv[],
                   const char *const env[], int out_fd, int err_fd);

/* Moves this process into the hub's (region < 0) or a region's namespace, so
 * that what it connects to and what it starts from now on are there; the
 * first call remembers the namespace it came from. 0 or -1 (logged). */
int netlab_enter(struct netlab *lab, int region);
/* Back to the namespace the process was in before netlab_enter. */
int netlab_return(struct netlab *lab);

/* Tears everything down (back to the original namespace, nat.sh down,
 * children, namespaces, interfaces, sockets, the state file) and frees lab.
 * Accepts NULL. */
void netlab_down(struct netlab *lab);

const char *netlab_ns(const struct netlab *lab, int region); /* region < 0: the hub */
const char *netlab_ifname(const struct netlab *lab, int region);
const char *netlab_hub_addr(const struct netlab *lab);  /* the hub's public (endpoint) address */
const char *netlab_db_addr(const struct netlab *lab);   /* the host's end of the hub-db link */
const char *netlab_db_peer(const struct netlab *lab);   /* the hub's end (PostgreSQL's client) */
const char *netlab_db_ifname(const struct netlab *lab); /* the hub's interface toward the host */
const char *netlab_underlay(const struct netlab *lab);  /* "a.b.c.0/24" */
struct nlstate *netlab_state(struct netlab *lab);

#endif
