#include "lab/options.h"

#include "core/cli.h"
#include "core/parse.h"

#include <stdarg.h>
#include <string.h>

static const char *const modes[] = {"simple", "extended", "prepared", "pipeline", "compat2rtt"};
static const char *const reads[] = {"count", "pk"};

void lab_options_usage(FILE *f)
{
    fprintf(
        f,
        "Usage: edgebench lab [OPTIONS]\n"
        "       edgebench lab cleanup [--force]   (what a killed overlay lab left)\n"
        "\n"
        "The whole benchmark on one machine: starts a throwaway PostgreSQL, one WAN\n"
        "link per region with that region's round-trip time to the database\n"
        "(`edgebench wan`), one backend per region behind its link (`edgebench\n"
        "backend`), runs the collector (`edgebench run`) against them, prints the\n"
        "ranked table with the model's RTT next to what was measured, writes every\n"
        "output to --out, and tears everything down (also on Ctrl-C, or when a\n"
        "component dies: then its own error is shown and the exit status is 1).\n"
        "\n"
        "World:\n"
        "  --regions a,b,c      regions to run (default the seed's ten:\n"
        "                       " LAB_DEFAULT_REGIONS ")\n"
        "  --all                every region of the catalog (`edgebench regions`)\n"
        "  --db-site SITE       database site for the latency model (default " LAB_DEFAULT_DB_SITE
        ")\n"
        "  --profile NAME       where RTTs come from: `model` (default): 2 ms +\n"
        "                       (2 x great-circle km / 200 km per ms) x k, k = 1.5\n"
        "                       Europe<->Americas, 2.2 Europe<->Asia-Pacific, 1.8\n"
        "                       otherwise; `seed`: the seed's published Read column\n"
        "                       (lhr 11.89 ms ... syd 268.85 ms; database in eu-west-1)\n"
        "                       less 0.5 ms, RDS's own time for the query\n"
        "  --rtt-file FILE      RTTs from a CSV file of `region,rtt_ms` lines (optional\n"
        "                       header); without --regions, the file's regions run\n"
        "  --overlay MODE       how backends reach the database: `none` = loopback\n"
        "                       TCP links through `edgebench wan`; `wireguard` = the\n"
        "                       real overlay: a network namespace per region and one\n"
        "                       for the hub, wireguard-go configured from the files\n"
        "                       `edgebench overlay render` writes, the hub's nat.sh\n"
        "                       DNAT to PostgreSQL, each spoke's WireGuard UDP through\n"
        "                       `edgebench wan` (root, /dev/net/tun, wireguard-go;\n"
        "                       docs/lab-wireguard.md); `auto` (default) = wireguard\n"
        "                       when this machine can, else none (it says which)\n"
        "  --topology T         hub (default) or mesh: the overlay plan's topology\n"
        "                       (--overlay wireguard only: refused with none)\n"
        "  --db URL             use an existing PostgreSQL (libpq URI or conninfo,\n"
        "                       TCP host) instead of a throwaway one; only the edge\n"
        "                       side is emulated. The password may come from\n"
        "                       PGPASSWORD or ~/.pgpass instead of the URL.\n"
        "  --proxy              after the collector, start `edgebench proxy` in front of\n"
        "                       the backends (a routing table with one route per\n"
        "                       region) and check its geo-routing with synthetic\n"
        "                       clients: one per country, each from its own 127.x.0.2\n"
        "                       source mapped by a lab geo CSV; prints a table of\n"
        "                       country, expected region (nearest to the country's\n"
        "                       centroid) and the region that served it\n"
        "\n"
        "Passed to the collector (`edgebench run`):\n"
        "  --iterations N       operations of each kind per benchmark, 1..100 (default 10)\n"
        "  --mode M             simple | extended (default) | prepared | pipeline |\n"
        "                       compat2rtt (prepare + execute: the seed driver's 2 round\n"
        "                       trips per INSERT)\n"
        "  --read K             count (the seed's SELECT COUNT(*), default) | pk\n"
        "  --rounds N           benchmark rounds per region, 1..1000 (default 1)\n"
        "\n"
        "Output:\n"
        "  --out DIR            where results.json/.csv/.md/.svg and report.html go\n"
        "                       (default: a new directory results-YYYYmmdd-HHMMSS)\n"
        "  --keep               keep the temporary directory (PostgreSQL data, links\n"
        "                       file, targets, every component's log) and print it\n"
        "  --verbose            log each step of the lab on stderr\n"
        "  --dry-run            print the regions and their RTTs (with the model's\n"
        "                       distance and path factor) and start nothing\n"
        "  -h, --help           this text\n"
        "\n"
        "Environment: TMPDIR (where the temporary directory goes; default /tmp),\n"
        "EDGEBENCH_PG_ROOT (where PostgreSQL versions are looked for; default\n"
        "/usr/lib/postgresql, the highest N/bin is used).\n"
        "\n"
        "Cleanup:\n"
        "  edgebench lab cleanup [--force]\n"
        "                       remove what an overlay lab killed with SIGKILL left\n"
        "                       (namespaces, interfaces, sockets, its temporary\n"
        "                       directory), from its state file in /run/edgebench;\n"
        "                       --force also when its process still seems alive\n"
        "\n"
        "Exit status: 0 every region answered; 1 a region failed or a component\n"
        "could not start or died; 2 usage error; 130 interrupted (SIGINT), 143\n"
        "(SIGTERM), 129 (SIGHUP).\n");
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static bool one_of(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v, list[i]))
            return true;
    return false;
}

const char *lab_overlay_name(enum lab_overlay overlay)
{
    switch (overlay) {
    case LAB_OVERLAY_NONE:
        return "none";
    case LAB_OVERLAY_WIREGUARD:
        return "wireguard";
    case LAB_OVERLAY_AUTO:
        return "auto";
    }
    return "?";
}

static int parse_overlay(const char *v, enum lab_overlay *out, char *err, size_t errlen)
{
    if (!strcmp(v, "none")) {
        *out = LAB_OVERLAY_NONE;
        return 0;
    }
    if (!strcmp(v, "wireguard")) {
        *out = LAB_OVERLAY_WIREGUARD;
        return 0;
    }
    if (!strcmp(v, "auto")) {
        *out = LAB_OVERLAY_AUTO;
        return 0;
    }
    return fail(err, errlen, "--overlay '%s': unknown mode; use none, wireguard or auto", v);
}

/* Option table: name, whether it takes a value. */
enum opt_id {
    OPT_REGIONS,
    OPT_ALL,
    OPT_DB_SITE,
    OPT_PROFILE,
    OPT_RTT_FILE,
    OPT_OVERLAY,
    OPT_TOPOLOGY,
    OPT_DB,
    OPT_ITERATIONS,
    OPT_MODE,
    OPT_READ,
    OPT_ROUNDS,
    OPT_OUT,
    OPT_KEEP,
    OPT_VERBOSE,
    OPT_DRY_RUN,
    OPT_PROXY,
};

static const struct {
    const char *name;
    enum opt_id id;
    bool value;
} opts[] = {
    {"--regions", OPT_REGIONS, true},
    {"--all", OPT_ALL, false},
    {"--db-site", OPT_DB_SITE, true},
    {"--profile", OPT_PROFILE, true},
    {"--rtt-file", OPT_RTT_FILE, true},
    {"--overlay", OPT_OVERLAY, true},
    {"--topology", OPT_TOPOLOGY, true},
    {"--db", OPT_DB, true},
    {"--iterations", OPT_ITERATIONS, true},
    {"--mode", OPT_MODE, true},
    {"--read", OPT_READ, true},
    {"--rounds", OPT_ROUNDS, true},
    {"--out", OPT_OUT, true},
    {"--keep", OPT_KEEP, false},
    {"--verbose", OPT_VERBOSE, false},
    {"--dry-run", OPT_DRY_RUN, false},
    {"--proxy", OPT_PROXY, false},
};

static int apply(struct lab_options *o, enum opt_id id, const char *name, const char *v, char *err,
                 size_t errlen)
{
    switch (id) {
    case OPT_REGIONS:
        o->regions = v;
        break;
    case OPT_ALL:
        o->all = true;
        break;
    case OPT_DB_SITE:
        if (!catalog_site(v)) {
            char sites[512] = "";
            size_t off = 0;
            for (size_t i = 0; i < catalog_site_count() && off < sizeof(sites); i++)
                off += (size_t)snprintf(sites + off, sizeof(sites) - off, "%s%s", i ? ", " : "",
                                        catalog_site_at(i)->name);
            return fail(err, errlen, "--db-site '%s': unknown database site (known: %s)", v, sites);
        }
        o->db_site = v;
        break;
    case OPT_PROFILE:
        if (!strcmp(v, "model"))
            o->profile = LAB_PROFILE_MODEL;
        else if (!strcmp(v, "seed"))
            o->profile = LAB_PROFILE_SEED;
        else
            return fail(err, errlen,
                        "--profile '%s': unknown profile; use model or seed (or --rtt-file FILE)",
                        v);
        break;
    case OPT_RTT_FILE:
        o->rtt_file = v;
        break;
    case OPT_OVERLAY:
        return parse_overlay(v, &o->overlay, err, errlen);
    case OPT_TOPOLOGY:
        if (strcmp(v, "hub") && strcmp(v, "mesh"))
            return fail(err, errlen, "--topology '%s': use hub or mesh", v);
        o->topology = v;
        break;
    case OPT_DB:
        if (!*v)
            return fail(err, errlen, "--db: empty URL; give a libpq URI or conninfo string");
        o->db_url = v;
        break;
    case OPT_ITERATIONS:
        if (parse_long(v, 1, 100, &o->iterations) < 0)
            return fail(err, errlen, "--iterations '%s': must be an integer in 1..100", v);
        break;
    case OPT_ROUNDS:
        if (parse_long(v, 1, 1000, &o->rounds) < 0)
            return fail(err, errlen, "--rounds '%s': must be an integer in 1..1000", v);
        break;
    case OPT_MODE:
        if (!one_of(v, modes, sizeof(modes) / sizeof(modes[0])))
            return fail(err, errlen,
                        "--mode '%s': unknown mode; use simple, extended, prepared, pipeline "
                        "or compat2rtt",
                        v);
        o->mode = v;
        break;
    case OPT_READ:
        if (!one_of(v, reads, sizeof(reads) / sizeof(reads[0])))
            return fail(err, errlen, "--read '%s': unknown read kind; use count or pk", v);
        o->read = v;
        break;
    case OPT_OUT:
        if (!*v)
            return fail(err, errlen, "--out: empty directory name");
        o->out = v;
        break;
    case OPT_KEEP:
        o->keep = true;
        break;
    case OPT_VERBOSE:
        o->verbose = true;
        break;
    case OPT_DRY_RUN:
        o->dry_run = true;
        break;
    case OPT_PROXY:
        o->proxy = true;
        break;
    }
    (void)name;
    return 0;
}

int lab_options_parse(int argc, char **argv, struct lab_options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->overlay = LAB_OVERLAY_AUTO;
    o->profile = LAB_PROFILE_MODEL;
    bool profile_given = false, site_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_help(arg))
            return 1;
        const char *eq = strchr(arg, '=');
        size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
        size_t k;
        for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
            if (strlen(opts[k].name) == namelen && !strncmp(arg, opts[k].name, namelen))
                break;
        if (k == sizeof(opts) / sizeof(opts[0]))
            return fail(err, errlen, "unknown option '%s'; see edgebench lab --help", arg);
        const char *v = NULL;
        if (opts[k].value) {
            if (eq)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                return fail(err, errlen, "%s needs a value; see edgebench lab --help",
                            opts[k].name);
        } else if (eq) {
            return fail(err, errlen, "%s takes no value (got '%s')", opts[k].name, arg);
        }
        if (opts[k].id == OPT_PROFILE)
            profile_given = true;
        if (opts[k].id == OPT_DB_SITE)
            site_given = true;
        if (apply(o, opts[k].id, opts[k].name, v, err, errlen) < 0)
            return -1;
    }
    if (o->rtt_file) {
        if (profile_given)
            return fail(err, errlen, "--rtt-file and --profile both set the RTTs; give one");
        o->profile = LAB_PROFILE_FILE;
    }
    if (o->all && o->regions)
        return fail(err, errlen, "--all and --regions both choose the regions; give one");
    if (o->profile == LAB_PROFILE_SEED && site_given && strcmp(o->db_site, LAB_DEFAULT_DB_SITE))
        return fail(err, errlen,
                    "--profile seed was measured against %s; it cannot model --db-site %s (use "
                    "the default model for other sites)",
                    LAB_DEFAULT_DB_SITE, o->db_site);
    if (!o->db_site)
        o->db_site = LAB_DEFAULT_DB_SITE;
    return 0;
}

/* Adds one region to the plan with its RTT from the profile or the model. */
static int plan_add(struct lab_plan *plan, const struct region *r, const struct profile *prof,
                    char *err, size_t errlen)
{
    for (size_t i = 0; i < plan->n; i++)
        if (plan->regions[i].region == r)
            return fail(err, errlen, "--regions: %s is listed twice", r->code);
    if (plan->n >= PROFILE_MAX)
        return fail(err, errlen, "--regions: more than %d regions", PROFILE_MAX);
    double rtt = prof ? profile_rtt_ms(prof, r) : model_rtt_ms(r, plan->site);
    if (rtt < 0)
        return fail(err, errlen,
                    "region %s has no RTT in the %s profile; choose regions with "
                    "--regions",
                    r->code, plan->profile_name);
    plan->regions[plan->n].region = r;
    plan->regions[plan->n].rtt_ms = rtt;
    plan->n++;
    return 0;
}

/* Adds each code of a comma-separated list. */
static int plan_add_list(struct lab_plan *plan, const char *list, const struct profile *prof,
                         char *err, size_t errlen)
{
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ') {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        char code[16];
        if (len == 0 || len >= sizeof(code))
            return fail(err, errlen,
                        "--regions '%s': expected region codes separated by commas (known: %s)",
                        list, catalog_region_codes());
        memcpy(code, p, len);
        code[len] = 0;
        const struct region *r = catalog_region(code);
        if (!r)
            return fail(err, errlen, "--regions: unknown region '%s' (known: %s)", code,
                        catalog_region_codes());
        if (plan_add(plan, r, prof, err, errlen) < 0)
            return -1;
        if (!end)
            return 0;
        p = end + 1;
    }
}

int lab_plan_build(const struct lab_options *o, struct lab_plan *plan, char *err, size_t errlen)
{
    memset(plan, 0, sizeof(*plan));
    plan->site = catalog_site(o->db_site ? o->db_site : LAB_DEFAULT_DB_SITE);
    if (!plan->site)
        return fail(err, errlen, "unknown database site '%s'", o->db_site);
    struct profile prof;
    const struct profile *use = NULL;
    switch (o->profile) {
    case LAB_PROFILE_MODEL:
        snprintf(plan->profile_name, sizeof(plan->profile_name), "model");
        break;
    case LAB_PROFILE_SEED:
        snprintf(plan->profile_name, sizeof(plan->profile_name), "seed");
        if (profile_load_seed(&prof) < 0)
            return fail(err, errlen, "the embedded seed profile is unreadable");
        use = &prof;
        break;
    case LAB_PROFILE_FILE: {
        const char *base = strrchr(o->rtt_file, '/');
        snprintf(plan->profile_name, sizeof(plan->profile_name), "file:%s",
                 base ? base + 1 : o->rtt_file);
        char why[512];
        if (profile_load_file(o->rtt_file, &prof, why, sizeof(why)) < 0)
            return fail(err, errlen, "--rtt-file %s", why);
        use = &prof;
        break;
    }
    }
    if (o->all) {
        for (size_t i = 0; i < catalog_region_count(); i++)
            if (plan_add(plan, catalog_region_at(i), use, err, errlen) < 0)
                return -1;
        return 0;
    }
    if (o->regions)
        return plan_add_list(plan, o->regions, use, err, errlen);
    if (o->profile == LAB_PROFILE_FILE) {
        for (size_t i = 0; i < prof.n; i++)
            if (plan_add(plan, prof.entry[i].region, use, err, errlen) < 0)
                return -1;
        return 0;
    }
    return plan_add_list(plan, LAB_DEFAULT_REGIONS, use, err, errlen);
}
