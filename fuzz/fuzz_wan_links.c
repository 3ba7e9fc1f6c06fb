/* Fuzzes the parser of `edgebench wan --links FILE` (and so every link flag). */
#include "wan/links.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wan_link_spec *links = NULL;
    size_t n = 0;
    char err[WAN_ERR_MAX];
    if (wan_links_parse_text((const char *)data, size, &links, &n, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < n; i++)
            if (links[i].loss_pct < 0 || links[i].loss_pct > 100 || links[i].rtt_ms < 0 ||
                links[i].jitter_ms < 0 || !links[i].to_port || !links[i].listen_port)
                abort();
    } else if (!memchr(err, 0, sizeof(err)) || !err[0]) {
        abort();
    }
    free(links);
    return 0;
}
