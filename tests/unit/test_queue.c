/*
 * test_queue.c -- queue steps (SPEC §6, §11): a job queued suspended becomes pending when
 * its transaction commits and disappears when it rolls back -- also when the process dies
 * before the end and recovery settles the transaction; a job queued active stays whatever
 * happens.  The jobs are read from the database's queue column family.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "provost/provost.h"
#include "vm/db.h"

static char root[] = "/tmp/provost-queue-XXXXXX";
static int ndb;

static const char ns[] = "<namespace name='Q' providerSource='test'>"
                         "<procedure name='Job' type='write'/><procedure name='Echo' type='write'/>"
                         "<procedure name='Fail' type='write'/><procedure name='Crash' type='write'/>"
                         "</namespace>";

static void path_of(char *out, size_t n)
{
    snprintf(out, n, "%s/db%d", root, ndb++);
}

static provost_engine *open_at(const char *path)
{
    provost_options o = {.db_path = path, .sync = PROVOST_SYNC_NONE};
    provost_engine *e;
    provost_error err;
    assert_int_equal(provost_open(&o, &e, &err), 0);
    return e;
}

static void run(provost_engine *e, const char *steps, int want_failed)
{
    char req[2048];
    snprintf(req, sizeof req, "<request><procedure>%s</procedure></request>", steps);
    provost_response r;
    provost_error err;
    assert_int_equal(provost_submit(e, req, strlen(req), 0, &r, &err), 0);
    assert_int_equal(r.failed, want_failed);
    provost_response_free(&r);
}

typedef struct jobs {
    int n;
    char states[8][8];
} jobs;

static int one_job(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    (void)key;
    (void)klen;
    jobs *j = ud;
    const char *s = memmem(val, vlen, "state=\"", 7);
    if (j->n < 8 && s)
        snprintf(j->states[j->n], sizeof j->states[j->n], "%.*s", (int)strcspn(s + 7, "\""), s + 7);
    j->n++;
    return 0;
}

/* The jobs of a closed database. */
static jobs jobs_in(const char *path)
{
    bool created;
    char err[256];
    pvm_db *db = pvm_db_open(path, &created, err, sizeof err);
    assert_non_null(db);
    jobs j = {0};
    assert_int_equal(pvm_db_each(db, PVM_CF_QUEUE, one_job, &j, err, sizeof err), 0);
    pvm_db_close(db);
    return j;
}

#define QUEUE(susp) "<queue namespace='Q' procedure='Job' queueSuspended='" susp "'/>"
#define STEP(p) "<execute namespace='Q' procedure='" p "'/>"

static void test_commit_and_rollback(void **state)
{
    (void)state;
    static const struct {
        const char *steps;
        int failed;
        int jobs;
        const char *job_state;
    } cases[] = {
        {QUEUE("1") STEP("Echo"), 0, 1, "4"},  /* committed: pending */
        {QUEUE("1") STEP("Fail"), 1, 0, NULL}, /* rolled back: gone */
        {QUEUE("0") STEP("Fail"), 1, 1, "4"},  /* active: stays */
        {QUEUE("1"), 0, 1, "4"},               /* a transaction with nothing but the job */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[256];
        path_of(path, sizeof path);
        provost_engine *e = open_at(path);
        provost_error err;
        assert_int_equal(provost_register(e, "q.xml", ns, sizeof ns - 1, NULL, &err), 0);
        run(e, cases[i].steps, cases[i].failed);
        provost_close(e);
        jobs j = jobs_in(path);
        assert_int_equal(j.n, cases[i].jobs);
        if (cases[i].job_state)
            assert_string_equal(j.states[0], cases[i].job_state);
    }
}

/* The process dies after queuing: recovery deletes the suspended job with the rest. */
static void test_crash(void **state)
{
    (void)state;
    char path[256];
    path_of(path, sizeof path);
    provost_engine *e = open_at(path);
    provost_error err;
    assert_int_equal(provost_register(e, "q.xml", ns, sizeof ns - 1, NULL, &err), 0);
    provost_close(e);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        provost_engine *c = open_at(path);
        const char *req = "<request><procedure>" QUEUE("1") STEP("Echo") STEP("Crash") "</procedure></request>";
        provost_response r;
        provost_submit(c, req, strlen(req), 0, &r, &err);
        _exit(1); /* not reached: Crash ends the process with 86 */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 86);
    jobs before = jobs_in(path);
    assert_int_equal(before.n, 1);
    assert_string_equal(before.states[0], "13"); /* still suspended */
    e = open_at(path); /* recovery */
    provost_close(e);
    jobs after = jobs_in(path);
    assert_int_equal(after.n, 0);
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
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_crash), cmocka_unit_test(test_commit_and_rollback)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
