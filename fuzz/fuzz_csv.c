/* Fuzzes the CSV line splitter used by every CSV input (targets, RTT files, geo CSV). */
#include "core/csv.h"

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
    struct csv_row row;
    int n = csv_split(line, &row);
    for (int i = 0; i < n; i++)
        (void)strlen(row.fields[i]);
    free(line);
    return 0;
}
