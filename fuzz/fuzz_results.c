/* Fuzzes the results.json loader of `edgebench report` and renders what it
 * accepts, so every renderer meets hostile but well-formed models. */
#include "collect/result.h"
#include "report/csvout.h"
#include "report/html.h"
#include "report/md.h"
#include "report/svg.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    char err[512];
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return 0;
    struct run_result *res = result_from_json(root, err, sizeof(err));
    json_decref(root);
    if (!res)
        return 0;
    FILE *f = fopen("/dev/null", "w");
    if (f) {
        md_render(f, res);
        csvout_render(f, res);
        svg_render(f, res, true);
        html_render(f, res);
        fclose(f);
    }
    result_free(res);
    return 0;
}
