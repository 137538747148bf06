/*
 * claim.c -- the two statements a worker runs per batch of jobs: claim (one short UPDATE
 * ... RETURNING over due rows picked FOR UPDATE SKIP LOCKED, so workers never wait for one
 * another and no transaction outlives a statement) and complete (one statement for many
 * jobs that checks the worker's epoch and lease, moves finished jobs to results and puts
 * the others with retries left back in the queue).  What comes next after an attempt is
 * the local queue's decision (vm/jobs.c, next_state), whatever the attempt's status.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcl.h"

void pcl_job_free(pcl_job *j)
{
    if (!j)
        return;
    free(j->ns);
    free(j->proc);
    free(j->request);
    free(j->description);
    free(j->response);
    free(j->txid);
    free(j->left);
    free(j);
}

static char *dup_value(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

/* Never started: the attempt the claim counted did not happen.  $1 worker, $2 epoch, $3
 * the jobs' ids (an array). */
#define RELEASE_SQL                                                                    \
    "UPDATE provost.jobs SET worker = NULL, epoch = NULL, claimed = NULL,"             \
    " attempt = attempt - 1 WHERE id = ANY($3::bigint[]) AND worker = $1 AND epoch = $2"

/* A claim reads at most this many rows, so the ids of the ones it cannot hold fit in a
 * buffer on the stack (an id: at most 20 characters and a comma). */
#define CLAIM_MAX 256

/* Row i of a claim as a job, whole, or NULL when memory ran out. */
static pcl_job *job_of(PGresult *r, int i)
{
    pcl_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    j->batch = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    j->pos = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    j->attempt = atoi(PQgetvalue(r, i, 3));
    j->kind = PQgetvalue(r, i, 4)[0];
    j->ns = dup_value(r, i, 5);
    j->proc = dup_value(r, i, 6);
    j->request = dup_value(r, i, 7);
    /* a job missing a part would run as another request: it is not held at all */
    if ((!j->ns && !PQgetisnull(r, i, 5)) || (!j->proc && !PQgetisnull(r, i, 6)) ||
        (!j->request && !PQgetisnull(r, i, 7))) {
        pcl_job_free(j);
        return NULL;
    }
    return j;
}

/* Gives back the rows of a claim from row `from` on, which memory could not hold: their
 * ids are written on the stack, so only libpq's own sending needs memory. */
static int give_back(PGconn *pg, const char *worker, const char *epoch, PGresult *r, int from, provost_error *err)
{
    char ids[CLAIM_MAX * 21 + 3];
    size_t len = 0;
    ids[len++] = '{';
    for (int k = from; k < PQntuples(r) && k - from < CLAIM_MAX; k++)
        len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%.20s", k > from ? "," : "", PQgetvalue(r, k, 0));
    ids[len++] = '}';
    ids[len] = 0;
    const char *p[3] = {worker, epoch, ids};
    return pcl_exec(pg, "release unstarted jobs", RELEASE_SQL, 3, p, err);
}

int pcl_claim(PGconn *pg, int64_t id, int64_t epoch, unsigned max, pcl_job ***out, size_t *n, provost_error *err)
{
    *out = NULL;
    *n = 0;
    char a[24], b[24], m[24];
    snprintf(a, sizeof a, "%" PRId64, id);
    snprintf(b, sizeof b, "%" PRId64, epoch);
    snprintf(m, sizeof m, "%u", max < CLAIM_MAX ? max : CLAIM_MAX);
    const char *p[3] = {a, b, m};
    PGresult *r = pcl_query_named(pg, "provost_claim", "claim",
                            "WITH me AS (SELECT id FROM provost.workers WHERE id = $1 AND epoch = $2"
                            "  AND ended IS NULL AND lease_until > now() FOR SHARE),"
                            " c AS (SELECT j.id FROM provost.jobs j WHERE j.worker IS NULL AND j.due <= now()"
                            "  AND EXISTS (SELECT 1 FROM me) ORDER BY j.due, j.id LIMIT $3 FOR UPDATE SKIP LOCKED)"
                            " UPDATE provost.jobs j SET worker = $1, epoch = $2, attempt = j.attempt + 1,"
                            " claimed = now() FROM c WHERE j.id = c.id"
                            " RETURNING j.id, j.batch, j.position, j.attempt, j.kind, j.ns, j.proc, j.request",
                            3, p, err);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    pcl_job **v = rows ? calloc((size_t)rows, sizeof *v) : NULL;
    int i = 0;
    for (; v && i < rows; i++) {
        pcl_job *j = job_of(r, i);
        if (!j)
            break;
        v[(*n)++] = j;
    }
    /* the jobs that cannot be held go back at once, rather than stay claimed by a worker
       that lives on; if even that fails, the worker stops and its jobs are re-driven */
    if (i < rows && give_back(pg, a, b, r, i, err) != 0) {
        for (size_t k = 0; k < *n; k++)
            pcl_job_free(v[k]);
        free(v);
        *n = 0;
        PQclear(r);
        return -1;
    }
    PQclear(r);
    *out = v;
    return 0;
}

int pcl_complete(PGconn *pg, int64_t id, int64_t epoch, pcl_job **jobs, size_t n, size_t *retried,
                 provost_error *err)
{
    *retried = 0;
    pcl_arr col[6] = {{0}};
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        char idv[24], code[24];
        snprintf(idv, sizeof idv, "%" PRId64, jobs[i]->id);
        snprintf(code, sizeof code, "%" PRIu32, jobs[i]->code);
        if (pcl_arr_add(&col[0], idv) || pcl_arr_add(&col[1], jobs[i]->status) || pcl_arr_add(&col[2], code) ||
            pcl_arr_add(&col[3], jobs[i]->description) || pcl_arr_add(&col[4], jobs[i]->response) ||
            pcl_arr_add(&col[5], jobs[i]->txid))
            goto oom;
    }
    char a[24], b[24];
    snprintf(a, sizeof a, "%" PRId64, id);
    snprintf(b, sizeof b, "%" PRId64, epoch);
    const char *p[8] = {a,
                        b,
                        pcl_arr_text(&col[0]),
                        pcl_arr_text(&col[1]),
                        pcl_arr_text(&col[2]),
                        pcl_arr_text(&col[3]),
                        pcl_arr_text(&col[4]),
                        pcl_arr_text(&col[5])};
    PGresult *r = pcl_query_named(
        pg, "provost_complete", "complete",
        "WITH me AS (SELECT id FROM provost.workers WHERE id = $1 AND epoch = $2 AND ended IS NULL"
        "  AND lease_until > now() FOR UPDATE),"
        " d AS (SELECT * FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[])"
        "  AS d(id, status, code, description, response, txid)),"
        " j AS (SELECT jb.*, d.status AS st, d.code AS c, d.description AS ds, d.response AS rs, d.txid AS tx,"
        "  (d.status <> 'succeeded' AND jb.attempt <= jb.retry_count AND (jb.stop_code = 0 OR jb.stop_code <> d.code))"
        "  AS again FROM provost.jobs jb JOIN d ON d.id = jb.id"
        "  WHERE jb.worker = $1 AND jb.epoch = $2 AND EXISTS (SELECT 1 FROM me) FOR UPDATE OF jb),"
        /* the outcome the journal's end recorded is carried by this completion */
        " gone AS (DELETE FROM provost.outcomes oc USING j WHERE oc.key = " PCL_OUTCOME_KEY("j") "),"
        " fin AS (DELETE FROM provost.jobs jb USING j WHERE jb.id = j.id AND NOT j.again RETURNING 1),"
        " res AS (INSERT INTO provost.results (batch, position, input, line, client, txid, status, state,"
        "  code, description, response, attempts, worker, epoch)"
        "  SELECT batch, position, input, line, client, tx, st, CASE WHEN st = 'succeeded' THEN 0"
        "  WHEN to_operator THEN 15 WHEN st = 'invalid' THEN 1 WHEN st = 'stuck' THEN 3 ELSE 2 END,"
        "  c, ds, rs, attempt, $1, $2 FROM j WHERE NOT again RETURNING status),"
        " re AS (UPDATE provost.jobs jb SET worker = NULL, epoch = NULL, claimed = NULL, last_code = j.c,"
        "  last_description = j.ds, due = " PCL_RETRY_DUE " FROM j WHERE jb.id = j.id AND j.again RETURNING 1),"
        " cnt AS (UPDATE provost.workers w SET"
        "  done = done + (SELECT count(*) FROM j WHERE NOT again AND st = 'succeeded'),"
        "  failed = failed + (SELECT count(*) FROM j WHERE NOT again AND st <> 'succeeded'),"
        "  retried = retried + (SELECT count(*) FROM j WHERE again) FROM me WHERE w.id = me.id RETURNING 1)"
        " SELECT (SELECT count(*) FROM me), (SELECT count(*) FROM re), (SELECT count(*) FROM fin),"
        "  (SELECT count(*) FROM res), (SELECT count(*) FROM cnt)",
        8, p, err);
    if (!r)
        goto out;
    rc = atoi(PQgetvalue(r, 0, 0)) == 1 ? 1 : 0;
    *retried = (size_t)atol(PQgetvalue(r, 0, 1));
    PQclear(r);
    goto out;
oom:
    pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
out:
    for (int k = 0; k < 6; k++)
        pcl_arr_free(&col[k]);
    return rc;
}

/* Releases jobs, n of them; or, others, every job the worker holds but those. */
static int release(PGconn *pg, int64_t id, int64_t epoch, pcl_job **jobs, size_t n, bool others,
                   provost_error *err)
{
    if (!n && !others)
        return 0;
    pcl_arr ids = {0};
    for (size_t i = 0; i < n; i++) {
        char idv[24];
        snprintf(idv, sizeof idv, "%" PRId64, jobs[i]->id);
        if (pcl_arr_add(&ids, idv) != 0) {
            pcl_arr_free(&ids);
            return pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
        }
    }
    char a[24], b[24];
    snprintf(a, sizeof a, "%" PRId64, id);
    snprintf(b, sizeof b, "%" PRId64, epoch);
    const char *p[3] = {a, b, pcl_arr_text(&ids)};
    int rc = pcl_exec(pg, "release unstarted jobs",
                      others ? "UPDATE provost.jobs SET worker = NULL, epoch = NULL, claimed = NULL,"
                               " attempt = attempt - 1 WHERE worker = $1 AND epoch = $2 AND id <> ALL($3::bigint[])"
                             : RELEASE_SQL,
                      3, p, err);
    pcl_arr_free(&ids);
    return rc;
}

int pcl_release(PGconn *pg, int64_t id, int64_t epoch, pcl_job **jobs, size_t n, provost_error *err)
{
    return release(pg, id, epoch, jobs, n, false, err);
}

int pcl_release_others(PGconn *pg, int64_t id, int64_t epoch, pcl_job **jobs, size_t n, provost_error *err)
{
    return release(pg, id, epoch, jobs, n, true, err);
}

int pcl_busy(PGconn *pg, provost_error *err)
{
    PGresult *r = pcl_query(pg, "drain", "SELECT EXISTS (SELECT 1 FROM provost.jobs)", 0, NULL, err);
    if (!r)
        return -1;
    int busy = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return busy;
}
