/* `edgebench lab` options and the plan they resolve to: which regions, at
 * what RTT from which database site. */
#ifndef EB_LAB_OPTIONS_H
#define EB_LAB_OPTIONS_H

#include "core/catalog.h"
#include "lab/model.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* How the backends reach the database (see links.h). LAB_OVERLAY_AUTO is
 * resolved to one of the other two before the links are set up. */
enum lab_overlay { LAB_OVERLAY_NONE, LAB_OVERLAY_WIREGUARD, LAB_OVERLAY_AUTO };

/* Where the RTTs come from. */
enum lab_profile { LAB_PROFILE_MODEL, LAB_PROFILE_SEED, LAB_PROFILE_FILE };

struct lab_options {
    enum lab_overlay overlay;
    const char *topology; /* --overlay wireguard: "hub" or "mesh"; NULL: hub */
    enum lab_profile profile;
    const char *rtt_file; /* LAB_PROFILE_FILE */
    const char *db_site;  /* catalog site name; default eu-west-1 */
    const char *db_url;   /* --db: an existing server; NULL for a throwaway one */
    const char *out;      /* NULL: results-YYYYmmdd-HHMMSS */
    const char *regions;  /* "a,b,c"; NULL for the default set */
    bool all, keep, verbose, dry_run;
    bool proxy;              /* --proxy: check geo-routing through `edgebench proxy` */
    long iterations, rounds; /* 0: the collector's default */
    const char *mode;        /* NULL: the collector's default */
    const char *read;        /* NULL: the collector's default */
};

/* The seed's ten regions, the default set. */
#define LAB_DEFAULT_REGIONS "lhr,cdg,fra,iad,ord,lax,sin,gru,nrt,syd"
#define LAB_DEFAULT_DB_SITE "eu-west-1"

/* Parses argv (argv[0] is "lab"). Returns 0, 1 when --help was asked, or -1
 * with a message naming the bad input in err (a usage error: exit 2). The
 * options point into argv. */
int lab_options_parse(int argc, char **argv, struct lab_options *o, char *err, size_t errlen);

void lab_options_usage(FILE *f);

const char *lab_overlay_name(enum lab_overlay overlay);

struct lab_region {
    const struct region *region;
    double rtt_ms; /* the emulated round trip to the database */
};

struct lab_plan {
    const struct db_site *site;
    char profile_name[64]; /* "model", "seed" or "file:NAME" */
    size_t n;
    struct lab_region regions[PROFILE_MAX];
};

/* Resolves the regions and their RTTs. -1 with a message in err when a
 * region is unknown, repeated, or has no RTT in the chosen profile. */
int lab_plan_build(const struct lab_options *o, struct lab_plan *plan, char *err, size_t errlen);

#endif
