/* libmaxminddb, opened on first use (see dl/dl.h): the proxy's GeoIP. */
#include "dl/dl.h"

#include <maxminddb.h>
#include <stdarg.h>

#ifndef EB_SONAME_MMDB
#define EB_SONAME_MMDB "libmaxminddb.so.0"
#endif

#define DL_THIS_LIB mmdb_lib

#define MMDB_FUNCS(F, V)                                                                           \
    F(int, MMDB_open, (const char *const file, uint32_t flags, MMDB_s *const db),                  \
      (file, flags, db))                                                                           \
    V(MMDB_close, (MMDB_s *const db), (db))                                                        \
    F(MMDB_lookup_result_s, MMDB_lookup_sockaddr,                                                  \
      (const MMDB_s *const db, const struct sockaddr *const sa, int *const err), (db, sa, err))    \
    F(int, MMDB_aget_value,                                                                        \
      (MMDB_entry_s *const start, MMDB_entry_data_s *const data, const char *const *const path),   \
      (start, data, path))                                                                         \
    F(const char *, MMDB_strerror, (int code), (code))

MMDB_FUNCS(DL_PTR_F, DL_PTR_V)
static const struct dl_sym syms[] = {MMDB_FUNCS(DL_SYM_F, DL_SYM_V)};
static struct dl_lib mmdb_lib = {.soname = EB_SONAME_MMDB,
                                 .package = "libmaxminddb0",
                                 .syms = syms,
                                 .nsyms = sizeof(syms) / sizeof(syms[0])};
MMDB_FUNCS(DL_DEF_F, DL_DEF_V)

/* The variadic form takes the path as NULL-terminated arguments; collect
 * them (as libmaxminddb itself does) and call the array form. */
#define MAX_PATH_DEPTH 32

int MMDB_get_value(MMDB_entry_s *const start, MMDB_entry_data_s *const data, ...)
{
    const char *path[MAX_PATH_DEPTH + 1];
    size_t n = 0;
    va_list ap;
    va_start(ap, data);
    for (const char *p; (p = va_arg(ap, const char *)) != NULL;) {
        if (n == MAX_PATH_DEPTH) {
            va_end(ap);
            return MMDB_INVALID_LOOKUP_PATH_ERROR;
        }
        path[n++] = p;
    }
    va_end(ap);
    path[n] = NULL;
    return MMDB_aget_value(start, data, path);
}
