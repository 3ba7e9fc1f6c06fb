#include "lab/proxycheck.h"
#include "proxy/state.h"

#include "core/catalog.h"
#include "core/countries.h"
#include "core/log.h"
#include "lab/sys.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROXY_START_TIMEOUT_MS 15000
#define MAX_CLIENTS 24

/* The seed's geo-routing test asked from Paris, Frankfurt, London, Detroit,
 * Tokyo, Singapore, Sydney and Sao Paulo; these add a few countries with no
 * region of their own. The countries of the plan's regions come first. */
static const char *const extra_countries[] = {"FR", "DE", "GB", "US", "JP", "SG", "AU",
                                              "BR", "CA", "MX", "IN", "ZA", "KR", "AR"};

struct client {
    char country[3];
    char src[32];
    char expected[64]; /* the nearest region, or "cdg/lhr" when equally near */
    char served[16];
    char error[128];
};

/* Runs a one-shot child to completion: 0 when it exited 0. */
static int run_child(struct supervisor *sup, struct child *c, const struct spawn_opts *o, char *err,
                     size_t errlen)
{
    if (sup_spawn(sup, c, o, err, errlen) < 0)
        return -1;
    for (;;) {
        struct child *which = NULL;
        enum sup_event ev = sup_wait(sup, -1, -1, &which);
        if (ev == SUP_SIGNAL || ev == SUP_ERROR)
            return -1;
        if (ev != SUP_CHILD_EXIT)
            continue;
        if (which != c)
            return -1; /* another component died: the caller names it */
        if (child_succeeded(c))
            return 0;
        snprintf(err, errlen, "%s failed; its log: %s", c->name, c->log);
        child_print_log_tail(c, stderr, 5);
        return -1;
    }
}

/* The nearest region by the proxy's own rule: every region within
 * PROXY_EQUAL_COST km of the nearest is as near, and the proxy picks any. */
static void nearest_regions(const struct lab_plan *plan, const struct country *c, char *out,
                            size_t outlen)
{
    double best_km = 1e300;
    for (size_t i = 0; i < plan->n; i++) {
        const struct region *r = plan->regions[i].region;
        double km = catalog_distance_km(c->lat, c->lon, r->lat, r->lon);
        if (km < best_km)
            best_km = km;
    }
    size_t off = 0;
    out[0] = 0;
    for (size_t i = 0; i < plan->n; i++) {
        const struct region *r = plan->regions[i].region;
        if (catalog_distance_km(c->lat, c->lon, r->lat, r->lon) < best_km + PROXY_EQUAL_COST &&
            off < outlen)
            off += (size_t)snprintf(out + off, outlen - off, "%s%s", off ? "/" : "", r->code);
    }
}

/* Whether the served region is one of the expected ("cdg/lhr"). */
static bool served_as_expected(const struct client *c)
{
    size_t n = strlen(c->served);
    for (const char *p = c->expected; n && *p;) {
        if (!strncmp(p, c->served, n) && (p[n] == '/' || p[n] == 0))
            return true;
        p = strchr(p, '/');
        if (!p)
            break;
        p++;
    }
    return false;
}

static size_t choose_clients(const struct lab_plan *plan, struct client *cl)
{
    size_t n = 0;
    const char *wanted[PROFILE_MAX + sizeof(extra_countries) / sizeof(extra_countries[0])];
    size_t nw = 0;
    for (size_t i = 0; i < plan->n; i++)
        wanted[nw++] = plan->regions[i].region->country;
    for (size_t i = 0; i < sizeof(extra_countries) / sizeof(extra_countries[0]); i++)
        wanted[nw++] = extra_countries[i];
    for (size_t i = 0; i < nw && n < MAX_CLIENTS; i++) {
        const struct country *c = countries_find(wanted[i]);
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= c && !strcmp(cl[k].country, c->code);
        if (!c || dup)
            continue;
        memset(&cl[n], 0, sizeof(cl[n]));
        snprintf(cl[n].country, sizeof(cl[n].country), "%s", c->code);
        snprintf(cl[n].src, sizeof(cl[n].src), "127.%zu.0.2", 20 + n);
        nearest_regions(plan, c, cl[n].expected, sizeof(cl[n].expected));
        n++;
    }
    return n;
}

static int write_geo_csv(const char *path, const struct client *cl, size_t n, char *err,
                         size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "cidr,country\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "127.%zu.0.0/16,%s\n", 20 + i, cl[i].country);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_routes(struct lab_proxy *lp, struct supervisor *sup, const char *exe,
                        const char *logdir, const struct lab_plan *plan,
                        const struct lab_link *links, char *err, size_t errlen)
{
    for (size_t i = 0; i < plan->n; i++) {
        char port[16], log[PATH_MAX], name[64];
        snprintf(port, sizeof(port), "%u", links[i].port);
        snprintf(name, sizeof(name), "proxy-routes-%s.log", plan->regions[i].region->code);
        if (sys_path(log, sizeof(log), logdir, name) < 0) {
            snprintf(err, errlen, "%s: path too long", logdir);
            return -1;
        }
        char *argv[] = {(char *)exe, "proxy",
                        "routes",    "add",
                        "--routes",  lp->db,
                        "--region",  (char *)plan->regions[i].region->code,
                        "--address", (char *)links[i].listen_addr,
                        "--port",    port,
                        NULL};
        struct spawn_opts o = {.argv = argv, .log_path = log};
        snprintf(lp->routes[i].name, sizeof(lp->routes[i].name), "proxy routes add %s",
                 plan->regions[i].region->code);
        if (run_child(sup, &lp->routes[i], &o, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* Waits for the proxy's "listening on" line in its log. */
static int wait_proxy(struct lab_proxy *lp, struct supervisor *sup, char *err, size_t errlen)
{
    for (int waited = 0; waited < PROXY_START_TIMEOUT_MS; waited += 50) {
        FILE *f = fopen(lp->proxy.log, "r");
        char line[1024];
        bool up = false;
        while (f && fgets(line, sizeof(line), f))
            up |= strstr(line, "listening on") != NULL;
        if (f)
            fclose(f);
        if (up)
            return 0;
        struct child *which = NULL;
        enum sup_event ev = sup_wait(sup, 50, -1, &which);
        if (ev == SUP_SIGNAL || ev == SUP_CHILD_EXIT)
            return -1;
    }
    snprintf(err, errlen, "the proxy did not start within %d s; its log: %s",
             PROXY_START_TIMEOUT_MS / 1000, lp->proxy.log);
    child_print_log_tail(&lp->proxy, stderr, 10);
    return -1;
}

struct body {
    char buf[4096];
    size_t n;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct body *b = user;
    size_t n = size * nmemb;
    size_t room = sizeof(b->buf) - 1 - b->n;
    memcpy(b->buf + b->n, ptr, n < room ? n : room);
    b->n += n < room ? n : room;
    b->buf[b->n] = 0;
    return n;
}

/* GET /api/info through the proxy from the client's source address. */
static void ask(struct supervisor *sup, CURL *curl, uint16_t port, struct client *c)
{
    char url[96], iface[48];
    struct body b = {.n = 0};
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/info", port);
    snprintf(iface, sizeof(iface), "host!%s", c->src);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_INTERFACE, iface);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    CURLcode rc = (CURLcode)sup_curl_perform(sup, curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK) {
        snprintf(c->error, sizeof(c->error), "%s", curl_easy_strerror(rc));
        return;
    }
    json_error_t jerr;
    json_t *j = json_loads(b.buf, 0, &jerr);
    const char *region = json_string_value(json_object_get(j, "region"));
    if (code == 200 && region)
        snprintf(c->served, sizeof(c->served), "%s", region);
    else
        snprintf(c->error, sizeof(c->error), "HTTP %ld without a region", code);
    json_decref(j);
}

int lab_proxy_check(struct lab_proxy *lp, struct supervisor *sup, const char *exe,
                    const char *tmpdir, const char *logdir, const struct lab_plan *plan,
                    const struct lab_link *links, FILE *out, char *err, size_t errlen)
{
    struct client cl[MAX_CLIENTS];
    size_t n = choose_clients(plan, cl);
    CURL *curl = NULL;
    int rc = -1, fd = -1;
    char listen[48], log[PATH_MAX];
    if (sys_path(lp->db, sizeof(lp->db), tmpdir, "routing.db") < 0 ||
        sys_path(lp->geo, sizeof(lp->geo), tmpdir, "lab-geo.csv") < 0 ||
        sys_path(lp->access_log, sizeof(lp->access_log), logdir, "proxy-access.log") < 0 ||
        sys_path(log, sizeof(log), logdir, "proxy.log") < 0) {
        snprintf(err, errlen, "%s: path too long", tmpdir);
        goto cleanup;
    }
    if (write_geo_csv(lp->geo, cl, n, err, errlen) < 0 ||
        write_routes(lp, sup, exe, logdir, plan, links, err, errlen) < 0)
        goto cleanup;
    if (sys_reserve_port(&lp->port, &fd) < 0) {
        snprintf(err, errlen, "no free port for the proxy: %s", strerror(errno));
        goto cleanup;
    }
    close(fd);
    fd = -1;
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", lp->port);
    char *argv[] = {(char *)exe, "proxy", "--listen", listen, "--routes", lp->db, "--geoip-csv",
                    lp->geo, "--pop", (char *)plan->regions[0].region->code, "--health",
                    "http:/healthz", "--health-interval", "1s", "--affinity-ttl", "0",
                    "--access-log", lp->access_log,
                    /* the lab's clients are done when it stops: no long drain */
                    "--drain-timeout", "200ms", NULL};
    struct spawn_opts o = {.argv = argv, .log_path = log};
    snprintf(lp->proxy.name, sizeof(lp->proxy.name), "proxy");
    if (sup_spawn(sup, &lp->proxy, &o, err, errlen) < 0 || wait_proxy(lp, sup, err, errlen) < 0)
        goto cleanup;
    log_info("proxy on %s in front of %zu backends; %zu synthetic clients", listen, plan->n, n);
    curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errlen, "libcurl: cannot create a handle");
        goto cleanup;
    }
    size_t matched = 0;
    for (size_t i = 0; i < n; i++) {
        ask(sup, curl, lp->port, &cl[i]);
        if (sup_interrupted(sup)) {
            snprintf(err, errlen, "interrupted");
            goto cleanup;
        }
        matched += served_as_expected(&cl[i]);
    }
    fprintf(out,
            "\nGeo-routing through edgebench proxy (%s), one synthetic client per country:\n\n"
            "| Client | Country | Expected | Served | Result |\n"
            "|--------|:-------:|:--------:|:------:|:------:|\n",
            listen);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "| %s | %s | %s | %s | %s |\n", cl[i].src, cl[i].country, cl[i].expected,
                cl[i].served[0] ? cl[i].served : "-",
                served_as_expected(&cl[i]) ? "ok"
                : cl[i].error[0]           ? cl[i].error
                                           : "MISMATCH");
    fprintf(out, "\n%zu of %zu synthetic clients served by the expected region.\n", matched, n);
    fflush(out);
    rc = matched == n ? 0 : 1;
cleanup:
    if (curl)
        curl_easy_cleanup(curl);
    if (fd >= 0)
        close(fd);
    return rc;
}
