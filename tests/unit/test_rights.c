/*
 * test_rights.c -- principals and rights (SPEC §8) through the public API: the nine rows
 * of the impersonation truth table (mpf-schema.md §6.2) observed through the test
 * provider's Whoami, deny beating allow, inheritance, private procedures through simple
 * and trusted requests, the trusted and callerCredentials rights, admin and acting as
 * another principal, and a database without rights enforcing nothing.
 */
#define _GNU_SOURCE /* asprintf */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "provost/provost.h"
#include "provost/rights.h"

static char root[] = "/tmp/provost-rights-XXXXXX";
static unsigned seq;

/* An engine on a new database, for CALLER (NULL: the Unix user, who owns it). */
static provost_engine *open_as(const char *db, const char *caller, const char *act_as, provost_error *err)
{
    provost_options o = {.db_path = db, .sync = PROVOST_SYNC_NONE, .caller = caller, .act_as = act_as};
    provost_engine *e = NULL;
    return provost_open(&o, &e, err) == 0 ? e : NULL;
}

static char *new_db(void)
{
    char *db;
    if (asprintf(&db, "%s/db%u", root, ++seq) < 0)
        fail();
    return db;
}

static provost_engine *must_open(const char *db, const char *caller, const char *act_as)
{
    provost_error err;
    provost_engine *e = open_as(db, caller, act_as, &err);
    if (!e)
        fail_msg("open %s: %s", db, err.message);
    return e;
}

static void ok(int rc, const provost_error *err)
{
    if (rc != 0)
        fail_msg("%s", err->message);
}

static void reg(provost_engine *e, const char *xml)
{
    provost_error err;
    ok(provost_register(e, "test.xml", xml, strlen(xml), NULL, &err), &err);
}

/* The response of a simple request (trusted 0) or of a trusted request (trusted 1). */
static char *run(provost_engine *e, int trusted, const char *ns, const char *proc, const char *data)
{
    provost_response r;
    provost_error err;
    int rc = trusted ? provost_submit(e, data, strlen(data), PROVOST_COMPACT, &r, &err)
                     : provost_call(e, ns, proc, data, data ? strlen(data) : 0, PROVOST_COMPACT, &r, &err);
    if (rc != 0 && !r.xml)
        fail_msg("did not run: %s", err.message);
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

#define DENIED "code=\"0x80070005\""

/* ---- the truth table ------------------------------------------------------------------ */

/* Procedure1 calls Procedure2 with impersonate X (NULL: absent), Procedure2 calls Whoami
 * with impersonate Y; the request carries basic credentials for alice when BASIC; the
 * "execute as" credential svc (user svcuser) is set on Procedure2 when EXEC_AS. */
static void row(const char *x, int basic, int exec_as, const char *y, const char *want)
{
    char *db = new_db();
    provost_engine *e = must_open(db, "tester", NULL);
    char *ns1;
    if (asprintf(&ns1,
                 "<namespace name=\"Namespace1\">"
                 "<procedure name=\"Procedure1\" type=\"read\" access=\"public\">"
                 "<execute namespace=\"Namespace1\" procedure=\"Procedure2\"%s%s%s>"
                 "<after source=\"executeData\" destination=\"data\"/></execute></procedure>"
                 "<procedure name=\"Procedure2\" type=\"read\">"
                 "<execute namespace=\"Namespace2\" procedure=\"Whoami\" impersonate=\"%s\">"
                 "<after source=\"executeData\" destination=\"data\"/></execute></procedure>"
                 "</namespace>",
                 x ? " impersonate=\"" : "", x ? x : "", x ? "\"" : "", y) < 0)
        fail();
    reg(e, "<namespace name=\"Namespace2\" providerSource=\"test\">"
           "<procedure name=\"Whoami\" type=\"read\"/></namespace>");
    reg(e, ns1);
    free(ns1);
    provost_error err;
    if (exec_as) {
        ok(provost_credential_set(e, "svc", "svcuser", "s3cret", &err), &err);
        ok(provost_acl_execute_as(e, "Namespace1", "Procedure2", "svc", &err), &err);
    }
    const char *data = basic ? "<request><data/><context><securityContext><authentication>"
                               "<basic username=\"alice\" password=\"pw\"/></authentication>"
                               "</securityContext></context></request>"
                             : NULL;
    char *got = run(e, 0, "Namespace1", "Procedure1", data);
    char *identity;
    if (asprintf(&identity, "<identity>%s</identity>", want) < 0)
        fail();
    expect(got, identity);
    free(identity);
    provost_close(e);
    free(db);
}

static void row1_x0_y0_engine(void **s) { (void)s; row("0", 1, 1, "0", "engine"); }
static void row2_x1_basic_user(void **s) { (void)s; row("1", 1, 0, "0", "alice"); }
static void row3_x1_calling_user(void **s) { (void)s; row("1", 0, 0, "0", "tester"); }
static void row4_x2_engine(void **s) { (void)s; row("2", 1, 1, "0", "engine"); }
static void row5_y1_basic_user(void **s) { (void)s; row(NULL, 1, 0, "1", "alice"); }
static void row6_y1_calling_user(void **s) { (void)s; row(NULL, 0, 0, "1", "tester"); }
static void row7_y2_engine(void **s) { (void)s; row(NULL, 1, 1, "2", "engine"); }
static void row8_x1_execute_as(void **s) { (void)s; row("1", 1, 1, "0", "svcuser"); }
static void row9_y1_execute_as(void **s) { (void)s; row(NULL, 1, 1, "1", "svcuser"); }

/* The provider running as an "execute as" credential is told its name, and its secret
 * opens; removing the setting ends it. */
static void execute_as_credential(void **s)
{
    (void)s;
    char *db = new_db();
    provost_engine *e = must_open(db, "tester", NULL);
    reg(e, "<namespace name=\"T\" providerSource=\"test\"><procedure name=\"Whoami\" type=\"read\"/></namespace>");
    reg(e, "<namespace name=\"N\"><procedure name=\"P\" type=\"read\" access=\"public\">"
           "<execute namespace=\"T\" procedure=\"Whoami\" impersonate=\"1\">"
           "<after source=\"executeData\" destination=\"data\"/></execute></procedure></namespace>");
    provost_error err;
    ok(provost_credential_set(e, "svc", "svcuser", "s3cret", &err), &err);
    assert_int_not_equal(provost_acl_execute_as(e, "N", "P", "nosuch", &err), 0);
    assert_int_equal(err.code, PROVOST_E_NOTFOUND);
    ok(provost_acl_execute_as(e, "n", "p", "svc", &err), &err); /* names without case */
    expect(run(e, 0, "N", "P", NULL), "<identity>svcuser</identity><credential>svc</credential>");
    ok(provost_acl_execute_as(e, "N", "P", NULL, &err), &err);
    expect(run(e, 0, "N", "P", NULL), "<executeData><identity>tester</identity></executeData>");
    provost_close(e);
    free(db);
}

/* ---- rights --------------------------------------------------------------------------- */

static const char NS_T[] = "<namespace name=\"T\" providerSource=\"test\">"
                           "<procedure name=\"Whoami\" type=\"read\" access=\"public\"/>"
                           "<procedure name=\"Echo\" type=\"read\" access=\"public\"/>"
                           "<procedure name=\"Hidden\" type=\"read\"/>"
                           "<procedure name=\"Front\" type=\"read\" access=\"public\">"
                           "<execute namespace=\"T\" procedure=\"Hidden\"/></procedure>"
                           "</namespace>";
static const char NS_U[] = "<namespace name=\"U\"><procedure name=\"Across\" type=\"read\" access=\"public\">"
                           "<execute namespace=\"T\" procedure=\"Hidden\"/></procedure></namespace>";

/* A database owned by the test's user with T and U registered, alice in group ops. */
static provost_engine *setup_db(char **db)
{
    *db = new_db();
    provost_engine *e = must_open(*db, NULL, NULL);
    reg(e, NS_T);
    reg(e, NS_U);
    provost_error err;
    ok(provost_group_add(e, "ops", &err), &err);
    ok(provost_user_add(e, "alice", "ops", &err), &err);
    ok(provost_user_add(e, "bob", NULL, &err), &err);
    return e;
}

static void grant(provost_engine *e, const char *who, int right, const char *ns, const char *proc, int deny)
{
    provost_error err;
    ok(provost_grant(e, who, right, ns, proc, deny, &err), &err);
}

static void nothing_enforced(void **s)
{
    (void)s;
    char *db;
    provost_engine *e = setup_db(&db);
    provost_close(e);
    /* users and groups alone enforce nothing: a stranger may call and register */
    e = must_open(db, "stranger", NULL);
    expect(run(e, 0, "T", "Echo", NULL), "<response><data/></response>");
    expect(run(e, 1, NULL, NULL, "<request><procedure><execute namespace=\"T\" procedure=\"Hidden\"/>"
                                 "</procedure></request>"),
           "<response><data/></response>");
    assert_int_equal(provost_is_admin(e), 1);
    reg(e, NS_U);
    provost_close(e);
    free(db);
}

static void deny_beats_allow(void **s)
{
    (void)s;
    char *db;
    provost_engine *e = setup_db(&db);
    grant(e, "alice", PROVOST_RIGHT_EXECUTE, "T", NULL, 0);
    grant(e, "ops", PROVOST_RIGHT_EXECUTE, "T", "Echo", 1);
    grant(e, "alice", PROVOST_RIGHT_EXECUTE, "T", "Echo", 0);
    provost_close(e);
    e = must_open(db, "alice", NULL);
    expect(run(e, 0, "T", "Whoami", NULL), "<identity>engine</identity>");
    /* a deny to her group beats her own allow on the procedure */
    expect(run(e, 0, "T", "Echo", NULL),
           "description=\"access denied: principal 'alice' is denied the right execute on procedure T/Echo\"");
    provost_close(e);
    /* bob holds nothing */
    e = must_open(db, "bob", NULL);
    expect(run(e, 0, "T", "Whoami", NULL),
           "description=\"access denied: principal 'bob' lacks the right execute on procedure T/Whoami\"");
    provost_close(e);
    /* a deny on the namespace beats an allow on a procedure that inherits... */
    e = must_open(db, NULL, NULL);
    provost_error err;
    ok(provost_revoke(e, "ops", PROVOST_RIGHT_EXECUTE, "T", "Echo", &err), &err);
    assert_int_not_equal(provost_revoke(e, "ops", PROVOST_RIGHT_EXECUTE, "T", "Echo", &err), 0);
    assert_int_equal(err.code, PROVOST_E_NOTFOUND);
    grant(e, "bob", PROVOST_RIGHT_EXECUTE, NULL, NULL, 1);
    grant(e, "bob", PROVOST_RIGHT_EXECUTE, "T", "Echo", 0);
    provost_close(e);
    e = must_open(db, "bob", NULL);
    expect(run(e, 0, "T", "Echo", NULL), DENIED);
    provost_close(e);
    /* ...and not one set not to inherit: only its own entries apply */
    e = must_open(db, NULL, NULL);
    ok(provost_acl_inherit(e, "T", "Echo", 0, &err), &err);
    provost_close(e);
    e = must_open(db, "bob", NULL);
    expect(run(e, 0, "T", "Echo", NULL), "<response><data/></response>");
    provost_close(e);
    e = must_open(db, "alice", NULL);
    expect(run(e, 0, "T", "Echo", NULL), "<response><data/></response>"); /* her own entry on Echo */
    provost_close(e);
    free(db);
}

static void private_procedures(void **s)
{
    (void)s;
    char *db;
    provost_engine *e = setup_db(&db);
    grant(e, "alice", PROVOST_RIGHT_EXECUTE, NULL, NULL, 0);
    grant(e, "alice", PROVOST_RIGHT_TRUSTED, NULL, NULL, 0);
    grant(e, "bob", PROVOST_RIGHT_EXECUTE, "U", NULL, 0);
    provost_close(e);
    const char *direct = "<request><procedure><execute namespace=\"T\" procedure=\"Hidden\"/></procedure></request>";
    e = must_open(db, "alice", NULL);
    /* a simple request never names a private procedure */
    expect(run(e, 0, "T", "Hidden", NULL), DENIED);
    /* from a procedure of its namespace, or of another, execute is enough */
    expect(run(e, 0, "T", "Front", NULL), "<response><data/></response>");
    expect(run(e, 0, "U", "Across", NULL), "<response><data/></response>");
    /* called directly by a trusted request: executePrivate */
    expect(run(e, 1, NULL, NULL, direct),
           "description=\"access denied: principal 'alice' lacks the right executePrivate on procedure T/Hidden\"");
    /* queueing the call needs the same */
    expect(run(e, 1, NULL, NULL, "<request><procedure><queue namespace=\"T\" procedure=\"Hidden\"/></procedure></request>"),
           "lacks the right executePrivate on procedure T/Hidden");
    provost_close(e);
    e = must_open(db, NULL, NULL);
    grant(e, "ops", PROVOST_RIGHT_EXECUTE_PRIVATE, "T", NULL, 0);
    provost_close(e);
    e = must_open(db, "alice", NULL);
    expect(run(e, 1, NULL, NULL, direct), "<response><data/></response>");
    expect(run(e, 1, NULL, NULL, "<request><procedure><queue namespace=\"T\" procedure=\"Hidden\"/></procedure></request>"),
           "<response><data/></response>");
    provost_close(e);
    /* bob may execute U: its call into T needs execute on T too */
    e = must_open(db, "bob", NULL);
    expect(run(e, 0, "U", "Across", NULL),
           "description=\"access denied: principal 'bob' lacks the right execute on procedure T/Hidden\"");
    provost_close(e);
    free(db);
}

static void trusted_and_caller_credentials(void **s)
{
    (void)s;
    char *db;
    provost_engine *e = setup_db(&db);
    grant(e, "bob", PROVOST_RIGHT_EXECUTE, "T", NULL, 0);
    provost_close(e);
    e = must_open(db, "bob", NULL);
    expect(run(e, 1, NULL, NULL, "<request><procedure><execute namespace=\"T\" procedure=\"Echo\"/></procedure></request>"),
           "description=\"access denied: principal 'bob' lacks the right trusted\"");
    const char *basic = "<request><data/><context><securityContext impersonate=\"1\"><authentication>"
                        "<basic username=\"carol\" password=\"pw\"/></authentication></securityContext></context>"
                        "</request>";
    expect(run(e, 0, "T", "Whoami", basic), "lacks the right callerCredentials");
    expect(run(e, 0, "T", "Whoami", "<data/>"), "<identity>engine</identity>");
    provost_close(e);
    e = must_open(db, NULL, NULL);
    grant(e, "bob", PROVOST_RIGHT_TRUSTED, NULL, NULL, 0);
    grant(e, "bob", PROVOST_RIGHT_CALLER_CREDENTIALS, NULL, NULL, 0);
    provost_close(e);
    e = must_open(db, "bob", NULL);
    expect(run(e, 1, NULL, NULL, "<request><procedure><execute namespace=\"T\" procedure=\"Echo\"/></procedure></request>"),
           "<response><data/></response>");
    expect(run(e, 0, "T", "Whoami", basic), "<identity>carol</identity>");
    provost_close(e);
    free(db);
}

static void admin_and_act_as(void **s)
{
    (void)s;
    char *db;
    provost_engine *e = setup_db(&db);
    grant(e, "alice", PROVOST_RIGHT_EXECUTE, "T", NULL, 0);
    assert_int_equal(provost_is_admin(e), 1); /* the owner */
    provost_close(e);
    provost_error err;
    /* not an administrator: nothing changes, no acting as another */
    e = must_open(db, "bob", NULL);
    assert_int_equal(provost_is_admin(e), 0);
    assert_int_not_equal(provost_register(e, "t.xml", NS_U, strlen(NS_U), NULL, &err), 0);
    assert_int_equal(err.code, PROVOST_E_ACCESSDENIED);
    assert_int_not_equal(provost_user_add(e, "eve", NULL, &err), 0);
    assert_int_equal(err.code, PROVOST_E_ACCESSDENIED);
    assert_int_not_equal(provost_grant(e, "bob", PROVOST_RIGHT_ADMIN, NULL, NULL, 0, &err), 0);
    assert_int_not_equal(provost_credential_set(e, "c", "u", "pw", &err), 0);
    assert_int_equal(err.code, PROVOST_E_ACCESSDENIED);
    assert_int_not_equal(provost_act_as(e, "alice", &err), 0);
    assert_int_equal(err.code, PROVOST_E_ACCESSDENIED);
    assert_non_null(strstr(err.message, "'bob'"));
    provost_close(e);
    assert_null(open_as(db, "bob", "alice", &err));
    assert_int_equal(err.code, PROVOST_E_ACCESSDENIED);
    /* the owner acts as a known user only, and is then that user */
    assert_null(open_as(db, NULL, "nobody-known", &err));
    assert_int_equal(err.code, PROVOST_E_NOTFOUND);
    e = must_open(db, NULL, "alice");
    assert_string_equal(provost_principal_name(e), "alice");
    expect(run(e, 0, "T", "Whoami", "<request><context><securityContext impersonate=\"1\"/></context></request>"),
           "<identity>alice</identity>");
    expect(run(e, 0, "U", "Across", NULL), "principal 'alice' lacks the right execute on procedure U/Across");
    provost_close(e);
    /* admin granted to a group makes its members administrators */
    e = must_open(db, NULL, NULL);
    grant(e, "ops", PROVOST_RIGHT_ADMIN, NULL, NULL, 0);
    assert_int_not_equal(provost_grant(e, "ops", PROVOST_RIGHT_ADMIN, "T", NULL, 0, &err), 0);
    assert_int_equal(err.code, PROVOST_E_INVALIDARG);
    assert_int_not_equal(provost_grant(e, "nobody", PROVOST_RIGHT_EXECUTE, NULL, NULL, 0, &err), 0);
    assert_int_equal(err.code, PROVOST_E_NOTFOUND);
    assert_int_not_equal(provost_user_add(e, "bad/name", NULL, &err), 0);
    assert_int_equal(err.code, PROVOST_E_INVALIDARG);
    assert_int_not_equal(provost_user_add(e, "OPS", NULL, &err), 0); /* names without case */
    assert_int_equal(err.code, PROVOST_E_EXISTS);
    provost_close(e);
    e = must_open(db, "alice", NULL);
    assert_int_equal(provost_is_admin(e), 1);
    reg(e, NS_U);
    ok(provost_act_as(e, "bob", &err), &err);
    assert_int_equal(provost_is_admin(e), 0);
    provost_close(e);
    free(db);
}

/* Removing a principal removes its memberships and entries: a user of the same name added
 * later starts with nothing. */
static void remove_principal(void **s)
{
    (void)s;
    char *db;
    provost_engine *e = setup_db(&db);
    grant(e, "alice", PROVOST_RIGHT_EXECUTE, "T", NULL, 0);
    grant(e, "bob", PROVOST_RIGHT_EXECUTE, "T", NULL, 0);
    provost_error err;
    ok(provost_user_remove(e, "ALICE", NULL, &err), &err);
    ok(provost_user_add(e, "alice", NULL, &err), &err);
    provost_principal *v;
    size_t n;
    ok(provost_principal_list(e, 1, &v, &n, &err), &err);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].name, "ops");
    assert_int_equal(v[0].nrelated, 0);
    provost_principal_list_free(v, n);
    provost_acl a;
    ok(provost_acl_get(e, "T", &a, &err), &err);
    assert_int_equal(a.enforced, 1);
    assert_int_equal(a.nentries, 1);
    assert_string_equal(a.entries[0].principal, "bob");
    provost_acl_free(&a);
    provost_close(e);
    e = must_open(db, "alice", NULL);
    expect(run(e, 0, "T", "Echo", NULL), DENIED);
    provost_close(e);
    free(db);
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
        cmocka_unit_test(row1_x0_y0_engine),    cmocka_unit_test(row2_x1_basic_user),
        cmocka_unit_test(row3_x1_calling_user), cmocka_unit_test(row4_x2_engine),
        cmocka_unit_test(row5_y1_basic_user),   cmocka_unit_test(row6_y1_calling_user),
        cmocka_unit_test(row7_y2_engine),       cmocka_unit_test(row8_x1_execute_as),
        cmocka_unit_test(row9_y1_execute_as),   cmocka_unit_test(execute_as_credential),
        cmocka_unit_test(nothing_enforced),     cmocka_unit_test(deny_beats_allow),
        cmocka_unit_test(private_procedures),   cmocka_unit_test(trusted_and_caller_credentials),
        cmocka_unit_test(admin_and_act_as),     cmocka_unit_test(remove_principal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
