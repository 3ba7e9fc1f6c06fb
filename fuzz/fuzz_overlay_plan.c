/* Fuzzes the overlay plan parser (DIR/plan.json) and the checks that run on
 * whatever it accepts, then re-parses the dumped plan. */
#include "overlay/check.h"
#include "overlay/plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct plan p, q;
    char err[512];
    if (plan_parse((const char *)data, size, &p, err, sizeof(err)))
        return 0;
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        check_plan(&p, NULL, devnull);
        fclose(devnull);
    }
    char *text = plan_dump(&p);
    if (text) {
        if (plan_parse(text, strlen(text), &q, err, sizeof(err)))
            abort(); /* a dumped plan must always parse again */
        free(text);
    }
    return 0;
}
