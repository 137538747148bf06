/*
 * cluster_batch.c -- `provost batch --cluster C`: enqueue a batch's requests in the
 * cluster (read as a local batch reads them) and print its id (--detach), or wait for it
 * with the local batch's progress, summary and exit status; and status, results, wait
 * and delete of a batch by id.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provost/batch.h"
#include "provost/cluster.h"
#include "tools.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static int enqueue_one(void *ud, const provost_batch_request *r)
{
    provost_error err;
    if (interrupted)
        return 1; /* the caller rolls the batch back */
    return provost_cluster_batch_add(ud, r->pos, r->input, r->line, r->client, r->kind, r->text, r->len, &err) == 0
               ? 0
               : (fprintf(stderr, "provost: batch: %s\n", err.message), 1);
}

static int parse_id(const char *v, int64_t *id)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < 1)
        return die("batch: '%s' is not a batch id (a number, as --detach printed it)", v);
    *id = n;
    return 0;
}

/* Waits until the batch is finished, showing progress; then the summary and the exit
 * status of a local batch (0 all succeeded, 1 some did not, 128+N interrupted).  Every
 * 250 ms it asks only whether a job of the batch is left (one index probe); the counts,
 * a read of the batch's results, only for a progress line and at the end. */
static int wait_batch(provost_cluster *c, int64_t id, bool quiet)
{
    provost_cluster_batch_info v;
    provost_error err;
    bool tty = !quiet && isatty(2);
    int every = quiet ? 0 : tty ? 4 : 20; /* rounds between progress lines: 1 s on a terminal, else 5 s */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t first = 0, shown = 0;
    for (int round = 0;; round++) {
        int pending = provost_cluster_batch_pending(c, id, &err);
        if (pending < 0)
            return die("batch: %s", err.message);
        bool last = !pending || interrupted;
        if (round == 0 || last || (every && round % every == 0)) {
            if (provost_cluster_batch_status(c, id, &v, &err) != 0)
                return die("batch: %s", err.message);
            if (round == 0)
                first = v.done;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
            if (!quiet && (v.done != shown || round == 0)) {
                provost_batch_progress p = {.done = v.done, .total = v.total, .failed = v.done - v.succeeded,
                                            .done_this_run = v.done - first, .elapsed = el,
                                            .rate = el > 0 ? (double)(v.done - first) / el : 0};
                batch_print_progress(stderr, &p, tty);
                shown = v.done;
            }
        }
        if (last)
            break;
        struct timespec nap = {0, 250 * 1000000};
        nanosleep(&nap, NULL);
    }
    if (tty)
        fputs("\r\033[K", stderr);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    provost_batch_summary s = {.requests = v.total, .run = v.done - first, .total = v.total,
                               .finished = v.done >= v.total, .stop = interrupted};
    s.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    s.by_status[PROVOST_BATCH_SUCCEEDED] = v.succeeded;
    s.by_status[PROVOST_BATCH_FAILED] = v.failed;
    s.by_status[PROVOST_BATCH_STUCK] = v.stuck;
    s.by_status[PROVOST_BATCH_INVALID] = v.invalid;
    snprintf(s.id, sizeof s.id, "%" PRId64, id);
    uint32_t codes[8];
    uint64_t counts[8];
    size_t n = 0;
    provost_batch_code bc[8];
    if (provost_cluster_batch_codes(c, id, codes, counts, 8, &n, &err) != 0)
        return die("batch: %s", err.message);
    for (size_t i = 0; i < n; i++)
        bc[i] = (provost_batch_code){codes[i], counts[i]};
    s.codes = bc;
    s.ncodes = n;
    if (!s.finished) {
        fprintf(stderr, "provost batch: batch %" PRId64 ": %" PRIu64 "/%" PRIu64 " done; it goes on in the cluster"
                        " (provost batch --cluster C wait %" PRId64 ")\n",
                id, v.done, v.total, id);
        return 128 + interrupted;
    }
    batch_print_summary(stderr, &s, NULL);
    fprintf(stderr, "  results: provost batch --cluster C results %" PRId64 "\n", id);
    return v.succeeded == v.total ? 0 : 1;
}

static int by_id(provost_cluster *c, const char *what, int argc, char **argv)
{
    int64_t id = 0;
    bool quiet = false;
    if (argc == 4 && (strcmp(argv[3], "--quiet") == 0 || strcmp(argv[3], "-q") == 0))
        quiet = true;
    else if (argc != 3)
        return die("batch: usage: provost batch --cluster C %s ID", what);
    if (parse_id(argv[2], &id))
        return 2;
    provost_error err;
    if (strcmp(what, "delete") == 0) {
        uint64_t n = 0;
        if (provost_cluster_batch_delete(c, id, 0, &n, &err) != 0) /* still running: 1, as a status */
            return err.code == PROVOST_E_EXISTS ? (die("batch: %s", err.message), 1) : die("batch: %s", err.message);
        printf("deleted batch %" PRId64 ": %" PRIu64 " result%s\n", id, n, n == 1 ? "" : "s");
        return 0;
    }
    if (strcmp(what, "results") == 0)
        return provost_cluster_batch_results(c, id, stdout, &err) == 0 ? 0 : die("batch: %s", err.message);
    if (strcmp(what, "wait") == 0)
        return wait_batch(c, id, quiet);
    provost_cluster_batch_info v;
    if (provost_cluster_batch_status(c, id, &v, &err) != 0)
        return die("batch: %s", err.message);
    printf("batch %" PRId64 ": %" PRIu64 "/%" PRIu64 " done: %" PRIu64 " succeeded, %" PRIu64 " failed, %" PRIu64
           " stuck, %" PRIu64 " invalid; %" PRIu64 " running, %" PRIu64 " queued\n",
           id, v.done, v.total, v.succeeded, v.failed, v.stuck, v.invalid, v.running, v.queued);
    return v.done < v.total ? 3 : v.succeeded == v.total ? 0 : 1;
}

/* Enqueues; then the id (--detach) or the wait.  inputs: room for argc names. */
static int enqueue(provost_cluster *c, int argc, char **argv, const char **inputs)
{
    const char *ns = NULL, *proc = NULL, *rows = NULL;
    int ninputs = 0, format = -1; /* -1: from the name or content */
    bool detach = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--detach") == 0) {
            detach = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (strcmp(a, "--call") == 0) {
            if (i + 2 >= argc)
                return die("batch: --call needs a namespace and a procedure (--call NAMESPACE PROCEDURE)");
            ns = argv[++i];
            proc = argv[++i];
        } else if (strcmp(a, "--rows") == 0 && i + 1 < argc) {
            rows = argv[++i];
        } else if (strcmp(a, "--format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            format = strcmp(f, "csv") == 0 ? PROVOST_BATCH_CSV : strcmp(f, "jsonl") == 0 ? PROVOST_BATCH_JSONL : -2;
            if (format == -2)
                return die("batch: --format takes csv or jsonl (not '%s')", f);
        } else if (a[0] == '-' && a[1]) {
            return die("batch: '%s' is not an option of a cluster's batch (see provost batch --help)", a);
        } else {
            inputs[ninputs++] = a;
        }
    }
    if (rows && !ns)
        return die("batch: --rows needs --call NAMESPACE PROCEDURE");
    if (rows && ninputs)
        return die("batch: give --rows FILE or INPUT files, not both");
    if (!rows && !ninputs)
        return die("batch: which requests? (usage: provost batch --cluster C [--detach] INPUT... or --call NS PROC "
                   "--rows FILE)");
    provost_error err;
    char shown[1024] = "";
    for (int i = 0; i < (rows ? 1 : ninputs); i++)
        snprintf(shown + strlen(shown), sizeof shown - strlen(shown), "%s%s", i ? " " : "", rows ? rows : inputs[i]);
    provost_cluster_batch *b = provost_cluster_batch_begin(c, ns, proc, shown, &err);
    if (!b)
        return die("batch: %s", err.message);
    char why[1400] = "";
    int each = provost_batch_each(inputs, ninputs, rows, format, ns, enqueue_one, b, why, sizeof why);
    if (interrupted) { /* as a local batch's interrupted read: nothing of it is kept */
        provost_cluster_batch_abort(b);
        fprintf(stderr, "provost: batch: interrupted while enqueueing: nothing enqueued\n");
        return 128 + interrupted;
    }
    if (each != 0) {
        provost_cluster_batch_abort(b);
        return strcmp(why, "stopped") == 0 ? 2 : die("batch: %s", why);
    }
    int64_t id = 0;
    if (provost_cluster_batch_commit(b, &id, &err) != 0)
        return die("batch: %s", err.message);
    if (detach) {
        printf("%" PRId64 "\n", id);
        return 0;
    }
    return wait_batch(c, id, quiet);
}

int cmd_cluster_batch(const char *conninfo, int argc, char **argv)
{
    provost_cluster *c = NULL;
    provost_error err;
    if (provost_cluster_open(conninfo, 1, &c, &err) != 0)
        return die("%s", err.message);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int status;
    if (argc > 1 && (strcmp(argv[1], "status") == 0 || strcmp(argv[1], "results") == 0 ||
                     strcmp(argv[1], "wait") == 0 || strcmp(argv[1], "delete") == 0)) {
        status = by_id(c, argv[1], argc, argv);
    } else {
        const char **inputs = calloc((size_t)argc, sizeof *inputs);
        status = inputs ? enqueue(c, argc, argv, inputs) : die("batch: out of memory");
        free(inputs);
    }
    provost_cluster_close(c);
    return status;
}
