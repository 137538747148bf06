/*
 * pcl.h -- what the files of the cluster library share: the connection, and one way to
 * run a statement and turn PostgreSQL's complaint into one line.
 */
#ifndef PCL_H
#define PCL_H

#include <stdbool.h>
#include <libpq-fe.h>

#include "provost/cluster.h"

struct provost_cluster {
    PGconn *pg;
};

/* Sets err (code, message) and returns -1. */
int pcl_fail(provost_error *err, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Runs SQL with text parameters; the result when its status is OK (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK), else NULL with err set to "WHAT: PostgreSQL's first line". */
PGresult *pcl_query(PGconn *pg, const char *what, const char *sql, int n, const char *const *params,
                    provost_error *err);
/* The same for one of the statements a worker runs again and again: prepared under name
 * on the connection the first time (and again on a new connection), so that it is planned
 * once, not on every call. */
PGresult *pcl_query_named(PGconn *pg, const char *name, const char *what, const char *sql, int n,
                          const char *const *params, provost_error *err);
/* The same for a statement whose rows are not wanted: 0 or -1. */
int pcl_exec(PGconn *pg, const char *what, const char *sql, int n, const char *const *params, provost_error *err);
/* The SQLSTATE of the last failed pcl_query, "" when none. */
const char *pcl_sqlstate(void);
/* Connects and checks the schema version when asked (conn.c). */
PGconn *pcl_connect(const char *conninfo, bool need_schema, provost_error *err);
/* Whether the last statement on pg failed because the connection is gone (or the server
 * is shutting down or starting up), rather than for something the statement did. */
bool pcl_lost(PGconn *pg);
/* Connects again, waiting 100 ms, doubling to 2 s, before each attempt, until it connects
 * or give_up(ud) says to stop trying (then NULL, err the last attempt's error). */
PGconn *pcl_reconnect(const char *conninfo, bool (*give_up)(void *), void *ud, provost_error *err);
/* The cluster's random id (meta 'cluster_id'), made when it has none; into id when not
 * NULL.  0 or -1 (schema.c). */
int pcl_cluster_id(PGconn *pg, char *id, size_t n, provost_error *err);
/* A PostgreSQL array literal being built, {"a","b",NULL}: a statement's many rows as one
 * text parameter.  Start from {0}. */
typedef struct pcl_arr {
    char *buf;
    size_t len, cap;
    bool closed;
} pcl_arr;
/* Appends s as one element ("..." quoted), or NULL when s is.  0, or -1 out of memory. */
int pcl_arr_add(pcl_arr *a, const char *s);  /* not once closed */
/* The literal, closed ("{}" with no element); it lives until pcl_arr_free. */
const char *pcl_arr_text(pcl_arr *a);
void pcl_arr_free(pcl_arr *a);


/* ---- workers.c: registration, lease, heartbeat, epoch, takeover ---------------------- */

/* The delay before the next attempt of a job (j), from now, as SQL: the local queue's
 * retryInterval, doubled per attempt when exponential, at most a day. */
#define PCL_RETRY_DUE                                                                                      \
    "now() + least(j.retry_interval_ms * CASE WHEN j.exponential THEN power(2, least(j.attempt - 1, 30))" \
    " ELSE 1 END, 86400000) * interval '1 ms'"

int pcl_worker_register(PGconn *pg, const char *name, unsigned threads, unsigned lease_ms, int64_t *id,
                        int64_t *epoch, provost_error *err);
/* 1 renewed, 0 fenced (its epoch is no longer current or its lease ran out), -1 error. */
int pcl_worker_renew(PGconn *pg, int64_t id, int64_t epoch, provost_error *err);
/* A takeover, in four statements (docs/cluster.md, "Fencing and takeover"):
 * fence: every worker whose lease expired gets a new epoch and is taken over by self, as is
 *   every one whose taker has ended without settling it (*workers: how many);
 * adopt: the journal records of the workers self took over become self's; *txids (malloc'd,
 *   *n of them) the transactions, for the engine's recovery;
 * settle: once they are recovered, those workers are settled;
 * redrive: every job held by a settled worker that is gone goes back to the queue or to
 *   results per its attempt's outcome and its retry policy (*jobs: how many). */
int pcl_worker_fence(PGconn *pg, int64_t self, int64_t epoch, size_t *workers, provost_error *err);
int pcl_worker_adopt(PGconn *pg, int64_t self, int64_t epoch, char ***txids, size_t *n, provost_error *err);
int pcl_worker_settle(PGconn *pg, int64_t self, int64_t epoch, provost_error *err);
int pcl_worker_redrive(PGconn *pg, int64_t self, size_t *jobs, provost_error *err);
/* Marks a worker that stops as ended (when its epoch is still current). */
int pcl_worker_end(PGconn *pg, int64_t id, int64_t epoch, provost_error *err);

/* ---- jstore.c: the journal of a worker's transactions, in the cluster --------------- */

typedef struct pcl_jstore pcl_jstore;
pcl_jstore *pcl_jstore_new(const char *conninfo);
const struct provost_jstore *pcl_jstore_api(pcl_jstore *s);
/* Whose records it writes (each write checks this epoch and its lease); before it, every
 * write is refused. */
void pcl_jstore_bind(pcl_jstore *s, int64_t worker, int64_t epoch);
/* Sends what waits in memory (ends that need not be durable): before a completion. */
int pcl_jstore_flush(pcl_jstore *s, char *err, size_t errlen);
/* A flush found the worker fenced: every later write is refused. */
bool pcl_jstore_fenced(pcl_jstore *s);
/* A flush was cut off and whether it committed could not be learnt: every later write is
 * refused, and the worker leaves its transactions to its takeover. */
bool pcl_jstore_broken(pcl_jstore *s);
/* Statements sent, and writes carried, so far. */
void pcl_jstore_counts(pcl_jstore *s, unsigned long *flushes, unsigned long *ops);
void pcl_jstore_free(pcl_jstore *s);

/* The key under which a job's attempt records its outcome (wrun.c makes the same in C:
 * cluster:ID:BATCH:POSITION:ATTEMPT), in SQL for the job row J. */
#define PCL_OUTCOME_KEY(J)                                                                            \
    "('cluster:' || (SELECT value FROM provost.meta WHERE key = 'cluster_id') || ':' || " J ".batch" \
    " || ':' || " J ".position || ':' || " J ".attempt)"

/* ---- claim.c: claim and complete --------------------------------------------------- */

typedef struct pcl_job {
    int64_t id, batch, pos;
    int attempt;
    char kind; /* 'r' a request, 'c' the data of a call */
    char *ns, *proc, *request;
    /* the outcome, filled by the thread that ran it */
    const char *status; /* provost_batch_status_names */
    uint32_t code;
    char *description, *response, *txid;
    char *left; /* its transaction was left unfinished: that id ("" unknown), or NULL */
} pcl_job;

void pcl_job_free(pcl_job *j);
/* Claims at most max (at most 256) due jobs for the worker (id, epoch): one UPDATE ...
 * RETURNING over rows chosen FOR UPDATE SKIP LOCKED.  Jobs memory cannot hold whole go
 * back to the queue at once, their attempt not counted.  0 with *out (malloc'd, *n of
 * them), or -1 (also when those could not be given back). */
int pcl_claim(PGconn *pg, int64_t id, int64_t epoch, unsigned max, pcl_job ***out, size_t *n, provost_error *err);
/* Completes jobs in one statement that checks the worker's epoch and lease: finished ones
 * move to results, failed ones with retries left go back to the queue, due per policy.
 * 1 done (*retried: how many went back), 0 fenced (nothing written), -1 error. */
int pcl_complete(PGconn *pg, int64_t id, int64_t epoch, pcl_job **jobs, size_t n, size_t *retried,
                 provost_error *err);
/* Gives back claimed jobs that never started (a worker that stops, or could not hold
 * them): unclaimed, the claim's attempt undone, due as they were.  0 or -1. */
int pcl_release(PGconn *pg, int64_t id, int64_t epoch, pcl_job **jobs, size_t n, provost_error *err);
/* The same for every job the worker holds but jobs: after a lost connection, those of a
 * claim that committed but whose rows never arrived.  0 or -1. */
int pcl_release_others(PGconn *pg, int64_t id, int64_t epoch, pcl_job **jobs, size_t n, provost_error *err);
/* Jobs queued or running anywhere in the cluster: 1 some, 0 none, -1 error. */
int pcl_busy(PGconn *pg, provost_error *err);

#endif
