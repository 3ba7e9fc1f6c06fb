#include "report/csvout.h"

#include "core/csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void number(FILE *f, double v)
{
    if (!isnan(v))
        fprintf(f, "%.3f", v);
}

/* A separator, then the field: every column after the first. */
static void next_field(FILE *f, const char *s)
{
    fputc(',', f);
    csv_write_field(f, s);
}

static void next_number(FILE *f, double v)
{
    fputc(',', f);
    number(f, v);
}

int csvout_render(FILE *f, const struct run_result *res)
{
    static const char *const sfx[] = {"avg_ms", "min_ms",    "max_ms",  "p50_ms", "p95_ms",
                                      "p99_ms", "stddev_ms", "samples", "errors"};
    size_t *order = result_order(res, NULL);
    if (!order)
        return -1;
    fputs("rank,region,location,flag,url,status,error,expected_rtt_ms,answered_by,rounds_ok,"
          "rounds_failed",
          f);
    for (int op = 0; op < OP_COUNT; op++)
        for (size_t s = 0; s < sizeof(sfx) / sizeof(sfx[0]); s++)
            fprintf(f, ",%s_%s", op_names[op], sfx[s]);
    fputs(",insert_round_trips,read_round_trips,insert_round_trips_min,read_round_trips_min\r\n",
          f);
    size_t rank = 0;
    for (size_t k = 0; k < res->nregions; k++) {
        const struct region_result *r = &res->regions[order[k]];
        if (r->status == REGION_OK)
            fprintf(f, "%zu", ++rank);
        next_field(f, r->region);
        next_field(f, r->location);
        next_field(f, r->flag);
        next_field(f, r->url);
        next_field(f, region_status_names[r->status]);
        next_field(f, r->error);
        next_number(f, r->expected_rtt_ms);
        next_field(f, r->answered_by);
        fprintf(f, ",%ld,%ld", r->rounds_ok, r->rounds_failed);
        for (int op = 0; op < OP_COUNT; op++) {
            const struct op_stats *o = &r->op[op];
            double v[] = {o->avg, o->min, o->max, o->p50, o->p95, o->p99, o->stddev};
            for (size_t s = 0; s < sizeof(v) / sizeof(v[0]); s++)
                next_number(f, o->valid ? v[s] : NAN);
            fprintf(f, ",%ld,%ld", o->samples, o->errors);
        }
        next_number(f, r->insert_round_trips);
        next_number(f, r->read_round_trips);
        next_number(f, r->insert_round_trips_min);
        next_number(f, r->read_round_trips_min);
        fputs("\r\n", f);
    }
    free(order);
    return ferror(f) ? -1 : 0;
}
