/* Fuzzes the benchmark's query-string parser (outside input from any HTTP client). */
#include "backend/query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    if (!q)
        return 0;
    memcpy(q, data, size);
    q[size] = 0;
    struct bench_params p;
    char err[256], param[64];
    if (query_parse(q, &p, err, sizeof(err), param, sizeof(param)) == 0) {
        if (p.iterations < 1 || p.iterations > 100 || p.warmup < 0 || p.warmup > 20)
            abort();
        (void)query_mode_name(p.mode);
        (void)query_read_name(p.read);
    } else if (!err[0] || strlen(err) >= sizeof(err) || strlen(param) >= sizeof(param)) {
        abort();
    }
    free(q);
    return 0;
}
