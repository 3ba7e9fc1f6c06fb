/* Country centroids (data/countries.csv, embedded in the binary): where a
 * client of a given ISO 3166-1 alpha-2 country is assumed to be. */
#ifndef EB_CORE_COUNTRIES_H
#define EB_CORE_COUNTRIES_H

#include <stddef.h>

struct country {
    char code[3]; /* "GB" */
    double lat, lon;
    char name[48];
};

size_t countries_count(void);
const struct country *countries_at(size_t i);
/* Lookup by code, case-insensitive ("gb" finds GB); NULL when unknown. */
const struct country *countries_find(const char *code);

#endif
