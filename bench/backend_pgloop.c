/* Baseline for bench/backend_overhead.sh: the same read the backend times
 * (SELECT COUNT(*) FROM contacts, PQexecParams: one round trip), in a bare
 * libpq loop, timed the same way. Prints the median in milliseconds.
 * Usage: backend_pgloop CONNINFO ITERATIONS */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s CONNINFO ITERATIONS\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[2]);
    PGconn *conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(conn));
        return 1;
    }
    double *ms = calloc((size_t)n, sizeof(*ms));
    for (int i = -1; i < n; i++) { /* one warm-up */
        double t0 = now_ms();
        PGresult *r =
            PQexecParams(conn, "SELECT COUNT(*) FROM contacts", 0, NULL, NULL, NULL, NULL, 0);
        double t1 = now_ms();
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "%s", PQerrorMessage(conn));
            return 1;
        }
        PQclear(r);
        if (i >= 0)
            ms[i] = t1 - t0;
    }
    qsort(ms, (size_t)n, sizeof(*ms), cmp);
    double p50 = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    printf("%.6f\n", p50);
    free(ms);
    PQfinish(conn);
    return 0;
}
