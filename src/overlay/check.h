/* Judges a plan: every problem is printed as one line naming the item and
 * the fix. Used by `overlay check`, and by init/add/render before they write. */
#ifndef EB_OVERLAY_CHECK_H
#define EB_OVERLAY_CHECK_H

#include "overlay/plan.h"

#include <stdio.h>

/* Settings only (no keys, no region list). Number of problems. */
int check_settings(const struct plan *p, FILE *out);
/* The whole plan; with `dir` (the plan directory) also the key files.
 * Number of problems. */
int check_plan(const struct plan *p, const char *dir, FILE *out);
/* 0 when s is HOST:PORT with a non-empty host and a port in 1..65535. */
/* 0 when h is an IP literal or a DNS name; -1 otherwise. */
int check_host(const char *h);
int check_hostport(const char *s, char *host, size_t hostlen, unsigned *port);

#endif
