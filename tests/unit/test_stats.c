/*
 * test_stats.c -- the renderings of an open engine's counters (provost/stats.h, run/):
 * after real requests through the engine (successes, failures with their rollbacks) and
 * jobs queued, the Prometheus text of /metrics holds the contract's families with their
 * values, and parses with the Prometheus client library's parser (tests/cli/prom_check.py,
 * when python3-prometheus-client is installed); the jobs by state stay right as jobs come
 * and go after the first count; the dashboard's JSON has exactly the agreed shape, keys
 * and types, with the failures by code and the last failures, most recent first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provost/provost.h"
#include "provost/queue.h"
#include "provost/stats.h"

static char root[64];
static char db[300];
static provost_engine *e;

static int setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/provost-statstest-XXXXXX"); /* anew for each test */
    if (!mkdtemp(root))
        return -1;
    snprintf(db, sizeof db, "%s/db", root);
    char path[400];
    snprintf(path, sizeof path, "%s/tests/batch/batch.xml", PROVOST_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char xml[1 << 16];
    size_t n = fread(xml, 1, sizeof xml, f);
    fclose(f);
    provost_options o = {.db_path = db, .sync = PROVOST_SYNC_NONE};
    provost_error err;
    if (provost_open(&o, &e, &err) != 0)
        return -1;
    provost_ns_info info = {0};
    int rc = provost_register(e, "batch.xml", xml, n, &info, &err);
    free(info.name);
    free(info.version);
    free(info.provider);
    free(info.description);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    provost_close(e);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd);
}

static void call(const char *proc, const char *data, int failed)
{
    provost_response r = {0};
    provost_error err;
    assert_int_equal(provost_call(e, "Batch", proc, data, strlen(data), PROVOST_COMPACT, &r, &err), 0);
    assert_int_equal(r.failed, failed);
    provost_response_free(&r);
}

static void submit(const provost_queue_options *o, char id[48])
{
    static const char req[] = "<request><procedure><execute namespace='Batch' procedure='R'><executeData/>"
                              "</execute></procedure></request>";
    provost_error err;
    if (provost_queue_submit(e, req, sizeof req - 1, o, id, &err) != 0)
        fail_msg("%s", err.message);
}

/* The engine's output into a string (open_memstream, as the service does). */
static char *render(int dashboard)
{
    provost_live_stats s;
    char why[600];
    assert_int_equal(provost_live_stats_read(db, &s, why, sizeof why), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    provost_error err;
    int rc = dashboard ? provost_stats_dashboard(f, e, &s, &err) : provost_stats_prometheus_engine(f, e, &s, &err);
    if (rc != 0)
        fail_msg("%s", err.message);
    fclose(f);
    provost_live_stats_free(&s);
    return text;
}

static void has(const char *text, const char *line)
{
    if (!strstr(text, line))
        fail_msg("not in the output: %s", line);
}

static void requests(void)
{
    static const char fail[] = "<data><n>1</n><code>0x80070005</code><description>denied</description></data>";
    call("Write3", "<data><n>1</n></data>", 0);
    call("Write3", fail, 1);
    call("Write3", fail, 1);
    call("Write3", "<data><n>2</n><code>0x80004005</code><description>later</description></data>", 1);
}

static void test_prometheus(void **state)
{
    (void)state;
    requests();
    provost_queue_options plain = {.sync = PROVOST_SYNC_NONE}, held = {.sync = PROVOST_SYNC_NONE, .suspended = 1};
    char a[48], b[48], c[48];
    submit(&plain, a);
    submit(&held, b);
    uint64_t n[16];
    provost_error err;
    assert_int_equal(provost_queue_counts(e, n, &err), 0); /* the first: read from the queue */
    assert_true(n[PROVOST_JOB_PENDING] == 1 && n[PROVOST_JOB_SUSPENDED] == 1);
    submit(&plain, c); /* kept from here on */
    assert_int_equal(provost_queue_activate(e, b, &err), 0);
    assert_int_equal(provost_queue_delete(e, a, &err), 0);
    assert_int_equal(provost_queue_counts(e, n, &err), 0);
    assert_true(n[PROVOST_JOB_PENDING] == 2 && n[PROVOST_JOB_SUSPENDED] == 0);

    char *text = render(0);
    has(text, "provost_procedure_calls_total{namespace=\"Batch\",procedure=\"Write3\",outcome=\"succeeded\"} 1\n");
    has(text, "provost_procedure_calls_total{namespace=\"Batch\",procedure=\"Write3\",outcome=\"failed\"} 3\n");
    has(text, "provost_procedure_duration_seconds_count{namespace=\"Batch\",procedure=\"Write3\"} 4\n");
    has(text, "provost_procedure_duration_seconds_bucket{namespace=\"Batch\",procedure=\"Write3\",le=\"+Inf\"} 4\n");
    has(text, "provost_procedure_duration_seconds_bucket{namespace=\"Batch\",procedure=\"Write3\",le=\"0.0001\"} ");
    has(text, "provost_procedure_executing{namespace=\"Batch\",procedure=\"Write3\"} 0\n");
    has(text, "provost_failures_total{code=\"0x80070005\"} 2\nprovost_failures_total{code=\"0x80004005\"} 1\n");
    has(text, "\nprovost_rollbacks_total 3\n");
    has(text, "\nprovost_transactions_stuck 0\n");
    has(text, "\nprovost_queue_jobs{state=\"PENDING\"} 2\n");
    has(text, "\nprovost_queue_jobs{state=\"SUSPENDED\"} 0\n");
    has(text, "\nprovost_journal_syncs_total ");
    has(text, "\nprocess_cpu_seconds_total ");
    has(text, "\nprocess_resident_memory_bytes ");
    has(text, "\nprocess_open_fds ");
    has(text, "\nprocess_start_time_seconds ");

    /* the Prometheus client library's parser, when this machine has it */
    if (system("/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null") == 0) {
        char path[400], cmd[1200];
        snprintf(path, sizeof path, "%s/metrics.txt", root);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/cli/prom_check.py %s settled engine >/dev/null",
                 PROVOST_SOURCE_DIR, path);
        assert_int_equal(system(cmd), 0);
    }
    free(text);
}

/* OBJ has exactly the keys KEYS (NULL-terminated), each of the type given after it. */
static void shape(json_t *obj, const char *what, const char *const *keys)
{
    if (!json_is_object(obj))
        fail_msg("%s: not an object", what);
    size_t n = 0;
    for (; keys[2 * n]; n++) {
        json_t *v = json_object_get(obj, keys[2 * n]);
        const char *t = keys[2 * n + 1];
        int ok = v && (strcmp(t, "int") == 0      ? json_is_integer(v)
                       : strcmp(t, "num") == 0    ? json_is_number(v)
                       : strcmp(t, "str") == 0    ? json_is_string(v)
                       : strcmp(t, "array") == 0  ? json_is_array(v)
                                                  : json_is_object(v));
        if (!ok)
            fail_msg("%s.%s: missing or not a %s", what, keys[2 * n], t);
    }
    if (json_object_size(obj) != n)
        fail_msg("%s: %zu keys, expected %zu", what, json_object_size(obj), n);
}

static void test_dashboard(void **state)
{
    (void)state;
    requests();
    char *text = render(1);
    assert_true(strchr(text, '\n') == text + strlen(text) - 1); /* one line */
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    if (!doc)
        fail_msg("not JSON: %s at %d: %s", je.text, je.position, text);
    static const char *const top[] = {"time_ms", "int", "writer", "obj", "procedures", "array", "failures", "array",
                                      "stuck", "obj", "queue", "obj", "audit_failures", "array", "engine", "obj",
                                      NULL};
    shape(doc, "stats", top);
    static const char *const writer[] = {"state", "str", "pid", "int", "started", "int", NULL};
    json_t *w = json_object_get(doc, "writer");
    shape(w, "writer", writer);
    assert_string_equal(json_string_value(json_object_get(w, "state")), "running");
    assert_int_equal(json_integer_value(json_object_get(w, "pid")), getpid());

    static const char *const proc[] = {"namespace", "str", "procedure", "str", "calls", "int", "succeeded", "int",
                                       "failed", "int", "in_doubt", "int", "executing", "int", "rate", "num",
                                       "p50_ms", "num", "p99_ms", "num", NULL};
    json_t *procs = json_object_get(doc, "procedures"), *p, *write3 = NULL;
    size_t i;
    json_array_foreach(procs, i, p)
    {
        shape(p, "procedure", proc);
        if (strcmp(json_string_value(json_object_get(p, "procedure")), "Write3") == 0)
            write3 = p;
    }
    assert_non_null(write3);
    assert_int_equal(json_integer_value(json_object_get(write3, "calls")), 4);
    assert_int_equal(json_integer_value(json_object_get(write3, "failed")), 3);

    static const char *const failure[] = {"code", "str", "count", "int", NULL};
    json_t *fails = json_object_get(doc, "failures");
    assert_int_equal(json_array_size(fails), 2);
    json_array_foreach(fails, i, p) shape(p, "failure", failure);
    assert_string_equal(json_string_value(json_object_get(json_array_get(fails, 0), "code")), "0x80070005");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(fails, 0), "count")), 2);

    static const char *const stuck[] = {"count", "int", "recent", "array", NULL};
    shape(json_object_get(doc, "stuck"), "stuck", stuck);
    json_t *queue = json_object_get(doc, "queue");
    size_t nstates = 0;
    for (int s = 0; s < 16; s++)
        nstates += provost_job_state_name(s) != NULL;
    assert_int_equal(json_object_size(queue), nstates + 1); /* and "running" */
    static const char *const qkeys[] = {"pending", "running", "started", "success", "failure", "suspended",
                                        "failed_awaiting_operator"};
    for (i = 0; i < sizeof qkeys / sizeof qkeys[0]; i++)
        if (!json_is_integer(json_object_get(queue, qkeys[i])))
            fail_msg("queue.%s", qkeys[i]);

    static const char *const audit[] = {"time_ms", "int", "principal", "str", "namespace", "str", "procedure", "str",
                                        "code", "str", "message", "str", NULL};
    json_t *recent = json_object_get(doc, "audit_failures");
    assert_int_equal(json_array_size(recent), 3);
    json_array_foreach(recent, i, p) shape(p, "audit failure", audit);
    json_t *last = json_array_get(recent, 0); /* the most recent first */
    assert_string_equal(json_string_value(json_object_get(last, "code")), "0x80004005");
    assert_string_equal(json_string_value(json_object_get(last, "namespace")), "Batch");
    assert_string_equal(json_string_value(json_object_get(last, "procedure")), "Write3");
    assert_non_null(strstr(json_string_value(json_object_get(last, "message")), "later"));
    assert_true(json_integer_value(json_object_get(last, "time_ms")) >=
                json_integer_value(json_object_get(json_array_get(recent, 2), "time_ms")));

    json_t *engine = json_object_get(doc, "engine");
    assert_int_equal(json_integer_value(json_object_get(engine, "provost_rollbacks_total")), 3);
    assert_true(json_is_integer(json_object_get(engine, "provost_journal_syncs_total")));
    json_decref(doc);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prometheus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
