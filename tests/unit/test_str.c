/*
 * test_str.c -- names compared without case (util/str.c): ASCII letters fold and nothing
 * else does, whatever the locale; the order is strcasecmp's in the C locale, so lists
 * sorted by one are searched by the other; NULL is equal to nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdlib.h>
#include <strings.h>

#include "util/str.h"

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static void test_equal_but_for_case(void **state)
{
    (void)state;
    assert_true(pu_strieq("CreateUser", "createuser"));
    assert_true(pu_strieq("A-Z_09.", "a-z_09."));
    assert_true(pu_strieq("", ""));
    assert_false(pu_strieq("user", "users"));
    assert_false(pu_strieq("users", "user"));
    assert_false(pu_strieq("[", "{")); /* '[' + 32 is '{': only letters fold */
    assert_false(pu_strieq("@", "`"));
    assert_false(pu_strieq("\xc3\x89", "\xc3\xa9")); /* bytes above ASCII are compared as they are */
    assert_false(pu_strieq(NULL, "a"));
    assert_false(pu_strieq("a", NULL));
    assert_false(pu_strieq(NULL, NULL));
    assert_int_equal(pu_strnicmp("UTF-16LE", "utf-16", 6), 0);
    assert_true(pu_strnicmp("UTF-8", "utf-16", 6) != 0);
    assert_int_equal(pu_strnicmp("abc", "ABD", 2), 0);
    assert_int_equal(pu_strnicmp("ab", "AB", 10), 0);
}

/* Every pair of short strings over letters, digits and punctuation on both sides of the
 * letters orders as strcasecmp does in the C locale. */
static void test_order_is_strcasecmps(void **state)
{
    (void)state;
    const char alphabet[] = "aAzZ09_[`{@.\x80";
    size_t n = sizeof alphabet - 1;
    char a[3] = {0}, b[3] = {0};
    for (size_t i = 0; i < n * n; i++)
        for (size_t j = 0; j < n * n; j++) {
            a[0] = alphabet[i / n], a[1] = alphabet[i % n];
            b[0] = alphabet[j / n], b[1] = alphabet[j % n];
            assert_int_equal(sign(pu_stricmp(a, b)), sign(strcasecmp(a, b)));
            assert_int_equal(sign(pu_stricmp(a, b + 1)), sign(strcasecmp(a, b + 1)));
        }
}

/* A locale whose case mapping is not ASCII's changes nothing. */
static void test_locale_does_not_matter(void **state)
{
    (void)state;
    if (!setlocale(LC_CTYPE, "tr_TR.UTF-8") && !setlocale(LC_CTYPE, "tr_TR"))
        skip();
    assert_true(pu_strieq("ITEM", "item"));
    setlocale(LC_CTYPE, "C");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_but_for_case),
        cmocka_unit_test(test_order_is_strcasecmps),
        cmocka_unit_test(test_locale_does_not_matter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
