#include "netlab/labwg.h"

#include "core/log.h"
#include "netlab/nlproc.h"
#include "netlab/nlstate.h"
#include "netlab/nlwgconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define HUB_PORT 51820
#define OVERLAY_SUBNET "10.50.0.0/16"

struct labwg {
    struct labwg_config cfg;
    char dir[PATH_MAX];
    struct netlab *lab;
    char db_client[40];
    char db_host[64];
    char (*overlay)[64];
    char (*codes)[16]; /* copies: the caller's arrays need not outlive prepare */
    const char **code_ptrs;
    double *rtt;
};

const char *labwg_unsupported(char *buf, size_t len)
{
    return netlab_unsupported(buf, len);
}

int labwg_prepare(const struct labwg_config *cfg, struct labwg **out, char *err, size_t errlen)
{
    struct labwg *lw = calloc(1, sizeof(*lw));
    int rc = -1;
    if (!lw || !(lw->overlay = calloc(cfg->n ? cfg->n : 1, sizeof(*lw->overlay)))) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    lw->cfg = *cfg;
    snprintf(lw->dir, sizeof(lw->dir), "%s", cfg->dir);
    lw->cfg.dir = lw->dir;
    size_t n = cfg->n ? cfg->n : 1;
    lw->codes = calloc(n, sizeof(*lw->codes));
    lw->code_ptrs = calloc(n, sizeof(*lw->code_ptrs));
    lw->rtt = calloc(n, sizeof(*lw->rtt));
    if (!lw->codes || !lw->code_ptrs || !lw->rtt) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < cfg->n; i++) {
        snprintf(lw->codes[i], sizeof(lw->codes[i]), "%s", cfg->codes[i]);
        lw->code_ptrs[i] = lw->codes[i];
        lw->rtt[i] = cfg->rtt_ms ? cfg->rtt_ms[i] : -1;
    }
    lw->cfg.codes = lw->code_ptrs;
    lw->cfg.rtt_ms = lw->rtt;
    lw->cfg.record_dir = NULL;
    struct netlab_options opt = {
        .codes = lw->cfg.codes,
        .n_regions = cfg->n,
        .workdir = lw->dir,
        .avoid = OVERLAY_SUBNET,
        .wan_exe = cfg->exe,
        .spawner = cfg->spawner,
        .stop = cfg->stop,
    };
    if (netlab_plan(&opt, &lw->lab) < 0) {
        snprintf(err, errlen, "the overlay lab could not be planned (see above)");
        goto cleanup;
    }
    if (cfg->record_dir && nlstate_add(netlab_state(lw->lab), "dir", cfg->record_dir) < 0) {
        snprintf(err, errlen, "cannot write the lab's state file");
        goto cleanup;
    }
    if (netlab_underlay_up(lw->lab) < 0) {
        snprintf(err, errlen, "the overlay lab's namespaces could not be set up (see above)");
        goto cleanup;
    }
    snprintf(lw->db_client, sizeof(lw->db_client), "%s/32", netlab_db_peer(lw->lab));
    *out = lw;
    lw = NULL;
    rc = 0;
cleanup:
    labwg_down(lw);
    return rc;
}

const char *labwg_db_listen(const struct labwg *lw)
{
    return netlab_db_addr(lw->lab);
}

const char *labwg_db_client(const struct labwg *lw)
{
    return lw->db_client;
}

/* Runs `edgebench overlay ARGS...`, its output into DIR/overlay.log. */
static int overlay_cmd(struct labwg *lw, const char *const argv[], char *err, size_t errlen)
{
    struct nlproc_result r;
    char cmd[1024];
    nlproc_describe(argv, cmd, sizeof(cmd));
    if (nlproc_run(NULL, argv, NULL, 0, 60000, &r) < 0) {
        snprintf(err, errlen, "cannot run '%s': %s", cmd, strerror(errno));
        return -1;
    }
    char logp[PATH_MAX + 16];
    snprintf(logp, sizeof(logp), "%s/overlay.log", lw->dir);
    FILE *f = fopen(logp, "ae");
    if (f) {
        fprintf(f, "$ %s\n%s%s", cmd, r.out, r.err);
        fclose(f);
    }
    int rc = 0;
    if (r.status != 0) {
        size_t n = r.err_len;
        while (n && r.err[n - 1] == '\n')
            r.err[--n] = '\0';
        snprintf(err, errlen, "'%s' failed (exit %d): %.400s", cmd, r.status,
                 n ? r.err : "(no message)");
        rc = -1;
    }
    nlproc_result_free(&r);
    return rc;
}

/* The first address of a rendered config, without its prefix length. */
static int conf_addr(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
    struct nlwg_conf c;
    char why[256];
    if (nlwgconf_load(path, &c, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    char a[INET6_ADDRSTRLEN];
    inet_ntop(c.addrs[0].family, c.addrs[0].addr, a, sizeof(a));
    snprintf(buf, len, "%s", a);
    nlwgconf_free(&c);
    return 0;
}

int labwg_up(struct labwg *lw, uint16_t db_port, char *err, size_t errlen)
{
    char plan[PATH_MAX + 16], out[PATH_MAX + 16], hub_ep[64], db[64], hub_conf[PATH_MAX + 32],
        nat[PATH_MAX + 32];
    char *regions = NULL;
    char **spokes = calloc(lw->cfg.n, sizeof(*spokes));
    int rc = -1;
    size_t total = 1;
    for (size_t i = 0; i < lw->cfg.n; i++)
        total += strlen(lw->cfg.codes[i]) + 1;
    regions = calloc(1, total);
    if (!spokes || !regions) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < lw->cfg.n; i++) {
        if (i)
            strcat(regions, ",");
        strcat(regions, lw->cfg.codes[i]);
    }
    snprintf(plan, sizeof(plan), "%s/overlay", lw->dir);
    snprintf(out, sizeof(out), "%s/rendered", lw->dir);
    snprintf(hub_ep, sizeof(hub_ep), "%s:%d", netlab_hub_addr(lw->lab), HUB_PORT);
    snprintf(db, sizeof(db), "%s:%u", netlab_db_addr(lw->lab), db_port);
    const char *topology = lw->cfg.topology ? lw->cfg.topology : "hub";
    const char *init[] = {lw->cfg.exe,    "overlay",    "init",   "--hub-endpoint",
                          hub_ep,         "--db",       db,       "--regions",
                          regions,        "--topology", topology, "--subnet",
                          OVERLAY_SUBNET, "--dir",      plan,     NULL};
    const char *render[] = {lw->cfg.exe, "overlay", "render", "--dir", plan, "--out", out, NULL};
    if (overlay_cmd(lw, init, err, errlen) < 0 || overlay_cmd(lw, render, err, errlen) < 0)
        goto cleanup;
    snprintf(hub_conf, sizeof(hub_conf), "%s/hub/wg0.conf", out);
    snprintf(nat, sizeof(nat), "%s/hub/nat.sh", out);
    if (conf_addr(hub_conf, lw->db_host, sizeof(lw->db_host), err, errlen) < 0)
        goto cleanup;
    for (size_t i = 0; i < lw->cfg.n; i++) {
        size_t len = strlen(out) + strlen(lw->cfg.codes[i]) + 16;
        if (!(spokes[i] = malloc(len))) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
        snprintf(spokes[i], len, "%s/spokes/%s.conf", out, lw->cfg.codes[i]);
        if (conf_addr(spokes[i], lw->overlay[i], sizeof(lw->overlay[i]), err, errlen) < 0)
            goto cleanup;
    }
    if (netlab_overlay_up(lw->lab, hub_conf, nat, (const char *const *)spokes, lw->cfg.rtt_ms) <
        0) {
        snprintf(err, errlen, "the WireGuard overlay could not be brought up (see above)");
        goto cleanup;
    }
    if (netlab_wait_handshakes(lw->lab, 30000) < 0) {
        snprintf(err, errlen, "not every region completed its WireGuard handshake (see above)");
        goto cleanup;
    }
    rc = 0;
cleanup:
    for (size_t i = 0; spokes && i < lw->cfg.n; i++)
        free(spokes[i]);
    free(spokes);
    free(regions);
    return rc;
}

const char *labwg_overlay_addr(const struct labwg *lw, size_t region)
{
    return lw->overlay[region];
}

const char *labwg_db_host(const struct labwg *lw)
{
    return lw->db_host;
}

const char *labwg_ns(const struct labwg *lw, int region)
{
    return netlab_ns(lw->lab, region);
}

struct netlab *labwg_netlab(struct labwg *lw)
{
    return lw->lab;
}

void labwg_report(struct labwg *lw, FILE *f)
{
    netlab_print_handshakes(lw->lab, f);
}

void labwg_down(struct labwg *lw)
{
    if (!lw)
        return;
    netlab_down(lw->lab);
    free(lw->overlay);
    free(lw->codes);
    free(lw->code_ptrs);
    free(lw->rtt);
    free(lw);
}
