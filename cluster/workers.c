/*
 * workers.c -- a worker's life in the cluster: it registers (a new epoch), holds a lease
 * its heartbeat renews, and ends.  A worker whose lease ran out is fenced by any live
 * worker: its epoch changes, so every later write it attempts (each checks the epoch in
 * the same statement) changes nothing, and the jobs it held are re-driven per their retry
 * policy.  Times are the database's clock (now()), the only one all workers share.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcl.h"

int pcl_worker_register(PGconn *pg, const char *name, unsigned threads, unsigned lease_ms, int64_t *id,
                        int64_t *epoch, provost_error *err)
{
    char host[256] = "", pid[24], th[24], lease[24], dflt[300];
    gethostname(host, sizeof host - 1);
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    snprintf(th, sizeof th, "%u", threads);
    snprintf(lease, sizeof lease, "%u", lease_ms);
    snprintf(dflt, sizeof dflt, "%s:%s", host, pid);
    const char *p[5] = {name && *name ? name : dflt, host, pid, th, lease};
    PGresult *r = pcl_query(pg, "register the worker",
                            "INSERT INTO provost.workers (name, host, pid, threads, lease_ms, lease_until)"
                            " VALUES ($1, $2, $3::integer, $4::integer, $5::integer,"
                            " now() + $5::integer * interval '1 ms') RETURNING id, epoch",
                            5, p, err);
    if (!r)
        return -1;
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *epoch = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return 0;
}

static void ids(char a[24], char b[24], int64_t id, int64_t epoch)
{
    snprintf(a, 24, "%" PRId64, id);
    snprintf(b, 24, "%" PRId64, epoch);
}

int pcl_worker_renew(PGconn *pg, int64_t id, int64_t epoch, provost_error *err)
{
    char a[24], b[24];
    ids(a, b, id, epoch);
    const char *p[2] = {a, b};
    /* a lease that ran out is not renewed even when nobody took it over yet: the worker
       cannot know whether someone is about to */
    PGresult *r = pcl_query_named(pg, "provost_renew", "heartbeat",
                            "UPDATE provost.workers SET heartbeat = now(),"
                            " lease_until = now() + lease_ms * interval '1 ms'"
                            " WHERE id = $1 AND epoch = $2 AND ended IS NULL AND lease_until > now()",
                            2, p, err);
    if (!r)
        return -1;
    int n = atoi(PQcmdTuples(r));
    PQclear(r);
    return n == 1;
}

/* The worker's own row, live: what every write of a takeover checks first. */
#define PCL_ME_LIVE                                                                                          \
    "EXISTS (SELECT 1 FROM provost.workers m WHERE m.id = $1 AND m.epoch = $2 AND m.ended IS NULL"          \
    " AND m.lease_until > now())"

int pcl_worker_fence(PGconn *pg, int64_t self, int64_t epoch, size_t *workers, provost_error *err)
{
    char a[24], b[24];
    ids(a, b, self, epoch);
    const char *p[2] = {a, b};
    /* the expired, and those a worker that has ended since took over and did not settle:
       their journal comes to this worker (its records are adopted next) */
    PGresult *r = pcl_query(pg, "take over",
                            "UPDATE provost.workers w SET epoch = CASE WHEN w.ended IS NULL"
                            " THEN nextval('provost.epochs') ELSE w.epoch END,"
                            " ended = 'taken over by worker ' || $1, taken_by = $1, settled = false"
                            " WHERE w.id <> $1 AND " PCL_ME_LIVE " AND ((w.ended IS NULL AND w.lease_until < now())"
                            "  OR (NOT w.settled AND EXISTS (SELECT 1 FROM provost.workers t"
                            "   WHERE t.id = w.taken_by AND t.id <> $1 AND t.ended IS NOT NULL)))",
                            2, p, err);
    if (!r)
        return -1;
    *workers = (size_t)atol(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

int pcl_worker_adopt(PGconn *pg, int64_t self, int64_t epoch, char ***txids, size_t *n, provost_error *err)
{
    *txids = NULL;
    *n = 0;
    char a[24], b[24];
    ids(a, b, self, epoch);
    const char *p[2] = {a, b};
    /* a statement of its own: it sees every record the fenced worker committed before its
       fencing, and no later one can commit (each checks the epoch, FOR SHARE) */
    PGresult *r = pcl_query(pg, "take over the journal",
                            "WITH u AS (UPDATE provost.journal j SET worker = $1 FROM provost.workers w"
                            "  WHERE j.worker = w.id AND w.taken_by = $1 AND NOT w.settled AND " PCL_ME_LIVE
                            "  RETURNING j.txid)"
                            " SELECT DISTINCT txid FROM u ORDER BY txid",
                            2, p, err);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    char **v = rows ? calloc((size_t)rows, sizeof *v) : NULL;
    for (int i = 0; v && i < rows; i++)
        if ((v[i] = strdup(PQgetvalue(r, i, 0))))
            (*n)++;
    PQclear(r);
    if (rows && (!v || *n < (size_t)rows)) {
        for (size_t i = 0; i < *n; i++)
            free(v[i]);
        free(v);
        *n = 0;
        return pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    *txids = v;
    return 0;
}

int pcl_worker_settle(PGconn *pg, int64_t self, int64_t epoch, provost_error *err)
{
    char a[24], b[24];
    ids(a, b, self, epoch);
    const char *p[2] = {a, b};
    return pcl_exec(pg, "settle a takeover",
                    "UPDATE provost.workers SET settled = true WHERE taken_by = $1 AND NOT settled AND " PCL_ME_LIVE,
                    2, p, err);
}

int pcl_worker_redrive(PGconn *pg, int64_t self, size_t *jobs, provost_error *err)
{
    char a[24], b[24];
    ids(a, b, self, 0);
    const char *p[1] = {a};
    /* its own snapshot, so it also sees a claim that committed while a fencing waited for
       it: any job held under an epoch not live, once that worker's journal is settled.  A
       job whose attempt has an outcome (its transaction ended, by its worker or by the
       takeover's recovery) follows that outcome; one without never began a transaction */
    PGresult *r = pcl_query(
        pg, "take over",
        "WITH o AS (SELECT j.id, oc.key AS okey, split_part(oc.value, ' ', 1) AS ost,"
        "  CASE WHEN oc.key IS NULL THEN x'80004004'::bigint"
        "  ELSE ('x' || lpad(substr(split_part(oc.value, ' ', 2), 3), 16, '0'))::bit(64)::bigint END AS c,"
        "  nullif(split_part(oc.value, ' ', 3), '') AS tx"
        "  FROM provost.jobs j JOIN provost.workers w ON w.id = j.worker"
        "  LEFT JOIN provost.outcomes oc ON oc.key = " PCL_OUTCOME_KEY("j")
        "  WHERE j.worker IS NOT NULL AND w.settled AND (w.epoch <> j.epoch OR w.ended IS NOT NULL)"
        "  FOR UPDATE OF j SKIP LOCKED),"
        " k AS (SELECT j.*, o.okey, o.c, o.tx, CASE WHEN o.ost = 'committed' THEN 'succeeded'"
        "  WHEN o.ost = 'stuck' THEN 'stuck' ELSE 'failed' END AS st,"
        "  CASE WHEN o.okey IS NULL THEN 'its worker stopped while it ran'"
        "  ELSE 'its worker stopped; the transaction ended ' || o.ost END AS ds,"
        "  (coalesce(o.ost, '') <> 'committed' AND j.attempt <= j.retry_count"
        "   AND (j.stop_code = 0 OR j.stop_code <> o.c)) AS again"
        "  FROM provost.jobs j JOIN o ON o.id = j.id),"
        " gone AS (DELETE FROM provost.outcomes oc USING k WHERE oc.key = k.okey),"
        " fin AS (DELETE FROM provost.jobs j USING k WHERE j.id = k.id AND NOT k.again RETURNING 1),"
        " res AS (INSERT INTO provost.results (batch, position, input, line, client, txid, status, state, code,"
        "  description, attempts, worker, epoch)"
        "  SELECT batch, position, input, line, client, tx, st, CASE WHEN st = 'succeeded' THEN 0"
        "  WHEN to_operator THEN 15 WHEN st = 'stuck' THEN 3 ELSE 2 END,"
        "  CASE WHEN st = 'succeeded' THEN 0 ELSE c END,"
        "  CASE WHEN st = 'succeeded' THEN 'completed by worker ' || $1 || ': its worker stopped before it did'"
        "  WHEN okey IS NULL"
        "  THEN 'its worker stopped while it ran, and its retries are used up' ELSE ds END,"
        "  attempt, worker, epoch FROM k WHERE NOT again RETURNING 1),"
        " back AS (UPDATE provost.jobs j SET worker = NULL, epoch = NULL, claimed = NULL,"
        "  last_code = k.c, last_description = k.ds,"
        "  due = " PCL_RETRY_DUE " FROM k WHERE j.id = k.id AND k.again RETURNING 1)"
        " SELECT (SELECT count(*) FROM back) + (SELECT count(*) FROM res)",
        1, p, err);
    if (!r)
        return -1;
    *jobs = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

int pcl_worker_end(PGconn *pg, int64_t id, int64_t epoch, provost_error *err)
{
    char a[24], b[24];
    ids(a, b, id, epoch);
    const char *p[2] = {a, b};
    return pcl_exec(pg, "stop the worker",
                    "UPDATE provost.workers SET ended = 'stopped', heartbeat = now()"
                    " WHERE id = $1 AND epoch = $2 AND ended IS NULL",
                    2, p, err);
}
