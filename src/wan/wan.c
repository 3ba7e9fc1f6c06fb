#include "wan/wan.h"

#include "core/cli.h"
#include "core/clock.h"
#include "core/log.h"
#include "wan/links.h"
#include "wan/relay.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#define LINKS_FILE_MAX (1 << 20)
/* TCP: per connection and direction; the sender is held back beyond it.
 * UDP: per link and direction; datagrams beyond it are dropped, so it is
 * larger: a real path holds what is sent within one one-way delay. */
#define TCP_QUEUE_CAP (256 * 1024)
#define UDP_QUEUE_CAP (8 * 1024 * 1024)
#define UDP_IDLE_S 60

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: edgebench wan --listen ADDR:PORT --to ADDR:PORT --rtt DELAY [--jitter DELAY]\n"
            "                     [--loss PCT] [--rate RATE] [--udp] [--name NAME]\n"
            "       edgebench wan --links FILE\n\n"
            "Relays TCP (or UDP with --udp) from --listen to --to and adds half of --rtt in\n"
            "each direction, like a WAN path. Many links run in one process from --links FILE\n"
            "(one link per line, written with the same flags; '#' comments; '-' is stdin).\n"
            "Prints 'ready: N links' once every listener is bound. See docs/wan.md.\n\n"
            "  --listen ADDR:PORT  where clients connect (':PORT' for every address)\n"
            "  --to ADDR:PORT      the server behind the link (a name is resolved at start)\n"
            "  --rtt DELAY         round-trip time added, e.g. 80ms, 0.5ms, 250us (bare: ms)\n"
            "  --jitter DELAY      extra delay drawn uniformly in [0, DELAY] each way\n"
            "  --loss PCT          UDP: datagrams dropped; TCP: a chunk that would lose a\n"
            "                      segment is delayed one retransmission timeout (RTT + 200 ms)\n"
            "  --rate RATE         bandwidth each way, e.g. 100mbit, 500kbit, 1gbit\n"
            "  --udp               relay UDP datagrams instead of TCP\n"
            "  --name NAME         a label for log lines (e.g. the region code)\n"
            "  --verbose, --quiet  more or less logging on stderr\n");
}

static struct event_base *loop_base;

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    log_info("signal %d: stopping", (int)sig);
    event_base_loopbreak(loop_base);
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    int rc = -1;
    char *buf = NULL;
    if (!f) {
        fprintf(stderr, "edgebench wan: cannot open --links file '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    buf = malloc(LINKS_FILE_MAX + 1);
    if (!buf)
        goto cleanup;
    size_t n = fread(buf, 1, LINKS_FILE_MAX + 1, f);
    if (ferror(f)) {
        fprintf(stderr, "edgebench wan: cannot read '%s': %s\n", path, strerror(errno));
        goto cleanup;
    }
    if (n > LINKS_FILE_MAX) {
        fprintf(stderr, "edgebench wan: '%s' is larger than 1 MiB; is it a links file?\n", path);
        goto cleanup;
    }
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
cleanup:
    free(buf);
    if (f != stdin)
        fclose(f);
    return rc;
}

static int resolve(const char *host, uint16_t port, bool passive, struct sockaddr_storage *ss,
                   socklen_t *len)
{
    struct addrinfo hints = {0}, *res = NULL;
    char svc[8];
    snprintf(svc, sizeof(svc), "%u", port);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    int rc = getaddrinfo(*host ? host : NULL, svc, &hints, &res);
    if (rc) {
        fprintf(stderr, "edgebench wan: cannot resolve '%s': %s\n", host, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static uint64_t seed_value(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s))
        s = clock_now_ns() ^ (uint64_t)getpid() << 32;
    return s ? s : 1;
}

static void describe(const struct wan_link *l, size_t i)
{
    const struct wan_link_spec *s = &l->spec;
    char extra[160] = "";
    size_t n = 0;
    if (s->jitter_ms > 0)
        n += (size_t)snprintf(extra + n, sizeof(extra) - n, " jitter %gms", s->jitter_ms);
    if (s->loss_pct > 0 && n < sizeof(extra))
        n += (size_t)snprintf(extra + n, sizeof(extra) - n, " loss %g%%%s", s->loss_pct,
                              s->udp ? "" : " (as retransmission delay)");
    if (s->rate_bps > 0 && n < sizeof(extra))
        snprintf(extra + n, sizeof(extra) - n, " rate %gmbit", s->rate_bps / 1e6);
    log_info("link %zu%s%s: %s %s:%u -> %s:%u rtt %gms%s", i + 1, *s->name ? " " : "", s->name,
             s->udp ? "udp" : "tcp", *s->listen_host ? s->listen_host : "*", s->listen_port,
             s->to_host, s->to_port, s->rtt_ms, extra);
}

int wan_main(int argc, char **argv)
{
    struct wan_link_spec *specs = NULL;
    struct wan_link *links = NULL;
    size_t count = 0, started = 0;
    char *text = NULL;
    char **rest = NULL;
    const char *links_path = NULL;
    struct event_config *cfg = NULL;
    struct event_base *base = NULL;
    struct event *sig[2] = {NULL, NULL};
    char err[WAN_ERR_MAX];
    int rc = 2;
    int nrest = 0;

    log_set_component("wan");
    rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest)
        goto cleanup;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            rc = 0;
            goto cleanup;
        } else if (!strcmp(argv[i], "--verbose")) {
            log_set_level(LOG_LEVEL_DEBUG);
        } else if (!strcmp(argv[i], "--quiet")) {
            log_set_level(LOG_LEVEL_WARN);
        } else if (!strcmp(argv[i], "--links")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "edgebench wan: --links needs a file name\n");
                goto cleanup;
            }
            links_path = argv[++i];
        } else if (!strncmp(argv[i], "--links=", 8)) {
            links_path = argv[i] + 8;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    if (links_path) {
        size_t len = 0;
        if (nrest) {
            fprintf(stderr,
                    "edgebench wan: '%s' cannot be combined with --links; put the link in the "
                    "file\n",
                    rest[0]);
            goto cleanup;
        }
        if (read_file(links_path, &text, &len) < 0)
            goto cleanup;
        if (wan_links_parse_text(text, len, &specs, &count, err, sizeof(err)) < 0) {
            fprintf(stderr, "edgebench wan: %s: %s\n", links_path, err);
            goto cleanup;
        }
        if (!count) {
            fprintf(stderr,
                    "edgebench wan: %s holds no link; write one per line, e.g.\n"
                    "  --listen 127.0.0.1:7001 --to 127.0.0.1:5432 --rtt 80ms\n",
                    links_path);
            goto cleanup;
        }
    } else {
        if (!nrest) {
            usage(stderr);
            goto cleanup;
        }
        specs = calloc(1, sizeof(*specs));
        if (!specs)
            goto cleanup;
        if (wan_links_parse_args(nrest, rest, specs, err, sizeof(err)) < 0) {
            fprintf(stderr, "edgebench wan: %s\n", err);
            goto cleanup;
        }
        count = 1;
    }

    links = calloc(count, sizeof(*links));
    if (!links)
        goto cleanup;
    for (size_t i = 0; i < count; i++) {
        struct wan_link *l = &links[i];
        l->spec = specs[i];
        l->listen_fd = -1;
        l->queue_cap = l->spec.udp ? UDP_QUEUE_CAP : TCP_QUEUE_CAP;
        l->udp_idle_ns = UDP_IDLE_S * 1000000000ull;
        if (resolve(l->spec.listen_host, l->spec.listen_port, true, &l->listen_addr,
                    &l->listen_len) < 0 ||
            resolve(l->spec.to_host, l->spec.to_port, false, &l->to_addr, &l->to_len) < 0)
            goto cleanup;
        for (int d = 0; d < 2; d++)
            sched_init(&l->shaper[d], l->spec.rtt_ms / 2, l->spec.jitter_ms, l->spec.loss_pct,
                       l->spec.rate_bps, seed_value());
    }

    rc = 1;
    signal(SIGPIPE, SIG_IGN);
    /* a TCP connection holds six descriptors (two sockets, two pipes) */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    cfg = event_config_new();
    if (!cfg || event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) < 0)
        goto cleanup;
    base = event_base_new_with_config(cfg);
    if (!base) {
        log_error("cannot create the event loop");
        goto cleanup;
    }
    loop_base = base;
    for (; started < count; started++) {
        struct wan_link *l = &links[started];
        l->base = base;
        if ((l->spec.udp ? udp_link_start(l) : tcp_link_start(l)) < 0) {
            started++; /* stop what was half started too */
            goto cleanup;
        }
        describe(l, started);
    }
    sig[0] = evsignal_new(base, SIGTERM, signal_cb, NULL);
    sig[1] = evsignal_new(base, SIGINT, signal_cb, NULL);
    if (!sig[0] || !sig[1] || event_add(sig[0], NULL) < 0 || event_add(sig[1], NULL) < 0)
        goto cleanup;
    printf("ready: %zu links\n", count); /* contract 3: always "links" */
    fflush(stdout);
    if (event_base_dispatch(base) < 0) {
        log_error("event loop failed");
        goto cleanup;
    }
    rc = 0;
cleanup:
    for (size_t i = 0; i < started; i++) {
        if (links[i].spec.udp) {
            if (links[i].dropped_loss || links[i].dropped_full)
                log_info("link %zu: %llu datagrams dropped as loss, %llu for a full queue", i + 1,
                         (unsigned long long)links[i].dropped_loss,
                         (unsigned long long)links[i].dropped_full);
            udp_link_stop(&links[i]);
        } else {
            tcp_link_stop(&links[i]);
        }
    }
    for (int i = 0; i < 2; i++)
        if (sig[i])
            event_free(sig[i]);
    if (base)
        event_base_free(base);
    if (cfg)
        event_config_free(cfg);
    loop_base = NULL;
    free(links);
    free(specs);
    free(text);
    free(rest);
    return rc;
}
