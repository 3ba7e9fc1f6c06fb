/* libsodium, opened on first use (see dl/dl.h): WireGuard keys. */
#include "dl/dl.h"

#include <sodium.h>

#ifndef EB_SONAME_SODIUM
#define EB_SONAME_SODIUM "libsodium.so.23"
#endif

#define DL_THIS_LIB sodium_lib

#define SODIUM_FUNCS(F, V)                                                                         \
    F(int, sodium_init, (void), ())                                                                \
    V(sodium_memzero, (void *const p, const size_t n), (p, n))                                     \
    V(randombytes_buf, (void *const buf, const size_t n), (buf, n))                                \
    F(int, crypto_generichash,                                                                     \
      (unsigned char *out, size_t outlen, const unsigned char *in, unsigned long long inlen,       \
       const unsigned char *key, size_t keylen),                                                   \
      (out, outlen, in, inlen, key, keylen))                                                       \
    F(int, crypto_scalarmult_curve25519_base, (unsigned char *q, const unsigned char *n), (q, n))  \
    F(char *, sodium_bin2base64,                                                                   \
      (char *const b64, const size_t b64_max, const unsigned char *const bin,                      \
       const size_t bin_len, const int variant),                                                   \
      (b64, b64_max, bin, bin_len, variant))                                                       \
    F(int, sodium_base642bin,                                                                      \
      (unsigned char *const bin, const size_t bin_max, const char *const b64,                      \
       const size_t b64_len, const char *const ignore, size_t *const bin_len,                      \
       const char **const b64_end, const int variant),                                             \
      (bin, bin_max, b64, b64_len, ignore, bin_len, b64_end, variant))

SODIUM_FUNCS(DL_PTR_F, DL_PTR_V)
static const struct dl_sym syms[] = {SODIUM_FUNCS(DL_SYM_F, DL_SYM_V)};
static struct dl_lib sodium_lib = {.soname = EB_SONAME_SODIUM,
                                   .package = "libsodium23",
                                   .syms = syms,
                                   .nsyms = sizeof(syms) / sizeof(syms[0])};
SODIUM_FUNCS(DL_DEF_F, DL_DEF_V)
