/* report.html: one self-contained page (nothing fetched): the sortable
 * table, the bar chart, the distribution of the raw samples, the
 * round-trip view and the run's metadata. */
#ifndef EB_REPORT_HTML_H
#define EB_REPORT_HTML_H

#include "collect/result.h"

#include <stdio.h>

int html_render(FILE *f, const struct run_result *res);

#endif
