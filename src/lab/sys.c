#include "lab/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int sys_reserve_port(uint16_t *port, int *fd)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) < 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    *port = ntohs(a.sin_port);
    *fd = s;
    return 0;
}

static int first_errno;

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = type == FTW_DP ? rmdir(path) : unlink(path);
    if (r < 0 && errno != ENOENT && !first_errno)
        first_errno = errno;
    return 0;
}

int sys_remove_tree(const char *path)
{
    first_errno = 0;
    if (nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return -1;
    if (first_errno) {
        errno = first_errno;
        return -1;
    }
    return 0;
}

bool sys_user_can_use_dir(const char *path, uid_t uid, gid_t gid)
{
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
            _exit(1);
        _exit(access(path, R_OK | W_OK | X_OK) == 0 ? 0 : 1);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return false;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int sys_random_hex(char *out, size_t outlen, size_t nbytes)
{
    unsigned char buf[64];
    if (nbytes > sizeof(buf) || outlen < 2 * nbytes + 1)
        return -1;
    size_t got = 0;
    while (got < nbytes) {
        ssize_t n = getrandom(buf + got, nbytes - got, 0);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0)
            got += (size_t)n;
    }
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", buf[i]);
    return 0;
}

int sys_path(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}
