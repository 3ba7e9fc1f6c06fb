#include "core/countries.h"

#include "core/csv.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char eb_data_countries[];
extern const size_t eb_data_countries_len;

#define MAX_COUNTRIES 300

static struct country table[MAX_COUNTRIES];
static size_t ncountries;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    static struct csv_row hdr, row;
    char line[512];
    size_t pos = 0, len = eb_data_countries_len;
    int have_header = 0, ci = -1, la = -1, lo = -1, na = -1;
    while (pos < len && ncountries < MAX_COUNTRIES) {
        size_t n = 0;
        while (pos < len && eb_data_countries[pos] != '\n' && n < sizeof(line) - 1)
            line[n++] = (char)eb_data_countries[pos++];
        pos++;
        line[n] = 0;
        struct csv_row *r = have_header ? &row : &hdr;
        if (csv_split(line, r) <= 0)
            continue;
        if (!have_header) {
            have_header = 1;
            ci = csv_column(&hdr, "code");
            la = csv_column(&hdr, "latitude");
            lo = csv_column(&hdr, "longitude");
            na = csv_column(&hdr, "name");
            if (ci < 0 || la < 0 || lo < 0) {
                fprintf(stderr,
                        "edgebench: embedded countries.csv lacks code/latitude/longitude\n");
                abort();
            }
            continue;
        }
        if ((size_t)ci >= row.nfields || (size_t)la >= row.nfields || (size_t)lo >= row.nfields)
            continue;
        struct country *c = &table[ncountries++];
        snprintf(c->code, sizeof(c->code), "%s", row.fields[ci]);
        c->lat = strtod(row.fields[la], NULL);
        c->lon = strtod(row.fields[lo], NULL);
        snprintf(c->name, sizeof(c->name), "%s",
                 na >= 0 && (size_t)na < row.nfields ? row.fields[na] : "");
    }
}

size_t countries_count(void)
{
    pthread_once(&once, load);
    return ncountries;
}

const struct country *countries_at(size_t i)
{
    pthread_once(&once, load);
    return i < ncountries ? &table[i] : NULL;
}

const struct country *countries_find(const char *code)
{
    pthread_once(&once, load);
    if (!code || strlen(code) != 2)
        return NULL;
    char up[3] = {(char)toupper((unsigned char)code[0]), (char)toupper((unsigned char)code[1]), 0};
    for (size_t i = 0; i < ncountries; i++)
        if (!strcmp(table[i].code, up))
            return &table[i];
    return NULL;
}
