#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_LEVEL_INFO;
static char component[64] = "edgebench";

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

void log_set_component(const char *name)
{
    snprintf(component, sizeof(component), "%s", name ? name : "edgebench");
}

void log_write(enum log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > current_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* the date and time to the second, formatted once per second per
     * thread: a busy backend logs every request */
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[64];
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(cached, sizeof(cached), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_sec = ts.tv_sec;
    }
    char line[2048];
    long ms = ts.tv_nsec / 1000000;
    int n = snprintf(line, sizeof(line), "%s.%c%c%cZ %s %s: ", cached, (char)('0' + ms / 100),
                     (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), component, names[level]);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    if ((size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* one write per line so concurrent processes do not interleave */
    size_t len = strnlen(line, sizeof(line) - 2);
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
    fflush(stderr);
}
