/* Unit tests of the lab's child supervision and its throwaway PostgreSQL,
 * with real processes (and a real PostgreSQL when one is installed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lab/pgtmp.h"
#include "lab/supervise.h"
#include "lab/sys.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <limits.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/eb-sup-XXXXXX";

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    chmod(dir, 0711);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return sys_remove_tree(dir);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether a process has ended: no such pid, or a zombie awaiting its reaper. */
static bool ended(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');
    return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

/* Waits up to 3 s for a process to end. */
static bool gone(pid_t pid)
{
    for (int i = 0; i < 300; i++) {
        if (ended(pid))
            return true;
        sleep_ms(10);
    }
    return false;
}

static void test_exit_and_log(void **state)
{
    (void)state;
    struct supervisor sup;
    assert_int_equal(sup_init(&sup), 0);
    char log[512], err[512];
    snprintf(log, sizeof(log), "%s/a.log", dir);
    char *argv[] = {"/bin/sh", "-c", "echo one; echo \"two $EB_X\" >&2; exit 3", NULL};
    char *env[] = {"EB_X=set", "HOME", NULL};
    struct spawn_opts o = {.argv = argv, .env = env, .log_path = log};
    struct child c = {.name = "shell"};
    assert_int_equal(sup_spawn(&sup, &c, &o, err, sizeof(err)), 0);
    struct child *which = NULL;
    assert_int_equal(sup_wait(&sup, 5000, -1, &which), SUP_CHILD_EXIT);
    assert_ptr_equal(which, &c);
    assert_false(child_succeeded(&c));
    char how[96];
    child_describe_exit(&c, how, sizeof(how));
    assert_string_equal(how, "exited with status 3");
    assert_ptr_equal(sup_first_failure(&sup), &c);
    /* reported once */
    assert_int_equal(sup_wait(&sup, 50, -1, &which), SUP_TIMEOUT);
    char tail[2048] = "";
    FILE *f = fmemopen(tail, sizeof(tail), "w");
    child_print_log_tail(&c, f, 1);
    fclose(f);
    assert_non_null(strstr(tail, "two set"));
    assert_null(strstr(tail, "one"));
    struct stat st;
    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    sup_fini(&sup);
}

static void test_cannot_run(void **state)
{
    (void)state;
    struct supervisor sup;
    assert_int_equal(sup_init(&sup), 0);
    char err[512];
    char *argv[] = {"/nonexistent/program", NULL};
    struct spawn_opts o = {.argv = argv};
    struct child c = {.name = "ghost"};
    assert_int_equal(sup_spawn(&sup, &c, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot run ghost (/nonexistent/program): No such file"));
    struct child *which = NULL;
    assert_int_equal(sup_wait(&sup, 50, -1, &which), SUP_TIMEOUT);
    assert_null(sup_first_failure(&sup));
    sup_fini(&sup);
}

static void test_stop_kills_group(void **state)
{
    (void)state;
    struct supervisor sup;
    assert_int_equal(sup_init(&sup), 0);
    char pidfile[512], err[512], script[1024];
    snprintf(pidfile, sizeof(pidfile), "%s/grandchild.pid", dir);
    /* The shell ignores SIGTERM; its background sleep is a grandchild. */
    snprintf(script, sizeof(script), "trap '' TERM; sleep 100 & echo $! > %s; wait; sleep 100",
             pidfile);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    struct spawn_opts o = {.argv = argv};
    struct child c = {.name = "stubborn"};
    assert_int_equal(sup_spawn(&sup, &c, &o, err, sizeof(err)), 0);
    pid_t grandchild = 0;
    for (int i = 0; i < 300 && grandchild <= 0; i++) {
        FILE *f = fopen(pidfile, "r");
        if (f) {
            if (fscanf(f, "%d", &grandchild) != 1)
                grandchild = 0;
            fclose(f);
        }
        sleep_ms(10);
    }
    assert_true(grandchild > 0);
    sup_stop(&sup, &c, 200);
    assert_false(c.running);
    assert_true(c.stopped);
    assert_null(sup_first_failure(&sup));
    assert_true(gone(c.pid));
    assert_true(gone(grandchild));
    sup_fini(&sup);
}

static void test_signal_and_pipe(void **state)
{
    (void)state;
    struct supervisor sup;
    assert_int_equal(sup_init(&sup), 0);
    char err[512], log[512];
    snprintf(log, sizeof(log), "%s/p.log", dir);
    char *argv[] = {"/bin/sh", "-c", "echo 'ready: 2 links'; exec sleep 100", NULL};
    struct spawn_opts o = {.argv = argv, .log_path = log, .pipe_stdout = true};
    struct child c = {.name = "piper"};
    assert_int_equal(sup_spawn(&sup, &c, &o, err, sizeof(err)), 0);
    assert_true(c.out_fd >= 0);
    assert_int_equal(sup_wait(&sup, 5000, c.out_fd, NULL), SUP_READABLE);
    char buf[64] = "";
    for (int i = 0; i < 100 && !strchr(buf, '\n'); i++) {
        ssize_t n = read(c.out_fd, buf + strlen(buf), sizeof(buf) - 1 - strlen(buf));
        if (n < 0)
            sleep_ms(10);
    }
    assert_string_equal(buf, "ready: 2 links\n");
    /* A blocked SIGTERM arrives through the signalfd. */
    kill(getpid(), SIGTERM);
    assert_int_equal(sup_wait(&sup, 5000, -1, NULL), SUP_SIGNAL);
    assert_int_equal(sup.signal, SIGTERM);
    sup_stop_all(&sup, 1000);
    assert_false(c.running);
    assert_true(gone(c.pid));
    sup_fini(&sup);
}

/* A signal read by a wait that reported a child's exit instead is still
 * reported by the next wait (a lost signal let the lab run on). */
static void test_signal_is_sticky(void **state)
{
    (void)state;
    struct supervisor sup;
    assert_int_equal(sup_init(&sup), 0);
    char err[512];
    char *argv[] = {"/bin/true", NULL};
    struct spawn_opts o = {.argv = argv};
    struct child c = {.name = "true"};
    assert_int_equal(sup_spawn(&sup, &c, &o, err, sizeof(err)), 0);
    assert_true(gone(c.pid));
    kill(getpid(), SIGINT);
    struct child *which = NULL;
    assert_int_equal(sup_wait(&sup, 5000, -1, &which), SUP_CHILD_EXIT);
    assert_ptr_equal(which, &c);
    assert_int_equal(sup_wait(&sup, 50, -1, NULL), SUP_SIGNAL);
    assert_int_equal(sup_wait(&sup, 50, -1, NULL), SUP_SIGNAL);
    assert_true(sup_interrupted(&sup));
    assert_int_equal(sup.signal, SIGINT);
    sup_fini(&sup);
}

/* An HTTP request to a server that never answers gives up when a signal
 * arrives, long before its own timeout. */
static void test_curl_interrupted(void **state)
{
    (void)state;
    struct supervisor sup;
    assert_int_equal(sup_init(&sup), 0);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_true(ls >= 0);
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 4), 0); /* connections queue, nobody answers */
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &len), 0);
    char err[512], url[64];
    char *argv[] = {"/bin/sh", "-c", "sleep 0.3; kill -INT $PPID", NULL};
    struct spawn_opts o = {.argv = argv};
    struct child c = {.name = "signaller"};
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)ntohs(sa.sin_port));
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    assert_int_equal(sup_spawn(&sup, &c, &o, err, sizeof(err)), 0);
    time_t t0 = time(NULL);
    assert_int_equal(sup_curl_perform(&sup, curl), CURLE_ABORTED_BY_CALLBACK);
    assert_true(time(NULL) - t0 < 10);
    assert_int_equal(sup.signal, SIGINT);
    curl_easy_cleanup(curl);
    close(ls);
    sup_stop_all(&sup, 1000);
    sup_fini(&sup);
}

/* The lab dies with SIGKILL: its children get their death signal. */
static void test_parent_death(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t mid = fork();
    assert_true(mid >= 0);
    if (mid == 0) {
        close(p[0]);
        struct supervisor sup;
        static struct child c = {.name = "orphan"};
        char err[256];
        char *argv[] = {"/bin/sleep", "100", NULL};
        struct spawn_opts o = {.argv = argv};
        if (sup_init(&sup) < 0 || sup_spawn(&sup, &c, &o, err, sizeof(err)) < 0)
            _exit(1);
        if (write(p[1], &c.pid, sizeof(c.pid)) < 0)
            _exit(1);
        pause();
        _exit(0);
    }
    close(p[1]);
    pid_t orphan = 0;
    assert_int_equal(read(p[0], &orphan, sizeof(orphan)), (ssize_t)sizeof(orphan));
    close(p[0]);
    kill(mid, SIGKILL);
    waitpid(mid, NULL, 0);
    assert_true(gone(orphan));
}

static void test_pgtmp(void **state)
{
    (void)state;
    struct pgtmp pg;
    char err[1024];
    if (pgtmp_find(&pg, err, sizeof(err)) < 0) {
        print_message("skipped: %s\n", err);
        skip();
    }
    struct supervisor sup;
    assert_int_equal(sup_init(&sup), 0);
    char logdir[512];
    snprintf(logdir, sizeof(logdir), "%s/logs", dir);
    assert_int_equal(mkdir(logdir, 0700), 0);
    if (pgtmp_start(&pg, &sup, dir, logdir, err, sizeof(err)) < 0)
        fail_msg("pgtmp_start: %s", err);
    assert_true(pg.port > 0);
    assert_true(pg.postmaster.running);
    assert_int_equal(pgtmp_create_database(&pg, "contacts", err, sizeof(err)), 0);
    assert_int_equal(pgtmp_create_database(&pg, "contacts", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "already exists"));
    /* TCP on 127.0.0.1, trust, the new database */
    char port[8];
    snprintf(port, sizeof(port), "%u", pg.port);
    const char *keys[] = {"host", "port", "user", "dbname", NULL};
    const char *vals[] = {"127.0.0.1", port, "postgres", "contacts", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 0);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    PGresult *res = PQexec(conn, "SHOW fsync");
    assert_string_equal(PQgetvalue(res, 0, 0), "off");
    PQclear(res);
    PQfinish(conn);
    pid_t pm = pg.postmaster.pid;
    char datadir[PATH_MAX];
    assert_int_equal(sys_path(datadir, sizeof(datadir), pg.dir, "data"), 0);
    pgtmp_stop(&pg, &sup);
    assert_true(gone(pm));
    assert_int_equal(PQpingParams(keys, vals, 0), PQPING_NO_RESPONSE);
    /* the lab removes its own temporary directory; pgtmp leaves it */
    struct stat st;
    if (!pg.own_dir)
        assert_int_equal(stat(datadir, &st), 0);
    sup_fini(&sup);
}

static void test_pgtmp_missing(void **state)
{
    (void)state;
    struct pgtmp pg;
    char err[1024];
    setenv("EDGEBENCH_PG_ROOT", dir, 1);
    assert_int_equal(pgtmp_find(&pg, err, sizeof(err)), -1);
    unsetenv("EDGEBENCH_PG_ROOT");
    assert_non_null(strstr(err, "PostgreSQL server programs not found"));
    assert_non_null(strstr(err, "scripts/deps.sh run"));
    assert_non_null(strstr(err, "apt-get install postgresql"));
}

static void test_reserve_ports_differ(void **state)
{
    (void)state;
    uint16_t a, b;
    int fa, fb;
    assert_int_equal(sys_reserve_port(&a, &fa), 0);
    assert_int_equal(sys_reserve_port(&b, &fb), 0);
    assert_true(a != b && a > 0 && b > 0);
    close(fa);
    close(fb);
    char hex[65];
    assert_int_equal(sys_random_hex(hex, sizeof(hex), 32), 0);
    assert_int_equal(strlen(hex), 64);
    assert_int_equal(sys_random_hex(hex, 10, 32), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_and_log),     cmocka_unit_test(test_cannot_run),
        cmocka_unit_test(test_stop_kills_group), cmocka_unit_test(test_signal_and_pipe),
        cmocka_unit_test(test_parent_death),     cmocka_unit_test(test_pgtmp),
        cmocka_unit_test(test_pgtmp_missing),    cmocka_unit_test(test_reserve_ports_differ),
        cmocka_unit_test(test_signal_is_sticky), cmocka_unit_test(test_curl_interrupted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
