/*
 * test_json.c -- JSON strings as every JSON output writes them (util/json.c): quotes,
 * backslashes and control bytes escaped, UTF-8 passed through, NULL as null.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "util/json.h"

static void expect(const char *in, const char *want)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    pu_json_string(f, in);
    fclose(f);
    assert_string_equal(buf, want);
    free(buf);
}

static void test_plain_and_null(void **state)
{
    (void)state;
    expect("Users/Add", "\"Users/Add\"");
    expect("", "\"\"");
    expect(NULL, "null");
}

static void test_escapes(void **state)
{
    (void)state;
    expect("say \"hi\"", "\"say \\\"hi\\\"\"");
    expect("C:\\dir", "\"C:\\\\dir\"");
    expect("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
    expect("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
}

static void test_utf8_kept(void **state)
{
    (void)state;
    expect("Zo\xc3\xab", "\"Zo\xc3\xab\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_null),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_utf8_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
