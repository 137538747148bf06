/*
 * queue_crash.c -- provost worker killed with SIGKILL at random moments while it runs
 * 1,000 jobs with retries (SPEC §11), then started again until it drains the queue.
 * Afterwards every job is in the state its policy says (succeeded; failed after its
 * retries; parked for the operator by its stop code), no job ran to success twice (each
 * attempt's submission key queue:ID:N has its outcome in the journal's outcomes: at most
 * one is committed, and a succeeded job's last one is), and none succeeded that should not.
 * usage: queue_crash [JOBS] (default 1000, or $PROVOST_QUEUE_CRASH_JOBS)
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "provost/provost.h"
#include "provost/queue.h"

#ifndef PROVOST_CLI
#error "PROVOST_CLI must name the provost command"
#endif

extern char **environ;

static int failures;
static int last_status;
#define CHECK(cond, ...)                                                                                             \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            if (failures++ < 20) {                                                                                   \
                fprintf(stderr, "FAIL: ");                                                                           \
                fprintf(stderr, __VA_ARGS__);                                                                        \
                fputc('\n', stderr);                                                                                 \
            }                                                                                                        \
        }                                                                                                            \
    } while (0)

static const char ns[] = "<namespace name='Q' providerSource='test'>"
                         "<procedure name='Sleep' type='write'/><procedure name='Echo' type='write'/>"
                         "<procedure name='Fail' type='write'/></namespace>";

/* The policy of job i, and the state it must end in. */
enum kind { SUCCEEDS, FAILS, STOPS };

static enum kind kind_of(int i)
{
    return i % 4 < 2 ? SUCCEEDS : i % 4 == 2 ? FAILS : STOPS;
}

static int expected_state(enum kind k)
{
    return k == SUCCEEDS ? PROVOST_JOB_SUCCESS : k == FAILS ? PROVOST_JOB_FAILURE
                                                            : PROVOST_JOB_FAILED_AWAITING_OPERATOR;
}

static void request_of(int i, char *out, size_t n)
{
    const char *last, *qc;
    switch (kind_of(i)) {
    case SUCCEEDS:
        last = "<execute namespace='Q' procedure='Echo'/>";
        qc = "retryCount='1000' retryInterval='1'"; /* enough for every kill */
        break;
    case FAILS:
        last = "<execute namespace='Q' procedure='Fail'/>";
        qc = i % 8 == 2 ? "retryCount='2' retryInterval='1' retryType='exponential'" : "retryCount='2' retryInterval='1'";
        break;
    default:
        last = "<execute namespace='Q' procedure='Fail'><executeData><code>0x80070057</code></executeData></execute>";
        qc = "retryCount='1000' retryInterval='1' retryStopOnFailure='0x80070057' onFailure='queueToOperator'";
        break;
    }
    snprintf(out, n,
             "<request><procedure><execute namespace='Q' procedure='Sleep'><executeData><ms>%d</ms></executeData>"
             "</execute>%s</procedure><context><queueContext %s/></context></request>",
             1 + i % 3, last, qc);
}

static provost_engine *open_db(const char *path)
{
    provost_options o = {.db_path = path, .sync = PROVOST_SYNC_NONE};
    provost_engine *e;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0) {
        fprintf(stderr, "open %s: %s\n", path, err.message);
        exit(1);
    }
    return e;
}

/* The worker, its line per job run going to out. */
static pid_t start_worker(const char *db, const char *out, const char *errs)
{
    char *argv[] = {(char *)PROVOST_CLI, "--db", (char *)db, "--sync", "none", "worker", "--drain",
                    "--threads", "4", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, errs, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    if (posix_spawn(&pid, PROVOST_CLI, &fa, NULL, argv, environ) != 0) {
        perror("posix_spawn");
        exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static long lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    for (int c; f && (c = getc(f)) != EOF;)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

/* Waits until the worker has run `runs` jobs (so that the kill lands while it runs jobs,
 * however long it took to open the database), or has ended: 1 still running. */
static int wait_for_runs(pid_t pid, const char *out, long runs)
{
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            last_status = status;
            return 0;
        }
        if (lines_in(out) >= runs)
            return 1;
        struct timespec d = {0, 5000000};
        nanosleep(&d, NULL);
    }
}

/* Counts the committed outcomes of job j's attempts; *last_committed: its last attempt's. */
static int committed(provost_engine *e, const provost_job *j, int *last_committed)
{
    int n = 0;
    *last_committed = 0;
    for (unsigned a = 1; a <= j->attempts + 1; a++) {
        char key[128], *o = NULL;
        snprintf(key, sizeof key, "queue:%s:%u", j->id, a);
        if (provost_outcome(e, key, &o) == 1 && strncmp(o, "committed", 9) == 0) {
            n++;
            *last_committed = a == j->attempts;
        }
        free(o);
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *env = getenv("PROVOST_QUEUE_CRASH_JOBS");
    int njobs = argc > 1 ? atoi(argv[1]) : env ? atoi(env) : 1000;
    char root[] = "/tmp/provost-queue-crash-XXXXXX";
    if (!mkdtemp(root) || njobs <= 0)
        return 1;
    char db[300];
    snprintf(db, sizeof db, "%s/db", root);
    provost_engine *e = open_db(db);
    provost_error err;
    if (provost_register(e, "q.xml", ns, sizeof ns - 1, NULL, &err) != 0)
        return fprintf(stderr, "register: %s\n", err.message), 1;
    char (*ids)[48] = calloc((size_t)njobs, sizeof *ids);
    provost_queue_options qo = {.sync = PROVOST_SYNC_NONE};
    for (int i = 0; i < njobs; i++) {
        char req[1024];
        request_of(i, req, sizeof req);
        if (provost_queue_submit(e, req, strlen(req), &qo, ids[i], &err) != 0)
            return fprintf(stderr, "submit: %s\n", err.message), 1;
    }
    provost_close(e);

    /* kill -9 at random moments, then let one run drain what is left */
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int kills = 0, runs = 0, drained = 0;
    char out[320], errs[320];
    snprintf(out, sizeof out, "%s/worker.out", root);
    snprintf(errs, sizeof errs, "%s/worker.err", root);
    for (; runs < 40 && !drained; runs++) {
        pid_t pid = start_worker(db, out, errs);
        int status;
        /* killed after 1 to 100 runs: mid-stream, with up to four jobs running */
        if (kills < 8 && wait_for_runs(pid, out, 1 + rand() % 100)) {
            kill(pid, SIGKILL);
            kills++;
            waitpid(pid, &status, 0);
        } else if (kills < 8) {
            status = last_status;
        } else {
            waitpid(pid, &status, 0);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            drained = 1;
        else if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
            fprintf(stderr, "the worker ended with status %d; it said:\n", status);
            FILE *f = fopen(errs, "r");
            for (int c; f && (c = getc(f)) != EOF;)
                putc(c, stderr);
            if (f)
                fclose(f);
            return 1;
        }
    }
    CHECK(drained, "the queue was not drained after %d runs", runs);

    e = open_db(db);
    size_t recovered = 0, retried_successes = 0;
    for (int i = 0; i < njobs; i++) {
        provost_job j;
        if (provost_queue_status(e, ids[i], &j, &err) != 0) {
            CHECK(0, "job %d: %s", i, err.message);
            continue;
        }
        enum kind k = kind_of(i);
        CHECK(j.state == expected_state(k), "job %d (%s) is in state %d, not %d", i, j.id, j.state,
              expected_state(k));
        int last = 0, n = committed(e, &j, &last);
        CHECK(n == (k == SUCCEEDS), "job %d (%s): %d runs committed", i, j.id, n);
        if (k == SUCCEEDS) {
            CHECK(last, "job %d (%s): its last attempt (%u) is not the committed one", i, j.id, j.attempts);
            retried_successes += j.attempts > 1;
        }
        if (k == FAILS)
            CHECK(j.attempts == 3, "job %d (%s): %u attempts, not 3", i, j.id, j.attempts);
        recovered += j.attempts > 1 && k == SUCCEEDS;
        provost_job_free(&j);
    }
    provost_close(e);
    /* the kills landed while jobs ran: some job needed a second attempt to succeed */
    CHECK(kills == 0 || recovered > 0, "%d kills, and no job was ever interrupted", kills);
    printf("%d jobs, %d kills, %d worker runs; %zu succeeded jobs needed more than one attempt\n", njobs, kills,
           runs, retried_successes);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    free(ids);
    return failures ? 1 : 0;
}
