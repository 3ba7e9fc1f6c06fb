/* Libraries only some subcommands need (libcurl, SQLite, libmaxminddb,
 * libsodium) are opened with dlopen on first use instead of being linked:
 * the backend, which needs none of them, then neither maps nor relocates
 * them, and its idle resident memory stays small.
 *
 * Each src/dl/LIB.c defines the library's functions that edgebench calls,
 * under their own names, as thin wrappers over pointers resolved from the
 * library at the first call. Callers include the library's own header and
 * change nothing. A library that cannot be opened ends the program with
 * exit status 2 and a message naming the library and the package. */
#ifndef EB_DL_H
#define EB_DL_H

#include <stdatomic.h>
#include <stddef.h>

struct dl_sym {
    const char *name;
    void *slot; /* address of the function pointer to fill */
};

struct dl_lib {
    const char *soname;  /* e.g. "libcurl.so.4" */
    const char *package; /* the Debian package that ships it */
    const struct dl_sym *syms;
    size_t nsyms;
    atomic_int state; /* 0 not tried, 1 loaded, -1 failed (see error) */
    char error[512];
};

void dl_require_slow(struct dl_lib *lib);

/* Opens the library and fills every slot, once; exits 2 on failure. */
static inline void dl_require(struct dl_lib *lib)
{
    if (atomic_load_explicit(&lib->state, memory_order_acquire) != 1)
        dl_require_slow(lib);
}

/* 0 when the library is (or now gets) loaded, else -1 with the reason in
 * err; never exits. */
int dl_try(struct dl_lib *lib, char *err, size_t errlen);

/* For the lists in src/dl/LIB.c: F(ret, name, params, args) for a function
 * that returns a value, V(name, params, args) for a void one. */
#define DL_PTR_F(ret, name, params, args) static __typeof__(name) *dl_p_##name;
#define DL_PTR_V(name, params, args) static __typeof__(name) *dl_p_##name;
#define DL_SYM_F(ret, name, params, args) {#name, &dl_p_##name},
#define DL_SYM_V(name, params, args) {#name, &dl_p_##name},
#define DL_DEF_F(ret, name, params, args)                                                          \
    ret name params                                                                                \
    {                                                                                              \
        dl_require(&DL_THIS_LIB);                                                                  \
        return dl_p_##name args;                                                                   \
    }
#define DL_DEF_V(name, params, args)                                                               \
    void name params                                                                               \
    {                                                                                              \
        dl_require(&DL_THIS_LIB);                                                                  \
        dl_p_##name args;                                                                          \
    }

#endif
