#include "dl/dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* One open per library; the handle is never closed (the process needs the
 * library until it ends). */
static int open_all(struct dl_lib *lib)
{
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(lib->error, sizeof(lib->error), "%s", e ? e : "unknown error");
        return -1;
    }
    for (size_t i = 0; i < lib->nsyms; i++) {
        dlerror();
        void *f = dlsym(h, lib->syms[i].name);
        if (!f) {
            snprintf(lib->error, sizeof(lib->error), "%s has no function %s; is it too old?",
                     lib->soname, lib->syms[i].name);
            return -1;
        }
        /* ISO C has no object-to-function pointer conversion; POSIX
         * guarantees the representation, so copy the bytes */
        memcpy(lib->syms[i].slot, &f, sizeof(f));
    }
    return 0;
}

int dl_try(struct dl_lib *lib, char *err, size_t errlen)
{
    pthread_mutex_lock(&lock);
    int st = atomic_load_explicit(&lib->state, memory_order_relaxed);
    if (st == 0) {
        st = open_all(lib) == 0 ? 1 : -1;
        atomic_store_explicit(&lib->state, st, memory_order_release);
    }
    if (st < 0 && err)
        snprintf(err, errlen, "cannot load %s: %s (install the Debian package %s)", lib->soname,
                 lib->error, lib->package);
    pthread_mutex_unlock(&lock);
    return st == 1 ? 0 : -1;
}

void dl_require_slow(struct dl_lib *lib)
{
    char err[700];
    if (dl_try(lib, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench: %s\n", err);
        exit(2);
    }
}
