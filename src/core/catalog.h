/* The region catalog (data/regions.csv) and the database sites
 * (data/db_sites.csv), both embedded in the binary. Read-only after load. */
#ifndef EB_CORE_CATALOG_H
#define EB_CORE_CATALOG_H

#include <stddef.h>

struct region {
    char code[8];    /* Fly.io region code: "lhr" */
    char city[64];   /* "London" */
    char country[3]; /* ISO 3166-1 alpha-2: "GB" */
    double lat, lon; /* degrees */
    char flag[16];   /* UTF-8 emoji flag */
    char area[4];    /* "sa", "na", "eu", "ap", "af" */
    size_t index;    /* position in the catalog */
};

struct db_site {
    char name[24]; /* "eu-west-1" */
    char city[64]; /* "Dublin" */
    double lat, lon;
    char area[4];
};

/* The catalog, in file order. */
size_t catalog_region_count(void);
const struct region *catalog_region_at(size_t i);
/* Lookup by code (case-sensitive, lower case); NULL when unknown. */
const struct region *catalog_region(const char *code);

size_t catalog_site_count(void);
const struct db_site *catalog_site_at(size_t i);
const struct db_site *catalog_site(const char *name);

/* Great-circle distance in km (haversine, mean Earth radius 6371 km). */
double catalog_distance_km(double lat1, double lon1, double lat2, double lon2);

/* Comma-separated list of every region code, for messages ("gru,iad,..."). */
const char *catalog_region_codes(void);

#endif
