/* libcurl, opened on first use (see dl/dl.h). Used by run, lab and the
 * tests; the backend never loads it. */
#define CURL_DISABLE_TYPECHECK /* the names below are the functions, not macros */
#include "dl/dl.h"

#include <curl/curl.h>
#include <stdarg.h>

#ifndef EB_SONAME_CURL
#define EB_SONAME_CURL "libcurl.so.4"
#endif

#define DL_THIS_LIB curl_lib

#define CURL_FUNCS(F, V)                                                                           \
    F(CURLcode, curl_global_init, (long flags), (flags))                                           \
    V(curl_global_cleanup, (void), ())                                                             \
    F(CURL *, curl_easy_init, (void), ())                                                          \
    V(curl_easy_cleanup, (CURL * h), (h))                                                          \
    V(curl_easy_reset, (CURL * h), (h))                                                            \
    F(const char *, curl_easy_strerror, (CURLcode c), (c))                                         \
    V(curl_free, (void *p), (p))                                                                   \
    F(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s))      \
    V(curl_slist_free_all, (struct curl_slist * l), (l))                                           \
    F(CURLU *, curl_url, (void), ())                                                               \
    V(curl_url_cleanup, (CURLU * u), (u))                                                          \
    F(CURLUcode, curl_url_set, (CURLU * u, CURLUPart w, const char *p, unsigned int f),            \
      (u, w, p, f))                                                                                \
    F(CURLUcode, curl_url_get, (CURLU * u, CURLUPart w, char **p, unsigned int f), (u, w, p, f))   \
    F(CURLM *, curl_multi_init, (void), ())                                                        \
    F(CURLMcode, curl_multi_cleanup, (CURLM * m), (m))                                             \
    F(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL * h), (m, h))                             \
    F(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL * h), (m, h))                          \
    F(CURLMcode, curl_multi_perform, (CURLM * m, int *running), (m, running))                      \
    F(CURLMcode, curl_multi_poll,                                                                  \
      (CURLM * m, struct curl_waitfd * fds, unsigned int n, int ms, int *ret),                     \
      (m, fds, n, ms, ret))                                                                        \
    F(CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left))

/* the variadic three are written out below */
#define CURL_VARIADIC(X) X(curl_easy_setopt) X(curl_easy_getinfo) X(curl_multi_setopt)

CURL_FUNCS(DL_PTR_F, DL_PTR_V)
#define DL_PTR_X(name) static __typeof__(name) *dl_p_##name;
CURL_VARIADIC(DL_PTR_X)

static const struct dl_sym syms[] = {CURL_FUNCS(DL_SYM_F, DL_SYM_V)
#define DL_SYM_X(name) {#name, &dl_p_##name},
                                         CURL_VARIADIC(DL_SYM_X)};

static struct dl_lib curl_lib = {.soname = EB_SONAME_CURL,
                                 .package = "libcurl4",
                                 .syms = syms,
                                 .nsyms = sizeof(syms) / sizeof(syms[0])};

CURL_FUNCS(DL_DEF_F, DL_DEF_V)

/* The option number says the type of the one argument that follows (as in
 * curl.h: CURLOPTTYPE_LONG, _OBJECTPOINT, _FUNCTIONPOINT, _OFF_T, _BLOB);
 * read it as that type and pass it on as that type. */
#define FORWARD_BY_TYPE(call, opt, ap)                                                             \
    do {                                                                                           \
        switch ((int)(opt) / 10000 * 10000) {                                                      \
        case CURLOPTTYPE_LONG:                                                                     \
            rc = call(va_arg(ap, long));                                                           \
            break;                                                                                 \
        case CURLOPTTYPE_FUNCTIONPOINT:                                                            \
            rc = call(va_arg(ap, void (*)(void)));                                                 \
            break;                                                                                 \
        case CURLOPTTYPE_OFF_T:                                                                    \
            rc = call(va_arg(ap, curl_off_t));                                                     \
            break;                                                                                 \
        default: /* OBJECTPOINT, STRINGPOINT, SLISTPOINT, CBPOINT, BLOB */                         \
            rc = call(va_arg(ap, void *));                                                         \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    dl_require(&curl_lib);
    CURLcode rc;
    va_list ap;
    va_start(ap, opt);
#define EASY_SET(v) dl_p_curl_easy_setopt(h, opt, v)
    FORWARD_BY_TYPE(EASY_SET, opt, ap);
    va_end(ap);
    return rc;
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
    dl_require(&curl_lib);
    CURLMcode rc;
    va_list ap;
    va_start(ap, opt);
#define MULTI_SET(v) dl_p_curl_multi_setopt(m, opt, v)
    FORWARD_BY_TYPE(MULTI_SET, opt, ap);
    va_end(ap);
    return rc;
}

/* every CURLINFO argument is a pointer to where the answer goes */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    dl_require(&curl_lib);
    va_list ap;
    va_start(ap, info);
    void *out = va_arg(ap, void *);
    va_end(ap);
    return dl_p_curl_easy_getinfo(h, info, out);
}
