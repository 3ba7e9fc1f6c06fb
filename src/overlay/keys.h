/* WireGuard keys: Curve25519 pairs from libsodium, base64 exactly as `wg`
 * writes them, and the key files (private 0600, created exclusively). */
#ifndef EB_OVERLAY_KEYS_H
#define EB_OVERLAY_KEYS_H

#include <stdint.h>

#define KEY_LEN 32
#define KEY_B64_LEN 44 /* characters, without the terminating NUL */

/* Environment variable that makes keys deterministic (BLAKE2b of the seed and
 * the key's name). For tests and golden files only: such keys are not secret. */
#define KEYS_TEST_SEED_ENV "EDGEBENCH_TEST_KEY_SEED"

/* 0, or -1 when libsodium cannot start. */
int keys_init(void);
/* A new private key for `name` (random, or from KEYS_TEST_SEED_ENV), clamped. */
void keys_generate(uint8_t priv[KEY_LEN], const char *name);
void keys_public(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN]);
void keys_to_base64(char out[KEY_B64_LEN + 1], const uint8_t key[KEY_LEN]);
/* 0, or -1 unless `s` is exactly 44 base64 characters of a 32-byte key. */
int keys_from_base64(uint8_t key[KEY_LEN], const char *s);

/* Writes a new private key file with mode 0600: open(O_CREAT|O_EXCL) with the
 * mode, so the key is never readable by others. 0 or -errno (-EEXIST when the
 * file exists). */
int keys_write_private(const char *path, const uint8_t priv[KEY_LEN]);
/* Writes (replacing) a public key file, mode 0644. 0 or -errno. */
int keys_write_public(const char *path, const uint8_t pub[KEY_LEN]);
/* Reads a key file: one base64 key, optional trailing newline. 0, -errno, or
 * -EINVAL when the content is not a key. */
int keys_read(const char *path, uint8_t key[KEY_LEN]);

#endif
