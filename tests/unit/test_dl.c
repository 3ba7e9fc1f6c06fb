/* Unit tests of src/dl: libraries opened on first use, the clear error when
 * one is missing, and the variadic curl wrappers passing each argument type
 * through unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dl/dl.h"

#include <curl/curl.h>
#include <string.h>

static void (*fake_fn)(void);

static void test_missing_library(void **state)
{
    (void)state;
    static const struct dl_sym syms[] = {{"f", &fake_fn}};
    static struct dl_lib lib = {
        .soname = "libedgebench-none.so.9", .package = "edgebench-none", .syms = syms, .nsyms = 1};
    char err[700];
    assert_int_equal(dl_try(&lib, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot load libedgebench-none.so.9"));
    assert_non_null(strstr(err, "install the Debian package edgebench-none"));
    /* a second call gives the same answer without trying again */
    err[0] = 0;
    assert_int_equal(dl_try(&lib, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "libedgebench-none.so.9"));
    assert_null(fake_fn);
}

static void test_missing_symbol(void **state)
{
    (void)state;
    static const struct dl_sym syms[] = {{"edgebench_no_such_function", &fake_fn}};
    static struct dl_lib lib = {
        .soname = "libc.so.6", .package = "libc6", .syms = syms, .nsyms = 1};
    char err[700];
    assert_int_equal(dl_try(&lib, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "has no function edgebench_no_such_function"));
}

/* A wrong type read from the va_list would show as a wrong answer here: each
 * option is one where libcurl checks the value it receives. */
static void test_curl_setopt_types(void **state)
{
    (void)state;
    CURL *h = curl_easy_init();
    assert_non_null(h);
    /* long */
    assert_int_equal(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, -5L), CURLE_BAD_FUNCTION_ARGUMENT);
    /* off_t */
    assert_int_equal(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)-1),
                     CURLE_BAD_FUNCTION_ARGUMENT);
    /* pointer: the URL comes back through getinfo's pointer argument */
    assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:9/x"), CURLE_OK);
    /* function pointer */
    assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, NULL), CURLE_OK);
    long code = -1;
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
    assert_int_equal(code, 0);
    curl_easy_cleanup(h);

    CURLM *m = curl_multi_init();
    assert_non_null(m);
    assert_int_equal(curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 4L), CURLM_OK);
    assert_int_equal(curl_multi_cleanup(m), CURLM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_library),
        cmocka_unit_test(test_missing_symbol),
        cmocka_unit_test(test_curl_setopt_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
