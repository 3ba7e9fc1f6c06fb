/* Small system helpers for the lab: ports, directories, users. */
#ifndef EB_LAB_SYS_H
#define EB_LAB_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Binds a TCP socket to 127.0.0.1:0 and returns the port the kernel chose;
 * the socket stays open in *fd so that ports reserved together differ. Close
 * it just before the port is handed to its user. 0 or -1 (errno). */
int sys_reserve_port(uint16_t *port, int *fd);

/* Removes a directory tree without following symlinks. 0 or -1 (errno of
 * the first failure; it goes on removing what it can). */
int sys_remove_tree(const char *path);

/* Whether uid/gid can enter and write a directory (checked in a forked child
 * that takes that identity, so every ancestor's permissions count). */
bool sys_user_can_use_dir(const char *path, uid_t uid, gid_t gid);

/* out = dir + "/" + name; -1 (errno ENAMETOOLONG) when it does not fit. */
int sys_path(char *out, size_t len, const char *dir, const char *name);

/* A random lower-case hex string of 2 x nbytes characters into out. */
int sys_random_hex(char *out, size_t outlen, size_t nbytes);

#endif
