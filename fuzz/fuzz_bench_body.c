/* Fuzzes the benchmark's request-body parser (form or JSON, outside input from
 * any HTTP client). The first byte picks the Content-Type; the rest is the body,
 * with the query string "iterations=5" so the merge is exercised too. */
#include "backend/query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"application/json", "application/x-www-form-urlencoded",
                                        "text/plain", NULL};
    if (size < 1)
        return 0;
    const char *ctype = types[data[0] % 4];
    struct bench_params p;
    char err[256], param[64];
    int rc =
        query_parse_request((data[0] & 4) ? "iterations=5" : NULL, ctype, (const char *)data + 1,
                            size - 1, &p, err, sizeof(err), param, sizeof(param));
    if (rc == 0) {
        if (p.iterations < 1 || p.iterations > 100 || p.warmup < 0 || p.warmup > 20)
            abort();
        (void)query_mode_name(p.mode);
        (void)query_read_name(p.read);
    } else if ((rc != 400 && rc != 415 && rc != 500) || !err[0] || strlen(err) >= sizeof(err) ||
               strlen(param) >= sizeof(param)) {
        abort();
    }
    return 0;
}
