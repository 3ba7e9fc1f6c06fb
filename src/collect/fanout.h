/* Asks every target at once from one event loop (libcurl multi driven by
 * curl_multi_poll) and fills the result model, one region per target, in
 * target order. Connection failures (refused, unresolvable, connect timed
 * out) and 429 are retried with exponential backoff; anything that may have
 * reached the backend is not. */
#ifndef EB_COLLECT_FANOUT_H
#define EB_COLLECT_FANOUT_H

#include "collect/result.h"
#include "collect/targets.h"

#include <stdbool.h>

struct fanout_opts {
    long iterations, warmup, retries, rounds;
    const char *mode, *read;  /* passed to the backends as given */
    double timeout_s;         /* whole request, per attempt */
    double connect_timeout_s; /* TCP (and TLS) connect */
    const char *via;          /* ask through this URL instead (geo proxy) */
    const char *token;        /* default bearer token; never logged */
    bool progress;            /* live lines on stderr (a terminal) */
    bool verbose;             /* one log line per event */
};

/* Returns 0 when it ran (regions may have failed), -1 on a local failure
 * (out of memory, libcurl could not start) with err set. */
int fanout_run(const struct target_list *targets, const struct fanout_opts *opts,
               struct run_result *res, char *err, size_t errlen);

/* The request URL for one base URL: /api/rds/benchmark appended when the
 * URL has no path, then the query. Caller frees with curl_free(). */
char *fanout_request_url(const char *base, const struct fanout_opts *opts);

#endif
