/*
 * test_jobs.c -- the queue's state machine (SPEC §11) through provost/queue.h, with the
 * clock given to each run: priority classes before due times, fixed and exponential
 * retries, the stop-on-failure code, prerequisites, suspended jobs, the operator's queue
 * with its retry and delete, queue steps run as jobs, a worker that died mid-job (before
 * and after its run committed), and the due index that finds nothing to do in three reads
 * however many jobs wait.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "provost/provost.h"
#include "provost/queue.h"
#include "vm/db.h"
#include "vm/jobs.h"

static char root[] = "/tmp/provost-jobs-XXXXXX";
static int ndb;

static const char ns[] = "<namespace name='Q' providerSource='test'>"
                         "<procedure name='Echo' type='write'/><procedure name='Fail' type='write'/>"
                         "<procedure name='Crash' type='write'/>"
                         "<procedure name='Later' type='write' access='public'>"
                         "<queue namespace='Q' procedure='Fail'><executeData><code>0x80070005</code></executeData>"
                         "</queue>"
                         "</procedure></namespace>";

typedef struct fx {
    provost_engine *e;
    provost_queue_worker *w;
    char path[256];
} fx;

static provost_engine *open_at(const char *path)
{
    provost_options o = {.db_path = path, .sync = PROVOST_SYNC_NONE};
    provost_engine *e;
    provost_error err;
    assert_int_equal(provost_open(&o, &e, &err), 0);
    return e;
}

static void start(fx *f)
{
    snprintf(f->path, sizeof f->path, "%s/db%d", root, ndb++);
    f->e = open_at(f->path);
    provost_error err;
    assert_int_equal(provost_register(f->e, "q.xml", ns, sizeof ns - 1, NULL, &err), 0);
    assert_non_null(f->w = provost_queue_worker_new(f->e, PROVOST_SYNC_NONE, &err));
}

static void stop(fx *f)
{
    provost_queue_worker_free(f->w);
    provost_close(f->e);
}

/* A job calling Q/PROC (its executeData body) with queueContext attributes qc. */
static void submit(fx *f, const char *proc, const char *body, const char *qc, const provost_queue_options *o,
                   char id[48])
{
    char req[2048];
    snprintf(req, sizeof req,
             "<request><procedure><execute namespace='Q' procedure='%s'><executeData>%s</executeData></execute>"
             "</procedure><context><queueContext %s/></context></request>",
             proc, body, qc);
    provost_error err;
    provost_queue_options none = {.sync = PROVOST_SYNC_NONE};
    int rc = provost_queue_submit(f->e, req, strlen(req), o ? o : &none, id, &err);
    if (rc != 0)
        fail_msg("%s", err.message);
}

static int state_of(fx *f, const char *id)
{
    provost_job j;
    provost_error err;
    assert_int_equal(provost_queue_status(f->e, id, &j, &err), 0);
    int s = j.state;
    provost_job_free(&j);
    return s;
}

/* Runs the next job at now: returns its id's state after, and checks which job ran. */
static int run_at(fx *f, int64_t now, const char *want_id)
{
    provost_queue_ran ran;
    int64_t next;
    provost_error err;
    int rc = provost_queue_run_next(f->w, now, &ran, &next, &err);
    if (rc < 0)
        fail_msg("%s", err.message);
    assert_int_equal(rc, 1);
    if (want_id)
        assert_string_equal(ran.id, want_id);
    return ran.state;
}

/* Nothing is due at now; returns the next due time. */
static int64_t idle_at(fx *f, int64_t now)
{
    provost_queue_ran ran;
    int64_t next;
    provost_error err;
    assert_int_equal(provost_queue_run_next(f->w, now, &ran, &next, &err), 0);
    return next;
}

static void test_priority_then_due(void **state)
{
    (void)state;
    fx f;
    start(&f);
    int64_t t = provost_now_ms();
    char low[48], med_late[48], med_early[48], high[48];
    provost_queue_options o = {.sync = PROVOST_SYNC_NONE, .has_priority = 1};
    o.priority = 1;
    submit(&f, "Echo", "", "", &o, low);
    o.priority = 0;
    o.due_ms = t + 20;
    submit(&f, "Echo", "", "", &o, med_late);
    o.due_ms = t + 10;
    submit(&f, "Echo", "", "", &o, med_early);
    o.due_ms = t + 30;
    submit(&f, "Echo", "", "priority='-50'", NULL, high); /* queueContext's priority: -50 is high */
    int64_t now = t + 60000;
    assert_int_equal(run_at(&f, now, high), PROVOST_JOB_SUCCESS);
    assert_int_equal(run_at(&f, now, med_early), PROVOST_JOB_SUCCESS);
    assert_int_equal(run_at(&f, now, med_late), PROVOST_JOB_SUCCESS);
    assert_int_equal(run_at(&f, now, low), PROVOST_JOB_SUCCESS);
    assert_int_equal(idle_at(&f, now), -1);
    char *xml;
    provost_error err;
    assert_int_equal(provost_queue_results(f.e, low, &xml, &err), 0);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<response>"));
    free(xml);
    stop(&f);
}

static void test_fixed_retries(void **state)
{
    (void)state;
    fx f;
    start(&f);
    char id[48];
    submit(&f, "Fail", "", "retryCount='2' retryInterval='100'", NULL, id);
    int64_t t = provost_now_ms() + 1000;
    assert_int_equal(run_at(&f, t, id), PROVOST_JOB_QUEUED_FOR_RETRY);
    assert_int_equal(idle_at(&f, t + 99), t + 100);
    assert_int_equal(run_at(&f, t + 100, id), PROVOST_JOB_QUEUED_FOR_RETRY);
    assert_int_equal(idle_at(&f, t + 199), t + 200); /* fixed: the same interval */
    assert_int_equal(run_at(&f, t + 200, id), PROVOST_JOB_FAILURE);
    assert_int_equal(idle_at(&f, t + 100000), -1);
    provost_job j;
    provost_error err;
    assert_int_equal(provost_queue_status(f.e, id, &j, &err), 0);
    assert_int_equal(j.attempts, 3);
    assert_int_equal(j.code, PROVOST_E_FAIL);
    assert_string_equal(j.description, "Test failure");
    provost_job_free(&j);
    stop(&f);
}

static void test_exponential_retries(void **state)
{
    (void)state;
    fx f;
    start(&f);
    char id[48];
    submit(&f, "Fail", "", "retryCount='3' retryInterval='100' retryType='exponential'", NULL, id);
    int64_t t = provost_now_ms() + 1000;
    assert_int_equal(run_at(&f, t, id), PROVOST_JOB_QUEUED_FOR_RETRY);
    assert_int_equal(idle_at(&f, t), t + 100);
    t += 100;
    assert_int_equal(run_at(&f, t, id), PROVOST_JOB_QUEUED_FOR_RETRY);
    assert_int_equal(idle_at(&f, t), t + 200);
    t += 200;
    assert_int_equal(run_at(&f, t, id), PROVOST_JOB_QUEUED_FOR_RETRY);
    assert_int_equal(idle_at(&f, t), t + 400);
    t += 400;
    assert_int_equal(run_at(&f, t, id), PROVOST_JOB_FAILURE);
    stop(&f);
}

static void test_stop_on_failure(void **state)
{
    (void)state;
    fx f;
    start(&f);
    char stopped[48], other[48];
    submit(&f, "Fail", "<code>0x80070057</code>", "retryCount='5' retryInterval='1' retryStopOnFailure='0x80070057'",
           NULL, stopped);
    submit(&f, "Fail", "<code>0x80070005</code>", "retryCount='5' retryInterval='1' retryStopOnFailure='0x80070057'",
           NULL, other);
    int64_t t = provost_now_ms() + 1000;
    run_at(&f, t, NULL); /* both due at once: in either order */
    run_at(&f, t, NULL);
    assert_int_equal(state_of(&f, stopped), PROVOST_JOB_FAILURE); /* that code: no retry */
    assert_int_equal(state_of(&f, other), PROVOST_JOB_QUEUED_FOR_RETRY);
    stop(&f);
}

/* A request that cannot run at all (its procedure does not compile) ends as ERROR once its
 * retries are used up, with the reason and its response kept. */
static void test_error_state(void **state)
{
    (void)state;
    fx f;
    start(&f);
    static const char req[] = "<request><procedure><exeucte namespace='Q' procedure='Echo'/></procedure>"
                              "<context><queueContext retryCount='1' retryInterval='1'/></context></request>";
    char id[48];
    provost_error err;
    provost_queue_options o = {.sync = PROVOST_SYNC_NONE};
    assert_int_equal(provost_queue_submit(f.e, req, sizeof req - 1, &o, id, &err), 0);
    int64_t t = provost_now_ms() + 1000;
    assert_int_equal(run_at(&f, t, id), PROVOST_JOB_QUEUED_FOR_RETRY);
    assert_int_equal(run_at(&f, t + 1, id), PROVOST_JOB_ERROR);
    provost_job j;
    assert_int_equal(provost_queue_status(f.e, id, &j, &err), 0);
    assert_non_null(j.description);
    assert_non_null(strstr(j.description, "exeucte"));
    provost_job_free(&j);
    char *xml;
    assert_int_equal(provost_queue_results(f.e, id, &xml, &err), 0);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<errorContext"));
    free(xml);
    stop(&f);
}

static void test_prerequisites(void **state)
{
    (void)state;
    fx f;
    start(&f);
    char a[48], b[48], c[48], d[48];
    submit(&f, "Fail", "", "retryCount='1' retryInterval='10'", NULL, a);
    submit(&f, "Echo", "", "", NULL, b);
    const char *after[] = {b};
    provost_queue_options o = {.sync = PROVOST_SYNC_NONE, .after = after, .nafter = 1};
    char req[1024];
    snprintf(req, sizeof req,
             "<request><procedure><execute namespace='Q' procedure='Echo'/></procedure><context><queueContext>"
             "<parentQueue queueID='%s'/></queueContext></context></request>", /* MPF's spelling */
             a);
    provost_error err;
    assert_int_equal(provost_queue_submit(f.e, req, strlen(req), &o, c, &err), 0);
    assert_int_equal(state_of(&f, c), PROVOST_JOB_WITH_INCOMPLETE_PREREQ);
    int64_t t = provost_now_ms() + 1000;
    run_at(&f, t, NULL); /* a and b, in either order */
    run_at(&f, t, NULL);
    assert_int_equal(state_of(&f, a), PROVOST_JOB_QUEUED_FOR_RETRY);
    assert_int_equal(state_of(&f, b), PROVOST_JOB_SUCCESS);
    assert_int_equal(state_of(&f, c), PROVOST_JOB_WITH_INCOMPLETE_PREREQ); /* a is still retrying */
    assert_int_equal(idle_at(&f, t), t + 10);
    assert_int_equal(run_at(&f, t + 10, a), PROVOST_JOB_FAILURE); /* retries used up: complete */
    assert_int_equal(state_of(&f, c), PROVOST_JOB_WITH_COMPLETE_PREREQ);
    assert_int_equal(run_at(&f, t + 10, c), PROVOST_JOB_SUCCESS);
    /* after a finished job: complete at once; after no job: refused */
    submit(&f, "Echo", "", "", &o, d);
    assert_int_equal(state_of(&f, d), PROVOST_JOB_WITH_COMPLETE_PREREQ);
    const char *nobody[] = {"1:{00000000-0000-4000-8000-000000000000}"};
    o.after = nobody;
    assert_int_equal(provost_queue_submit(f.e, req, strlen(req), &o, d, &err), -1);
    assert_int_equal(err.code, PROVOST_E_NOTFOUND);
    stop(&f);
}

static void test_suspended(void **state)
{
    (void)state;
    fx f;
    start(&f);
    char p[48], s[48], w[48];
    submit(&f, "Echo", "", "", NULL, p);
    provost_queue_options o = {.sync = PROVOST_SYNC_NONE, .suspended = 1};
    submit(&f, "Echo", "", "", &o, s);
    const char *after[] = {p};
    o.after = after;
    o.nafter = 1;
    submit(&f, "Echo", "", "", &o, w);
    assert_int_equal(state_of(&f, s), PROVOST_JOB_SUSPENDED);
    assert_int_equal(state_of(&f, w), PROVOST_JOB_SUSPENDED_WITH_WAITS);
    int64_t t = provost_now_ms() + 1000;
    assert_int_equal(run_at(&f, t, p), PROVOST_JOB_SUCCESS);
    assert_int_equal(idle_at(&f, t), -1); /* suspended jobs never run */
    assert_int_equal(state_of(&f, w), PROVOST_JOB_SUSPENDED); /* its prerequisite is done */
    provost_error err;
    assert_int_equal(provost_queue_activate(f.e, s, &err), 0);
    assert_int_equal(provost_queue_activate(f.e, w, &err), 0);
    assert_int_equal(state_of(&f, s), PROVOST_JOB_PENDING);
    assert_int_equal(state_of(&f, w), PROVOST_JOB_WITH_COMPLETE_PREREQ);
    assert_int_equal(provost_queue_activate(f.e, s, &err), -1); /* not suspended any more */
    assert_int_equal(err.code, PROVOST_E_INVALIDARG);
    assert_int_equal(run_at(&f, t, NULL), PROVOST_JOB_SUCCESS);
    assert_int_equal(run_at(&f, t, NULL), PROVOST_JOB_SUCCESS);
    stop(&f);
}

static void test_operator(void **state)
{
    (void)state;
    fx f;
    start(&f);
    char id[48], child[48];
    submit(&f, "Fail", "", "retryCount='1' retryInterval='5' onFailure='queueToOperator'", NULL, id);
    const char *after[] = {id};
    provost_queue_options o = {.sync = PROVOST_SYNC_NONE, .after = after, .nafter = 1};
    submit(&f, "Echo", "", "", &o, child);
    int64_t t = provost_now_ms() + 1000;
    assert_int_equal(run_at(&f, t, id), PROVOST_JOB_QUEUED_FOR_RETRY);
    assert_int_equal(run_at(&f, t + 5, id), PROVOST_JOB_FAILED_AWAITING_OPERATOR);
    assert_int_equal(idle_at(&f, t + 100000), -1);
    assert_int_equal(state_of(&f, child), PROVOST_JOB_WITH_INCOMPLETE_PREREQ); /* the operator decides */
    provost_error err;
    assert_int_equal(provost_queue_retry(f.e, child, &err), -1); /* only state 15 */
    assert_int_equal(provost_queue_retry(f.e, id, &err), 0);
    assert_int_equal(state_of(&f, id), PROVOST_JOB_QUEUED_FOR_RETRY);
    int64_t now = provost_now_ms() + 1000;
    assert_int_equal(run_at(&f, now, id), PROVOST_JOB_QUEUED_FOR_RETRY); /* its retries anew */
    assert_int_equal(run_at(&f, now + 5, id), PROVOST_JOB_FAILED_AWAITING_OPERATOR);
    assert_int_equal(provost_queue_delete(f.e, id, &err), 0);
    assert_int_equal(provost_queue_status(f.e, id, &(provost_job){0}, &err), -1);
    assert_int_equal(err.code, PROVOST_E_NOTFOUND);
    assert_int_equal(state_of(&f, child), PROVOST_JOB_WITH_COMPLETE_PREREQ); /* waits no more */
    assert_int_equal(run_at(&f, now, child), PROVOST_JOB_SUCCESS);
    stop(&f);
}

/* A queue step's job runs its procedure with the step's executeData (Fail's code). */
static void test_queue_step_runs(void **state)
{
    (void)state;
    fx f;
    start(&f);
    provost_response r;
    provost_error err;
    assert_int_equal(provost_call(f.e, "Q", "Later", NULL, 0, 0, &r, &err), 0);
    provost_response_free(&r);
    provost_job *v;
    size_t n;
    assert_int_equal(provost_queue_list(f.e, PROVOST_JOB_PENDING, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].what, "Q/Fail");
    char id[48];
    snprintf(id, sizeof id, "%s", v[0].id);
    provost_jobs_free(v, n);
    assert_int_equal(run_at(&f, provost_now_ms() + 1000, id), PROVOST_JOB_FAILURE);
    provost_job j;
    assert_int_equal(provost_queue_status(f.e, id, &j, &err), 0);
    assert_int_equal(j.code, 0x80070005u);
    provost_job_free(&j);
    stop(&f);
}

/* A worker dies while it runs a job (the test provider's Crash ends the process): the
 * next worker finds the job STARTED under a worker that is gone, and counts a failed
 * attempt (recovery rolled the run back when the database was opened). */
static void test_worker_died(void **state)
{
    (void)state;
    fx f;
    snprintf(f.path, sizeof f.path, "%s/db%d", root, ndb++);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    /* the child does it all: this process starts no engine (and so no thread) before it
     * forks */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        f.e = open_at(f.path);
        provost_error err;
        if (provost_register(f.e, "q.xml", ns, sizeof ns - 1, NULL, &err) != 0 ||
            !(f.w = provost_queue_worker_new(f.e, PROVOST_SYNC_NONE, &err)))
            _exit(1);
        char id[48];
        submit(&f, "Crash", "", "retryCount='1' retryInterval='10'", NULL, id);
        if (write(fds[1], id, sizeof id) != (ssize_t)sizeof id)
            _exit(1);
        provost_queue_ran ran;
        int64_t next;
        provost_queue_run_next(f.w, provost_now_ms(), &ran, &next, &err);
        _exit(1); /* not reached: Crash ends the process with 86 */
    }
    close(fds[1]);
    char id[48] = "";
    assert_int_equal(read(fds[0], id, sizeof id), (ssize_t)sizeof id);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 86);
    f.e = open_at(f.path);
    provost_error err;
    assert_non_null(f.w = provost_queue_worker_new(f.e, PROVOST_SYNC_NONE, &err));
    assert_int_equal(state_of(&f, id), PROVOST_JOB_STARTED);
    int64_t t = provost_now_ms() + 1000;
    size_t n;
    assert_int_equal(provost_queue_recover(f.w, t, &n, &err), 0);
    assert_int_equal(n, 1);
    provost_job j;
    assert_int_equal(provost_queue_status(f.e, id, &j, &err), 0);
    assert_int_equal(j.state, PROVOST_JOB_QUEUED_FOR_RETRY);
    assert_int_equal(j.attempts, 1);
    assert_int_equal(j.code, PROVOST_E_ABORTED);
    provost_job_free(&j);
    assert_int_equal(provost_queue_recover(f.w, t, &n, &err), 0);
    assert_int_equal(n, 0); /* settled once */
    stop(&f);
}

/* A worker dies after its run committed, before it recorded the job's success: the next
 * worker reads the run's outcome and settles the job as succeeded, never running it again. */
static void test_worker_died_after_commit(void **state)
{
    (void)state;
    fx f;
    start(&f);
    char id[48];
    submit(&f, "Echo", "", "retryCount='3'", NULL, id);
    pvm_job j;
    int64_t next;
    provost_error err;
    int64_t t = provost_now_ms() + 1000;
    assert_int_equal(pvm_jobs_claim(f.e, "gone:1:dead", t, PROVOST_SYNC_NONE, &j, &next, &err), 1);
    pvm_job_release(&j);
    char key[128];
    snprintf(key, sizeof key, "queue:%s:1", id);
    const char *req = "<request><procedure><execute namespace='Q' procedure='Echo'/></procedure></request>";
    provost_response r;
    assert_int_equal(provost_submit_keyed(f.e, key, req, strlen(req), 0, &r, &err), 0);
    assert_int_equal(r.failed, 0);
    provost_response_free(&r);
    assert_int_equal(state_of(&f, id), PROVOST_JOB_STARTED);
    size_t n;
    assert_int_equal(provost_queue_recover(f.w, t, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(state_of(&f, id), PROVOST_JOB_SUCCESS);
    assert_int_equal(idle_at(&f, t + 100000), -1);
    stop(&f);
}

/* Finding the next due job reads the first key of each priority class, however many jobs
 * are queued for later: three keys for 2,000 jobs, as for none; and then none, until the
 * first due time of a class changes. */
static void test_due_index_reads(void **state)
{
    (void)state;
    fx f;
    start(&f);
    int64_t t = provost_now_ms();
    provost_queue_options o = {.sync = PROVOST_SYNC_NONE, .due_ms = t + 3600000, .has_priority = 1};
    for (int i = 0; i < 2000; i++) {
        char id[48];
        o.priority = i % 3 == 0 ? -60 : i % 3 == 1 ? 0 : 10;
        submit(&f, "Echo", "", "", &o, id);
    }
    uint64_t before = provost_queue_keys_read();
    assert_int_equal(idle_at(&f, t + 1000), t + 3600000);
    assert_int_equal(provost_queue_keys_read() - before, 3);
    assert_int_equal(idle_at(&f, t + 2000), t + 3600000);
    assert_int_equal(provost_queue_keys_read() - before, 3); /* known: nothing read */
    /* an earlier job of one class is seen without a read; claiming it reads its class */
    char id[48];
    o.priority = 5;
    o.due_ms = t + 1800000;
    submit(&f, "Echo", "", "", &o, id);
    assert_int_equal(idle_at(&f, t + 3000), t + 1800000);
    assert_int_equal(provost_queue_keys_read() - before, 3);
    assert_int_equal(run_at(&f, t + 1800000, id), PROVOST_JOB_SUCCESS);
    assert_int_equal(provost_queue_keys_read() - before, 4);
    /* it went: its class is read again, and the next due time is the hour's */
    assert_int_equal(idle_at(&f, t + 1800001), t + 3600000);
    assert_int_equal(provost_queue_keys_read() - before, 5);
    stop(&f);
}

/* A job a queue step of an engine without the index stored: the first worker indexes it. */
static void test_old_jobs_indexed(void **state)
{
    (void)state;
    fx f;
    snprintf(f.path, sizeof f.path, "%s/db%d", root, ndb++);
    f.e = open_at(f.path);
    provost_error err;
    assert_int_equal(provost_register(f.e, "q.xml", ns, sizeof ns - 1, NULL, &err), 0);
    provost_close(f.e);
    bool created;
    char why[256];
    pvm_db *db = pvm_db_open(f.path, &created, why, sizeof why);
    assert_non_null(db);
    static const char id[] = "1:{6D1F6F2A-3C55-4E0B-9C31-2A8E0F4B7C11}";
    static const char old[] = "<job queueId=\"1:{6D1F6F2A-3C55-4E0B-9C31-2A8E0F4B7C11}\" state=\"4\" namespace=\"Q\" "
                              "procedure=\"Echo\" transactionId=\"{00000000-0000-4000-8000-000000000001}\">"
                              "<context/><executeData/></job>";
    assert_int_equal(pvm_db_put(db, PVM_CF_QUEUE, id, sizeof id - 1, old, sizeof old - 1, why, sizeof why), 0);
    pvm_db_close(db);
    f.e = open_at(f.path);
    assert_non_null(f.w = provost_queue_worker_new(f.e, PROVOST_SYNC_NONE, &err));
    assert_int_equal(run_at(&f, provost_now_ms(), id), PROVOST_JOB_SUCCESS);
    stop(&f);
}

static void *submit_one(void *arg)
{
    fx *f = arg;
    char id[48];
    submit(f, "Echo", "", "", NULL, id);
    return NULL;
}

/* A worker asleep until an hour from now wakes when another thread submits a job (were the
 * wake-up lost, the test would hang until ctest's timeout). */
static void test_submit_wakes_worker(void **state)
{
    (void)state;
    fx f;
    start(&f);
    uint64_t gen = provost_queue_generation();
    assert_int_equal(idle_at(&f, provost_now_ms()), -1);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, submit_one, &f), 0);
    provost_queue_wait(f.e, gen, provost_now_ms() + 3600000);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(run_at(&f, provost_now_ms(), NULL), PROVOST_JOB_SUCCESS);
    stop(&f);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_died),     /* forks: before any engine of this process */
        cmocka_unit_test(test_priority_then_due),  cmocka_unit_test(test_fixed_retries),
        cmocka_unit_test(test_exponential_retries), cmocka_unit_test(test_stop_on_failure),
        cmocka_unit_test(test_prerequisites),      cmocka_unit_test(test_error_state),      cmocka_unit_test(test_suspended),
        cmocka_unit_test(test_operator),           cmocka_unit_test(test_queue_step_runs),
        cmocka_unit_test(test_worker_died_after_commit), cmocka_unit_test(test_due_index_reads),
        cmocka_unit_test(test_old_jobs_indexed),   cmocka_unit_test(test_submit_wakes_worker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
