/* Link specifications of `edgebench wan`: one link is written as flags
 * (`--listen ADDR:PORT --to ADDR:PORT --rtt 80ms [--jitter 2ms] [--loss 0.1%]
 * [--rate 100mbit] [--udp] [--name NAME]`), on the command line or as one line
 * of a --links file. Parsing is pure (no sockets, no name resolution) so it can
 * be unit tested and fuzzed. */
#ifndef EB_WAN_LINKS_H
#define EB_WAN_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAN_HOST_MAX 256
#define WAN_NAME_MAX 64
#define WAN_ERR_MAX 512

struct wan_link_spec {
    char listen_host[WAN_HOST_MAX]; /* empty: every address */
    uint16_t listen_port;
    char to_host[WAN_HOST_MAX];
    uint16_t to_port;
    char name[WAN_NAME_MAX]; /* --name, or "" */
    double rtt_ms;           /* round trip; half is applied each way */
    double jitter_ms;        /* extra delay in [0, jitter] each way */
    double loss_pct;         /* 0..100 */
    double rate_bps;         /* 0: unlimited */
    bool udp;
};

/* Parses one link from flags (argv holds only the flags, no program name).
 * Returns 0, or -1 with a message in err naming the bad flag or value. */
int wan_links_parse_args(int argc, char **argv, struct wan_link_spec *out, char *err,
                         size_t errlen);

/* Parses one line of a --links file. Returns 1 when a link was parsed, 0 for
 * a blank or comment ('#') line, -1 with a message in err on a bad line. */
int wan_links_parse_line(const char *line, struct wan_link_spec *out, char *err, size_t errlen);

/* Parses a whole --links file held in memory (need not be NUL-terminated).
 * On success *out holds *count links (free() it; may be NULL when count is 0).
 * On error returns -1 with err naming the line number and the reason, and
 * leaves *out NULL. Also rejects two links with the same listen address. */
int wan_links_parse_text(const char *text, size_t len, struct wan_link_spec **out, size_t *count,
                         char *err, size_t errlen);

#endif
