/*
 * retain.c -- keeping finished results from piling up: a finished batch deleted by id
 * (`provost batch --cluster C delete ID`), and every batch finished longer ago than a
 * duration (`provost cluster prune --older-than D`).  Results go in chunks, each one
 * statement and so its own short transaction: a million-row batch never holds one open
 * transaction that keeps vacuum from reclaiming the rows the workers churn through.  A
 * batch's row goes last, so a delete cut short leaves a batch that a second one finishes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcl.h"

/* Rows of one batch still queued or running, or -1. */
static int64_t live_jobs(PGconn *pg, const char *id, provost_error *err)
{
    const char *p[1] = {id};
    PGresult *r = pcl_query(pg, "delete", "SELECT count(*) FROM provost.jobs WHERE batch = $1", 1, p, err);
    if (!r)
        return -1;
    int64_t n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

/* Deletes the results of a batch that has no job left, chunk rows per statement (each
 * by the key's index, lowest positions first), then its row. */
static int drop_batch(PGconn *pg, const char *id, unsigned chunk, uint64_t *results, provost_error *err)
{
    unsigned per = chunk ? chunk : PROVOST_CLUSTER_CHUNK;
    char lim[24];
    snprintf(lim, sizeof lim, "%u", per);
    const char *p[2] = {id, lim};
    *results = 0;
    for (;;) {
        PGresult *r = pcl_query(pg, "delete",
                                "DELETE FROM provost.results WHERE batch = $1 AND position IN"
                                " (SELECT position FROM provost.results WHERE batch = $1 ORDER BY position LIMIT $2)",
                                2, p, err);
        if (!r)
            return -1;
        uint64_t n = strtoull(PQcmdTuples(r), NULL, 10);
        PQclear(r);
        *results += n;
        if (n < per)
            break;
    }
    return pcl_exec(pg, "delete", "DELETE FROM provost.batches WHERE id = $1", 1, p, err);
}

int provost_cluster_batch_delete(provost_cluster *c, int64_t id, unsigned chunk, uint64_t *results,
                                 provost_error *err)
{
    *results = 0;
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[1] = {ids};
    PGresult *r = pcl_query(c->pg, "delete", "SELECT 1 FROM provost.batches WHERE id = $1", 1, p, err);
    if (!r)
        return -1;
    int found = PQntuples(r);
    PQclear(r);
    if (!found)
        return pcl_fail(err, PROVOST_E_NOTFOUND, "batch %" PRId64 ": no such batch in the cluster", id);
    /* a batch's jobs are all enqueued with its row, and a finished job never comes back:
       once none is left, none appears while its results are deleted */
    int64_t live = live_jobs(c->pg, ids, err);
    if (live < 0)
        return -1;
    if (live > 0)
        return pcl_fail(err, PROVOST_E_EXISTS,
                        "batch %" PRId64 " still has %" PRId64 " job%s queued or running: wait for it"
                        " (provost batch --cluster C wait %" PRId64 ") before deleting it",
                        id, live, live == 1 ? "" : "s", id);
    return drop_batch(c->pg, ids, chunk, results, err);
}

int provost_cluster_prune(provost_cluster *c, uint64_t seconds, unsigned chunk,
                          void (*on_batch)(void *ud, int64_t id, uint64_t results), void *ud, uint64_t *batches,
                          uint64_t *results, provost_error *err)
{
    *batches = *results = 0;
    char secs[24];
    snprintf(secs, sizeof secs, "%" PRIu64, seconds);
    const char *p[1] = {secs};
    /* finished: no job left; old: made before the cutoff, no result since (a result is
       never older than its batch).  Asked as "no recent result" rather than as the age of
       each batch's last one, the index on finished reads only the recent results, not
       every old batch's whole history. */
    PGresult *r = pcl_query(c->pg, "prune",
                            "WITH cut AS (SELECT now() - $1::bigint * interval '1 second' AS t)"
                            " SELECT b.id FROM provost.batches b, cut WHERE b.created < cut.t"
                            " AND NOT EXISTS (SELECT 1 FROM provost.jobs j WHERE j.batch = b.id)"
                            " AND NOT EXISTS (SELECT 1 FROM provost.results r WHERE r.batch = b.id AND r.finished >= cut.t)"
                            " ORDER BY b.id",
                            1, p, err);
    if (!r)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        uint64_t n = 0;
        rc = drop_batch(c->pg, PQgetvalue(r, i, 0), chunk, &n, err);
        *results += n;
        if (rc == 0) {
            (*batches)++;
            if (on_batch)
                on_batch(ud, strtoll(PQgetvalue(r, i, 0), NULL, 10), n);
        }
    }
    PQclear(r);
    return rc;
}
