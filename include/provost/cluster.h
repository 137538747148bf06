/*
 * provost/cluster.h -- a cluster of workers coordinated by one PostgreSQL database
 * (docs/cluster.md): its schema, the bundles every worker loads, batches enqueued as jobs,
 * and the workers that claim them under a lease whose epoch fences a worker that lost it.
 * Every function talks to the database through its own libpq connection; none prints.
 */
#ifndef PROVOST_CLUSTER_H
#define PROVOST_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "provost/provost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the schema this build creates and uses. */
#define PROVOST_CLUSTER_SCHEMA 2

typedef struct provost_cluster provost_cluster;

/* Connects to CONNINFO (a libpq connection string or URI).  need_schema: refuse a
 * database whose schema is missing ("not initialised") or newer than this build's.  0, or
 * -1 with one line in err. */
int provost_cluster_open(const char *conninfo, int need_schema, provost_cluster **out, provost_error *err);
void provost_cluster_close(provost_cluster *c);

/* Creates the schema "provost" (idempotent).  *created: 1 when it was made now. */
int provost_cluster_init(provost_cluster *c, int *created, provost_error *err);

/* Stores the bundle BUF (compiled already) of namespace NS as its next revision, and tells
 * the workers.  *revision: the one stored. */
int provost_cluster_put_bundle(provost_cluster *c, const char *ns, const void *buf, size_t len,
                               uint64_t *revision, provost_error *err);

/* ---- batches -------------------------------------------------------------------------- */

/* One request of a batch being enqueued (what provost_batch_each yields). */
typedef struct provost_cluster_batch provost_cluster_batch;
/* Starts a batch (one transaction until commit): NS/PROC when every request is the data of
 * a call of that procedure, else NULL; INPUTS as shown. */
provost_cluster_batch *provost_cluster_batch_begin(provost_cluster *c, const char *ns, const char *proc,
                                                   const char *inputs, provost_error *err);
/* Adds request POS: KIND 'r' (a trusted request) or 'c' (the data of the call), or 'i'
 * (invalid: TEXT says why; it is a result at once).  Its retry policy is read from its
 * context/queueContext (as the local queue reads it). */
int provost_cluster_batch_add(provost_cluster_batch *b, uint64_t pos, const char *input, unsigned long line,
                              const char *client, int kind, const char *text, size_t len, provost_error *err);
/* Commits (the workers are woken) and writes the batch's id; or -1 and nothing is stored. */
int provost_cluster_batch_commit(provost_cluster_batch *b, int64_t *id, provost_error *err);
void provost_cluster_batch_abort(provost_cluster_batch *b);

typedef struct provost_cluster_batch_info {
    int64_t id;
    uint64_t total, done, succeeded, failed, stuck, invalid, running, queued;
    double age; /* seconds since it was enqueued */
} provost_cluster_batch_info;

/* 0, or -1 (PROVOST_E_NOTFOUND: no such batch). */
int provost_cluster_batch_status(provost_cluster *c, int64_t id, provost_cluster_batch_info *out,
                                 provost_error *err);
/* Its results that did not succeed, by code, most frequent first (at most max). */
int provost_cluster_batch_codes(provost_cluster *c, int64_t id, uint32_t *codes, uint64_t *counts, size_t max,
                                size_t *n, provost_error *err);
/* Writes its results as JSON Lines, by position (as a local batch's results file). */
int provost_cluster_batch_results(provost_cluster *c, int64_t id, FILE *to, provost_error *err);

/* Jobs of the batch still queued or running: 1 some, 0 none (also for no such batch), -1
 * error.  One probe of an index of the hot table, whatever the batch's size. */
int provost_cluster_batch_pending(provost_cluster *c, int64_t id, provost_error *err);

/* ---- retention ------------------------------------------------------------------------ */

/* Results deleted per statement (each its own transaction) unless a chunk is given. */
#define PROVOST_CLUSTER_CHUNK 10000

/* Deletes a finished batch: its results, chunk rows per statement (0: PROVOST_CLUSTER_CHUNK),
 * then its row.  *results: how many.  0, or -1 (PROVOST_E_NOTFOUND: no such batch;
 * PROVOST_E_EXISTS: it still has jobs queued or running, and nothing is deleted). */
int provost_cluster_batch_delete(provost_cluster *c, int64_t id, unsigned chunk, uint64_t *results,
                                 provost_error *err);
/* Deletes, as provost_cluster_batch_delete, every batch with no job queued or running whose
 * last result (its creation, when it has none) is more than SECONDS old; on_batch (may be
 * NULL) after each.  *batches, *results: how many were deleted, also on error. */
int provost_cluster_prune(provost_cluster *c, uint64_t seconds, unsigned chunk,
                          void (*on_batch)(void *ud, int64_t id, uint64_t results), void *ud, uint64_t *batches,
                          uint64_t *results, provost_error *err);

/* ---- status --------------------------------------------------------------------------- */

/* Prints workers, jobs by state, the last minute's throughput and the batches. */
int provost_cluster_status(provost_cluster *c, FILE *to, provost_error *err);

/* ---- the worker ----------------------------------------------------------------------- */

typedef struct provost_cluster_worker_options {
    const char *conninfo;
    unsigned threads;    /* jobs run at once (default 1, at most 256) */
    unsigned lease_ms;   /* the lease (default 10000); renewed every third of it */
    int drain;           /* stop once no job is queued or running anywhere */
    const char *name;    /* shown in the status (default host:pid) */
    provost_engine *engine; /* runs the jobs (its own scratch database) */
    /* after each finished job, one call at a time: batch, position, attempt, status name */
    void (*on_job)(void *ud, int64_t batch, int64_t pos, int attempt, const char *status, uint32_t code);
    /* when registered: the worker's id and epoch */
    void (*on_ready)(void *ud, int64_t id, int64_t epoch);
    /* a namespace revision loaded from the cluster (at the start, or a new one later) */
    void (*on_bundle)(void *ud, const char *ns, uint64_t revision);
    /* expired workers fenced, their transactions finished (the engine's recovery) and the
     * jobs they held re-driven, by this worker */
    void (*on_takeover)(void *ud, size_t workers, size_t txns, size_t jobs);
    /* a taken-over transaction that stays stuck (in the cluster's journal, for an operator) */
    void (*on_stuck)(void *ud, const char *txid, const char *why);
    /* the dispatcher's connection was lost (why: the statement's error) and is back */
    void (*on_reconnect)(void *ud, const char *why);
    void *ud;
} provost_cluster_worker_options;

typedef struct provost_cluster_worker_summary {
    size_t ran, succeeded, retried, failed;
    size_t taken_over;  /* expired workers this one took over */
    size_t recovered;   /* their transactions it finished */
    size_t bundles;     /* namespace revisions loaded */
    size_t reconnects;  /* times the dispatcher's connection was lost and made again */
    int fenced;         /* its lease was taken over: it wrote nothing after */
} provost_cluster_worker_summary;

/* Registers (a fresh epoch), loads the bundles, and runs jobs until provost_cluster_worker_stop
 * (or drain, or fencing).  0, or -1 with err (also when fenced: s->fenced says so). */
int provost_cluster_worker_run(const provost_cluster_worker_options *o, provost_cluster_worker_summary *s,
                               provost_error *err);
/* Asks the running worker to stop after its running jobs (safe from a signal handler). */
void provost_cluster_worker_stop(void);

#ifdef __cplusplus
}
#endif
#endif
