/*
 * test_limits.c -- resource limits of a request (SPEC §7): they end it, and a catch
 * cannot keep it going.
 *
 *  - calls nesting past 64 fail with 0x800703E9, which no catch handles: a try around a
 *    recursion that runs out fails the request, and try{call self} catch{call self}
 *    ends instead of making calls without end;
 *  - the engine's step budget ends a request that runs too many instructions with
 *    PROVOST_E_BUDGET, which no catch handles either, rolls it back, and leaves the
 *    engine serving the next request; a request within the budget is not affected;
 *  - names are never cut short: a namespace or procedure name longer than
 *    PROVOST_MAX_NAME is refused when compiled (two names differing past character 511
 *    once shared one database key), and names of exactly that length that differ only
 *    in their last character are two namespaces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/compiler.h"
#include "provost/bytecode.h"
#include "provost/provost.h"

static const char ns_xml[] =
    "<namespace name='L' providerSource='test'>"
    "<procedure name='Echo' type='read'/>"
    "<procedure name='Deep' type='write'><execute namespace='L' procedure='Deep'/></procedure>"
    "<procedure name='Guarded' type='write' access='public'>"
    "<try><execute namespace='L' procedure='Deep'/></try>"
    "<catch><execute namespace='L' procedure='Echo'/></catch></procedure>"
    "<procedure name='Self' type='write' access='public'>"
    "<try><execute namespace='L' procedure='Self'/></try>"
    "<catch><execute namespace='L' procedure='Self'/></catch></procedure>"
    "<procedure name='Spin' type='write' access='public'>"
    "<transform><repeat source='data' sourcePath='n'/></transform></procedure>"
    "<procedure name='GuardedSpin' type='write' access='public'>"
    "<try><transform><repeat source='data' sourcePath='n'/></transform></try>"
    "<catch><execute namespace='L' procedure='Echo'/></catch></procedure>"
    "</namespace>";

typedef struct fixture {
    char dir[64];
    provost_engine *e;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/provost-limits-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    provost_options o = {.db_path = f->dir, .sync = PROVOST_SYNC_NONE, .caller = "tester", .step_budget = 1000};
    provost_error err;
    if (provost_open(&o, &f->e, &err) != 0 || provost_register(f->e, "l.xml", ns_xml, sizeof ns_xml - 1, NULL, &err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    provost_close(f->e);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static uint32_t call(fixture *f, const char *proc, const char *data)
{
    provost_response r;
    provost_error err;
    if (provost_call(f->e, "L", proc, data, data ? strlen(data) : 0, PROVOST_COMPACT, &r, &err) != 0)
        fail_msg("%s could not run: %s", proc, err.message);
    uint32_t code = r.failed ? r.code : 0;
    if (r.failed && !code)
        fail_msg("%s failed without a code", proc);
    provost_response_free(&r);
    return code;
}

static void test_depth_not_catchable(void **state)
{
    fixture *f = *state;
    /* the catch must not handle running out of call depth */
    assert_int_equal(call(f, "Guarded", NULL), PROVOST_E_DEPTH);
    /* so each level's catch cannot start the recursion again: this ends */
    assert_int_equal(call(f, "Self", NULL), PROVOST_E_DEPTH);
}

static void test_step_budget(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, "Spin", "<data><n>10</n></data>"), 0);
    assert_int_equal(call(f, "Spin", "<data><n>1000000</n></data>"), PROVOST_E_BUDGET);
    assert_int_equal(call(f, "GuardedSpin", "<data><n>1000000</n></data>"), PROVOST_E_BUDGET);
    /* the budget is per request: the engine goes on serving */
    assert_int_equal(call(f, "Spin", "<data><n>10</n></data>"), 0);
}

/* A namespace whose name is len characters, all 'n' but the last, which is last. */
static char *long_ns(size_t len, char last, const char *procname)
{
    char *name = malloc(len + 1);
    assert_non_null(name);
    memset(name, 'n', len);
    name[len - 1] = last;
    name[len] = 0;
    size_t cap = len + strlen(procname) + 200;
    char *xml = malloc(cap);
    assert_non_null(xml);
    snprintf(xml, cap, "<namespace name='%s' providerSource='test'><procedure name='%s' type='read'/></namespace>",
             name, procname);
    free(name);
    return xml;
}

static int register_xml(fixture *f, const char *xml, uint64_t *revision, provost_error *err)
{
    provost_ns_info info;
    int rc = provost_register(f->e, "long.xml", xml, strlen(xml), &info, err);
    if (rc == 0) {
        *revision = info.revision;
        free(info.name);
        free(info.version);
        free(info.provider);
        free(info.description);
    }
    return rc;
}

static void test_long_names(void **state)
{
    fixture *f = *state;
    provost_error err;
    uint64_t rev = 0;
    /* past the limit: refused, whatever follows */
    char *a = long_ns(600, 'a', "P"), *b = long_ns(600, 'b', "P");
    if (register_xml(f, a, &rev, &err) == 0)
        fail_msg("a namespace name of 600 characters was registered");
    assert_int_equal(err.code, PROVOST_E_INVALIDARG);
    if (!strstr(err.message, "at most"))
        fail_msg("the refusal does not give the limit: %s", err.message);
    assert_int_not_equal(register_xml(f, b, &rev, &err), 0);
    free(a);
    free(b);
    /* at the limit: two names, two namespaces */
    a = long_ns(PROVOST_MAX_NAME, 'a', "P");
    b = long_ns(PROVOST_MAX_NAME, 'b', "P");
    if (register_xml(f, a, &rev, &err) != 0)
        fail_msg("a name of %d characters was refused: %s", PROVOST_MAX_NAME, err.message);
    assert_int_equal(rev, 1);
    assert_int_equal(register_xml(f, b, &rev, &err), 0);
    assert_int_equal(rev, 1);
    provost_ns_info *list;
    size_t n, longs = 0;
    assert_int_equal(provost_list(f->e, &list, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        longs += strlen(list[i].name) == PROVOST_MAX_NAME;
    provost_ns_info_free(list, n);
    assert_int_equal(longs, 2);
    free(a);
    free(b);
    /* a procedure name past the limit is a compile error */
    char *procname = malloc(PROVOST_MAX_NAME + 2);
    assert_non_null(procname);
    memset(procname, 'p', PROVOST_MAX_NAME + 1);
    procname[PROVOST_MAX_NAME + 1] = 0;
    a = long_ns(10, 'a', procname);
    provost_compiled c;
    assert_int_not_equal(provost_compile("p.xml", a, strlen(a), &c), 0);
    assert_int_equal(c.nerrors, 1);
    provost_compiled_free(&c);
    free(a);
    free(procname);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_depth_not_catchable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
