/*
 * test_hist.c -- the house's log-linear histogram (util/hist.c): every value lands in a
 * bucket whose range holds it, buckets tile the whole uint64 range without gap or overlap,
 * quantiles stay within the documented precision and never pass the exact max, merging
 * equals adding everything to one, and 0 and UINT64_MAX are kept like any other value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "util/hist.h"

static void check_in_bucket(unsigned subbits, uint64_t v)
{
    size_t b = pu_hist_bucket(subbits, v);
    assert_true(b < PU_HIST_NBUCKETS(subbits));
    uint64_t low, high;
    pu_hist_bucket_range(subbits, b, &low, &high);
    assert_true(low <= v);
    assert_true(v <= high);
    /* the promised precision: the bucket is at most 1/2^subbits of its low end wide */
    assert_true(high - low <= low >> subbits);
}

/* Buckets follow each other: each starts one above where the last ended, the first at 0
 * and the last ends at UINT64_MAX, and both ends map back to the bucket. */
static void test_buckets_tile_the_range(void **state)
{
    (void)state;
    for (unsigned subbits = 0; subbits <= 8; subbits++) {
        size_t n = PU_HIST_NBUCKETS(subbits);
        uint64_t next = 0;
        for (size_t b = 0; b < n; b++) {
            uint64_t low, high;
            pu_hist_bucket_range(subbits, b, &low, &high);
            assert_true(low == next);
            assert_true(high >= low);
            assert_int_equal(pu_hist_bucket(subbits, low), b);
            assert_int_equal(pu_hist_bucket(subbits, high), b);
            next = high + 1; /* wraps to 0 after the last */
        }
        assert_true(next == 0);
        assert_int_equal(pu_hist_bucket(subbits, UINT64_MAX), n - 1);
    }
}

static void test_values_land_in_their_bucket(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned subbits = 0; subbits <= PU_HIST_MAX_SUBBITS; subbits++) {
        check_in_bucket(subbits, 0);
        check_in_bucket(subbits, 1);
        check_in_bucket(subbits, UINT64_MAX);
        check_in_bucket(subbits, UINT64_MAX - 1);
        for (unsigned m = 0; m < 64; m++) {
            check_in_bucket(subbits, 1ull << m);
            check_in_bucket(subbits, (1ull << m) - 1);
        }
        for (int i = 0; i < 2000; i++) { /* xorshift: values of every magnitude */
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            check_in_bucket(subbits, x >> (x & 63));
        }
    }
    /* exact below 2^subbits */
    for (uint64_t v = 0; v < 8; v++) {
        uint64_t low, high;
        pu_hist_bucket_range(3, pu_hist_bucket(3, v), &low, &high);
        assert_true(low == v && high == v);
    }
}

static void test_quantiles(void **state)
{
    (void)state;
    pu_hist h;
    assert_int_equal(pu_hist_init(&h, 3), 0);
    assert_true(pu_hist_quantile(&h, 0.5) == 0); /* empty */
    for (uint64_t v = 1; v <= 1000; v++)
        pu_hist_add(&h, v * 1000);
    assert_true(h.total == 1000);
    assert_true(h.min == 1000);
    assert_true(h.max == 1000000);
    assert_true(h.sum == 500500000);
    const double qs[] = {0.01, 0.25, 0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        double exact = qs[i] * 1000 * 1000;
        double got = (double)pu_hist_quantile(&h, qs[i]);
        assert_true(got >= exact);
        assert_true(got <= exact * 1.125 + 1);
    }
    /* the top of the last bucket is above the max: the max is reported */
    assert_true(pu_hist_quantile(&h, 1.0) == 1000000);
    /* out-of-range q rank the first and last values */
    assert_true(pu_hist_quantile(&h, -1.0) == pu_hist_quantile(&h, 0.0));
    assert_true(pu_hist_quantile(&h, 0.0) >= 1000 && pu_hist_quantile(&h, 0.0) <= 1125);
    assert_true(pu_hist_quantile(&h, 7.0) == 1000000);
    assert_true(pu_hist_quantile(&h, NAN) == pu_hist_quantile(&h, 0.0));
    pu_hist_free(&h);
}

static void test_edge_values(void **state)
{
    (void)state;
    pu_hist h;
    assert_int_equal(pu_hist_init(&h, 4), 0);
    pu_hist_add(&h, 0);
    assert_true(h.min == 0 && h.max == 0);
    assert_true(pu_hist_quantile(&h, 0.99) == 0);
    pu_hist_add(&h, UINT64_MAX);
    pu_hist_add(&h, UINT64_MAX);
    assert_true(h.min == 0);
    assert_true(h.max == UINT64_MAX);
    assert_true(h.sum == UINT64_MAX); /* held, not wrapped */
    assert_true(pu_hist_quantile(&h, 0.1) == 0);
    assert_true(pu_hist_quantile(&h, 0.9) == UINT64_MAX);
    assert_true(h.counts[0] == 1);
    assert_true(h.counts[h.nbuckets - 1] == 2);
    pu_hist_free(&h);
    assert_int_equal(pu_hist_init(&h, PU_HIST_MAX_SUBBITS + 1), -1);
    pu_hist_free(&h);
}

static void test_merge_equals_adding_to_one(void **state)
{
    (void)state;
    pu_hist a, b, all, other;
    assert_int_equal(pu_hist_init(&a, 5), 0);
    assert_int_equal(pu_hist_init(&b, 5), 0);
    assert_int_equal(pu_hist_init(&all, 5), 0);
    assert_int_equal(pu_hist_init(&other, 6), 0);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 5000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t v = x >> (40 + (x & 15));
        pu_hist_add(i % 3 ? &a : &b, v);
        pu_hist_add(&all, v);
    }
    pu_hist empty;
    assert_int_equal(pu_hist_init(&empty, 5), 0);
    assert_int_equal(pu_hist_merge(&a, &empty), 0);
    assert_int_equal(pu_hist_merge(&a, &b), 0);
    assert_true(a.total == all.total && a.sum == all.sum && a.min == all.min && a.max == all.max);
    for (size_t i = 0; i < a.nbuckets; i++)
        assert_true(a.counts[i] == all.counts[i]);
    assert_true(pu_hist_quantile(&a, 0.5) == pu_hist_quantile(&all, 0.5));
    /* into an empty one: its min comes from what is merged */
    assert_int_equal(pu_hist_merge(&empty, &b), 0);
    assert_true(empty.min == b.min && empty.max == b.max && empty.total == b.total);
    /* different precisions do not mix */
    assert_int_equal(pu_hist_merge(&other, &a), -1);
    assert_true(other.total == 0);
    pu_hist_free(&a);
    pu_hist_free(&b);
    pu_hist_free(&all);
    pu_hist_free(&other);
    pu_hist_free(&empty);
}

/* The rank rule a caller with its own counts uses: round(q * total), at least the first. */
static void test_rank(void **state)
{
    (void)state;
    const uint64_t counts[4] = {2, 0, 5, 3};
    assert_int_equal(pu_hist_rank(counts, 4, 10, 0.0), 0);
    assert_int_equal(pu_hist_rank(counts, 4, 10, 0.2), 0);
    assert_int_equal(pu_hist_rank(counts, 4, 10, 0.25), 2); /* rank 3 */
    assert_int_equal(pu_hist_rank(counts, 4, 10, 0.7), 2);
    assert_int_equal(pu_hist_rank(counts, 4, 10, 0.75), 3); /* rank 8 */
    assert_int_equal(pu_hist_rank(counts, 4, 10, 1.0), 3);
    assert_int_equal(pu_hist_rank(counts, 4, 0, 0.5), 4);  /* empty */
    assert_int_equal(pu_hist_rank(counts, 4, 11, 1.0), 4); /* counts short of total */
    const uint64_t big[2] = {UINT64_MAX - 1, 1};
    assert_int_equal(pu_hist_rank(big, 2, UINT64_MAX, 1.0), 1);
    assert_int_equal(pu_hist_rank(big, 2, UINT64_MAX, 0.5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_tile_the_range),
        cmocka_unit_test(test_values_land_in_their_bucket),
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_edge_values),
        cmocka_unit_test(test_merge_equals_adding_to_one),
        cmocka_unit_test(test_rank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
