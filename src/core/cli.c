#include "core/cli.h"

#include <stdlib.h>
#include <string.h>

bool cli_is_help(const char *arg)
{
    return arg && (!strcmp(arg, "-h") || !strcmp(arg, "--help") || !strcmp(arg, "help"));
}

const char *cli_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}
