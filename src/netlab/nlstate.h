/* A lab's state file: one line per thing the lab is about to create, written
 * and flushed to disk BEFORE the thing is created, so that `edgebench lab
 * cleanup` can undo whatever a crashed or killed run left behind.
 *
 * Lines ("KIND VALUE"):
 *   owner PID STARTTIME   the lab process (its start time guards against pid reuse)
 *   ns NAME               a network namespace (/run/netns/NAME); every process
 *                         inside it is stopped before it is deleted
 *   link NAME             a network interface in the host namespace
 *   wgsock PATH           a wireguard-go control socket (/var/run/wireguard/X.sock)
 *   pid PID STARTTIME     a process outside the namespaces
 *   dir PATH              a temporary directory (removed recursively; its name
 *                         must start with "eb" or "edgebench")
 * Undo order: pid, ns (processes, then the namespace), link, wgsock, dir. */
#ifndef EB_NETLAB_NLSTATE_H
#define EB_NETLAB_NLSTATE_H

#include <stdbool.h>
#include <stdio.h>

struct nlstate;

/* The directory of state files: $EDGEBENCH_STATE_DIR, else /run/edgebench. */
const char *nlstate_dir(void);

/* Creates DIR/NAME.state (DIR made 0700 when missing) and records this
 * process as its owner. 0 or -1 (logged). */
int nlstate_open(const char *name, struct nlstate **out);

/* Appends one line and flushes it to disk. 0 or -1 (logged). */
int nlstate_add(struct nlstate *s, const char *kind, const char *value);

const char *nlstate_path(const struct nlstate *s);

/* Closes the file; removes it when remove_file (after a clean teardown). */
void nlstate_close(struct nlstate *s, bool remove_file);

/* Undoes everything the state file at path lists (the "dir" entries only
 * when dirs: a lab that ends normally removes its own directories), then
 * removes it. Writes one line per removed item to report (may be NULL).
 * Returns how many items were removed, or -1 when the file cannot be read. */
int nlstate_undo(const char *path, bool dirs, FILE *report);

/* Undoes every state file in nlstate_dir() whose owner is no longer running
 * (and every one, when force). Returns the number of items removed, or -1. */
int nlstate_cleanup(bool force, FILE *report);

/* Removes a directory tree (no symlinks followed). 0 or -1. */
int nlstate_remove_dir(const char *path);

/* Checks one state line; 0 when it is well formed (used by the fuzz harness). */
int nlstate_parse_line(const char *line, char *kind, size_t kind_len, char *value,
                       size_t value_len);

#endif
