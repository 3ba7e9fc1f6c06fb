/* The Markdown renderings: the ranked table in the seed's layout, and the
 * side-by-side comparison of several runs. */
#ifndef EB_REPORT_MD_H
#define EB_REPORT_MD_H

#include "collect/result.h"

#include <stdio.h>

/* Returns 0, or -1 on a write error or out of memory. */
int md_render(FILE *f, const struct run_result *res);
/* runs[0] is the baseline; labels name each run (e.g. file names). */
int md_compare(FILE *f, struct run_result *const *runs, const char *const *labels, size_t n);

#endif
