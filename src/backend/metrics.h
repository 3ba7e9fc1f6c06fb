/* Prometheus metrics of the backend. Used from the event-loop thread only. */
#ifndef EB_BACKEND_METRICS_H
#define EB_BACKEND_METRICS_H

#include "backend/bench.h"

#include <event2/buffer.h>
#include <stddef.h>

enum endpoint { EP_BENCHMARK, EP_HEALTH, EP_INFO, EP_METRICS, EP_HEALTHZ, EP_OTHER, EP_COUNT };

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
const char *metrics_endpoint_path(enum endpoint e);
void metrics_count_request(struct metrics *m, enum endpoint e, int status);
unsigned long long metrics_requests_total(const struct metrics *m);
/* Adds a benchmark's samples and errors to the histograms. */
void metrics_observe(struct metrics *m, const struct bench_result *r);
/* Writes the text exposition format. db_up: 1, 0, or -1 unknown/disabled. */
int metrics_render(const struct metrics *m, struct evbuffer *out, int db_up, size_t busy,
                   size_t max_bench, double uptime_s);

#endif
