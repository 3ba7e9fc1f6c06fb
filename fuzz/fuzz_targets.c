/* Fuzzes the targets-file parser of `edgebench run` (CSV and overlay plan JSON). */
#include "collect/targets.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct target_list list = {0};
    char err[1024];
    if (targets_parse_buffer(&list, (const char *)data, size, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < list.n; i++)
            (void)strlen(list.items[i].url);
    } else {
        (void)strlen(err);
    }
    targets_free(&list);
    return 0;
}
