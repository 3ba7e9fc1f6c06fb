/* The targets the collector asks: a CSV file (header region,url,location,flag
 * with optional token and expected_rtt_ms), the overlay's plan.json, or
 * --target REGION=URL flags. Every entry is validated before anything runs. */
#ifndef EB_COLLECT_TARGETS_H
#define EB_COLLECT_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

struct target {
    char region[32];
    char url[512];
    char location[64];
    char flag[32];
    char *token;            /* NULL when the target has none; never logged */
    double expected_rtt_ms; /* NAN when unknown */
    int line;               /* line in the targets file, 0 for a flag */
};

struct target_list {
    struct target *items;
    size_t n, cap;
};

/* Streaming CSV parser: init, one call per line, finish. Errors are written
 * into err ("LINE N: reason") and make the call return -1. */
struct targets_parser {
    struct target_list *list;
    int lineno;
    bool have_header;
    int col_region, col_url, col_location, col_flag, col_token, col_rtt;
    size_t ncols;
};

void targets_parser_init(struct targets_parser *p, struct target_list *list);
int targets_parser_line(struct targets_parser *p, const char *line, char *err, size_t errlen);
int targets_parser_finish(struct targets_parser *p, char *err, size_t errlen);

/* Parses a whole buffer: CSV, or JSON when it starts with '{' (the overlay
 * plan). Returns 0 or -1 with err set ("line N: ..."). */
int targets_parse_buffer(struct target_list *list, const char *buf, size_t len, char *err,
                         size_t errlen);
/* Reads FILE and parses it; err names the file and the line. */
int targets_load_file(struct target_list *list, const char *path, char *err, size_t errlen);
/* "REGION=URL" from a --target flag. */
int targets_add_flag(struct target_list *list, const char *arg, char *err, size_t errlen);

/* Checks a URL: http or https, a host, no spaces. 0 or -1 with err. */
int targets_check_url(const char *url, char *err, size_t errlen);

bool targets_have_expected_rtt(const struct target_list *list);
void targets_free(struct target_list *list);

#endif
