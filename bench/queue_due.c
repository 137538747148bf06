/*
 * queue_due.c -- what waiting jobs cost the queue worker: the time to find the next due
 * job (provost_queue_run_next when nothing is due) on an empty queue, then again after
 * 1,000,000 jobs due tomorrow were queued through provost_queue_submit, and the keys of
 * the due index each look read.  An index ordered by priority class and due time makes
 * both the same: the ratio should be close to 1.  See bench/README.md ("Queue").
 *
 * usage: queue_due [JOBS] [LOOKS]   (default 1000000 and 100000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provost/provost.h"
#include "provost/queue.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Microseconds per look for the next due job; *keys: index keys read per look. */
static double looks(provost_queue_worker *w, long n, double *keys)
{
    int64_t now = provost_now_ms(), next;
    provost_queue_ran ran;
    provost_error err;
    uint64_t k0 = provost_queue_keys_read();
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        if (provost_queue_run_next(w, now, &ran, &next, &err) != 0) {
            fprintf(stderr, "queue_due: a job was due, or: %s\n", err.message);
            exit(1);
        }
    double t = now_s() - t0;
    *keys = (double)(provost_queue_keys_read() - k0) / (double)n;
    return t / (double)n * 1e6;
}

int main(int argc, char **argv)
{
    long jobs = argc > 1 ? atol(argv[1]) : 1000000, n = argc > 2 ? atol(argv[2]) : 100000;
    char dir[] = "/var/tmp/provost-queue-due-XXXXXX";
    if (jobs <= 0 || n <= 0 || !mkdtemp(dir))
        return 2;
    char db[300];
    snprintf(db, sizeof db, "%s/db", dir);
    provost_options o = {.db_path = db, .sync = PROVOST_SYNC_NONE};
    provost_engine *e;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0)
        return fprintf(stderr, "queue_due: %s\n", err.message), 1;
    provost_queue_worker *w = provost_queue_worker_new(e, PROVOST_SYNC_NONE, &err);
    if (!w)
        return fprintf(stderr, "queue_due: %s\n", err.message), 1;
    double k_empty, k_full;
    double empty = 0;
    for (int r = 0; r < 3; r++) {
        double t = looks(w, n, &k_empty);
        empty = r == 0 || t < empty ? t : empty;
    }

    static const char req[] = "<request><procedure><execute namespace='Q' procedure='Echo'/></procedure>"
                              "<context><queueContext retryCount='3' retryInterval='1000'/></context></request>";
    provost_queue_options qo = {.sync = PROVOST_SYNC_NONE, .has_priority = 1};
    int64_t tomorrow = provost_now_ms() + 86400000;
    double t0 = now_s();
    for (long i = 0; i < jobs; i++) {
        char id[48];
        qo.priority = i % 3 == 0 ? -60 : i % 3 == 1 ? 0 : 10;
        qo.due_ms = tomorrow + i % 3600000;
        if (provost_queue_submit(e, req, sizeof req - 1, &qo, id, &err) != 0)
            return fprintf(stderr, "queue_due: %s\n", err.message), 1;
    }
    double enqueue = now_s() - t0;
    /* best of three, a second apart: RocksDB flushes and compacts what was just written in
     * background threads, which share the cores with the looks */
    double full = 0;
    for (int r = 0; r < 3; r++) {
        if (r)
            sleep(1);
        double t = looks(w, n, &k_full);
        full = r == 0 || t < full ? t : full;
    }
    /* the look that reads the index: the first after the engine opens again (the earliest
     * due time of each class is then unknown), the median of a few reopenings */
    double cold[5];
    for (int r = 0; r < 5; r++) {
        provost_queue_worker_free(w);
        provost_close(e);
        if (provost_open(&o, &e, &err) != 0 || !(w = provost_queue_worker_new(e, PROVOST_SYNC_NONE, &err)))
            return fprintf(stderr, "queue_due: %s\n", err.message), 1;
        double k;
        cold[r] = looks(w, 1, &k);
        for (int i = r; i > 0 && cold[i] < cold[i - 1]; i--) {
            double x = cold[i];
            cold[i] = cold[i - 1];
            cold[i - 1] = x;
        }
    }
    printf("queued %ld jobs due tomorrow in %.1f s (%.0f jobs/s)\n", jobs, enqueue, (double)jobs / enqueue);
    printf("next due job, empty queue:     %8.2f us per look, %.1f index keys read\n", empty, k_empty);
    printf("next due job, %7ld waiting: %8.2f us per look, %.1f index keys read\n", jobs, full, k_full);
    printf("ratio (waiting / empty): %.2f\n", full / empty);
    printf("a look that reads the index (the first after opening), %ld waiting: %.1f us (3 keys)\n", jobs, cold[2]);
    provost_queue_worker_free(w);
    provost_close(e);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
