/* `edgebench lab --proxy`: an `edgebench proxy` in front of the regional
 * backends, and synthetic clients that check its geo-routing. Each client
 * connects from its own 127.x.0.2 source address (all of 127.0.0.0/8 is
 * local on Linux, so the proxy sees that address as the peer); a lab geo CSV
 * maps 127.x.0.0/16 to one country. The expected region is the plan's region
 * nearest to the country's centroid (data/countries.csv); the served region
 * is what the backend that answered says about itself (GET /api/info). */
#ifndef EB_LAB_PROXYCHECK_H
#define EB_LAB_PROXYCHECK_H

#include "lab/links.h"
#include "lab/options.h"
#include "lab/supervise.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

struct lab_proxy {
    struct child proxy;
    struct child routes[PROFILE_MAX]; /* one `proxy routes add` per region */
    char db[PATH_MAX], geo[PATH_MAX], access_log[PATH_MAX];
    uint16_t port;
};

/* Builds the routing table and geo CSV in tmpdir, starts the proxy (exe),
 * asks through it once per synthetic client and prints the table on out.
 * Returns 0 when every client was served by its expected region, 1 when
 * one was not, -1 on an error (message in err; sup->signal set when a
 * signal interrupted it). The proxy keeps running until the lab stops all
 * children. */
int lab_proxy_check(struct lab_proxy *lp, struct supervisor *sup, const char *exe,
                    const char *tmpdir, const char *logdir, const struct lab_plan *plan,
                    const struct lab_link *links, FILE *out, char *err, size_t errlen);

#endif
