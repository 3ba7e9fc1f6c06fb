/* Strict parsers for values that come from users (flags, env, query strings).
 * Each returns 0 on success and -1 when the text is not a valid value; the
 * output is written only on success. No parser accepts leading or trailing
 * spaces, a sign where none is allowed, exponents or hex. */
#ifndef EB_CORE_PARSE_H
#define EB_CORE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal integer in [min, max]: "10" yes; "abc", "1e3", "0x1", " 1", "1 " no. */
int parse_long(const char *s, long min, long max, long *out);

/* Decimal number, optional fraction ("2.5"), in [min, max]; no exponent. */
int parse_double(const char *s, double min, double max, double *out);

/* Duration into milliseconds: "80ms", "1.5s", "250us", "2m", or a bare
 * number meaning `bare_unit_ms` milliseconds per unit. Never negative. */
int parse_duration_ms(const char *s, double bare_unit_ms, double *out_ms);

/* Percentage: "0.1%", "5%", or a bare fraction-of-100 number ("0.1"); 0..100. */
int parse_percent(const char *s, double *out_percent);

/* Rate into bits per second: "100mbit", "1gbit", "500kbit", "1000bit". */
int parse_rate_bps(const char *s, double *out_bps);

/* "HOST:PORT", "[v6]:PORT" or ":PORT" (host empty). host gets a copy (<= hostlen). */
int parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);

/* "yes/no/true/false/1/0/on/off". */
int parse_bool(const char *s, bool *out);

#endif
