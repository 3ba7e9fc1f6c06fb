#include "netlab/netlab.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "netlab/nlproc.h"
#include "netlab/nlstate.h"
#include "netlab/nlwgconf.h"

#include <arpa/inet.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WG_SOCK_DIR "/var/run/wireguard"
/* The emulated network path (wireguard-go, the WAN links) runs at a higher
 * priority than the backends and the collector: on a real machine WireGuard
 * and the internet are not starved by the application, and on a loaded one
 * each scheduling delay of a userspace hop would be counted as latency. */
#define NETLAB_PATH_NICE "-10"

/* $EDGEBENCH_NETLAB_NICE (-20..19) overrides it, e.g. 0 to compare. */
static const char *path_nice(void)
{
    const char *v = getenv("EDGEBENCH_NETLAB_NICE");
    long n;
    return v && parse_long(v[0] == '-' ? v + 1 : v, 0, 20, &n) == 0 ? v : NETLAB_PATH_NICE;
}

struct child {
    pid_t pid;
    unsigned long long start; /* its start time, to tell it from a reused pid */
    bool external;            /* started by the caller's spawner: never reaped here */
    bool exited;
    int status;
    char what[64];
    char log[PATH_MAX];
};

struct node {
    char ns[48];
    char ifname[32];    /* wireguard-go interface (at most 15 characters) */
    char code[16];      /* region code; "hub" */
    char link_addr[20]; /* region: its end of the link to the hub */
    char hub_side[20];  /* region: the hub's end of that link */
    char hub_if[32];    /* region: the hub's interface toward it */
    bool wg_up;
    size_t wg_child; /* its wireguard-go: lab->children[wg_child - 1]; 0 none */
};

struct netlab {
    int id;
    uint32_t base; /* the underlay /24, host byte order */
    char underlay[64];
    char hub_addr[20];
    char db_addr[20], db_peer[20];
    char host_link[16];
    char workdir[512];
    char wan_exe[512];
    char nat_sh[PATH_MAX];
    bool nat_applied;
    int lock_fd;
    struct nlstate *state;
    struct node hub;
    struct node *regions;
    size_t n;
    struct child *children;
    size_t n_children;
    volatile sig_atomic_t *stop;
    const struct netlab_spawner *spawner;
    int home_fd; /* the namespace netlab_enter left, or -1 */
};

static const char *const db_ifname = "to-db";

static void addr_text(uint32_t a, char *buf, size_t len)
{
    struct in_addr in = {htonl(a)};
    inet_ntop(AF_INET, &in, buf, (socklen_t)len);
}

/* A stop request: the caller's flag, or SIGINT/SIGTERM/SIGHUP pending while
 * the caller blocks them (a caller that reads signals from a signalfd). */
static bool stopping(const struct netlab *lab)
{
    if (lab->stop && *lab->stop)
        return true;
    sigset_t pending;
    if (sigpending(&pending) < 0)
        return false;
    return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 ||
           sigismember(&pending, SIGHUP) == 1;
}

static bool in_path(const char *prog)
{
    char buf[1024];
    return nlproc_find_in_path(prog, buf, sizeof(buf)) == 0;
}

const char *netlab_unsupported(char *buf, size_t len)
{
    if (geteuid() != 0) {
        snprintf(buf, len,
                 "the WireGuard overlay lab needs root (network namespaces, TUN devices, "
                 "iptables): run it as root, or use --overlay none for loopback links");
        return buf;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(buf, len,
                 "cannot open /dev/net/tun (%s): load the tun module (modprobe tun), or give "
                 "the container the device (docker run --device /dev/net/tun --cap-add "
                 "NET_ADMIN); or use --overlay none",
                 strerror(errno));
        return buf;
    }
    close(fd);
    static const char *const tools[][2] = {
        {"wireguard-go", "wireguard-go"}, {"wg", "wireguard-tools"},
        {"wg-quick", "wireguard-tools"},  {"ip", "iproute2"},
        {"iptables", "iptables"},
    };
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        if (!in_path(tools[i][0])) {
            snprintf(buf, len,
                     "%s is not installed: run scripts/deps.sh run (or apt-get install "
                     "--no-install-recommends %s); or use --overlay none",
                     tools[i][0], tools[i][1]);
            return buf;
        }
    }
    return NULL;
}

/* ---- choosing the underlay ---------------------------------------------- */

struct prefixes {
    struct nlwg_cidr *v;
    size_t n;
};

static void prefixes_add(struct prefixes *p, const char *text)
{
    struct nlwg_cidr c;
    if (nlwgconf_parse_cidr(text, &c) < 0 || c.family != AF_INET || c.prefix == 0)
        return;
    struct nlwg_cidr *q = realloc(p->v, (p->n + 1) * sizeof(*q));
    if (!q)
        return;
    q[p->n++] = c;
    p->v = q;
}

/* Every IPv4 prefix the host namespace routes or owns (`ip -j`). */
static int host_prefixes(struct prefixes *p)
{
    const char *routes[] = {"ip", "-j", "-4", "route", "show", "table", "all", NULL};
    const char *addrs[] = {"ip", "-j", "-4", "addr", "show", NULL};
    const char *const *cmds[] = {routes, addrs};
    for (size_t c = 0; c < 2; c++) {
        struct nlproc_result r;
        if (nlproc_run(NULL, cmds[c], NULL, 0, 10000, &r) < 0 || r.status != 0) {
            nlproc_result_free(&r);
            log_error("cannot list the host's routes and addresses with 'ip -j'");
            return -1;
        }
        json_error_t je;
        json_t *root = json_loads(r.out, 0, &je);
        nlproc_result_free(&r);
        if (!json_is_array(root)) {
            json_decref(root);
            log_error("cannot parse the output of 'ip -j' (%s)", je.text);
            return -1;
        }
        size_t i;
        json_t *e;
        json_array_foreach(root, i, e)
        {
            const char *dst = json_string_value(json_object_get(e, "dst"));
            if (dst && strcmp(dst, "default"))
                prefixes_add(p, dst);
            json_t *ai = json_object_get(e, "addr_info");
            size_t j;
            json_t *a;
            json_array_foreach(ai, j, a)
            {
                const char *local = json_string_value(json_object_get(a, "local"));
                json_int_t plen = json_integer_value(json_object_get(a, "prefixlen"));
                char buf[64];
                if (local) {
                    snprintf(buf, sizeof(buf), "%s/%d", local, (int)plen);
                    prefixes_add(p, buf);
                }
            }
        }
        json_decref(root);
    }
    return 0;
}

static bool block_free(const struct prefixes *p, const struct nlwg_cidr *block)
{
    for (size_t i = 0; i < p->n; i++)
        if (nlwgconf_cidr_overlap(&p->v[i], block))
            return false;
    return true;
}

static int choose_underlay(struct netlab *lab, const struct netlab_options *opt)
{
    struct prefixes p = {0};
    int rc = -1;
    if (host_prefixes(&p) < 0)
        goto cleanup;
    if (opt->avoid)
        prefixes_add(&p, opt->avoid);
    struct nlwg_cidr block;
    if (opt->underlay) {
        if (nlwgconf_parse_cidr(opt->underlay, &block) < 0 || block.family != AF_INET ||
            block.prefix != 24 || block.addr[3] != 0) {
            log_error("--underlay '%s' is not an IPv4 /24 (e.g. 10.201.0.0/24)", opt->underlay);
            goto cleanup;
        }
        if (!block_free(&p, &block)) {
            log_error("--underlay %s overlaps a route or address of this machine (or the "
                      "overlay); pick another /24",
                      opt->underlay);
            goto cleanup;
        }
    } else {
        bool found = false;
        for (int x = 201; x <= 254 && !found; x++)
            for (int y = 0; y <= 255 && !found; y++) {
                char t[32];
                snprintf(t, sizeof(t), "10.%d.%d.0/24", x, y);
                nlwgconf_parse_cidr(t, &block);
                found = block_free(&p, &block);
            }
        if (!found) {
            log_error("no free /24 in 10.201.0.0-10.254.255.0 for the lab's underlay; pass "
                      "--underlay CIDR");
            goto cleanup;
        }
    }
    lab->base = ((uint32_t)block.addr[0] << 24) | ((uint32_t)block.addr[1] << 16) |
                ((uint32_t)block.addr[2] << 8);
    snprintf(lab->underlay, sizeof(lab->underlay), "%s", block.text);
    rc = 0;
cleanup:
    free(p.v);
    return rc;
}

/* ---- plan ---------------------------------------------------------------- */

static bool code_ok(const char *c)
{
    size_t n = strlen(c);
    if (n == 0 || n > 8)
        return false;
    for (const char *p = c; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static bool id_in_use(int id)
{
    char p[256];
    snprintf(p, sizeof(p), "/run/netns/eb%d-hub", id);
    if (access(p, F_OK) == 0)
        return true;
    snprintf(p, sizeof(p), "/sys/class/net/ebv%dd", id);
    if (access(p, F_OK) == 0)
        return true;
    snprintf(p, sizeof(p), WG_SOCK_DIR "/ebw%dh.sock", id);
    if (access(p, F_OK) == 0)
        return true;
    snprintf(p, sizeof(p), "%s/eb%d.state", nlstate_dir(), id);
    return access(p, F_OK) == 0;
}

static void self_exe(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    buf[n > 0 ? n : 0] = '\0';
}

int netlab_plan(const struct netlab_options *opt, struct netlab **out)
{
    struct netlab *lab = calloc(1, sizeof(*lab));
    int rc = -1;
    if (!lab)
        goto cleanup;
    lab->lock_fd = -1;
    lab->home_fd = -1;
    lab->stop = opt->stop;
    lab->spawner = opt->spawner;
    if (opt->n_regions == 0 || opt->n_regions > NETLAB_MAX_REGIONS) {
        log_error("the overlay lab takes 1..%d regions, not %zu", NETLAB_MAX_REGIONS,
                  opt->n_regions);
        goto cleanup;
    }
    for (size_t i = 0; i < opt->n_regions; i++) {
        if (!code_ok(opt->codes[i]) || !strcmp(opt->codes[i], "hub")) {
            log_error("region code '%s' must be 1-8 lowercase letters or digits (not 'hub')",
                      opt->codes[i]);
            goto cleanup;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(opt->codes[i], opt->codes[j])) {
                log_error("region '%s' is listed twice", opt->codes[i]);
                goto cleanup;
            }
    }
    snprintf(lab->workdir, sizeof(lab->workdir), "%s", opt->workdir);
    /* A real path: the WAN is started through `nice`, for which
     * /proc/self/exe would be nice itself. */
    if (opt->wan_exe && strcmp(opt->wan_exe, "/proc/self/exe"))
        snprintf(lab->wan_exe, sizeof(lab->wan_exe), "%s", opt->wan_exe);
    else
        self_exe(lab->wan_exe, sizeof(lab->wan_exe));

    /* One lock for every lab on the machine, wherever its state file lives. */
    const char *lockp = "/run/edgebench-netlab.lock";
    lab->lock_fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lab->lock_fd < 0 || flock(lab->lock_fd, LOCK_EX) < 0) {
        log_error("cannot lock %s: %s", lockp, strerror(errno));
        goto cleanup;
    }
    int id = (int)(getpid() % 1000);
    for (int tries = 0; id_in_use(id); tries++) {
        if (tries >= 1000) {
            log_error("no free lab id: run 'edgebench lab cleanup'");
            goto cleanup;
        }
        id = (id + 1) % 1000;
    }
    lab->id = id;
    if (choose_underlay(lab, opt) < 0)
        goto cleanup;
    addr_text(lab->base + 254, lab->hub_addr, sizeof(lab->hub_addr));
    addr_text(lab->base + 1, lab->db_peer, sizeof(lab->db_peer));
    addr_text(lab->base + 2, lab->db_addr, sizeof(lab->db_addr));
    snprintf(lab->host_link, sizeof(lab->host_link), "ebv%dd", id);
    snprintf(lab->hub.ns, sizeof(lab->hub.ns), "eb%d-hub", id);
    snprintf(lab->hub.ifname, sizeof(lab->hub.ifname), "ebw%dh", id);
    snprintf(lab->hub.code, sizeof(lab->hub.code), "hub");
    lab->regions = calloc(opt->n_regions, sizeof(*lab->regions));
    if (!lab->regions)
        goto cleanup;
    lab->n = opt->n_regions;
    for (size_t i = 0; i < lab->n; i++) {
        struct node *r = &lab->regions[i];
        uint32_t link = lab->base + 4 * (uint32_t)(i + 1);
        snprintf(r->code, sizeof(r->code), "%s", opt->codes[i]);
        snprintf(r->ns, sizeof(r->ns), "eb%d-%s", id, r->code);
        snprintf(r->ifname, sizeof(r->ifname), "ebw%dr%d", id, (int)i);
        snprintf(r->hub_if, sizeof(r->hub_if), "u-%s", r->code);
        addr_text(link + 1, r->hub_side, sizeof(r->hub_side));
        addr_text(link + 2, r->link_addr, sizeof(r->link_addr));
    }
    char name[32];
    snprintf(name, sizeof(name), "eb%d", id);
    if (nlstate_open(name, &lab->state) < 0)
        goto cleanup;
    log_info("overlay lab %d: underlay %s, hub endpoint address %s, PostgreSQL side %s "
             "(%d is this lab's id: namespaces eb%d-*, WireGuard interfaces ebw%d*)",
             id, lab->underlay, lab->hub_addr, lab->db_addr, id, id, id);
    *out = lab;
    lab = NULL;
    rc = 0;
cleanup:
    netlab_down(lab);
    return rc;
}

/* ---- underlay ------------------------------------------------------------ */

static int run(const char *ns, const char *const argv[])
{
    return nlproc_check(ns, argv);
}

/* Runs `ip [-n ns] -batch -` with the given commands, one per line: one
 * process for many steps (it stops at the first that fails). */
static int ip_batch(const char *ns, const char *cmds)
{
    const char *with_ns[] = {"ip", "-n", ns, "-batch", "-", NULL};
    const char *host[] = {"ip", "-batch", "-", NULL};
    struct nlproc_result r;
    if (nlproc_run(NULL, ns ? with_ns : host, cmds, strlen(cmds), 30000, &r) < 0) {
        log_error("cannot run ip: %s", strerror(errno));
        return -1;
    }
    int rc = r.status == 0 ? 0 : -1;
    if (rc < 0) {
        size_t n = r.err_len;
        while (n && r.err[n - 1] == '\n')
            r.err[--n] = '\0';
        log_error("ip%s%s -batch failed (exit %d): %s", ns ? " -n " : "", ns ? ns : "", r.status,
                  n ? r.err : "(no message)");
        log_debug("the commands were:\n%s", cmds);
    } else {
        log_debug("ip%s%s -batch:\n%s", ns ? " -n " : "", ns ? ns : "", cmds);
    }
    nlproc_result_free(&r);
    return rc;
}

/* A growing text of commands. */
struct cmds {
    char *text;
    size_t len, cap;
    bool oom;
};

static void cmds_add(struct cmds *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cmds_add(struct cmds *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) - 1) {
        c->oom = true;
        return;
    }
    if (c->len + (size_t)n + 2 > c->cap) {
        size_t cap = (c->cap ? c->cap * 2 : 4096) + (size_t)n;
        char *p = realloc(c->text, cap);
        if (!p) {
            c->oom = true;
            return;
        }
        c->text = p;
        c->cap = cap;
    }
    memcpy(c->text + c->len, line, (size_t)n);
    c->len += (size_t)n;
    c->text[c->len++] = '\n';
    c->text[c->len] = '\0';
}

static int cmds_run(struct cmds *c, const char *ns)
{
    int rc = c->oom ? -1 : ip_batch(ns, c->text ? c->text : "");
    if (c->oom)
        log_error("out of memory building ip commands");
    free(c->text);
    memset(c, 0, sizeof(*c));
    return rc;
}

int netlab_underlay_up(struct netlab *lab)
{
    struct cmds host = {0}, hub = {0}, reg = {0};
    int rc = -1;
    /* Everything the host-side batch creates is in the state file first. */
    if (nlstate_add(lab->state, "ns", lab->hub.ns) < 0 ||
        nlstate_add(lab->state, "link", lab->host_link) < 0)
        goto cleanup;
    for (size_t i = 0; i < lab->n; i++)
        if (nlstate_add(lab->state, "ns", lab->regions[i].ns) < 0)
            goto cleanup;

    /* The namespaces and every veth pair, created directly in their namespaces;
     * the hub's link to the host, where PostgreSQL listens. */
    cmds_add(&host, "netns add %s", lab->hub.ns);
    for (size_t i = 0; i < lab->n; i++)
        cmds_add(&host, "netns add %s", lab->regions[i].ns);
    cmds_add(&host, "link add %s type veth peer name %s netns %s", lab->host_link, db_ifname,
             lab->hub.ns);
    cmds_add(&host, "addr add %s/30 dev %s", lab->db_addr, lab->host_link);
    cmds_add(&host, "link set %s up", lab->host_link);
    for (size_t i = 0; i < lab->n; i++)
        cmds_add(&host, "link add %s netns %s type veth peer name eth0 netns %s",
                 lab->regions[i].hub_if, lab->hub.ns, lab->regions[i].ns);
    if (cmds_run(&host, NULL) < 0)
        goto cleanup;
    /* The host's addresses exist now: another lab planning after us sees them. */
    if (lab->lock_fd >= 0) {
        close(lab->lock_fd);
        lab->lock_fd = -1;
    }

    /* The hub: its public address on lo, its end of every link. */
    cmds_add(&hub, "link set lo up");
    cmds_add(&hub, "addr add %s/32 dev lo", lab->hub_addr);
    cmds_add(&hub, "addr add %s/30 dev %s", lab->db_peer, db_ifname);
    cmds_add(&hub, "link set %s up", db_ifname);
    for (size_t i = 0; i < lab->n; i++) {
        cmds_add(&hub, "addr add %s/30 dev %s", lab->regions[i].hub_side, lab->regions[i].hub_if);
        cmds_add(&hub, "link set %s up", lab->regions[i].hub_if);
    }
    if (stopping(lab) || cmds_run(&hub, lab->hub.ns) < 0)
        goto cleanup;

    /* Each region: its end of the link, and a route to the hub's public
     * address only (no default route: PostgreSQL is not reachable from here
     * except through the overlay). */
    for (size_t i = 0; i < lab->n; i++) {
        struct node *r = &lab->regions[i];
        cmds_add(&reg, "link set lo up");
        cmds_add(&reg, "addr add %s/30 dev eth0", r->link_addr);
        cmds_add(&reg, "link set eth0 up");
        cmds_add(&reg, "route add %s/32 via %s", lab->hub_addr, r->hub_side);
        if (stopping(lab) || cmds_run(&reg, r->ns) < 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    free(host.text);
    free(hub.text);
    free(reg.text);
    return rc;
}

/* ---- overlay ------------------------------------------------------------- */

static struct child *child_add(struct netlab *lab, pid_t pid, const char *what, const char *logp)
{
    struct child *c = realloc(lab->children, (lab->n_children + 1) * sizeof(*c));
    if (!c)
        return NULL;
    lab->children = c;
    c = &lab->children[lab->n_children++];
    memset(c, 0, sizeof(*c));
    c->pid = pid;
    c->start = nlproc_start_time(pid);
    c->external = lab->spawner != NULL;
    snprintf(c->what, sizeof(c->what), "%s", what);
    snprintf(c->log, sizeof(c->log), "%s", logp);
    return c;
}

static bool child_exited(struct child *c)
{
    if (c->exited)
        return true;
    if (c->external) {
        /* The caller reaps it: gone, a zombie, or another process by now. */
        char path[64], line[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)c->pid);
        FILE *f = fopen(path, "re");
        size_t n = f ? fread(line, 1, sizeof(line) - 1, f) : 0;
        if (f)
            fclose(f);
        line[n] = '\0';
        char *p = strrchr(line, ')');
        if (!p || (p[1] == ' ' && p[2] == 'Z') || nlproc_start_time(c->pid) != c->start) {
            c->exited = true;
            c->status = -1;
        }
        return c->exited;
    }
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid) {
        c->exited = true;
        c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return c->exited;
}

static void log_tail(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char buf[4096];
    if (fseek(f, -(long)sizeof(buf) + 1, SEEK_END) < 0)
        rewind(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The last three lines. */
    int lines = 0;
    char *p = buf + n;
    while (p > buf && lines < 4)
        if (*--p == '\n')
            lines++;
    if (*p == '\n')
        p++;
    if (*p)
        log_error("last lines of %s:\n%s", path, p);
}

static int open_log(struct netlab *lab, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s.log", lab->workdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        log_error("cannot create %s: %s", path, strerror(errno));
    return fd;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Starts wireguard-go for nd (it creates the interface and its control socket). */
static int spawn_wireguard_go(struct netlab *lab, struct node *nd)
{
    char sock[128], logp[600];
    int rc = -1, fd = -1;
    snprintf(sock, sizeof(sock), WG_SOCK_DIR "/%s.sock", nd->ifname);
    if (nlstate_add(lab->state, "wgsock", sock) < 0)
        goto cleanup;
    if ((fd = open_log(lab, nd->ifname, logp, sizeof(logp))) < 0)
        goto cleanup;
    const char *argv[] = {"nice", "-n", path_nice(), "wireguard-go", "-f", nd->ifname, NULL};
    const char *env[] = {"WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1", NULL};
    char what[64];
    snprintf(what, sizeof(what), "wireguard-go %s (%s)", nd->ifname, nd->code);
    pid_t pid = lab->spawner ? lab->spawner->spawn(lab->spawner->ctx, what, nd->ns, argv, env, logp)
                             : nlproc_spawn(nd->ns, argv, env, fd, fd);
    if (pid < 0) {
        log_error("cannot start wireguard-go for %s: %s", nd->code, strerror(errno));
        goto cleanup;
    }
    if (!child_add(lab, pid, what, logp)) {
        nlproc_stop(pid, 1000);
        goto cleanup;
    }
    nd->wg_child = lab->n_children;
    rc = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Waits (5 s at most) until every started wireguard-go has its control socket. */
static int wait_wireguard_go(struct netlab *lab)
{
    for (int tries = 0; tries < 500; tries++) {
        bool all = true;
        for (size_t i = 0; i <= lab->n; i++) {
            struct node *nd = i < lab->n ? &lab->regions[i] : &lab->hub;
            char sock[128];
            snprintf(sock, sizeof(sock), WG_SOCK_DIR "/%s.sock", nd->ifname);
            if (!nd->wg_child || access(sock, F_OK) == 0)
                continue;
            all = false;
            struct child *c = &lab->children[nd->wg_child - 1];
            if (child_exited(c)) {
                log_error("%s exited before it created %s", c->what, sock);
                log_tail(c->log);
                return -1;
            }
        }
        if (all)
            return 0;
        if (stopping(lab))
            return -1;
        sleep_ms(10);
    }
    log_error("wireguard-go did not create its control socket in %s within 5 s", WG_SOCK_DIR);
    return -1;
}

/* wg-quick's steps after the interface exists: setconf from the stripped file,
 * addresses, MTU and up, one route per AllowedIPs prefix not already covered. */
static int configure_wg(struct node *nd, const char *conf_path, const struct nlwg_conf *conf)
{
    int rc = -1;
    struct nlproc_result strip = {0};
    /* wg-quick takes a path only when it contains a slash. */
    char abs[PATH_MAX];
    if (!realpath(conf_path, abs)) {
        log_error("%s: %s", conf_path, strerror(errno));
        return -1;
    }
    const char *strip_argv[] = {"wg-quick", "strip", abs, NULL};
    if (nlproc_run(NULL, strip_argv, NULL, 0, 15000, &strip) < 0 || strip.status != 0) {
        log_error("'wg-quick strip %s' failed: %s", conf_path,
                  strip.err && *strip.err ? strip.err : "could not run it");
        goto cleanup;
    }
    struct nlproc_result set = {0};
    const char *set_argv[] = {"wg", "setconf", nd->ifname, "/dev/stdin", NULL};
    int r = nlproc_run(nd->ns, set_argv, strip.out, strip.out_len, 15000, &set);
    bool ok = r == 0 && set.status == 0;
    if (!ok)
        log_error("'wg setconf %s' with %s failed: %s", nd->ifname, conf_path,
                  set.err && *set.err ? set.err : "could not run it");
    nlproc_result_free(&set);
    if (!ok)
        goto cleanup;
    /* One ip process: addresses, MTU and up, then the routes (the family of
     * each follows from its address). */
    struct cmds c = {0};
    for (size_t i = 0; i < conf->n_addrs; i++)
        cmds_add(&c, "address add %s dev %s", conf->addrs[i].text, nd->ifname);
    cmds_add(&c, "link set mtu %d up dev %s", conf->mtu ? conf->mtu : 1420, nd->ifname);
    for (size_t p = 0; p < conf->n_peers && !conf->table_off; p++) {
        for (size_t k = 0; k < conf->peers[p].n_allowed; k++) {
            const struct nlwg_cidr *a = &conf->peers[p].allowed[k];
            bool covered = false;
            /* The address's own prefix route already covers it, as does an
             * earlier AllowedIPs entry. */
            for (size_t i = 0; i < conf->n_addrs && !covered; i++)
                covered = nlwgconf_cidr_within(a, &conf->addrs[i]);
            for (size_t q = 0; q <= p && !covered; q++)
                for (size_t j = 0; j < conf->peers[q].n_allowed && !covered; j++) {
                    if (q == p && j >= k)
                        break;
                    covered = nlwgconf_cidr_within(a, &conf->peers[q].allowed[j]);
                }
            if (!covered)
                cmds_add(&c, "route add %s dev %s", a->text, nd->ifname);
        }
    }
    if (cmds_run(&c, nd->ns) < 0)
        goto cleanup;
    nd->wg_up = true;
    rc = 0;
cleanup:
    if (strip.out)
        memset(strip.out, 0, strip.out_len); /* it held the private key */
    nlproc_result_free(&strip);
    return rc;
}

static int load_conf(const char *path, struct nlwg_conf *conf)
{
    char err[256];
    if (nlwgconf_load(path, conf, err, sizeof(err)) < 0) {
        log_error("%s: %s", path, err);
        return -1;
    }
    if (conf->has_hooks)
        log_warn("%s: DNS and Pre/PostUp/Down lines are not run by the lab", path);
    return 0;
}

/* The spoke's endpoint for the hub: an IPv4 literal and a port. */
static int spoke_endpoint(const char *path, const struct nlwg_conf *conf, char *addr,
                          size_t addrlen, uint16_t *port)
{
    for (size_t p = 0; p < conf->n_peers; p++) {
        if (!conf->peers[p].endpoint[0])
            continue;
        struct in_addr in;
        if (parse_hostport(conf->peers[p].endpoint, addr, addrlen, port) < 0 ||
            inet_pton(AF_INET, addr, &in) != 1) {
            log_error("%s: Endpoint '%s' is not IPv4-address:port; the lab has no DNS: render "
                      "the overlay with --hub-endpoint ADDRESS:PORT",
                      path, conf->peers[p].endpoint);
            return -1;
        }
        return 0;
    }
    log_error("%s: no peer has an Endpoint (the hub's address)", path);
    return -1;
}

static int run_nat(struct netlab *lab, const char *verb)
{
    char env_if[64], env_out[64], env_state[600];
    snprintf(env_if, sizeof(env_if), "WG_IFACE=%s", lab->hub.ifname);
    snprintf(env_out, sizeof(env_out), "OUT_IFACE=%s", db_ifname);
    /* nat.sh remembers what it changed; keep that with the lab, not in /run. */
    snprintf(env_state, sizeof(env_state), "NAT_STATE_DIR=%s/nat-state", lab->workdir);
    const char *env[] = {env_if, env_out, env_state, NULL};
    const char *direct[] = {lab->nat_sh, verb, db_ifname, NULL};
    const char *viash[] = {"sh", lab->nat_sh, verb, db_ifname, NULL};
    char logp[600];
    char name[32];
    snprintf(name, sizeof(name), "nat-%s", verb);
    int fd = open_log(lab, name, logp, sizeof(logp));
    if (fd < 0)
        return -1;
    pid_t pid =
        nlproc_spawn(lab->hub.ns, access(lab->nat_sh, X_OK) == 0 ? direct : viash, env, fd, fd);
    close(fd);
    if (pid < 0)
        return -1;
    int st = 0;
    uint64_t deadline = clock_now_ns() + 30000000000ull;
    pid_t w;
    while ((w = waitpid(pid, &st, WNOHANG)) == 0 && clock_now_ns() < deadline)
        sleep_ms(20);
    if (w == 0) {
        nlproc_stop(pid, 500);
        log_error("%s %s did not finish within 30 s", lab->nat_sh, verb);
        return -1;
    }
    if (w < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        log_error("%s %s %s failed in namespace %s (exit %d)", lab->nat_sh, verb, db_ifname,
                  lab->hub.ns, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        log_tail(logp);
        return -1;
    }
    return 0;
}

static int start_wan(struct netlab *lab, const char *links_path, int n_links)
{
    char logp[600];
    int fd = open_log(lab, "wan", logp, sizeof(logp));
    if (fd < 0)
        return -1;
    const char *argv[] = {"nice", "-n",      path_nice(), lab->wan_exe,
                          "wan",  "--links", links_path,  NULL};
    pid_t pid = lab->spawner ? lab->spawner->spawn(lab->spawner->ctx, "wan (spoke links)",
                                                   lab->hub.ns, argv, NULL, logp)
                             : nlproc_spawn(lab->hub.ns, argv, NULL, fd, fd);
    close(fd);
    if (pid < 0) {
        log_error("cannot start %s wan: %s", lab->wan_exe, strerror(errno));
        return -1;
    }
    struct child *c = child_add(lab, pid, "edgebench wan (the spokes' WAN links)", logp);
    if (!c) {
        nlproc_stop(pid, 1000);
        return -1;
    }
    for (int i = 0; i < 1000 && !stopping(lab); i++) {
        FILE *f = fopen(logp, "re");
        char line[256];
        bool ready = false;
        while (f && fgets(line, sizeof(line), f))
            if (!strncmp(line, "ready:", 6))
                ready = true;
        if (f)
            fclose(f);
        if (ready)
            return 0;
        if (child_exited(c))
            break;
        sleep_ms(10);
    }
    log_error("the WAN emulator did not print 'ready: %d links'%s", n_links,
              c->exited ? " (it exited)" : " within 10 s");
    log_tail(logp);
    return -1;
}

int netlab_overlay_up(struct netlab *lab, const char *hub_conf, const char *nat_sh,
                      const char *const *spoke_confs, const double *rtt_ms)
{
    struct nlwg_conf hub = {0};
    struct nlwg_conf *spokes = calloc(lab->n, sizeof(*spokes));
    FILE *links = NULL;
    struct cmds dnat = {0};
    int rc = -1;
    if (!spokes)
        goto cleanup;
    if (load_conf(hub_conf, &hub) < 0)
        goto cleanup;
    if (!hub.listen_port) {
        log_error("%s: the hub needs a ListenPort", hub_conf);
        goto cleanup;
    }
    for (size_t i = 0; i < lab->n; i++)
        if (load_conf(spoke_confs[i], &spokes[i]) < 0)
            goto cleanup;
    if (!realpath(nat_sh, lab->nat_sh)) {
        log_error("%s: %s", nat_sh, strerror(errno));
        goto cleanup;
    }

    /* The hub: its interface, then the NAT that makes 10.50.0.1:5432 PostgreSQL. */
    /* Every wireguard-go at once; the hub's configured first, the spokes'
     * once their WAN links exist. */
    if (spawn_wireguard_go(lab, &lab->hub) < 0)
        goto cleanup;
    for (size_t i = 0; i < lab->n; i++)
        if (spawn_wireguard_go(lab, &lab->regions[i]) < 0)
            goto cleanup;
    if (wait_wireguard_go(lab) < 0 || configure_wg(&lab->hub, hub_conf, &hub) < 0)
        goto cleanup;
    lab->nat_applied = true;
    if (run_nat(lab, "up") < 0)
        goto cleanup;

    /* The spokes' paths to the hub endpoint: its address on the hub, and a
     * WAN link per spoke that has a delay. */
    int wan_port = hub.listen_port == 65535 ? 65534 : hub.listen_port + 1;
    char links_path[600];
    snprintf(links_path, sizeof(links_path), "%s/wan-links.txt", lab->workdir);
    int n_links = 0;
    for (size_t i = 0; i < lab->n; i++) {
        struct node *r = &lab->regions[i];
        char ep[64], ep32[72];
        uint16_t port;
        if (spoke_endpoint(spoke_confs[i], &spokes[i], ep, sizeof(ep), &port) < 0)
            goto cleanup;
        if (strcmp(ep, lab->hub_addr)) {
            /* The rendered endpoint (e.g. the real hub's public address) is
             * given to the lab's hub, so the files are used unchanged. */
            snprintf(ep32, sizeof(ep32), "%s/32", ep);
            const char *lo[] = {"ip", "-n",  lab->hub.ns, "addr", "replace",
                                ep32, "dev", "lo",        NULL};
            const char *rt[] = {"ip", "-n",  r->ns,       "route", "replace",
                                ep32, "via", r->hub_side, NULL};
            if (run(NULL, lo) < 0 || run(NULL, rt) < 0)
                goto cleanup;
        }
        if (rtt_ms && rtt_ms[i] >= 0) {
            char dport[16], to[64];
            snprintf(dport, sizeof(dport), "%u", port);
            snprintf(to, sizeof(to), "%s:%d", r->hub_side, wan_port);
            cmds_add(&dnat,
                     "-A PREROUTING -i %s -d %s/32 -p udp -m udp --dport %s -j DNAT "
                     "--to-destination %s",
                     r->hub_if, ep, dport, to);
            if (!links) {
                links = fopen(links_path, "we");
                if (!links) {
                    log_error("cannot write %s: %s", links_path, strerror(errno));
                    goto cleanup;
                }
                fprintf(links, "# spoke -> hub WireGuard paths (UDP), one per region\n");
            }
            fprintf(links, "# %s\n--listen %s:%d --to 127.0.0.1:%d --rtt %.3fms --udp\n", r->code,
                    r->hub_side, wan_port, hub.listen_port, rtt_ms[i]);
            n_links++;
        } else if (port != hub.listen_port) {
            log_error("%s: Endpoint port %u is not the hub's ListenPort %d", spoke_confs[i], port,
                      hub.listen_port);
            goto cleanup;
        }
    }
    if (dnat.len) {
        /* All the diversions in one iptables-restore (added to what is there). */
        struct cmds rules = {0};
        cmds_add(&rules, "*nat");
        rules.oom |= dnat.oom;
        if (!rules.oom && dnat.text) {
            size_t need = rules.len + dnat.len + 16;
            char *p = realloc(rules.text, need);
            if (p) {
                rules.text = p;
                memcpy(rules.text + rules.len, dnat.text, dnat.len + 1);
                rules.len += dnat.len;
                rules.cap = need;
            } else {
                rules.oom = true;
            }
        }
        cmds_add(&rules, "COMMIT");
        const char *restore[] = {"iptables-restore", "-w", "--noflush", NULL};
        struct nlproc_result rr = {0};
        int r =
            rules.oom ? -1 : nlproc_run(lab->hub.ns, restore, rules.text, rules.len, 15000, &rr);
        bool ok = r == 0 && rr.status == 0;
        if (!ok)
            log_error("iptables-restore of the spokes' DNAT in %s failed: %s", lab->hub.ns,
                      rr.err && *rr.err ? rr.err : "could not run it");
        else
            log_debug("DNAT in %s:\n%s", lab->hub.ns, rules.text);
        nlproc_result_free(&rr);
        free(rules.text);
        if (!ok)
            goto cleanup;
    }
    if (links) {
        if (fclose(links) != 0) {
            links = NULL;
            log_error("cannot write %s", links_path);
            goto cleanup;
        }
        links = NULL;
        if (start_wan(lab, links_path, n_links) < 0)
            goto cleanup;
    }
    for (size_t i = 0; i < lab->n; i++) {
        if (stopping(lab))
            goto cleanup;
        if (configure_wg(&lab->regions[i], spoke_confs[i], &spokes[i]) < 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    if (links)
        fclose(links);
    free(dnat.text);
    nlwgconf_free(&hub);
    for (size_t i = 0; spokes && i < lab->n; i++)
        nlwgconf_free(&spokes[i]);
    free(spokes);
    return rc;
}

/* ---- handshakes ---------------------------------------------------------- */

/* Latest handshake (unix time) of every peer of nd: "KEY\tTIME" lines. */
static int handshakes(const struct node *nd, char **out)
{
    struct nlproc_result r;
    const char *argv[] = {"wg", "show", nd->ifname, "latest-handshakes", NULL};
    if (nlproc_run(nd->ns, argv, NULL, 0, 10000, &r) < 0)
        return -1;
    if (r.status != 0) {
        nlproc_result_free(&r);
        return -1;
    }
    free(r.err);
    *out = r.out;
    return 0;
}

/* The latest handshake of nd with the peer whose public key is `key` (unix
 * time; 0 when none yet, -1 when the interface does not answer). */
static long long peer_handshake(const struct node *nd, const char *key)
{
    char *text = NULL;
    if (handshakes(nd, &text) < 0)
        return -1;
    long long t = 0;
    size_t klen = strlen(key);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, key, klen) && line[klen] == '\t')
            t = atoll(line + klen + 1);
    free(text);
    return t;
}

static int public_key(const struct node *nd, char *buf, size_t len)
{
    struct nlproc_result r;
    const char *argv[] = {"wg", "show", nd->ifname, "public-key", NULL};
    int rc = -1;
    if (nlproc_run(nd->ns, argv, NULL, 0, 10000, &r) == 0 && r.status == 0 && r.out_len > 1) {
        r.out[strcspn(r.out, "\n")] = '\0';
        snprintf(buf, len, "%s", r.out);
        rc = 0;
    }
    nlproc_result_free(&r);
    return rc;
}

static size_t hub_handshakes(const struct node *nd)
{
    char *text = NULL;
    if (handshakes(nd, &text) < 0)
        return 0;
    size_t done = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (tab && atoll(tab + 1) > 0)
            done++;
    }
    free(text);
    return done;
}

/* Any datagram into the tunnel makes wireguard-go start a handshake. */
static void nudge(const struct node *nd, const char *hub_overlay)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (nlproc_enter(nd->ns) < 0)
            _exit(1);
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
        inet_pton(AF_INET, hub_overlay, &sa.sin_addr);
        if (s >= 0)
            sendto(s, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa));
        _exit(0);
    }
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
}

int netlab_wait_handshakes(struct netlab *lab, int timeout_ms)
{
    char hub_overlay[64] = "", hub_key[64];
    uint64_t start = clock_now_ns();
    uint64_t deadline = start + (uint64_t)timeout_ms * 1000000ull;
    uint64_t next_nudge = start + 1000000000ull;
    if (public_key(&lab->hub, hub_key, sizeof(hub_key)) < 0) {
        log_error("the hub's interface %s does not answer 'wg show'", lab->hub.ifname);
        return -1;
    }
    /* The hub's overlay address, for nudging. */
    struct nlproc_result r;
    const char *argv[] = {"ip", "-4", "-o", "addr", "show", "dev", lab->hub.ifname, NULL};
    if (nlproc_run(lab->hub.ns, argv, NULL, 0, 10000, &r) == 0 && r.status == 0) {
        char *p = strstr(r.out, "inet ");
        if (p)
            sscanf(p + 5, "%63[0-9.]", hub_overlay);
    }
    nlproc_result_free(&r);
    for (;;) {
        size_t missing = 0;
        for (size_t i = 0; i < lab->n; i++)
            if (peer_handshake(&lab->regions[i], hub_key) <= 0)
                missing++;
        /* The hub counts a handshake once the spoke's confirming packet arrived. */
        if (!missing && hub_handshakes(&lab->hub) < lab->n)
            missing++;
        if (!missing)
            return 0;
        if (netlab_poll(lab) < 0 || stopping(lab))
            return -1;
        uint64_t now = clock_now_ns();
        if (now >= deadline) {
            for (size_t i = 0; i < lab->n; i++)
                if (peer_handshake(&lab->regions[i], hub_key) <= 0)
                    log_error("no WireGuard handshake between %s (%s) and the hub after %d ms; "
                              "see %s/%s.log",
                              lab->regions[i].code, lab->regions[i].ifname, timeout_ms,
                              lab->workdir, lab->regions[i].ifname);
            return -1;
        }
        if (now >= next_nudge && hub_overlay[0]) {
            for (size_t i = 0; i < lab->n; i++)
                if (peer_handshake(&lab->regions[i], hub_key) <= 0)
                    nudge(&lab->regions[i], hub_overlay);
            next_nudge = now + 1000000000ull;
        }
        sleep_ms(50);
    }
}

static void print_node(const struct node *nd, FILE *f, const char *const *names,
                       const char *const *keys, size_t nkeys)
{
    char *text = NULL;
    if (handshakes(nd, &text) < 0) {
        fprintf(f, "handshake %-4s %-10s (interface not answering)\n", nd->code, nd->ifname);
        return;
    }
    time_t now = time(NULL);
    int peers = 0, done = 0;
    long long newest_age = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        long long t = atoll(tab + 1);
        const char *peer = "?";
        for (size_t k = 0; k < nkeys; k++)
            if (keys[k] && !strcmp(keys[k], line))
                peer = names[k];
        peers++;
        if (t > 0) {
            done++;
            long long age = (long long)now - t;
            if (newest_age < 0 || age < newest_age)
                newest_age = age;
            if (strcmp(nd->code, "hub"))
                fprintf(f, "handshake %-4s %-10s <-> %-4s %lld s ago\n", nd->code, nd->ifname, peer,
                        age);
        } else if (strcmp(nd->code, "hub")) {
            fprintf(f, "handshake %-4s %-10s <-> %-4s none yet\n", nd->code, nd->ifname, peer);
        }
    }
    if (!strcmp(nd->code, "hub"))
        fprintf(f, "handshake hub  %-10s %d of %d peers, latest %lld s ago\n", nd->ifname, done,
                peers, newest_age);
    free(text);
}

void netlab_print_handshakes(struct netlab *lab, FILE *f)
{
    /* Name peers by region: ask each interface for its own public key. */
    size_t nk = lab->n + 1;
    const char **names = calloc(nk, sizeof(*names));
    char **keys = calloc(nk, sizeof(*keys));
    if (!names || !keys)
        goto cleanup;
    for (size_t i = 0; i < nk; i++) {
        const struct node *nd = i < lab->n ? &lab->regions[i] : &lab->hub;
        names[i] = nd->code;
        char k[64];
        if (public_key(nd, k, sizeof(k)) == 0)
            keys[i] = strdup(k);
    }
    for (size_t i = 0; i < lab->n; i++)
        print_node(&lab->regions[i], f, names, (const char *const *)keys, nk);
    print_node(&lab->hub, f, names, (const char *const *)keys, nk);
cleanup:
    for (size_t i = 0; keys && i < nk; i++)
        free(keys[i]);
    free(keys);
    free(names);
}

/* ---- supervision and teardown -------------------------------------------- */

int netlab_poll(struct netlab *lab)
{
    for (size_t i = 0; i < lab->n_children; i++) {
        struct child *c = &lab->children[i];
        if (child_exited(c)) {
            log_error("%s exited (status %d); see %s", c->what, c->status, c->log);
            log_tail(c->log);
            return -1;
        }
    }
    return 0;
}

bool netlab_owns_child(struct netlab *lab, pid_t pid)
{
    for (size_t i = 0; lab && i < lab->n_children; i++)
        if (lab->children[i].pid == pid) {
            lab->children[i].exited = true;
            return true;
        }
    return false;
}

pid_t netlab_spawn(struct netlab *lab, int region, const char *const argv[],
                   const char *const env[], int out_fd, int err_fd)
{
    return nlproc_spawn(netlab_ns(lab, region), argv, env, out_fd, err_fd);
}

static void ns_down(const char *ns)
{
    char p[300];
    snprintf(p, sizeof(p), "/run/netns/%s", ns);
    if (access(p, F_OK) < 0)
        return;
    nlproc_stop_ns(ns, 2000);
    const char *del[] = {"ip", "netns", "del", ns, NULL};
    run(NULL, del);
}

int netlab_enter(struct netlab *lab, int region)
{
    if (lab->home_fd < 0 && (lab->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
        log_error("cannot open this process's network namespace: %s", strerror(errno));
        return -1;
    }
    if (nlproc_enter(netlab_ns(lab, region)) < 0) {
        log_error("cannot enter the namespace %s: %s", netlab_ns(lab, region), strerror(errno));
        return -1;
    }
    return 0;
}

int netlab_return(struct netlab *lab)
{
    if (lab->home_fd < 0)
        return 0;
    if (setns(lab->home_fd, CLONE_NEWNET) < 0) {
        log_error("cannot return to the original network namespace: %s", strerror(errno));
        return -1;
    }
    close(lab->home_fd);
    lab->home_fd = -1;
    return 0;
}

void netlab_down(struct netlab *lab)
{
    if (!lab)
        return;
    netlab_return(lab);
    if (lab->nat_applied && lab->nat_sh[0]) {
        log_debug("teardown: %s down", lab->nat_sh);
        run_nat(lab, "down");
    }
    log_debug("teardown: processes, namespaces, interfaces, sockets");
    for (size_t i = 0; i < lab->n_children; i++)
        if (!lab->children[i].exited && !lab->children[i].external)
            nlproc_stop(lab->children[i].pid, 2000);
    bool clean = true;
    if (lab->state) {
        for (size_t i = 0; i < lab->n; i++)
            ns_down(lab->regions[i].ns);
        ns_down(lab->hub.ns);
        char p[300];
        /* Deleting the hub's namespace deletes the pair, asynchronously. */
        snprintf(p, sizeof(p), "/sys/class/net/%s", lab->host_link);
        for (int i = 0; i < 50 && access(p, F_OK) == 0; i++)
            sleep_ms(10);
        if (access(p, F_OK) == 0) {
            const char *del[] = {"ip", "link", "del", lab->host_link, NULL};
            run(NULL, del);
        }
        /* wireguard-go removes its socket on a clean exit; a killed one leaves it. */
        for (size_t i = 0; i <= lab->n; i++) {
            const struct node *nd = i < lab->n ? &lab->regions[i] : &lab->hub;
            snprintf(p, sizeof(p), WG_SOCK_DIR "/%s.sock", nd->ifname);
            unlink(p);
        }
        /* Whatever the list above missed (e.g. a step that failed half-way),
         * the state file still names. */
        clean = nlstate_undo(nlstate_path(lab->state), false, NULL) >= 0;
        nlstate_close(lab->state, true);
    }
    if (!clean)
        log_warn("the overlay lab's state file could not be re-read; run 'edgebench lab cleanup'");
    if (lab->lock_fd >= 0)
        close(lab->lock_fd);
    if (lab->home_fd >= 0)
        close(lab->home_fd);
    free(lab->regions);
    free(lab->children);
    free(lab);
}

/* ---- accessors ----------------------------------------------------------- */

const char *netlab_ns(const struct netlab *lab, int region)
{
    return region < 0 ? lab->hub.ns : lab->regions[region].ns;
}

const char *netlab_ifname(const struct netlab *lab, int region)
{
    return region < 0 ? lab->hub.ifname : lab->regions[region].ifname;
}

const char *netlab_hub_addr(const struct netlab *lab)
{
    return lab->hub_addr;
}

const char *netlab_db_addr(const struct netlab *lab)
{
    return lab->db_addr;
}

const char *netlab_db_peer(const struct netlab *lab)
{
    return lab->db_peer;
}

const char *netlab_db_ifname(const struct netlab *lab)
{
    (void)lab;
    return db_ifname;
}

const char *netlab_underlay(const struct netlab *lab)
{
    return lab->underlay;
}

struct nlstate *netlab_state(struct netlab *lab)
{
    return lab->state;
}
