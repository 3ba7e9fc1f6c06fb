#include "netlab/nlcli.h"

#include "core/cli.h"
#include "core/log.h"
#include "core/parse.h"
#include "netlab/netlab.h"
#include "netlab/nlstate.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: edgebench netlab up --hub HUB.conf --nat NAT.sh --spoke CODE=FILE...\n"
            "                          [--rtt CODE=DELAY]... [--underlay CIDR] [--workdir DIR]\n"
            "                          [--handshake-timeout SECS] [--wan-exe PROGRAM]\n"
            "       edgebench netlab cleanup [--force]\n"
            "       edgebench netlab check\n\n"
            "The namespace world of `edgebench lab --overlay wireguard` on its own: one\n"
            "network namespace per region and one for the hub, veth links, wireguard-go\n"
            "configured from the given wg-quick files, the hub's nat.sh, and one\n"
            "`edgebench wan --udp` link per region given an --rtt. Prints the namespaces,\n"
            "the handshakes and 'ready', then runs until SIGINT/SIGTERM or until a\n"
            "component dies, and removes everything it made.\n\n"
            "  --hub FILE            the hub's wg-quick config (needs ListenPort)\n"
            "  --nat FILE            the hub's nat.sh, run as `nat.sh up|down to-db` in the hub\n"
            "  --spoke CODE=FILE     one region and its wg-quick config (repeat)\n"
            "  --rtt CODE=DELAY      that region's round-trip time to the hub (e.g. 80ms); its\n"
            "                        WireGuard UDP then crosses an `edgebench wan` link\n"
            "  --underlay CIDR       the /24 for the veth links (default: the first /24 of\n"
            "                        10.201-254.x.0 that no route or address here overlaps);\n"
            "                        hub endpoint address = .254, PostgreSQL side = .2\n"
            "  --workdir DIR         logs and the WAN links file (default: a temporary dir)\n"
            "  --handshake-timeout S wait this long for every spoke's handshake (default 20)\n"
            "  --wan-exe PROGRAM     run the WAN links as `PROGRAM wan --links FILE` (default:\n"
            "                        this edgebench)\n"
            "  cleanup [--force]     remove what crashed runs left (from the state files in\n"
            "                        $EDGEBENCH_STATE_DIR, default /run/edgebench); --force\n"
            "                        also removes the worlds of labs still running\n"
            "  check                 say whether this machine can run the overlay lab\n");
}

int netlab_cleanup_main(const char *prog, int argc, char **argv)
{
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) {
            force = true;
        } else if (cli_is_help(argv[i])) {
            printf("Usage: %s [--force]\n\n"
                   "Removes the namespaces, interfaces, wireguard-go processes, control sockets\n"
                   "and directories that an overlay lab which did not finish left behind, as\n"
                   "listed in its state file (in $EDGEBENCH_STATE_DIR, default /run/edgebench).\n"
                   "Labs still running are left alone unless --force.\n",
                   prog);
            return 0;
        } else {
            fprintf(stderr, "%s: unknown option '%s' (only --force)\n", prog, argv[i]);
            return 2;
        }
    }
    if (geteuid() != 0) {
        fprintf(stderr, "%s: needs root (it deletes network namespaces)\n", prog);
        return 1;
    }
    int n = nlstate_cleanup(force, stdout);
    if (n < 0) {
        fprintf(stderr, "%s: cannot read %s: %s\n", prog, nlstate_dir(), strerror(errno));
        return 1;
    }
    printf("cleanup: %d item%s removed\n", n, n == 1 ? "" : "s");
    return 0;
}

struct spoke_arg {
    char code[16];
    const char *conf;
    double rtt;
};

static struct spoke_arg *find_spoke(struct spoke_arg *v, size_t n, const char *code, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i].code) == len && !strncmp(v[i].code, code, len))
            return &v[i];
    return NULL;
}

static int up_main(int argc, char **argv)
{
    const char *hub = NULL, *nat = NULL, *underlay = NULL, *workdir = NULL, *wan_exe = NULL;
    double hs_timeout = 20;
    struct spoke_arg *sp = calloc((size_t)argc, sizeof(*sp));
    const char **codes = calloc((size_t)argc, sizeof(*codes));
    const char **confs = calloc((size_t)argc, sizeof(*confs));
    double *rtts = calloc((size_t)argc, sizeof(*rtts));
    char **rtt_args = calloc((size_t)argc, sizeof(*rtt_args));
    size_t n = 0, nrtt = 0;
    struct netlab *lab = NULL;
    char tmpdir[] = "/tmp/ebnetlab.XXXXXX";
    bool made_tmp = false;
    int rc = 2;
    if (!sp || !codes || !confs || !rtts || !rtt_args)
        goto cleanup;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            rc = 0;
            goto cleanup;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "edgebench netlab up: '%s' needs a value (see --help)\n", a);
            goto cleanup;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--hub")) {
            hub = v;
        } else if (!strcmp(a, "--nat")) {
            nat = v;
        } else if (!strcmp(a, "--underlay")) {
            underlay = v;
        } else if (!strcmp(a, "--workdir")) {
            workdir = v;
        } else if (!strcmp(a, "--wan-exe")) {
            wan_exe = v;
        } else if (!strcmp(a, "--handshake-timeout")) {
            if (parse_double(v, 1, 600, &hs_timeout) < 0) {
                fprintf(stderr, "edgebench netlab up: --handshake-timeout '%s' is not 1..600\n", v);
                goto cleanup;
            }
        } else if (!strcmp(a, "--spoke")) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1] || (size_t)(eq - v) >= sizeof(sp[n].code)) {
                fprintf(stderr, "edgebench netlab up: --spoke '%s' is not CODE=FILE\n", v);
                goto cleanup;
            }
            if (find_spoke(sp, n, v, (size_t)(eq - v))) {
                fprintf(stderr, "edgebench netlab up: region in --spoke '%s' given twice\n", v);
                goto cleanup;
            }
            memcpy(sp[n].code, v, (size_t)(eq - v));
            sp[n].conf = eq + 1;
            sp[n].rtt = -1;
            n++;
        } else if (!strcmp(a, "--rtt")) {
            rtt_args[nrtt++] = (char *)v;
        } else {
            fprintf(stderr, "edgebench netlab up: unknown option '%s' (see --help)\n", a);
            goto cleanup;
        }
    }
    if (!hub || !nat || n == 0) {
        fprintf(stderr, "edgebench netlab up: --hub, --nat and at least one --spoke are "
                        "required (see --help)\n");
        goto cleanup;
    }
    for (size_t k = 0; k < nrtt; k++) {
        const char *v = rtt_args[k], *eq = strchr(v, '=');
        struct spoke_arg *s = eq ? find_spoke(sp, n, v, (size_t)(eq - v)) : NULL;
        if (!s || parse_duration_ms(eq + 1, 1, &s->rtt) < 0) {
            fprintf(stderr,
                    "edgebench netlab up: --rtt '%s' is not CODE=DELAY for a --spoke region "
                    "(e.g. lhr=12ms)\n",
                    v);
            goto cleanup;
        }
    }
    rc = 1;
    char why[512];
    if (netlab_unsupported(why, sizeof(why))) {
        fprintf(stderr, "edgebench netlab: %s\n", why);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        codes[i] = sp[i].code;
        confs[i] = sp[i].conf;
        rtts[i] = sp[i].rtt;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!workdir) {
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "edgebench netlab: cannot create a directory in /tmp: %s\n",
                    strerror(errno));
            goto cleanup;
        }
        made_tmp = true;
        workdir = tmpdir;
    }
    struct netlab_options opt = {
        .codes = codes,
        .n_regions = n,
        .workdir = workdir,
        .underlay = underlay,
        .avoid = NULL,
        .wan_exe = wan_exe,
        .stop = &stop_signal,
    };
    if (netlab_plan(&opt, &lab) < 0)
        goto cleanup;
    if (made_tmp && nlstate_add(netlab_state(lab), "dir", tmpdir) < 0)
        goto cleanup;
    printf("underlay %s\nhub-address %s\ndb-address %s\nhub-namespace %s\n", netlab_underlay(lab),
           netlab_hub_addr(lab), netlab_db_addr(lab), netlab_ns(lab, -1));
    for (size_t i = 0; i < n; i++)
        printf("namespace %s %s %s\n", codes[i], netlab_ns(lab, (int)i),
               netlab_ifname(lab, (int)i));
    fflush(stdout);
    if (netlab_underlay_up(lab) < 0 || netlab_overlay_up(lab, hub, nat, confs, rtts) < 0 ||
        netlab_wait_handshakes(lab, (int)(hs_timeout * 1000)) < 0) {
        if (stop_signal)
            log_info("interrupted: tearing down");
        goto cleanup;
    }
    netlab_print_handshakes(lab, stdout);
    printf("ready\n");
    fflush(stdout);
    while (!stop_signal) {
        if (netlab_poll(lab) < 0)
            goto cleanup;
        struct timespec ts = {0, 200000000L};
        nanosleep(&ts, NULL);
    }
    log_info("signal %d: tearing down", (int)stop_signal);
    rc = 0;
cleanup:
    netlab_down(lab);
    if (made_tmp)
        nlstate_remove_dir(tmpdir);
    free(sp);
    free(codes);
    free(confs);
    free(rtts);
    free(rtt_args);
    return rc;
}

int netlab_main(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "up"))
        return up_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "cleanup"))
        return netlab_cleanup_main("edgebench netlab cleanup", argc - 1, argv + 1);
    if (!strcmp(argv[1], "check")) {
        char why[512];
        if (netlab_unsupported(why, sizeof(why))) {
            printf("no: %s\n", why);
            return 1;
        }
        printf("yes: root, /dev/net/tun, wireguard-go, wg, wg-quick, ip and iptables are here\n");
        return 0;
    }
    fprintf(stderr, "edgebench netlab: unknown command '%s' (up, cleanup, check)\n", argv[1]);
    return 2;
}
