/* How each region's backend reaches the database, by overlay mode. This is
 * the lab's switch point between modes: one function per mode sets the links
 * up and says, per region, where the backend listens (and the collector
 * reaches it) and where it finds PostgreSQL.
 *
 *   none       one `edgebench wan --links FILE` process; per region a TCP
 *              link 127.0.0.1:L -> PostgreSQL with the region's RTT; the
 *              backend listens on 127.0.0.1 and uses DB_HOST=127.0.0.1
 *              DB_PORT=L.
 *   wireguard  the real overlay (netlab/labwg.h): links_prepare() before the
 *              database starts (namespaces; PostgreSQL also listens on the
 *              host's end of the hub's link), links_up() renders the overlay
 *              and brings it up; each backend runs in its region's namespace,
 *              listens on its overlay address and uses DB_HOST=10.50.0.1
 *              DB_PORT=5432 (the seed's configuration); the lab process
 *              itself moves into the hub's namespace, so its health checks
 *              and the collector reach the backends through the hub. */
#ifndef EB_LAB_LINKS_H
#define EB_LAB_LINKS_H

#include "lab/options.h"
#include "lab/supervise.h"

#include <limits.h>
#include <stdint.h>

/* Where PostgreSQL accepts TCP connections, as the lab's host sees it. */
struct lab_db_endpoint {
    char host[256]; /* numeric address: "127.0.0.1", "::1" */
    uint16_t port;
};

/* Per region, filled by links_up(). */
struct lab_link {
    char listen_addr[64]; /* the backend's --listen address */
    uint16_t port;        /* the backend's PORT */
    char db_host[64];     /* the backend's DB_HOST */
    uint16_t db_port;     /* the backend's DB_PORT */
    char url[128];        /* the collector's target: http://ADDR:PORT */
    char netns[48];       /* the backend's network namespace; "" = the lab's */
};

struct labwg;

struct links {
    enum lab_overlay mode;
    struct child wan;
    char file[PATH_MAX]; /* the links file given to `edgebench wan --links` */
    /* wireguard: the overlay world and the children it asked the supervisor
     * to start (wireguard-go per namespace, the spokes' wan) */
    struct labwg *wg;
    struct supervisor *sup;
    struct child wg_children[PROFILE_MAX + 2];
    size_t n_wg_children;
};

/* wireguard only, before the database starts: the namespaces and links.
 * Writes the address PostgreSQL must also listen on into listen and the
 * client prefix it must trust into client. record_dir (may be NULL) is
 * removed by `edgebench lab cleanup` if the lab dies. -1 with a message. */
int links_prepare(struct links *l, struct supervisor *sup, const char *exe, const char *tmpdir,
                  const struct lab_plan *plan, const char *topology, const char *record_dir,
                  char *listen, size_t listen_len, char *client, size_t client_len, char *err,
                  size_t errlen);

/* Sets up the links of `mode` for every region of the plan; out[i] is for
 * plan->regions[i]. exe is the edgebench binary, tmpdir the lab's temporary
 * directory (files), logdir where component logs go. -1 with a message in
 * err; sup->signal is set when a signal interrupted it, and a component that
 * died is named in err with its log shown by the caller. */
int links_up(struct links *l, enum lab_overlay mode, struct supervisor *sup, const char *exe,
             const char *tmpdir, const char *logdir, const struct lab_db_endpoint *db,
             const struct lab_plan *plan, struct lab_link *out, char *err, size_t errlen);

/* Tears down what links_up() made (also after a partial failure). */
void links_down(struct links *l, struct supervisor *sup);

/* The child whose death means the links are gone (NULL when none). */
struct child *links_component(struct links *l);

/* Formats one line of a `edgebench wan --links` file. */
int links_format_line(char *buf, size_t len, const char *listen_addr, uint16_t listen_port,
                      const struct lab_db_endpoint *to, double rtt_ms);

#endif
