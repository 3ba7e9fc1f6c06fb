#include "lab/model.h"

#include "core/csv.h"
#include "core/parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

extern const unsigned char eb_data_profile_seed[];
extern const size_t eb_data_profile_seed_len;

static bool is_europe(const char *area)
{
    return !strcmp(area, "eu");
}

static bool is_americas(const char *area)
{
    return !strcmp(area, "na") || !strcmp(area, "sa");
}

static bool is_asia_pacific(const char *area)
{
    return !strcmp(area, "ap");
}

double model_path_factor(const char *area_a, const char *area_b)
{
    if (!area_a || !area_b)
        return MODEL_K_DEFAULT;
    if ((is_europe(area_a) && is_americas(area_b)) || (is_europe(area_b) && is_americas(area_a)))
        return MODEL_K_TRANSATLANTIC;
    if ((is_europe(area_a) && is_asia_pacific(area_b)) ||
        (is_europe(area_b) && is_asia_pacific(area_a)))
        return MODEL_K_ASIA_EUROPE;
    return MODEL_K_DEFAULT;
}

double model_rtt_ms(const struct region *r, const struct db_site *site)
{
    double km = catalog_distance_km(r->lat, r->lon, site->lat, site->lon);
    return MODEL_BASE_MS + (2.0 * km / MODEL_KM_PER_MS) * model_path_factor(r->area, site->area);
}

static int parser_fail(struct profile_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int parser_fail(struct profile_parser *p, const char *fmt, ...)
{
    int n = snprintf(p->error, sizeof(p->error), "line %zu: ", p->line);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(p->error))
        vsnprintf(p->error + n, sizeof(p->error) - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

void profile_parser_init(struct profile_parser *p, struct profile *out)
{
    memset(p, 0, sizeof(*p));
    p->out = out;
    out->n = 0;
}

int profile_parser_line(struct profile_parser *p, const char *line)
{
    struct csv_row row;
    p->line++;
    int n = csv_split(line, &row);
    if (n == 0)
        return 0;
    if (n < 0)
        return parser_fail(p, "not a CSV line (unterminated quote or too long)");
    if (!p->data_seen && n == 2 && !strcmp(row.fields[0], "region") &&
        !strcmp(row.fields[1], "rtt_ms")) {
        p->data_seen = true;
        return 0;
    }
    p->data_seen = true;
    if (n != 2)
        return parser_fail(p, "expected 2 fields \"region,rtt_ms\", got %d", n);
    const struct region *r = catalog_region(row.fields[0]);
    if (!r)
        return parser_fail(p, "unknown region '%.16s' (known: %s)", row.fields[0],
                           catalog_region_codes());
    double rtt;
    if (parse_double(row.fields[1], 0, 10000, &rtt) < 0)
        return parser_fail(p, "rtt_ms '%.32s' for %s is not a number of ms in 0..10000",
                           row.fields[1], r->code);
    if (profile_rtt_ms(p->out, r) >= 0)
        return parser_fail(p, "region %s appears twice", r->code);
    if (p->out->n >= PROFILE_MAX)
        return parser_fail(p, "more than %d regions", PROFILE_MAX);
    p->out->entry[p->out->n].region = r;
    p->out->entry[p->out->n].rtt_ms = rtt;
    p->out->n++;
    return 0;
}

int profile_parser_finish(struct profile_parser *p)
{
    if (p->out->n == 0) {
        snprintf(p->error, sizeof(p->error), "no region in it (expected lines \"region,rtt_ms\")");
        return -1;
    }
    return 0;
}

int profile_load_file(const char *path, struct profile *out, char *err, size_t errlen)
{
    int rc = -1;
    struct profile_parser p;
    char line[4096];
    profile_parser_init(&p, out);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory (expected a CSV file of \"region,rtt_ms\" lines)",
                 path);
        goto cleanup;
    }
    while (fgets(line, sizeof(line), f)) {
        if (!strchr(line, '\n') && !feof(f)) {
            p.line++;
            snprintf(err, errlen, "%s: line %zu: longer than %zu bytes", path, p.line,
                     sizeof(line) - 1);
            goto cleanup;
        }
        if (profile_parser_line(&p, line) < 0) {
            snprintf(err, errlen, "%s: %s", path, p.error);
            goto cleanup;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto cleanup;
    }
    if (profile_parser_finish(&p) < 0) {
        snprintf(err, errlen, "%s: %s", path, p.error);
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (f)
        fclose(f);
    return rc;
}

int profile_load_seed(struct profile *out)
{
    struct profile_parser p;
    char line[256];
    size_t pos = 0, len = eb_data_profile_seed_len;
    profile_parser_init(&p, out);
    while (pos < len) {
        size_t n = 0;
        while (pos < len && eb_data_profile_seed[pos] != '\n' && n < sizeof(line) - 1)
            line[n++] = (char)eb_data_profile_seed[pos++];
        pos++;
        line[n] = 0;
        if (profile_parser_line(&p, line) < 0)
            return -1;
    }
    if (profile_parser_finish(&p) < 0)
        return -1;
    for (size_t i = 0; i < out->n; i++)
        out->entry[i].rtt_ms -= MODEL_SEED_SERVER_MS;
    return 0;
}

double profile_rtt_ms(const struct profile *p, const struct region *r)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->entry[i].region == r)
            return p->entry[i].rtt_ms;
    return -1;
}
