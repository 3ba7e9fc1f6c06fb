/* Opening libpq connections from the configuration, and reading what a
 * failure means. */
#ifndef EB_BACKEND_PGCONN_H
#define EB_BACKEND_PGCONN_H

#include "backend/config.h"

#include <libpq-fe.h>
#include <stddef.h>

/* Connects with PQconnectdbParams. When statement_timeout_ms > 0 it is set
 * for the session. Returns the connection (status OK), or NULL with the
 * server's or libpq's message (one line) in err. */
PGconn *pgconn_open(const struct backend_config *c, const char *application_name,
                    long statement_timeout_ms, char *err, size_t errlen);

/* Applies the session settings again after PQreset. 0 or -1 (message in err). */
int pgconn_setup(PGconn *conn, long statement_timeout_ms, char *err, size_t errlen);

/* Copies msg into out as one line (newlines become "; ", trailing space cut). */
void pgconn_one_line(const char *msg, char *out, size_t outlen);

/* "15.20" from the server_version parameter (or "" when unknown). */
void pgconn_server_version(PGconn *conn, char *buf, size_t len);

#endif
