/*
 * counters.c -- what the per-procedure counters cost per call (SPEC §9: under 50 ns).
 *
 * Per procedure call the VM does exactly this (vm/call.c, vm/request.c):
 *
 *     pvm_counters_begin(c, id);
 *     t0 = pvm_now_ns();
 *     ... the call ...
 *     pvm_counters_end(c, id, outcome, pvm_now_ns() - t0);
 *
 * The benchmark runs N such calls with an empty body against a baseline loop doing the
 * same work minus the two counter calls (the two clock reads and the subtraction), in
 * the same process, interleaved, best of R runs each; the difference is the counters'
 * cost.  Then the same with several threads at once on one counter set (each thread
 * writes its own shard), and with calls spread over 1,000 procedures (more cells than
 * the caches hold) instead of one.  Each scenario runs twice: with the cells in memory
 * only, and in a counters file (vm/cfile.c) as an engine with a database keeps them, where
 * `provost stats` reads them from another process.
 *
 * Usage: counters [-n CALLS] [-r RUNS] [-t THREADS]   (default 10,000,000 calls, 7 runs, 2 threads)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provost/compiler.h"
#include "vm/bundle.h"
#include "vm/counters.h"

static volatile uint64_t sink; /* keeps the baseline's clock reads from being optimised away */
static uint64_t expected;      /* calls the counter loops made */

/* ---- the loops --------------------------------------------------------------------- */

typedef struct loop {
    pvm_counters *c;
    uint32_t base, nids; /* ids base .. base+nids-1, round robin */
    uint64_t n;
    int with_counters;
    double ns_per_call; /* out */
} loop;

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run_loop(loop *l)
{
    uint64_t acc = 0, start = wall_ns();
    uint32_t k = 0;
    if (l->with_counters) {
        for (uint64_t i = 0; i < l->n; i++) {
            uint32_t id = l->base + k;
            pvm_counters_begin(l->c, id);
            uint64_t t0 = pvm_now_ns();
            pvm_counters_end(l->c, id, PVM_OUTCOME_OK, pvm_now_ns() - t0);
            acc += id; /* as the baseline does */
            if (++k == l->nids)
                k = 0;
        }
    } else {
        for (uint64_t i = 0; i < l->n; i++) {
            uint32_t id = l->base + k;
            uint64_t t0 = pvm_now_ns();
            acc += pvm_now_ns() - t0 + id;
            if (++k == l->nids)
                k = 0;
        }
    }
    sink += acc;
    l->ns_per_call = (double)(wall_ns() - start) / (double)l->n;
}

/* ---- threads ------------------------------------------------------------------------ */

typedef struct team {
    pthread_barrier_t start;
    loop loops[64];
} team;

typedef struct member {
    team *t;
    int index;
} member;

static void *member_main(void *p)
{
    member *m = p;
    pthread_barrier_wait(&m->t->start);
    run_loop(&m->t->loops[m->index]);
    return NULL;
}

/* Runs the loop on `threads` threads at once; returns the slowest thread's ns per call. */
static double run_team(const loop *proto, int threads)
{
    if (threads == 1) {
        loop l = *proto;
        run_loop(&l);
        return l.ns_per_call;
    }
    team t;
    pthread_barrier_init(&t.start, NULL, (unsigned)threads);
    pthread_t th[64];
    member m[64];
    for (int i = 0; i < threads; i++) {
        t.loops[i] = *proto;
        m[i] = (member){.t = &t, .index = i};
        if (pthread_create(&th[i], NULL, member_main, &m[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    double worst = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (t.loops[i].ns_per_call > worst)
            worst = t.loops[i].ns_per_call;
    }
    pthread_barrier_destroy(&t.start);
    return worst;
}

/* ---- a counter set with procedures ---------------------------------------------------- */

static pvm_bundle *bundle_of(unsigned n)
{
    size_t cap = 200 + (size_t)n * 64, len = 0;
    char *xml = malloc(cap);
    if (!xml)
        exit(1);
    len += (size_t)snprintf(xml + len, cap - len, "<namespace name='Bench' providerSource='test'>");
    for (unsigned i = 0; i < n; i++)
        len += (size_t)snprintf(xml + len, cap - len, "<procedure name='P%u' type='read'/>", i);
    len += (size_t)snprintf(xml + len, cap - len, "</namespace>");
    provost_compiled out;
    if (provost_compile("bench.xml", xml, len, &out) != 0) {
        provost_compiled_print(&out, "bench.xml", stderr);
        exit(1);
    }
    char why[256];
    pvm_bundle *b = pvm_bundle_load(out.bundle, out.size, 1, why, sizeof why);
    provost_compiled_free(&out);
    free(xml);
    if (!b) {
        fprintf(stderr, "bundle: %s\n", why);
        exit(1);
    }
    return b;
}

/* Best of `runs` of each loop, interleaved; prints one row. */
static void scenario(const char *what, pvm_counters *c, uint32_t base, uint32_t nids, uint64_t n, int runs,
                     int threads)
{
    loop base_loop = {.c = c, .base = base, .nids = nids, .n = n, .with_counters = 0};
    loop cnt_loop = base_loop;
    cnt_loop.with_counters = 1;
    /* warm up: the shards and chunks of every thread exist before anything is timed */
    loop warm = cnt_loop;
    warm.n = n / 10 + nids;
    run_team(&warm, threads);
    expected += (uint64_t)threads * (warm.n + (uint64_t)runs * n);
    double best_base = 1e30, best_cnt = 1e30;
    for (int r = 0; r < runs; r++) {
        double b = run_team(&base_loop, threads), k = run_team(&cnt_loop, threads);
        if (b < best_base)
            best_base = b;
        if (k < best_cnt)
            best_cnt = k;
    }
    printf("| %-38s | %7d | %9.1f | %9.1f | %10.1f |\n", what, threads, best_base, best_cnt, best_cnt - best_base);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    uint64_t n = 10000000;
    int runs = 7, threads = 2, opt;
    while ((opt = getopt(argc, argv, "n:r:t:")) != -1) {
        switch (opt) {
        case 'n': n = strtoull(optarg, NULL, 10); break;
        case 'r': runs = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-n CALLS] [-r RUNS] [-t THREADS]\n", argv[0]);
            return 2;
        }
    }
    if (n == 0 || runs < 1 || threads < 1 || threads > 64) {
        fprintf(stderr, "%s: bad arguments\n", argv[0]);
        return 2;
    }
    provost_compiler_init();
    pvm_bundle *b = bundle_of(1000);
    char dir[] = "/tmp/provost-counters.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }

    printf("%llu calls per run, best of %d runs; ns per call (threads: the slowest thread)\n\n",
           (unsigned long long)n, runs);
    printf("| %-38s | threads | baseline  | counters  | difference |\n", "calls");
    printf("|%s|---------|-----------|-----------|------------|\n", "----------------------------------------");
    int bad = 0;
    for (int in_file = 0; in_file < 2; in_file++) {
        pvm_counters *c = pvm_counters_new();
        if (!c || (in_file && pvm_counters_set_dir(c, dir) != 0))
            return 1;
        uint32_t base = pvm_counters_reserve(c, "Bench", b);
        const char *one = in_file ? "one procedure, file" : "one procedure, memory";
        const char *many = in_file ? "1,000 procedures, round robin, file" : "1,000 procedures, round robin, memory";
        expected = 0;
        scenario(one, c, base, 1, n, runs, 1);
        if (threads > 1)
            scenario(one, c, base, 1, n, runs, threads);
        scenario(many, c, base, 1000, n, runs, 1);
        if (threads > 1)
            scenario(many, c, base, 1000, n, runs, threads);

        /* the counts are what was done: nothing was lost or optimised away */
        provost_proc_stats *v;
        size_t nv;
        uint64_t total = 0;
        if (pvm_counters_read(c, &v, &nv) == 0) {
            for (size_t i = 0; i < nv; i++) {
                total += v[i].count;
                free(v[i].ns);
                free(v[i].proc);
            }
            free(v);
        }
        printf("calls counted (%s): %llu of %llu%s\n", in_file ? "file" : "memory", (unsigned long long)total,
               (unsigned long long)expected, total == expected ? "" : "  MISMATCH");
        bad |= total != expected;
        pvm_counters_free(c);
    }
    char path[64];
    snprintf(path, sizeof path, "%s/counters", dir);
    unlink(path);
    rmdir(dir);
    pvm_bundle_close(b);
    return bad;
}
