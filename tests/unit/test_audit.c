/*
 * test_audit.c -- the audit trail through its API: records read back as written, a time
 * range reads only the keys inside it (counted), the filters, purge, the level stored in
 * the database and the one an engine is opened with, what each level records of real
 * requests (a failed read-only one included, which has no journal end to ride on), and
 * the times an operator types.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provost/audit.h"
#include "provost/provost.h"

#define HOUR 3600000000000ull
#define T0 1767225600000000000ull /* 2026-01-01T00:00:00Z */

static char dir[] = "/tmp/provost-audit-XXXXXX";
static int dbn;

static provost_engine *open_at(const char *name, int level)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    provost_options o = {.db_path = path, .caller = "alice", .audit_level = level};
    provost_engine *e = NULL;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0)
        fail_msg("open: %s", err.message);
    return e;
}

static provost_engine *fresh(int level)
{
    char name[32];
    snprintf(name, sizeof name, "db%d", ++dbn);
    return open_at(name, level);
}

typedef struct got {
    size_t n;
    provost_audit_record last; /* its strings are copied below: they live for the callback only */
    char proc[64], data[256], client[64], principal[64], ns[64];
    uint64_t prev;
    int ordered;
} got;

static int collect(void *ud, const provost_audit_record *r)
{
    got *g = ud;
    if (g->n && r->time < g->prev)
        g->ordered = 0;
    g->prev = r->time;
    g->n++;
    g->last = *r;
    snprintf(g->proc, sizeof g->proc, "%s", r->proc);
    snprintf(g->client, sizeof g->client, "%s", r->client);
    snprintf(g->principal, sizeof g->principal, "%s", r->principal);
    snprintf(g->ns, sizeof g->ns, "%s", r->ns);
    snprintf(g->data, sizeof g->data, "%s", r->data ? r->data : "(none)");
    return 0;
}

static got query(provost_engine *e, const provost_audit_filter *f, provost_audit_stats *st)
{
    got g = {.ordered = 1};
    provost_error err;
    if (provost_audit_query(e, f, collect, &g, st, &err) != 0)
        fail_msg("query: %s", err.message);
    return g;
}

/* 1000 records, one an hour from T0, written newest first in batches of 100 (the order
 * they are read in comes from their keys); every tenth failed, every other one bob's. */
static void fill(provost_engine *e)
{
    provost_audit_record v[100];
    provost_error err;
    for (int b = 9; b >= 0; b--) {
        for (int i = 0; i < 100; i++) {
            int k = b * 100 + i;
            v[i] = (provost_audit_record){.time = T0 + (uint64_t)k * HOUR, .seq = 0, .client = "",
                                          .principal = k % 2 ? "bob" : "alice", .ns = "Mail",
                                          .proc = k % 3 ? "Create" : "Delete", .failed = k % 10 == 0,
                                          .code = k % 10 == 0 ? 0x80004005u : 0, .duration = 1000,
                                          .data = k == 7 ? "<data a=\"\\n\"/>" : NULL};
            snprintf(v[i].txid, sizeof v[i].txid, "{%036d}", k);
        }
        assert_int_equal(provost_audit_append(e, v, 100, 0, &err), 0);
    }
}

static void a_range_reads_only_its_keys(void **state)
{
    (void)state;
    provost_engine *e = fresh(0);
    fill(e);
    provost_audit_stats st;
    got g = query(e, NULL, &st);
    assert_int_equal(g.n, 1000);
    assert_true(g.ordered);
    assert_int_equal(st.keys_read, 1000);
    /* the last hour: one seek, one key */
    provost_audit_filter f = {.since = T0 + 999 * HOUR, .outcome = -1};
    g = query(e, &f, &st);
    assert_int_equal(g.n, 1);
    assert_int_equal(st.keys_read, 1);
    assert_int_equal(g.last.time, T0 + 999 * HOUR);
    /* ten hours in the middle, the upper bound excluded */
    f = (provost_audit_filter){.since = T0 + 100 * HOUR, .until = T0 + 110 * HOUR, .outcome = -1};
    g = query(e, &f, &st);
    assert_int_equal(g.n, 10);
    assert_int_equal(st.keys_read, 10);
    assert_int_equal(g.last.time, T0 + 109 * HOUR);
    /* a filter reads the range, hands over what it takes */
    f.outcome = 1;
    g = query(e, &f, &st);
    assert_int_equal(st.keys_read, 10);
    assert_int_equal(st.matched, 1); /* hour 100 */
    provost_close(e);
}

static void records_read_back_as_written(void **state)
{
    (void)state;
    provost_engine *e = fresh(0);
    fill(e);
    provost_audit_filter f = {.since = T0 + 7 * HOUR, .until = T0 + 8 * HOUR, .outcome = -1};
    got g = query(e, &f, NULL);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.last.txid, "{000000000000000000000000000000000007}");
    assert_string_equal(g.data, "<data a=\"\\n\"/>");
    assert_string_equal(g.proc, "Create");
    assert_int_equal(g.last.duration, 1000);
    assert_false(g.last.failed);
    f.since = T0 + 10 * HOUR;
    f.until = T0 + 11 * HOUR;
    g = query(e, &f, NULL);
    assert_true(g.last.failed);
    assert_int_equal(g.last.code, 0x80004005u);
    assert_string_equal(g.data, "(none)");
    provost_close(e);
}

static void filters(void **state)
{
    (void)state;
    provost_engine *e = fresh(0);
    fill(e);
    provost_audit_filter f = {.outcome = 1};
    assert_int_equal(query(e, &f, NULL).n, 100);
    f = (provost_audit_filter){.outcome = 0};
    assert_int_equal(query(e, &f, NULL).n, 900);
    f = (provost_audit_filter){.outcome = -1, .ns = "mail", .proc = "delete"}; /* without case */
    assert_int_equal(query(e, &f, NULL).n, 334);
    f = (provost_audit_filter){.outcome = -1, .ns = "Other"};
    assert_int_equal(query(e, &f, NULL).n, 0);
    f = (provost_audit_filter){.outcome = -1, .principal = "bob"};
    assert_int_equal(query(e, &f, NULL).n, 500);
    f = (provost_audit_filter){.outcome = -1, .principal = "Bob"}; /* names are exact */
    assert_int_equal(query(e, &f, NULL).n, 0);
    provost_close(e);
}

static void purge_deletes_what_is_older(void **state)
{
    (void)state;
    provost_engine *e = fresh(0);
    fill(e);
    provost_error err;
    uint64_t n = 99;
    assert_int_equal(provost_audit_purge(e, T0, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(provost_audit_purge(e, T0 + 500 * HOUR, &n, &err), 0);
    assert_int_equal(n, 500);
    provost_audit_stats st;
    got g = query(e, NULL, &st);
    assert_int_equal(g.n, 500);
    assert_int_equal(st.keys_read, 500);
    provost_audit_filter f = {.until = T0 + 501 * HOUR, .outcome = -1};
    g = query(e, &f, NULL);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.last.time, T0 + 500 * HOUR);
    provost_close(e);
}

static void the_level_is_the_databases_unless_opened_with_one(void **state)
{
    (void)state;
    provost_engine *e = open_at("levels", 0);
    int stored = -1;
    assert_int_equal(provost_audit_level(e, &stored), PROVOST_AUDIT_FAILURES);
    assert_int_equal(stored, PROVOST_AUDIT_DEFAULT);
    provost_error err;
    assert_int_equal(provost_audit_set_level(e, PROVOST_AUDIT_FULL, &err), 0);
    assert_int_equal(provost_audit_level(e, NULL), PROVOST_AUDIT_FULL);
    assert_int_not_equal(provost_audit_set_level(e, 9, &err), 0);
    assert_int_equal(err.code, PROVOST_E_INVALIDARG);
    provost_close(e);
    e = open_at("levels", 0);
    assert_int_equal(provost_audit_level(e, &stored), PROVOST_AUDIT_FULL);
    assert_int_equal(stored, PROVOST_AUDIT_FULL);
    provost_close(e);
    e = open_at("levels", PROVOST_AUDIT_NONE);
    assert_int_equal(provost_audit_level(e, &stored), PROVOST_AUDIT_NONE);
    assert_int_equal(stored, PROVOST_AUDIT_FULL);
    assert_int_equal(provost_audit_set_level(e, PROVOST_AUDIT_DEFAULT, &err), 0);
    assert_int_equal(provost_audit_level(e, NULL), PROVOST_AUDIT_NONE); /* still the option's */
    provost_close(e);
    e = open_at("levels", 0);
    assert_int_equal(provost_audit_level(e, NULL), PROVOST_AUDIT_FAILURES);
    provost_close(e);
    /* an option that is no level */
    char path[256];
    snprintf(path, sizeof path, "%s/levels", dir);
    provost_options o = {.db_path = path, .audit_level = 7};
    assert_int_not_equal(provost_open(&o, &e, &err), 0);
    assert_non_null(strstr(err.message, "audit level 7"));
    assert_string_equal(provost_audit_level_name(PROVOST_AUDIT_ENABLED), "enabled");
    assert_null(provost_audit_level_name(0));
    assert_int_equal(provost_audit_level_parse("full"), PROVOST_AUDIT_FULL);
    assert_int_equal(provost_audit_level_parse("Full"), -1);
}

static const char ns_xml[] =
    "<namespace name=\"T\" providerSource=\"test\">\n"
    "  <procedure name=\"Echo\" type=\"read\" access=\"public\" auditEnabled=\"1\"/>\n"
    "  <procedure name=\"Fail\" type=\"read\" access=\"public\"/>\n"
    "  <procedure name=\"Quiet\" type=\"read\" access=\"public\"/>\n"
    "  <procedure name=\"Write\" type=\"write\" access=\"public\"/>\n"
    "  <procedure name=\"Outer\" type=\"write\" access=\"public\">\n"
    "    <execute namespace=\"T\" procedure=\"Write\"><executeData><w/></executeData></execute>\n"
    "    <execute namespace=\"T\" procedure=\"Echo\"><executeData><e/></executeData></execute>\n"
    "    <execute namespace=\"T\" procedure=\"Fail\"><executeData/></execute>\n"
    "  </procedure>\n"
    "</namespace>\n";

static void call(provost_engine *e, const char *proc, const char *client, int want_failed)
{
    char data[256];
    snprintf(data, sizeof data,
             "<request><data><v>1</v></data><context><clientContext clientTransactionId=\"%s\"/></context></request>",
             client);
    provost_response r;
    provost_error err;
    assert_int_equal(provost_call(e, "T", proc, data, strlen(data), 0, &r, &err), 0);
    assert_int_equal(r.failed, want_failed);
    provost_response_free(&r);
}

typedef struct by_client {
    const char *client;
    size_t n;
    got *g;
} by_client;

static int one_client(void *ud, const provost_audit_record *r)
{
    by_client *c = ud;
    if (strcmp(r->client, c->client) == 0) {
        c->n++;
        if (c->g)
            collect(c->g, r);
    }
    return 0;
}

/* The records of the request whose client transaction id is client (the last one in g). */
static size_t count_client(provost_engine *e, const char *client, got *g)
{
    by_client c = {client, 0, g};
    provost_error err;
    assert_int_equal(provost_audit_query(e, NULL, one_client, &c, NULL, &err), 0);
    return c.n;
}

static void what_each_level_records(void **state)
{
    (void)state;
    provost_error err;
    int levels[] = {PROVOST_AUDIT_NONE, PROVOST_AUDIT_FAILURES, PROVOST_AUDIT_ENABLED, PROVOST_AUDIT_FULL};
    for (int i = 0; i < 4; i++) {
        provost_engine *e = fresh(levels[i]);
        assert_int_equal(provost_register(e, "t.xml", ns_xml, strlen(ns_xml), NULL, &err), 0);
        call(e, "Echo", "echo", 0);   /* audited, succeeds */
        call(e, "Quiet", "quiet", 0); /* not audited, succeeds */
        call(e, "Fail", "fail", 1);   /* read-only and failed: no journal end */
        call(e, "Outer", "outer", 1); /* a write, an audited call, then a failure */
        got g = {.ordered = 1};
        size_t echo = count_client(e, "echo", &g), quiet = count_client(e, "quiet", NULL);
        got gf = {.ordered = 1};
        size_t failed = count_client(e, "fail", &gf);
        got go = {.ordered = 1};
        size_t outer = count_client(e, "outer", &go);
        assert_int_equal(quiet, 0);
        switch (levels[i]) {
        case PROVOST_AUDIT_NONE:
            assert_int_equal(echo + failed + outer, 0);
            break;
        case PROVOST_AUDIT_FAILURES:
            assert_int_equal(echo, 0);
            assert_int_equal(failed, 1);
            assert_int_equal(outer, 1);
            assert_string_equal(go.proc, "Outer");
            assert_true(go.last.failed);
            break;
        default:
            assert_int_equal(echo, 1);
            assert_false(g.last.failed);
            assert_string_equal(g.principal, "alice");
            assert_string_equal(g.data, levels[i] == PROVOST_AUDIT_FULL ? "<data><v>1</v></data>" : "(none)");
            assert_int_equal(failed, 1);
            assert_int_equal(outer, 2); /* Outer failed, and its audited Echo with it */
            assert_true(go.last.failed);
            break;
        }
        if (failed) {
            assert_string_equal(gf.proc, "Fail");
            assert_int_equal(gf.last.code, 0x80004005u);
            assert_string_equal(gf.ns, "T");
        }
        provost_close(e);
    }
}

static void times(void **state)
{
    (void)state;
    uint64_t t = 0, now = T0 + 5 * HOUR;
    char err[300];
    assert_int_equal(provost_audit_time("2026-01-01T00:00:00Z", now, &t, err, sizeof err), 0);
    assert_int_equal(t, T0);
    assert_int_equal(provost_audit_time("2026-01-01", now, &t, err, sizeof err), 0);
    assert_int_equal(t, T0);
    assert_int_equal(provost_audit_time("2026-01-01t01:00:00.5z", now, &t, err, sizeof err), 0);
    assert_int_equal(t, T0 + HOUR + 500000000ull);
    assert_int_equal(provost_audit_time("2026-01-01T02:00:00+02:00", now, &t, err, sizeof err), 0);
    assert_int_equal(t, T0);
    assert_int_equal(provost_audit_time("2025-12-31T23:30:00-00:30", now, &t, err, sizeof err), 0);
    assert_int_equal(t, T0);
    assert_int_equal(provost_audit_time("-1h", now, &t, err, sizeof err), 0);
    assert_int_equal(t, T0 + 4 * HOUR);
    assert_int_equal(provost_audit_time("-30m", now, &t, err, sizeof err), 0);
    assert_int_equal(t, T0 + 4 * HOUR + HOUR / 2);
    assert_int_equal(provost_audit_time("-2d", now, &t, err, sizeof err), 0);
    assert_int_equal(t, T0 + 5 * HOUR - 48 * HOUR);
    assert_int_equal(provost_audit_time("now", now, &t, err, sizeof err), 0);
    assert_int_equal(t, now);
    static const char *const bad[] = {"", "yesterday", "-1", "-h", "-1y", "--1h", "-1hh", "2026-1-01",
                                      "2026-13-01", "2026-02-29", "2026-01-01T24:00:00Z", "2026-01-01T00:00Z",
                                      "2026-01-01T00:00:00", "2026-01-01T00:00:00+2:00", "2026-01-01T00:00:00.Z",
                                      "1969-12-31", "-99999999w"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        if (provost_audit_time(bad[i], now, &t, err, sizeof err) == 0)
            fail_msg("'%s' was taken for a time", bad[i]);
        assert_non_null(strchr(err, '\''));
        assert_null(strchr(err, '\n'));
    }
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_range_reads_only_its_keys),
        cmocka_unit_test(records_read_back_as_written),
        cmocka_unit_test(filters),
        cmocka_unit_test(purge_deletes_what_is_older),
        cmocka_unit_test(the_level_is_the_databases_unless_opened_with_one),
        cmocka_unit_test(what_each_level_records),
        cmocka_unit_test(times),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
