/*
 * test_request_as.c -- one engine running each request for the principal it is given
 * (provost_call_as, provost_submit_as), as the HTTP service does for its tokens' users:
 * rights are decided for that principal (allowed, refused), the audit trail names it, a
 * principal that is not a user is refused even while nothing is enforced, and a keyed
 * request as a principal is exactly-once.
 */
#define _GNU_SOURCE /* asprintf */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provost/audit.h"
#include "provost/provost.h"
#include "provost/rights.h"

static char root[] = "/tmp/provost-reqas-XXXXXX";
static unsigned seq;

static const char NS_T[] = "<namespace name=\"T\" providerSource=\"test\">"
                           "<procedure name=\"Whoami\" type=\"read\" access=\"public\" auditEnabled=\"1\"/>"
                           "<procedure name=\"Echo\" type=\"read\" access=\"public\" auditEnabled=\"1\"/>"
                           "</namespace>";
static const char TRUSTED[] = "<request><procedure><execute namespace=\"T\" procedure=\"Echo\"/>"
                              "</procedure></request>";

static void ok(int rc, const provost_error *err)
{
    if (rc != 0)
        fail_msg("%s", err->message);
}

/* A new database owned by the Unix user: namespace T, users alice and bob, audit of
 * every call; alice may execute T (enforcement on), bob holds nothing. */
static provost_engine *setup_db(int enforce)
{
    char *db;
    if (asprintf(&db, "%s/db%u", root, ++seq) < 0)
        fail();
    provost_options o = {.db_path = db, .sync = PROVOST_SYNC_NONE, .audit_level = PROVOST_AUDIT_FULL};
    provost_engine *e = NULL;
    provost_error err;
    ok(provost_open(&o, &e, &err), &err);
    free(db);
    ok(provost_register(e, "t.xml", NS_T, strlen(NS_T), NULL, &err), &err);
    ok(provost_user_add(e, "alice", NULL, &err), &err);
    ok(provost_user_add(e, "bob", NULL, &err), &err);
    if (enforce)
        ok(provost_grant(e, "alice", PROVOST_RIGHT_EXECUTE, "T", NULL, 0, &err), &err);
    return e;
}

/* The response of T/PROC called as WHO (rc in *rc). */
static char *call_as(provost_engine *e, const char *who, const char *proc, int *rc)
{
    provost_request_opts o = {.principal = who};
    provost_response r;
    provost_error err;
    *rc = provost_call_as(e, &o, "T", proc, NULL, 0, &r, &err);
    assert_non_null(r.xml);
    char *xml = strdup(r.xml);
    provost_response_free(&r);
    return xml;
}

static void expect(char *got, const char *want)
{
    if (!strstr(got, want))
        fail_msg("expected %s\n     in %s", want, got);
    free(got);
}

typedef struct wanted {
    const char *principal, *proc;
    int failed;
    size_t n;
} wanted;

static int count_for(void *ud, const provost_audit_record *r)
{
    wanted *w = ud;
    if (strcmp(r->principal, w->principal) == 0 && strcmp(r->proc, w->proc) == 0 && r->failed == w->failed)
        w->n++;
    return 0;
}

/* How many audit records name PRINCIPAL on PROC with that outcome. */
static size_t audited(provost_engine *e, const char *principal, const char *proc, int failed)
{
    wanted w = {principal, proc, failed, 0};
    provost_audit_filter f = {.outcome = -1};
    provost_error err;
    ok(provost_audit_query(e, &f, count_for, &w, NULL, &err), &err);
    return w.n;
}

static void decided_for_the_principal(void **s)
{
    (void)s;
    provost_engine *e = setup_db(1);
    int rc;
    /* one engine, two principals: alice is allowed, bob refused, each by name */
    expect(call_as(e, "alice", "Whoami", &rc), "<identity>engine</identity>");
    assert_int_equal(rc, 0);
    expect(call_as(e, "bob", "Whoami", &rc),
           "description=\"access denied: principal 'bob' lacks the right execute on procedure T/Whoami\"");
    assert_int_equal(rc, 0); /* it ran, and failed */
    /* names are compared without case, as everywhere */
    expect(call_as(e, "ALICE", "Echo", &rc), "<response><data/></response>");
    /* the audit trail names the principal each ran for, not the engine's */
    assert_int_equal(audited(e, "alice", "Whoami", 0), 1);
    assert_int_equal(audited(e, "bob", "Whoami", 1), 1);
    assert_int_equal(audited(e, provost_principal_name(e), "Whoami", 0), 0);
    /* a trusted request as alice needs trusted, which she lacks */
    provost_request_opts o = {.principal = "alice"};
    provost_response r;
    provost_error err;
    assert_int_equal(provost_submit_as(e, &o, TRUSTED, strlen(TRUSTED), &r, &err), 0);
    assert_int_equal(r.code, PROVOST_E_ACCESSDENIED);
    assert_non_null(strstr(r.xml, "principal 'alice' lacks the right trusted"));
    provost_response_free(&r);
    ok(provost_grant(e, "alice", PROVOST_RIGHT_TRUSTED, NULL, NULL, 0, &err), &err);
    assert_int_equal(provost_submit_as(e, &o, TRUSTED, strlen(TRUSTED), &r, &err), 0);
    assert_int_equal(r.failed, 0);
    provost_response_free(&r);
    /* the engine's own functions still run for the engine's principal, the owner */
    assert_int_equal(provost_call(e, "T", "Whoami", NULL, 0, PROVOST_COMPACT, &r, &err), 0);
    assert_int_equal(r.failed, 0);
    provost_response_free(&r);
    provost_close(e);
}

static void unknown_principal_refused(void **s)
{
    (void)s;
    /* nothing is enforced, yet a name that is not a user is refused */
    provost_engine *e = setup_db(0);
    int rc;
    expect(call_as(e, "bob", "Whoami", &rc), "<identity>engine</identity>");
    expect(call_as(e, "mallory", "Whoami", &rc),
           "code=\"0x80070005\" description=\"access denied: 'mallory' is not a user of this database\"");
    assert_int_equal(audited(e, "mallory", "Whoami", 1), 1);
    provost_request_opts o = {.principal = "mallory"};
    provost_response r;
    provost_error err;
    assert_int_equal(provost_submit_as(e, &o, TRUSTED, strlen(TRUSTED), &r, &err), 0);
    assert_int_equal(r.code, PROVOST_E_ACCESSDENIED);
    provost_response_free(&r);
    provost_close(e);
}

static void keyed_as_principal(void **s)
{
    (void)s;
    provost_engine *e = setup_db(1);
    provost_request_opts o = {.principal = "alice", .key = "k1"};
    provost_response r;
    provost_error err;
    assert_int_equal(provost_call_as(e, &o, "T", "Echo", NULL, 0, &r, &err), 0);
    assert_int_equal(r.failed, 0);
    provost_response_free(&r);
    /* the repeat answers from the recorded outcome: nothing runs */
    assert_int_equal(provost_call_as(e, &o, "T", "Echo", NULL, 0, &r, &err), 1);
    assert_null(r.xml);
    assert_int_equal(r.failed, 0);
    provost_response_free(&r);
    assert_int_equal(audited(e, "alice", "Echo", 0), 1);
    /* a refused keyed request records its failure too */
    o = (provost_request_opts){.principal = "bob", .key = "k2"};
    assert_int_equal(provost_call_as(e, &o, "T", "Echo", NULL, 0, &r, &err), 0);
    assert_int_equal(r.code, PROVOST_E_ACCESSDENIED);
    provost_response_free(&r);
    assert_int_equal(provost_call_as(e, &o, "T", "Echo", NULL, 0, &r, &err), 1);
    assert_int_equal(r.code, PROVOST_E_ACCESSDENIED);
    provost_response_free(&r);
    provost_close(e);
}

static int setup(void **s)
{
    (void)s;
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decided_for_the_principal),
        cmocka_unit_test(unknown_principal_refused),
        cmocka_unit_test(keyed_as_principal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
