/* `overlay render`: the hub's and spokes' WireGuard configs, the hub's NAT
 * script and cloud-init user data, and the deploy files, from a checked plan. */
#ifndef EB_OVERLAY_RENDER_H
#define EB_OVERLAY_RENDER_H

#include "overlay/plan.h"

struct render_opts {
    const char *dir; /* the plan directory (keys in dir/keys) */
    const char *out; /* output directory */
    const char *app; /* Fly.io app name */
};

/* Writes every file under o->out. 0, or -1 after printing why on stderr. */
int render_all(const struct plan *p, const struct render_opts *o);

#endif
