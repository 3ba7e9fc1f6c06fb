/* edgebench: one program, subcommands from one table (like `wg` or `git`). */
#include "backend/backend.h"
#include "core/catalog.h"
#include "core/cli.h"
#include "lab/lab.h"
#include "wan/wan.h"
#include "overlay/overlay.h"
#include "collect/run.h"
#include "report/report.h"
#include "proxy/proxy.h"
#include "netlab/nlcli.h"

#include <stdio.h>
#include <string.h>

static int regions_main(int argc, char **argv);

/* GnuTLS reaches this process only through libpq -> libldap, which calls
 * gnutls_global_init() itself if it ever uses TLS. By default GnuTLS also
 * initialises itself from a constructor at load time, loading p11-kit and
 * its tables: about 0.7 MB of resident memory in every process, for
 * nothing. The library asks this weak hook (exported from the binary with
 * --export-dynamic-symbol) whether to skip that; as
 * GNUTLS_NO_IMPLICIT_INIT=1 would, but without re-executing ourselves. */
int _gnutls_global_init_skip(void);
int _gnutls_global_init_skip(void)
{
    return 1;
}

static const struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *description;
} subcommands[] = {
    {"backend", backend_main, "Serve the per-region benchmark API"},
    {"db", db_main, "Create the schema and role, remove benchmark rows, diagnose"},
    {"run", run_main, "Ask every region's backend at once; ranked table, JSON, CSV, SVG, HTML"},
    {"report", report_main, "Re-render saved results; compare runs side by side"},
    {"lab", lab_main, "The whole benchmark on one machine: PostgreSQL, WAN links, backends"},
    {"wan", wan_main, "WAN emulator: TCP/UDP relay adding delay, jitter, loss, rate"},
    {"overlay", overlay_main, "WireGuard overlay plan, keys, hub/spoke configs and deploy files"},
    {"proxy", proxy_main, "Geo-routing TCP proxy in front of the regional backends"},
    {"netlab", netlab_main, "Namespaces + WireGuard world of lab --overlay wireguard (plumbing)"},
    {"regions", regions_main, "List the region catalog and the database sites"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: edgebench SUBCOMMAND [OPTIONS]\n\n"
               "Measures what a central PostgreSQL costs an application at the edge.\n\n"
               "Subcommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].description);
    fprintf(f, "\n  edgebench SUBCOMMAND --help   options of one subcommand\n"
               "  edgebench --version          print the version\n");
}

static int regions_main(int argc, char **argv)
{
    if (argc > 1 && cli_is_help(argv[1])) {
        printf("Usage: edgebench regions\n\n"
               "Prints the region catalog (code, city, country, latitude, longitude, flag,\n"
               "area) and the database sites that --db-site accepts.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "edgebench regions: unexpected argument '%s'; it takes none\n", argv[1]);
        return 2;
    }
    printf("%-5s %-14s %-7s %9s %9s %-4s %s\n", "code", "city", "country", "latitude", "longitude",
           "area", "flag");
    for (size_t i = 0; i < catalog_region_count(); i++) {
        const struct region *r = catalog_region_at(i);
        printf("%-5s %-14s %-7s %9.2f %9.2f %-4s %s\n", r->code, r->city, r->country, r->lat,
               r->lon, r->area, r->flag);
    }
    printf("\ndatabase sites:\n");
    for (size_t i = 0; i < catalog_site_count(); i++) {
        const struct db_site *s = catalog_site_at(i);
        printf("  %-15s %s\n", s->name, s->city);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("edgebench %s\n", EB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (!strcmp(argv[1], subcommands[i].name))
            return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "edgebench: unknown subcommand '%s'; run 'edgebench --help' for the list\n",
            argv[1]);
    return 2;
}
