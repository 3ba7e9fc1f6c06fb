#include "lab/links.h"

#include "core/log.h"
#include "lab/sys.h"
#include "netlab/labwg.h"
#include "netlab/nlproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAN_READY_TIMEOUT_MS 20000

int links_format_line(char *buf, size_t len, const char *listen_addr, uint16_t listen_port,
                      const struct lab_db_endpoint *to, double rtt_ms)
{
    bool v6 = strchr(to->host, ':') != NULL;
    int n = snprintf(buf, len, "--listen %s:%u --to %s%s%s:%u --rtt %.3fms\n", listen_addr,
                     listen_port, v6 ? "[" : "", to->host, v6 ? "]" : "", to->port, rtt_ms);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int write_links_file(struct links *l, const char *tmpdir, const struct lab_db_endpoint *db,
                            const struct lab_plan *plan, const uint16_t *link_ports, char *err,
                            size_t errlen)
{
    int rc = -1;
    snprintf(l->file, sizeof(l->file), "%s/links.conf", tmpdir);
    int fd = open(l->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot create %s: %s", l->file, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto cleanup;
    }
    fprintf(f, "# edgebench lab: one WAN link per region, region -> database (%s)\n",
            plan->site->name);
    for (size_t i = 0; i < plan->n; i++) {
        char line[512];
        if (links_format_line(line, sizeof(line), "127.0.0.1", link_ports[i], db,
                              plan->regions[i].rtt_ms) < 0) {
            snprintf(err, errlen, "link line for %s too long", plan->regions[i].region->code);
            goto cleanup;
        }
        fprintf(f, "# %s\n%s", plan->regions[i].region->code, line);
    }
    if (fflush(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", l->file, strerror(errno));
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (f)
        fclose(f);
    return rc;
}

/* Reads the wan's stdout until its "ready: N links" line. */
static int wait_wan_ready(struct links *l, struct supervisor *sup, size_t nlinks, char *err,
                          size_t errlen)
{
    char buf[1024];
    size_t have = 0;
    for (int waited = 0; waited < WAN_READY_TIMEOUT_MS;) {
        struct child *which = NULL;
        enum sup_event ev = sup_wait(sup, 100, l->wan.out_fd, &which);
        if (ev == SUP_SIGNAL) {
            snprintf(err, errlen, "interrupted");
            return -1;
        }
        if (ev == SUP_CHILD_EXIT) {
            char how[96];
            child_describe_exit(which, how, sizeof(how));
            snprintf(err, errlen, "%s %s while the links were starting", which->name, how);
            return -1;
        }
        if (ev == SUP_ERROR) {
            snprintf(err, errlen, "waiting for the wan: %s", strerror(errno));
            return -1;
        }
        if (ev == SUP_TIMEOUT) {
            waited += 100;
            continue;
        }
        ssize_t n = read(l->wan.out_fd, buf + have, sizeof(buf) - 1 - have);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            /* stdout closed: its exit follows; wait for it to name the cause */
            close(l->wan.out_fd);
            l->wan.out_fd = -1;
            continue;
        }
        if (n < 0)
            continue;
        have += (size_t)n;
        buf[have] = 0;
        char *nl;
        while ((nl = strchr(buf, '\n'))) {
            *nl = 0;
            unsigned long count;
            if (sscanf(buf, "ready: %lu", &count) == 1) {
                if (count != nlinks)
                    log_warn("the wan reported %lu links ready, %zu expected", count, nlinks);
                return 0;
            }
            size_t rest = have - (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, rest + 1);
            have = rest;
        }
        if (have == sizeof(buf) - 1)
            have = 0; /* a line longer than the buffer is not the ready line */
    }
    snprintf(err, errlen, "the wan did not print its ready line within %d s (log: %s)",
             WAN_READY_TIMEOUT_MS / 1000, l->wan.log);
    return -1;
}

static int links_up_none(struct links *l, struct supervisor *sup, const char *exe,
                         const char *tmpdir, const char *logdir, const struct lab_db_endpoint *db,
                         const struct lab_plan *plan, struct lab_link *out, char *err,
                         size_t errlen)
{
    int rc = -1;
    uint16_t link_port[PROFILE_MAX];
    int fds[2 * PROFILE_MAX];
    size_t nfds = 0;
    /* Reserve every port at once so that they all differ. */
    for (size_t i = 0; i < plan->n; i++) {
        struct lab_link *k = &out[i];
        memset(k, 0, sizeof(*k));
        if (sys_reserve_port(&link_port[i], &fds[nfds++]) < 0 ||
            sys_reserve_port(&k->port, &fds[nfds++]) < 0) {
            nfds--;
            snprintf(err, errlen, "no free TCP port on 127.0.0.1: %s", strerror(errno));
            goto cleanup;
        }
        snprintf(k->listen_addr, sizeof(k->listen_addr), "127.0.0.1");
        snprintf(k->db_host, sizeof(k->db_host), "127.0.0.1");
        k->db_port = link_port[i];
        snprintf(k->url, sizeof(k->url), "http://127.0.0.1:%u", k->port);
    }
    if (write_links_file(l, tmpdir, db, plan, link_port, err, errlen) < 0)
        goto cleanup;
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    nfds = 0;
    char log[PATH_MAX], prog[PATH_MAX];
    snprintf(log, sizeof(log), "%s/wan.log", logdir);
    snprintf(prog, sizeof(prog), "%s", exe);
    char *argv[] = {prog, "wan", "--links", l->file, NULL};
    struct spawn_opts o = {.argv = argv, .log_path = log, .pipe_stdout = true};
    snprintf(l->wan.name, sizeof(l->wan.name), "wan");
    if (sup_spawn(sup, &l->wan, &o, err, errlen) < 0)
        goto cleanup;
    if (wait_wan_ready(l, sup, plan->n, err, errlen) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    return rc;
}

/* netlab gives up when SIGINT/SIGTERM/SIGHUP is pending; reading it makes
 * the lab report the signal rather than the step it interrupted. */
static void note_signal(struct supervisor *sup)
{
    struct child *which = NULL;
    sup_wait(sup, 0, -1, &which);
}

/* netlab's children go through the lab's supervisor, so that one place
 * reaps them and the death of any of them stops the lab. */
static pid_t wg_spawn(void *ctx, const char *name, const char *ns, const char *const argv[],
                      const char *const env[], const char *log_path)
{
    struct links *l = ctx;
    if (l->n_wg_children >= sizeof(l->wg_children) / sizeof(l->wg_children[0]))
        return -1;
    char prog[PATH_MAX];
    if (strchr(argv[0], '/')) {
        snprintf(prog, sizeof(prog), "%s", argv[0]);
    } else if (nlproc_find_in_path(argv[0], prog, sizeof(prog)) < 0) {
        log_error("%s is not installed (scripts/deps.sh run)", argv[0]);
        return -1;
    }
    char *av[16], *ev[8];
    size_t n = 0;
    av[n++] = prog;
    for (size_t i = 1; argv[i] && n < 15; i++)
        av[n++] = (char *)argv[i];
    av[n] = NULL;
    n = 0;
    for (size_t i = 0; env && env[i] && n < 7; i++)
        ev[n++] = (char *)env[i];
    ev[n] = NULL;
    struct child *c = &l->wg_children[l->n_wg_children];
    struct spawn_opts o = {
        .argv = av, .env = ev, .log_path = log_path, .netns = ns, .death_signal = SIGTERM};
    snprintf(c->name, sizeof(c->name), "%s", name);
    char err[512];
    if (sup_spawn(l->sup, c, &o, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    l->n_wg_children++;
    return c->pid;
}

int links_prepare(struct links *l, struct supervisor *sup, const char *exe, const char *tmpdir,
                  const struct lab_plan *plan, const char *topology, const char *record_dir,
                  char *listen, size_t listen_len, char *client, size_t client_len, char *err,
                  size_t errlen)
{
    static struct netlab_spawner spawner;
    const char *codes[PROFILE_MAX];
    static double rtt[PROFILE_MAX];
    char dir[PATH_MAX];
    memset(l, 0, sizeof(*l));
    l->mode = LAB_OVERLAY_WIREGUARD;
    l->wan.out_fd = -1;
    l->sup = sup;
    if (sys_path(dir, sizeof(dir), tmpdir, "wg") < 0 || mkdir(dir, 0700) < 0) {
        snprintf(err, errlen, "cannot create %s/wg: %s", tmpdir, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < plan->n; i++) {
        codes[i] = plan->regions[i].region->code;
        rtt[i] = plan->regions[i].rtt_ms;
    }
    spawner.ctx = l;
    spawner.spawn = wg_spawn;
    struct labwg_config cfg = {.exe = exe,
                               .dir = dir,
                               .codes = codes,
                               .rtt_ms = rtt,
                               .n = plan->n,
                               .topology = topology,
                               .record_dir = record_dir,
                               .spawner = &spawner,
                               .stop = &sup->signal};
    if (labwg_prepare(&cfg, &l->wg, err, errlen) < 0) {
        note_signal(sup);
        return -1;
    }
    snprintf(listen, listen_len, "%s", labwg_db_listen(l->wg));
    snprintf(client, client_len, "%s", labwg_db_client(l->wg));
    return 0;
}

static int links_up_wireguard(struct links *l, const struct lab_db_endpoint *db,
                              const struct lab_plan *plan, struct lab_link *out, char *err,
                              size_t errlen)
{
    if (!l->wg) {
        snprintf(err, errlen, "the WireGuard lab was not prepared");
        return -1;
    }
    if (labwg_up(l->wg, db->port, err, errlen) < 0) {
        note_signal(l->sup);
        return -1;
    }
    for (size_t i = 0; i < plan->n; i++) {
        struct lab_link *k = &out[i];
        memset(k, 0, sizeof(*k));
        const char *addr = labwg_overlay_addr(l->wg, i);
        snprintf(k->listen_addr, sizeof(k->listen_addr), "%s", addr);
        k->port = 8080;
        snprintf(k->db_host, sizeof(k->db_host), "%s", labwg_db_host(l->wg));
        k->db_port = 5432;
        snprintf(k->url, sizeof(k->url), "http://%s:%u", addr, k->port);
        snprintf(k->netns, sizeof(k->netns), "%s", labwg_ns(l->wg, (int)i));
    }
    labwg_report(l->wg, stderr);
    /* From here on the lab's health checks and the collector are on the hub. */
    if (netlab_enter(labwg_netlab(l->wg), -1) < 0) {
        snprintf(err, errlen, "cannot enter the hub's namespace");
        return -1;
    }
    return 0;
}

int links_up(struct links *l, enum lab_overlay mode, struct supervisor *sup, const char *exe,
             const char *tmpdir, const char *logdir, const struct lab_db_endpoint *db,
             const struct lab_plan *plan, struct lab_link *out, char *err, size_t errlen)
{
    if (mode == LAB_OVERLAY_WIREGUARD)
        return links_up_wireguard(l, db, plan, out, err, errlen);
    memset(l, 0, sizeof(*l));
    l->mode = mode;
    l->wan.out_fd = -1;
    switch (mode) {
    case LAB_OVERLAY_NONE:
        return links_up_none(l, sup, exe, tmpdir, logdir, db, plan, out, err, errlen);
    case LAB_OVERLAY_WIREGUARD:
    case LAB_OVERLAY_AUTO:
        break;
    }
    snprintf(err, errlen, "overlay mode '%s' is not available in this build",
             lab_overlay_name(mode));
    return -1;
}

void links_down(struct links *l, struct supervisor *sup)
{
    if (!l)
        return;
    switch (l->mode) {
    case LAB_OVERLAY_WIREGUARD:
        for (size_t i = l->n_wg_children; i > 0; i--)
            sup_stop(sup, &l->wg_children[i - 1], 3000);
        labwg_down(l->wg);
        l->wg = NULL;
        break;
    case LAB_OVERLAY_NONE:
    case LAB_OVERLAY_AUTO:
        sup_stop(sup, &l->wan, 3000);
        break;
    }
}

struct child *links_component(struct links *l)
{
    return l && l->wan.pid > 0 ? &l->wan : NULL;
}
