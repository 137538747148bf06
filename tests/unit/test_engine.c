/*
 * test_engine.c -- the engine through its public API: the configuration database
 * (register, replace, read-only, unregister, export, reopen), relinking when a callee
 * namespace changes, the fast paths giving the same results as the general ones, and
 * many threads on one engine giving the results of one.
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
#include <unistd.h>

#include "provost/provost.h"

static char dbroot[] = "/tmp/provost-engine-XXXXXX";
static int dbn;

static provost_engine *fresh(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/db%d", dbroot, dbn++);
    provost_options o = {.db_path = path, .caller = "tester", .sync = PROVOST_SYNC_NONE}; /* durability is not what these test */
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

static char *run(provost_engine *e, const char *xml)
{
    provost_response r;
    provost_error err;
    int rc = provost_submit(e, xml, strlen(xml), PROVOST_COMPACT, &r, &err);
    assert_int_equal(rc, 0);
    char *out = strdup(r.xml);
    provost_response_free(&r);
    return out;
}

static const char *const provider_ns =
    "<namespace name='P' providerSource='test'><procedure name='Echo' type='read' access='public'/>"
    "<procedure name='Fail' type='write'/></namespace>";

static void test_registry(void **state)
{
    (void)state;
    provost_engine *e = fresh();
    provost_ns_info info;
    provost_error err;
    assert_int_equal(provost_register(e, "p.xml", provider_ns, strlen(provider_ns), &info, &err), 0);
    assert_int_equal(info.revision, 1);
    assert_int_equal(info.procedures, 2);
    free(info.name);
    free(info.version);
    free(info.provider);
    free(info.description);
    /* replacing bumps the revision */
    assert_int_equal(provost_register(e, "p.xml", provider_ns, strlen(provider_ns), &info, &err), 0);
    assert_int_equal(info.revision, 2);
    free(info.name);
    free(info.provider);
    free(info.version);
    free(info.description);
    /* the Error Provider namespace is there and read-only */
    provost_ns_info *v;
    size_t n;
    assert_int_equal(provost_list(e, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, "Error Provider") == 0) {
            found = 1;
            assert_true(v[i].read_only);
        }
    assert_true(found);
    provost_ns_info_free(v, n);
    assert_int_not_equal(provost_unregister(e, "error provider", &err), 0);
    assert_int_equal(err.code, PROVOST_E_READONLY);
    const char *fake = "<namespace name='Error Provider' providerSource='test'><procedure name='X' type='read'/></namespace>";
    assert_int_not_equal(provost_register(e, "x.xml", fake, strlen(fake), NULL, &err), 0);
    assert_int_equal(err.code, PROVOST_E_READONLY);
    /* export gives back the original text */
    char *xml;
    size_t len;
    assert_int_equal(provost_export(e, "p", &xml, &len, &err), 0);
    assert_string_equal(xml, provider_ns);
    free(xml);
    /* procedures */
    provost_proc_info *pv;
    assert_int_equal(provost_list_procedures(e, "P", &pv, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(pv[0].name, "Echo");
    assert_int_equal(pv[0].access, 1);
    provost_proc_info_free(pv, n);
    /* a bad namespace is refused with its location, and nothing changes */
    const char *bad = "<namespace name='P' providerSource='test'><procedure name='A' type='sometimes'/></namespace>";
    assert_int_not_equal(provost_register(e, "bad.xml", bad, strlen(bad), NULL, &err), 0);
    assert_int_equal(err.code, PROVOST_E_INVALIDARG);
    assert_non_null(strstr(err.message, "bad.xml:1:"));
    assert_int_equal(provost_list_procedures(e, "P", &pv, &n, &err), 0);
    assert_int_equal(n, 2);
    provost_proc_info_free(pv, n);
    /* unregister */
    assert_int_equal(provost_unregister(e, "P", &err), 0);
    assert_int_not_equal(provost_unregister(e, "P", &err), 0);
    assert_int_equal(err.code, PROVOST_E_NOTFOUND);
    provost_close(e);
}

static void test_reopen(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/reopen", dbroot);
    provost_options o = {.db_path = path};
    provost_engine *e;
    provost_error err;
    assert_int_equal(provost_open(&o, &e, &err), 0);
    reg(e, provider_ns);
    reg(e, provider_ns);
    provost_close(e);
    assert_int_equal(provost_open(&o, &e, &err), 0);
    provost_ns_info *v;
    size_t n;
    assert_int_equal(provost_list(e, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, "P") == 0)
            assert_int_equal(v[i].revision, 2);
    provost_ns_info_free(v, n);
    provost_close(e);
}

/* A calls B; B is replaced, then removed: A follows without being registered again. */
static void test_relink(void **state)
{
    (void)state;
    provost_engine *e = fresh();
    reg(e, "<namespace name='B' providerSource='test'><procedure name='Do' type='read'/></namespace>");
    reg(e, "<namespace name='A'><procedure name='Go' type='read' access='public'>"
           "<execute namespace='B' procedure='Do'><executeData><v>1</v></executeData>"
           "<after source='executeData' destination='data'/></execute></procedure></namespace>");
    provost_response r;
    provost_error err;
    assert_int_equal(provost_call(e, "A", "Go", NULL, 0, 0, &r, &err), 0);
    assert_false(r.failed);
    assert_string_equal(r.xml, "<response><data><executeData><v>1</v></executeData></data></response>");
    provost_response_free(&r);
    /* B/Do becomes a namespace procedure that adds a mark */
    reg(e, "<namespace name='B'><procedure name='Do' type='read'><transform><executeData><mark/></executeData>"
           "<before source='executeData' destination='data'/></transform></procedure></namespace>");
    assert_int_equal(provost_call(e, "A", "Go", NULL, 0, 0, &r, &err), 0);
    assert_false(r.failed);
    assert_string_equal(r.xml,
                        "<response><data><executeData><v>1</v><executeData><mark/></executeData></executeData></data></response>");
    provost_response_free(&r);
    assert_int_equal(provost_unregister(e, "B", &err), 0);
    assert_int_equal(provost_call(e, "A", "Go", NULL, 0, 0, &r, &err), 0);
    assert_true(r.failed);
    assert_int_equal(r.code, PROVOST_E_NOTFOUND);
    provost_response_free(&r);
    provost_close(e);
}

/* The same transforms through the native path walker and plain DOM copies, and through
 * libxml2's XPath and an identity stylesheet, give the same responses. */
static void test_fast_paths(void **state)
{
    (void)state;
    provost_engine *e = fresh();
    reg(e, provider_ns);
    static const char *const data =
        "<data><org name='a' type='p'><user n='1'/><user n='2'/></org><org name='b' type='s'><user n='3'/></org>"
        "<org name='c' type='p'/><x>text<y z='1'/></x></data>";
    static const struct {
        const char *simple, *general;
    } paths[] = {
        {"org", "child::org"},
        {"org/user", "child::org/child::user"},
        {"org[@type='p']", "org[@type = 'p']"},
        {"org[@type='p']/user", "org[@type = 'p']/child::user"},
        {"x/y", "./x/y"},
        {"x/y/@z", "./x/y/@z"},
        {"org/@name", "child::org/attribute::name"},
        {"nothing", "./nothing"},
    };
    static const char *const modes[] = {"insert", "merge", "replace"};
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++)
        for (size_t m = 0; m < 3; m++) {
            char req[4096], *out[2];
            for (int g = 0; g < 2; g++) {
                const char *path = g ? paths[p].general : paths[p].simple;
                snprintf(req, sizeof req,
                         "<request>%s<procedure><execute namespace='P' procedure='Echo'>"
                         "<before source='data' sourcePath=\"%s\" destination='executeData' ifNull='ignore' allowNullTransform='1'/>"
                         "<after source='executeData' destination='data' destinationPath='out' mode='%s'/>"
                         "</execute><execute namespace='P' procedure='Echo'>"
                         "<when source='data' sourcePath=\"%s\"/><executeData><seen/></executeData>"
                         "<after source='executeData' destination='data'/></execute></procedure></request>",
                         data, path, modes[m], path);
                out[g] = run(e, req);
            }
            if (strcmp(out[0], out[1]) != 0)
                fprintf(stderr, "path %s / %s mode %s:\n  %s\n  %s\n", paths[p].simple, paths[p].general, modes[m],
                        out[0], out[1]);
            assert_string_equal(out[0], out[1]);
            free(out[0]);
            free(out[1]);
        }
    /* a plain copy and an identity stylesheet */
    for (size_t m = 0; m < 3; m++) {
        char req[4096], *out[2];
        for (int g = 0; g < 2; g++) {
            snprintf(req, sizeof req,
                     "<request xmlns:xsl='http://www.w3.org/1999/XSL/Transform'>%s<procedure><transform>"
                     "<before source='data' sourcePath='org' destination='data' destinationPath='copy' mode='%s'>%s</before>"
                     "</transform></procedure></request>",
                     data, modes[m],
                     g ? "<xsl:template match='@*|node()'><xsl:copy><xsl:apply-templates select='@*|node()'/></xsl:copy></xsl:template>"
                       : "");
            out[g] = run(e, req);
        }
        assert_string_equal(out[0], out[1]);
        free(out[0]);
        free(out[1]);
    }
    provost_close(e);
}

/* ---- threads ---------------------------------------------------------------------- */

#define THREADS 8
#define PER_THREAD 1000

typedef struct job {
    provost_engine *e;
    int first;
    char **out;
} job;

static char *request_for(int i)
{
    char *req = malloc(2048);
    snprintf(req, 2048,
             "<request xmlns:xsl='http://www.w3.org/1999/XSL/Transform'><data><n>%d</n><items><i>%d</i><i>%d</i></items></data>"
             "<procedure><execute namespace='M' procedure='Work'><before source='data' destination='executeData' mode='merge'/>"
             "<after source='executeData' destination='data' mode='replace'/></execute>%s</procedure></request>",
             i, i % 7, i % 5,
             i % 10 == 9 ? "<execute namespace='P' procedure='Fail'><executeData><code>0x80070005</code></executeData></execute>" : "");
    return req;
}

static void *worker(void *arg)
{
    job *j = arg;
    for (int k = 0; k < PER_THREAD; k++) {
        int i = j->first + k;
        char *req = request_for(i);
        provost_response r;
        provost_error err;
        if (provost_submit(j->e, req, strlen(req), 0, &r, &err) == 0) {
            /* transaction ids differ per request: keep what does not */
            char *id = strstr(r.xml, "{");
            if (id)
                memset(id, 'X', 38 < strlen(id) ? 38 : strlen(id));
            j->out[i] = strdup(r.xml);
        }
        provost_response_free(&r);
        free(req);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    provost_engine *e = fresh();
    reg(e, provider_ns);
    reg(e, "<namespace name='M' providerSource='test' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'>"
           "<procedure name='Echo' type='write'/>"
           "<procedure name='Work' type='write'><execute namespace='M' procedure='Echo'>"
           "<forEach name='it' root='data' path='items/i'/>"
           "<before source='it' destination='executeData'><xsl:template match='i'><sq><xsl:value-of select='. * .'/></sq></xsl:template></before>"
           "<after source='executeData' destination='data' destinationPath='squares'/></execute></procedure></namespace>");
    int total = THREADS * PER_THREAD;
    char **single = calloc((size_t)total, sizeof *single), **multi = calloc((size_t)total, sizeof *multi);
    job one = {.e = e, .first = 0, .out = single};
    for (int t = 0; t < THREADS; t++) {
        one.first = t * PER_THREAD;
        worker(&one);
    }
    pthread_t th[THREADS];
    job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (job){.e = e, .first = t * PER_THREAD, .out = multi};
        assert_int_equal(pthread_create(&th[t], NULL, worker, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    int failures = 0;
    for (int i = 0; i < total; i++) {
        assert_non_null(single[i]);
        assert_non_null(multi[i]);
        assert_string_equal(single[i], multi[i]);
        failures += strstr(single[i], "errorContext") != NULL;
        free(single[i]);
        free(multi[i]);
    }
    assert_int_equal(failures, total / 10);
    free(single);
    free(multi);
    /* the counters saw every call of every thread */
    provost_proc_stats *v;
    size_t n;
    provost_error err;
    assert_int_equal(provost_stats(e, &v, &n, &err), 0);
    uint64_t work = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].ns, "M") == 0 && strcmp(v[i].proc, "Work") == 0) {
            work = v[i].count;
            assert_int_equal(v[i].executing, 0);
            assert_true(v[i].p50 <= v[i].p99 && v[i].p99 <= v[i].max);
        }
    provost_stats_free(v, n);
    assert_int_equal(work, 2 * (uint64_t)total);
    provost_close(e);
}

/* A keyed request runs once: the second submission reports the recorded outcome. */
static void test_keyed(void **state)
{
    (void)state;
    provost_engine *e = fresh();
    reg(e, provider_ns);
    const char *ok = "<request><procedure><execute namespace='P' procedure='Echo'/></procedure></request>";
    const char *bad = "<request><procedure><execute namespace='P' procedure='Fail'/></procedure></request>";
    provost_response r;
    provost_error err;
    char *o = NULL;
    assert_int_equal(provost_outcome(e, "job:1", &o), 0);
    assert_int_equal(provost_submit_keyed(e, "job:1", ok, strlen(ok), 0, &r, &err), 0);
    assert_false(r.failed);
    assert_non_null(r.xml);
    provost_response_free(&r);
    assert_int_equal(provost_outcome(e, "job:1", &o), 1);
    assert_memory_equal(o, "committed 0x00000000 {", 22);
    free(o);
    assert_int_equal(provost_submit_keyed(e, "job:1", ok, strlen(ok), 0, &r, &err), 1);
    assert_null(r.xml);
    assert_false(r.failed);
    assert_int_equal(provost_submit_keyed(e, "job:2", bad, strlen(bad), 0, &r, &err), 0);
    assert_true(r.failed);
    provost_response_free(&r);
    assert_int_equal(provost_submit_keyed(e, "job:2", bad, strlen(bad), 0, &r, &err), 1);
    assert_true(r.failed);
    assert_int_equal(r.code, 0x80004005u);
    assert_int_equal(provost_call_keyed(e, "job:3", "P", "Echo", NULL, 0, 0, &r, &err), 0);
    provost_response_free(&r);
    assert_int_equal(provost_call_keyed(e, "job:3", "P", "Echo", NULL, 0, 0, &r, &err), 1);
    provost_close(e);
}

/* Schema validation (MPF's "Enable Schema Validation"): executeData is checked against a
 * procedure's XSD input schema before the call, its output schema after; off by default. */
static void test_schema_validation(void **state)
{
    (void)state;
    const char *ns =
        "<namespace name='V' providerSource='test'>"
        "<procedure name='Get' type='read'><Schema name='inputSchema'>"
        "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><xs:element name='executeData'><xs:complexType>"
        "<xs:sequence><xs:element name='path' type='xs:string'/></xs:sequence></xs:complexType></xs:element>"
        "</xs:schema></Schema><Schema name='outputSchema'>"
        "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><xs:element name='executeData'><xs:complexType>"
        "<xs:sequence><xs:element name='path' type='xs:string'/><xs:element name='extra' minOccurs='0'/>"
        "</xs:sequence></xs:complexType></xs:element></xs:schema></Schema></procedure></namespace>";
    const char *good = "<request><procedure><execute namespace='V' procedure='Get'><executeData><path>p</path>"
                       "</executeData></execute></procedure></request>";
    const char *bad = "<request><procedure><execute namespace='V' procedure='Get'><executeData><nopath/>"
                      "</executeData></execute></procedure></request>";
    for (int on = 0; on < 2; on++) {
        char path[256];
        snprintf(path, sizeof path, "%s/validate%d", dbroot, on);
        provost_options o = {.db_path = path, .sync = PROVOST_SYNC_NONE, .validate = on};
        provost_engine *e;
        provost_error err;
        assert_int_equal(provost_open(&o, &e, &err), 0);
        reg(e, ns);
        provost_response r;
        assert_int_equal(provost_submit(e, good, strlen(good), 0, &r, &err), 0);
        assert_false(r.failed);
        provost_response_free(&r);
        assert_int_equal(provost_submit(e, bad, strlen(bad), 0, &r, &err), 0);
        if (on) {
            assert_true(r.failed);
            assert_int_equal(r.code, PROVOST_E_SCHEMA);
            assert_non_null(strstr(r.xml, "input schema of V/Get"));
            assert_non_null(strstr(r.xml, "<errorSource namespace=\"V\" procedure=\"Get\"/>"));
        } else {
            assert_false(r.failed);
        }
        provost_response_free(&r);
        provost_close(e);
    }
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
        cmocka_unit_test(test_registry), cmocka_unit_test(test_reopen), cmocka_unit_test(test_relink),
        cmocka_unit_test(test_fast_paths), cmocka_unit_test(test_threads), cmocka_unit_test(test_keyed), cmocka_unit_test(test_schema_validation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
