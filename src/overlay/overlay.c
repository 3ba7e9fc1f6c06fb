#include "overlay/overlay.h"

#include "core/catalog.h"
#include "core/cli.h"
#include "core/parse.h"
#include "overlay/check.h"
#include "overlay/files.h"
#include "overlay/keys.h"
#include "overlay/plan.h"
#include "overlay/render.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DIR "overlay"
#define DEFAULT_APP "edgebench-backend"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: edgebench overlay COMMAND [OPTIONS]\n\n"
            "Generates the WireGuard overlay (hub + one spoke per region) from one plan.\n\n"
            "  init --hub-endpoint HOST:PORT --db HOST[:PORT] --regions a,b,c\n"
            "       [--topology hub|mesh] [--subnet CIDR] [--mtu N] [--keepalive N]\n"
            "       [--hub-network CIDR] [--dir DIR]\n"
            "                 create or extend DIR/plan.json and the keys in DIR/keys\n"
            "  add REGION [--endpoint HOST:PORT] [--dir DIR]\n"
            "                 add a region (existing addresses never change)\n"
            "  remove REGION [--dir DIR]   remove a region and delete its keys\n"
            "  rotate REGION|hub [--dir DIR]  replace a key pair on purpose\n"
            "  show [--dir DIR]            the allocation table (public keys only)\n"
            "  check [--dir DIR]           every problem of the plan and keys, with the fix\n"
            "  render --out OUT [--dir DIR] [--app NAME]\n"
            "                 write OUT/hub, OUT/spokes and OUT/deploy\n\n"
            "DIR defaults to ./%s. Exit status: 0 ok, 1 a problem in the plan or a file,\n"
            "2 a usage error. See docs/overlay.md.\n",
            DEFAULT_DIR);
}

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "edgebench overlay %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'edgebench overlay --help' for usage.\n");
    return 2;
}

static void plan_path(char *out, size_t len, const char *dir)
{
    snprintf(out, len, "%s/plan.json", dir);
}

static int load(const char *cmd, const char *dir, struct plan *p)
{
    char path[4096], err[512];
    plan_path(path, sizeof(path), dir);
    if (plan_load(path, p, err, sizeof(err))) {
        fprintf(stderr, "edgebench overlay %s: %s\n", cmd, err);
        if (access(path, F_OK))
            fprintf(stderr, "  (create a plan with `edgebench overlay init ... --dir %s`)\n", dir);
        return -1;
    }
    return 0;
}

static int save(const char *cmd, const char *dir, const struct plan *p)
{
    char path[4096];
    plan_path(path, sizeof(path), dir);
    int rc = plan_save(path, p);
    if (rc)
        fprintf(stderr, "edgebench overlay %s: cannot write %s: %s\n", cmd, path, strerror(-rc));
    return rc ? -1 : 0;
}

/* Reads NAME's key pair, creating it when absent (never replacing one), and
 * writes the .pub file. The public key goes to pub_b64. */
static int ensure_key(const char *cmd, const char *dir, const char *name, int replace,
                      char pub_b64[KEY_B64_LEN + 1])
{
    char path[4096], tmp[4200];
    uint8_t priv[KEY_LEN], pub[KEY_LEN];
    int rc = -1, e;
    files_key_path(path, sizeof(path), dir, name, "key");
    if (replace) {
        snprintf(tmp, sizeof(tmp), "%s.new", path);
        unlink(tmp);
        keys_generate(priv, name);
        e = keys_write_private(tmp, priv);
        if (!e && rename(tmp, path) < 0) {
            e = -errno;
            unlink(tmp);
        }
    } else {
        e = keys_read(path, priv);
        if (e == -ENOENT) {
            keys_generate(priv, name);
            e = keys_write_private(path, priv);
        } else if (e) {
            fprintf(stderr,
                    "edgebench overlay %s: %s exists but cannot be used (%s); it is never "
                    "replaced silently: restore it, or run `edgebench overlay rotate %s --dir "
                    "%s`\n",
                    cmd, path, e == -EINVAL ? "not a base64 key" : strerror(-e), name, dir);
            goto cleanup;
        }
    }
    if (e) {
        fprintf(stderr, "edgebench overlay %s: cannot write %s: %s\n", cmd, path, strerror(-e));
        goto cleanup;
    }
    keys_public(pub, priv);
    keys_to_base64(pub_b64, pub);
    files_key_path(path, sizeof(path), dir, name, "pub");
    e = keys_write_public(path, pub);
    if (e) {
        fprintf(stderr, "edgebench overlay %s: cannot write %s: %s\n", cmd, path, strerror(-e));
        goto cleanup;
    }
    rc = 0;
cleanup:
    sodium_memzero(priv, sizeof(priv));
    return rc;
}

static int prepare_dirs(const char *cmd, const char *dir)
{
    char keys[4096];
    struct stat st;
    int e;
    if (stat(dir, &st) < 0) {
        e = files_mkdir(dir, 0755);
        if (e) {
            fprintf(stderr, "edgebench overlay %s: cannot create %s: %s\n", cmd, dir, strerror(-e));
            return -1;
        }
    }
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    if (!stat(keys, &st) && (st.st_mode & 07777) != 0700)
        fprintf(stderr, "edgebench overlay %s: %s had mode %04o; setting 0700\n", cmd, keys,
                (unsigned)(st.st_mode & 07777));
    e = files_mkdir(keys, 0700);
    if (e) {
        fprintf(stderr, "edgebench overlay %s: cannot create %s: %s\n", cmd, keys, strerror(-e));
        return -1;
    }
    return 0;
}

static void show_table(const struct plan *p, FILE *f)
{
    fprintf(f, "| Region | Location | Overlay IP | Public key | Purpose |\n");
    fprintf(f, "|---|---|---|---|---|\n");
    fprintf(f, "| hub | %s | %s | %s | WireGuard hub, NAT to the database %s:%ld |\n",
            p->hub_endpoint, p->hub_address, p->hub_public_key, p->db_host, p->db_port);
    for (size_t i = 0; i < p->nregions; i++) {
        const struct plan_region *r = &p->regions[i];
        const struct region *reg = catalog_region(r->code);
        static const char *const areas[] = {"hub",    "South America", "North America",
                                            "Europe", "Asia-Pacific",  "Africa"};
        int a = reg ? plan_area_number(reg->area) : -1;
        fprintf(f, "| %s | %s%s%s | %s | %s | backend (%s) |\n", r->code, reg ? reg->city : "?",
                reg ? ", " : "", reg ? reg->country : "", r->address, r->public_key,
                a >= 0 ? areas[a] : "unknown region");
    }
}

static int parse_regions(const char *cmd, const char *list, char codes[][16], size_t *n)
{
    char buf[2048];
    *n = 0;
    if (strlen(list) >= sizeof(buf))
        return usage_error(cmd, "%s", "--regions is too long");
    strcpy(buf, list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!catalog_region(t)) {
            fprintf(stderr,
                    "edgebench overlay %s: unknown region code '%s' in --regions; known codes: "
                    "%s\n",
                    cmd, t, catalog_region_codes());
            return 2;
        }
        int dup = 0;
        for (size_t i = 0; i < *n; i++)
            dup |= !strcmp(codes[i], t);
        if (dup)
            continue;
        if (*n == PLAN_MAX_REGIONS)
            return usage_error(cmd, "more than %d regions in --regions", PLAN_MAX_REGIONS);
        snprintf(codes[(*n)++], 16, "%s", t);
    }
    if (!*n)
        return usage_error(cmd, "--regions '%s' names no region", list);
    return 0;
}

static int copy_opt(const char *cmd, const char *flag, const char *v, char *dst, size_t len)
{
    if (strlen(v) >= len) {
        fprintf(stderr, "edgebench overlay %s: %s '%s' is too long\n", cmd, flag, v);
        return -1;
    }
    strcpy(dst, v);
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {{"hub-endpoint", required_argument, NULL, 'e'},
                                         {"db", required_argument, NULL, 'b'},
                                         {"regions", required_argument, NULL, 'r'},
                                         {"topology", required_argument, NULL, 't'},
                                         {"subnet", required_argument, NULL, 's'},
                                         {"mtu", required_argument, NULL, 'm'},
                                         {"keepalive", required_argument, NULL, 'k'},
                                         {"hub-network", required_argument, NULL, 'n'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *endpoint = NULL, *db = NULL, *regions = NULL, *topology = NULL, *subnet = NULL;
    const char *hub_network = NULL, *dir = DEFAULT_DIR;
    long mtu = -1, keepalive = -1;
    char codes[PLAN_MAX_REGIONS][16], err[512], path[4096];
    size_t ncodes = 0;
    struct plan *p = NULL;
    int rc = 2, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            endpoint = optarg;
            break;
        case 'b':
            db = optarg;
            break;
        case 'r':
            regions = optarg;
            break;
        case 't':
            topology = optarg;
            break;
        case 's':
            subnet = optarg;
            break;
        case 'n':
            hub_network = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'm':
            if (parse_long(optarg, 0, 100000, &mtu))
                return usage_error("init", "--mtu '%s' is not a number (use 1280..1500)", optarg);
            break;
        case 'k':
            if (parse_long(optarg, 0, 65535, &keepalive))
                return usage_error("init", "--keepalive '%s' is not 0..65535 seconds", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return usage_error("init", "%s needs a value", argv[optind - 1]);
        default:
            return usage_error("init", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("init", "unexpected argument '%s'", argv[optind]);
    if (!endpoint || !db || !regions)
        return usage_error("init", "missing %s%s%s%s%s (all three are required)",
                           !endpoint ? "--hub-endpoint" : "",
                           !endpoint && (!db || !regions) ? ", " : "", !db ? "--db" : "",
                           !db && !regions ? ", " : "", !regions ? "--regions" : "");
    if ((rc = parse_regions("init", regions, codes, &ncodes)))
        return rc;
    rc = 2;
    p = calloc(1, sizeof(*p));
    if (!p) {
        fprintf(stderr, "edgebench overlay init: out of memory\n");
        return 1;
    }
    plan_path(path, sizeof(path), dir);
    int exists = !access(path, F_OK);
    if (exists) {
        if (load("init", dir, p)) {
            fprintf(stderr,
                    "  fix the plan (see `edgebench overlay check --dir %s`) or move it "
                    "away to start over\n",
                    dir);
            rc = 1;
            goto cleanup;
        }
        if (subnet && strcmp(subnet, p->subnet)) {
            fprintf(stderr,
                    "edgebench overlay init: %s uses subnet %s; changing it to %s would renumber "
                    "every region. Start a new plan in another --dir instead.\n",
                    path, p->subnet, subnet);
            rc = 1;
            goto cleanup;
        }
    } else {
        snprintf(p->topology, sizeof(p->topology), "hub");
        snprintf(p->subnet, sizeof(p->subnet), "%s", PLAN_DEFAULT_SUBNET);
        p->mtu = PLAN_DEFAULT_MTU;
        p->keepalive = PLAN_DEFAULT_KEEPALIVE;
        if (subnet && copy_opt("init", "--subnet", subnet, p->subnet, sizeof(p->subnet)))
            goto cleanup;
    }
    if (copy_opt("init", "--hub-endpoint", endpoint, p->hub_endpoint, sizeof(p->hub_endpoint)))
        goto cleanup;
    if (topology && copy_opt("init", "--topology", topology, p->topology, sizeof(p->topology)))
        goto cleanup;
    if (hub_network &&
        copy_opt("init", "--hub-network", hub_network, p->hub_network, sizeof(p->hub_network)))
        goto cleanup;
    if (mtu >= 0)
        p->mtu = mtu;
    if (keepalive >= 0)
        p->keepalive = keepalive;
    {
        char host[256];
        uint16_t port = 5432;
        const char *colon = strrchr(db, ':');
        if (db[0] == '[' || (colon && strchr(db, ':') == colon)) {
            if (parse_hostport(db, host, sizeof(host), &port) || !host[0] || !port) {
                usage_error("init", "--db '%s' is not HOST[:PORT]", db);
                goto cleanup;
            }
        } else if (copy_opt("init", "--db", db, host, sizeof(host))) {
            goto cleanup;
        }
        snprintf(p->db_host, sizeof(p->db_host), "%s", host);
        p->db_port = port;
    }
    if (!exists && plan_hub_address(p->subnet, p->hub_address, err, sizeof(err))) {
        fprintf(stderr, "edgebench overlay init: --subnet %s: %s\n", p->subnet, err);
        goto cleanup;
    }
    if (check_settings(p, stderr)) {
        fprintf(stderr, "edgebench overlay init: nothing written; fix the options above\n");
        goto cleanup;
    }
    for (size_t i = 0; i < ncodes; i++) {
        if (plan_find(p, codes[i]))
            continue;
        if (p->nregions == PLAN_MAX_REGIONS) {
            fprintf(stderr, "edgebench overlay init: more than %d regions\n", PLAN_MAX_REGIONS);
            goto cleanup;
        }
        struct plan_region *r = &p->regions[p->nregions];
        memset(r, 0, sizeof(*r));
        snprintf(r->code, sizeof(r->code), "%s", codes[i]);
        p->nregions++;
    }
    /* Number new regions in catalog order, after every existing one keeps its address. */
    plan_sort(p);
    for (size_t i = 0; i < p->nregions; i++) {
        if (p->regions[i].address[0])
            continue;
        if (plan_allocate(p, p->regions[i].code, p->regions[i].address, err, sizeof(err))) {
            fprintf(stderr, "edgebench overlay init: %s; nothing written\n", err);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < p->nregions; i++) {
        int known = 0;
        for (size_t j = 0; j < ncodes; j++)
            known |= !strcmp(codes[j], p->regions[i].code);
        if (!known)
            fprintf(stderr,
                    "edgebench overlay init: note: %s stays in the plan (not in --regions); "
                    "use `edgebench overlay remove %s --dir %s` to drop it\n",
                    p->regions[i].code, p->regions[i].code, dir);
    }
    rc = 1;
    if (prepare_dirs("init", dir) || ensure_key("init", dir, "hub", 0, p->hub_public_key))
        goto cleanup;
    for (size_t i = 0; i < p->nregions; i++)
        if (ensure_key("init", dir, p->regions[i].code, 0, p->regions[i].public_key))
            goto cleanup;
    if (save("init", dir, p))
        goto cleanup;
    printf("%s %s (%zu regions, topology %s, subnet %s); keys in %s/keys (0700, private keys "
           "0600)\n\n",
           exists ? "updated" : "created", path, p->nregions, p->topology, p->subnet, dir);
    show_table(p, stdout);
    rc = 0;
cleanup:
    free(p);
    return rc;
}

/* Shared by add/remove/rotate/show/check/render: REGION? plus --dir. */
struct simple_args {
    const char *dir;
    const char *region;
    const char *endpoint;
    const char *out;
    const char *app;
};

static int parse_simple(const char *cmd, int argc, char **argv, int want_region,
                        struct simple_args *a)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"endpoint", required_argument, NULL, 'e'},
        {"out", required_argument, NULL, 'o'}, {"app", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof(*a));
    a->dir = DEFAULT_DIR;
    a->app = DEFAULT_APP;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->dir = optarg;
            break;
        case 'e':
            if (strcmp(cmd, "add"))
                return usage_error(cmd, "%s takes no --endpoint", cmd);
            a->endpoint = optarg;
            break;
        case 'o':
            if (strcmp(cmd, "render"))
                return usage_error(cmd, "%s takes no --out", cmd);
            a->out = optarg;
            break;
        case 'a':
            if (strcmp(cmd, "render"))
                return usage_error(cmd, "%s takes no --app", cmd);
            a->app = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case ':':
            return usage_error(cmd, "%s needs a value", argv[optind - 1]);
        default:
            return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (want_region) {
        if (optind >= argc)
            return usage_error(cmd, "%s needs a REGION", cmd);
        a->region = argv[optind++];
    }
    if (optind < argc)
        return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static int cmd_add(int argc, char **argv)
{
    struct simple_args a;
    char err[512], host[256];
    unsigned port;
    int rc = parse_simple("add", argc, argv, 1, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!catalog_region(a.region)) {
        fprintf(stderr, "edgebench overlay add: unknown region code '%s'; known codes: %s\n",
                a.region, catalog_region_codes());
        return 2;
    }
    if (a.endpoint && check_hostport(a.endpoint, host, sizeof(host), &port))
        return usage_error("add", "--endpoint '%s' is not HOST:PORT", a.endpoint);
    struct plan *p = calloc(1, sizeof(*p));
    rc = 1;
    if (!p || load("add", a.dir, p))
        goto cleanup;
    struct plan_region *r = plan_find(p, a.region);
    if (r && (!a.endpoint || !strcmp(a.endpoint, r->endpoint))) {
        printf("%s is already in the plan at %s; nothing changed\n", r->code, r->address);
        rc = 0;
        goto cleanup;
    }
    if (!r) {
        if (p->nregions == PLAN_MAX_REGIONS) {
            fprintf(stderr, "edgebench overlay add: the plan is full (%d regions)\n",
                    PLAN_MAX_REGIONS);
            goto cleanup;
        }
        r = &p->regions[p->nregions];
        memset(r, 0, sizeof(*r));
        snprintf(r->code, sizeof(r->code), "%s", a.region);
        if (plan_allocate(p, a.region, r->address, err, sizeof(err))) {
            fprintf(stderr, "edgebench overlay add: %s\n", err);
            goto cleanup;
        }
        p->nregions++;
        if (prepare_dirs("add", a.dir) || ensure_key("add", a.dir, a.region, 0, r->public_key))
            goto cleanup;
    }
    if (a.endpoint)
        snprintf(r->endpoint, sizeof(r->endpoint), "%s", a.endpoint);
    char code[16], addr[40];
    snprintf(code, sizeof(code), "%s", r->code);
    snprintf(addr, sizeof(addr), "%s", r->address);
    plan_sort(p);
    if (save("add", a.dir, p))
        goto cleanup;
    printf("added %s at %s%s%s; re-render and redeploy the hub (its wg0.conf gains a peer)\n", code,
           addr, a.endpoint ? ", endpoint " : "", a.endpoint ? a.endpoint : "");
    rc = 0;
cleanup:
    free(p);
    return rc;
}

static int cmd_remove(int argc, char **argv)
{
    struct simple_args a;
    char path[4096];
    int rc = parse_simple("remove", argc, argv, 1, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct plan *p = calloc(1, sizeof(*p));
    rc = 1;
    if (!p || load("remove", a.dir, p))
        goto cleanup;
    struct plan_region *r = plan_find(p, a.region);
    if (!r) {
        fprintf(stderr, "edgebench overlay remove: region '%s' is not in %s/plan.json\n", a.region,
                a.dir);
        goto cleanup;
    }
    char addr[40];
    snprintf(addr, sizeof(addr), "%s", r->address);
    size_t idx = (size_t)(r - p->regions);
    memmove(&p->regions[idx], &p->regions[idx + 1],
            (p->nregions - idx - 1) * sizeof(p->regions[0]));
    p->nregions--;
    if (save("remove", a.dir, p))
        goto cleanup;
    if (catalog_region(a.region)) {
        files_key_path(path, sizeof(path), a.dir, a.region, "key");
        unlink(path);
        files_key_path(path, sizeof(path), a.dir, a.region, "pub");
        unlink(path);
    }
    char up[16];
    size_t j = 0;
    for (; a.region[j] && j + 1 < sizeof(up); j++)
        up[j] = (char)(a.region[j] >= 'a' && a.region[j] <= 'z' ? a.region[j] - 32 : a.region[j]);
    up[j] = 0;
    printf("removed %s (%s) and its keys; other regions keep their addresses. Re-render, "
           "redeploy the hub, and run `fly secrets unset WG_PRIVATE_KEY_%s`\n",
           a.region, addr, up);
    rc = 0;
cleanup:
    free(p);
    return rc;
}

static int cmd_rotate(int argc, char **argv)
{
    struct simple_args a;
    char pub[KEY_B64_LEN + 1];
    int rc = parse_simple("rotate", argc, argv, 1, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct plan *p = calloc(1, sizeof(*p));
    rc = 1;
    if (!p || load("rotate", a.dir, p))
        goto cleanup;
    int hub = !strcmp(a.region, "hub");
    struct plan_region *r = hub ? NULL : plan_find(p, a.region);
    if (!hub && (!r || !catalog_region(a.region))) {
        fprintf(stderr,
                "edgebench overlay rotate: '%s' is not a region of %s/plan.json (or 'hub')\n",
                a.region, a.dir);
        goto cleanup;
    }
    if (prepare_dirs("rotate", a.dir) || ensure_key("rotate", a.dir, a.region, 1, pub))
        goto cleanup;
    snprintf(hub ? p->hub_public_key : r->public_key, KEY_B64_LEN + 1, "%s", pub);
    if (save("rotate", a.dir, p))
        goto cleanup;
    printf("rotated %s: new public key %s\nRe-render; then update %s\n", a.region, pub,
           hub ? "the hub (cloud-init / wg0.conf) and redeploy every spoke"
               : "the hub's wg0.conf and this region's secret (deploy/secrets.sh)");
    rc = 0;
cleanup:
    free(p);
    return rc;
}

static int cmd_show(int argc, char **argv)
{
    struct simple_args a;
    int rc = parse_simple("show", argc, argv, 0, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct plan *p = calloc(1, sizeof(*p));
    rc = 1;
    if (!p || load("show", a.dir, p))
        goto cleanup;
    printf("topology %s, subnet %s, MTU %ld, keepalive %ld s\n\n", p->topology, p->subnet, p->mtu,
           p->keepalive);
    show_table(p, stdout);
    rc = 0;
cleanup:
    free(p);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    struct simple_args a;
    int rc = parse_simple("check", argc, argv, 0, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct plan *p = calloc(1, sizeof(*p));
    rc = 1;
    if (!p || load("check", a.dir, p))
        goto cleanup;
    int n = check_plan(p, a.dir, stdout);
    if (n) {
        printf("overlay check: %d problem%s in %s\n", n, n == 1 ? "" : "s", a.dir);
        goto cleanup;
    }
    printf("overlay check: %s/plan.json is consistent (%zu regions, keys match)\n", a.dir,
           p->nregions);
    rc = 0;
cleanup:
    free(p);
    return rc;
}

static int cmd_render(int argc, char **argv)
{
    struct simple_args a;
    int rc = parse_simple("render", argc, argv, 0, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!a.out)
        return usage_error("render", "%s", "--out DIR is required");
    for (const char *c = a.app; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
            return usage_error("render", "--app '%s' must be lower-case letters, digits, '-'",
                               a.app);
    struct plan *p = calloc(1, sizeof(*p));
    rc = 1;
    if (!p || load("render", a.dir, p))
        goto cleanup;
    int n = check_plan(p, a.dir, stderr);
    if (n) {
        fprintf(stderr, "edgebench overlay render: %d problem%s in the plan; nothing written\n", n,
                n == 1 ? "" : "s");
        goto cleanup;
    }
    struct render_opts o = {.dir = a.dir, .out = a.out, .app = a.app};
    if (render_all(p, &o))
        goto cleanup;
    rc = 0;
cleanup:
    free(p);
    return rc;
}

int overlay_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"init", cmd_init},     {"add", cmd_add},   {"remove", cmd_remove},
                {"rotate", cmd_rotate}, {"show", cmd_show}, {"check", cmd_check},
                {"render", cmd_render}};
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (keys_init()) {
        fprintf(stderr, "edgebench overlay: libsodium failed to initialise\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "edgebench overlay: unknown command '%s'; run 'edgebench overlay --help'\n",
            argv[1]);
    return 2;
}
