/* Fuzzes the lab state-file line parser (what `edgebench lab cleanup` reads). */
#include "netlab/nlstate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = 0;
    char kind[16], value[512];
    if (nlstate_parse_line(line, kind, sizeof(kind), value, sizeof(value)) == 0)
        (void)strlen(value);
    free(line);
    return 0;
}
