#include "report/svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SVG_W 860
#define LABEL_W 190
#define VALUE_W 70
#define TOP 78
#define ROW_H 40
#define BAR_H 13
#define AXIS_H 46

static const char *const colors[2] = {"#4e79a7", "#f28e2b"}; /* insert, read */

void svg_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            /* XML 1.0 forbids most control characters even escaped */
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                fputc(' ', f);
            else
                fputc(c, f);
        }
    }
}

double svg_nice_step(double max, int target)
{
    if (!(max > 0) || !isfinite(max))
        return 1;
    double raw = max / target, mag = pow(10, floor(log10(raw))), norm = raw / mag;
    double step = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
    return step * mag;
}

static void date_of(const struct run_result *res, char *buf, size_t len)
{
    snprintf(buf, len, "%.10s", res->started ? res->started : "");
}

static double row_max(const struct region_result *r, enum stat_kind stat)
{
    double m = 0;
    for (int op = 0; op < 2; op++) {
        const struct op_stats *o = &r->op[op];
        if (!o->valid)
            continue;
        double v = result_stat_value(o, stat);
        if (v > m)
            m = v;
        if (o->p99 > m)
            m = o->p99;
    }
    return m;
}

static void bar(FILE *f, const struct op_stats *o, enum stat_kind stat, double x0, double scale,
                double y, int op)
{
    if (!o->valid) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"na\">n/a</text>\n", x0 + 4, y + BAR_H - 3);
        return;
    }
    double v = result_stat_value(o, stat), w = v * scale;
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
            "<title>%s %s %.2f ms (p50 %.2f, p95 %.2f, p99 %.2f)</title></rect>\n",
            x0, y, w > 0.5 ? w : 0.5, BAR_H, colors[op], op_names[op], stat_names[stat], v, o->p50,
            o->p95, o->p99);
    double a = x0 + o->p50 * scale, b = x0 + o->p99 * scale, cy = y + BAR_H / 2.0;
    fprintf(f, "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f\" class=\"whisker\"/>\n", a,
            cy, b, a, cy - 4, cy + 4, b, cy - 4, cy + 4);
    double end = (x0 + w > b ? x0 + w : b) + 4;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"val\">%.2f</text>\n", end, y + BAR_H - 2, v);
}

int svg_render(FILE *f, const struct run_result *res, bool standalone)
{
    size_t *order = result_order(res, NULL);
    if (!order)
        return -1;
    double max = 0;
    for (size_t i = 0; i < res->nregions; i++)
        if (res->regions[i].status == REGION_OK) {
            double m = row_max(&res->regions[i], res->stat);
            if (m > max)
                max = m;
        }
    double step = svg_nice_step(max > 0 ? max : 1, 6);
    double axis_max = ceil((max > 0 ? max : 1) / step) * step;
    double x0 = LABEL_W, plot_w = SVG_W - LABEL_W - VALUE_W, scale = plot_w / axis_max;
    int rows = (int)res->nregions;
    int height = TOP + rows * ROW_H + AXIS_H;
    char date[16];
    date_of(res, date, sizeof(date));
    const char *site = result_meta(res, "db_site");

    if (standalone)
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"eb-title\" "
            "class=\"eb-chart\">\n",
            SVG_W, height, SVG_W, height);
    fputs("<style>\n"
          ".eb-chart text{font-family:system-ui,-apple-system,'Segoe UI','DejaVu Sans',"
          "Arial,sans-serif;fill:#222}\n"
          ".eb-chart .title{font-size:17px;font-weight:600}\n"
          ".eb-chart .sub{font-size:12px;fill:#555}\n"
          ".eb-chart .code{font-size:13px;font-weight:600}\n"
          ".eb-chart .city{font-size:11px;fill:#666}\n"
          ".eb-chart .val{font-size:11px;fill:#333}\n"
          ".eb-chart .tick{font-size:11px;fill:#555}\n"
          ".eb-chart .fail{font-size:12px;font-weight:600;fill:#c0392b}\n"
          ".eb-chart .na{font-size:11px;fill:#999}\n"
          ".eb-chart .grid{stroke:#e3e3e3;stroke-width:1}\n"
          ".eb-chart .axis{stroke:#888;stroke-width:1}\n"
          ".eb-chart .whisker{stroke:#222;stroke-width:1.2;fill:none}\n"
          "</style>\n",
          f);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", SVG_W, height);
    fputs("<text id=\"eb-title\" x=\"16\" y=\"26\" class=\"title\">Edge to PostgreSQL latency by "
          "region",
          f);
    if (site) {
        fputs(" · database ", f);
        svg_escape(f, site);
    }
    if (date[0]) {
        fputs(" · ", f);
        svg_escape(f, date);
    }
    fputs("</text>\n", f);
    fprintf(f,
            "<text x=\"16\" y=\"46\" class=\"sub\">insert and read %s in ms, lower is better; "
            "whiskers p50–p99; ranked by %s %s</text>\n",
            stat_names[res->stat], rank_names[res->rank_by], stat_names[res->stat]);
    /* legend */
    for (int op = 0; op < 2; op++) {
        double lx = SVG_W - 170 + op * 80;
        fprintf(f, "<rect x=\"%.0f\" y=\"56\" width=\"12\" height=\"12\" fill=\"%s\"/>", lx,
                colors[op]);
        fprintf(f, "<text x=\"%.0f\" y=\"66\" class=\"tick\">%s</text>\n", lx + 16,
                op == 0 ? "insert" : "read");
    }
    /* grid and ticks */
    double plot_bottom = TOP + rows * ROW_H;
    for (int i = 0; i * step <= axis_max + step / 2; i++) {
        double t = i * step, x = x0 + t * scale;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" class=\"grid\"/>\n", x,
                TOP - 4, x, plot_bottom);
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" class=\"tick\" text-anchor=\"middle\">%g</text>\n",
                x, plot_bottom + 16, t);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" class=\"axis\"/>\n", x0,
            plot_bottom, x0 + plot_w, plot_bottom);
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.0f\" class=\"tick\" text-anchor=\"middle\">milliseconds"
            "</text>\n",
            x0 + plot_w / 2, plot_bottom + 34);
    for (size_t k = 0; k < res->nregions; k++) {
        const struct region_result *r = &res->regions[order[k]];
        double y = TOP + (double)k * ROW_H;
        fprintf(f, "<g class=\"row\"><text x=\"16\" y=\"%.1f\" class=\"code\">", y + 17);
        svg_escape(f, r->flag);
        fputs(r->flag && r->flag[0] ? " " : "", f);
        svg_escape(f, r->region);
        fprintf(f, "</text><text x=\"16\" y=\"%.1f\" class=\"city\">", y + 31);
        svg_escape(f, r->location);
        fputs("</text>\n", f);
        if (r->status != REGION_OK) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"fail\">%s", x0 + 4, y + 22,
                    r->status == REGION_TIMEOUT ? "TIMEOUT" : "ERROR");
            if (r->error) {
                fputs("<title>", f);
                svg_escape(f, r->error);
                fputs("</title>", f);
            }
            fputs("</text>", f);
        } else {
            bar(f, &r->op[OP_INSERT], res->stat, x0, scale, y + 6, 0);
            bar(f, &r->op[OP_READ], res->stat, x0, scale, y + 6 + BAR_H + 2, 1);
        }
        fputs("</g>\n", f);
    }
    fputs("</svg>\n", f);
    free(order);
    return ferror(f) ? -1 : 0;
}
