/* Fuzzes the configuration values that come from the environment and flags:
 * each input line "NAME=VALUE" is applied with config_set, then the libpq
 * keyword arrays are built. */
#include "backend/config.h"

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
    struct backend_config c;
    config_init(&c);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        char err[512];
        (void)config_set(&c, line, eq + 1, err, sizeof(err));
    }
    config_finish(&c);
    struct conn_params p;
    config_conn_params(&c, "fuzz", &p);
    if (p.n > CONFIG_MAX_PARAMS || p.keys[p.n] || p.values[p.n])
        abort();
    char host[256];
    config_db_host(&c, host, sizeof(host));
    config_free(&c);
    free(text);
    return 0;
}
