#include "lab/supervise.h"

#include "netlab/nlproc.h"

#include "core/clock.h"
#include "core/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void lab_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
}

int sup_init(struct supervisor *sup)
{
    memset(sup, 0, sizeof(*sup));
    sup->sfd = -1;
    sigset_t set;
    lab_signals(&set);
    if (sigprocmask(SIG_BLOCK, &set, &sup->saved_mask) < 0)
        return -1;
    sup->mask_saved = true;
    sup->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sup->sfd < 0) {
        int e = errno;
        sup_fini(sup);
        errno = e;
        return -1;
    }
    return 0;
}

void sup_fini(struct supervisor *sup)
{
    if (!sup)
        return;
    if (sup->sfd >= 0)
        close(sup->sfd);
    sup->sfd = -1;
    for (size_t i = 0; i < sup->n; i++)
        if (sup->children[i]->out_fd >= 0) {
            close(sup->children[i]->out_fd);
            sup->children[i]->out_fd = -1;
        }
    if (sup->mask_saved) {
        /* Drop what is pending (SIGCHLD of reaped children) before unblocking. */
        sigset_t set;
        lab_signals(&set);
        sigdelset(&set, SIGINT);
        sigdelset(&set, SIGTERM);
        sigdelset(&set, SIGHUP);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&set, NULL, &zero) > 0)
            ;
        sigprocmask(SIG_SETMASK, &sup->saved_mask, NULL);
        sup->mask_saved = false;
    }
}

/* In the child after fork: only async-signal-safe calls plus setenv. */
static void child_exec(const struct spawn_opts *o, pid_t parent, int log_fd, int out_wr, int err_wr,
                       const sigset_t *mask)
{
    int e;
    setpgid(0, 0);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE, SIGQUIT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0)
        goto fail;
    if (out_wr >= 0) {
        if (dup2(out_wr, 1) < 0)
            goto fail;
    } else if (log_fd >= 0 && !o->inherit_stdout) {
        if (dup2(log_fd, 1) < 0)
            goto fail;
    }
    if (log_fd >= 0 && dup2(log_fd, 2) < 0)
        goto fail;
    if (o->cwd && chdir(o->cwd) < 0)
        goto fail;
    if (o->netns && nlproc_enter(o->netns) < 0)
        goto fail;
    if (o->drop_privileges) {
        if (setgroups(1, &o->gid) < 0 || setgid(o->gid) < 0 || setuid(o->uid) < 0)
            goto fail;
    }
    /* After the uid change: a credential change clears the death signal. */
    if (prctl(PR_SET_PDEATHSIG, o->death_signal ? o->death_signal : SIGKILL) < 0)
        goto fail;
    if (getppid() != parent)
        _exit(127);
    for (char *const *p = o->env; p && *p; p++) {
        char *eq = strchr(*p, '=');
        if (!eq) {
            unsetenv(*p);
            continue;
        }
        char name[128];
        size_t n = (size_t)(eq - *p);
        if (n >= sizeof(name))
            continue;
        memcpy(name, *p, n);
        name[n] = 0;
        if (setenv(name, eq + 1, 1) < 0)
            goto fail;
    }
    execv(o->argv[0], o->argv);
fail:
    e = errno;
    if (write(err_wr, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

int sup_spawn(struct supervisor *sup, struct child *c, const struct spawn_opts *o, char *err,
              size_t errlen)
{
    int rc = -1, log_fd = -1, errp[2] = {-1, -1}, outp[2] = {-1, -1};
    c->pid = 0;
    c->running = c->reported = c->stopped = false;
    c->status = 0;
    c->exit_seq = 0;
    c->out_fd = -1;
    c->stop_signal = o->stop_signal ? o->stop_signal : SIGTERM;
    c->log[0] = 0;
    if (sup->n >= SUP_MAX_CHILDREN) {
        snprintf(err, errlen, "%s: too many child processes", c->name);
        goto cleanup;
    }
    if (o->log_path) {
        snprintf(c->log, sizeof(c->log), "%s", o->log_path);
        log_fd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0) {
            snprintf(err, errlen, "cannot create %s: %s", o->log_path, strerror(errno));
            goto cleanup;
        }
        if (o->drop_privileges && fchown(log_fd, o->uid, o->gid) < 0) {
            snprintf(err, errlen, "cannot hand %s to uid %d: %s", o->log_path, (int)o->uid,
                     strerror(errno));
            goto cleanup;
        }
    }
    if (pipe2(errp, O_CLOEXEC) < 0 || (o->pipe_stdout && pipe2(outp, O_CLOEXEC) < 0)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto cleanup;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start %s: fork: %s", c->name, strerror(errno));
        goto cleanup;
    }
    if (pid == 0) {
        close(errp[0]);
        if (outp[0] >= 0)
            close(outp[0]);
        child_exec(o, parent, log_fd, outp[1], errp[1], &sup->saved_mask);
    }
    setpgid(pid, pid); /* also in the child: whichever runs first */
    c->pid = pid;
    c->running = true;
    size_t k = 0;
    while (k < sup->n && sup->children[k] != c)
        k++;
    if (k == sup->n)
        sup->children[sup->n++] = c;
    close(errp[1]);
    errp[1] = -1;
    int child_errno = 0;
    ssize_t r;
    do
        r = read(errp[0], &child_errno, sizeof(child_errno));
    while (r < 0 && errno == EINTR);
    if (r == (ssize_t)sizeof(child_errno)) {
        /* It never ran: reap it now so its exit is not reported as a death. */
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        c->running = false;
        c->reported = true;
        c->status = st;
        snprintf(err, errlen, "cannot run %s (%s): %s", c->name, o->argv[0], strerror(child_errno));
        goto cleanup;
    }
    log_debug("started %s (pid %d)", c->name, (int)pid);
    if (outp[0] >= 0) {
        c->out_fd = outp[0];
        outp[0] = -1;
        fcntl(c->out_fd, F_SETFL, fcntl(c->out_fd, F_GETFL) | O_NONBLOCK);
    }
    rc = 0;
cleanup:
    if (log_fd >= 0)
        close(log_fd);
    for (int i = 0; i < 2; i++) {
        if (errp[i] >= 0)
            close(errp[i]);
        if (outp[i] >= 0)
            close(outp[i]);
    }
    return rc;
}

static struct child *find(struct supervisor *sup, pid_t pid)
{
    for (size_t i = 0; i < sup->n; i++)
        if (sup->children[i]->pid == pid && sup->children[i]->running)
            return sup->children[i];
    return NULL;
}

static void reap(struct supervisor *sup)
{
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0)
            return;
        struct child *c = find(sup, pid);
        if (c) {
            c->running = false;
            c->status = st;
            c->exit_seq = ++sup->exits;
        }
    }
}

/* Reads pending signals: reaps on SIGCHLD, records the others. */
static bool read_signals(struct supervisor *sup)
{
    bool terminate = false;
    struct signalfd_siginfo si;
    while (read(sup->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            continue;
        sup->signal = (int)si.ssi_signo;
        terminate = true;
    }
    reap(sup);
    return terminate;
}

/* Appends what a child wrote to its stdout pipe to its log. */
static void drain(struct child *c)
{
    char buf[4096];
    int fd = c->log[0] ? open(c->log, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
    for (;;) {
        ssize_t n = read(c->out_fd, buf, sizeof(buf));
        if (n > 0) {
            if (fd >= 0 && write(fd, buf, (size_t)n) < 0)
                break;
            continue;
        }
        if (n == 0) {
            close(c->out_fd);
            c->out_fd = -1;
        }
        break;
    }
    if (fd >= 0)
        close(fd);
}

static struct child *unreported_exit(struct supervisor *sup)
{
    for (size_t i = 0; i < sup->n; i++) {
        struct child *c = sup->children[i];
        if (c->pid > 0 && !c->running && !c->reported) {
            c->reported = true;
            return c;
        }
    }
    return NULL;
}

enum sup_event sup_wait(struct supervisor *sup, int timeout_ms, int fd, struct child **which)
{
    uint64_t deadline = timeout_ms < 0 ? 0 : clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        bool terminate = read_signals(sup);
        struct child *c = unreported_exit(sup);
        if (c) {
            if (which)
                *which = c;
            return SUP_CHILD_EXIT;
        }
        if (terminate || sup->signal)
            return SUP_SIGNAL;
        struct pollfd pfd[2 + SUP_MAX_CHILDREN];
        struct child *owner[2 + SUP_MAX_CHILDREN];
        nfds_t n = 0;
        pfd[n] = (struct pollfd){.fd = sup->sfd, .events = POLLIN};
        owner[n++] = NULL;
        if (fd >= 0) {
            pfd[n] = (struct pollfd){.fd = fd, .events = POLLIN};
            owner[n++] = NULL;
        }
        for (size_t i = 0; i < sup->n; i++)
            if (sup->children[i]->out_fd >= 0 && sup->children[i]->out_fd != fd) {
                pfd[n] = (struct pollfd){.fd = sup->children[i]->out_fd, .events = POLLIN};
                owner[n++] = sup->children[i];
            }
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            uint64_t now = clock_now_ns();
            if (now >= deadline)
                return SUP_TIMEOUT;
            wait_ms = (int)((deadline - now + 999999ull) / 1000000ull);
        }
        int r = poll(pfd, n, wait_ms);
        if (r < 0 && errno != EINTR)
            return SUP_ERROR;
        if (r <= 0)
            continue;
        for (nfds_t i = 0; i < n; i++)
            if (owner[i] && pfd[i].revents)
                drain(owner[i]);
        if (pfd[0].revents)
            continue; /* signals first, at the top of the loop */
        if (fd >= 0 && pfd[1].revents)
            return SUP_READABLE;
    }
}

bool sup_interrupted(struct supervisor *sup)
{
    read_signals(sup);
    return sup->signal != 0;
}

int sup_curl_perform(struct supervisor *sup, void *easy)
{
    CURLcode rc = CURLE_OK;
    CURLM *multi = curl_multi_init();
    if (!multi || curl_multi_add_handle(multi, easy) != CURLM_OK) {
        if (multi)
            curl_multi_cleanup(multi);
        return CURLE_OUT_OF_MEMORY;
    }
    for (;;) {
        if (sup_interrupted(sup)) {
            rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        int running = 0;
        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        CURLMsg *m;
        int queued;
        bool done = false;
        while ((m = curl_multi_info_read(multi, &queued)))
            if (m->msg == CURLMSG_DONE && m->easy_handle == easy) {
                rc = m->data.result;
                done = true;
            }
        if (done)
            break;
        struct curl_waitfd sig = {.fd = sup->sfd, .events = CURL_WAIT_POLLIN};
        if (curl_multi_poll(multi, &sig, 1, 100, NULL) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
    }
    curl_multi_remove_handle(multi, easy);
    curl_multi_cleanup(multi);
    return (int)rc;
}

/* Names the children still running, once. */
static void say_waiting(struct supervisor *sup)
{
    char names[512];
    size_t off = 0;
    names[0] = 0;
    for (size_t i = 0; i < sup->n && off < sizeof(names); i++)
        if (sup->children[i]->running)
            off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", off ? ", " : "",
                                    sup->children[i]->name);
    if (names[0])
        log_info("waiting for %s to exit", names);
}

static void wait_until(struct supervisor *sup, uint64_t deadline)
{
    uint64_t say_at = clock_now_ns() + 500000000ull;
    bool said = false;
    for (;;) {
        read_signals(sup);
        bool any = false;
        for (size_t i = 0; i < sup->n; i++)
            any = any || sup->children[i]->running;
        uint64_t now = clock_now_ns();
        if (!any || now >= deadline)
            return;
        if (!said && now >= say_at) {
            say_waiting(sup);
            said = true;
        }
        struct pollfd pfd = {.fd = sup->sfd, .events = POLLIN};
        int ms = (int)((deadline - now + 999999ull) / 1000000ull);
        if (poll(&pfd, 1, ms > 50 ? 50 : ms) < 0 && errno != EINTR)
            return;
    }
}

static void kill_group_and_reap(struct supervisor *sup, struct child *c)
{
    if (c->pid <= 0)
        return;
    if (c->running) {
        c->stopped = true;
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        int st;
        pid_t r;
        while ((r = waitpid(c->pid, &st, 0)) < 0 && errno == EINTR)
            ;
        if (r == c->pid) {
            c->running = false;
            c->status = st;
        }
    }
    /* Anything left in its process group (a grandchild) goes too. */
    if (kill(-c->pid, 0) == 0)
        kill(-c->pid, SIGKILL);
    (void)sup;
}

struct child *sup_first_failure(struct supervisor *sup)
{
    struct child *first = NULL;
    for (size_t i = 0; i < sup->n; i++) {
        struct child *c = sup->children[i];
        if (c->pid > 0 && !c->running && !c->stopped && c->exit_seq && !child_succeeded(c) &&
            (!first || c->exit_seq < first->exit_seq))
            first = c;
    }
    return first;
}

void sup_stop(struct supervisor *sup, struct child *c, int grace_ms)
{
    if (!c || c->pid <= 0)
        return;
    if (c->running) {
        c->stopped = true;
        kill(c->pid, c->stop_signal);
        uint64_t deadline = clock_now_ns() + (uint64_t)grace_ms * 1000000ull;
        while (c->running && clock_now_ns() < deadline) {
            read_signals(sup);
            if (!c->running)
                break;
            struct pollfd pfd = {.fd = sup->sfd, .events = POLLIN};
            if (poll(&pfd, 1, 20) < 0 && errno != EINTR)
                break;
        }
    }
    kill_group_and_reap(sup, c);
    c->reported = true;
}

bool sup_signal_and_wait(struct supervisor *sup, struct child *const *cs, size_t n, int sig,
                         int wait_ms)
{
    for (size_t i = 0; i < n; i++)
        if (cs[i]->running) {
            cs[i]->stopped = true;
            kill(cs[i]->pid, sig);
        }
    uint64_t deadline = clock_now_ns() + (uint64_t)wait_ms * 1000000ull;
    for (;;) {
        read_signals(sup);
        bool any = false;
        for (size_t i = 0; i < n; i++)
            any = any || cs[i]->running;
        uint64_t now = clock_now_ns();
        if (!any)
            return true;
        if (now >= deadline)
            return false;
        struct pollfd pfd = {.fd = sup->sfd, .events = POLLIN};
        int ms = (int)((deadline - now + 999999ull) / 1000000ull);
        if (poll(&pfd, 1, ms > 50 ? 50 : ms) < 0 && errno != EINTR)
            return false;
    }
}

void sup_stop_all(struct supervisor *sup, int grace_ms)
{
    for (size_t i = sup->n; i-- > 0;)
        if (sup->children[i]->running) {
            sup->children[i]->stopped = true;
            kill(sup->children[i]->pid, sup->children[i]->stop_signal);
        }
    wait_until(sup, clock_now_ns() + (uint64_t)grace_ms * 1000000ull);
    for (size_t i = sup->n; i-- > 0;) {
        kill_group_and_reap(sup, sup->children[i]);
        sup->children[i]->reported = true;
    }
}

void child_describe_exit(const struct child *c, char *buf, size_t len)
{
    if (c->running)
        snprintf(buf, len, "is still running");
    else if (WIFEXITED(c->status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(c->status));
    else if (WIFSIGNALED(c->status))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(c->status),
                 strsignal(WTERMSIG(c->status)));
    else
        snprintf(buf, len, "ended (wait status %d)", c->status);
}

bool child_succeeded(const struct child *c)
{
    return !c->running && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

void child_print_log_tail(const struct child *c, FILE *f, int lines)
{
    if (!c->log[0])
        return;
    int fd = open(c->log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[8192];
    struct stat st;
    off_t off = 0;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(buf) - 1)
        off = st.st_size - (off_t)sizeof(buf) + 1;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, off);
    close(fd);
    if (n <= 0) {
        fprintf(f, "  (%s wrote nothing to %s)\n", c->name, c->log);
        return;
    }
    buf[n] = 0;
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = 0;
    const char *start = buf + n;
    int seen = 0;
    while (start > buf && seen < lines) {
        start--;
        if (*start == '\n' && ++seen == lines) {
            start++;
            break;
        }
    }
    /* The file's name only: the lab removes its log directory at exit
     * unless --keep (which prints the directory). */
    const char *base = strrchr(c->log, '/');
    fprintf(f, "  --- last lines of %s's log (%s) ---\n", c->name, base ? base + 1 : c->log);
    for (const char *p = start; *p;) {
        const char *e = strchr(p, '\n');
        int len = e ? (int)(e - p) : (int)strlen(p);
        fprintf(f, "  | %.*s\n", len, p);
        if (!e)
            break;
        p = e + 1;
    }
}
