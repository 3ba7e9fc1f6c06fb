/* Fuzzes the rewriting of `edgebench lab --db URL` for the backends: any
 * string libpq accepts must come back with the same options, except the
 * address and port, which become the link's. */
#include "lab/dburl.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *value(const PQconninfoOption *o, const char *key)
{
    for (; o && o->keyword; o++)
        if (!strcmp(o->keyword, key))
            return o->val && *o->val ? o->val : NULL;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    char out[8192];
    PQconninfoOption *in = NULL, *back = NULL;
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = 0;
    in = PQconninfoParse(url, NULL);
    if (dburl_rewrite(url, "127.0.0.1", 40001, out, sizeof(out)) < 0)
        goto cleanup;
    back = PQconninfoParse(out, NULL);
    if (!in || !back)
        abort();
    for (const PQconninfoOption *o = in; o->keyword; o++) {
        const char *a = value(in, o->keyword), *b = value(back, o->keyword);
        if (!strcmp(o->keyword, "hostaddr") || !strcmp(o->keyword, "port"))
            continue;
        if ((a == NULL) != (b == NULL) || (a && strcmp(a, b)))
            abort();
    }
    if (strcmp(value(back, "hostaddr"), "127.0.0.1") || strcmp(value(back, "port"), "40001"))
        abort();
cleanup:
    PQconninfoFree(in);
    PQconninfoFree(back);
    free(url);
    return 0;
}
