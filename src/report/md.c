#include "report/md.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Writes s with '|' escaped and line breaks as spaces (one table cell). */
static void cell(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void num_cell(FILE *f, double v, bool bold)
{
    if (isnan(v))
        fputs(" n/a |", f);
    else if (bold)
        fprintf(f, " **%.2f** |", v);
    else
        fprintf(f, " %.2f |", v);
}

static const char *status_word(enum region_status s)
{
    return s == REGION_TIMEOUT ? "TIMEOUT" : "ERROR";
}

static void header(FILE *f, const struct run_result *res, bool model)
{
    const char *st = stat_names[res->stat];
    fprintf(f, "| Flag | Region | Location | Insert %s (ms) | Read %s (ms) |", st, st);
    if (res->columns & COL_P95)
        fputs(" Insert p95 (ms) | Read p95 (ms) |", f);
    if (res->columns & COL_P99)
        fputs(" Insert p99 (ms) | Read p99 (ms) |", f);
    if (res->columns & COL_RTT)
        fprintf(f, " RTT %s (ms) |", st);
    if (model)
        fputs(" Link RTT (ms) |", f);
    if (res->columns & COL_RT)
        fputs(" Insert RTs | Read RTs |", f);
    fputs(" Rank |\n|:----:|:------:|----------|:-----------:|:---------:|", f);
    int extra = ((res->columns & COL_P95) ? 2 : 0) + ((res->columns & COL_P99) ? 2 : 0) +
                ((res->columns & COL_RTT) ? 1 : 0) + (model ? 1 : 0) +
                ((res->columns & COL_RT) ? 2 : 0);
    for (int i = 0; i < extra; i++)
        fputs(":---:|", f);
    fputs(":----:|\n", f);
}

static void row(FILE *f, const struct run_result *res, const struct region_result *r, size_t rank,
                bool model)
{
    bool ok = r->status == REGION_OK, best = rank == 1;
    fputs("| ", f);
    cell(f, r->flag);
    fputs(" | ", f);
    cell(f, r->region);
    fputs(" | ", f);
    cell(f, r->location);
    fputs(" |", f);
    if (ok) {
        num_cell(f, result_stat_value(&r->op[OP_INSERT], res->stat), best);
        num_cell(f, result_stat_value(&r->op[OP_READ], res->stat), best);
    } else {
        fprintf(f, " %s | %s |", status_word(r->status), status_word(r->status));
    }
    const struct op_stats *in = &r->op[OP_INSERT], *rd = &r->op[OP_READ];
    if (!ok) {
        int before = ((res->columns & COL_P95) ? 2 : 0) + ((res->columns & COL_P99) ? 2 : 0) +
                     ((res->columns & COL_RTT) ? 1 : 0);
        for (int i = 0; i < before; i++)
            fputs(" - |", f);
        if (model)
            num_cell(f, r->expected_rtt_ms, false);
        fputs((res->columns & COL_RT) ? " - | - | - |\n" : " - |\n", f);
        return;
    }
    if (res->columns & COL_P95) {
        num_cell(f, ok && in->valid ? in->p95 : NAN, false);
        num_cell(f, ok && rd->valid ? rd->p95 : NAN, false);
    }
    if (res->columns & COL_P99) {
        num_cell(f, ok && in->valid ? in->p99 : NAN, false);
        num_cell(f, ok && rd->valid ? rd->p99 : NAN, false);
    }
    if (res->columns & COL_RTT)
        num_cell(f, ok ? result_stat_value(&r->op[OP_RTT], res->stat) : NAN, false);
    if (model)
        num_cell(f, r->expected_rtt_ms, false);
    if (res->columns & COL_RT) {
        num_cell(f, ok ? r->insert_round_trips_min : NAN, false);
        num_cell(f, ok ? r->read_round_trips_min : NAN, false);
    }
    if (ok && !isnan(result_rank_value(r, res->rank_by, res->stat)))
        fprintf(f, " %zu |\n", rank);
    else
        fputs(" - |\n", f);
}

static void note(FILE *f, const char *region, const char *fmt_what, const char *text)
{
    fputs("- ", f);
    cell(f, region);
    fprintf(f, ": %s", fmt_what);
    if (text) {
        fputs(": ", f);
        cell(f, text);
    }
    fputc('\n', f);
}

/* A blank line before the first note. */
static void begin(FILE *f, bool *any)
{
    if (!*any)
        fputc('\n', f);
    *any = true;
}

static void notes(FILE *f, const struct run_result *res, const size_t *order)
{
    bool any = false;
    for (size_t k = 0; k < res->nregions; k++) {
        const struct region_result *r = &res->regions[order[k]];
        char what[160];
        if (r->status != REGION_OK) {
            begin(f, &any);
            note(f, r->region, status_word(r->status), r->error ? r->error : "no reason recorded");
            continue;
        }
        if (r->error) {
            begin(f, &any);
            note(f, r->region, "warning", r->error);
        }
        for (int op = 0; op < OP_COUNT; op++) {
            if (r->op[op].errors <= 0)
                continue;
            begin(f, &any);
            snprintf(what, sizeof(what), "%ld failed %s operation%s (not counted as latencies)",
                     r->op[op].errors, op_names[op], r->op[op].errors == 1 ? "" : "s");
            note(f, r->region, what, r->op[op].error);
        }
        if (r->answered_by && strcmp(r->answered_by, r->region)) {
            begin(f, &any);
            snprintf(what, sizeof(what), "answered by region %.32s", r->answered_by);
            note(f, r->region, what, NULL);
        }
    }
}

static long opt_int(const struct run_result *res, const char *key, long dflt)
{
    json_t *v = json_object_get(res->options, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

static const char *opt_str(const struct run_result *res, const char *key, const char *dflt)
{
    json_t *v = json_object_get(res->options, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static void footer(FILE *f, const struct run_result *res, size_t nranked)
{
    long rounds = opt_int(res, "rounds", 1);
    fprintf(f, "\nRanked by %s %s; both columns are the %s", rank_names[res->rank_by],
            stat_names[res->stat], stat_names[res->stat]);
    if (res->stat == STAT_AVG && rounds > 1)
        fprintf(f, " (median of %ld rounds' averages)", rounds);
    fprintf(f, ". %zu of %zu regions answered; %ld iterations, mode %s, read %s, %ld round%s.\n",
            nranked, res->nregions, opt_int(res, "iterations", 0), opt_str(res, "mode", "?"),
            opt_str(res, "read", "?"), rounds, rounds == 1 ? "" : "s");
    if (res->columns & COL_RT)
        fputs("Insert RTs, Read RTs: the operation's fastest sample over the empty query's "
              "fastest (min/min; insert_round_trips_min in results.json, beside the backend's "
              "avg/avg insert_round_trips).\n",
              f);
    if (result_has_expected_rtt(res)) {
        char text[300];
        cell(f, result_link_rtt_text(res, text, sizeof(text)));
        fputc('\n', f);
    }
}

int md_render(FILE *f, const struct run_result *res)
{
    size_t nranked;
    size_t *order = result_order(res, &nranked);
    if (!order)
        return -1;
    bool model = result_has_expected_rtt(res);
    header(f, res, model);
    size_t rank = 0;
    for (size_t k = 0; k < res->nregions; k++) {
        const struct region_result *r = &res->regions[order[k]];
        rank += r->status == REGION_OK;
        row(f, res, r, r->status == REGION_OK ? rank : 0, model);
    }
    notes(f, res, order);
    footer(f, res, nranked);
    free(order);
    return ferror(f) ? -1 : 0;
}

/* ---- comparison ---- */

static const struct region_result *find_region(const struct run_result *res, const char *region)
{
    for (size_t i = 0; i < res->nregions; i++)
        if (!strcmp(res->regions[i].region, region))
            return &res->regions[i];
    return NULL;
}

static double cmp_value(const struct region_result *r, int op, enum stat_kind stat)
{
    if (!r || r->status != REGION_OK)
        return NAN;
    return result_stat_value(&r->op[op], stat);
}

static void cmp_value_cell(FILE *f, const struct region_result *r, int op, enum stat_kind stat)
{
    if (r && r->status != REGION_OK)
        fprintf(f, " %s |", status_word(r->status));
    else if (!r)
        fputs(" - |", f);
    else
        num_cell(f, cmp_value(r, op, stat), false);
}

static void delta_cell(FILE *f, double before, double after)
{
    if (isnan(before) || isnan(after))
        fputs(" - |", f);
    else if (before > 0)
        fprintf(f, " %+.2f (%+.1f%%) |", after - before, 100.0 * (after - before) / before);
    else
        fprintf(f, " %+.2f |", after - before);
}

/* Regions in the baseline's rank order, then those only in later runs. */
static const char **compare_regions(struct run_result *const *runs, size_t n, size_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += runs[i]->nregions;
    const char **names = calloc(total ? total : 1, sizeof(*names));
    size_t m = 0;
    if (!names)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t *order = result_order(runs[i], NULL);
        if (!order) {
            free(names);
            return NULL;
        }
        for (size_t k = 0; k < runs[i]->nregions; k++) {
            const char *name = runs[i]->regions[order[k]].region;
            size_t j;
            for (j = 0; j < m && strcmp(names[j], name); j++)
                ;
            if (j == m)
                names[m++] = name;
        }
        free(order);
    }
    *count = m;
    return names;
}

int md_compare(FILE *f, struct run_result *const *runs, const char *const *labels, size_t n)
{
    size_t count;
    const char **names = compare_regions(runs, n, &count);
    if (!names)
        return -1;
    enum stat_kind stat = runs[0]->stat;
    const char *st = stat_names[stat];
    fputs("| Flag | Region | Location |", f);
    for (int op = 0; op < 2; op++) {
        const char *opname = op == OP_INSERT ? "Insert" : "Read";
        for (size_t i = 0; i < n; i++)
            fprintf(f, " %s %s %c (ms) |", opname, st, (char)('A' + (i % 26)));
        for (size_t i = 1; i < n; i++)
            fprintf(f, " %s change %c |", opname, (char)('A' + (i % 26)));
    }
    fputs("\n|:----:|:------:|----------|", f);
    for (size_t c = 0; c < 2 * (2 * n - 1); c++)
        fputs(":---:|", f);
    fputc('\n', f);
    for (size_t k = 0; k < count; k++) {
        const struct region_result *first = NULL;
        for (size_t i = 0; i < n && !first; i++)
            first = find_region(runs[i], names[k]);
        fputs("| ", f);
        cell(f, first->flag);
        fputs(" | ", f);
        cell(f, first->region);
        fputs(" | ", f);
        cell(f, first->location);
        fputs(" |", f);
        for (int op = 0; op < 2; op++) {
            const struct region_result *base = find_region(runs[0], names[k]);
            for (size_t i = 0; i < n; i++)
                cmp_value_cell(f, find_region(runs[i], names[k]), op, stat);
            for (size_t i = 1; i < n; i++)
                delta_cell(f, cmp_value(base, op, stat),
                           cmp_value(find_region(runs[i], names[k]), op, stat));
        }
        fputc('\n', f);
    }
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        const struct run_result *r = runs[i];
        fprintf(f, "- %c: ", (char)('A' + (i % 26)));
        cell(f, labels[i]);
        fprintf(f, " (started %s, mode %s, read %s, %ld iterations", r->started ? r->started : "?",
                opt_str(r, "mode", "?"), opt_str(r, "read", "?"), opt_int(r, "iterations", 0));
        const char *key;
        json_t *v;
        json_object_foreach(r->meta, key, v)
        {
            if (json_is_string(v)) {
                fputs(", ", f);
                cell(f, key);
                fputc('=', f);
                cell(f, json_string_value(v));
            }
        }
        fputs(")\n", f);
    }
    fprintf(f, "\nChanges are relative to A; negative is faster. Values are the %s.\n", st);
    free(names);
    return ferror(f) ? -1 : 0;
}
