/*
 * test_counters.c -- per-procedure counters (vm/counters.c): outcomes and the executing
 * gauge, shards written by several threads and summed on read, latency percentiles
 * within the histogram's documented precision (8 buckets per power of two: any
 * percentile within 12.5%, the max exact), procedures registered twice under one name
 * reported once, and counter sets that know nothing of each other.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/compiler.h"
#include "vm/bundle.h"
#include "vm/counters.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* A bundle of a namespace with n provider procedures P0..P(n-1); P1 has perfEnabled. */
static pvm_bundle *bundle_of(unsigned n)
{
    size_t cap = 200 + (size_t)n * 80, len = 0;
    char *xml = malloc(cap);
    assert_non_null(xml);
    len += (size_t)snprintf(xml + len, cap - len, "<namespace name='NS' providerSource='test'>");
    for (unsigned i = 0; i < n; i++)
        len += (size_t)snprintf(xml + len, cap - len, "<procedure name='P%u' type='read'%s/>", i,
                                i == 1 ? " perfEnabled='1'" : "");
    len += (size_t)snprintf(xml + len, cap - len, "</namespace>");
    provost_compiled out;
    int rc = provost_compile("counters.xml", xml, len, &out);
    if (rc != 0)
        provost_compiled_print(&out, "counters.xml", stderr);
    assert_int_equal(rc, 0);
    char why[256];
    pvm_bundle *b = pvm_bundle_load(out.bundle, out.size, 1, why, sizeof why);
    provost_compiled_free(&out);
    free(xml);
    assert_non_null(b);
    assert_int_equal(b->nprocs, n);
    return b;
}

/* The stats of ns/proc, or NULL when it is not reported. */
static const provost_proc_stats *find(const provost_proc_stats *v, size_t n, const char *ns, const char *proc)
{
    const provost_proc_stats *hit = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].ns, ns) == 0 && strcmp(v[i].proc, proc) == 0) {
            assert_null(hit); /* reported once */
            hit = &v[i];
        }
    return hit;
}

static void free_stats(provost_proc_stats *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].ns);
        free(v[i].proc);
    }
    free(v);
}

static void call(pvm_counters *c, uint32_t id, int outcome, uint64_t ns)
{
    pvm_counters_begin(c, id);
    pvm_counters_end(c, id, outcome, ns);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The reported percentile (microseconds) is within 12.5% of the true one (the
 * nearest-rank value of the sorted sample, in nanoseconds). */
static void check_percentile(const uint64_t *sorted, size_t n, double q, double reported_us)
{
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank == 0)
        rank = 1;
    double truth = (double)sorted[rank - 1], got = reported_us * 1000.0;
    if (!(got >= truth * 0.875 - 1e-6 && got <= truth * 1.125 + 1e-6))
        fail_msg("p%g: reported %.0f ns, true %.0f ns: more than 12.5%% apart", q * 100, got, truth);
}

/* A deterministic generator, so the distributions are the same on every run. */
static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* ---- outcomes and the gauge ------------------------------------------------------------ */

static void test_outcomes(void **state)
{
    (void)state;
    pvm_bundle *b = bundle_of(3);
    pvm_counters *c = pvm_counters_new();
    assert_non_null(c);
    uint32_t base = pvm_counters_reserve(c, "NS", b);
    assert_int_equal(base, 0);

    for (int i = 0; i < 7; i++)
        call(c, base + 0, PVM_OUTCOME_OK, 1000);
    for (int i = 0; i < 2; i++)
        call(c, base + 0, PVM_OUTCOME_FAILED, 3000);
    call(c, base + 0, PVM_OUTCOME_INDOUBT, 6000);
    /* P1: two running, none finished */
    pvm_counters_begin(c, base + 1);
    pvm_counters_begin(c, base + 1);
    /* P2 never runs; PROVOST_NONE is ignored */
    pvm_counters_begin(c, PROVOST_NONE);
    pvm_counters_end(c, PROVOST_NONE, PVM_OUTCOME_OK, 5);

    provost_proc_stats *v;
    size_t n;
    assert_int_equal(pvm_counters_read(c, &v, &n), 0);
    assert_int_equal(n, 2); /* only what has run (or is running) is reported */
    const provost_proc_stats *p0 = find(v, n, "NS", "P0"), *p1 = find(v, n, "NS", "P1");
    assert_non_null(p0);
    assert_non_null(p1);
    assert_null(find(v, n, "NS", "P2"));
    assert_int_equal(p0->count, 10);
    assert_int_equal(p0->succeeded, 7);
    assert_int_equal(p0->failed, 2);
    assert_int_equal(p0->in_doubt, 1);
    assert_int_equal(p0->executing, 0);
    assert_false(p0->perf_enabled);
    assert_true(p0->max == 6.0);
    assert_true(p0->mean > 1.899 && p0->mean < 1.901); /* (7*1 + 2*3 + 6) / 10 us */
    assert_int_equal(p1->count, 0);
    assert_int_equal(p1->executing, 2);
    assert_true(p1->perf_enabled);
    free_stats(v, n);

    /* one of them finishes */
    pvm_counters_end(c, base + 1, PVM_OUTCOME_FAILED, 42);
    assert_int_equal(pvm_counters_read(c, &v, &n), 0);
    p1 = find(v, n, "NS", "P1");
    assert_non_null(p1);
    assert_int_equal(p1->executing, 1);
    assert_int_equal(p1->count, 1);
    assert_int_equal(p1->failed, 1);
    assert_int_equal(p1->succeeded, 0);
    free_stats(v, n);

    pvm_counters_free(c);
    pvm_bundle_close(b);
}

/* Ids on both sides of a chunk boundary (64 cells per chunk) are distinct cells. */
static void test_many_ids(void **state)
{
    (void)state;
    pvm_bundle *b = bundle_of(140);
    pvm_counters *c = pvm_counters_new();
    assert_non_null(c);
    uint32_t base = pvm_counters_reserve(c, "NS", b);
    for (uint32_t i = 0; i < 140; i++)
        for (uint32_t k = 0; k <= i; k++)
            call(c, base + i, PVM_OUTCOME_OK, 100 + i);
    provost_proc_stats *v;
    size_t n;
    assert_int_equal(pvm_counters_read(c, &v, &n), 0);
    assert_int_equal(n, 140);
    for (uint32_t i = 0; i < 140; i++) {
        char name[16];
        snprintf(name, sizeof name, "P%u", i);
        const provost_proc_stats *s = find(v, n, "NS", name);
        assert_non_null(s);
        assert_int_equal(s->count, i + 1);
        assert_true(s->max * 1000.0 > 99.9 + i && s->max * 1000.0 < 100.1 + i);
    }
    free_stats(v, n);
    pvm_counters_free(c);
    pvm_bundle_close(b);
}

/* ---- threads ------------------------------------------------------------------------- */

#define THREADS 4
#define CALLS 10000

typedef struct worker_arg {
    pvm_counters *c;
    uint32_t base;
    int index;
} worker_arg;

static int outcome_of(int k)
{
    return k % 10 == 0 ? PVM_OUTCOME_FAILED : k % 50 == 1 ? PVM_OUTCOME_INDOUBT : PVM_OUTCOME_OK;
}

static void *worker(void *p)
{
    const worker_arg *a = p;
    for (int k = 0; k < CALLS; k++) {
        uint32_t id = a->base + (uint32_t)(k % 3);
        pvm_counters_begin(a->c, id);
        pvm_counters_end(a->c, id, outcome_of(k), (uint64_t)(k + 1) * 10 + (uint64_t)a->index);
    }
    /* left running when the thread ends: the gauge counts it */
    pvm_counters_begin(a->c, a->base + 3);
    return NULL;
}

typedef struct reader_arg {
    pvm_counters *c;
    atomic_int stop;
    int reads, regressions;
} reader_arg;

/* Reads while the workers write: totals only ever grow. */
static void *reader(void *p)
{
    reader_arg *a = p;
    uint64_t last = 0;
    while (!atomic_load(&a->stop)) {
        provost_proc_stats *v;
        size_t n;
        if (pvm_counters_read(a->c, &v, &n) != 0)
            continue;
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += v[i].count;
        free_stats(v, n);
        if (total < last)
            a->regressions++;
        last = total;
        a->reads++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pvm_bundle *b = bundle_of(4);
    pvm_counters *c = pvm_counters_new();
    assert_non_null(c);
    uint32_t base = pvm_counters_reserve(c, "NS", b);
    pthread_t th[THREADS], rd;
    worker_arg args[THREADS];
    reader_arg ra = {.c = c};
    assert_int_equal(pthread_create(&rd, NULL, reader, &ra), 0);
    for (int t = 0; t < THREADS; t++) {
        args[t] = (worker_arg){.c = c, .base = base, .index = t};
        assert_int_equal(pthread_create(&th[t], NULL, worker, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    atomic_store(&ra.stop, 1);
    pthread_join(rd, NULL);
    assert_int_equal(ra.regressions, 0);

    /* what every thread wrote, computed the same way */
    uint64_t count[3] = {0}, ok[3] = {0}, failed[3] = {0}, doubt[3] = {0}, max[3] = {0};
    for (int t = 0; t < THREADS; t++)
        for (int k = 0; k < CALLS; k++) {
            int p = k % 3, o = outcome_of(k);
            uint64_t ns = (uint64_t)(k + 1) * 10 + (uint64_t)t;
            count[p]++;
            ok[p] += o == PVM_OUTCOME_OK;
            failed[p] += o == PVM_OUTCOME_FAILED;
            doubt[p] += o == PVM_OUTCOME_INDOUBT;
            if (ns > max[p])
                max[p] = ns;
        }
    provost_proc_stats *v;
    size_t n;
    assert_int_equal(pvm_counters_read(c, &v, &n), 0);
    assert_int_equal(n, 4);
    uint64_t all = 0;
    for (int p = 0; p < 3; p++) {
        char name[8];
        snprintf(name, sizeof name, "P%d", p);
        const provost_proc_stats *s = find(v, n, "NS", name);
        assert_non_null(s);
        assert_int_equal(s->count, count[p]);
        assert_int_equal(s->succeeded, ok[p]);
        assert_int_equal(s->failed, failed[p]);
        assert_int_equal(s->in_doubt, doubt[p]);
        assert_int_equal(s->succeeded + s->failed + s->in_doubt, s->count);
        assert_int_equal(s->executing, 0);
        assert_true(s->max * 1000.0 > (double)max[p] - 0.01 && s->max * 1000.0 < (double)max[p] + 0.01);
        all += s->count;
    }
    assert_int_equal(all, (uint64_t)THREADS * CALLS);
    const provost_proc_stats *g = find(v, n, "NS", "P3");
    assert_non_null(g);
    assert_int_equal(g->executing, THREADS); /* one left running by each thread */
    assert_int_equal(g->count, 0);
    free_stats(v, n);

    /* the gauge is a sum over shards: ends counted on this thread bring it back to 0 */
    for (int t = 0; t < THREADS; t++)
        pvm_counters_end(c, base + 3, PVM_OUTCOME_OK, 1);
    assert_int_equal(pvm_counters_read(c, &v, &n), 0);
    g = find(v, n, "NS", "P3");
    assert_non_null(g);
    assert_int_equal(g->executing, 0);
    assert_int_equal(g->count, THREADS);
    free_stats(v, n);
    pvm_counters_free(c);
    pvm_bundle_close(b);
}

/* ---- percentiles ----------------------------------------------------------------------- */

static void check_distribution(uint64_t *sample, size_t n)
{
    pvm_bundle *b = bundle_of(1);
    pvm_counters *c = pvm_counters_new();
    assert_non_null(c);
    uint32_t id = pvm_counters_reserve(c, "NS", b);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        call(c, id, PVM_OUTCOME_OK, sample[i]);
        sum += sample[i];
    }
    qsort(sample, n, sizeof *sample, cmp_u64);
    provost_proc_stats *v;
    size_t nv;
    assert_int_equal(pvm_counters_read(c, &v, &nv), 0);
    assert_int_equal(nv, 1);
    check_percentile(sample, n, 0.50, v[0].p50);
    check_percentile(sample, n, 0.90, v[0].p90);
    check_percentile(sample, n, 0.99, v[0].p99);
    check_percentile(sample, n, 0.999, v[0].p999);
    assert_true(v[0].p50 <= v[0].p90 && v[0].p90 <= v[0].p99 && v[0].p99 <= v[0].p999 &&
                v[0].p999 <= v[0].max);
    assert_true(v[0].max == (double)sample[n - 1] / 1000.0); /* exact */
    double mean = (double)sum / (double)n / 1000.0;
    assert_true(v[0].mean > mean * 0.999999 && v[0].mean < mean * 1.000001);
    free_stats(v, nv);
    pvm_counters_free(c);
    pvm_bundle_close(b);
}

static void test_percentiles_uniform(void **state)
{
    (void)state;
    enum { N = 20000 };
    uint64_t *s = malloc(N * sizeof *s), seed = 1;
    assert_non_null(s);
    for (size_t i = 0; i < N; i++)
        s[i] = 1000 + next_rand(&seed) % 999001; /* 1 us .. 1 ms */
    check_distribution(s, N);
    /* small values: the first buckets are exact */
    for (size_t i = 0; i < N; i++)
        s[i] = 1 + i % 100;
    check_distribution(s, N);
    free(s);
}

static void test_percentiles_bimodal(void **state)
{
    (void)state;
    enum { N = 10000 };
    uint64_t *s = malloc(N * sizeof *s), seed = 7;
    assert_non_null(s);
    /* 80% fast (about 2 us), 20% slow (about 5 ms), one outlier of 3 s */
    for (size_t i = 0; i < N; i++)
        s[i] = i % 5 == 4 ? 4500000 + next_rand(&seed) % 1000001 : 1800 + next_rand(&seed) % 401;
    s[N / 2] = 3000000000ull;
    check_distribution(s, N);
    /* the modes are told apart: p50 is fast, p90 and above slow */
    pvm_bundle *b = bundle_of(1);
    pvm_counters *c = pvm_counters_new();
    uint32_t id = pvm_counters_reserve(c, "NS", b);
    for (size_t i = 0; i < N; i++)
        call(c, id, PVM_OUTCOME_OK, s[i]);
    provost_proc_stats *v;
    size_t n;
    assert_int_equal(pvm_counters_read(c, &v, &n), 0);
    assert_true(v[0].p50 < 2.2 * 1.125);
    assert_true(v[0].p90 > 4500 * 0.875);
    assert_true(v[0].max == 3000000.0);
    free_stats(v, n);
    pvm_counters_free(c);
    pvm_bundle_close(b);
    free(s);
}

/* ---- names ----------------------------------------------------------------------------- */

/* A namespace registered again gets new ids; its procedures are still reported once,
 * under the first spelling, with the counts of both summed. */
static void test_reregistered(void **state)
{
    (void)state;
    pvm_bundle *b = bundle_of(2);
    pvm_counters *c = pvm_counters_new();
    assert_non_null(c);
    uint32_t first = pvm_counters_reserve(c, "NS", b);
    uint32_t second = pvm_counters_reserve(c, "NS", b);
    uint32_t third = pvm_counters_reserve(c, "ns", b); /* names match without case */
    assert_int_equal(second, first + 2);
    assert_int_equal(third, second + 2);
    for (int i = 0; i < 3; i++)
        call(c, first + 1, PVM_OUTCOME_OK, 1000);
    for (int i = 0; i < 4; i++)
        call(c, second + 1, PVM_OUTCOME_FAILED, 8000);
    call(c, third + 1, PVM_OUTCOME_INDOUBT, 2000);
    pvm_counters_begin(c, second + 1);
    call(c, third + 0, PVM_OUTCOME_OK, 500);

    provost_proc_stats *v;
    size_t n;
    assert_int_equal(pvm_counters_read(c, &v, &n), 0);
    assert_int_equal(n, 2);
    const provost_proc_stats *p1 = find(v, n, "NS", "P1"), *p0 = find(v, n, "NS", "P0");
    assert_non_null(p1);
    assert_non_null(p0);
    assert_null(find(v, n, "ns", "P1"));
    assert_int_equal(p1->count, 8);
    assert_int_equal(p1->succeeded, 3);
    assert_int_equal(p1->failed, 4);
    assert_int_equal(p1->in_doubt, 1);
    assert_int_equal(p1->executing, 1);
    assert_true(p1->max == 8.0);
    assert_true(p1->p50 >= 1.0 * 0.875 && p1->p50 <= 8.0 * 1.125);
    assert_true(p1->p99 >= 8.0 * 0.875 && p1->p99 <= 8.0);
    assert_int_equal(p0->count, 1);
    free_stats(v, n);
    pvm_counters_free(c);
    pvm_bundle_close(b);
}

/* Two counter sets (two engines) number their procedures from 0 and never share cells,
 * even from one thread; a set created after another was freed starts empty. */
static void test_independent(void **state)
{
    (void)state;
    pvm_bundle *b = bundle_of(2);
    pvm_counters *c1 = pvm_counters_new(), *c2 = pvm_counters_new();
    assert_non_null(c1);
    assert_non_null(c2);
    uint32_t id1 = pvm_counters_reserve(c1, "NS", b), id2 = pvm_counters_reserve(c2, "NS", b);
    assert_int_equal(id1, 0);
    assert_int_equal(id2, 0);
    for (int i = 0; i < 5; i++)
        call(c1, id1, PVM_OUTCOME_OK, 100);
    for (int i = 0; i < 2; i++)
        call(c2, id2, PVM_OUTCOME_FAILED, 100);
    provost_proc_stats *v;
    size_t n;
    assert_int_equal(pvm_counters_read(c1, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].count, 5);
    assert_int_equal(v[0].failed, 0);
    free_stats(v, n);
    assert_int_equal(pvm_counters_read(c2, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].count, 2);
    assert_int_equal(v[0].failed, 2);
    free_stats(v, n);

    pvm_counters_free(c1);
    pvm_counters *c3 = pvm_counters_new();
    assert_non_null(c3);
    assert_int_equal(pvm_counters_read(c3, &v, &n), 0);
    assert_int_equal(n, 0);
    free_stats(v, n);
    uint32_t id3 = pvm_counters_reserve(c3, "NS", b);
    assert_int_equal(id3, 0);
    call(c3, id3, PVM_OUTCOME_OK, 100);
    assert_int_equal(pvm_counters_read(c3, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].count, 1);
    free_stats(v, n);
    assert_int_equal(pvm_counters_read(c2, &v, &n), 0);
    assert_int_equal(v[0].count, 2);
    free_stats(v, n);
    pvm_counters_free(c3);
    pvm_counters_free(c2);
    pvm_bundle_close(b);
}

static void test_clock(void **state)
{
    (void)state;
    uint64_t a = pvm_now_ns(), b = pvm_now_ns();
    assert_true(a > 0);
    assert_true(b >= a); /* monotonic */
}

/* rate: calls per second over the last 10 s -- 1,000 calls just made count, at most
 * 1,000 / 10 per second (the bound holds whatever the machine's speed) */
static void test_rate(void **state)
{
    (void)state;
    pvm_bundle *b = bundle_of(1);
    pvm_counters *c = pvm_counters_new();
    assert_non_null(c);
    uint32_t base = pvm_counters_reserve(c, "NS", b);
    for (int i = 0; i < 1000; i++)
        call(c, base, PVM_OUTCOME_OK, 1000);
    provost_proc_stats *v;
    size_t n;
    assert_int_equal(pvm_counters_read(c, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_true(v[0].rate > 0);
    assert_true(v[0].rate <= 100.0);
    provost_stats_free(v, n);
    pvm_counters_free(c);
    pvm_bundle_close(b);
}

int main(void)
{
    provost_compiler_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_many_ids),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_percentiles_uniform),
        cmocka_unit_test(test_percentiles_bimodal),
        cmocka_unit_test(test_reregistered),
        cmocka_unit_test(test_independent),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
