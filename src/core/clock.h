/* Monotonic time for measurements; wall-clock time for reports. */
#ifndef EB_CORE_CLOCK_H
#define EB_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double clock_ns_to_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* Current UTC time as RFC 3339 ("2025-12-07T15:48:02Z") into buf (>= 21 bytes). */
void clock_rfc3339(char *buf, size_t len);

#endif
