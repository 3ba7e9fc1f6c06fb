#include "netlab/nlproc.h"

#include "core/clock.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int open_ns(const char *ns)
{
    char path[256];
    if (snprintf(path, sizeof(path), "/run/netns/%s", ns) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, O_RDONLY | O_CLOEXEC);
}

int nlproc_enter(const char *ns)
{
    int fd = open_ns(ns);
    if (fd < 0)
        return -1;
    int rc = setns(fd, CLONE_NEWNET);
    close(fd);
    return rc;
}

int nlproc_find_in_path(const char *prog, char *buf, size_t len)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n && snprintf(buf, len, "%.*s/%s", (int)n, path, prog) < (int)len &&
            access(buf, X_OK) == 0)
            return 0;
        path += n;
        if (*path == ':')
            path++;
    }
    return -1;
}

void nlproc_describe(const char *const argv[], char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; argv[i] && used + 1 < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static int status_code(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return 255;
}

/* In the child after fork: only async-signal-safe calls, nothing allocates. */
static void child_exec(int nsfd, const char *const argv[], char *const envp[], int in_fd,
                       int out_fd, int err_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
        _exit(127);
    int devnull = open("/dev/null", O_RDWR);
    if (dup2(in_fd >= 0 ? in_fd : devnull, 0) < 0 || dup2(out_fd >= 0 ? out_fd : devnull, 1) < 0 ||
        dup2(err_fd >= 0 ? err_fd : devnull, 2) < 0)
        _exit(127);
    execvpe(argv[0], (char *const *)argv, envp);
    _exit(127);
}

struct buf {
    char *data;
    size_t len, cap;
};

static int buf_read(struct buf *b, int fd)
{
    if (b->cap - b->len < 4097) {
        size_t cap = b->cap ? b->cap * 2 : 8192;
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : -1;
    b->len += (size_t)n;
    b->data[b->len] = '\0';
    return n == 0 ? 0 : 1;
}

static char *buf_take(struct buf *b, size_t *len)
{
    if (!b->data) {
        b->data = calloc(1, 1);
        b->len = 0;
    }
    *len = b->len;
    char *p = b->data;
    b->data = NULL;
    return p;
}

int nlproc_run(const char *ns, const char *const argv[], const char *input, size_t input_len,
               int timeout_ms, struct nlproc_result *res)
{
    int rc = -1, nsfd = -1;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    struct buf bo = {0}, be = {0};
    pid_t pid = -1;
    memset(res, 0, sizeof(*res));
    if (ns && (nsfd = open_ns(ns)) < 0)
        goto cleanup;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        goto cleanup;
    pid = fork();
    if (pid < 0)
        goto cleanup;
    if (pid == 0)
        child_exec(nsfd, argv, environ, in[0], out[1], err[1]);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in[0] = out[1] = err[1] = -1;
    if (!input || input_len == 0) {
        close(in[1]);
        in[1] = -1;
    }
    size_t written = 0;
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (out[0] >= 0 || err[0] >= 0 || in[1] >= 0) {
        struct pollfd p[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            break;
        int n = poll(p, 3, (int)((deadline - now) / 1000000ull) + 1);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (p[0].revents) {
            int r = buf_read(&bo, out[0]);
            if (r <= 0) {
                close(out[0]);
                out[0] = -1;
            }
        }
        if (p[1].revents) {
            int r = buf_read(&be, err[0]);
            if (r <= 0) {
                close(err[0]);
                err[0] = -1;
            }
        }
        if (p[2].revents) {
            ssize_t w =
                (p[2].revents & POLLOUT) ? write(in[1], input + written, input_len - written) : -1;
            if (w > 0)
                written += (size_t)w;
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 || written == input_len) {
                close(in[1]);
                in[1] = -1;
            }
        }
    }
    int wstatus = 0;
    bool timed_out = out[0] >= 0 || err[0] >= 0 || in[1] >= 0;
    if (timed_out)
        kill(pid, SIGKILL);
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    res->status = timed_out ? -1 : status_code(wstatus);
    res->out = buf_take(&bo, &res->out_len);
    res->err = buf_take(&be, &res->err_len);
    rc = 0;
cleanup:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
    if (nsfd >= 0)
        close(nsfd);
    free(bo.data);
    free(be.data);
    return rc;
}

void nlproc_result_free(struct nlproc_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

int nlproc_check(const char *ns, const char *const argv[])
{
    struct nlproc_result r;
    char cmd[512];
    nlproc_describe(argv, cmd, sizeof(cmd));
    log_debug("run%s%s: %s", ns ? " in " : "", ns ? ns : "", cmd);
    if (nlproc_run(ns, argv, NULL, 0, 15000, &r) < 0) {
        log_error("could not run '%s'%s%s: %s", cmd, ns ? " in namespace " : "", ns ? ns : "",
                  strerror(errno));
        return -1;
    }
    int rc = r.status == 0 ? 0 : -1;
    if (rc < 0) {
        size_t n = r.err_len;
        while (n && (r.err[n - 1] == '\n' || r.err[n - 1] == ' '))
            r.err[--n] = '\0';
        if (r.status == -1)
            log_error("'%s' did not finish within 15 s", cmd);
        else if (r.status == 127 && !n)
            log_error("'%s' could not be executed: is %s installed (scripts/deps.sh run)?", cmd,
                      argv[0]);
        else
            log_error("'%s'%s%s failed (exit %d): %s", cmd, ns ? " in namespace " : "",
                      ns ? ns : "", r.status, n ? r.err : "(no message)");
    }
    nlproc_result_free(&r);
    return rc;
}

/* environ plus the extra entries, extras overriding variables of the same name. */
static char **build_env(const char *const env[])
{
    size_t ne = 0, nx = 0;
    while (environ && environ[ne])
        ne++;
    while (env && env[nx])
        nx++;
    char **out = calloc(ne + nx + 1, sizeof(*out));
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) {
        bool overridden = false;
        for (size_t j = 0; j < nx && !overridden; j++) {
            const char *eq = strchr(env[j], '=');
            size_t klen = eq ? (size_t)(eq - env[j]) : strlen(env[j]);
            overridden = !strncmp(environ[i], env[j], klen) && environ[i][klen] == '=';
        }
        if (!overridden)
            out[k++] = environ[i];
    }
    for (size_t j = 0; j < nx; j++)
        out[k++] = (char *)env[j];
    return out;
}

pid_t nlproc_spawn(const char *ns, const char *const argv[], const char *const env[], int out_fd,
                   int err_fd)
{
    int nsfd = -1;
    pid_t pid = -1;
    char **envp = build_env(env);
    if (!envp)
        goto cleanup;
    if (ns && (nsfd = open_ns(ns)) < 0)
        goto cleanup;
    pid = fork();
    if (pid == 0)
        child_exec(nsfd, argv, envp, -1, out_fd, err_fd);
cleanup:
    if (nsfd >= 0)
        close(nsfd);
    free(envp);
    return pid;
}

unsigned long long nlproc_start_time(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name may contain spaces and parentheses: skip to the last ')'. */
    char *p = strrchr(line, ')');
    if (!p)
        return 0;
    p++;
    /* Fields after the name start at field 3 (state); start time is field 22. */
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    if (!p)
        return 0;
    return strtoull(p + 1, NULL, 10);
}

static bool gone(pid_t pid)
{
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
        return true;
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    /* A zombie that is not our child still answers kill(0); its state says it. */
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true;
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    return p && p[1] == ' ' && p[2] == 'Z';
}

static int stop_many(const pid_t *pids, size_t n, int grace_ms)
{
    for (size_t i = 0; i < n; i++)
        kill(pids[i], SIGTERM);
    uint64_t deadline = clock_now_ns() + (uint64_t)grace_ms * 1000000ull;
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < n; i++)
            if (!gone(pids[i]))
                all = false;
        if (all)
            return 0;
        if (clock_now_ns() >= deadline)
            break;
        usleep(20000);
    }
    for (size_t i = 0; i < n; i++)
        if (!gone(pids[i]))
            kill(pids[i], SIGKILL);
    for (int tries = 0; tries < 100; tries++) {
        bool all = true;
        for (size_t i = 0; i < n; i++)
            if (!gone(pids[i]))
                all = false;
        if (all)
            return 0;
        usleep(10000);
    }
    return -1;
}

int nlproc_stop(pid_t pid, int grace_ms)
{
    if (pid <= 0)
        return 0;
    return stop_many(&pid, 1, grace_ms);
}

int nlproc_stop_ns(const char *ns, int grace_ms)
{
    char path[256];
    struct stat nst;
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    if (stat(path, &nst) < 0)
        return -1;
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    pid_t *pids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    pid_t self = getpid();
    while ((de = readdir(d))) {
        char *end;
        long v = strtol(de->d_name, &end, 10);
        if (*end || v <= 0 || v == self)
            continue;
        char p[64];
        struct stat st;
        snprintf(p, sizeof(p), "/proc/%ld/ns/net", v);
        if (stat(p, &st) < 0 || st.st_ino != nst.st_ino || st.st_dev != nst.st_dev)
            continue;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 16;
            pid_t *q = realloc(pids, c * sizeof(*q));
            if (!q)
                break;
            pids = q;
            cap = c;
        }
        pids[n++] = (pid_t)v;
    }
    closedir(d);
    if (n)
        stop_many(pids, n, grace_ms);
    free(pids);
    return (int)n;
}
