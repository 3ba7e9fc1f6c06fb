#include "overlay/keys.h"

#include "core/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int keys_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

static void clamp(uint8_t k[KEY_LEN])
{
    k[0] &= 248;
    k[31] = (uint8_t)((k[31] & 127) | 64);
}

void keys_generate(uint8_t priv[KEY_LEN], const char *name)
{
    const char *seed = cli_env(KEYS_TEST_SEED_ENV);
    if (seed) {
        static int warned;
        if (!warned++)
            fprintf(stderr,
                    "edgebench overlay: warning: %s is set: keys are derived from it and "
                    "are NOT secret (tests only)\n",
                    KEYS_TEST_SEED_ENV);
        crypto_generichash(priv, KEY_LEN, (const unsigned char *)name, strlen(name),
                           (const unsigned char *)seed, strlen(seed) > 64 ? 64 : strlen(seed));
    } else {
        randombytes_buf(priv, KEY_LEN);
    }
    clamp(priv);
}

void keys_public(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN])
{
    uint8_t k[KEY_LEN];
    memcpy(k, priv, KEY_LEN);
    clamp(k);
    crypto_scalarmult_curve25519_base(pub, k);
    sodium_memzero(k, sizeof(k));
}

void keys_to_base64(char out[KEY_B64_LEN + 1], const uint8_t key[KEY_LEN])
{
    sodium_bin2base64(out, KEY_B64_LEN + 1, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int keys_from_base64(uint8_t key[KEY_LEN], const char *s)
{
    size_t n = 0;
    if (!s || strlen(s) != KEY_B64_LEN || s[KEY_B64_LEN - 1] != '=')
        return -1;
    if (sodium_base642bin(key, KEY_LEN, s, KEY_B64_LEN, NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != KEY_LEN)
        return -1;
    return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int keys_write_private(const char *path, const uint8_t priv[KEY_LEN])
{
    char line[KEY_B64_LEN + 2];
    int rc = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    /* The umask can only remove bits; make sure group and others have none
     * and the owner can read it, before a single byte is written. */
    if (fchmod(fd, 0600) < 0) {
        rc = -errno;
        goto cleanup;
    }
    keys_to_base64(line, priv);
    line[KEY_B64_LEN] = '\n';
    line[KEY_B64_LEN + 1] = 0;
    rc = write_all(fd, line, KEY_B64_LEN + 1);
    if (!rc && fsync(fd) < 0)
        rc = -errno;
cleanup:
    sodium_memzero(line, sizeof(line));
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (rc)
        unlink(path);
    return rc;
}

int keys_write_public(const char *path, const uint8_t pub[KEY_LEN])
{
    char tmp[4096];
    char line[KEY_B64_LEN + 2];
    int rc = 0;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    keys_to_base64(line, pub);
    line[KEY_B64_LEN] = '\n';
    line[KEY_B64_LEN + 1] = 0;
    rc = write_all(fd, line, KEY_B64_LEN + 1);
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

int keys_read(const char *path, uint8_t key[KEY_LEN])
{
    char buf[128];
    int rc = 0;
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, sizeof(buf) - 1);
    if (n < 0) {
        rc = -errno;
        goto cleanup;
    }
    buf[n] = 0;
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = 0;
    rc = keys_from_base64(key, buf) ? -EINVAL : 0;
cleanup:
    sodium_memzero(buf, sizeof(buf));
    close(fd);
    return rc;
}
