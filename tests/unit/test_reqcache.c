/*
 * test_reqcache.c -- the cache of trusted requests' procedures: threads submitting the
 * same and different inline procedures all get the results of one thread, and each
 * distinct procedure is compiled once; a procedure that calls a namespace follows that
 * namespace when it is replaced, without being compiled again; the cache stays bounded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/provost.h"
#include "vm/vm.h"

static char dbroot[] = "/tmp/provost-reqcache-XXXXXX";
static int dbn;

static provost_engine *fresh(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/db%d", dbroot, dbn++);
    provost_options o = {.db_path = path, .caller = "tester", .sync = PROVOST_SYNC_NONE};
    provost_engine *e = NULL;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0)
        fprintf(stderr, "open: %s\n", err.message);
    assert_non_null(e);
    return e;
}

static void reg(provost_engine *e, const char *xml)
{
    provost_error err;
    int rc = provost_register(e, "test.xml", xml, strlen(xml), NULL, &err);
    if (rc != 0)
        fprintf(stderr, "register: %s\n", err.message);
    assert_int_equal(rc, 0);
}

static pvm_rcache_stats_t stats(provost_engine *e)
{
    pvm_rcache_stats_t s;
    pvm_rcache_stats(e->rcache, &s);
    return s;
}

/* Request i: data of its own, one of KINDS procedures (which differ by a literal). */
#define KINDS 5
#define THREADS 4
#define PER_THREAD 150

static char *request_for(int i)
{
    char *req = malloc(1024);
    snprintf(req, 1024,
             "<request><data><n>%d</n></data><procedure><execute namespace='P' procedure='Echo'>"
             "<executeData><kind>%d</kind></executeData>"
             "<after source='executeData' destination='data' destinationPath='out'/></execute></procedure></request>",
             i, i % KINDS);
    return req;
}

typedef struct job {
    provost_engine *e;
    int first;
    char **out;
    pthread_barrier_t *start;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    if (j->start)
        pthread_barrier_wait(j->start); /* every thread meets the first requests uncompiled */
    for (int k = 0; k < PER_THREAD; k++) {
        int i = j->first + k;
        char *req = request_for(i);
        provost_response r;
        provost_error err;
        if (provost_submit(j->e, req, strlen(req), PROVOST_COMPACT, &r, &err) == 0 && !r.failed)
            j->out[i] = strdup(r.xml);
        provost_response_free(&r);
        free(req);
    }
    return NULL;
}

static const char *const provider_ns =
    "<namespace name='P' providerSource='test'><procedure name='Echo' type='read' access='public'/></namespace>";

static void test_threads(void **state)
{
    (void)state;
    int total = THREADS * PER_THREAD;
    char **single = calloc((size_t)total, sizeof *single), **multi = calloc((size_t)total, sizeof *multi);
    provost_engine *e = fresh();
    reg(e, provider_ns);
    job one = {.e = e, .out = single};
    for (int t = 0; t < THREADS; t++) {
        one.first = t * PER_THREAD;
        worker(&one);
    }
    provost_close(e);

    e = fresh();
    reg(e, provider_ns);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    pthread_t th[THREADS];
    job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (job){.e = e, .first = t * PER_THREAD, .out = multi, .start = &start};
        assert_int_equal(pthread_create(&th[t], NULL, worker, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < total; i++) {
        assert_non_null(single[i]);
        assert_non_null(multi[i]);
        assert_string_equal(single[i], multi[i]);
        char want[128];
        snprintf(want, sizeof want, "<n>%d</n><out><executeData><kind>%d</kind></executeData></out>", i, i % KINDS);
        if (!strstr(multi[i], want))
            fprintf(stderr, "request %d: %s\n", i, multi[i]);
        assert_non_null(strstr(multi[i], want));
        free(single[i]);
        free(multi[i]);
    }
    free(single);
    free(multi);
    pvm_rcache_stats_t s = stats(e);
    assert_int_equal(s.compiles, KINDS);
    assert_int_equal(s.entries, KINDS);
    provost_close(e);
}

static char *submit(provost_engine *e, const char *req)
{
    provost_response r;
    provost_error err;
    assert_int_equal(provost_submit(e, req, strlen(req), PROVOST_COMPACT, &r, &err), 0);
    char *out = strdup(r.failed ? "failed" : r.xml);
    provost_response_free(&r);
    return out;
}

/* The cached procedure calls B; B is replaced: the next request runs the new B, and the
 * procedure is not compiled again. */
static void test_relink(void **state)
{
    (void)state;
    provost_engine *e = fresh();
    reg(e, "<namespace name='B' providerSource='test'><procedure name='Do' type='read'/></namespace>");
    const char *req = "<request><procedure><execute namespace='B' procedure='Do'><executeData><v>1</v></executeData>"
                      "<after source='executeData' destination='data'/></execute></procedure></request>";
    char *out = submit(e, req);
    assert_string_equal(out, "<response><data><executeData><v>1</v></executeData></data></response>");
    free(out);
    reg(e, "<namespace name='B'><procedure name='Do' type='read'><transform><executeData><mark/></executeData>"
           "<before source='executeData' destination='data'/></transform></procedure></namespace>");
    out = submit(e, req);
    assert_string_equal(out,
                        "<response><data><executeData><v>1</v><executeData><mark/></executeData></executeData></data></response>");
    free(out);
    assert_int_equal(stats(e).compiles, 1);
    provost_close(e);
}

/* The same procedure text under different prefix declarations on <request> is a
 * different procedure; the same declarations find the one compiled. */
static void test_prefixes(void **state)
{
    (void)state;
    provost_engine *e = fresh();
    reg(e, provider_ns);
    const char *proc = "<procedure><transform><executeData><a:x/></executeData>"
                       "<after source='executeData' destination='data'/></transform></procedure>";
    char req[512];
    snprintf(req, sizeof req, "<request xmlns:a='urn:one'>%s</request>", proc);
    char *one = submit(e, req);
    snprintf(req, sizeof req, "<request xmlns:a='urn:two'>%s</request>", proc);
    char *two = submit(e, req);
    assert_non_null(strstr(one, "urn:one"));
    assert_non_null(strstr(two, "urn:two"));
    assert_int_equal(stats(e).compiles, 2);
    snprintf(req, sizeof req, "<request xmlns:a='urn:one'>%s</request>", proc);
    char *again = submit(e, req);
    assert_string_equal(again, one);
    assert_int_equal(stats(e).compiles, 2);
    free(one);
    free(two);
    free(again);
    provost_close(e);
}

/* More distinct procedures than the cache holds: it stays bounded, and every request
 * still runs its own procedure. */
static void test_bounded(void **state)
{
    (void)state;
    provost_engine *e = fresh();
    reg(e, provider_ns);
    for (int i = 0; i < 600; i++) {
        char req[512], want[64];
        snprintf(req, sizeof req,
                 "<request><procedure><transform><executeData><v>%d</v></executeData>"
                 "<after source='executeData' destination='data'/></transform></procedure></request>",
                 i);
        char *out = submit(e, req);
        snprintf(want, sizeof want, "<v>%d</v>", i);
        assert_non_null(strstr(out, want));
        free(out);
        assert_true(stats(e).entries <= 512);
    }
    assert_int_equal(stats(e).compiles, 600);
    provost_close(e);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dbroot) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dbroot);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_relink),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
