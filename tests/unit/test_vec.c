/*
 * test_vec.c -- the growable array (util/vec.c): pushes keep every element in order
 * across growths, growth is by doubling (a few reallocations for many pushes), a request
 * too large for memory or for size_t fails and leaves the array as it was.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/vec.h"

typedef struct point {
    int x, y;
} point;

static void test_push_keeps_everything(void **state)
{
    (void)state;
    PU_VEC(point) v = {0};
    size_t growths = 0, last_cap = 0;
    for (int i = 0; i < 10000; i++) {
        point *p = PU_VEC_PUSH(v);
        assert_non_null(p);
        *p = (point){i, -i};
        if (v.cap != last_cap) {
            growths++;
            assert_true(last_cap == 0 || v.cap == 2 * last_cap);
            last_cap = v.cap;
        }
    }
    assert_int_equal(v.n, 10000);
    assert_true(v.cap >= v.n);
    assert_true(growths < 16);
    for (int i = 0; i < 10000; i++)
        assert_true(v.v[i].x == i && v.v[i].y == -i);
    PU_VEC_FREE(v);
    assert_null(v.v);
    assert_int_equal(v.n, 0);
    assert_int_equal(v.cap, 0);
}

static void test_grow_any_pair(void **state)
{
    (void)state;
    unsigned char *bytes = NULL;
    size_t cap = 0;
    assert_int_equal(PU_GROW(bytes, cap, 0), 0); /* nothing needed: nothing done */
    assert_null(bytes);
    assert_int_equal(PU_GROW(bytes, cap, 1000), 0);
    assert_true(cap >= 1000);
    for (size_t i = 0; i < 1000; i++)
        bytes[i] = (unsigned char)i;
    size_t before = cap;
    assert_int_equal(PU_GROW(bytes, cap, 10), 0); /* never shrinks */
    assert_int_equal(cap, before);
    assert_int_equal(PU_GROW(bytes, cap, cap + 1), 0);
    assert_int_equal(cap, 2 * before);
    for (size_t i = 0; i < 1000; i++)
        assert_int_equal(bytes[i], (unsigned char)i);
    free(bytes);
}

static void test_too_large_fails_unchanged(void **state)
{
    (void)state;
    PU_VEC(uint64_t) v = {0};
    *PU_VEC_PUSH(v) = 42;
    uint64_t *was = v.v;
    size_t cap = v.cap;
    assert_int_equal(PU_GROW(v.v, v.cap, SIZE_MAX / 4), -1); /* bytes overflow size_t */
    assert_int_equal(PU_GROW(v.v, v.cap, SIZE_MAX), -1);     /* capacity would overflow */
    assert_true(v.v == was && v.cap == cap && v.n == 1 && v.v[0] == 42);
    PU_VEC_FREE(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_keeps_everything),
        cmocka_unit_test(test_grow_any_pair),
        cmocka_unit_test(test_too_large_fails_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
