/* Fuzzes the PROXY protocol v1/v2 parser (bytes from a trusted upstream). */
#include "proxy/pp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy so ASan catches any read past the end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    struct pp_header h;
    int n = pp_parse(buf, size, &h);
    if (n > 0) {
        if ((size_t)n > size)
            abort();
        /* a parsed header re-encodes and parses again to the same addresses */
        uint8_t out[128];
        if (!h.local) {
            int m =
                pp_write_v2((struct sockaddr *)&h.src, (struct sockaddr *)&h.dst, out, sizeof(out));
            struct pp_header h2;
            if (m <= 0 || pp_parse(out, (size_t)m, &h2) != m || h2.local ||
                h2.src.ss_family != h.src.ss_family)
                abort();
        }
    }
    /* every prefix of the input gives "need more" or the same verdict */
    for (size_t k = 0; k < size && k < 64; k++) {
        struct pp_header hk;
        int r = pp_parse(buf, k, &hk);
        if (r > 0 && n != r)
            abort();
    }
    free(buf);
    return 0;
}
