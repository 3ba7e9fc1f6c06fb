/* `edgebench lab --db URL`: an existing PostgreSQL reached through the WAN
 * links. The URL (a libpq URI or conninfo string) is parsed with libpq; the
 * backends get the same options with the address replaced by their link's. */
#ifndef EB_LAB_DBURL_H
#define EB_LAB_DBURL_H

#include "lab/links.h"

#include <stddef.h>

/* Where the server named by url accepts TCP (host resolved to a numeric
 * address; PGHOST/PGPORT and port 5432 as libpq would default them). -1 with
 * a message in err (never containing the password). */
int dburl_endpoint(const char *url, struct lab_db_endpoint *out, char *err, size_t errlen);

/* A libpq URI with every option of url, except that the connection goes to
 * hostaddr:port (the original host name is kept as `host` for TLS
 * verification). Values are percent-encoded. -1 when out is too small or url
 * does not parse. */
int dburl_rewrite(const char *url, const char *hostaddr, unsigned port, char *out, size_t outlen);

#endif
