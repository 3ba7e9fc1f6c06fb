/* Fuzzes the `edgebench lab --rtt-file` parser (region,rtt_ms lines). */
#include "lab/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct profile prof;
    struct profile_parser p;
    char line[4096];
    profile_parser_init(&p, &prof);
    size_t pos = 0;
    while (pos < size) {
        size_t n = 0;
        while (pos < size && data[pos] != '\n' && n < sizeof(line) - 1)
            line[n++] = (char)data[pos++];
        pos++;
        line[n] = 0;
        if (profile_parser_line(&p, line) < 0)
            return 0;
    }
    if (profile_parser_finish(&p) == 0)
        for (size_t i = 0; i < prof.n; i++)
            if (prof.entry[i].rtt_ms < 0 || !prof.entry[i].region)
                abort();
    return 0;
}
