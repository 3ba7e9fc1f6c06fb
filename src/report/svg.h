/* The bar chart: horizontal grouped bars (insert, read) per region in rank
 * order with p50-p99 whiskers, value labels, a millisecond axis with nice
 * ticks, a legend and a title naming the database site and date. */
#ifndef EB_REPORT_SVG_H
#define EB_REPORT_SVG_H

#include "collect/result.h"

#include <stdbool.h>
#include <stdio.h>

/* standalone: with the XML declaration (results.svg); false to inline the
 * <svg> element into HTML. */
int svg_render(FILE *f, const struct run_result *res, bool standalone);

/* Writes s with &, <, >, " and ' escaped (XML and HTML text). */
void svg_escape(FILE *f, const char *s);

/* A "nice" tick step (1, 2 or 5 x 10^k) for about `target` ticks over [0, max]. */
double svg_nice_step(double max, int target);

#endif
