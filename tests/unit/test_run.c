/*
 * test_run.c -- the batch and bench runners through their C API alone (provost/batch.h,
 * provost/bench.h), with no command in between: a small batch of rows with a failure, a
 * bad row and a resume; a short bench, its report, and the input it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "provost/batch.h"
#include "provost/bench.h"
#include "provost/provost.h"

static char root[] = "/tmp/provost-runtest-XXXXXX";
static char db[300], rows[300], out[300];

typedef struct heard {
    int invalid, notes, errors, opened;
    char last[400];
} heard;

static void on_message(void *ctx, int kind, const char *text)
{
    heard *h = ctx;
    h->invalid += kind == PROVOST_BATCH_SAY_INVALID;
    h->notes += kind == PROVOST_BATCH_SAY_NOTE;
    h->errors += kind == PROVOST_BATCH_SAY_ERROR;
    snprintf(h->last, sizeof h->last, "%s", text);
}

static provost_engine *open_counted(void *ctx, const provost_options *o)
{
    provost_engine *e = NULL;
    provost_error err;
    ((heard *)ctx)->opened++;
    return provost_open(o, &e, &err) == 0 ? e : NULL;
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(root))
        return -1;
    snprintf(db, sizeof db, "%s/db", root);
    snprintf(rows, sizeof rows, "%s/rows.csv", root);
    snprintf(out, sizeof out, "%s/res.jsonl", root);
    char path[400];
    snprintf(path, sizeof path, "%s/tests/batch/batch.xml", PROVOST_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char xml[1 << 16];
    size_t n = fread(xml, 1, sizeof xml, f);
    fclose(f);
    provost_options o = {.db_path = db, .sync = PROVOST_SYNC_NONE};
    provost_engine *e;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0)
        return -1;
    provost_ns_info info = {0};
    int rc = provost_register(e, "batch.xml", xml, n, &info, &err);
    free(info.name);
    free(info.version);
    free(info.provider);
    free(info.description);
    provost_close(e);
    /* five rows: the third fails with its own code, the fourth cannot be XML (a control
     * character), so it never runs */
    f = fopen(rows, "w");
    if (!f)
        return -1;
    fputs("n,code\n1,\n2,\n3,0x80040123\n4\001,\n5,\n", f);
    return fclose(f) == 0 && rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static provost_batch_options batch_options(heard *h)
{
    return (provost_batch_options){.rows = rows, .format = -1, .ns = "Batch", .proc = "Write3", .out = out,
                                   .jobs = 2, .engine = {.db_path = db, .sync = PROVOST_SYNC_NONE},
                                   .open_engine = open_counted, .message = on_message, .ctx = h};
}

static int lines_of(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static void test_batch(void **state)
{
    (void)state;
    heard h = {0};
    provost_batch_options o = batch_options(&h);
    provost_batch_summary s;
    char err[500] = "";
    assert_int_equal(provost_batch_run(&o, &s, err, sizeof err), 0);
    assert_int_equal(h.opened, 1);
    assert_int_equal(s.requests, 5);
    assert_int_equal(s.by_status[PROVOST_BATCH_SUCCEEDED], 3);
    assert_int_equal(s.by_status[PROVOST_BATCH_FAILED], 1);
    assert_int_equal(s.by_status[PROVOST_BATCH_INVALID], 1);
    assert_int_equal(s.run, 5);
    assert_int_equal(s.seen, 0);
    assert_int_equal(s.timed, 4); /* the invalid row never ran */
    assert_true(s.p50_ms <= s.max_ms);
    assert_true(s.finished);
    assert_int_equal(s.stop, 0);
    assert_int_equal(s.errors, 0);
    assert_int_equal(h.invalid, 1);
    assert_non_null(strstr(h.last, "rows.csv:5: request 4:"));
    assert_int_equal(strlen(s.id), 32);
    assert_string_equal(s.results, out);
    assert_int_equal(s.ncodes, 2); /* by count, then code: one each */
    assert_int_equal(s.codes[0].code, 0x80040123u);
    assert_int_equal(s.codes[1].code, PROVOST_E_INVALIDARG);
    assert_int_equal(lines_of(out), 5);
    char id[33];
    memcpy(id, s.id, sizeof id);
    provost_batch_summary_free(&s);

    /* resumed once finished: nothing runs again, the results are the same batch's */
    o.resume = true;
    o.rows = NULL;
    assert_int_equal(provost_batch_run(&o, &s, err, sizeof err), 0);
    assert_int_equal(s.seen, 5);
    assert_int_equal(s.run, 0);
    assert_int_equal(s.requests, 5);
    assert_int_equal(s.by_status[PROVOST_BATCH_SUCCEEDED], 3);
    assert_string_equal(s.id, id);
    assert_int_equal(lines_of(out), 5);
    provost_batch_summary_free(&s);
}

static void test_batch_refused(void **state)
{
    (void)state;
    heard h = {0};
    provost_batch_options o = batch_options(&h);
    provost_batch_summary s;
    char err[500] = "";
    o.out = NULL;
    o.proc = "Nope";
    assert_int_equal(provost_batch_run(&o, &s, err, sizeof err), -1);
    assert_string_equal(err, "--call: namespace 'Batch' has no procedure 'Nope'");
    o.proc = "R"; /* private */
    assert_int_equal(provost_batch_run(&o, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "is private"));
    /* a resume with nothing recorded: refused before the engine is opened */
    h.opened = 0;
    o.proc = "Write3";
    char none[400];
    snprintf(none, sizeof none, "%s/none.jsonl", root);
    o.out = none;
    o.resume = true;
    assert_int_equal(provost_batch_run(&o, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "nothing to resume"));
    assert_int_equal(h.opened, 0);
}

static void test_bench(void **state)
{
    (void)state;
    static const char data[] = "<data><n>7</n></data>";
    provost_bench_options o = {.ns = "Batch", .proc = "Echo3", .text = data, .len = sizeof data - 1,
                               .threads = 2, .requests = 40,
                               .engine = {.db_path = db, .sync = PROVOST_SYNC_NONE}};
    provost_bench_result r;
    char err[500] = "";
    assert_int_equal(provost_bench_run(&o, &r, err, sizeof err), 0);
    assert_int_equal(r.requests, 40);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.nerrors, 0);
    assert_true(r.elapsed > 0);
    assert_true(r.min_us <= r.p50_us && r.p50_us <= r.p99_us && r.p99_us <= r.max_us);
    /* the counters are the measured run's: the check before it is not counted */
    bool found = false;
    for (size_t i = 0; i < r.nprocs; i++)
        if (strcmp(r.procs[i].proc, "Echo3") == 0) {
            assert_int_equal(r.procs[i].count, 40);
            found = true;
        }
    assert_true(found);
    char *json = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&json, &len);
    assert_int_equal(provost_bench_write(&r, PROVOST_BENCH_JSON, f), 0);
    fclose(f);
    assert_non_null(strstr(json, "\"requests\": 40,"));
    free(json);
    provost_bench_result_free(&r);
}

static void test_bench_refused(void **state)
{
    (void)state;
    provost_bench_options o = {.ns = "Batch", .proc = "Nope", .threads = 1, .requests = 1,
                               .engine = {.db_path = db, .sync = PROVOST_SYNC_NONE}};
    provost_bench_result r;
    char err[500] = "";
    assert_int_equal(provost_bench_run(&o, &r, err, sizeof err), PROVOST_BENCH_ERROR);
    assert_string_equal(err, "namespace 'Batch' has no procedure 'Nope'");
    static const char bad[] = "<request>";
    o = (provost_bench_options){.text = bad, .len = sizeof bad - 1, .threads = 1, .requests = 1,
                                .engine = {.db_path = db, .sync = PROVOST_SYNC_NONE}};
    assert_int_equal(provost_bench_run(&o, &r, err, sizeof err), PROVOST_BENCH_BAD_INPUT);
    assert_true(err[0] != 0);
    o.threads = 0;
    assert_int_equal(provost_bench_run(&o, &r, err, sizeof err), PROVOST_BENCH_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_batch_refused),
        cmocka_unit_test(test_bench),
        cmocka_unit_test(test_bench_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
