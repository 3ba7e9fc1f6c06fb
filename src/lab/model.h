/* The lab's world: how far (in round-trip milliseconds) each region is from
 * the database site. Either the distance model or a profile of RTTs. */
#ifndef EB_LAB_MODEL_H
#define EB_LAB_MODEL_H

#include "core/catalog.h"

#include <stdbool.h>
#include <stddef.h>

/* RTT = MODEL_BASE_MS + (2 x great-circle km / MODEL_KM_PER_MS) x k, where k
 * is the path factor below (routes are longer than great circles, and
 * some cross more networks). */
#define MODEL_BASE_MS 2.0
#define MODEL_KM_PER_MS 200.0 /* light in fibre: about 2/3 of c */
#define MODEL_K_TRANSATLANTIC 1.5
#define MODEL_K_ASIA_EUROPE 2.2
#define MODEL_K_DEFAULT 1.8

/* Path factor k between two catalog areas ("eu", "na", "sa", "ap", "af"):
 * 1.5 when one end is in Europe and the other in North or South America,
 * 2.2 when one end is in Europe and the other in Asia-Pacific (Asia and
 * Oceania), 1.8 for every other pair (including two ends in one area). */
double model_path_factor(const char *area_a, const char *area_b);

/* The model's RTT in milliseconds between a region and a database site. */
double model_rtt_ms(const struct region *r, const struct db_site *site);

/* A profile: an RTT per region, in the order given. */
#define PROFILE_MAX 128

struct profile {
    size_t n;
    struct {
        const struct region *region;
        double rtt_ms;
    } entry[PROFILE_MAX];
};

/* Streaming parser of a "region,rtt_ms" CSV: an optional header line
 * "region,rtt_ms", '#' comments and blank lines; each region once, a code of
 * the catalog; rtt_ms a decimal number in 0..10000. */
struct profile_parser {
    struct profile *out;
    size_t line;     /* lines fed so far */
    bool data_seen;  /* a header is only accepted before any data */
    char error[256]; /* set when a call returns -1: "line 3: ..." */
};

void profile_parser_init(struct profile_parser *p, struct profile *out);
/* Feeds one line (with or without its newline). 0, or -1 with p->error. */
int profile_parser_line(struct profile_parser *p, const char *line);
/* After the last line: -1 with p->error when the profile is empty. */
int profile_parser_finish(struct profile_parser *p);

/* Loads a profile file; on error writes "FILE: line N: why" into err. */
int profile_load_file(const char *path, struct profile *out, char *err, size_t errlen);

/* The seed's Read column is its read_min_ms: one round trip plus RDS's own
 * time for SELECT COUNT(*). Across the seed's table insert - 2 x read is
 * about 0.7 ms (= insert server time - 2 x read server time), which puts the
 * read's server time at about half a millisecond. The lab's read adds its
 * own server's time back, so the emulated RTT is the column less this. */
#define MODEL_SEED_SERVER_MS 0.5

/* The seed profile: data/profile_seed.csv holds the seed's published Read
 * column (London 11.89 ms ... Sydney 268.85 ms); each RTT is that value less
 * MODEL_SEED_SERVER_MS. */
int profile_load_seed(struct profile *out);

/* The RTT of a region in a profile; -1 when the profile lacks it. */
double profile_rtt_ms(const struct profile *p, const struct region *r);

#endif
