#include "report/html.h"

#include "core/stats.h"
#include "report/svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_W 860
#define PLOT_LABEL 120
#define PLOT_RIGHT 30

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI','DejaVu Sans',Arial,sans-serif;"
    "margin:24px auto;max-width:940px;color:#222;padding:0 12px}\n"
    "h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px}\n"
    ".sub{color:#555;margin-top:0}\n"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0}\n"
    "th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}\n"
    "td.t,th.t{text-align:left}\n"
    "th{background:#f4f4f4;cursor:pointer;user-select:none}\n"
    "th[data-dir=asc]::after{content:' \\25B2'}th[data-dir=desc]::after{content:' \\25BC'}\n"
    "tr.best td{font-weight:600}tr.failed td{color:#c0392b}\n"
    "svg{max-width:100%;height:auto}\n"
    "svg text{font-family:inherit}\n"
    ".note{color:#555;font-size:13px}\n"
    "dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px;font-size:13px}\n"
    "dt{color:#555}dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}\n";

static const char js[] =
    "(function(){\n"
    "document.querySelectorAll('table.sortable').forEach(function(table){\n"
    "  var heads=table.tHead.rows[0].cells;\n"
    "  Array.prototype.forEach.call(heads,function(th,i){\n"
    "    th.addEventListener('click',function(){\n"
    "      var asc=th.getAttribute('data-dir')!=='asc';\n"
    "      Array.prototype.forEach.call(heads,function(h){h.removeAttribute('data-dir');});\n"
    "      th.setAttribute('data-dir',asc?'asc':'desc');\n"
    "      var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
    "      rows.sort(function(a,b){\n"
    "        var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v');\n"
    "        var nx=parseFloat(x),ny=parseFloat(y),ex=isNaN(nx),ey=isNaN(ny);\n"
    "        if(th.classList.contains('t')){var c=String(x).localeCompare(String(y));"
    "return asc?c:-c;}\n"
    "        if(ex&&ey)return 0;if(ex)return 1;if(ey)return -1;\n"
    "        return asc?nx-ny:ny-nx;\n"
    "      });\n"
    "      rows.forEach(function(r){body.appendChild(r);});\n"
    "    });\n"
    "  });\n"
    "});\n"
    "})();\n";

static void esc(FILE *f, const char *s)
{
    svg_escape(f, s);
}

static void td_text(FILE *f, const char *s)
{
    fputs("<td class=\"t\" data-v=\"", f);
    esc(f, s);
    fputs("\">", f);
    esc(f, s);
    fputs("</td>", f);
}

static void td_num(FILE *f, double v)
{
    if (isnan(v))
        fputs("<td data-v=\"\">-</td>", f);
    else
        fprintf(f, "<td data-v=\"%.6f\">%.2f</td>", v, v);
}

static void table(FILE *f, const struct run_result *res, const size_t *order)
{
    const char *st = stat_names[res->stat];
    bool model = result_has_expected_rtt(res);
    fputs("<table class=\"sortable\" id=\"results\"><thead><tr><th>Rank</th>"
          "<th class=\"t\">Flag</th><th class=\"t\">Region</th><th class=\"t\">Location</th>",
          f);
    fprintf(f, "<th>Insert %s (ms)</th><th>Read %s (ms)</th>", st, st);
    fputs("<th>Insert p95</th><th>Read p95</th><th>Insert p99</th><th>Read p99</th>", f);
    fprintf(f, "<th>RTT %s (ms)</th>", st);
    if (model)
        fputs("<th>Link RTT (ms)</th>", f);
    fputs("<th>Insert RTs</th><th>Read RTs</th><th class=\"t\">Status</th></tr></thead>"
          "<tbody>\n",
          f);
    size_t rank = 0;
    for (size_t k = 0; k < res->nregions; k++) {
        const struct region_result *r = &res->regions[order[k]];
        bool ok = r->status == REGION_OK;
        rank += ok;
        fprintf(f, "<tr%s>", !ok ? " class=\"failed\"" : rank == 1 ? " class=\"best\"" : "");
        if (ok)
            fprintf(f, "<td data-v=\"%zu\">%zu</td>", rank, rank);
        else
            fputs("<td data-v=\"\">-</td>", f);
        td_text(f, r->flag);
        td_text(f, r->region);
        td_text(f, r->location);
        const struct op_stats *in = &r->op[OP_INSERT], *rd = &r->op[OP_READ];
        td_num(f, ok ? result_stat_value(in, res->stat) : NAN);
        td_num(f, ok ? result_stat_value(rd, res->stat) : NAN);
        td_num(f, ok && in->valid ? in->p95 : NAN);
        td_num(f, ok && rd->valid ? rd->p95 : NAN);
        td_num(f, ok && in->valid ? in->p99 : NAN);
        td_num(f, ok && rd->valid ? rd->p99 : NAN);
        td_num(f, ok ? result_stat_value(&r->op[OP_RTT], res->stat) : NAN);
        if (model)
            td_num(f, r->expected_rtt_ms);
        td_num(f, ok ? r->insert_round_trips_min : NAN);
        td_num(f, ok ? r->read_round_trips_min : NAN);
        if (ok) {
            td_text(f, r->error ? "ok (see notes)" : "ok");
        } else {
            const char *word = r->status == REGION_TIMEOUT ? "TIMEOUT" : "ERROR";
            fprintf(f, "<td class=\"t\" data-v=\"%s\" title=\"", word);
            esc(f, r->error);
            fprintf(f, "\">%s</td>", word);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    bool any = false;
    for (size_t k = 0; k < res->nregions; k++) {
        const struct region_result *r = &res->regions[order[k]];
        if (!r->error)
            continue;
        if (!any)
            fputs("<ul class=\"note\">\n", f);
        any = true;
        fputs("<li><b>", f);
        esc(f, r->region);
        fprintf(f, "</b>: %s: ",
                r->status == REGION_OK        ? "warning"
                : r->status == REGION_TIMEOUT ? "TIMEOUT"
                                              : "ERROR");
        esc(f, r->error);
        fputs("</li>\n", f);
    }
    if (any)
        fputs("</ul>\n", f);
    if (model) {
        char text[300];
        fputs("<p class=\"note\">", f);
        esc(f, result_link_rtt_text(res, text, sizeof(text)));
        fputs("</p>\n", f);
    }
}

static double quartile(const double *sorted, size_t n, double q)
{
    return n ? stats_percentile_sorted(sorted, n, q) : NAN;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Strip plot of every raw sample with a box (quartiles, median) per op. */
static int distribution(FILE *f, const struct run_result *res, const size_t *order)
{
    static const char *const colors[2] = {"#4e79a7", "#f28e2b"};
    double max = 0;
    size_t rows = 0;
    for (size_t i = 0; i < res->nregions; i++) {
        const struct region_result *r = &res->regions[i];
        if (r->status != REGION_OK)
            continue;
        rows++;
        for (int op = 0; op < 2; op++)
            for (size_t s = 0; s < r->nraw[op]; s++)
                if (r->raw[op][s] > max)
                    max = r->raw[op][s];
    }
    if (!rows) {
        fputs("<p class=\"note\">No region answered: no samples to plot.</p>\n", f);
        return 0;
    }
    double step = svg_nice_step(max > 0 ? max : 1, 6),
           axis = ceil((max > 0 ? max : 1) / step) * step;
    double x0 = PLOT_LABEL, w = PLOT_W - PLOT_LABEL - PLOT_RIGHT, scale = w / axis;
    int lane = 16, row_h = 2 * lane + 8, top = 10;
    int height = top + (int)rows * row_h + 40;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 "
            "%d %d\" role=\"img\" aria-label=\"distribution of the raw samples\">\n",
            PLOT_W, height, PLOT_W, height);
    double bottom = top + (double)rows * row_h;
    for (int i = 0; i * step <= axis + step / 2; i++) {
        double x = x0 + i * step * scale;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#e3e3e3\"/>"
                "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" fill=\"#555\" "
                "text-anchor=\"middle\">%g</text>\n",
                x, top, x, bottom, x, bottom + 15, i * step);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" fill=\"#555\" "
            "text-anchor=\"middle\">milliseconds (every sample; box: quartiles and median)"
            "</text>\n",
            x0 + w / 2, bottom + 32);
    size_t row = 0;
    double *tmp = NULL;
    for (size_t k = 0; k < res->nregions; k++) {
        const struct region_result *r = &res->regions[order[k]];
        if (r->status != REGION_OK)
            continue;
        double y = top + (double)row++ * row_h;
        fprintf(f, "<text x=\"8\" y=\"%.1f\" font-size=\"12\" font-weight=\"600\">", y + lane + 4);
        esc(f, r->flag);
        fputs(" ", f);
        esc(f, r->region);
        fputs("</text>\n", f);
        for (int op = 0; op < 2; op++) {
            size_t n = r->nraw[op];
            double ly = y + 4 + op * lane;
            if (!n)
                continue;
            double *t = realloc(tmp, n * sizeof(double));
            if (!t) {
                free(tmp);
                return -1;
            }
            tmp = t;
            memcpy(tmp, r->raw[op], n * sizeof(double));
            qsort(tmp, n, sizeof(double), cmp_double);
            double q1 = quartile(tmp, n, 25), q2 = quartile(tmp, n, 50), q3 = quartile(tmp, n, 75);
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"none\" "
                    "stroke=\"%s\" stroke-width=\"1.5\"/><line x1=\"%.1f\" y1=\"%.1f\" "
                    "x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"/>\n",
                    x0 + q1 * scale, ly, (q3 - q1) * scale > 1 ? (q3 - q1) * scale : 1, lane - 2,
                    colors[op], x0 + q2 * scale, ly, x0 + q2 * scale, ly + lane - 2, colors[op]);
            fprintf(f, "<g fill=\"%s\" fill-opacity=\"0.55\">", colors[op]);
            for (size_t s = 0; s < n; s++) {
                /* deterministic jitter so equal values stay visible */
                double j = (double)((s * 7919u) % 11u) / 10.0 - 0.5;
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.3\"/>",
                        x0 + r->raw[op][s] * scale, ly + (lane - 2) / 2.0 + j * (lane - 6));
            }
            fputs("</g>\n", f);
        }
    }
    free(tmp);
    fputs("</svg>\n", f);
    return 0;
}

/* Latency in round trips: insert and read fastest sample divided by the rtt's. */
static void round_trips(FILE *f, const struct run_result *res, const size_t *order)
{
    static const char *const colors[2] = {"#4e79a7", "#f28e2b"};
    double max = 3;
    size_t rows = 0;
    for (size_t i = 0; i < res->nregions; i++) {
        const struct region_result *r = &res->regions[i];
        if (r->status != REGION_OK || isnan(r->insert_round_trips_min))
            continue;
        rows++;
        if (r->insert_round_trips_min > max)
            max = r->insert_round_trips_min;
        if (!isnan(r->read_round_trips_min) && r->read_round_trips_min > max)
            max = r->read_round_trips_min;
    }
    if (!rows) {
        fputs("<p class=\"note\">The backends reported no rtt (empty query) samples, so "
              "latencies cannot be expressed in round trips.</p>\n",
              f);
        return;
    }
    double axis = ceil(max), x0 = PLOT_LABEL, w = PLOT_W - PLOT_LABEL - 70, scale = w / axis;
    int row_h = 30, top = 10, height = top + (int)rows * row_h + 36;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 "
            "%d %d\" role=\"img\" aria-label=\"latency in round trips\">\n",
            PLOT_W, height, PLOT_W, height);
    double bottom = top + (double)rows * row_h;
    for (int i = 0; i <= (int)axis; i++) {
        double x = x0 + i * scale;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"%s\"%s/>"
                "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" fill=\"#555\" "
                "text-anchor=\"middle\">%d</text>\n",
                x, top, x, bottom, i == 1 || i == 2 ? "#999" : "#e3e3e3",
                i == 1 || i == 2 ? " stroke-dasharray=\"4 3\"" : "", x, bottom + 15, i);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" fill=\"#555\" "
            "text-anchor=\"middle\">network round trips per operation (latency / rtt)</text>\n",
            x0 + w / 2, bottom + 31);
    size_t row = 0;
    for (size_t k = 0; k < res->nregions; k++) {
        const struct region_result *r = &res->regions[order[k]];
        if (r->status != REGION_OK || isnan(r->insert_round_trips_min))
            continue;
        double y = top + (double)row++ * row_h;
        fprintf(f, "<text x=\"8\" y=\"%.1f\" font-size=\"12\" font-weight=\"600\">", y + 18);
        esc(f, r->flag);
        fputs(" ", f);
        esc(f, r->region);
        fputs("</text>\n", f);
        double v[2] = {r->insert_round_trips_min, r->read_round_trips_min};
        for (int op = 0; op < 2; op++) {
            if (isnan(v[op]))
                continue;
            double by = y + 3 + op * 12;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"11\" fill=\"%s\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#333\">%s %.2f</text>\n",
                    x0, by, v[op] * scale, colors[op], x0 + v[op] * scale + 4, by + 9, op_names[op],
                    v[op]);
        }
    }
    fputs("</svg>\n", f);
}

static void metadata(FILE *f, const struct run_result *res)
{
    fputs("<dl>\n<dt>tool</dt><dd>edgebench ", f);
    esc(f, res->version);
    fputs("</dd>\n<dt>command</dt><dd>", f);
    size_t i;
    json_t *v;
    json_array_foreach(res->command, i, v)
    {
        if (i)
            fputc(' ', f);
        esc(f, json_string_value(v));
    }
    fputs("</dd>\n<dt>started</dt><dd>", f);
    esc(f, res->started);
    fputs("</dd>\n<dt>finished</dt><dd>", f);
    esc(f, res->finished);
    fputs("</dd>\n", f);
    json_t *objs[2] = {res->options, res->meta};
    for (int o = 0; o < 2; o++) {
        const char *key;
        json_object_foreach(objs[o], key, v)
        {
            fputs("<dt>", f);
            esc(f, o ? "meta." : "");
            esc(f, key);
            fputs("</dt><dd>", f);
            if (json_is_string(v)) {
                esc(f, json_string_value(v));
            } else {
                char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                esc(f, s ? s : "");
                free(s);
            }
            fputs("</dd>\n", f);
        }
    }
    fputs("</dl>\n", f);
}

int html_render(FILE *f, const struct run_result *res)
{
    size_t nranked;
    size_t *order = result_order(res, &nranked);
    int rc = -1;
    if (!order)
        return -1;
    const char *site = result_meta(res, "db_site");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<link rel=\"icon\" href=\"data:,\">\n<title>edgebench results",
          f);
    if (site) {
        fputs(" · ", f);
        esc(f, site);
    }
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", css);
    fputs("<h1>Edge to PostgreSQL latency by region</h1>\n<p class=\"sub\">", f);
    if (site) {
        fputs("Database site ", f);
        esc(f, site);
        fputs(" · ", f);
    }
    esc(f, res->started ? res->started : "");
    fprintf(f, " · %zu of %zu regions answered · ranked by %s %s</p>\n", nranked, res->nregions,
            rank_names[res->rank_by], stat_names[res->stat]);
    fputs("<h2>Ranking</h2>\n<p class=\"note\">Click a column heading to sort.</p>\n", f);
    table(f, res, order);
    fputs("<h2>Latency chart</h2>\n", f);
    if (svg_render(f, res, false) < 0)
        goto cleanup;
    fputs("<h2>Distribution of the samples</h2>\n", f);
    if (distribution(f, res, order) < 0)
        goto cleanup;
    fputs("<h2>Round trips</h2>\n<p class=\"note\">Each operation's fastest sample divided by "
          "the fastest empty query (one network round trip): a loaded machine only adds "
          "delay, so the minimums show the round trips even with few samples. About 1 means "
          "the operation costs one round trip; 2 means the driver needed two (prepare, then "
          "execute). results.json keeps these as insert_round_trips_min and "
          "read_round_trips_min, beside the backend's average ratio "
          "(insert_round_trips).</p>\n",
          f);
    round_trips(f, res, order);
    fputs("<h2>Run</h2>\n", f);
    metadata(f, res);
    fprintf(f, "<script>\n%s</script>\n</body>\n</html>\n", js);
    rc = ferror(f) ? -1 : 0;
cleanup:
    free(order);
    return rc;
}
