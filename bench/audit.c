/*
 * audit.c -- the audit trail's time index: a query over the last hour of a large trail
 * reads that hour only.  Writes N records (default 10,000,000) spread evenly over the last
 * 30 days directly through provost_audit_append, in atomic batches, then times the
 * last-hour query (a seek to its start) against a full scan that keeps the same hour, and
 * prints both times, their ratio and the keys each read.
 *
 *   audit [-n N] [-b BATCH] [-r REPEAT] [-d DIR] [-k]
 *     -n N       records (default 10000000)
 *     -b BATCH   records per write (default 10000)
 *     -r REPEAT  runs of each query, the best kept (default 3)
 *     -d DIR     where the database goes (default: a new directory under $TMPDIR or /tmp)
 *     -k         keep the database (a second run with -d DIR and -n 0 queries it again)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "provost/audit.h"
#include "provost/provost.h"

#define HOUR 3600000000000ull
#define SPAN (30 * 24 * HOUR)

static uint64_t wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct tally {
    uint64_t since, kept;
} tally;

static int keep(void *ud, const provost_audit_record *r)
{
    tally *t = ud;
    t->kept += r->time >= t->since;
    return 0;
}

/* Best of repeat runs: seconds, with the keys read and the records kept. */
static double timed(provost_engine *e, const provost_audit_filter *f, uint64_t since, int repeat,
                    provost_audit_stats *st, uint64_t *kept)
{
    double best = 1e30;
    for (int i = 0; i < repeat; i++) {
        tally t = {.since = since};
        provost_error err;
        double t0 = mono();
        if (provost_audit_query(e, f, keep, &t, st, &err) != 0) {
            fprintf(stderr, "audit: query: %s\n", err.message);
            exit(1);
        }
        double s = mono() - t0;
        best = s < best ? s : best;
        *kept = t.kept;
    }
    return best;
}

int main(int argc, char **argv)
{
    uint64_t n = 10000000;
    size_t batch = 10000;
    int repeat = 3, keepdb = 0;
    const char *dir = NULL;
    for (int c; (c = getopt(argc, argv, "n:b:r:d:k")) != -1;) {
        switch (c) {
        case 'n': n = strtoull(optarg, NULL, 10); break;
        case 'b': batch = strtoul(optarg, NULL, 10); break;
        case 'r': repeat = atoi(optarg); break;
        case 'd': dir = optarg; break;
        case 'k': keepdb = 1; break;
        default:
            fprintf(stderr, "usage: audit [-n N] [-b BATCH] [-r REPEAT] [-d DIR] [-k]\n");
            return 2;
        }
    }
    if (!batch || repeat < 1) {
        fprintf(stderr, "audit: -b and -r take positive numbers\n");
        return 2;
    }
    char made[4096];
    if (!dir) {
        const char *tmp = getenv("TMPDIR");
        snprintf(made, sizeof made, "%s/provost-audit-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(made)) {
            perror("audit: mkdtemp");
            return 1;
        }
        dir = made;
    }
    if (dir != made && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "audit: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/db", dir);
    provost_options o = {.db_path = path, .caller = "bench", .sync = PROVOST_SYNC_NONE};
    provost_engine *e;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0) {
        fprintf(stderr, "audit: %s\n", err.message);
        return 1;
    }
    uint64_t now = wall(), first = now - SPAN;
    provost_audit_record *v = calloc(batch, sizeof *v);
    double t0 = mono();
    for (uint64_t i = 0; v && i < n; i += batch) {
        size_t m = n - i < batch ? (size_t)(n - i) : batch;
        for (size_t k = 0; k < m; k++) {
            uint64_t j = i + k;
            v[k] = (provost_audit_record){.time = first + (uint64_t)((double)j * ((double)SPAN / (double)n)),
                                          .client = "", .principal = j % 7 ? "alice" : "bob", .ns = "Mail",
                                          .proc = j % 3 ? "CreateMailbox" : "DeleteMailbox", .failed = j % 50 == 0,
                                          .code = j % 50 == 0 ? 0x80004005u : 0, .duration = 1000 + j % 5000};
            snprintf(v[k].txid, sizeof v[k].txid, "{%036" PRIu64 "}", j);
        }
        if (provost_audit_append(e, v, m, 0, &err) != 0) {
            fprintf(stderr, "audit: append: %s\n", err.message);
            return 1;
        }
    }
    free(v);
    double wrote = mono() - t0;
    if (n)
        printf("wrote %" PRIu64 " records over 30 days in %.1f s (%.0f records/s)\n", n, wrote, (double)n / wrote);

    uint64_t since = now - HOUR, kept_range, kept_scan;
    provost_audit_filter hour = {.since = since, .outcome = -1}, all = {.outcome = -1};
    provost_audit_stats st_range, st_scan;
    double range = timed(e, &hour, 0, repeat, &st_range, &kept_range);
    double scan = timed(e, &all, since, repeat, &st_scan, &kept_scan);
    printf("%-22s %12s %14s %10s\n", "query", "seconds", "keys read", "records");
    printf("%-22s %12.6f %14" PRIu64 " %10" PRIu64 "\n", "last hour (seek)", range, st_range.keys_read, kept_range);
    printf("%-22s %12.6f %14" PRIu64 " %10" PRIu64 "\n", "full scan, same hour", scan, st_scan.keys_read, kept_scan);
    printf("ratio: the full scan took %.0f times as long and read %.0f times the keys\n", scan / range,
           (double)st_scan.keys_read / (double)(st_range.keys_read ? st_range.keys_read : 1));
    provost_close(e);
    if (kept_range != kept_scan) {
        fprintf(stderr, "audit: the two queries disagree (%" PRIu64 " and %" PRIu64 " records)\n", kept_range,
                kept_scan);
        return 1;
    }
    if (!keepdb && dir == made) {
        char cmd[4300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", made);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
