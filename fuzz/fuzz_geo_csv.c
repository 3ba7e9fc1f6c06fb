/* Fuzzes the geo CSV parser (cidr,country lines) fed line by line. */
#include "proxy/geo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct geo_csv c;
    geo_csv_init(&c);
    char err[256];
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (geo_csv_line(&c, line, err, sizeof(err)) < 0 && strlen(err) == 0)
            abort(); /* every rejection explains itself */
    geo_csv_free(&c);
    /* the CIDR parser alone, on the raw input */
    int fam;
    uint8_t addr[16];
    unsigned prefix;
    if (geo_parse_cidr(text, false, &fam, addr, &prefix) == 0 &&
        (prefix > (fam == AF_INET ? 32u : 128u)))
        abort();
    free(text);
    return 0;
}
