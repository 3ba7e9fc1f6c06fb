/* results.csv: one row per region in rank order, every aggregated field. */
#ifndef EB_REPORT_CSVOUT_H
#define EB_REPORT_CSVOUT_H

#include "collect/result.h"

#include <stdio.h>

int csvout_render(FILE *f, const struct run_result *res);

#endif
