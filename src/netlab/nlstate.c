#include "netlab/nlstate.h"

#include "core/cli.h"
#include "core/log.h"
#include "netlab/nlproc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct nlstate {
    int fd;
    char path[512];
};

const char *nlstate_dir(void)
{
    const char *d = cli_env("EDGEBENCH_STATE_DIR");
    return d ? d : "/run/edgebench";
}

const char *nlstate_path(const struct nlstate *s)
{
    return s ? s->path : NULL;
}

int nlstate_add(struct nlstate *s, const char *kind, const char *value)
{
    char line[640];
    int n = snprintf(line, sizeof(line), "%s %s\n", kind, value);
    if (n < 0 || n >= (int)sizeof(line)) {
        log_error("state file %s: entry '%s' too long", s->path, kind);
        return -1;
    }
    if (write(s->fd, line, (size_t)n) != n || fdatasync(s->fd) < 0) {
        log_error("cannot write the state file %s: %s", s->path, strerror(errno));
        return -1;
    }
    return 0;
}

int nlstate_open(const char *name, struct nlstate **out)
{
    const char *dir = nlstate_dir();
    struct nlstate *s = calloc(1, sizeof(*s));
    int rc = -1;
    if (!s)
        goto cleanup;
    s->fd = -1;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        log_error("cannot create the state directory %s: %s", dir, strerror(errno));
        goto cleanup;
    }
    snprintf(s->path, sizeof(s->path), "%s/%s.state", dir, name);
    s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        log_error("cannot create the state file %s: %s", s->path, strerror(errno));
        goto cleanup;
    }
    char v[64];
    snprintf(v, sizeof(v), "%d %llu", (int)getpid(), nlproc_start_time(getpid()));
    if (nlstate_add(s, "owner", v) < 0)
        goto cleanup;
    *out = s;
    s = NULL;
    rc = 0;
cleanup:
    if (s) {
        if (s->fd >= 0) {
            close(s->fd);
            unlink(s->path);
        }
        free(s);
    }
    return rc;
}

void nlstate_close(struct nlstate *s, bool remove_file)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (remove_file)
        unlink(s->path);
    free(s);
}

static bool name_ok(const char *v)
{
    if (!*v || strlen(v) > 64)
        return false;
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return strcmp(v, ".") && strcmp(v, "..");
}

static bool path_ok(const char *v)
{
    if (v[0] != '/' || strstr(v, "/../") || strstr(v, "/./") || strstr(v, "//"))
        return false;
    size_t n = strlen(v);
    if (n >= 2 && !strcmp(v + n - 2, "/.."))
        return false;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20)
            return false;
    return true;
}

static bool pid_pair_ok(const char *v)
{
    char *end;
    long pid = strtol(v, &end, 10);
    if (end == v || *end != ' ' || pid <= 1 || pid > 4194304)
        return false;
    const char *s = end + 1;
    if (*s < '0' || *s > '9')
        return false;
    strtoull(s, &end, 10);
    return *end == '\0';
}

int nlstate_parse_line(const char *line, char *kind, size_t kind_len, char *value, size_t value_len)
{
    const char *sp = strchr(line, ' ');
    if (!sp || (size_t)(sp - line) >= kind_len)
        return -1;
    memcpy(kind, line, (size_t)(sp - line));
    kind[sp - line] = '\0';
    size_t vlen = strcspn(sp + 1, "\n");
    const char *rest = sp + 1 + vlen;
    if (*rest == '\n')
        rest++;
    if (*rest || vlen >= value_len)
        return -1;
    memcpy(value, sp + 1, vlen);
    value[vlen] = '\0';
    if (!strcmp(kind, "owner") || !strcmp(kind, "pid"))
        return pid_pair_ok(value) ? 0 : -1;
    if (!strcmp(kind, "ns") || !strcmp(kind, "link"))
        return name_ok(value) ? 0 : -1;
    if (!strcmp(kind, "wgsock")) {
        size_t n = strlen(value);
        return path_ok(value) &&
                       (!strncmp(value, "/var/run/wireguard/", 19) ||
                        !strncmp(value, "/run/wireguard/", 15)) &&
                       n > 5 && !strcmp(value + n - 5, ".sock")
                   ? 0
                   : -1;
    }
    if (!strcmp(kind, "dir")) {
        const char *base = strrchr(value, '/');
        return path_ok(value) && base &&
                       (!strncmp(base + 1, "eb", 2) || !strncmp(base + 1, "edgebench", 9))
                   ? 0
                   : -1;
    }
    return -1;
}

static int rm_entry_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

int nlstate_remove_dir(const char *path)
{
    return nftw(path, rm_entry_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static bool owner_alive(const char *value)
{
    int pid = 0;
    unsigned long long start = 0;
    if (sscanf(value, "%d %llu", &pid, &start) != 2)
        return false;
    return pid == getpid() || (nlproc_start_time(pid) == start && start != 0);
}

struct entry {
    char kind[16];
    char value[512];
};

static int read_entries(const char *path, struct entry **out, size_t *count)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    struct entry *v = NULL;
    size_t n = 0, cap = 0;
    char line[640];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 32;
            struct entry *p = realloc(v, c * sizeof(*p));
            if (!p)
                break;
            v = p;
            cap = c;
        }
        if (nlstate_parse_line(line, v[n].kind, sizeof(v[n].kind), v[n].value, sizeof(v[n].value)) <
            0) {
            line[strcspn(line, "\n")] = '\0';
            log_warn("%s line %d: ignoring malformed entry '%.80s'", path, lineno, line);
            continue;
        }
        n++;
    }
    fclose(f);
    *out = v;
    *count = n;
    return 0;
}

static int undo_kind(const struct entry *v, size_t n, const char *kind, FILE *report)
{
    int removed = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].kind, kind))
            continue;
        const char *val = v[i].value;
        if (!strcmp(kind, "pid")) {
            int pid = 0;
            unsigned long long start = 0;
            sscanf(val, "%d %llu", &pid, &start);
            if (pid != getpid() && start && nlproc_start_time(pid) == start) {
                nlproc_stop(pid, 2000);
                removed++;
                if (report)
                    fprintf(report, "stopped process %d\n", pid);
            }
        } else if (!strcmp(kind, "ns")) {
            char p[600];
            snprintf(p, sizeof(p), "/run/netns/%s", val);
            if (access(p, F_OK) < 0)
                continue;
            int k = nlproc_stop_ns(val, 2000);
            if (k > 0 && report)
                fprintf(report, "stopped %d process%s in namespace %s\n", k, k == 1 ? "" : "es",
                        val);
            const char *argv[] = {"ip", "netns", "del", val, NULL};
            if (nlproc_check(NULL, argv) == 0) {
                removed++;
                if (report)
                    fprintf(report, "deleted namespace %s\n", val);
            }
        } else if (!strcmp(kind, "link")) {
            char p[600];
            snprintf(p, sizeof(p), "/sys/class/net/%s", val);
            /* A veth goes with its peer's namespace, asynchronously. */
            for (int w = 0; w < 50 && access(p, F_OK) == 0; w++)
                usleep(10000);
            if (access(p, F_OK) < 0)
                continue;
            const char *argv[] = {"ip", "link", "del", val, NULL};
            if (nlproc_check(NULL, argv) == 0) {
                removed++;
                if (report)
                    fprintf(report, "deleted interface %s\n", val);
            }
        } else if (!strcmp(kind, "wgsock")) {
            if (unlink(val) == 0) {
                removed++;
                if (report)
                    fprintf(report, "removed %s\n", val);
            }
        } else if (!strcmp(kind, "dir")) {
            if (access(val, F_OK) == 0) {
                nftw(val, rm_entry_cb, 16, FTW_DEPTH | FTW_PHYS);
                removed++;
                if (report)
                    fprintf(report, "removed %s\n", val);
            }
        }
    }
    return removed;
}

int nlstate_undo(const char *path, bool dirs, FILE *report)
{
    struct entry *v = NULL;
    size_t n = 0;
    if (read_entries(path, &v, &n) < 0)
        return -1;
    static const char *const order[] = {"pid", "ns", "link", "wgsock", "dir"};
    int removed = 0;
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
        if (dirs || strcmp(order[k], "dir"))
            removed += undo_kind(v, n, order[k], report);
    free(v);
    unlink(path);
    return removed;
}

int nlstate_cleanup(bool force, FILE *report)
{
    const char *dir = nlstate_dir();
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    int total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 7 || strcmp(de->d_name + len - 6, ".state"))
            continue;
        char path[768];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct entry *v = NULL;
        size_t n = 0;
        if (read_entries(path, &v, &n) < 0)
            continue;
        bool alive = false;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(v[i].kind, "owner"))
                alive = owner_alive(v[i].value);
        free(v);
        if (alive && !force) {
            if (report)
                fprintf(report, "%s: its lab is still running; left alone\n", path);
            continue;
        }
        int k = nlstate_undo(path, true, report);
        if (k > 0)
            total += k;
    }
    closedir(d);
    return total;
}
