/*
 * test_cfile.c -- the counters file (vm/cfile.c, vm/cfile_read.c): what a reader of the
 * file gets is what the engine's own read gets, whatever the threads, the number of
 * procedures (chunks past the first growth of the file) and re-registrations; the
 * engine-wide counters; the fixed-bound duration histogram (a call of exactly a bound in
 * that bound's bucket); failed requests by code (past the table's 32 codes as "other")
 * and the last 20 failures, most recent first; the writer's state (live while the set exists, exited once
 * freed); a new writer's generation; nothing is written before the first count; and a
 * damaged file (every field a reader checks) is refused with a one-line reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provost/compiler.h"
#include "provost/stats.h"
#include "vm/bundle.h"
#include "vm/counters.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/test_cfile.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/counters", dir);
    unlink(path);
    return rmdir(dir);
}

static pvm_bundle *bundle_of(const char *ns, unsigned n)
{
    size_t cap = 200 + (size_t)n * 80, len = 0;
    char *xml = malloc(cap);
    assert_non_null(xml);
    len += (size_t)snprintf(xml + len, cap - len, "<namespace name='%s' providerSource='test'>", ns);
    for (unsigned i = 0; i < n; i++)
        len += (size_t)snprintf(xml + len, cap - len, "<procedure name='P%u' type='read'%s/>", i,
                                i == 1 ? " perfEnabled='1'" : "");
    len += (size_t)snprintf(xml + len, cap - len, "</namespace>");
    provost_compiled out;
    assert_int_equal(provost_compile("cfile.xml", xml, len, &out), 0);
    char why[256];
    pvm_bundle *b = pvm_bundle_load(out.bundle, out.size, 1, why, sizeof why);
    provost_compiled_free(&out);
    free(xml);
    assert_non_null(b);
    return b;
}

static void call(pvm_counters *c, uint32_t id, int outcome, uint64_t ns)
{
    pvm_counters_begin(c, id);
    pvm_counters_end(c, id, outcome, ns);
}

static const provost_proc_stats *find(const provost_proc_stats *v, size_t n, const char *ns, const char *proc)
{
    const provost_proc_stats *hit = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].ns, ns) == 0 && strcmp(v[i].proc, proc) == 0) {
            assert_null(hit);
            hit = &v[i];
        }
    return hit;
}

/* The file's view equals the engine's own, procedure by procedure. */
static void assert_same(pvm_counters *c, const provost_live_stats *s)
{
    provost_proc_stats *v;
    size_t n;
    assert_int_equal(pvm_counters_read(c, &v, &n), 0);
    assert_int_equal(s->nprocs, n);
    for (size_t i = 0; i < n; i++) {
        const provost_proc_stats *f = find(s->procs, s->nprocs, v[i].ns, v[i].proc);
        assert_non_null(f);
        assert_int_equal(f->count, v[i].count);
        assert_int_equal(f->succeeded, v[i].succeeded);
        assert_int_equal(f->failed, v[i].failed);
        assert_int_equal(f->in_doubt, v[i].in_doubt);
        assert_int_equal(f->executing, v[i].executing);
        assert_int_equal(f->perf_enabled, v[i].perf_enabled);
        assert_true(f->p50 == v[i].p50 && f->p99 == v[i].p99 && f->max == v[i].max && f->mean == v[i].mean);
        assert_memory_equal(f->latency, v[i].latency, sizeof f->latency);
        assert_int_equal(f->latency_sum_ns, v[i].latency_sum_ns);
    }
    provost_stats_free(v, n);
}

static void read_ok(provost_live_stats *s)
{
    char err[600] = "";
    int rc = provost_live_stats_read(dir, s, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    pvm_bundle *b = bundle_of("NS", 3);
    pvm_counters *c = pvm_counters_new();
    assert_int_equal(pvm_counters_set_dir(c, dir), 0);
    uint32_t base = pvm_counters_reserve(c, "NS", b);
    /* names only: no file yet, so the last run's counters stay for `provost stats` */
    provost_live_stats s;
    read_ok(&s);
    assert_int_equal(s.writer, PROVOST_WRITER_NONE);
    call(c, base, PVM_OUTCOME_OK, 1500);
    call(c, base, PVM_OUTCOME_FAILED, 2500);
    call(c, base + 1, PVM_OUTCOME_INDOUBT, 900000);
    pvm_counters_begin(c, base + 2); /* still running */
    int syncs = pvm_counters_engine_slot(c, "provost_journal_syncs_total", PVM_ENGINE_COUNTER);
    int depth = pvm_counters_engine_slot(c, "provost_queue_depth", PVM_ENGINE_GAUGE);
    assert_true(syncs >= 0 && depth >= 0 && syncs != depth);
    assert_int_equal(pvm_counters_engine_slot(c, "provost_journal_syncs_total", PVM_ENGINE_COUNTER), syncs);
    pvm_counters_engine_add(c, syncs, 5);
    pvm_counters_engine_add(c, syncs, 2);
    pvm_counters_engine_set(c, depth, 42);

    read_ok(&s);
    assert_int_equal(s.writer, PROVOST_WRITER_LIVE);
    assert_int_equal(s.version, PVM_CF_VERSION);
    assert_int_equal(s.pid, getpid());
    assert_int_equal(s.generation, 1);
    assert_int_equal(s.nprocs, 3);
    assert_same(c, &s);
    const provost_proc_stats *p0 = find(s.procs, s.nprocs, "NS", "P0");
    assert_int_equal(p0->count, 2);
    assert_int_equal(p0->failed, 1);
    assert_int_equal(find(s.procs, s.nprocs, "NS", "P2")->executing, 1);
    assert_true(find(s.procs, s.nprocs, "NS", "P1")->perf_enabled);
    assert_int_equal(s.nengine, 2);
    for (size_t i = 0; i < s.nengine; i++)
        if (strcmp(s.engine[i].name, "provost_journal_syncs_total") == 0)
            assert_true(s.engine[i].value == 7 && !s.engine[i].gauge);
        else
            assert_true(strcmp(s.engine[i].name, "provost_queue_depth") == 0 && s.engine[i].value == 42 &&
                        s.engine[i].gauge);
    provost_live_stats_free(&s);

    pvm_counters_end(c, base + 2, PVM_OUTCOME_OK, 10);
    pvm_counters_free(c);
    /* the last values stay, and the writer is known to have closed */
    read_ok(&s);
    assert_int_equal(s.writer, PROVOST_WRITER_EXITED);
    assert_int_equal(find(s.procs, s.nprocs, "NS", "P2")->count, 1);
    provost_live_stats_free(&s);

    /* the next engine starts a new generation, from zero */
    c = pvm_counters_new();
    assert_int_equal(pvm_counters_set_dir(c, dir), 0);
    base = pvm_counters_reserve(c, "NS", b);
    call(c, base, PVM_OUTCOME_OK, 1);
    read_ok(&s);
    assert_int_equal(s.generation, 2);
    assert_int_equal(s.nprocs, 1);
    assert_int_equal(s.procs[0].count, 1);
    provost_live_stats_free(&s);
    pvm_counters_free(c);
    pvm_bundle_close(b);
}

static void test_buckets_and_failures(void **state)
{
    (void)state;
    pvm_bundle *b = bundle_of("NS", 1);
    pvm_counters *c = pvm_counters_new();
    assert_int_equal(pvm_counters_set_dir(c, dir), 0);
    uint32_t id = pvm_counters_reserve(c, "NS", b);
    const uint64_t *bound = provost_latency_bounds_ns;
    uint64_t durations[] = {0, bound[0], bound[0] + 1, bound[3], bound[11], bound[11] + 1, UINT64_MAX / 4};
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        call(c, id, PVM_OUTCOME_OK, durations[i]);
        sum += durations[i];
    }
    for (int i = 0; i < 3; i++)
        pvm_counters_failed(c, 0x80070005u, "alice", "NS", "P0", "denied");
    pvm_counters_failed(c, 0x80004005u, "bob", "NS", "P0", NULL);
    for (uint32_t code = 1; code <= 40; code++) /* 30 more fill the table; 10 are "other" */
        pvm_counters_failed(c, 0xC0000000u + code, "carol", "", "P0", "one of many");

    provost_live_stats s;
    read_ok(&s);
    assert_int_equal(s.nprocs, 1);
    const uint64_t want[PROVOST_LATENCY_BOUNDS + 1] = {2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 2};
    assert_memory_equal(s.procs[0].latency, want, sizeof want);
    assert_int_equal(s.procs[0].latency_sum_ns, sum);
    assert_same(c, &s);
    assert_int_equal(s.nfailures, PVM_CF_FAIL_SLOTS + 1);
    assert_true(s.failures[0].code == 0 && s.failures[0].count == 10); /* most frequent first */
    assert_true(s.failures[1].code == 0x80070005u && s.failures[1].count == 3);
    assert_true(s.failures[2].code == 0x80004005u && s.failures[2].count == 1);
    provost_live_stats_free(&s);

    provost_failure_event *v;
    size_t n;
    assert_int_equal(pvm_counters_recent(c, &v, &n), 0);
    assert_int_equal(n, PVM_RECENT);
    assert_int_equal(v[0].code, 0xC0000000u + 40);
    assert_int_equal(v[19].code, 0xC0000000u + 21);
    assert_true(strcmp(v[0].principal, "carol") == 0 && strcmp(v[0].ns, "") == 0 &&
                strcmp(v[0].message, "one of many") == 0 && v[0].time_ms >= v[19].time_ms);
    provost_failure_events_free(v, n);
    pvm_counters_free(c);
    pvm_bundle_close(b);
}

/* ---- many threads, many procedures, re-registration: the file grows --------------------- */

typedef struct worker {
    pvm_counters *c;
    uint32_t base, n;
    int seed;
} worker;

static void *work(void *p)
{
    worker *w = p;
    for (uint32_t r = 0; r < 3; r++)
        for (uint32_t i = 0; i < w->n; i++)
            call(w->c, w->base + i, (int)((i + r + (uint32_t)w->seed) % 3), 1000u * (i + 1));
    return NULL;
}

static void test_growth(void **state)
{
    (void)state;
    /* 700 procedures (11 chunks) on 4 threads: about 12 MB of cells, past the first size */
    pvm_bundle *b = bundle_of("Big", 350);
    pvm_counters *c = pvm_counters_new();
    assert_int_equal(pvm_counters_set_dir(c, dir), 0);
    uint32_t base = pvm_counters_reserve(c, "Big", b);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.c = c, .base = base, .n = 350, .seed = i};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* registered again while the file exists: the new ids' names are appended */
    uint32_t again = pvm_counters_reserve(c, "big", b);
    w[0] = (worker){.c = c, .base = again, .n = 350, .seed = 0};
    work(&w[0]);
    provost_live_stats s;
    read_ok(&s);
    assert_int_equal(s.nprocs, 350);
    assert_same(c, &s);
    assert_int_equal(find(s.procs, s.nprocs, "Big", "P7")->count, 15);
    provost_live_stats_free(&s);
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/counters", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > (1 << 20));
    pvm_counters_free(c);
    pvm_bundle_close(b);
}

/* ---- damage ------------------------------------------------------------------------------ */

static char saved[1 << 20];
static size_t nsaved;

static void write_file(const void *buf, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/counters", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* The file as saved with one change at OFF (of LEN bytes from WITH), or cut at CUT: the
 * reader refuses it with a reason holding WHAT, on one line. */
static void refused(size_t off, const void *with, size_t len, size_t cut, const char *what)
{
    static char buf[sizeof saved];
    memcpy(buf, saved, nsaved);
    if (with)
        memcpy(buf + off, with, len);
    write_file(buf, cut ? cut : nsaved);
    provost_live_stats s;
    char err[600] = "";
    assert_int_equal(provost_live_stats_read(dir, &s, err, sizeof err), -1);
    if (!strstr(err, what))
        fprintf(stderr, "expected '%s' in: %s\n", what, err);
    assert_non_null(strstr(err, what));
    assert_null(strchr(err, '\n'));
    assert_null(s.procs);
}

static void test_damaged(void **state)
{
    (void)state;
    pvm_bundle *b = bundle_of("NS", 2);
    pvm_counters *c = pvm_counters_new();
    assert_int_equal(pvm_counters_set_dir(c, dir), 0);
    uint32_t base = pvm_counters_reserve(c, "NS", b);
    call(c, base, PVM_OUTCOME_OK, 10);
    pvm_counters_free(c);
    pvm_bundle_close(b);
    char path[128];
    snprintf(path, sizeof path, "%s/counters", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    nsaved = fread(saved, 1, sizeof saved, f);
    fclose(f);
    assert_true(nsaved > PVM_CF_HEADER);
    uint64_t used;
    memcpy(&used, saved + offsetof(pvm_cf_header, used), 8);

    uint32_t v1 = 1, v2 = 2, v3 = PVM_CF_VERSION + 1, big = 0xffffff, badtype = 7;
    uint64_t huge = (uint64_t)1 << 40, odd = PVM_CF_HEADER + 3, small = 8;
    refused(0, NULL, 0, 100, "truncated");
    refused(0, "XXXX", 4, 0, "not a counters file");
    refused(offsetof(pvm_cf_header, version), &v1, 4, 0, "format version 1, an older provost's");
    refused(offsetof(pvm_cf_header, version), &v3, 4, 0, "format version 3");
    refused(offsetof(pvm_cf_header, le_buckets), &big, 4, 0, "damaged header");
    refused(offsetof(pvm_cf_header, fail_slots), &big, 4, 0, "damaged header");
    refused(offsetof(pvm_cf_header, cell_size), &big, 4, 0, "damaged header");
    refused(offsetof(pvm_cf_header, used), &huge, 8, 0, "truncated");
    refused(offsetof(pvm_cf_header, used), &odd, 8, 0, "damaged header");
    refused(0, NULL, 0, (size_t)used - 64, "truncated"); /* cut inside a block */
    const size_t blk = PVM_CF_HEADER;                     /* the first block: the names */
    refused(blk + offsetof(pvm_cf_block, type), &badtype, 4, 0, "unknown block type");
    refused(blk + offsetof(pvm_cf_block, size), &small, 8, 0, "damaged block");
    refused(blk + offsetof(pvm_cf_block, size), &huge, 8, 0, "damaged block");
    refused(blk + offsetof(pvm_cf_block, first), &v2, 4, 0, "damaged name block");
    refused(blk + offsetof(pvm_cf_block, count), &big, 4, 0, "damaged name block");
    uint16_t long_name = 300;
    refused(blk + sizeof(pvm_cf_block) + offsetof(pvm_cf_name, ns_len), &long_name, 2, 0, "damaged name slot");
    /* the cells: the block after the names */
    uint64_t names_size;
    memcpy(&names_size, saved + blk + offsetof(pvm_cf_block, size), 8);
    uint32_t unaligned = 3;
    refused(blk + names_size + offsetof(pvm_cf_block, first), &unaligned, 4, 0, "damaged cell block");
    char noterm[48];
    memset(noterm, 'x', sizeof noterm);
    uint32_t one = 1;
    memcpy(saved + offsetof(pvm_cf_header, engine) + offsetof(pvm_cf_engine, in_use), &one, 4);
    refused(offsetof(pvm_cf_header, engine), noterm, sizeof noterm, 0, "damaged engine counter");
    write_file(saved, 0);
    refused(0, NULL, 0, 1, "truncated");
}

int main(void)
{
    provost_compiler_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buckets_and_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
