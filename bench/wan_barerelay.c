/* Second baseline for bench/wan_overhead.sh: the least a TCP relay can do,
 * one connection at a time, blocking read() and write() through a 256 KiB
 * buffer (or splice(2) through a pipe with "splice" as the third argument).
 * Whatever any relay costs on this machine (a second TCP connection on
 * loopback, a third process on the CPUs) this pays too, and nothing else.
 * It relays one way, client to server: the bench's upload needs no more.
 * Usage: wan_barerelay LISTEN_PORT TO_PORT [copy|splice]; prints "ready: ...". */
#include <arpa/inet.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (256 * 1024)

static int relay_copy(int from, int to)
{
    static char buf[BUF];
    for (;;) {
        ssize_t n = read(from, buf, sizeof(buf));
        if (n <= 0)
            return 0;
        for (ssize_t o = 0; o < n;) {
            ssize_t w = write(to, buf + o, (size_t)(n - o));
            if (w <= 0)
                return -1;
            o += w;
        }
    }
}

static int relay_splice(int from, int to)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    fcntl(p[1], F_SETPIPE_SZ, BUF);
    int rc = 0;
    for (;;) {
        ssize_t n = splice(from, NULL, p[1], NULL, BUF, SPLICE_F_MOVE);
        if (n <= 0)
            break;
        for (ssize_t o = 0; o < n;) {
            ssize_t w = splice(p[0], NULL, to, NULL, (size_t)(n - o), SPLICE_F_MOVE);
            if (w <= 0) {
                rc = -1;
                goto out;
            }
            o += w;
        }
    }
out:
    close(p[0]);
    close(p[1]);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LISTEN_PORT TO_PORT [copy|splice]\n", argv[0]);
        return 2;
    }
    bool use_splice = argc > 3 && !strcmp(argv[3], "splice");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_port = htons((uint16_t)atoi(argv[1]));
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 8) < 0) {
        perror("bind/listen");
        return 1;
    }
    printf("ready: bare relay\n");
    fflush(stdout);
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            continue;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        a.sin_port = htons((uint16_t)atoi(argv[2]));
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
            use_splice ? relay_splice(c, s) : relay_copy(c, s);
        close(c);
        close(s);
    }
}
