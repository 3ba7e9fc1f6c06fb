/* Child processes of the lab and the signals that end it.
 *
 * Every child runs in its own process group with a parent-death signal, so
 * nothing outlives the lab even when it is killed with SIGKILL. SIGINT,
 * SIGTERM, SIGHUP and SIGCHLD are blocked and read from a signalfd: the lab
 * waits for "a signal, a child's exit, or a readable pipe" in one place
 * (sup_wait) and decides what to do; no work happens in signal handlers. */
#ifndef EB_LAB_SUPERVISE_H
#define EB_LAB_SUPERVISE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define SUP_MAX_CHILDREN 160

struct child {
    char name[48];      /* "postgres", "wan", "backend[lhr]", "run" ... for messages */
    pid_t pid;          /* 0 before spawn */
    bool running;       /* spawned and not yet reaped */
    bool reported;      /* its exit has been returned by sup_wait */
    bool stopped;       /* the lab asked it to stop */
    int status;         /* wait status once reaped */
    unsigned exit_seq;  /* order of exits among the children: 1, 2, ... */
    int stop_signal;    /* what sup_stop sends first: SIGTERM, or SIGQUIT for PostgreSQL */
    int out_fd;         /* read end of its stdout pipe when asked for, else -1 */
    char log[PATH_MAX]; /* its stderr (and stdout unless piped); "" when inherited */
};

struct spawn_opts {
    char *const *argv;    /* argv[0] is the program's path */
    char *const *env;     /* "NAME=value" to set, "NAME" to unset; NULL-terminated or NULL */
    const char *log_path; /* stderr (and stdout) to this file (created 0600); NULL: inherit */
    bool pipe_stdout;     /* stdout to a pipe read through child->out_fd */
    bool inherit_stdout;  /* stdout stays the lab's own (with log_path for stderr only) */
    const char *cwd;      /* NULL: unchanged */
    bool drop_privileges; /* run as uid/gid below (the lab is root) */
    uid_t uid;
    gid_t gid;
    const char *netns; /* run it in this network namespace (/run/netns/NAME); NULL: the lab's */
    int death_signal;  /* sent to it when the lab dies; 0: SIGKILL */
    int stop_signal;   /* 0: SIGTERM */
};

struct supervisor {
    int sfd; /* signalfd for SIGINT, SIGTERM, SIGHUP, SIGCHLD */
    sigset_t saved_mask;
    bool mask_saved;
    struct child *children[SUP_MAX_CHILDREN];
    size_t n;
    /* SIGINT/SIGTERM/SIGHUP once received, else 0; sticky: every later
     * sup_wait reports it, and netlab polls it through its stop pointer. */
    volatile sig_atomic_t signal;
    unsigned exits; /* children reaped so far */
};

enum sup_event {
    SUP_TIMEOUT,    /* nothing happened before the timeout */
    SUP_READABLE,   /* the fd given to sup_wait is readable (or hung up) */
    SUP_CHILD_EXIT, /* a child was reaped: *which */
    SUP_SIGNAL,     /* SIGINT, SIGTERM or SIGHUP: sup->signal */
    SUP_ERROR,      /* poll or signalfd failed (errno) */
};

/* Blocks the signals and opens the signalfd. 0 or -1 (errno). */
int sup_init(struct supervisor *sup);
/* Restores the signal mask; the children must have been stopped. */
void sup_fini(struct supervisor *sup);

/* Starts a child. The struct must outlive the supervisor's use of it; it
 * may be spawned again after it exited (a retry). Returns 0, or -1 with a message in err (e.g. the
 * program cannot be run). */
int sup_spawn(struct supervisor *sup, struct child *c, const struct spawn_opts *o, char *err,
              size_t errlen);

/* Waits at most timeout_ms (-1: forever) for a signal, the exit of any child
 * (reported once each) or fd (>= 0) becoming readable. Child exits are
 * reported before signals, signals before fd readiness. Once a signal was
 * received, every later call returns SUP_SIGNAL (after unreported exits):
 * whichever step reads it first, none can miss it. */
enum sup_event sup_wait(struct supervisor *sup, int timeout_ms, int fd, struct child **which);

/* Reads the signalfd without waiting: true once SIGINT, SIGTERM or SIGHUP
 * was received. For work that does not go through sup_wait. */
bool sup_interrupted(struct supervisor *sup);

/* curl_easy_perform that gives up (CURLE_ABORTED_BY_CALLBACK) as soon as a
 * signal arrives: the transfer runs in a multi handle that also polls the
 * signalfd. `easy` is a CURL *. */
int sup_curl_perform(struct supervisor *sup, void *easy);

/* Sends sig to each running child of cs (marking them stopped) and waits
 * at most wait_ms for all to exit; true when none is left running. */
bool sup_signal_and_wait(struct supervisor *sup, struct child *const *cs, size_t n, int sig,
                         int wait_ms);

/* Stops one child: its stop signal, then SIGKILL to its whole process group
 * after grace_ms; reaps it. No-op when it is not running. */
void sup_stop(struct supervisor *sup, struct child *c, int grace_ms);
/* Stops every running child, most recently started first, in parallel: the
 * stop signal to each, then SIGKILL to what remains after grace_ms. After
 * half a second it says which children it is still waiting for. */
void sup_stop_all(struct supervisor *sup, int grace_ms);

/* The child that failed first (exited non-zero or by a signal) and was not
 * stopped by the lab; NULL when none. */
struct child *sup_first_failure(struct supervisor *sup);

/* "exited with status 3", "killed by signal 9 (Killed)". */
void child_describe_exit(const struct child *c, char *buf, size_t len);
/* Exit status 0 after a normal exit. */
bool child_succeeded(const struct child *c);
/* Prints the last `lines` lines of the child's log to f, each indented. */
void child_print_log_tail(const struct child *c, FILE *f, int lines);

#endif
