/* Summary statistics over latency samples (milliseconds). */
#ifndef EB_CORE_STATS_H
#define EB_CORE_STATS_H

#include <stddef.h>

struct stats {
    size_t samples;
    double avg, min, max, p50, p95, p99, stddev;
};

/* Fills *out from n samples (the array is not modified). With n == 0 every
 * field is 0. Percentiles interpolate linearly between closest ranks (the
 * method of numpy's default and of Excel's PERCENTILE.INC); stddev is the
 * population standard deviation. Returns 0, or -1 when out of memory. */
int stats_compute(const double *samples, size_t n, struct stats *out);

/* Percentile q in [0, 100] of an ascending sorted array of n > 0 values. */
double stats_percentile_sorted(const double *sorted, size_t n, double q);

/* Median of n values (copied and sorted); 0 when n == 0. */
double stats_median(const double *values, size_t n);

#endif
