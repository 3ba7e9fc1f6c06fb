#include "report/report.h"

#include "core/cli.h"
#include "report/csvout.h"
#include "report/html.h"
#include "report/md.h"
#include "report/svg.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum format { FMT_MD = 0, FMT_CSV, FMT_JSON, FMT_SVG, FMT_HTML, FMT_COUNT };

static const char *const format_names[FMT_COUNT] = {"md", "csv", "json", "svg", "html"};
static const char *const file_names[FMT_COUNT] = {"results.md", "results.csv", "results.json",
                                                  "results.svg", "report.html"};

static const char usage_text[] =
    "Usage: edgebench report RESULTS.json [MORE.json ...] [--format md|csv|json|svg|html]\n"
    "                        [--out DIR] [--stat avg|p50|p95|min] [--rank-by insert|read|rtt]\n"
    "\n"
    "Re-renders saved results (results.json from `edgebench run --out`). One file: the\n"
    "chosen format on standard output (default md), or with --out every format into DIR\n"
    "(only the chosen one when --format is given). Two or more files: the runs side by\n"
    "side in Markdown with the change of each region against the first file.\n"
    "--stat and --rank-by override what the run recorded.\n";

static int render(FILE *f, const struct run_result *res, enum format fmt)
{
    switch (fmt) {
    case FMT_MD:
        return md_render(f, res);
    case FMT_CSV:
        return csvout_render(f, res);
    case FMT_SVG:
        return svg_render(f, res, true);
    case FMT_HTML:
        return html_render(f, res);
    case FMT_JSON:
    default: {
        json_t *root = result_to_json(res);
        if (!root)
            return -1;
        int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        json_decref(root);
        return rc < 0 || ferror(f) ? -1 : 0;
    }
    }
}

static int mkdirs(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create directory %s: %s", path, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    return 0;
}

int report_prepare_dir(const char *dir, char *err, size_t errlen)
{
    char probe[4200];
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a directory; pass a directory", dir);
        return -1;
    }
    if (mkdirs(dir, err, errlen) < 0)
        return -1;
    if (snprintf(probe, sizeof(probe), "%s/.edgebench-probe-XXXXXX", dir) >= (int)sizeof(probe)) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    int fd = mkstemp(probe);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write in directory %s: %s", dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

/* Writes DIR/NAME through a temporary file and a rename. */
static int write_one(const struct run_result *res, const char *dir, enum format fmt, char *err,
                     size_t errlen)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, file_names[fmt]);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    int rc = render(f, res, fmt);
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -1;
    if (rc < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
        remove(tmp);
    }
    return rc;
}

int report_write_all(const struct run_result *res, const char *dir, char *err, size_t errlen)
{
    if (mkdirs(dir, err, errlen) < 0)
        return -1;
    for (int fmt = 0; fmt < FMT_COUNT; fmt++)
        if (write_one(res, dir, (enum format)fmt, err, errlen) < 0)
            return -1;
    return 0;
}

int report_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"out", required_argument, NULL, 'o'},
        {"stat", required_argument, NULL, 's'},   {"rank-by", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    struct run_result **runs = NULL;
    size_t nruns = 0;
    const char *out = NULL, *stat = NULL, *rank = NULL;
    int fmt = -1, rc = 2, c;
    char err[1024];

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = -1;
            for (int i = 0; i < FMT_COUNT; i++)
                if (!strcmp(optarg, format_names[i]))
                    fmt = i;
            if (fmt < 0) {
                fprintf(stderr,
                        "edgebench report: --format '%s' must be md, csv, json, svg "
                        "or html\n",
                        optarg);
                goto cleanup;
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 's': {
            enum stat_kind s;
            if (result_parse_stat(optarg, &s) < 0) {
                fprintf(stderr, "edgebench report: --stat '%s' must be avg, p50, p95 or min\n",
                        optarg);
                goto cleanup;
            }
            stat = optarg;
            break;
        }
        case 'r': {
            enum rank_by r;
            if (result_parse_rank(optarg, &r) < 0) {
                fprintf(stderr, "edgebench report: --rank-by '%s' must be insert, read or rtt\n",
                        optarg);
                goto cleanup;
            }
            rank = optarg;
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            rc = 0;
            goto cleanup;
        case ':':
            fprintf(stderr, "edgebench report: %s needs a value; see 'edgebench report --help'\n",
                    argv[optind - 1]);
            goto cleanup;
        default:
            fprintf(stderr,
                    "edgebench report: unknown option '%s'; see 'edgebench report --help'\n",
                    argv[optind - 1]);
            goto cleanup;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "edgebench report: no results file; usage: edgebench report "
                        "results.json [--format md|csv|json|svg|html]\n");
        goto cleanup;
    }
    size_t nfiles = (size_t)(argc - optind);
    if (nfiles > 1 && fmt > FMT_MD) {
        fprintf(stderr,
                "edgebench report: comparing %zu runs gives Markdown only; drop "
                "--format %s or pass one file\n",
                nfiles, format_names[fmt]);
        goto cleanup;
    }
    if (nfiles > 1 && out) {
        fprintf(stderr, "edgebench report: --out takes one results file; a comparison is "
                        "printed on standard output\n");
        goto cleanup;
    }
    runs = calloc(nfiles, sizeof(*runs));
    if (!runs) {
        fprintf(stderr, "edgebench report: out of memory\n");
        rc = 1;
        goto cleanup;
    }
    for (size_t i = 0; i < nfiles; i++) {
        runs[i] = result_load(argv[optind + (int)i], err, sizeof(err));
        if (!runs[i]) {
            fprintf(stderr, "edgebench report: %s\n", err);
            goto cleanup; /* input errors exit 2, like a bad targets file for run */
        }
        nruns++;
        if (stat)
            result_parse_stat(stat, &runs[i]->stat);
        if (rank)
            result_parse_rank(rank, &runs[i]->rank_by);
    }
    if (out && report_prepare_dir(out, err, sizeof(err)) < 0) {
        fprintf(stderr, "edgebench report: --out: %s\n", err);
        goto cleanup;
    }
    rc = 1;
    if (nfiles > 1) {
        if (md_compare(stdout, runs, (const char *const *)argv + optind, nfiles) < 0)
            fprintf(stderr, "edgebench report: cannot write the comparison\n");
        else
            rc = 0;
    } else if (out) {
        if ((fmt >= 0 ? write_one(runs[0], out, (enum format)fmt, err, sizeof(err))
                      : report_write_all(runs[0], out, err, sizeof(err))) < 0)
            fprintf(stderr, "edgebench report: %s\n", err);
        else
            rc = 0;
    } else {
        if (render(stdout, runs[0], fmt < 0 ? FMT_MD : (enum format)fmt) < 0 || fflush(stdout))
            fprintf(stderr, "edgebench report: cannot write to standard output\n");
        else
            rc = 0;
    }
cleanup:
    for (size_t i = 0; i < nruns; i++)
        result_free(runs[i]);
    free(runs);
    return rc;
}
