/*
 * cmd_worker.c -- `provost worker`: runs queued jobs (run/worker.c) and prints one line
 * per job run (and per spooled submit it refused) and a summary.  SIGINT and SIGTERM stop
 * it after the jobs it is running.  Under a service manager ($NOTIFY_SOCKET, Type=notify)
 * it reports READY=1 once it runs jobs and STOPPING=1 when a signal asks it to stop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/provost.h"
#include "provost/queue.h"
#include "provost/sdnotify.h"
#include "tools.h"

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
    int saved = errno;
    signalled = sig;
    provost_worker_stop();
    provost_notify("STOPPING=1");
    errno = saved;
}

static void on_ready(void *ud)
{
    (void)ud;
    /* an unusable NOTIFY_SOCKET was reported once already, at the start */
    if (provost_notify_init() >= 0 && provost_notify("READY=1") < 0)
        fprintf(stderr, "provost worker: cannot tell the service manager it is ready: %s\n", strerror(errno));
}

static void print_job(void *ud, const provost_queue_ran *r)
{
    if (*(int *)ud)
        return;
    const char *s = provost_job_state_name(r->state);
    if (r->code)
        printf("%s attempt %u: %s (0x%08X)\n", r->id, r->attempt, s ? s : "?", r->code);
    else
        printf("%s attempt %u: %s\n", r->id, r->attempt, s ? s : "?");
    fflush(stdout);
}

static void print_reject(void *ud, const char *file, const char *why)
{
    (void)ud;
    printf("%s: rejected, moved to rejected/: %s\n", file, why);
    fflush(stdout);
}

int cmd_worker(int argc, char **argv)
{
    const char *cluster = tool_cluster_given();
    if (argc > 2 && strcmp(argv[1], "--cluster") == 0)
        return cmd_cluster_worker(argv[2], argc - 2, argv + 2);
    if (cluster)
        return cmd_cluster_worker(cluster, argc, argv);
    int quiet = 0;
    provost_worker_options o = {.threads = 1, .mode = PROVOST_WORKER_FOREVER, .on_job = print_job, .ud = &quiet};
    int sync = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--threads") == 0 || strcmp(a, "-t") == 0) && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || n < 1 || n > 256)
                return die("worker: --threads takes a number from 1 to 256, not '%s'", argv[i]);
            o.threads = (unsigned)n;
        } else if (strcmp(a, "--once") == 0) {
            o.mode = PROVOST_WORKER_ONCE;
        } else if (strcmp(a, "--drain") == 0) {
            o.mode = PROVOST_WORKER_DRAIN;
        } else if (strcmp(a, "--sync") == 0 && i + 1 < argc) {
            if ((sync = parse_sync(argv[++i])) < 0)
                return die("worker: --sync takes always, group or none (not '%s')", argv[i]);
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
        } else {
            return die("worker: unknown argument '%s' (see provost worker --help)", a);
        }
    }
    int status = 0;
    provost_engine *e = tool_open_engine(sync, &status);
    if (!e)
        return status;
    provost_options eo = tool_engine_options(sync);
    o.sync = eo.sync;
    o.spool_db = eo.db_path; /* what `provost queue submit` spooled while this runs */
    o.on_reject = print_reject;
    o.on_ready = on_ready;
    if (provost_notify_init() < 0) /* read before the handlers may send from a signal */
        fprintf(stderr, "provost worker: NOTIFY_SOCKET is not usable: %s\n", strerror(errno));
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    provost_worker_summary s;
    provost_error err;
    int rc = provost_worker_run(e, &o, &s, &err);
    provost_close(e);
    if (rc != 0)
        return die("worker: %s", err.message);
    fprintf(stderr, "provost worker: %zu runs: %zu succeeded, %zu to retry, %zu failed", s.ran, s.succeeded,
            s.retried, s.failed);
    if (s.recovered)
        fprintf(stderr, "; %zu left running by a worker that stopped, settled", s.recovered);
    fputc('\n', stderr);
    return signalled ? 128 + signalled : 0;
}
