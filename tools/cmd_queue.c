/*
 * cmd_queue.c -- `provost queue`: submit a request as a job, look at jobs, and the
 * operator's activate, delete and retry (provost/queue.h does the work).
 */
#define _GNU_SOURCE /* gmtime_r */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provost/provost.h"
#include "provost/queue.h"
#include "tools.h"

/* --delay: a number with an optional unit ms, s (default), m or h. */
static int parse_delay(const char *v, int64_t *ms)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || d < 0 || d > 1e9)
        return -1;
    double unit = !*end || strcmp(end, "s") == 0 ? 1000 : strcmp(end, "ms") == 0 ? 1 : strcmp(end, "m") == 0 ? 60000
                  : strcmp(end, "h") == 0                                      ? 3600000
                                                                               : -1;
    if (unit < 0)
        return -1;
    *ms = (int64_t)(d * unit);
    return 0;
}

static void print_time(const char *label, int64_t ms)
{
    if (!ms)
        return;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    printf("%-12s %s.%03dZ\n", label, b, (int)(ms % 1000));
}

static const char *state_name(int s)
{
    const char *n = provost_job_state_name(s);
    return n ? n : "?";
}

/* submit's options, read before the database is opened: a bad one touches nothing. */
typedef struct submit_args {
    provost_queue_options o;
    const char *file, *after[256];
} submit_args;

static int parse_submit(int argc, char **argv, submit_args *sa)
{
    provost_queue_options o = {.sync = tool_engine_options(-1).sync};
    const char *file = NULL, **after = sa->after;
    int64_t now = provost_now_ms();
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((strcmp(a, "--at") == 0 || strcmp(a, "--delay") == 0 || strcmp(a, "--priority") == 0 ||
             strcmp(a, "--after") == 0) &&
            !v)
            return die("queue submit: %s needs a value", a);
        if (strcmp(a, "--at") == 0) {
            if (provost_parse_due(v, &o.due_ms) != 0)
                return die("queue submit: --at takes YYYY-MM-DDTHH:MM[:SS][Z] (UTC) or @SECONDS, not '%s'", v);
            i++;
        } else if (strcmp(a, "--delay") == 0) {
            int64_t d;
            if (parse_delay(v, &d) != 0)
                return die("queue submit: --delay takes a duration such as 30, 30s, 500ms, 5m or 2h, not '%s'", v);
            o.due_ms = now + d;
            i++;
        } else if (strcmp(a, "--priority") == 0) {
            char *end;
            long p = strtol(v, &end, 10);
            if (!*v || *end || p < -32768 || p > 32767)
                return die("queue submit: --priority takes a number from -32768 to 32767, not '%s'", v);
            o.priority = (int)p;
            o.has_priority = 1;
            i++;
        } else if (strcmp(a, "--after") == 0) {
            /* --after ID [ID...]: every following argument that looks like a queue id */
            for (; i + 1 < argc && strncmp(argv[i + 1], "1:", 2) == 0 && o.nafter < 256; i++)
                after[o.nafter++] = argv[i + 1];
            if (o.nafter == 0)
                return die("queue submit: --after takes queue ids (1:{...}), not '%s'", v);
        } else if (strcmp(a, "--suspended") == 0) {
            o.suspended = 1;
        } else if (a[0] == '-' && a[1]) {
            return die("queue submit: unknown option '%s' (see provost queue --help)", a);
        } else if (file) {
            return die("queue submit: one request file at a time ('%s')", a);
        } else {
            file = a;
        }
    }
    if (!file)
        return die("queue submit: which request? (provost queue submit REQUEST.xml)");
    o.after = after;
    sa->o = o;
    sa->file = file;
    return 0;
}

static int submit(provost_engine *e, const submit_args *sa)
{
    const char *file = sa->file;
    char why[512];
    size_t len;
    char *xml = read_input(file, &len, why, sizeof why);
    if (!xml)
        return die("%s", why);
    char id[48];
    provost_error err;
    int rc = provost_queue_submit(e, xml, len, &sa->o, id, &err);
    free(xml);
    if (rc != 0)
        return die("%s: %s", file, err.message);
    printf("%s\n", id);
    return 0;
}

/* The database is in use (a worker runs): the submit goes to its spool, and the worker
 * stores it. */
static int spool(const submit_args *sa)
{
    char why[512];
    size_t len;
    char *xml = read_input(sa->file, &len, why, sizeof why);
    if (!xml)
        return die("%s", why);
    char id[48];
    provost_error err;
    int rc = provost_queue_spool_submit(tool_engine_options(-1).db_path, xml, len, &sa->o, id, &err);
    free(xml);
    if (rc != 0)
        return die("%s: %s", sa->file, err.message);
    printf("%s\n", id);
    return 0;
}

static int status(provost_engine *e, const char *id)
{
    provost_job j;
    provost_error err;
    if (provost_queue_status(e, id, &j, &err) != 0)
        return die("%s", err.message);
    printf("%-12s %s\n%-12s %d %s\n%-12s %s\n%-12s %d\n", "queueId", j.id, "state", j.state, state_name(j.state),
           "runs", j.what, "priority", j.priority);
    printf("%-12s %u of %u (retryCount %u, retryInterval %u ms, %s, onFailure %s", "attempts", j.attempts,
           j.retry_count + 1, j.retry_count, j.retry_interval_ms, j.exponential ? "exponential" : "fixed",
           j.to_operator ? "queueToOperator" : "continue");
    if (j.stop_code)
        printf(", retryStopOnFailure 0x%08X", j.stop_code);
    printf(")\n");
    print_time("created", j.created_ms);
    print_time("due", j.due_ms);
    print_time("finished", j.finished_ms);
    if (j.owner)
        printf("%-12s %s\n", "worker", j.owner);
    for (size_t i = 0; i < j.nparents; i++)
        printf("%-12s %s\n", "after", j.parents[i]);
    if (j.waits)
        printf("%-12s %u\n", "waiting for", j.waits);
    if (j.code)
        printf("%-12s 0x%08X %s\n", "error", j.code, j.description ? j.description : "");
    provost_job_free(&j);
    return 0;
}

static int results(provost_engine *e, const char *id)
{
    char *xml;
    provost_error err;
    if (provost_queue_results(e, id, &xml, &err) != 0)
        return die("%s", err.message);
    if (!xml)
        return die("queue: job %s has not run yet", id);
    printf("%s\n", xml);
    free(xml);
    return 0;
}

static int parse_list(int argc, char **argv, int *state)
{
    *state = -1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            if ((*state = provost_job_state_parse(argv[++i])) < 0)
                return die("queue list: --state takes a state's code or name (PENDING, 15, ...), not '%s'", argv[i]);
        } else {
            return die("queue list: unknown argument '%s' (see provost queue --help)", argv[i]);
        }
    }
    return 0;
}

static int list(provost_engine *e, int state)
{
    provost_job *v;
    size_t n;
    provost_error err;
    if (provost_queue_list(e, state, &v, &n, &err) != 0)
        return die("%s", err.message);
    printf("%-41s %-3s %-24s %8s %8s %s\n", "QUEUEID", "", "STATE", "ATTEMPTS", "PRIORITY", "RUNS");
    for (size_t i = 0; i < n; i++)
        printf("%-41s %-3d %-24s %8u %8d %s\n", v[i].id, v[i].state, state_name(v[i].state), v[i].attempts,
               v[i].priority, v[i].what);
    provost_jobs_free(v, n);
    return 0;
}

/* The engine; a command that only looks reads the database read-only, as it is at that
 * moment, whether or not another process (a running worker) holds it; a submit finding it
 * held sets *in_use. */
static provost_engine *open_queue(bool looks, bool spools, bool *in_use)
{
    provost_options o = tool_engine_options(-1);
    provost_engine *e = NULL;
    provost_error err;
    /* a look never takes the lock, so it cannot keep a worker starting meanwhile from
     * opening the database */
    o.read_only = looks;
    if (provost_open(&o, &e, &err) != 0 && spools && strstr(err.message, "in use by another process")) {
        *in_use = true;
        return NULL;
    }
    if (!e) {
        die("%s: %s", o.db_path, err.message);
        return NULL;
    }
    const char *warning = provost_warning(e);
    if (warning)
        fprintf(stderr, "provost: warning: %s\n", warning);
    return e;
}

int cmd_queue(int argc, char **argv)
{
    if (argc < 2)
        return die("queue: which? submit, status, results, list, activate, delete or retry (see provost queue --help)");
    const char *sub = argv[1];
    int (*change)(provost_engine *, const char *, provost_error *) =
        strcmp(sub, "activate") == 0 ? provost_queue_activate
        : strcmp(sub, "delete") == 0 ? provost_queue_delete
        : strcmp(sub, "retry") == 0  ? provost_queue_retry
                                     : NULL;
    bool one_id = change || strcmp(sub, "status") == 0 || strcmp(sub, "results") == 0;
    if (!one_id && strcmp(sub, "submit") != 0 && strcmp(sub, "list") != 0)
        return die("queue: unknown command '%s' (see provost queue --help)", sub);
    if (one_id && argc < 3)
        return die("queue %s: which job? (a queue id, 1:{...})", sub);
    if (one_id && !change && argc > 3)
        return die("queue %s: one job at a time ('%s')", sub, argv[3]);
    submit_args sa = {0};
    int state = -1, bad = strcmp(sub, "submit") == 0 ? parse_submit(argc - 2, argv + 2, &sa)
                          : strcmp(sub, "list") == 0 ? parse_list(argc - 2, argv + 2, &state)
                                                     : 0;
    if (bad)
        return bad;
    bool in_use = false;
    provost_engine *e = open_queue(strcmp(sub, "status") == 0 || strcmp(sub, "results") == 0 ||
                                       strcmp(sub, "list") == 0,
                                   strcmp(sub, "submit") == 0, &in_use);
    if (!e && in_use)
        return spool(&sa);
    if (!e)
        return 2;
    int rc = 0;
    if (strcmp(sub, "submit") == 0)
        rc = submit(e, &sa);
    else if (strcmp(sub, "list") == 0)
        rc = list(e, state);
    else if (strcmp(sub, "status") == 0)
        rc = status(e, argv[2]);
    else if (strcmp(sub, "results") == 0)
        rc = results(e, argv[2]);
    else
        for (int i = 2; i < argc; i++) {
            provost_error err;
            if (change(e, argv[i], &err) != 0)
                rc = die("%s", err.message);
        }
    provost_close(e);
    return rc;
}
