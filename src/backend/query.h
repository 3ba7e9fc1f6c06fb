/* The benchmark's parameters: iterations, mode, read, warmup, from the query
 * string or the request body. Strict: a bad, unknown, empty or repeated
 * parameter is an error naming it, never a silent default. */
#ifndef EB_BACKEND_QUERY_H
#define EB_BACKEND_QUERY_H

#include <stddef.h>

enum bench_mode { MODE_SIMPLE, MODE_EXTENDED, MODE_PREPARED, MODE_PIPELINE, MODE_COMPAT2RTT };
enum read_kind { READ_COUNT, READ_PK };

struct bench_params {
    long iterations;      /* 1..100, default 10 */
    enum bench_mode mode; /* default extended */
    enum read_kind read;  /* default count */
    long warmup;          /* 0..20, default 1 */
};

void query_defaults(struct bench_params *p);

/* Parses "a=1&b=2" (NULL or "" = defaults). Percent-escapes and '+' are
 * decoded. Returns 0, or -1 with err (a sentence) and param (the name of the
 * offending parameter) filled. */
int query_parse(const char *query, struct bench_params *out, char *err, size_t errlen, char *param,
                size_t paramlen);

/* The parameters of one request: the query string and, when the body is not
 * empty, the body: application/x-www-form-urlencoded (the same strict rules)
 * or application/json (an object with "iterations" and "warmup" as JSON
 * integers, "mode" and "read" as strings). A parameter in both places must
 * have the same value. Returns 0, or the HTTP status of the error (400; 415
 * for a body of another or no Content-Type; 500 out of memory) with err and
 * param ("body" when the body as a whole is wrong) filled. */
int query_parse_request(const char *query, const char *content_type, const char *body,
                        size_t bodylen, struct bench_params *out, char *err, size_t errlen,
                        char *param, size_t paramlen);

const char *query_mode_name(enum bench_mode m);
const char *query_read_name(enum read_kind k);

#endif
