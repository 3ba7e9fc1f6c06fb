/* Small helpers shared by the subcommands' option parsing. */
#ifndef EB_CORE_CLI_H
#define EB_CORE_CLI_H

#include <stdbool.h>

/* "-h", "--help" or "help". */
bool cli_is_help(const char *arg);

/* Value of an environment variable, or NULL when unset or empty. */
const char *cli_env(const char *name);

#endif
