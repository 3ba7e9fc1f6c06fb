#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_percentile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    if (q <= 0)
        return sorted[0];
    if (q >= 100)
        return sorted[n - 1];
    double rank = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(rank);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double frac = rank - (double)lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

int stats_compute(const double *samples, size_t n, struct stats *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return 0;
    double *sorted = malloc(n * sizeof(*sorted));
    if (!sorted)
        return -1;
    memcpy(sorted, samples, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += sorted[i];
    double avg = sum / (double)n;
    double var = 0;
    for (size_t i = 0; i < n; i++)
        var += (sorted[i] - avg) * (sorted[i] - avg);
    out->samples = n;
    out->avg = avg;
    out->min = sorted[0];
    out->max = sorted[n - 1];
    out->p50 = stats_percentile_sorted(sorted, n, 50);
    out->p95 = stats_percentile_sorted(sorted, n, 95);
    out->p99 = stats_percentile_sorted(sorted, n, 99);
    out->stddev = sqrt(var / (double)n);
    free(sorted);
    return 0;
}

double stats_median(const double *values, size_t n)
{
    if (n == 0)
        return 0;
    double *sorted = malloc(n * sizeof(*sorted));
    if (!sorted)
        return 0;
    memcpy(sorted, values, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_double);
    double m = stats_percentile_sorted(sorted, n, 50);
    free(sorted);
    return m;
}
