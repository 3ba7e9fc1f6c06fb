/* Fuzzes the wg-quick config reader of the overlay lab (Address, MTU, AllowedIPs...). */
#include "netlab/nlwgconf.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nlwg_conf c;
    char err[256];
    if (nlwgconf_parse((const char *)data, size, &c, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < c.n_peers; i++)
            for (size_t j = 0; j < c.peers[i].n_allowed; j++)
                (void)nlwgconf_cidr_within(&c.peers[i].allowed[j], &c.addrs[0]);
        nlwgconf_free(&c);
    } else {
        (void)strlen(err);
    }
    return 0;
}
