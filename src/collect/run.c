#include "collect/run.h"

#include "collect/fanout.h"
#include "collect/result.h"
#include "collect/targets.h"
#include "core/cli.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/parse.h"
#include "report/md.h"
#include "report/report.h"

#include <curl/curl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: edgebench run [--targets FILE] [--target REGION=URL]... [OPTIONS]\n"
    "\n"
    "Asks every region's backend at once and prints the ranked Markdown table.\n"
    "\n"
    "Targets:\n"
    "  --targets FILE         CSV (region,url,location,flag[,token][,expected_rtt_ms])\n"
    "                         or an overlay plan.json\n"
    "  --target REGION=URL    one target (repeatable; adds to --targets)\n"
    "  --via URL              ask through this URL (the geo proxy); the answering\n"
    "                         region comes from the response\n"
    "  --token T              bearer token for every target (default $EDGEBENCH_TOKEN);\n"
    "                         a token column in the targets file wins\n"
    "Passed to the backends:\n"
    "  --iterations N         1..100 (default 10)\n"
    "  --mode M               simple|extended|prepared|pipeline|compat2rtt (default extended)\n"
    "  --read K               count|pk (default count)\n"
    "  --warmup N             0..20 (default 1)\n"
    "Requests:\n"
    "  --timeout SECS         whole request, per attempt (default 120)\n"
    "  --connect-timeout SECS (default 10, like the seed's curl)\n"
    "  --retries N            retries of connection failures and 429, with backoff (default 2)\n"
    "  --rounds N             ask each region N times; per region the median of the rounds'\n"
    "                         averages, percentiles over all samples (default 1)\n"
    "Table:\n"
    "  --rank-by insert|read|rtt   (default insert)\n"
    "  --stat avg|p50|p95|min      statistic of both columns (default avg)\n"
    "  --columns LIST         extra columns: p95,p99,rtt,rt (round trips)\n"
    "  --meta KEY=VALUE       recorded in results.json (repeatable), e.g. db_site=eu-west-1\n"
    "Output:\n"
    "  --out DIR              write results.json, results.csv, results.md, results.svg,\n"
    "                         report.html into DIR\n"
    "  --quiet                no progress, no warnings\n"
    "  --verbose              a log line per request, retry and answer\n"
    "\n"
    "Exit status: 0 every region answered, 1 some failed (outputs still written), 2 usage,\n"
    "targets-file or --out error (checked before any target is asked).\n";

enum {
    OPT_TARGETS = 256,
    OPT_TARGET,
    OPT_ITER,
    OPT_MODE,
    OPT_READ,
    OPT_WARMUP,
    OPT_TIMEOUT,
    OPT_CTIMEOUT,
    OPT_RETRIES,
    OPT_ROUNDS,
    OPT_VIA,
    OPT_TOKEN,
    OPT_RANK,
    OPT_STAT,
    OPT_COLUMNS,
    OPT_META,
    OPT_OUT,
    OPT_QUIET,
    OPT_VERBOSE,
    OPT_HELP
};

static const struct option long_opts[] = {
    {"targets", required_argument, NULL, OPT_TARGETS},
    {"target", required_argument, NULL, OPT_TARGET},
    {"iterations", required_argument, NULL, OPT_ITER},
    {"mode", required_argument, NULL, OPT_MODE},
    {"read", required_argument, NULL, OPT_READ},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"connect-timeout", required_argument, NULL, OPT_CTIMEOUT},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"rounds", required_argument, NULL, OPT_ROUNDS},
    {"via", required_argument, NULL, OPT_VIA},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"rank-by", required_argument, NULL, OPT_RANK},
    {"stat", required_argument, NULL, OPT_STAT},
    {"columns", required_argument, NULL, OPT_COLUMNS},
    {"meta", required_argument, NULL, OPT_META},
    {"out", required_argument, NULL, OPT_OUT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (!strcmp(v, *allowed))
            return 0;
    return -1;
}

/* The command line as recorded in results.json: token values redacted. */
static json_t *redacted_command(int argc, char **argv)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    if (json_array_append_new(a, json_string("edgebench")) < 0)
        goto fail;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (i > 0 && !strcmp(argv[i - 1], "--token"))
            s = "(redacted)";
        else if (!strncmp(s, "--token=", 8))
            s = "--token=(redacted)";
        json_t *v = json_string(s);
        if (!v)
            v = json_string("(not UTF-8)");
        if (json_array_append_new(a, v) < 0)
            goto fail;
    }
    return a;
fail:
    json_decref(a);
    return NULL;
}

static int add_meta(json_t *meta, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return -1;
    char key[64];
    size_t n = (size_t)(eq - arg);
    if (n >= sizeof(key))
        return -1;
    memcpy(key, arg, n);
    key[n] = 0;
    return json_object_set_new(meta, key, json_string(eq + 1));
}

static int set_options(json_t *o, const struct fanout_opts *f, const char *rank, const char *stat,
                       const char *columns, const char *targets_file, size_t ntargets)
{
    int rc = json_object_set_new(o, "iterations", json_integer(f->iterations));
    rc |= json_object_set_new(o, "mode", json_string(f->mode));
    rc |= json_object_set_new(o, "read", json_string(f->read));
    rc |= json_object_set_new(o, "warmup", json_integer(f->warmup));
    rc |= json_object_set_new(o, "timeout_s", json_real(f->timeout_s));
    rc |= json_object_set_new(o, "connect_timeout_s", json_real(f->connect_timeout_s));
    rc |= json_object_set_new(o, "retries", json_integer(f->retries));
    rc |= json_object_set_new(o, "rounds", json_integer(f->rounds));
    rc |= json_object_set_new(o, "via", f->via ? json_string(f->via) : json_null());
    rc |= json_object_set_new(o, "rank_by", json_string(rank));
    rc |= json_object_set_new(o, "stat", json_string(stat));
    rc |= json_object_set_new(o, "columns", json_string(columns));
    rc |= json_object_set_new(o, "targets_file",
                              targets_file ? json_string(targets_file) : json_null());
    rc |= json_object_set_new(o, "targets", json_integer((json_int_t)ntargets));
    return rc;
}

int run_main(int argc, char **argv)
{
    static const char *const modes[] = {"simple",   "extended",   "prepared",
                                        "pipeline", "compat2rtt", NULL};
    static const char *const reads[] = {"count", "pk", NULL};
    struct fanout_opts fo = {.iterations = 10,
                             .warmup = 1,
                             .retries = 2,
                             .rounds = 1,
                             .mode = "extended",
                             .read = "count",
                             .timeout_s = 120,
                             .connect_timeout_s = 10};
    struct target_list targets = {0};
    struct run_result *res = NULL;
    json_t *meta = json_object();
    const char *targets_file = NULL, *out_dir = NULL, *rank = "insert", *stat = "avg",
               *columns = "";
    char **flag_targets = NULL;
    size_t nflag_targets = 0;
    bool quiet = false, verbose = false, curl_ready = false;
    char err[1024], ts[32];
    int rc = 2, c;

    flag_targets = calloc((size_t)argc + 1, sizeof(*flag_targets));
    if (!meta || !flag_targets) {
        fprintf(stderr, "edgebench run: out of memory\n");
        goto cleanup;
    }
    fo.token = cli_env("EDGEBENCH_TOKEN");
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_TARGETS:
            targets_file = optarg;
            break;
        case OPT_TARGET:
            flag_targets[nflag_targets++] = optarg;
            break;
        case OPT_ITER:
            if (parse_long(optarg, 1, 100, &fo.iterations) < 0) {
                fprintf(stderr, "edgebench run: --iterations '%s' must be an integer 1..100\n",
                        optarg);
                goto cleanup;
            }
            break;
        case OPT_WARMUP:
            if (parse_long(optarg, 0, 20, &fo.warmup) < 0) {
                fprintf(stderr, "edgebench run: --warmup '%s' must be an integer 0..20\n", optarg);
                goto cleanup;
            }
            break;
        case OPT_MODE:
            if (one_of(optarg, modes) < 0) {
                fprintf(stderr,
                        "edgebench run: --mode '%s' must be simple, extended, prepared, "
                        "pipeline or compat2rtt\n",
                        optarg);
                goto cleanup;
            }
            fo.mode = optarg;
            break;
        case OPT_READ:
            if (one_of(optarg, reads) < 0) {
                fprintf(stderr, "edgebench run: --read '%s' must be count or pk\n", optarg);
                goto cleanup;
            }
            fo.read = optarg;
            break;
        case OPT_TIMEOUT:
        case OPT_CTIMEOUT: {
            double ms;
            if (parse_duration_ms(optarg, 1000, &ms) < 0 || ms < 1 || ms > 3600e3) {
                fprintf(stderr,
                        "edgebench run: --%s '%s' must be a duration from 1ms to 1h "
                        "(seconds when bare, e.g. 10 or 2.5s)\n",
                        c == OPT_TIMEOUT ? "timeout" : "connect-timeout", optarg);
                goto cleanup;
            }
            if (c == OPT_TIMEOUT)
                fo.timeout_s = ms / 1000;
            else
                fo.connect_timeout_s = ms / 1000;
            break;
        }
        case OPT_RETRIES:
            if (parse_long(optarg, 0, 10, &fo.retries) < 0) {
                fprintf(stderr, "edgebench run: --retries '%s' must be an integer 0..10\n", optarg);
                goto cleanup;
            }
            break;
        case OPT_ROUNDS:
            if (parse_long(optarg, 1, 1000, &fo.rounds) < 0) {
                fprintf(stderr, "edgebench run: --rounds '%s' must be an integer 1..1000\n",
                        optarg);
                goto cleanup;
            }
            break;
        case OPT_VIA:
            if (targets_check_url(optarg, err, sizeof(err)) < 0) {
                fprintf(stderr, "edgebench run: --via: %s\n", err);
                goto cleanup;
            }
            fo.via = optarg;
            break;
        case OPT_TOKEN:
            fo.token = optarg;
            break;
        case OPT_RANK: {
            enum rank_by r;
            if (result_parse_rank(optarg, &r) < 0) {
                fprintf(stderr, "edgebench run: --rank-by '%s' must be insert, read or rtt\n",
                        optarg);
                goto cleanup;
            }
            rank = optarg;
            break;
        }
        case OPT_STAT: {
            enum stat_kind s;
            if (result_parse_stat(optarg, &s) < 0) {
                fprintf(stderr, "edgebench run: --stat '%s' must be avg, p50, p95 or min\n",
                        optarg);
                goto cleanup;
            }
            stat = optarg;
            break;
        }
        case OPT_COLUMNS: {
            unsigned cols;
            if (result_parse_columns(optarg, &cols) < 0) {
                fprintf(stderr,
                        "edgebench run: --columns '%s' must be a comma-separated list of "
                        "p95, p99, rtt, rt\n",
                        optarg);
                goto cleanup;
            }
            columns = optarg;
            break;
        }
        case OPT_META:
            if (add_meta(meta, optarg) < 0) {
                fprintf(stderr,
                        "edgebench run: --meta '%s' must be KEY=VALUE (key 1..63 bytes, "
                        "UTF-8), e.g. db_site=eu-west-1\n",
                        optarg);
                goto cleanup;
            }
            break;
        case OPT_OUT:
            out_dir = optarg;
            break;
        case OPT_QUIET:
            quiet = true;
            break;
        case OPT_VERBOSE:
            verbose = true;
            break;
        case 'h':
        case OPT_HELP:
            fputs(usage_text, stdout);
            rc = 0;
            goto cleanup;
        case ':':
            fprintf(stderr, "edgebench run: %s needs a value; see 'edgebench run --help'\n",
                    argv[optind - 1]);
            goto cleanup;
        default:
            fprintf(stderr, "edgebench run: unknown option '%s'; see 'edgebench run --help'\n",
                    argv[optind - 1]);
            goto cleanup;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "edgebench run: unexpected argument '%s'; see 'edgebench run --help'\n",
                argv[optind]);
        goto cleanup;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "edgebench run: libcurl failed to initialise\n");
        rc = 1;
        goto cleanup;
    }
    curl_ready = true;
    /* a closed stdout (| head) must not cost the files of --out */
    signal(SIGPIPE, SIG_IGN);
    if (targets_file && targets_load_file(&targets, targets_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench run: %s\n", err);
        goto cleanup;
    }
    for (size_t i = 0; i < nflag_targets; i++) {
        if (targets_add_flag(&targets, flag_targets[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "edgebench run: %s\n", err);
            goto cleanup;
        }
    }
    if (fo.via && targets.n == 0) {
        char arg[600];
        snprintf(arg, sizeof(arg), "via=%s", fo.via);
        if (targets_add_flag(&targets, arg, err, sizeof(err)) < 0) {
            fprintf(stderr, "edgebench run: --via: %s\n", err);
            goto cleanup;
        }
    }
    if (targets.n == 0) {
        fprintf(stderr, "edgebench run: no targets; pass --targets FILE (e.g. "
                        "examples/targets-seed.csv) or --target REGION=URL\n");
        goto cleanup;
    }
    /* a bad --out must stop the run before any target is asked */
    if (out_dir && report_prepare_dir(out_dir, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench run: --out: %s\n", err);
        goto cleanup;
    }
    if (quiet)
        log_set_level(LOG_LEVEL_ERROR);
    else if (verbose)
        log_set_level(LOG_LEVEL_DEBUG);
    log_set_component("run");
    fo.verbose = verbose && !quiet;
    fo.progress = !quiet && !verbose && isatty(STDERR_FILENO);

    res = result_new();
    if (!res || !(res->version = strdup(EB_VERSION))) {
        fprintf(stderr, "edgebench run: out of memory\n");
        rc = 1;
        goto cleanup;
    }
    json_decref(res->meta);
    res->meta = json_incref(meta);
    json_decref(res->command);
    res->command = redacted_command(argc, argv);
    result_parse_rank(rank, &res->rank_by);
    result_parse_stat(stat, &res->stat);
    result_parse_columns(columns, &res->columns);
    if (!res->command ||
        set_options(res->options, &fo, rank, stat, columns, targets_file, targets.n) != 0) {
        fprintf(stderr, "edgebench run: out of memory\n");
        rc = 1;
        goto cleanup;
    }
    clock_rfc3339(ts, sizeof(ts));
    res->started = strdup(ts);
    if (fanout_run(&targets, &fo, res, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench run: %s\n", err);
        rc = 1;
        goto cleanup;
    }
    clock_rfc3339(ts, sizeof(ts));
    res->finished = strdup(ts);
    if (!res->started || !res->finished) {
        fprintf(stderr, "edgebench run: out of memory\n");
        rc = 1;
        goto cleanup;
    }
    rc = 0;
    for (size_t i = 0; i < res->nregions; i++)
        if (res->regions[i].status != REGION_OK)
            rc = 1;
    if (md_render(stdout, res) < 0) {
        fprintf(stderr, "edgebench run: cannot write the table to standard output\n");
        rc = 1;
    }
    fflush(stdout);
    if (out_dir) {
        if (report_write_all(res, out_dir, err, sizeof(err)) < 0) {
            fprintf(stderr, "edgebench run: %s\n", err);
            rc = 1;
        } else if (!quiet) {
            fprintf(stderr, "results written to %s/\n", out_dir);
        }
    }
cleanup:
    result_free(res);
    targets_free(&targets);
    json_decref(meta);
    free(flag_targets);
    if (curl_ready)
        curl_global_cleanup();
    return rc;
}
