/* `edgebench report` and the writer of every output file of a run. */
#ifndef EB_REPORT_REPORT_H
#define EB_REPORT_REPORT_H

#include "collect/result.h"

#include <stddef.h>

int report_main(int argc, char **argv);

/* Creates DIR (and its parents) and writes results.json, results.csv,
 * results.md, results.svg and report.html into it. 0 or -1 with err. */
/* Creates DIR (and its parents) when missing and checks that a file can be
 * created in it (a probe file, removed at once), so a run can refuse a bad
 * --out before it asks any target. 0 or -1 with err naming DIR. */
int report_prepare_dir(const char *dir, char *err, size_t errlen);

int report_write_all(const struct run_result *res, const char *dir, char *err, size_t errlen);

#endif
