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
    PGresult *r = pcl_query(pg, "heartbeat",
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

int pcl_worker_takeover(PGconn *pg, int64_t self, size_t *workers, size_t *jobs, provost_error *err)
{
    char a[24], b[24];
    ids(a, b, self, 0);
    const char *p[1] = {a};
    PGresult *r = pcl_query(pg, "take over",
                            "UPDATE provost.workers SET epoch = nextval('provost.epochs'),"
                            " ended = 'taken over by worker ' || $1"
                            " WHERE ended IS NULL AND lease_until < now() AND id <> $1",
                            1, p, err);
    if (!r)
        return -1;
    *workers = (size_t)atol(PQcmdTuples(r));
    PQclear(r);
    /* a separate statement (its own snapshot), so it also sees a claim that committed
       while the fencing above waited for it: any job held under an epoch not live */
    r = pcl_query(pg, "take over",
                  "WITH o AS (SELECT j.id FROM provost.jobs j WHERE j.worker IS NOT NULL AND NOT EXISTS"
                  "  (SELECT 1 FROM provost.workers w WHERE w.id = j.worker AND w.epoch = j.epoch AND w.ended IS NULL)"
                  "  FOR UPDATE OF j SKIP LOCKED),"
                  " fin AS (DELETE FROM provost.jobs j USING o WHERE j.id = o.id AND j.attempt > j.retry_count"
                  "  RETURNING j.*),"
                  " res AS (INSERT INTO provost.results (batch, position, input, line, client, status, state, code,"
                  "  description, attempts, worker, epoch)"
                  "  SELECT batch, position, input, line, client, 'failed', CASE WHEN to_operator THEN 15 ELSE 2 END,"
                  "  x'80004004'::bigint, 'its worker stopped while it ran, and its retries are used up', attempt,"
                  "  worker, epoch FROM fin RETURNING 1),"
                  " back AS (UPDATE provost.jobs j SET worker = NULL, epoch = NULL, claimed = NULL,"
                  "  last_code = x'80004004'::bigint, last_description = 'its worker stopped while it ran',"
                  "  due = " PCL_RETRY_DUE " FROM o WHERE j.id = o.id AND j.attempt <= j.retry_count RETURNING 1)"
                  " SELECT (SELECT count(*) FROM back) + (SELECT count(*) FROM res)",
                  0, NULL, err);
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
