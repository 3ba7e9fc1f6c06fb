/* Running programs for the namespace lab: fork + exec with an argument vector
 * (never a shell string), optionally inside a named network namespace
 * (/run/netns/NAME, as `ip netns add` creates it). */
#ifndef EB_NETLAB_NLPROC_H
#define EB_NETLAB_NLPROC_H

#include <stddef.h>
#include <sys/types.h>

/* What a finished command left: exit status (0..255, 128+N when killed by
 * signal N, 127 when it could not be executed, -1 when it timed out), and its
 * captured stdout/stderr (NUL-terminated, possibly empty, never NULL after a
 * successful nlproc_run). */
struct nlproc_result {
    int status;
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
};

/* Runs argv (argv[0] looked up in PATH) in namespace ns (NULL: ours) with
 * `input` (may be NULL) on its stdin, collecting its output, for at most
 * timeout_ms. Returns 0 when it ran (see res->status), -1 when it could not
 * be started (errno set). Free res with nlproc_result_free. */
int nlproc_run(const char *ns, const char *const argv[], const char *input, size_t input_len,
               int timeout_ms, struct nlproc_result *res);
void nlproc_result_free(struct nlproc_result *res);

/* nlproc_run with a 15 s timeout; logs the command and its stderr when it
 * fails. Returns 0 when it exited 0, else -1. */
int nlproc_check(const char *ns, const char *const argv[]);

/* Starts argv as a child in namespace ns (NULL: ours) with `env` entries
 * ("KEY=VALUE", NULL-terminated, may be NULL) added to the environment, stdin
 * from /dev/null and stdout/stderr on out_fd/err_fd (-1: /dev/null). The child
 * gets SIGTERM if this process dies. Returns its pid or -1. */
pid_t nlproc_spawn(const char *ns, const char *const argv[], const char *const env[], int out_fd,
                   int err_fd);

/* Moves the calling process (a forked child) into namespace ns. 0 or -1. */
int nlproc_enter(const char *ns);

/* The kernel's start time of pid (clock ticks since boot), 0 when it does not
 * exist. A pid plus its start time names one process even after pid reuse. */
unsigned long long nlproc_start_time(pid_t pid);

/* SIGTERM to pid, up to grace_ms for it to exit (reaping it when it is our
 * child), then SIGKILL. Returns 0 when it is gone. */
int nlproc_stop(pid_t pid, int grace_ms);

/* Stops every process whose network namespace is ns (as nlproc_stop does).
 * Returns how many there were, or -1 when ns does not exist. */
int nlproc_stop_ns(const char *ns, int grace_ms);

/* The full path of prog found in $PATH (or a default PATH). 0 or -1. */
int nlproc_find_in_path(const char *prog, char *buf, size_t len);

/* Joins argv into buf for messages ("ip -n x link add ..."). */
void nlproc_describe(const char *const argv[], char *buf, size_t len);

#endif
