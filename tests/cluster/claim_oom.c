/*
 * claim_oom.c -- a claim that memory runs out while reading: every job it cannot hold
 * whole goes back to the queue at once, its attempt not counted, and no job is handed on
 * with a part missing.  calloc and strdup are wrapped (-Wl,--wrap) to fail on demand.
 * Run by claim_oom.sh with the conninfo of a cluster it initialised on its own server.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/pcl.h"

static int calloc_fails_at, strdup_fails_at; /* the Nth call from now fails; 0: none does */
static int failures;

void *__real_calloc(size_t n, size_t size);
char *__real_strdup(const char *s);

void *__wrap_calloc(size_t n, size_t size)
{
    if (calloc_fails_at && --calloc_fails_at == 0)
        return NULL;
    return __real_calloc(n, size);
}

char *__wrap_strdup(const char *s)
{
    if (strdup_fails_at && --strdup_fails_at == 0)
        return NULL;
    return __real_strdup(s);
}

static void expect(const char *what, long want, long got)
{
    if (want != got) {
        printf("FAIL: %s: %ld, expected %ld\n", what, got, want);
        failures++;
    }
}

static long count(provost_cluster *c, const char *sql)
{
    provost_error err;
    PGresult *r = pcl_query(c->pg, "count", sql, 0, NULL, &err);
    long n = r ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return n;
}

/* Claims three jobs with the Nth calloc or strdup failing; want: how many it holds. */
static void claim(provost_cluster *c, int64_t id, int64_t epoch, const char *what, int at_calloc, int at_strdup,
                  long want)
{
    pcl_job **got = NULL;
    size_t n = 0;
    provost_error err;
    calloc_fails_at = at_calloc;
    strdup_fails_at = at_strdup;
    int rc = pcl_claim(c->pg, id, epoch, 3, &got, &n, &err);
    calloc_fails_at = strdup_fails_at = 0;
    char m[200];
    snprintf(m, sizeof m, "%s: the claim's status", what);
    expect(m, 0, rc);
    snprintf(m, sizeof m, "%s: jobs held", what);
    expect(m, want, (long)n);
    for (size_t i = 0; i < n; i++) {
        snprintf(m, sizeof m, "%s: a job held has its request", what);
        expect(m, 1, got[i]->request != NULL);
    }
    snprintf(m, sizeof m, "%s: jobs left claimed", what);
    expect(m, want, count(c, "SELECT count(*) FROM provost.jobs WHERE worker IS NOT NULL"));
    snprintf(m, sizeof m, "%s: jobs given back, their attempt not counted", what);
    expect(m, 3 - want, count(c, "SELECT count(*) FROM provost.jobs WHERE worker IS NULL AND attempt = 0"));
    if (pcl_release(c->pg, id, epoch, got, n, &err) != 0)
        expect(err.message, 0, 1);
    for (size_t i = 0; i < n; i++)
        pcl_job_free(got[i]);
    free(got);
    /* the next case starts from three jobs queued, whatever this one left */
    if (pcl_exec(c->pg, "reset", "UPDATE provost.jobs SET worker = NULL, epoch = NULL, claimed = NULL, attempt = 0", 0,
                 NULL, &err) != 0)
        expect(err.message, 0, 1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cluster_claim_oom CONNINFO\n");
        return 2;
    }
    provost_cluster *c = NULL;
    provost_error err;
    provost_cluster_batch *b = NULL;
    int64_t batch = 0, id = 0, epoch = 0;
    if (provost_cluster_open(argv[1], 1, &c, &err) != 0 || !(b = provost_cluster_batch_begin(c, NULL, NULL, "t", &err))) {
        printf("FAIL: %s\n", err.message);
        provost_cluster_close(c);
        return 1;
    }
    static const char req[] = "<request><procedure/></request>";
    for (uint64_t pos = 1; pos <= 3; pos++)
        if (provost_cluster_batch_add(b, pos, "t", 1, NULL, 'r', req, sizeof req - 1, &err) != 0)
            expect(err.message, 0, 1);
    if (provost_cluster_batch_commit(b, &batch, &err) != 0 ||
        pcl_worker_register(c->pg, "oom", 1, 600000, &id, &epoch, &err) != 0) {
        printf("FAIL: %s\n", err.message);
        provost_cluster_close(c);
        return 1;
    }
    claim(c, id, epoch, "nothing fails", 0, 0, 3);
    claim(c, id, epoch, "the claim's array", 1, 0, 0);
    claim(c, id, epoch, "the first job", 2, 0, 0);
    claim(c, id, epoch, "the second job", 3, 0, 1);
    claim(c, id, epoch, "the first request", 0, 1, 0);
    claim(c, id, epoch, "the second request", 0, 2, 1);
    provost_cluster_close(c);
    printf("%s\n", failures ? "claim_oom: failed" : "claim_oom: passed");
    return failures ? 1 : 0;
}
