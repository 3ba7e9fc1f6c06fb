/* SQLite, opened on first use (see dl/dl.h): the proxy's routing table. */
#include "dl/dl.h"

#include <sqlite3.h>

#ifndef EB_SONAME_SQLITE
#define EB_SONAME_SQLITE "libsqlite3.so.0"
#endif

#define DL_THIS_LIB sqlite_lib

#define SQLITE_FUNCS(F, V)                                                                         \
    F(int, sqlite3_open_v2, (const char *file, sqlite3 **db, int flags, const char *vfs),          \
      (file, db, flags, vfs))                                                                      \
    F(int, sqlite3_close, (sqlite3 * db), (db))                                                    \
    F(int, sqlite3_busy_timeout, (sqlite3 * db, int ms), (db, ms))                                 \
    F(const char *, sqlite3_errmsg, (sqlite3 * db), (db))                                          \
    F(int, sqlite3_exec,                                                                           \
      (sqlite3 * db, const char *sql, int (*cb)(void *, int, char **, char **), void *arg,         \
       char **err),                                                                                \
      (db, sql, cb, arg, err))                                                                     \
    F(int, sqlite3_prepare_v2,                                                                     \
      (sqlite3 * db, const char *sql, int n, sqlite3_stmt **st, const char **tail),                \
      (db, sql, n, st, tail))                                                                      \
    F(int, sqlite3_bind_text, (sqlite3_stmt * st, int i, const char *s, int n, void (*d)(void *)), \
      (st, i, s, n, d))                                                                            \
    F(int, sqlite3_step, (sqlite3_stmt * st), (st))                                                \
    F(const unsigned char *, sqlite3_column_text, (sqlite3_stmt * st, int i), (st, i))             \
    F(int, sqlite3_finalize, (sqlite3_stmt * st), (st))                                            \
    F(sqlite3_int64, sqlite3_last_insert_rowid, (sqlite3 * db), (db))                              \
    F(int, sqlite3_changes, (sqlite3 * db), (db))                                                  \
    V(sqlite3_free, (void *p), (p))

SQLITE_FUNCS(DL_PTR_F, DL_PTR_V)
static const struct dl_sym syms[] = {SQLITE_FUNCS(DL_SYM_F, DL_SYM_V)};
static struct dl_lib sqlite_lib = {.soname = EB_SONAME_SQLITE,
                                   .package = "libsqlite3-0",
                                   .syms = syms,
                                   .nsyms = sizeof(syms) / sizeof(syms[0])};
SQLITE_FUNCS(DL_DEF_F, DL_DEF_V)
