#include "core/catalog.h"

#include "core/csv.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char eb_data_regions[];
extern const size_t eb_data_regions_len;
extern const unsigned char eb_data_db_sites[];
extern const size_t eb_data_db_sites_len;

#define MAX_REGIONS 128
#define MAX_SITES 32

static struct region regions[MAX_REGIONS];
static size_t nregions;
static struct db_site sites[MAX_SITES];
static size_t nsites;
static char codes[MAX_REGIONS * 4 + 1];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
}

/* Calls fn for every data line of an embedded CSV, with its header. */
static void each_line(const unsigned char *data, size_t len,
                      void (*fn)(const struct csv_row *hdr, const struct csv_row *row))
{
    static struct csv_row hdr, row;
    char line[4096];
    size_t pos = 0;
    int have_header = 0;
    while (pos < len) {
        size_t n = 0;
        while (pos < len && data[pos] != '\n' && n < sizeof(line) - 1)
            line[n++] = (char)data[pos++];
        pos++;
        line[n] = 0;
        struct csv_row *target = have_header ? &row : &hdr;
        if (csv_split(line, target) <= 0)
            continue;
        if (!have_header)
            have_header = 1;
        else
            fn(&hdr, &row);
    }
}

static const char *col(const struct csv_row *hdr, const struct csv_row *row, const char *name)
{
    int i = csv_column(hdr, name);
    if (i < 0 || (size_t)i >= row->nfields) {
        fprintf(stderr, "edgebench: embedded catalog lacks column %s\n", name);
        abort();
    }
    return row->fields[i];
}

static void add_region(const struct csv_row *hdr, const struct csv_row *row)
{
    if (nregions >= MAX_REGIONS)
        return;
    struct region *r = &regions[nregions];
    copy(r->code, sizeof(r->code), col(hdr, row, "code"));
    copy(r->city, sizeof(r->city), col(hdr, row, "city"));
    copy(r->country, sizeof(r->country), col(hdr, row, "country"));
    r->lat = strtod(col(hdr, row, "latitude"), NULL);
    r->lon = strtod(col(hdr, row, "longitude"), NULL);
    copy(r->flag, sizeof(r->flag), col(hdr, row, "flag"));
    copy(r->area, sizeof(r->area), col(hdr, row, "area"));
    r->index = nregions++;
}

static void add_site(const struct csv_row *hdr, const struct csv_row *row)
{
    if (nsites >= MAX_SITES)
        return;
    struct db_site *s = &sites[nsites++];
    copy(s->name, sizeof(s->name), col(hdr, row, "site"));
    copy(s->city, sizeof(s->city), col(hdr, row, "city"));
    s->lat = strtod(col(hdr, row, "latitude"), NULL);
    s->lon = strtod(col(hdr, row, "longitude"), NULL);
    copy(s->area, sizeof(s->area), col(hdr, row, "area"));
}

static void load(void)
{
    each_line(eb_data_regions, eb_data_regions_len, add_region);
    each_line(eb_data_db_sites, eb_data_db_sites_len, add_site);
    size_t off = 0;
    for (size_t i = 0; i < nregions; i++)
        off += (size_t)snprintf(codes + off, sizeof(codes) - off, "%s%s", i ? "," : "",
                                regions[i].code);
}

size_t catalog_region_count(void)
{
    pthread_once(&once, load);
    return nregions;
}

const struct region *catalog_region_at(size_t i)
{
    pthread_once(&once, load);
    return i < nregions ? &regions[i] : NULL;
}

const struct region *catalog_region(const char *code)
{
    pthread_once(&once, load);
    for (size_t i = 0; code && i < nregions; i++)
        if (!strcmp(regions[i].code, code))
            return &regions[i];
    return NULL;
}

size_t catalog_site_count(void)
{
    pthread_once(&once, load);
    return nsites;
}

const struct db_site *catalog_site_at(size_t i)
{
    pthread_once(&once, load);
    return i < nsites ? &sites[i] : NULL;
}

const struct db_site *catalog_site(const char *name)
{
    pthread_once(&once, load);
    for (size_t i = 0; name && i < nsites; i++)
        if (!strcmp(sites[i].name, name))
            return &sites[i];
    return NULL;
}

const char *catalog_region_codes(void)
{
    pthread_once(&once, load);
    return codes;
}

double catalog_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * 6371.0 * atan2(sqrt(a), sqrt(1 - a));
}
